"""Bad input to the record reader: a record file may be cut short, edited by hand, or
written by another version. Whatever it holds, reading it gives findings (the unreadable
lines as ``record-unreadable`` findings naming file and line) and every report format
renders them; never another exception, never a hang."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importwall.findings import Finding, Frame
from importwall.report import load_records, read_record_file
from importwall.report.writer import format_names, render

FUZZ = settings(max_examples=150, deadline=dt.timedelta(seconds=10),
                suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10),
                         st.floats(allow_nan=False), st.sampled_from([1e400, -1e400]))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8)

GOOD_FINDING = Finding(kind="import", code="import-recorded", severity="error",
                       subject="trainer", message="import of 'trainer' recorded",
                       rule="deny 'trainer'", reason="training only",
                       source="/srv/policy.toml:4", action="recorded", importer="app",
                       chain=(Frame("app", "/srv/app.py", 3, "handle"),),
                       details={"mode": "audit"}).to_dict()
GOOD_PROCESS = {"type": "process", "version": 1, "pid": 12, "host": "h", "program": "serve",
                "python": "3.11.7", "started": 1.0, "policy": "/srv/policy.toml",
                "mode": "audit"}


@st.composite
def damaged_records(draw: st.DrawFn) -> dict[str, Any]:
    """A real record with some of its fields (or its frames' fields) replaced."""
    is_process = draw(st.booleans())
    if is_process:
        record: dict[str, Any] = dict(GOOD_PROCESS)
        target = record
    else:
        finding = json.loads(json.dumps(GOOD_FINDING))
        record = {"type": "finding", "finding": finding}
        target = finding["chain"][0] if draw(st.booleans()) else finding
    for key in draw(st.lists(st.sampled_from(sorted(target)), min_size=1, max_size=3, unique=True)):
        if draw(st.booleans()):
            target[key] = draw(json_values)
        else:
            del target[key]
    if draw(st.integers(0, 5)) == 0:
        record["pid" if is_process else "finding"] = draw(json_values)
    return record


GOOD_STATUS = {"type": "status", "unwritten": 3, "error": "OSError: [Errno 28] No space"}
statuses = st.fixed_dictionaries({"type": st.just("status")},
                                 optional={"unwritten": json_values, "error": json_values})

lines = st.one_of(
    damaged_records().map(lambda r: json.dumps(r, allow_nan=True)),
    statuses.map(lambda r: json.dumps(r, allow_nan=True).ljust(256)),
    st.just(json.dumps(GOOD_STATUS).ljust(255)),
    json_values.map(json.dumps),
    st.text(max_size=40),
    st.just(json.dumps({"type": "finding", "finding": GOOD_FINDING})),
    st.just(json.dumps({"type": "finding", "finding": GOOD_FINDING})[:-7]),  # cut short
)


@FUZZ
@given(st.lists(lines, max_size=8))
def test_any_record_file_reads_into_findings_that_every_format_renders(
        content: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "h-1-abc.jsonl")
        Path(path).write_text("\n".join(content) + "\n", encoding="utf-8")
        report = load_records(folder)
    for item in report.items:
        if item.finding.code in ("record-unreadable", "records-incomplete"):
            assert item.finding.message.startswith(f"{path}:")
    for name in format_names():
        assert isinstance(render(report, name), str)


@FUZZ
@given(st.binary(max_size=200))
def test_bytes_that_are_not_text_are_one_unreadable_finding(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "h-1-abc.jsonl"
        path.write_bytes(data)
        findings: list[Finding] = []
        read_record_file(str(path), findings, [])
    assert all(f.kind in ("import", "internal") or f.code for f in findings)
