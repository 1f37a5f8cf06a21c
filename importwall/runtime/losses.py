"""Lost-record notices: how a process that could not write its findings tells the
``importwall run`` or ``importwall audit`` that started it.

The record file cannot carry that news when the data dir is read-only, full or gone. So
the launcher binds a Unix datagram socket before it starts the command and names it in
``IMPORTWALL_LOSS_SOCKET``, which every child inherits; a process that loses findings
sends one datagram when it first fails and one at exit: its pid, the findings it could not
write, the findings it had, and the data dir. On Linux the socket lives in the abstract
namespace (the value starts with ``@``): no file, no disk space, nothing to clean up.

A notice is best effort and never blocks or raises: a process with no launcher listening
(no variable set, or the launcher gone) still reports its losses on standard error and in
its record file's status line.

Standard library only; :mod:`socket` is imported only when a process has lost findings.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass

from importwall.settings import ENV_LOSS_SOCKET

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket

_ABSTRACT = "@"
_MAX_NOTICE = 4096


@dataclass(frozen=True)
class Loss:
    """What one process said about its findings, in its latest notice."""

    pid: int
    unwritten: int
    total: int
    recorded: bool
    """Whether the process's record file exists (its header was written)."""
    data_dir: str


def _address(value: str) -> str:
    return "\0" + value[1:] if value.startswith(_ABSTRACT) else value


def notify(pid: int, unwritten: int, total: int, recorded: bool, data_dir: str,
           address: str | None = None) -> bool:
    """Send one notice to the launcher named by ``IMPORTWALL_LOSS_SOCKET`` (or
    ``address``); ``False`` if there is none or it could not be reached."""
    target = address if address is not None else os.environ.get(ENV_LOSS_SOCKET)
    if not target or not hasattr(os, "getuid"):
        return False
    message = f"{pid} {unwritten} {total} {int(recorded)} {data_dir}".encode("utf-8",
                                                                            "replace")
    try:
        import socket

        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.setblocking(False)
            sender.sendto(message[:_MAX_NOTICE], _address(target))
        return True
    except Exception:  # no socket module allowed, no listener, a full buffer: say nothing
        return False


class LossListener:
    """The launcher's end: bound on creation; :meth:`drain` collects the notices so far
    (keep calling it while the command runs, so that a burst never fills the socket).
    Unavailable (:attr:`address` ``None``) where Unix sockets are."""

    def __init__(self) -> None:
        self.address: str | None = None
        self.losses: dict[int, Loss] = {}
        self._folder: str | None = None
        self._socket: socket.socket | None
        try:
            self._socket = self._bind()
        except OSError:
            self._socket = None
            self.address = None

    def _bind(self) -> socket.socket:
        import socket

        if not hasattr(socket, "AF_UNIX"):
            raise OSError("no Unix sockets here")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.setblocking(False)
        with contextlib.suppress(OSError):  # room for a burst between two drains
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        name = f"importwall-{os.getpid()}-{os.urandom(8).hex()}"
        if sys.platform.startswith("linux"):
            listener.bind("\0" + name)
            self.address = _ABSTRACT + name
        else:
            import tempfile

            self._folder = tempfile.mkdtemp(prefix="importwall-")
            path = os.path.join(self._folder, "losses")
            listener.bind(path)
            self.address = path
        return listener

    def environment(self) -> dict[str, str]:
        """The variable that points a command's processes at this listener."""
        return {ENV_LOSS_SOCKET: self.address} if self.address else {}

    def drain(self) -> dict[int, Loss]:
        """Read every notice waiting; the latest per pid is kept."""
        if self._socket is None:
            return self.losses
        while True:
            try:
                data = self._socket.recv(_MAX_NOTICE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            loss = _parse(data)
            if loss is not None:
                known = self.losses.get(loss.pid)
                if (known is None or loss.unwritten > known.unwritten
                        or (loss.unwritten == known.unwritten and not loss.recorded)):
                    self.losses[loss.pid] = loss
        return self.losses

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._folder is not None:
            import shutil

            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> LossListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parse(data: bytes) -> Loss | None:
    with contextlib.suppress(ValueError):
        pid, unwritten, total, recorded, data_dir = data.decode("utf-8", "replace").split(
            " ", 4)
        return Loss(int(pid), int(unwritten), int(total), recorded == "1", data_dir)
    return None


def summary(losses: dict[int, Loss]) -> str:
    """One sentence: how many findings of how many processes were not written, where."""
    unwritten = sum(loss.unwritten for loss in losses.values())
    unrecorded = sum(1 for loss in losses.values() if not loss.recorded)
    dirs = sorted({loss.data_dir for loss in losses.values()})
    where = ", ".join(repr(d) for d in dirs)
    files = (f", and {unrecorded} of them could not write a record file at all"
             if unrecorded else "")
    return (f"{len(losses)} process(es) could not write all their findings to the data dir "
            f"{where}: {unwritten} finding(s) not written{files}; a report of it is "
            "incomplete")
