"""The report model: combining record files, de-duplication, ordering, the JSON schema."""

from __future__ import annotations

import json
import random
from pathlib import Path

import jsonschema

from importwall.findings import Finding, Frame
from importwall.report import Report, load_records, schema_path

CHAIN = (Frame("serve", "/srv/serve.py", 3), Frame("svc.app", "/srv/svc/app.py", 10, "handle"))


def finding(subject: str = "svc.training", severity: str = "error", *, pid: int = 1,
            host: str = "h1", chain: tuple[Frame, ...] = CHAIN, kind: str = "import",
            timestamp: float = 100.0) -> Finding:
    return Finding(kind=kind, code=f"{kind}-found", severity=severity, subject=subject,
                   message=f"{subject} found", rule=f"deny {subject!r}", source="/p.toml:3",
                   chain=chain, pid=pid, host=host, timestamp=timestamp)


def test_same_module_and_chain_is_counted_once_with_every_pid() -> None:
    report = Report.build([finding(pid=3, timestamp=3), finding(pid=1, timestamp=5),
                           finding(pid=3, timestamp=4)])
    (item,) = report.items
    assert item.count == 3 and item.pids == (1, 3) and item.finding.timestamp == 3


def test_a_different_chain_is_a_different_finding() -> None:
    other = (Frame("worker", "/srv/worker.py", 7),)
    report = Report.build([finding(), finding(chain=other)])
    assert len(report.items) == 2


def test_order_is_severity_first_and_independent_of_input_order() -> None:
    findings = [finding("b", "warning"), finding("a", "info"), finding("c", "error"),
                finding("a", "error", kind="environment", chain=()), finding("d", "warning")]
    expected = [("environment", "a"), ("import", "c"), ("import", "b"), ("import", "d"),
                ("import", "a")]
    for seed in range(5):
        random.Random(seed).shuffle(findings)
        report = Report.build(findings)
        assert [(i.finding.kind, i.finding.subject) for i in report.items] == expected


def test_fails_and_counts() -> None:
    report = Report.build([finding("a", "warning"), finding("b", "info")])
    assert report.counts() == {"info": 1, "warning": 1, "error": 0}
    assert report.fails("warning") and report.fails("info") and not report.fails("error")


def test_combine_100_record_files(tmp_path: Path) -> None:
    """100 processes' files: every finding counted, every process listed."""
    data = tmp_path / "data"
    for pid in range(1000, 1100):
        lines = [{"type": "process", "version": 1, "pid": pid, "host": "h", "started": pid}]
        lines += [{"type": "finding", "finding": finding(pid=pid).to_dict()}]
        if pid % 10 == 0:
            lines.append({"type": "finding",
                          "finding": finding("svc.eval", "warning", pid=pid).to_dict()})
        data.mkdir(exist_ok=True)
        (data / f"h-{pid}-x.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    report = load_records(str(data))
    assert len(report.processes) == 100
    by_subject = {i.finding.subject: i for i in report.items}
    assert by_subject["svc.training"].count == 100
    assert by_subject["svc.training"].pids == tuple(range(1000, 1100))
    assert by_subject["svc.eval"].count == 10


def test_unreadable_lines_become_internal_findings(tmp_path: Path) -> None:
    good = json.dumps({"type": "finding", "finding": finding().to_dict()})
    (tmp_path / "h-1-a.jsonl").write_text(good + "\n{truncated\n")
    report = load_records(str(tmp_path))
    codes = sorted(i.finding.code for i in report.items)
    assert codes == ["import-found", "record-unreadable"]
    internal = next(i for i in report.items if i.finding.kind == "internal")
    assert internal.finding.source == f"{tmp_path / 'h-1-a.jsonl'}:2"


def test_json_form_matches_the_shipped_schema_and_round_trips() -> None:
    schema = json.loads(Path(schema_path()).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    report = Report.build([finding(pid=1), finding(pid=2), finding("x", "info", chain=())],
                          policy="/p.toml", rules=["deny 'x'"], metadata={"command": "serve"})
    data = report.to_dict()
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    assert data["summary"] == {"findings": 2, "by_severity": {"info": 1, "warning": 0,
                                                               "error": 1}, "processes": 0}
    again = Report.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == data


def test_schema_rejects_what_it_should() -> None:
    schema = json.loads(Path(schema_path()).read_text())
    data = Report.build([finding()]).to_dict()
    data["findings"][0]["severity"] = "fatal"
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(data))
    assert errors and "fatal" in errors[0].message


def test_the_schema_ships_in_the_wheel_package_folder() -> None:
    assert Path(schema_path()).parts[-4:-1] == ("importwall", "report", "schemas")


# --------------------------------------------------------------------------- hits


def test_hits_are_summed_over_processes_apart_from_the_process_count() -> None:
    from importwall._lean import replace

    report = Report.build([replace(finding(pid=1), hits=5), replace(finding(pid=2), hits=7),
                           finding(pid=3)])
    (item,) = report.items
    assert (item.hits, item.count, item.pids) == (13, 3, (1, 2, 3))
    assert item.to_dict()["hits"] == 13


def test_a_json_report_round_trips_its_hits_and_an_older_one_reads_one_a_process() -> None:
    from importwall._lean import replace

    report = Report.build([replace(finding(pid=1), hits=5), replace(finding(pid=2), hits=7)])
    data = json.loads(json.dumps(report.to_dict()))
    again = Report.from_dict(data)
    assert (again.items[0].hits, again.items[0].count) == (12, 2)
    assert again.to_dict() == data  # not inflated to 12 processes, nor lost
    del data["findings"][0]["hits"]  # written before hits were counted
    older = Report.from_dict(data)
    assert (older.items[0].hits, older.items[0].count) == (2, 2)
    jsonschema.validate(older.to_dict(), json.loads(Path(schema_path()).read_text()),
                        cls=jsonschema.Draft202012Validator)


def _record_file(path: Path, pid: int, lines: list[dict]) -> None:
    header = {"type": "process", "version": 1, "pid": pid, "host": "h1", "program": "serve",
              "started": 1.0}
    path.write_text("".join(json.dumps(r) + "\n" for r in [header, *lines]))


def test_record_hits_lines_set_the_count_and_an_older_record_reads_as_one_hit(
        tmp_path: Path) -> None:
    one = finding(pid=11).to_dict()
    other = finding("svc.eval", pid=11).to_dict()
    _record_file(tmp_path / "h1-11-a.jsonl", 11, [
        {"type": "finding", "id": 1, "finding": one},
        {"type": "finding", "id": 2, "finding": other},
        {"type": "hits", "id": 1, "hits": 4},
        {"type": "hits", "id": 1, "hits": 9},   # the latest total wins
        {"type": "hits", "id": 7, "hits": 3},   # names no finding read: left out
    ])
    # An older version's record: no ids, no hits lines.
    _record_file(tmp_path / "h1-12-b.jsonl", 12, [
        {"type": "finding", "finding": finding(pid=12).to_dict()}])
    report = load_records(str(tmp_path))
    by_subject = {item.finding.subject: item for item in report.items}
    assert (by_subject["svc.training"].hits, by_subject["svc.training"].count) == (10, 2)
    assert (by_subject["svc.eval"].hits, by_subject["svc.eval"].count) == (1, 1)
    assert not [i for i in report.items if i.finding.kind == "internal"]


def test_a_damaged_hits_line_is_reported_not_dropped(tmp_path: Path) -> None:
    _record_file(tmp_path / "h1-11-a.jsonl", 11, [
        {"type": "finding", "id": 1, "finding": finding(pid=11).to_dict()},
        {"type": "hits", "id": 1, "hits": "many"}])
    report = load_records(str(tmp_path))
    assert [i.finding.code for i in report.items if i.finding.kind == "internal"] == [
        "record-unreadable"]
    assert [i.hits for i in report.items if i.finding.kind == "import"] == [1]
