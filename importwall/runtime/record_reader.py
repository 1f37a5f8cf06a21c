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

from importwall.findings import KIND_INTERNAL, Finding, optional_text
from importwall.runtime.records import RECORD_SUFFIX


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
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        findings.append(_unreadable(path, 1, f"cannot read the file: {error}"))
        return
    for number, line in enumerate(lines, start=1):
        read_record_line(path, number, line, findings, processes)


def read_record_line(path: str, number: int, line: str, findings: list[Finding],
                     processes: list[ProcessInfo]) -> None:
    """Append what line ``number`` of record file ``path`` holds (``report --follow`` reads
    files a line at a time as processes write them)."""
    if not line.strip():
        return
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
