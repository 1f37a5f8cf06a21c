"""Run a probe command (``nvidia-smi``) with a hard timeout.

Probes take a :data:`Runner` as a parameter so that tests replay recorded outputs. The real
runner starts the command in its own process group and kills the whole group on timeout:
a wrapper script that hangs in a child (``sleep``) would otherwise keep the output pipe
open and make ``subprocess.run(timeout=...)`` wait for it anyway.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence

Runner = Callable[[Sequence[str], float], str]
"""``runner(argv, timeout_seconds) -> stdout``; raises :class:`ProbeError` on failure."""


class ProbeError(Exception):
    """A probe could not get its answer: command missing, failing, hanging, bad output.

    ``absent`` is true when the tool simply is not there (a machine without a GPU driver):
    normal, not worth a note."""

    def __init__(self, message: str, absent: bool = False) -> None:
        super().__init__(message)
        self.absent = absent


def command_runner(environ: Mapping[str, str] | None = None) -> Runner:
    """A runner that finds commands on ``environ["PATH"]`` (default: this process's)."""
    search_path = (os.environ if environ is None else environ).get("PATH", os.defpath)

    def run(argv: Sequence[str], timeout: float) -> str:
        executable = shutil.which(argv[0], path=search_path)
        if executable is None:
            raise ProbeError(f"{argv[0]} is not on PATH", absent=True)
        return _run(executable, argv, timeout)

    return run


def _run(executable: str, argv: Sequence[str], timeout: float) -> str:
    try:
        process = subprocess.Popen(
            [executable, *argv[1:]], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
    except OSError as error:
        raise ProbeError(f"{argv[0]} could not be started: {error.strerror}") from None
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise ProbeError(f"{argv[0]} did not answer within {timeout:g}s") from None
    if process.returncode != 0:
        first = err.decode("utf-8", "replace").strip().splitlines()[:1]
        detail = f": {first[0]}" if first else ""
        raise ProbeError(f"{argv[0]} exited with status {process.returncode}{detail}")
    return out.decode("utf-8", "replace")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=1)
