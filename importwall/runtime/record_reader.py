"""Read back the per-process record files :mod:`importwall.runtime.records` writes.

Kept apart from the writer so that the start-up path, which only writes, does not pay for
the reader; the two modules are the one place that knows the line format.

Standard library only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from importwall._lean import replace
from importwall.findings import KIND_INTERNAL, Finding, hit_count, optional_text
from importwall.runtime.records import RECORD_SUFFIX

INCOMPLETE = "records-incomplete"
"""The code of the finding for a process whose record file lacks some of its findings."""


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
    unwritten: int = 0
    """Findings this process could not write to its record file: > 0 is incomplete."""
    runs: str = ""
    """What it runs: a script path, ``-m MODULE``, ``-c``, a multiprocessing child..."""
    parent_pid: int | None = None
    forked_from: int | None = None
    """The pid it was forked from (a gunicorn worker's master), or None."""

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "host": self.host, "program": self.program,
                "python": self.python, "policy": self.policy, "mode": self.mode,
                "started": self.started, "unwritten": self.unwritten, "runs": self.runs,
                "parent_pid": self.parent_pid, "forked_from": self.forked_from}


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
    the file and line, so nothing is dropped silently; so does a process whose ``status``
    line says it could not write all its findings, and a file left empty by a process that
    could not even write its header (``records-incomplete``, severity error)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        findings.append(_unreadable(path, 1, f"cannot read the file: {error}"))
        return
    header: dict[str, Any] | None = None
    status: dict[str, Any] = {}
    ids: dict[int, int] = {}
    for number, line in enumerate(lines, start=1):
        record = read_record_line(path, number, line, findings, processes, ids)
        if record is None:
            continue
        if record["type"] == "process":
            header = record
        elif record["type"] == "status":
            status = record
            if header is not None:
                processes[-1] = _process(header, _unwritten(record))
    if not any(line.strip() for line in lines):
        findings.append(_incomplete(
            path, "the file is empty: a process started under the firewall but could not "
                  "write even its header (a full disk?); its findings are not here", {}))
    elif header is not None and processes and processes[-1].unwritten > 0:
        process = processes[-1]
        first_error = status.get("error")
        cause = f" ({first_error})" if isinstance(first_error, str) and first_error else ""
        findings.append(_incomplete(
            path, f"process {process.pid} on {process.host} ({process.program}) could not "
                  f"write {process.unwritten} of its findings{cause}: this report is "
                  "incomplete", header))


def read_record_line(path: str, number: int, line: str, findings: list[Finding],
                     processes: list[ProcessInfo], ids: dict[int, int] | None = None
                     ) -> dict[str, Any] | None:
    """Append what line ``number`` of record file ``path`` holds (``report --follow`` reads
    files a line at a time as processes write them); the record read, or ``None`` for a
    blank or unreadable line. A ``status`` record is only checked here: the count it holds
    belongs to the file's process header (:func:`read_record_file`). ``ids``: the file's
    findings so far, by their ``id``, as indexes into ``findings``; a ``hits`` line sets
    the hit count of the finding it names there (a finding without one, as older versions
    wrote them, was hit once; one naming no finding read is left out: a finding of a
    deleted record file, counted lost in the status line)."""
    if not line.strip():
        return None
    try:
        record = json.loads(line)
        kind = record["type"]
        if kind == "finding":
            finding = Finding.from_dict(record["finding"])
            if ids is not None and "id" in record:
                ids[int(record["id"])] = len(findings)
            findings.append(finding)
        elif kind == "hits":
            number_of, total = int(record["id"]), hit_count(record["hits"])
            index = None if ids is None else ids.get(number_of)
            if index is not None:
                findings[index] = replace(findings[index], hits=total)
        elif kind == "process":
            processes.append(_process(record, 0))
        elif kind == "status":
            _unwritten(record)
        return record  # type: ignore[no-any-return]
    # A hand-edited or foreign line can hold any JSON: a list where a table belongs
    # (AttributeError), a number too large for an int (OverflowError).
    except (ValueError, LookupError, TypeError, AttributeError, ArithmeticError) as error:
        findings.append(_unreadable(path, number, f"not a record ({error!s})"))
        return None


def _unwritten(status: dict[str, Any]) -> int:
    return max(int(status.get("unwritten") or 0), 0)


def _process(record: dict[str, Any], unwritten: int) -> ProcessInfo:
    return ProcessInfo(
        pid=int(record["pid"]), host=str(record["host"]),
        program=str(record.get("program", "")), python=str(record.get("python", "")),
        policy=optional_text(record, "policy"), mode=optional_text(record, "mode"),
        started=float(record.get("started", 0.0)), unwritten=unwritten,
        runs=str(record.get("runs", "")), parent_pid=_optional_int(record, "parent_pid"),
        forked_from=_optional_int(record, "forked_from"))


def _optional_int(record: dict[str, Any], key: str) -> int | None:
    value = record.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _incomplete(path: str, problem: str, header: dict[str, Any]) -> Finding:
    pid = header.get("pid")
    return Finding(kind=KIND_INTERNAL, code=INCOMPLETE, severity="error",
                   subject="importwall", message=f"{path}: {problem}", source=f"{path}:1",
                   pid=pid if isinstance(pid, int) else 0, host=str(header.get("host", "")),
                   timestamp=0.0)


def _unreadable(path: str, line: int, problem: str) -> Finding:
    return Finding(kind=KIND_INTERNAL, code="record-unreadable", severity="warning",
                   subject="importwall", message=f"{path}:{line}: {problem}",
                   source=f"{path}:{line}", pid=0, host="", timestamp=0.0)
