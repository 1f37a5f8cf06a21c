"""``importwall audit``: environment gate, installed distributions, entry points imported
in fresh interpreters, commands run under the firewall; one report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest
from helpers import write_files

import importwall
import importwall.envcheck
from importwall import audit as audit_module
from importwall import exitcodes
from importwall.cli import main as cli
from importwall.findings import Finding
from importwall.report import schema_path
from importwall.runtime.propagate import child_environment

POLICY = """
version = 1
mode = "enforce"
[imports]
deny = [
    { module = "svc.training", reason = "training only" },
    { module = "optuna" },
]
"""

SERVICE = {
    "svc/__init__.py": "",
    "svc/training.py": "def fit():\n    return 1\n",
    "svc/app.py": """
        import svc.helpers

        def handler():
            return svc.helpers.VALUE
    """,
    "svc/helpers.py": "from svc.training import fit\nVALUE = fit()\n",
    "svc/clean.py": "VALUE = 2\n",
    "workers.py": """
        import multiprocessing, sys

        def work():
            import svc.training

        if __name__ == "__main__":
            print("worker output")
            context = multiprocessing.get_context("spawn")
            workers = [context.Process(target=work) for _ in range(2)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    """,
}


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("IMPORTWALL_POLICY", "IMPORTWALL_MODE", "IMPORTWALL_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    write_files(tmp_path, {**SERVICE, "importwall.toml": POLICY})
    monkeypatch.chdir(tmp_path)
    return tmp_path


def audit(capsys, *argv: str) -> tuple[int, dict, str]:
    status = cli.main(["audit", "--format", "json", *argv])
    out, err = capsys.readouterr()
    return status, json.loads(out), err


def test_an_entrypoint_import_is_audited_in_a_fresh_interpreter(service, capsys) -> None:
    status, report, _ = audit(capsys, "--entrypoint", "svc.app:handler")
    assert status == exitcodes.FINDINGS
    jsonschema.validate(report, json.loads(Path(schema_path()).read_text()))
    (finding,) = report["findings"]
    assert finding["subject"] == "svc.training" and finding["action"] == "recorded"
    assert [(f["module"], f["line"]) for f in finding["chain"]] == [("svc.app", 1),
                                                                     ("svc.helpers", 1)]
    assert report["metadata"]["entrypoints"] == ["svc.app:handler"]
    assert report["rules"] == ["deny 'optuna'", "deny 'svc.training'"]
    assert report["summary"]["processes"] == 1


def test_a_clean_entrypoint_exits_clean(service, capsys) -> None:
    status, report, _ = audit(capsys, "-e", "svc.clean", "-e", "svc.clean:VALUE")
    assert status == exitcodes.CLEAN and report["findings"] == []


def test_an_entrypoint_that_cannot_be_imported_is_an_error_finding(service, capsys) -> None:
    status, report, err = audit(capsys, "-e", "svc.clean:missing_attribute")
    assert status == exitcodes.FINDINGS
    (finding,) = report["findings"]
    assert finding["code"] == "audit-target-failed"
    assert "svc.clean:missing_attribute could not be imported" in finding["message"]
    # The traceback goes to the user's terminal, never into the report.
    assert "AttributeError" in err and "missing_attribute" in err
    assert "Traceback" not in json.dumps(report)


def test_a_command_and_its_worker_processes_are_audited(service, capsys) -> None:
    status, report, err = audit(capsys, "--", "python", "workers.py")
    assert status == exitcodes.FINDINGS, (report, err)
    assert "worker output" in err  # the command's output stays off the report's stdout
    (finding,) = report["findings"]
    assert finding["subject"] == "svc.training" and finding["count"] == 2
    assert len(finding["pids"]) == 2  # the two pool workers, counted once, pids listed
    assert report["metadata"]["command"] == "python"


def test_a_failing_command_is_reported(service, capsys) -> None:
    status, report, _ = audit(capsys, "--fail-on", "error", "--", "python", "workers.py", "3")
    assert status == exitcodes.FINDINGS
    codes = {f["code"] for f in report["findings"]}
    assert "audit-target-failed" in codes


def test_a_command_in_which_the_firewall_never_started_is_not_clean(service, capsys) -> None:
    """``python -E`` ignores IMPORTWALL_* and PYTHONPATH: the leak below goes unseen, so
    the audit must say the firewall never ran rather than report no findings."""
    status, report, err = audit(capsys, "--", sys.executable, "-E", "-c",
                                "import svc.training")
    assert status == exitcodes.FINDINGS, (report, err)
    (finding,) = report["findings"]
    assert (finding["code"], finding["severity"]) == ("audit-no-process", "error")
    assert "no Python process ran under the firewall" in finding["message"]
    assert "-E" in finding["message"]
    assert report["summary"]["processes"] == 0


def test_a_command_that_runs_no_python_is_not_clean(service, capsys) -> None:
    status, report, _ = audit(capsys, "--", "true")
    assert status == exitcodes.FINDINGS
    assert [f["code"] for f in report["findings"]] == ["audit-no-process"]


def test_a_clean_command_is_seen_to_have_run(service, capsys) -> None:
    status, report, _ = audit(capsys, "--", "python", "-c", "import svc.clean")
    assert status == exitcodes.CLEAN, report
    assert report["findings"] == [] and report["summary"]["processes"] == 1


def test_an_entrypoint_whose_firewall_cannot_start_is_not_clean(service, capsys,
                                                                 monkeypatch) -> None:
    def without_policy(*args, **kwargs):  # the probe's start-up then has nothing to do
        env = child_environment(*args, **kwargs)
        del env["IMPORTWALL_POLICY"]
        return env

    monkeypatch.setattr(audit_module, "child_environment", without_policy)
    status, report, err = audit(capsys, "-e", "svc.clean")
    assert status == exitcodes.FINDINGS, (report, err)
    assert "audit-no-process" in {f["code"] for f in report["findings"]}


def test_installed_denied_distributions_are_found(service, capsys) -> None:
    (service / "importwall.toml").write_text(
        POLICY + '[distributions]\ndeny = [{ distribution = "Rich_Argparse*", '
                 'severity = "warning", reason = "no terminal UI in serving" }]\n')
    status, report, _ = audit(capsys)
    assert status == exitcodes.CLEAN  # a warning, and --fail-on defaults to error
    (finding,) = report["findings"]  # from the environment gate, or this step without one
    assert (finding["kind"], finding["code"]) == ("distribution", "distribution-installed")
    assert finding["subject"] == "rich-argparse" and finding["severity"] == "warning"
    assert finding["reason"] == "no terminal UI in serving"
    assert cli.main(["audit", "--fail-on", "warning", "-o", "r.txt"]) == exitcodes.FINDINGS


@pytest.mark.parametrize("written", ["junitparser", "JunitParser"])
def test_installed_import_denied_distributions_are_noted(service, capsys, written) -> None:
    (service / "importwall.toml").write_text(POLICY.replace(
        "[imports]", f'[imports]\ndeny_distributions = ["{written}", "junit*"]'))
    status, report, _ = audit(capsys, "--fail-on", "warning")
    assert status == exitcodes.CLEAN
    (finding,) = report["findings"]  # one note, however many rules match it
    assert finding["code"] == "distribution-installed-import-denied"
    assert finding["severity"] == "info" and finding["subject"] == "junitparser"
    assert finding["rule"] == f"deny_distributions {written!r}"  # named as written
    assert finding["rule"] in report["rules"]


def test_the_environment_gate_plugs_in_with_one_call(service, capsys, monkeypatch) -> None:
    seen = []

    def check_environment(policy, **probes):
        seen.append(policy.path)
        return [Finding(kind="environment", code="env-denied-variable", severity="error",
                        subject="WANDB_API_KEY", message="WANDB_API_KEY is set")]

    monkeypatch.setattr(importwall.envcheck, "check_environment", check_environment)
    status, report, _ = audit(capsys)
    assert seen == [str(service / "importwall.toml")]
    assert status == exitcodes.FINDINGS
    assert [f["subject"] for f in report["findings"]] == ["WANDB_API_KEY"]
    assert report["metadata"]["environment"] == "checked"


def test_a_broken_step_is_an_internal_finding_not_a_crash(service, capsys,
                                                          monkeypatch) -> None:
    def check_environment(policy, **probes):
        raise OSError("no /proc here")

    monkeypatch.setattr(importwall.envcheck, "check_environment", check_environment)
    status, report, _ = audit(capsys, "-e", "svc.app")
    assert status == exitcodes.FINDINGS
    subjects = [(f["kind"], f["subject"]) for f in report["findings"]]
    assert ("import", "svc.training") in subjects and ("internal", "importwall") in subjects
    internal = next(f for f in report["findings"] if f["kind"] == "internal")
    assert "'environment' failed: OSError: no /proc here" in internal["message"]


@pytest.mark.parametrize(("argv", "message"), [
    (["-e", "svc/app.py"], "is not MOD[:ATTR]"),
    (["-e", "svc.app", "--", "python", "x.py"], "not both"),
    (["--", "no-such-program-x"], "command not found: 'no-such-program-x'"),
    (["--format", "pdf"], "unknown report format 'pdf'"),
    (["--policy", "missing.toml"], "no such file or shipped pack"),
])
def test_audit_usage_errors(service, capsys, argv: list[str], message: str) -> None:
    status = cli.main(["audit", *argv])
    err = capsys.readouterr().err
    assert status == exitcodes.USAGE and message in err, err


def test_startup_environment_findings_are_recorded_and_values_never_leave(
        service, capsys, monkeypatch) -> None:
    """The gate runs in the audit and, with check_at_startup, in the command's process:
    one finding, both pids, and the variable's value in no report format."""
    (service / "importwall.toml").write_text(
        POLICY.replace('mode = "enforce"\n', 'mode = "enforce"\ncheck_at_startup = true\n')
        + '[environment]\ndeny = [{ name = "TRAINING_*", severity = "warning" }]\n')
    monkeypatch.setenv("TRAINING_WAREHOUSE_TOKEN", "s3cr3t-value")
    status, report, _ = audit(capsys, "--", "python", "-c", "pass")
    assert status == exitcodes.CLEAN
    (finding,) = report["findings"]
    assert finding["subject"] == "TRAINING_WAREHOUSE_TOKEN" and len(finding["pids"]) == 2
    for fmt in ("text", "json", "sarif", "junit", "markdown", "html"):
        assert cli.main(["audit", "-f", fmt, "-o", f"report.{fmt}", "--fail-on", "warning",
                         "--", "python", "-c", "pass"]) == exitcodes.FINDINGS
        text = (service / f"report.{fmt}").read_text()
        assert "TRAINING_WAREHOUSE_TOKEN" in text and "s3cr3t-value" not in text
