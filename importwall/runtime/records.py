"""Per-process record files: every finding, as JSON Lines, in ``IMPORTWALL_DATA_DIR``.

Each process writes its own file, named ``<host>-<pid>-<random>.jsonl``, so processes never
share a file and never need a lock. The file is opened with ``O_APPEND`` when the firewall
starts (:meth:`RecordWriter.announce`), so a process that ran under the firewall leaves a
file even when it found nothing: ``importwall audit`` tells "clean" from "never started".
Every record is one ``os.write`` of one line: nothing is buffered, so a process that
``enforce`` mode stops (or that dies) loses nothing it already reported. The first line
describes the process (the ``process`` record); each later line holds one ``finding``.

A forked child (multiprocessing workers) notices its new pid on its first finding and
starts a file of its own.

:mod:`importwall.runtime.record_reader` reads them back (for ``importwall report`` and
``audit``), beside this module: the two are the one place that knows the line format.

Standard library only: this module is on the start-up path. It keeps its own references to
the ``os`` functions it needs, so a program that mocks ``open()`` cannot break it, and it
never raises from :meth:`RecordWriter.__call__`: a failed write becomes an ``internal``
finding handed to ``on_error`` (the firewall keeps it with its other findings).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from importwall.findings import KIND_INTERNAL, Finding, host_name

RECORD_VERSION = 1
"""Version of the record-file line format; :mod:`importwall.report` reads it back."""

RECORD_SUFFIX = ".jsonl"

_open = os.open
_write = os.write
_lseek = os.lseek
_ftruncate = os.ftruncate
_close = os.close
_getpid = os.getpid
_urandom = os.urandom
_makedirs = os.makedirs
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def record_file_name(host: str, pid: int, token: str) -> str:
    safe_host = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in host) or "host"
    return f"{safe_host}-{pid}-{token}{RECORD_SUFFIX}"


def _append_line(fd: int, data: bytes) -> None:
    """Append one whole line or nothing: a full disk can take part of a write, and a cut
    line would corrupt the record (and glue the next one to it), so it is cut back off."""
    start = _lseek(fd, 0, os.SEEK_END)
    view = memoryview(data)
    try:
        while view:
            written = _write(fd, view)
            view = view[written:]
    except OSError:
        with contextlib.suppress(OSError):
            _ftruncate(fd, start)
        raise


class RecordWriter:
    """A firewall sink that appends findings to this process's record file.

    ``context`` is stored in the ``process`` record (policy path, mode): names and paths,
    never environment values.
    """

    def __init__(self, data_dir: str, context: dict[str, Any] | None = None,
                 on_error: Callable[[Finding], None] | None = None) -> None:
        self.data_dir = os.path.abspath(data_dir)
        self.context = dict(context or {})
        self.on_error = on_error
        self.path: str | None = None
        self.failed = False
        self._fd: int | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        # Imported here, not at the top: only processes that record to a data dir pay for
        # json at start-up. Kept as our own reference, like the os functions above.
        import json

        self._dumps = json.dumps

    def __repr__(self) -> str:
        return f"<importwall.RecordWriter {self.data_dir!r}>"

    def __call__(self, finding: Finding) -> None:
        line = {"type": "finding", "finding": finding.to_dict()}
        self.write(line)

    def write(self, record: dict[str, Any]) -> bool:
        """Append one record; ``False`` (and an internal finding) if it could not be."""
        try:
            data = (self._dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
            with self._lock:
                _append_line(self._file(), data)
            return True
        except Exception as error:
            self._failed(error)
            return False

    def announce(self) -> bool:
        """Write this process's ``process`` record now, before any finding: the proof that
        the firewall ran here. ``False`` (and an internal finding) if it could not be."""
        try:
            with self._lock:
                self._file()
            return True
        except Exception as error:
            self._failed(error)
            return False

    def close(self) -> None:
        with self._lock:
            if self._fd is not None and self._pid == _getpid():
                with contextlib.suppress(OSError):
                    _close(self._fd)
            self._fd = None

    # -- internals

    def _file(self) -> int:
        pid = _getpid()
        if self._fd is not None and self._pid == pid:
            return self._fd
        # First record of this process, or the first after a fork: a file of our own.
        _makedirs(self.data_dir, exist_ok=True)
        host = host_name()
        name = record_file_name(host, pid, _urandom(6).hex())
        path = os.path.join(self.data_dir, name)
        fd = _open(path, _FLAGS, 0o644)
        self._fd, self._pid, self.path = fd, pid, path
        header = {"type": "process", "version": RECORD_VERSION, "pid": pid, "host": host,
                  "program": os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0]
                  else "python",
                  "python": ".".join(map(str, sys.version_info[:3])),
                  "started": time.time(), **self.context}
        _append_line(fd, (self._dumps(header, sort_keys=True, default=str) + "\n").encode("utf-8"))
        return fd

    def _failed(self, error: BaseException) -> None:
        if self.failed:
            return  # one internal finding per writer is enough; the rest say the same
        self.failed = True
        if self.on_error is None:
            return
        with contextlib.suppress(Exception):
            self.on_error(Finding(
                kind=KIND_INTERNAL, code="record-write-failed", severity="warning",
                subject="importwall",
                message=f"cannot write findings to the data dir {self.data_dir!r}: {error}; "
                        "findings of this process are kept in memory only",
                details={"data_dir": self.data_dir}))
