"""Per-process record files: every finding, as JSON Lines, in ``IMPORTWALL_DATA_DIR``.

Each process writes its own file, named ``<host>-<pid>-<random>.jsonl``, so processes never
share a file and never need a lock. The file is created when the firewall starts
(:meth:`RecordWriter.announce`), so a process that ran under the firewall leaves a file even
when it found nothing: ``importwall audit`` tells "clean" from "never started". Every record
is one ``os.write`` of one line on an ``O_APPEND`` descriptor: nothing is buffered, so a
process that ``enforce`` mode stops (or that dies) loses nothing it already reported.

The first line describes the process (the ``process`` record). The second, written in the
same ``write``, is the ``status`` record: a line of fixed width that says how many of the
process's findings could not be written (``unwritten``). It is reserved at start for the
day the disk fills up: it is rewritten in place (``pwrite`` on a second descriptor, into
space the file already holds), so a full disk still leaves the report a trace that this
process's record is incomplete. Each later line holds one ``finding``, with an ``id``
within its file; an import site run again adds no finding, and its hit count (import
attempts, apart from the count of processes) follows in ``hits`` lines,
``{"type": "hits", "id": n, "hits": total}``, the latest total winning: the firewall hands
the counts that changed over at most once a second and at exit (a multiprocessing worker's
too: :mod:`importwall.runtime.finder`). A finding with no ``hits`` line was hit once.

Nothing is lost silently. When a finding cannot be written (a read-only, full or vanished
data dir), the process says so once on standard error (``record-write-failed``, the dir,
the counts so far), counts every finding it could not write, keeps the status line up to
date, tells the ``importwall run`` or ``audit`` that started it
(:mod:`importwall.runtime.losses`), and says so again at exit with the final count. A data
dir deleted under a running process is noticed (the file's link count drops to 0): what
the deleted file held is counted as lost, and a new file is started.

A forked child (multiprocessing workers) notices its new pid on its first finding and
starts a file, and counts, of its own.

:mod:`importwall.runtime.record_reader` reads them back (for ``importwall report`` and
``audit``), beside this module: the two are the one place that knows the line format.

Standard library only: this module is on the start-up path. It keeps its own references to
the ``os`` functions it needs, so a program that mocks ``open()`` cannot break it, and it
never raises from :meth:`RecordWriter.__call__`: a failed write becomes an ``internal``
finding handed to ``on_error`` (the firewall keeps it with its other findings).
"""

from __future__ import annotations

import _thread
import os
import sys
import time

# contextlib.suppress without importing contextlib (and collections, functools) at start-up
from importwall import _lean as contextlib
from importwall.findings import KIND_INTERNAL, Finding, host_name

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

RECORD_VERSION = 1
"""Version of the record-file line format; :mod:`importwall.report` reads it back."""

RECORD_SUFFIX = ".jsonl"

STATUS_WIDTH = 256
"""Bytes of the ``status`` line, newline included: rewritten in place, never longer."""

WRITE_FAILED = "record-write-failed"
"""The code of the finding, and of the standard-error lines, for findings not written."""

_open = os.open
_write = os.write
_pwrite = getattr(os, "pwrite", None)  # not on Windows: the status line then stays as is
_lseek = os.lseek
_ftruncate = os.ftruncate
_fstat = os.fstat
_close = os.close
_getpid = os.getpid
_urandom = os.urandom
_makedirs = os.makedirs
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL | _CLOEXEC


def what_runs() -> str:
    """What this process runs, from its command line: the script's path, ``-m MODULE``,
    ``-c``, ``-`` (standard input), ``interactive``, or a multiprocessing child."""
    argv = getattr(sys, "orig_argv", None) or sys.argv  # orig_argv: 3.10+
    if "--multiprocessing-fork" in argv:
        return "multiprocessing spawn child"
    index = 1
    while index < len(argv):
        argument = argv[index]
        if argument == "-m" and index + 1 < len(argv):
            return f"-m {argv[index + 1]}"
        if argument.startswith("-m") and len(argument) > 2:
            return f"-m {argument[2:]}"
        if argument == "-c":
            code = argv[index + 1] if index + 1 < len(argv) else ""
            return "multiprocessing forkserver" if "multiprocessing.forkserver" in code else "-c"
        if argument == "-":
            return "-"
        if not argument.startswith("-"):
            return os.path.abspath(argument)
        index += 2 if argument in ("-X", "-W") else 1  # options that take a value
    return "interactive"


def record_file_name(host: str, pid: int, token: str) -> str:
    safe_host = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in host) or "host"
    return f"{safe_host}-{pid}-{token}{RECORD_SUFFIX}"


def _append_line(fd: int, data: bytes) -> None:
    """Append whole lines or nothing: a full disk can take part of a write, and a cut line
    would corrupt the record (and glue the next one to it), so it is cut back off."""
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


class RecordFileDeleted(OSError):
    """The record file was unlinked under us (its data dir deleted): writes still succeed,
    into a file no one will ever read."""


def _say(text: str) -> None:
    """One line on standard error, whatever the program did to ``sys.stderr``."""
    try:
        stream = sys.stderr
        stream.write(text + "\n")
        stream.flush()
    except Exception:
        with contextlib.suppress(OSError):
            _write(2, (text + "\n").encode("utf-8", "replace"))


def _json_dumps() -> Callable[..., str]:
    """``json.dumps`` for ``dumps(value, sort_keys=..., default=...)``, the same text,
    without importing :mod:`json`: its package imports ``json.decoder`` and with it ``re``,
    ``enum``, ``functools`` and ``collections`` (~31 M instructions, most of a data dir's
    start-up). This is the C encoder ``json.dumps`` itself runs (``_json.make_encoder``
    with ``json.JSONEncoder``'s arguments, 3.10-3.13); ``json.dumps`` where ``_json`` is
    missing. Called before the firewall is installed, so ``_json``'s import is not judged."""
    try:
        from _json import encode_basestring_ascii, make_encoder
    except ImportError:  # not CPython
        import json

        return json.dumps

    def refuse(value: object) -> object:  # json.JSONEncoder.default
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    def dumps(value: object, *, sort_keys: bool = False,
              default: Callable[[Any], object] | None = None) -> str:
        if isinstance(value, str):
            return encode_basestring_ascii(value)
        encode = make_encoder({}, refuse if default is None else default,
                              encode_basestring_ascii, None, ": ", ", ", sort_keys, False,
                              True)
        return "".join(encode(value, 0))

    return dumps


class RecordWriter:
    """A firewall sink that appends findings to this process's record file.

    ``context`` is stored in the ``process`` record (policy path, mode): names and paths,
    never environment values. :attr:`written` and :attr:`unwritten` count this process's
    findings that reached the file and those that did not.
    """

    def __init__(self, data_dir: str, context: dict[str, Any] | None = None,
                 on_error: Callable[[Finding], None] | None = None) -> None:
        self.data_dir = os.path.abspath(data_dir)
        self.context = dict(context or {})
        self.on_error = on_error
        self.path: str | None = None
        self.written = 0
        self.unwritten = 0
        self.error: str | None = None
        """The first write error of this process, as text."""
        self._fd: int | None = None
        self._status_fd: int | None = None
        self._status_at = 0
        self._header_pending = False
        self._in_file = 0  # findings in the current file
        # id(finding) -> its id in the current file, and the finding (its id stays its own)
        self._ids: dict[int, tuple[int, Finding]] = {}
        self._pid: int | None = None
        self._forked_from: int | None = None
        self._started = 0.0
        self._exit_hook = False
        self._lock = _thread.allocate_lock()  # threading.Lock
        # Made here, not at the top: only processes that record to a data dir pay for it.
        # Kept as our own reference, like the os functions above.
        self._dumps = _json_dumps()

    def __repr__(self) -> str:
        return f"<importwall.RecordWriter {self.data_dir!r}>"

    @property
    def failed(self) -> bool:
        """Whether any finding of this process could not be written."""
        return self.error is not None

    def __call__(self, finding: Finding) -> None:
        self.write({"type": "finding", "finding": finding.to_dict()}, finding)

    def hits(self, changes: list[tuple[Finding, int]]) -> bool:
        """Append the hit totals of findings this process wrote (a ``hits`` line each, one
        ``write`` in all); those of findings not in the current file are left out (lost
        with a deleted file, or a forked parent's). ``False`` if they could not be."""
        ids = self._ids
        lines = [self._dumps({"type": "hits", "id": known[0], "hits": total},
                             sort_keys=True) + "\n"
                 for finding, total in changes
                 if (known := ids.get(id(finding))) is not None and known[1] is finding]
        if not lines:
            return True
        try:
            with self._lock:
                if self._pid != _getpid() or self._fd is None:
                    return True  # a forked child's: the ids are its parent's
                _append_line(self._file(), "".join(lines).encode("utf-8"))
        except Exception as error:
            self._lost(error, 0)
            return False
        return True

    def write(self, record: dict[str, Any], finding: Finding | None = None) -> bool:
        """Append one record; ``False`` if it could not be (counted, and reported once on
        standard error and as an internal finding). A ``finding`` record gets the next id
        of its file (``finding``'s, for its ``hits`` lines)."""
        counted = record.get("type") == "finding"
        deleted: RecordFileDeleted | None = None
        try:
            with self._lock:
                fd = self._file()
                if counted:
                    record = {**record, "id": self._in_file + 1}
                data = (self._dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
                _append_line(fd, data)
                deleted = self._deleted(fd)
                if deleted is not None:  # this record, at least, goes to a new file
                    fd = self._file()
                    if counted:
                        record = {**record, "id": 1}
                        data = (self._dumps(record, sort_keys=True, default=str)
                                + "\n").encode("utf-8")
                    _append_line(fd, data)
                if counted:
                    self._in_file += 1
                    self.written += 1
                    if finding is not None:
                        self._ids[id(finding)] = (self._in_file, finding)
        except Exception as error:
            self._lost(error, 1 if counted else 0)
            return False
        if deleted is not None:
            self._lost(deleted, 0)
        return True

    def announce(self) -> bool:
        """Write this process's ``process`` and ``status`` records now, before any finding:
        the proof that the firewall ran here. ``False`` if they could not be."""
        try:
            with self._lock:
                self._file()
            return True
        except Exception as error:
            self._lost(error, 0)
            return False

    def close(self) -> None:
        """Done with this writer: the final count is said now (see :meth:`_at_exit`)
        rather than at exit, and the files are closed."""
        if self._exit_hook:
            import atexit

            atexit.unregister(self._at_exit)
            self._exit_hook = False
            self._at_exit()
        with self._lock:
            self._close_files()

    # -- the file

    def _file(self) -> int:
        pid = _getpid()
        if self._fd is None or self._pid != pid:
            if self._pid != pid:
                self._new_process(pid)
            self._close_files()
            self._create()
        fd = self._fd
        assert fd is not None
        if self._header_pending:
            header = self._header_line()
            _append_line(fd, header + self._status_line())
            self._header_pending = False
            self._status_at = len(header)
        return fd

    def _new_process(self, pid: int) -> None:
        """The first record of this process, or the first after a fork: counts of its own
        (the ones a fork inherited are the parent's)."""
        if self._pid is not None and self._pid != pid:
            self._forked_from = self._pid
        self._pid = pid
        self._started = time.time()
        self.written = self.unwritten = 0
        self.error = None
        self._fd = self._status_fd = None  # the parent's descriptors: not ours to close

    def _create(self) -> None:
        _makedirs(self.data_dir, exist_ok=True)
        name = record_file_name(host_name(), self._pid or 0, _urandom(6).hex())
        path = os.path.join(self.data_dir, name)
        fd = _open(path, _FLAGS, 0o644)
        # Kept from now on: rewriting the status line must not need a descriptor (or a
        # directory entry) the process can no longer get when things go wrong.
        try:
            self._status_fd = _open(path, os.O_WRONLY | _CLOEXEC)
        except OSError:
            self._status_fd = None
        self._fd, self.path = fd, path
        self._header_pending, self._in_file = True, 0
        self._ids = {}
        if not self._exit_hook:
            import atexit  # built in: costs nothing to import

            atexit.register(self._at_exit)
            self._exit_hook = True

    def _close_files(self) -> None:
        if self._pid == _getpid():
            for fd in (self._fd, self._status_fd):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        _close(fd)
        self._fd = self._status_fd = None

    def _header_line(self) -> bytes:
        header = {"type": "process", "version": RECORD_VERSION, "pid": self._pid,
                  "host": host_name(),
                  "program": os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0]
                  else "python",
                  "runs": what_runs(), "parent_pid": os.getppid(),
                  "forked_from": self._forked_from,
                  "python": ".".join(map(str, sys.version_info[:3])),
                  "started": self._started, **self.context}
        return (self._dumps(header, sort_keys=True, default=str) + "\n").encode("utf-8")

    def _status_line(self) -> bytes:
        status: dict[str, Any] = {"type": "status", "unwritten": self.unwritten}
        error = self.error or ""
        while True:  # the error shortened until the line fits (json.dumps writes ASCII)
            if error:
                status["error"] = error
            data = self._dumps(status, sort_keys=True).encode("ascii")
            if len(data) < STATUS_WIDTH or not error:
                return data[:STATUS_WIDTH - 1].ljust(STATUS_WIDTH - 1) + b"\n"
            error = error[:len(error) // 2 - 3] + "..." if len(error) > 8 else ""

    def _update_status(self) -> None:
        """Rewrite the status line in place: no new space is needed on the disk."""
        if (_pwrite is None or self._status_fd is None or self._header_pending
                or self._pid != _getpid()):
            return
        with contextlib.suppress(OSError):
            _pwrite(self._status_fd, self._status_line(), self._status_at)

    def _deleted(self, fd: int) -> RecordFileDeleted | None:
        """Whether the file was deleted (its link count is 0): what it held is lost, and
        the next record starts a new file (the data dir is created again)."""
        if _fstat(fd).st_nlink:
            return None
        lost = self._in_file
        self.written -= lost
        self.unwritten += lost
        self._close_files()
        return RecordFileDeleted(f"the record file {self.path!r} was deleted (its data dir "
                                 f"removed?): the {lost} finding(s) written to it are lost")

    # -- losses

    def _lost(self, error: BaseException, count: int) -> None:
        with self._lock:
            if self._pid != _getpid():
                self._new_process(_getpid())
            self.unwritten += count
            first = self.error is None
            if first:
                self.error = f"{type(error).__name__}: {error}"
            with contextlib.suppress(Exception):
                self._file()  # a record dir deleted under us: start a new file
            self._update_status()
        if not first:
            return
        _say(f"importwall: {WRITE_FAILED}: cannot write to the data dir {self.data_dir!r} "
             f"({self.error}); {self.written} finding(s) written so far, {self.unwritten} "
             f"not; this process (pid {_getpid()}) keeps its findings in memory and "
             "counts those not written")
        self._notify()
        if not self._exit_hook:
            import atexit

            atexit.register(self._at_exit)
            self._exit_hook = True
        if self.on_error is None:
            return
        with contextlib.suppress(Exception):
            self.on_error(Finding(
                kind=KIND_INTERNAL, code=WRITE_FAILED, severity="warning",
                subject="importwall",
                message=f"cannot write findings to the data dir {self.data_dir!r}: {error}; "
                        "findings of this process are kept in memory only",
                details={"data_dir": self.data_dir}))

    def _at_exit(self) -> None:
        """The final count, on standard error and to the launcher."""
        if self._pid != _getpid():
            return  # a forked child that never recorded: the counts are its parent's
        with self._lock:
            fd = self._fd
            deleted = None
            if fd is not None and not self._header_pending:
                with contextlib.suppress(OSError):
                    deleted = self._deleted(fd)
            if deleted is not None:
                if self.error is None:
                    self.error = f"{type(deleted).__name__}: {deleted}"
                with contextlib.suppress(Exception):
                    self._file()
                self._update_status()
        if not self.unwritten:
            return
        total = self.written + self.unwritten
        _say(f"importwall: {WRITE_FAILED}: {self.unwritten} of {total} findings of this "
             f"process (pid {_getpid()}) were not written to the data dir "
             f"{self.data_dir!r}; a report of that dir is incomplete")
        self._notify()

    def _notify(self) -> None:
        recorded = self._fd is not None and not self._header_pending
        with contextlib.suppress(Exception):  # best effort, like the notice itself
            from importwall.runtime.losses import notify

            notify(_getpid(), self.unwritten, self.written + self.unwritten, recorded,
                   self.data_dir)
