"""What the start-up path leaves out, so that an active firewall starts fast.

Timings belong to benchmarks/ (``python -m benchmarks``); these tests pin the causes the
benchmarks found: modules that the start-up path used to import without needing them.
"""

from __future__ import annotations

import socket
from pathlib import Path

from importwall.findings import Finding, host_name

# Each cost a measurable share of ``python -c pass`` (benchmarks/README.md, start-up).
NOT_ON_THE_STARTUP_PATH = ("socket", "json", "difflib")


def test_active_firewall_starts_without_socket_json_or_difflib(project) -> None:
    project.policy('version = 1\n[imports]\ndeny = ["optuna", "jupyter*"]\n')
    result = project.run(f"""
import sys
import importwall
importwall.activate("policy.toml")
print(sorted(name for name in {NOT_ON_THE_STARTUP_PATH!r} if name in sys.modules))
""")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "[]"


# Loaded on the first denied import (or watched module), not by activation.
JUDGING_CODE = ("importwall.errors", "importwall.findings", "importwall.runtime.chain",
                "importwall.runtime._importlib_bootstrap_guard", "importwall.policy.discovery")


def test_an_activated_firewall_loads_the_judging_code_only_when_it_judges(project) -> None:
    # A policy made in code: one read from source also loads the validator, which uses the
    # findings' vocabulary.
    project.write({"optuna/__init__.py": ""})
    result = project.run(f"""
import sys
from importwall.policy import ImportRules, Policy, Rule
from importwall.runtime.api import activate
rules = ImportRules(deny=(Rule("optuna"), Rule("jupyter*")))
firewall = activate(Policy("policy.toml", ("policy.toml",), imports=rules))
import json, email.message
print(sorted(name for name in {JUDGING_CODE!r} if name in sys.modules), firewall.findings)
try:
    import optuna
except ImportError as error:
    print(type(error).__name__, [f.subject for f in firewall.findings])
print(sorted(name for name in {JUDGING_CODE!r} if name in sys.modules))
""")
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines() == [
        "[] []", "ForbiddenImportError ['optuna']",
        str(sorted(set(JUDGING_CODE) - {"importwall.policy.discovery"}))]


def test_host_name_is_what_socket_reports() -> None:
    assert host_name() == socket.gethostname()
    finding = Finding(kind="import", code="import-recorded", severity="info", subject="x",
                      message="m")
    assert finding.host == socket.gethostname()


def test_record_files_still_written_with_json_loaded_on_demand(project, tmp_path) -> None:
    project.policy('version = 1\nmode = "audit"\n[imports]\ndeny = ["json.tool"]\n')
    data = tmp_path / "data"
    result = project.run(f"""
import sys
import importwall
from importwall.runtime.records import RecordWriter
firewall = importwall.activate("policy.toml")
writer = RecordWriter({str(data)!r})
firewall.add_sink(writer)
import json.tool
print(writer.path)
""")
    assert result.returncode == 0, result.output
    lines = Path(result.stdout.strip()).read_text().splitlines()
    assert '"type": "process"' in lines[0]
    assert '"type": "status"' in lines[1]
    assert '"subject": "json.tool"' in lines[2]
