"""Faults around the firewall: a data dir that is read-only or full, a policy deleted or
broken under a running service, a hanging nvidia-smi, psutil refusing access, a report file
locked by another process.

What must hold: ``warn`` and ``audit`` never break the host program; ``enforce`` fails closed
with one readable paragraph; nothing already recorded is lost or corrupted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import STARTUP_DIR, clean_env

from importwall.report import load_records, record_files

STARTUP = STARTUP_DIR
MODULES = 40
POLICY = """\
version = 1

[imports]
deny = [{ module = "trainer", reason = "training only" },
        { module = "trainer_*", reason = "training only" }]
"""
# trainer and MODULES more denied modules, one finding each from one import site (denied
# submodules of trainer would be one finding there: enforce stops at trainer).
PACKAGES = {
    "trainer/__init__.py": "",
    **{f"trainer_m{i}.py": "" for i in range(MODULES)},
    "burst.py": f"""
        import importlib
        import importwall
        for name in ["trainer"] + [f"trainer_m{{index}}" for index in range({MODULES})]:
            try:
                importlib.import_module(name)
            except importwall.ForbiddenImportError:
                pass
        print("DONE", sorted(f.code for f in importwall.active().findings
                               if f.kind == "internal"))
        """,
}


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A tiny tmpfs mounted at ``path`` (root only), unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'not root'})")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def started(project, mode: str, data_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment that starts the firewall in a fresh interpreter, as a server would."""
    env = {"IMPORTWALL_POLICY": str(project.root / "policy.toml"), "IMPORTWALL_MODE": mode,
           **extra}
    if data_dir is not None:
        env["IMPORTWALL_DATA_DIR"] = str(data_dir)
    return env


LOST = "importwall: record-write-failed:"
FIRST_LOSS = re.compile(r"importwall: record-write-failed: cannot write to the data dir '(.+)' "
                        r"\((.+)\); (\d+) finding\(s\) written so far, (\d+) not; this "
                        r"process \(pid (\d+)\)")
FINAL_LOSS = re.compile(r"importwall: record-write-failed: (\d+) of (\d+) findings of this "
                        r"process \(pid (\d+)\) were not written to the data dir '(.+)'; a "
                        "report of that dir is incomplete")
ALL_FINDINGS = MODULES + 2  # trainer, its submodules, and the record-write-failed finding


def importwall_run(project, data: Path, *command: str, mode: str = "audit"):
    return project.run(["-m", "importwall", "run", "--policy", "policy.toml", "--mode", mode,
                        "--data-dir", str(data), "--", sys.executable, *command])


def report_of(project, data: Path):
    return project.run(["-m", "importwall", "report", "--data", str(data), "--format",
                        "json", "--output", "-"])


def incomplete(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["code"] == "records-incomplete"]


@pytest.mark.parametrize("mode", ["audit", "warn"])
def test_a_full_data_dir_keeps_whole_records_and_the_program_running(project, mode) -> None:
    project.write(PACKAGES)
    project.policy(POLICY)
    with tmpfs(project.root / "full", "size=8k") as data:
        result = project.run(["burst.py"], env=started(project, mode, data),
                             pythonpath=[project.root, STARTUP])
        assert result.returncode == 0, result.output
        assert "DONE ['record-write-failed']" in result.stdout
        files = record_files(str(data))
        assert len(files) == 1
        lines = Path(files[0]).read_bytes().split(b"\n")
        assert lines[-1] == b"", "the last record was cut in the middle"
        report = load_records(str(data))
    codes = [item.finding.code for item in report.items]
    assert "record-unreadable" not in codes, "a record was unreadable"
    # The write failure itself is recorded too when it still fits on the disk (how full
    # the last page is depends on the lengths of the paths in the records), and the report
    # says the process is incomplete.
    subjects = [item.finding.subject for item in report.items
                if item.finding.code not in ("record-write-failed", "records-incomplete")]
    # The disk filled part-way: whatever is on it is whole and in order.
    imported = ["trainer"] + [f"trainer_m{i}" for i in range(MODULES)]
    assert 0 < len(subjects) < len(imported)
    assert sorted(subjects) == sorted(imported[:len(subjects)])


def test_a_full_data_dir_is_reported_on_stderr_in_the_exit_status_and_in_the_report(
        project) -> None:
    """The disk fills part-way: one line on stderr when it happens, one at exit with the
    final count, exit status 3 from `importwall run`, and the report marks the process
    incomplete with the same count (its status line was reserved at start)."""
    project.write(PACKAGES)
    project.policy(POLICY)
    with tmpfs(project.root / "full", "size=8k") as data:
        result = importwall_run(project, data, "burst.py")
        assert result.returncode == 3, result.output
        first = FIRST_LOSS.findall(result.stderr)
        final = FINAL_LOSS.findall(result.stderr)
        report = report_of(project, data)
    assert len(first) == 1 and len(final) == 1, result.stderr
    assert result.stderr.count(LOST) == 2, result.stderr
    where, error, written, unwritten, pid = first[0]
    assert where == str(data) and "No space left on device" in error
    assert int(written) > 0 and int(unwritten) == 1
    lost, total, final_pid, final_where = final[0]
    assert (int(total), final_pid, final_where) == (ALL_FINDINGS, pid, str(data))
    assert int(written) <= ALL_FINDINGS - int(lost)
    assert "importwall run: 1 process(es) could not write all their findings" in result.stderr
    assert f"{lost} finding(s) not written" in result.stderr
    assert report.returncode == 3, report.output
    document = json.loads(report.stdout)
    (process,) = document["processes"]
    assert process["pid"] == int(pid) and process["unwritten"] == int(lost)
    (marked,) = incomplete(document)
    assert marked["severity"] == "error"
    assert f"could not write {lost} of its findings" in marked["message"]
    assert "No space left on device" in marked["message"]
    on_disk = [f for f in document["findings"] if f["kind"] == "import"]
    assert len(on_disk) == ALL_FINDINGS - int(lost)  # the lost ones include the internal one


def test_a_data_dir_full_before_the_process_starts_still_leaves_a_trace(project) -> None:
    """No room even for the header: the empty record file is the trace, and the report
    says the process could not write its findings."""
    project.write(PACKAGES)
    project.policy(POLICY)
    with tmpfs(project.root / "full", "size=4k") as data:
        filler = data / "filler"
        with contextlib.suppress(OSError), open(filler, "wb") as handle:
            handle.write(b"x" * 64 * 1024)
        result = importwall_run(project, data, "burst.py")
        report = report_of(project, data)
    assert result.returncode == 3, result.output
    assert result.stderr.count(LOST) == 2, result.stderr
    assert "could not write a record file at all" in result.stderr
    assert report.returncode == 3, report.output
    (marked,) = incomplete(json.loads(report.stdout))
    assert "the file is empty" in marked["message"]


@pytest.mark.parametrize("mode", ["audit", "warn"])
def test_a_read_only_data_dir_never_breaks_the_program(project, mode) -> None:
    project.write(PACKAGES)
    project.policy(POLICY)
    with tmpfs(project.root / "ro", "ro,size=8k") as data:
        result = project.run(["burst.py"], env=started(project, mode, data),
                             pythonpath=[project.root, STARTUP])
        assert record_files(str(data)) == []
    assert result.returncode == 0, result.output
    assert "DONE ['record-write-failed']" in result.stdout
    assert "Traceback" not in result.stderr
    # Said once when it happened, and again at exit with the final count.
    assert FIRST_LOSS.findall(result.stderr)[0][3] == "0", result.stderr
    assert FINAL_LOSS.findall(result.stderr)[0][:2] == (str(ALL_FINDINGS),) * 2
    assert result.stderr.count(LOST) == 2


def test_a_read_only_data_dir_fails_importwall_run_and_audit_in_audit_mode(project) -> None:
    project.write(PACKAGES)
    project.policy(POLICY)
    with tmpfs(project.root / "ro", "ro,size=8k") as data:
        run = importwall_run(project, data, "burst.py")
        enforced = importwall_run(project, data, "-c", "pass", mode="warn")
        report = project.run(["-m", "importwall", "report", "--data", str(data)])
    assert run.returncode == 3, run.output
    assert f"{ALL_FINDINGS} finding(s) not written, and 1 of them could not write a record " \
           "file at all" in run.stderr
    # Outside audit mode `importwall run` execs CMD: the loss is on stderr only.
    assert enforced.returncode == 0 and enforced.stderr.count(LOST) == 2, enforced.output
    # Nothing could be written there, so the report has nothing to mark.
    assert report.returncode == 0 and "no record files" in report.stderr


def test_importwall_audit_exits_3_when_its_records_are_lost(project) -> None:
    """The audit's own data dir (a temporary folder) on a full disk."""
    project.write(PACKAGES)
    project.policy(POLICY)
    with tmpfs(project.root / "tmp", "size=8k") as tmp:
        result = project.run(["-m", "importwall", "audit", "--policy", "policy.toml",
                              "--format", "json", "--output", "-", "--", sys.executable,
                              "burst.py"], env={"TMPDIR": str(tmp)})
    assert result.returncode == 3, result.output
    report = json.loads(result.stdout[result.stdout.index("{"):])
    (marked,) = incomplete(report)
    assert "this report is incomplete" in marked["message"]


def test_a_data_dir_deleted_under_a_running_process_is_reported(project) -> None:
    project.write({**PACKAGES, "vanish.py": """
        import importlib, os, shutil
        importlib.import_module("trainer")
        for index in range(5):
            importlib.import_module(f"trainer_m{index}")
        shutil.rmtree(os.environ["IMPORTWALL_DATA_DIR"])
        for index in range(5, 8):
            importlib.import_module(f"trainer_m{index}")
        """})
    project.policy(POLICY)
    data = project.root / "data"
    result = importwall_run(project, data, "vanish.py")
    report = report_of(project, data)
    assert result.returncode == 3, result.output
    # trainer and trainer_m0-4 were in the deleted file; trainer_m5, written to it just
    # after, is written again to a new one.
    assert "was deleted (its data dir removed?): the 6 finding(s) written to it are lost" \
        in result.stderr
    assert FINAL_LOSS.findall(result.stderr)[0][:2] == ("6", "10"), result.stderr
    assert report.returncode == 3, report.output
    document = json.loads(report.stdout)
    assert document["processes"][0]["unwritten"] == 6
    subjects = sorted(f["subject"] for f in document["findings"] if f["kind"] == "import")
    assert subjects == ["trainer_m5", "trainer_m6", "trainer_m7"]


def test_a_read_only_data_dir_still_blocks_in_enforce_mode(project) -> None:
    project.write(PACKAGES)
    project.policy(POLICY)
    with tmpfs(project.root / "ro", "ro,size=8k") as data:
        result = project.run("import trainer.m1", env=started(project, "enforce", data),
                             pythonpath=[project.root, STARTUP])
    assert result.returncode == 1
    assert "ForbiddenImportError: importwall: import of 'trainer' is forbidden" in result.stderr
    assert not re.search(r"^\w*(OSError|Error: \[Errno)", result.stderr, re.M), result.stderr
    assert result.stderr.count(LOST) == 2, result.stderr


@pytest.mark.parametrize("mode", ["audit", "warn", "enforce"])
def test_a_policy_deleted_under_a_running_service(project, mode) -> None:
    """The running process keeps the policy it loaded; a child started afterwards cannot
    load it: enforce refuses to start the child, warn and audit let it run."""
    project.write(PACKAGES)
    project.policy(POLICY)
    result = project.run("""
        import os, subprocess, sys, importwall
        os.remove(os.environ["IMPORTWALL_POLICY"])
        child = subprocess.run([sys.executable, "-c", "print('CHILD RAN')"])
        print("CHILD EXIT", child.returncode, flush=True)
        try:
            import trainer
        except importwall.ForbiddenImportError:
            print("PARENT BLOCKED")
        print("PARENT FINDINGS", [f.code for f in importwall.active().findings])
        """, env=started(project, mode), pythonpath=[project.root, STARTUP])
    assert result.returncode == 0, result.output
    policy = project.root / "policy.toml"
    if mode == "enforce":
        assert "CHILD EXIT 2" in result.stdout and "CHILD RAN" not in result.stdout
        assert "PARENT BLOCKED" in result.stdout
        assert f"refusing to start '-c': the firewall could not be activated from " \
               f"IMPORTWALL_POLICY={str(policy)!r} in enforce mode." in result.stderr
        assert "no such file or shipped pack" in result.stderr
    else:
        assert "CHILD RAN" in result.stdout and "CHILD EXIT 0" in result.stdout
        assert f"PARENT FINDINGS ['import-{'warned' if mode == 'warn' else 'recorded'}']" \
            in result.stdout
        assert "importwall: warning: firewall not active" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", ["audit", "warn", "enforce"])
def test_a_malformed_policy_at_start_up(project, mode) -> None:
    project.policy("version = 1\n[imports]\ndeny = [{ module = 3 }]\nmode = [\n")
    result = project.run("print('PROGRAM RAN')", env=started(project, mode),
                         pythonpath=[project.root, STARTUP])
    assert "Traceback" not in result.stderr
    assert "policy.toml:" in result.stderr
    if mode == "enforce":
        assert result.returncode == 2 and "PROGRAM RAN" not in result.stdout
        assert "`importwall check POLICY` lists every problem" in result.stderr
    else:
        assert result.returncode == 0 and "PROGRAM RAN" in result.stdout
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("mode", ["audit", "warn", "enforce"])
def test_a_hanging_nvidia_smi_does_not_hold_up_start_up(project, mode) -> None:
    bin_dir = project.root / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\nsleep 60\n")
    smi.chmod(0o755)
    project.policy("check_at_startup = true\n" + POLICY
                   + '\n[gpu]\ndeny_models = ["A100"]\nnvidia_smi_timeout = 0.5\n')
    result = project.run(
        "import importwall; print('STARTED', [f.code for f in importwall.active().findings])",
        env=started(project, mode, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}"),
        pythonpath=[project.root, STARTUP], timeout=30)
    assert result.returncode == 0, result.output
    assert "STARTED" in result.stdout
    assert "Traceback" not in result.stderr


def test_psutil_access_denied_is_a_note_not_a_crash(project) -> None:
    project.policy(POLICY + '\n[resources]\nmax_cpus = 1024\ndeny_networks = ["10.0.0.0/8"]\n')
    result = project.run("""
        import psutil, importwall

        def denied(*args, **kwargs):
            raise psutil.AccessDenied(pid=1, name="init")

        psutil.Process.net_connections = denied
        psutil.Process.connections = denied
        psutil.virtual_memory = denied
        findings = importwall.check_environment("policy.toml")
        for finding in findings:
            print(finding.kind, finding.code, finding.message)
        """)
    assert result.returncode == 0, result.output
    assert "internal" in result.stdout and "AccessDenied" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_report_file_locked_by_another_process_is_still_written_whole(project) -> None:
    project.write(PACKAGES)
    project.policy(POLICY)
    data = project.root / "data"
    burst = project.run(["burst.py"], env=started(project, "audit", data),
                        pythonpath=[project.root, STARTUP])
    assert burst.returncode == 0, burst.output
    output = project.root / "report.json"
    output.write_text("previous report\n")
    holder = subprocess.Popen(
        [sys.executable, "-c", f"""
import fcntl, sys
handle = open({str(output)!r}, "r+")
fcntl.flock(handle, fcntl.LOCK_EX)
fcntl.lockf(handle, fcntl.LOCK_EX)
print("LOCKED", flush=True)
sys.stdin.read()
print(handle.read(), end="")
"""], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=clean_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "LOCKED\n"
        result = project.run(["-m", "importwall", "report", "--data", str(data),
                              "--format", "json", "--output", str(output)])
    finally:
        seen_by_holder, _ = holder.communicate("", timeout=30)
    assert result.returncode in (0, 1), result.output
    report = json.loads(output.read_text())
    assert len(report["findings"]) == MODULES + 1
    # The holder kept reading the file it had open: never half of the new one.
    assert seen_by_holder == "previous report\n"
