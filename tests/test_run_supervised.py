"""``importwall run`` in audit mode with a data dir stays as the command's parent (to learn
of lost findings) and must be as transparent as ``exec``: the command's exit status, its
death by a signal, and signals sent to ``importwall run`` all pass through."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import clean_env

from importwall.runtime import supervise

pytestmark = pytest.mark.skipif(not supervise.supported(),
                                reason="needs signal.sigtimedwait and os.posix_spawn")

POLICY = 'version = 1\n[imports]\ndeny = [{ module = "trainer" }]\n'
WAITER = """
import os, signal, sys, time
def stop(number, frame):
    os.write(1, f"GOT {signal.Signals(number).name}\\n".encode())  # print may be running
    os._exit(40 + number)
for name in ("SIGTERM", "SIGUSR1", "SIGHUP", "SIGTTIN"):
    signal.signal(getattr(signal, name), stop)
print("READY", os.getpid(), os.getppid(), flush=True)
time.sleep(30)
"""


def _start(tmp_path: Path, *command: str, mode: str = "audit") -> subprocess.Popen[str]:
    (tmp_path / "policy.toml").write_text(POLICY)
    return subprocess.Popen(
        [sys.executable, "-m", "importwall", "run", "--policy", "policy.toml", "--mode", mode,
         "--data-dir", str(tmp_path / "data"), "--", sys.executable, *command],
        cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("status", [0, 1, 7, 255])
def test_the_exit_status_is_the_commands(tmp_path: Path, status: int) -> None:
    child = _start(tmp_path, "-c", f"import sys; sys.exit({status})")
    child.communicate(timeout=60)
    assert child.returncode == status


@pytest.mark.parametrize("name", ["SIGTERM", "SIGUSR1", "SIGHUP", "SIGTTIN"])
def test_a_signal_sent_to_importwall_run_reaches_the_command(tmp_path: Path,
                                                              name: str) -> None:
    child = _start(tmp_path, "-c", WAITER)
    assert child.stdout is not None
    ready = child.stdout.readline().split()
    assert ready[0] == "READY", child.communicate()
    assert int(ready[2]) == child.pid  # importwall run is the command's parent
    child.send_signal(getattr(signal, name))
    out, err = child.communicate(timeout=60)
    assert f"GOT {name}" in out, err
    assert child.returncode == 40 + getattr(signal, name)


@pytest.mark.parametrize("name", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_a_command_killed_by_a_signal_kills_importwall_run_the_same_way(
        tmp_path: Path, name: str) -> None:
    child = _start(tmp_path, "-c", "import os, signal\n"
                   f"signal.signal(signal.{name}, signal.SIG_DFL) if '{name}' != 'SIGKILL' "
                   f"else None\nos.kill(os.getpid(), signal.{name})")
    child.communicate(timeout=60)
    assert child.returncode == -getattr(signal, name)


def test_a_signal_from_the_terminal_is_not_sent_twice() -> None:
    """Ctrl-C reaches the whole foreground process group from the kernel (si_code > 0):
    passing it on too would hit the command twice. A signal from kill() has si_code 0."""
    assert supervise._from_a_process(_siginfo(0))        # SI_USER
    assert supervise._from_a_process(_siginfo(-6))       # SI_TKILL
    assert not supervise._from_a_process(_siginfo(128))  # SI_KERNEL: the terminal


def _siginfo(code: int) -> signal.struct_siginfo:
    return signal.struct_siginfo((signal.SIGINT, code, 0, 0, 0, 0, 0))


def test_outside_audit_mode_importwall_run_is_replaced_by_the_command(
        tmp_path: Path) -> None:
    child = _start(tmp_path, "-c", "import os; print(os.getpid())", mode="warn")
    out, _ = child.communicate(timeout=60)
    assert int(out) == child.pid
