"""Run a command as a child, pass signals on, and give back its exit status.

``importwall run`` replaces itself with the command (``os.execve``) whenever it can: the
command keeps the pid, the signals and the exit status, with nothing in between. In
``audit`` mode with a data dir it must outlive the command instead, to learn whether any
of its processes lost findings (:mod:`importwall.runtime.losses`), so it stays as the
command's parent and is as transparent as a parent can be:

* the command is started with ``posix_spawn``, in the same process group and session,
  with the same standard streams, signal mask and ignored signals it would have had;
* a signal another process sends to ``importwall run`` (``kill``, a supervisor, a
  container runtime stopping it) is passed on to the command. Signals from the terminal
  (Ctrl-C, Ctrl-\\, a window resize, a hang-up) reach the command from the kernel already,
  as a member of the foreground process group, and are not sent twice: the difference is
  the signal's ``si_code`` (``sigtimedwait``);
* its exit status is returned as is; a command killed by a signal makes
  :func:`exit_like` kill ``importwall run`` with the same signal, so that the shell sees
  the same thing.

This needs ``signal.sigtimedwait`` and ``os.posix_spawn``: Linux and the BSDs, not macOS or
Windows, where :func:`supported` is false and ``importwall run`` keeps exec'ing (losses are
then reported on standard error and in the record files only).

Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence

# SIGTTIN and SIGTTOU too: servers use them from `kill` (gunicorn adds and removes workers).
# Not SIGTSTP and SIGCONT: job control stops and continues the whole process group.
_NAMES = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH",
          "SIGALRM", "SIGTTIN", "SIGTTOU")
FORWARDED = frozenset(getattr(signal, name) for name in _NAMES if hasattr(signal, name))
"""The signals passed on to the command when another process sends them."""

_POLL_SECONDS = 0.25


def supported() -> bool:
    return (hasattr(signal, "sigtimedwait") and hasattr(os, "posix_spawn")
            and hasattr(signal, "SIGCHLD"))


def _from_a_process(info: signal.struct_siginfo) -> bool:
    """``kill``, ``tgkill`` and ``sigqueue`` give ``si_code`` <= 0 (SI_USER, SI_TKILL,
    SI_QUEUE); the kernel's own signals, the terminal's among them, are positive."""
    return info.si_code <= 0


def run_and_wait(program: str, argv: Sequence[str], env: Mapping[str, str],
                 poll: Callable[[], object] | None = None) -> int:
    """Start ``program`` and wait for it; its exit status, or ``-N`` when signal N killed
    it (as :func:`os.waitstatus_to_exitcode` says). ``poll`` runs every quarter second
    and after every signal while the command runs."""
    wanted = set(FORWARDED) | {signal.SIGCHLD}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
    try:
        pid = os.posix_spawn(program, list(argv), dict(env), setsigmask=previous)
        while True:
            info = signal.sigtimedwait(wanted, _POLL_SECONDS)
            if poll is not None:
                poll()
            if info is not None and info.si_signo != signal.SIGCHLD:
                if _from_a_process(info):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, info.si_signo)
                continue
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def exit_like(code: int) -> int:
    """For a status from :func:`run_and_wait`: kill this process with the signal that
    killed the command (so a shell sees the same); otherwise, or should that signal not
    kill us, the exit status to return (128 + N for signal N, as shells report it)."""
    if code >= 0:
        return code
    number = -code
    with contextlib.suppress(OSError, ValueError):  # SIGKILL and SIGSTOP have no handler
        signal.signal(number, signal.SIG_DFL)
    with contextlib.suppress(OSError, ValueError):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {number})
        os.kill(os.getpid(), number)
    return 128 + number
