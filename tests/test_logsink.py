"""Findings as log lines (``IMPORTWALL_LOG``, ``[report] log``): one JSON object a line per
finding, the record's fields, no environment value ever, and a failing sink is a finding,
never a crash."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers import STARTUP_DIR, Result

from importwall.findings import Finding
from importwall.policy import load_policy
from importwall.runtime.logsink import absolute_spec, parse_spec

CANARY = "c4nary51e7d0"
ENVIRONMENT = {
    "WANDB_API_KEY": f"{CANARY}-wandb-key",
    "DATABASE_URL": f"postgresql://svc:{CANARY}@{CANARY}.training.internal:5432/x",
}
POLICY = """\
version = 1
check_at_startup = true

[imports]
deny = [{ module = "svc.training", reason = "training only" }]

[environment]
deny = [{ name = "WANDB_*", reason = "experiment tracking is training-only" }]
deny_hosts = [{ host = "*.internal", reason = "the training network" }]
"""
APP = {
    "svc/__init__.py": "",
    "svc/training.py": "VALUE = 1\n",
    "svc/app.py": """
        def handle():
            import svc.training
            return svc.training.VALUE
        """,
    "app.py": """
        import subprocess, sys
        import svc.app
        subprocess.run([sys.executable, "-c", "import svc.app; svc.app.handle()"])
        try:
            svc.app.handle()
            print("served")
        except ImportError:
            print("refused")
        """,
}


@pytest.fixture
def service(project):
    project.write(APP)
    project.policy(POLICY.replace("check_at_startup = true\n", ""))
    project.policy(POLICY, "gated.toml")
    return project


def _run(service, mode: str, policy: str = "policy.toml",
         args: Sequence[str] = ("app.py",), **env: str) -> Result:
    settings = {"IMPORTWALL_POLICY": str(service.root / policy), "IMPORTWALL_MODE": mode,
                "IMPORTWALL_DATA_DIR": str(service.root / "data"), **env}
    return service.run(list(args), env=settings, pythonpath=[Path(STARTUP_DIR), service.root])


def _log_lines(text: str) -> list[dict]:
    """The lines a pipeline would keep: JSON objects whose logger is importwall."""
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") == "importwall":
                lines.append(record)
    return lines


def _recorded(data: Path) -> list[dict]:
    found = []
    for path in sorted(data.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["type"] == "finding":
                found.append(record["finding"])
    return found


def _key(finding: dict) -> tuple:
    return (finding["pid"], finding["timestamp"], finding["code"], finding["subject"])


@pytest.mark.parametrize("mode", ["enforce", "warn", "audit"])
def test_one_line_per_finding_with_the_fields_of_the_record(service, mode) -> None:
    result = _run(service, mode, IMPORTWALL_LOG="json")
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines()[-1] == ("refused" if mode == "enforce" else "served")
    logged = _log_lines(result.stderr)
    recorded = _recorded(service.root / "data")
    # Two processes (the program and its child), one import finding each.
    assert len({f["pid"] for f in logged}) == 2
    assert sorted(logged, key=_key) == sorted(({"logger": "importwall", **f} for f in recorded),
                                              key=_key)
    assert all(f["subject"] == "svc.training" for f in logged)
    # A pipeline can rebuild the finding from its line.
    assert Finding.from_dict(logged[0]).subject == "svc.training"


@pytest.mark.parametrize("mode", ["enforce", "warn", "audit"])
@pytest.mark.parametrize("sink", ["json", "json:logs/findings.jsonl"])
def test_no_environment_value_in_any_log_line(service, mode, sink) -> None:
    result = _run(service, mode, "gated.toml", IMPORTWALL_LOG=sink, **ENVIRONMENT)
    text = result.output
    if sink != "json":
        text += (service.root / "logs" / "findings.jsonl").read_text()
    logged = _log_lines(text)
    names = {f["subject"] for f in logged}
    assert {"WANDB_API_KEY", "DATABASE_URL"} <= names, result.output  # named...
    assert CANARY not in text  # ...never their values
    if mode == "enforce":  # the gate refused to start the program, and logged why first
        assert result.returncode == 1 and "served" not in result.stdout
    else:
        assert "svc.training" in names


def test_a_log_file_collects_every_process(service) -> None:
    result = _run(service, "audit", IMPORTWALL_LOG="json:logs/findings.jsonl")
    assert result.returncode == 0, result.output
    assert _log_lines(result.stderr) == []  # the file, not standard error
    lines = _log_lines((service.root / "logs" / "findings.jsonl").read_text())
    assert len(lines) == 2 and len({f["pid"] for f in lines}) == 2


def test_the_policy_switch_and_its_override(service) -> None:
    service.policy(POLICY.replace("check_at_startup = true\n", "")
                   + '\n[report]\nlog = "json"\n', "logged.toml")
    on = _run(service, "audit", "logged.toml")
    assert len(_log_lines(on.stderr)) == 2, on.output
    off = _run(service, "audit", "logged.toml", IMPORTWALL_LOG="off")
    assert _log_lines(off.stderr) == [], off.output
    assert "served" in off.stdout


@pytest.mark.parametrize("mode", ["enforce", "audit"])
def test_a_sink_that_cannot_write_is_a_finding_not_a_crash(service, mode) -> None:
    (service.root / "taken").mkdir()  # a folder where the log file should be
    result = _run(service, mode, IMPORTWALL_LOG="json:taken")
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines()[-1] == ("refused" if mode == "enforce" else "served")
    assert "logsink.py" not in result.stderr  # no traceback from the sink (the enforce
    # child's own ForbiddenImportError traceback is the program's)
    assert "importwall: warning: cannot write findings as JSON lines to" in result.stderr
    codes = [f["code"] for f in _recorded(service.root / "data")]
    assert codes.count("log-write-failed") == 2  # once in each process, with its finding
    assert codes.count("import-blocked" if mode == "enforce" else "import-recorded") == 2


def test_a_closed_standard_error_is_a_finding_not_a_crash(service) -> None:
    result = _run(service, "audit", args=("-c", """
import os
os.close(2)
import svc.app
svc.app.handle()
print("served")
"""), IMPORTWALL_LOG="json")
    assert result.returncode == 0 and result.stdout.strip() == "served"
    codes = [f["code"] for f in _recorded(service.root / "data")]
    assert codes == ["import-recorded", "log-write-failed"]


def test_an_unknown_sink_is_recorded_and_the_firewall_still_runs(service) -> None:
    result = _run(service, "enforce", IMPORTWALL_LOG="json,jsno")
    assert result.stdout.splitlines()[-1] == "refused", result.output
    logged = _log_lines(result.stderr)
    assert "IMPORTWALL_LOG names an unknown sink 'jsno'" in logged[0]["message"]
    assert logged[0]["code"] == "log-sink-unavailable"


def test_no_log_sink_loads_nothing_at_start_up(service) -> None:
    probe = ("import sys; print(sorted(m for m in ('json', 'importwall.runtime.logsink', "
             "'importwall.integrations.otel', 'opentelemetry') if m in sys.modules))")
    result = _run(service, "audit", args=("-c", probe), IMPORTWALL_DATA_DIR="")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "[]"
    logged = _run(service, "audit", args=("-c", probe), IMPORTWALL_DATA_DIR="",
                  IMPORTWALL_LOG="json")
    assert logged.stdout.strip() == "['importwall.runtime.logsink', 'json']"


def test_the_log_switch_in_the_policy_is_validated(project) -> None:
    project.policy('version = 1\n[report]\nlog = ["json", "otel", "json"]\n')
    assert load_policy(project.root / "policy.toml").section("report")["log"] == ("json",
                                                                                 "otel")
    project.policy('version = 1\n[report]\nlog = "syslog"\n', "bad.toml")
    with pytest.raises(Exception, match=r"bad.toml:3: report.log: must be one of 'json', "
                                        "'otel', or a list of them"):
        load_policy(project.root / "bad.toml")


def test_the_spec_grammar() -> None:
    assert parse_spec("json, json:/var/log/iw.jsonl,otel,off") == (
        [("json", None), ("json", "/var/log/iw.jsonl"), ("otel", None)], [])
    assert parse_spec("otel:/x")[1] == ["IMPORTWALL_LOG: sink 'otel' takes no destination "
                                        "('otel:/x')"]
    assert absolute_spec("json:rel/f.jsonl,otel").startswith("json:/")
    assert absolute_spec("json,otel") == "json,otel"
