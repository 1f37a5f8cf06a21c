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

:func:`record_files` and :func:`read_record_file` read them back (for ``importwall report``
and ``audit``): the one place that knows the line format.

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
from dataclasses import dataclass
from typing import Any

from importwall.findings import KIND_INTERNAL, Finding, host_name, optional_text

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


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ProcessInfo:
    """A process that wrote a record file: what ran, under which policy and mode."""

    pid: int
    host: str
    program: str = ""
    python: str = ""
    policy: str | None = None
    mode: str | None = None
    started: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "host": self.host, "program": self.program,
                "python": self.python, "policy": self.policy, "mode": self.mode,
                "started": self.started}


def record_files(data_dir: str) -> list[str]:
    """The record files in ``data_dir``, sorted by name."""
    try:
        names = os.listdir(data_dir)
    except FileNotFoundError:
        return []
    return sorted(os.path.join(data_dir, n) for n in names if n.endswith(RECORD_SUFFIX))


def read_record_file(path: str, findings: list[Finding], processes: list[ProcessInfo]) -> None:
    """Append the findings and the process header of one record file. A line that cannot
    be read (a disk that filled up, an edited file) becomes an ``internal`` finding naming
    the file and line, so nothing is dropped silently."""
    import json  # readers only: a process that just writes never loads it for this

    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        findings.append(_unreadable(path, 1, f"cannot read the file: {error}"))
        return
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            kind = record["type"]
            if kind == "finding":
                findings.append(Finding.from_dict(record["finding"]))
            elif kind == "process":
                processes.append(ProcessInfo(
                    pid=int(record["pid"]), host=str(record["host"]),
                    program=str(record.get("program", "")),
                    python=str(record.get("python", "")),
                    policy=optional_text(record, "policy"), mode=optional_text(record, "mode"),
                    started=float(record.get("started", 0.0))))
        # A hand-edited or foreign line can hold any JSON: a list where a table belongs
        # (AttributeError), a number too large for an int (OverflowError).
        except (ValueError, LookupError, TypeError, AttributeError, ArithmeticError) as error:
            findings.append(_unreadable(path, number, f"not a record ({error!s})"))


def _unreadable(path: str, line: int, problem: str) -> Finding:
    return Finding(kind=KIND_INTERNAL, code="record-unreadable", severity="warning",
                   subject="importwall", message=f"{path}:{line}: {problem}",
                   source=f"{path}:{line}", pid=0, host="", timestamp=0.0)
