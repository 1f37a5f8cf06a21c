"""Per-process record files: written as findings happen, one file per process, none lost."""

from __future__ import annotations

import builtins
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import STARTUP_DIR, clean_env

from importwall.findings import Finding, Frame
from importwall.report import load_records, record_files
from importwall.runtime.records import RecordWriter

POLICY = """
version = 1
[imports]
deny = [{ module = "trainer", reason = "training only" }]
"""

TRAINER = {"trainer.py": "VALUE = 1\n", "app.py": "import trainer\n"}


def _finding(subject: str = "trainer", pid: int | None = None) -> Finding:
    finding = Finding(kind="import", code="import-recorded", severity="error",
                      subject=subject, message=f"import of {subject!r} recorded",
                      rule=f"deny {subject!r}", chain=(Frame("app", "/srv/app.py", 1),))
    return finding if pid is None else dataclasses.replace(finding, pid=pid)


def _lines(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_writer_appends_a_process_record_then_each_finding(tmp_path: Path) -> None:
    writer = RecordWriter(str(tmp_path / "data"), {"policy": "/p.toml", "mode": "audit"})
    writer(_finding("a"))
    writer(_finding("b"))
    assert writer.path is not None
    assert os.path.basename(writer.path).startswith(f"{os.uname().nodename}-{os.getpid()}-")
    header, status, first, second = _lines(writer.path)
    assert header["type"] == "process" and header["pid"] == os.getpid()
    assert status == {"type": "status", "unwritten": 0}
    assert header["policy"] == "/p.toml" and header["mode"] == "audit"
    assert [first["finding"]["subject"], second["finding"]["subject"]] == ["a", "b"]
    writer.close()


def test_writer_does_not_use_builtins_open(tmp_path: Path, monkeypatch) -> None:
    def broken_open(*args, **kwargs):
        raise AssertionError("the program under test mocked open()")

    monkeypatch.setattr(builtins, "open", broken_open)
    writer = RecordWriter(str(tmp_path))
    assert writer.write({"type": "finding", "finding": _finding().to_dict()})
    monkeypatch.undo()
    assert len(_lines(writer.path or "")) == 3


def test_a_write_failure_becomes_one_internal_finding(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    errors: list[Finding] = []
    writer = RecordWriter(str(blocker / "data"), on_error=errors.append)
    writer(_finding("a"))
    writer(_finding("b"))
    assert [e.code for e in errors] == ["record-write-failed"]
    assert errors[0].kind == "internal" and str(blocker) in errors[0].message
    assert (writer.written, writer.unwritten) == (0, 2)
    writer.close()


def test_the_status_line_is_rewritten_in_place_with_the_count_not_written(
        tmp_path: Path, monkeypatch) -> None:
    """The disk fills after start: the status line reserved with the header takes the
    count, without growing the file; the reader marks the process incomplete."""
    import importwall.runtime.records as records

    writer = RecordWriter(str(tmp_path), {"mode": "audit"})
    writer(_finding("a"))
    size = os.path.getsize(writer.path or "")

    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(records, "_write", full)
    writer(_finding("b"))
    writer(_finding("c"))
    monkeypatch.undo()
    assert (writer.written, writer.unwritten) == (1, 2)
    assert os.path.getsize(writer.path or "") == size
    status = _lines(writer.path or "")[1]
    assert status["unwritten"] == 2 and "No space left on device" in status["error"]
    raw = Path(writer.path or "").read_bytes().split(b"\n")[1]
    assert len(raw) + 1 == records.STATUS_WIDTH
    report = load_records(str(tmp_path))
    assert report.processes[0].unwritten == 2
    assert [i.finding.code for i in report.items if i.finding.kind == "internal"] == [
        "records-incomplete"]
    writer.close()


def test_a_forked_child_counts_its_own_losses(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    writer = RecordWriter(str(blocker / "data"))
    writer(_finding("parent"))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        writer(_finding("child"))
        writer(_finding("child"))
        os.write(write, f"{writer.written} {writer.unwritten}".encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 100) == b"0 2"
    assert writer.unwritten == 1
    writer.close()


def test_a_forked_child_writes_a_file_of_its_own(tmp_path: Path) -> None:
    writer = RecordWriter(str(tmp_path))
    writer(_finding("parent"))
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        writer(_finding("child"))
        os._exit(0)
    os.waitpid(pid, 0)
    files = record_files(str(tmp_path))
    assert len(files) == 2
    subjects = {line["finding"]["subject"] for path in files for line in _lines(path)
                if line["type"] == "finding"}
    assert subjects == {"parent", "child"}


def test_activate_writes_records_to_the_data_dir(project) -> None:
    project.write(TRAINER)
    policy = project.policy(POLICY)
    data = project.root / "data"
    result = project.run("import app", env={"IMPORTWALL_POLICY": str(policy),
                                            "IMPORTWALL_MODE": "audit",
                                            "IMPORTWALL_DATA_DIR": str(data)},
                         pythonpath=[project.root, STARTUP_DIR])
    assert result.returncode == 0, result.output
    report = load_records(str(data))
    assert [item.finding.subject for item in report.items] == ["trainer"]
    assert report.items[0].finding.chain[-1].module == "app"
    assert report.processes[0].mode == "audit"


def test_policy_report_data_dir_is_used_relative_to_the_policy(project) -> None:
    project.write(TRAINER)
    policy = project.policy(POLICY + '[report]\ndata_dir = "records"\n')
    result = project.run("import app", env={"IMPORTWALL_POLICY": str(policy),
                                            "IMPORTWALL_MODE": "warn"},
                         pythonpath=[project.root, STARTUP_DIR])
    assert result.returncode == 0, result.output
    assert len(record_files(str(project.root / "records"))) == 1


def test_enforce_mode_exit_loses_nothing(project) -> None:
    """The blocked import kills the program; its finding is already on disk."""
    project.write(TRAINER)
    policy = project.policy(POLICY)
    data = project.root / "data"
    result = project.run("import app", env={"IMPORTWALL_POLICY": str(policy),
                                            "IMPORTWALL_MODE": "enforce",
                                            "IMPORTWALL_DATA_DIR": str(data)},
                         pythonpath=[project.root, STARTUP_DIR])
    assert result.returncode == 1 and "ForbiddenImportError" in result.stderr
    report = load_records(str(data))
    assert [(i.finding.subject, i.finding.action) for i in report.items] == [
        ("trainer", "blocked")]


def test_an_unwritable_data_dir_never_breaks_the_program(project) -> None:
    project.write(TRAINER)
    policy = project.policy(POLICY)
    blocker = project.root / "blocker"
    blocker.write_text("")
    result = project.run(
        "import app, importwall; "
        "print([f.code for f in importwall.active().findings])",
        env={"IMPORTWALL_POLICY": str(policy), "IMPORTWALL_MODE": "warn",
             "IMPORTWALL_DATA_DIR": str(blocker / "data")},
        pythonpath=[project.root, STARTUP_DIR])
    assert result.returncode == 0, result.output
    # Found when the firewall starts and announces the process, before any import.
    assert "['record-write-failed', 'import-warned']" in result.stdout


def test_a_process_with_nothing_to_report_still_leaves_its_record(project) -> None:
    """The firewall announces each process it starts in: an audit tells a clean process
    from one in which the firewall never ran."""
    project.write(TRAINER)
    policy = project.policy(POLICY)
    data = project.root / "data"
    result = project.run("import sys", env={"IMPORTWALL_POLICY": str(policy),
                                            "IMPORTWALL_MODE": "audit",
                                            "IMPORTWALL_DATA_DIR": str(data)},
                         pythonpath=[project.root, STARTUP_DIR])
    assert result.returncode == 0, result.output
    report = load_records(str(data))
    assert not report.items
    (process,) = report.processes
    assert (process.mode, process.policy) == ("audit", str(policy))


def test_announce_writes_the_process_record_once(tmp_path: Path) -> None:
    writer = RecordWriter(str(tmp_path / "data"), {"mode": "warn"})
    assert writer.announce() and writer.announce()
    writer(_finding())
    assert [line["type"] for line in _lines(writer.path or "")] == [
        "process", "status", "finding"]


@pytest.mark.parametrize("processes", [50])
def test_many_processes_writing_at_once_lose_nothing(project, processes: int) -> None:
    """50 interpreters start together, each recording 20 findings as fast as it can."""
    # 21 import sites: one finding each (a loop at one site would be one finding, for the
    # package, as enforce blocks it there).
    sites = "".join(f"importlib.import_module('trainer.m{i}')\n" for i in range(20))
    project.write({"burst.py": "import importlib\nimport trainer\n" + sites,
                   "trainer/__init__.py": "", **{f"trainer/m{i}.py": "" for i in range(20)}})
    policy = project.policy(POLICY)
    data = project.root / "data"
    env = clean_env({"IMPORTWALL_POLICY": str(policy), "IMPORTWALL_MODE": "audit",
                     "IMPORTWALL_DATA_DIR": str(data)},
                    [project.root, STARTUP_DIR])
    children = [subprocess.Popen([sys.executable, "burst.py"], cwd=project.root, env=env,
                                 stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
                for _ in range(processes)]
    pids = set()
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()
        pids.add(child.pid)
    files = record_files(str(data))
    assert len(files) == processes
    report = load_records(str(data))
    assert not [i for i in report.items if i.finding.kind == "internal"]
    assert {p.pid for p in report.processes} == pids
    lines = sum(len(Path(path).read_text().splitlines()) for path in files)
    # a process record, a status record, trainer and its 20 submodules
    assert lines == processes * (2 + 21)
    assert all(p.unwritten == 0 for p in report.processes)
    assert len(report.items) == 21  # the same imports, de-duplicated across processes
    for item in report.items:
        assert item.count == processes and set(item.pids) == pids


def test_hits_lines_name_findings_by_their_id_in_the_file(tmp_path) -> None:
    from importwall.findings import Finding
    from importwall.runtime.record_reader import read_record_file

    writer = RecordWriter(str(tmp_path))
    first, second, unwritten = (Finding(kind="import", code="import-recorded", severity="error",
                                        subject=name, message=name)
                                for name in ("a", "b", "c"))
    writer(first)
    writer(second)
    assert writer.hits([(second, 3), (unwritten, 5)])  # c was never written: left out
    assert writer.hits([(first, 2), (second, 4)])
    assert writer.path is not None
    lines = [json.loads(line) for line in Path(writer.path).read_text().splitlines()]
    writer.close()
    assert [(r["type"], r.get("id"), r.get("hits")) for r in lines[2:]] == [
        ("finding", 1, None), ("finding", 2, None), ("hits", 2, 3), ("hits", 1, 2),
        ("hits", 2, 4)]
    findings: list = []
    read_record_file(writer.path, findings, [])
    assert [(f.subject, f.hits) for f in findings] == [("a", 2), ("b", 4)]
