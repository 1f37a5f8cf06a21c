"""A live view of a data dir: what processes write to their record files, as they write it
(``importwall report --follow``).

Each :meth:`Follower.poll` reads what was appended to every record file since the last
poll, at most :data:`MAX_BYTES` a file (the rest waits for the next poll), and only whole
lines: a line a process is still writing is read once it ends. New files are read from
their start; files already there when following starts, from their end (unless
``from_start``). A file that shrank (replaced, truncated) is read again from its start.
An import site run again adds no finding: its ``hits`` lines come as :class:`Hits` events,
the finding seen so many times by then in its process.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from importwall._lean import replace
from importwall.findings import Finding
from importwall.runtime.record_reader import ProcessInfo, read_record_line, record_files

MAX_BYTES = 1 << 20
"""The most read from one file in one poll: a burst of findings cannot stall the view."""

@dataclass(frozen=True)
class Hits:
    """A finding seen again: ``finding.hits`` is its process's count by now."""

    finding: Finding
    timestamp: float


Event = ProcessInfo | Finding | Hits


@dataclass
class _Tail:
    offset: int = 0
    line: int = 0  # lines read so far: numbers for the record-unreadable finding
    pending: bytes = b""
    # Its findings read, by their id (``hits`` lines of findings written before following
    # started are not shown).
    found: dict[int, Finding] = field(default_factory=dict)


@dataclass
class Follower:
    """New processes and findings in ``data_dir`` since the last poll."""

    data_dir: str
    from_start: bool = False
    _tails: dict[str, _Tail] = field(default_factory=dict)
    _started: bool = False

    def poll(self) -> list[Event]:
        """What was written since the last poll, oldest first."""
        events: list[Event] = []
        for path in record_files(self.data_dir):
            tail = self._tails.get(path)
            if tail is None:
                tail = self._tails[path] = _Tail()
                if not (self._started or self.from_start):
                    # There before following started: only what comes next is new. (A
                    # file that appears while following is new from its first line.)
                    tail.offset, tail.line = _end(path)
            events.extend(self._read(path, tail))
        self._started = True
        events.sort(key=_when)
        return events

    def _read(self, path: str, tail: _Tail) -> list[Event]:
        try:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size < tail.offset:  # replaced or truncated: start again
                    tail.offset, tail.line, tail.pending = 0, 0, b""
                handle.seek(tail.offset)
                chunk = handle.read(MAX_BYTES)
        except OSError:
            return []  # removed between listing and reading: nothing more to say
        tail.offset += len(chunk)
        data = tail.pending + chunk
        complete, newline, tail.pending = data.rpartition(b"\n")
        findings: list[Finding] = []
        processes: list[ProcessInfo] = []
        hits: list[Hits] = []
        if newline:
            for text in complete.split(b"\n"):
                tail.line += 1
                record = read_record_line(path, tail.line, text.decode("utf-8", "replace"),
                                          findings, processes)
                if record is None:
                    continue
                if record["type"] == "finding" and "id" in record:
                    tail.found[int(record["id"])] = findings[-1]
                elif record["type"] == "hits":
                    seen = tail.found.get(int(record["id"]))
                    if seen is not None:
                        hits.append(Hits(replace(seen, hits=int(record["hits"])), time.time()))
        return [*processes, *findings, *hits]


def _end(path: str) -> tuple[int, int]:
    """Where following ``path`` starts: after its last whole line (a line still being
    written is read when it ends), and how many lines come before."""
    lines = size = end = 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(MAX_BYTES):
                last = chunk.rfind(b"\n")
                if last >= 0:
                    end = size + last + 1
                size += len(chunk)
                lines += chunk.count(b"\n")
    except OSError:
        pass
    return end, lines


def _when(event: Event) -> float:
    return event.started if isinstance(event, ProcessInfo) else event.timestamp
