"""Shared test helpers: fresh interpreters, throw-away packages, virtual environments.

Imported by test modules as ``from helpers import ...`` (pytest puts ``tests/`` on
``sys.path``); fixtures are in ``conftest.py``.

Start-up behaviour is only ever tested in a fresh subprocess (``sys.executable``), never by
activating the firewall inside the pytest process, so every test sees a real interpreter
start and a clean ``sys.modules``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STARTUP_DIR = REPO / "importwall" / "_startup"
"""What ``importwall run`` puts on PYTHONPATH: the start-up hook, from the source tree."""
IMPORTWALL_ENV = ("IMPORTWALL_POLICY", "IMPORTWALL_MODE", "IMPORTWALL_DATA_DIR")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def clean_env(extra: Mapping[str, str] | None = None, pythonpath: list[Path] | None = None
              ) -> dict[str, str]:
    """The current environment without any IMPORTWALL_* or PYTHON* settings, plus ``extra``.

    ``pythonpath`` folders go first on PYTHONPATH, followed by the repository root so the
    source tree's importwall is importable even when it is not installed.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IMPORTWALL_", "PYTHON", "COV_"))}
    paths = [str(p) for p in (pythonpath or [])] + [str(REPO)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


def run_python(args: list[str] | str, *, cwd: Path | None = None,
               env: Mapping[str, str] | None = None, pythonpath: list[Path] | None = None,
               python: str | Path = sys.executable, timeout: float = 60) -> Result:
    """Run a fresh interpreter. ``args`` as a string is a ``-c`` program (dedented)."""
    argv = ["-c", textwrap.dedent(args)] if isinstance(args, str) else list(args)
    proc = subprocess.run(
        [str(python), *argv], cwd=cwd, env=clean_env(env, pythonpath), capture_output=True,
        text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def write_files(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``{relative path: source}`` under ``root`` (dedented); return ``root``."""
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return root


PIP_UNREACHABLE = ("NewConnectionError", "Max retries exceeded", "Temporary failure in name",
                   "Network is unreachable", "No matching distribution found",
                   "Could not find a version that satisfies")
"""What pip prints when the package registry cannot be reached."""


def venv_with_packages(folder: Path, packages: Sequence[str], timeout: float = 900) -> Path:
    """A virtual environment in ``folder`` with ``packages`` (pip arguments) installed from
    the registry; its interpreter. Skips the test, with pip's last line, when the registry
    cannot be reached; fails it on any other install error."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        if any(marker in output for marker in PIP_UNREACHABLE):
            pytest.skip("the package registry is unreachable, so "
                        f"{' '.join(packages)} could not be installed: "
                        f"{output.strip().splitlines()[-1]}")
        pytest.fail(f"pip install {' '.join(packages)} failed:\n{output[-3000:]}")
    return python


_LOOPBACK_ONLY = ["unshare", "-n", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']


def loopback_only(argv: Sequence[str]) -> list[str]:
    """``argv`` run in a network namespace of its own that has nothing but loopback.

    For servers that bind every interface or reach out on their own whatever they are told
    (Ray's gRPC servers bind ``*``; its core probes 8.8.8.8:53 for its address and its
    dashboard probes cloud metadata): inside, every listener is 127.0.0.1 and nothing
    leaves the machine. Skips the test, saying why, where the namespace cannot be made
    (``unshare -n`` needs root or an unprivileged user namespace)."""
    probe = subprocess.run([*_LOOPBACK_ONLY, "true"], capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
    if probe.returncode != 0:
        pytest.skip("needs a network namespace with only loopback (unshare -n), so that "
                    "the servers it starts cannot listen on or reach other addresses: "
                    f"{(probe.stderr.strip() or 'unshare failed').splitlines()[-1]}")
    return [*_LOOPBACK_ONLY, *argv]
