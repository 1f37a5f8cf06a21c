"""``importwall report --follow``: a live view of a data dir, bounded, stopped by Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import STARTUP_DIR, clean_env, run_python

from importwall.findings import Finding
from importwall.report import follow
from importwall.report.follow import Follower
from importwall.runtime.record_reader import ProcessInfo
from importwall.runtime.records import RecordWriter

POLICY = 'version = 1\n[imports]\ndeny = ["svc.training"]\n'
APP = {"svc/__init__.py": "", "svc/training.py": "VALUE = 1\n",
       "app.py": """
           import subprocess, sys
           subprocess.run([sys.executable, "-c", "import svc.training"])
           import svc.training
           """}


def _finding(subject: str) -> Finding:
    return Finding(kind="import", code="import-recorded", severity="error", subject=subject,
                   message=f"{subject} recorded")


def _follower(data: Path, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "importwall", "report", "--follow", str(data), "--interval",
         "0.1", *options], env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, stdin=subprocess.DEVNULL)


def _wait_for(process: subprocess.Popen[str], text: str, timeout: float = 60) -> None:
    """Read ``process``'s standard error until a line holding ``text``."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if text in line:
            return
        assert line or process.poll() is None, "the follower stopped early"
    raise AssertionError(f"no {text!r} from the follower in {timeout} s")


def _serve(project, data: Path) -> None:
    result = project.run(["app.py"], pythonpath=[Path(STARTUP_DIR), project.root], env={
        "IMPORTWALL_POLICY": str(project.root / "policy.toml"), "IMPORTWALL_MODE": "audit",
        "IMPORTWALL_DATA_DIR": str(data)})
    assert result.returncode == 0, result.output


@pytest.fixture
def service(project):
    project.write(APP)
    project.policy(POLICY)
    return project


def test_new_processes_and_findings_are_shown_as_they_are_written(service) -> None:
    data = service.root / "data"
    old = RecordWriter(str(data), {"mode": "audit"})
    old(_finding("written.before.following"))  # already there: not shown
    follower = _follower(data, "--duration", "30", "--format", "json")
    try:
        _wait_for(follower, "following")
        _serve(service, data)
        lines: list[dict] = []
        assert follower.stdout is not None
        while sum(r["type"] == "finding" for r in lines) < 2:
            lines.append(json.loads(follower.stdout.readline()))
        follower.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = follower.communicate(timeout=30)
    finally:
        follower.kill()
    assert follower.returncode == 1  # two error findings: --fail-on error's verdict
    assert "Traceback" not in err and "2 finding(s) shown, 2 at or above error" in err
    processes = [r for r in lines if r["type"] == "process"]
    findings = [r["finding"] for r in lines if r["type"] == "finding"]
    assert len(processes) == 2 and {p["mode"] for p in processes} == {"audit"}
    assert [f["subject"] for f in findings] == ["svc.training", "svc.training"]
    assert {f["pid"] for f in findings} == {p["pid"] for p in processes}


def test_a_bounded_run_waits_for_the_data_dir_and_stops_by_itself(service) -> None:
    data = service.root / "not-yet"
    started = time.monotonic()
    follower = _follower(data, "--duration", "6", "--fail-on", "warning")
    try:
        _wait_for(follower, "waiting for")
        _serve(service, data)
        out, err = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert 5 < time.monotonic() - started < 50
    assert follower.returncode == 1, err
    rows = out.splitlines()
    assert sum("  process  " in row for row in rows) == 2
    shown = [row for row in rows if "import-recorded  svc.training" in row]
    assert len(shown) == 2 and all(row.split()[1] == "ERROR" for row in shown)


def test_from_start_shows_what_was_there(service, tmp_path: Path) -> None:
    data = tmp_path / "data"
    writer = RecordWriter(str(data), {"mode": "audit"})
    writer(_finding("earlier"))
    result = run_python(["-m", "importwall", "report", "--follow", str(data), "--from-start",
                         "--duration", "0.2", "--interval", "0.1"])
    assert result.returncode == 1, result.output
    assert "ERROR    import-recorded  earlier" in result.stdout


def test_only_whole_lines_are_read_and_a_poll_is_bounded(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    path = data / "vm-1-abc.jsonl"
    line = json.dumps({"type": "finding", "finding": _finding("a").to_dict()}) + "\n"
    follower = Follower(str(data))
    path.write_text(line[:40])  # a process mid-write
    assert follower.poll() == []
    with path.open("a") as handle:
        handle.write(line[40:] + line)
    assert [e.subject for e in follower.poll() if isinstance(e, Finding)] == ["a", "a"]
    monkeypatch.setattr(follow, "MAX_BYTES", 100)
    with path.open("a") as handle:
        handle.write(line.replace('"a"', '"b"'))
    polls = 0
    seen: list[str] = []
    while not seen:
        polls += 1
        seen = [e.subject for e in follower.poll() if isinstance(e, Finding)]
    assert seen == ["b"] and polls == -(-len(line) // 100)
    monkeypatch.setattr(follow, "MAX_BYTES", 1 << 20)
    path.write_text(line.replace('"a"', '"c"'))  # replaced by a shorter file: read it again
    assert [e.subject for e in follower.poll() if isinstance(e, Finding)] == ["c"]


def test_a_damaged_line_is_shown_as_a_finding_with_its_line_number(tmp_path: Path) -> None:
    data = tmp_path / "data"
    writer = RecordWriter(str(data), {"mode": "audit"})
    writer.announce()
    follower = Follower(str(data))
    assert follower.poll() == []
    assert writer.path is not None
    with open(writer.path, "a") as handle:
        handle.write("not json\n")
    (event,) = follower.poll()
    assert isinstance(event, Finding) and event.code == "record-unreadable"
    # line 1: the process header, line 2: its status line
    assert event.message.endswith(":3: not a record (Expecting value: line 1 column 1 (char 0))")


def test_process_records_are_events_too(tmp_path: Path) -> None:
    data = tmp_path / "data"
    follower = Follower(str(data))
    assert follower.poll() == []  # no data dir yet: nothing, no error
    RecordWriter(str(data), {"mode": "warn", "policy": "p.toml"}).announce()
    (event,) = follower.poll()
    assert isinstance(event, ProcessInfo) and (event.mode, event.policy) == ("warn", "p.toml")


@pytest.mark.parametrize("options", [("--format", "html"), ("--output", "x.txt"),
                                     ("--interval", "0")])
def test_follow_refuses_what_it_cannot_do(tmp_path: Path, options) -> None:
    result = run_python(["-m", "importwall", "report", "--follow", str(tmp_path), *options])
    assert result.returncode == 2
    assert result.stderr.startswith("importwall report --follow: "), result.stderr


def test_a_site_hit_again_is_a_hits_event_not_a_new_finding(tmp_path: Path) -> None:
    data = tmp_path / "data"
    writer = RecordWriter(str(data), {"mode": "audit"})
    follower = Follower(str(data), from_start=True)
    seen = _finding("svc.training")
    writer(seen)
    events = follower.poll()
    assert sorted(type(e).__name__ for e in events) == ["Finding", "ProcessInfo"]
    assert [e.hits for e in events if isinstance(e, Finding)] == [1]
    assert writer.hits([(seen, 4)]) and writer.hits([(seen, 9)])
    events = follower.poll()
    assert len(events) == 2  # no new finding, no new process
    assert [(type(e).__name__, e.finding.subject, e.finding.hits) for e in events
            if isinstance(e, follow.Hits)] == [
        ("Hits", "svc.training", 4), ("Hits", "svc.training", 9)]
    result = run_python(["-m", "importwall", "report", "--follow", str(data), "--from-start",
                         "--duration", "0.2", "--interval", "0.1", "--format", "json"])
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["hits"] for r in records if r["type"] == "hits"] == [4, 9]
    assert sum(r["type"] == "finding" for r in records) == 1, records
    text = run_python(["-m", "importwall", "report", "--follow", str(data), "--from-start",
                       "--duration", "0.2", "--interval", "0.1"])
    assert "seen 9 times in this process" in text.stdout, text.output
    assert "1 finding(s) shown" in text.stderr
