"""No secret leaves the process: a canary planted in environment values (a denied variable, a
connection string into the training network, an unrelated token) never shows up in any
output, record file or report format, in any mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO, Result

from importwall.report.writer import format_names

CANARY = "c4nary7f3a9c"
ENVIRONMENT = {
    "WANDB_API_KEY": f"{CANARY}-wandb-key",
    "DATABASE_URL": f"postgresql://svc:{CANARY}-password@{CANARY}.training.internal:5432/x",
    "TRAIN_COORDINATOR": f"{CANARY}-host.internal:29500",
    "MODEL_TOKEN": f"{CANARY}-unrelated-token",
}
POLICY = """\
version = 1
check_at_startup = true

[imports]
deny = [{ module = "trainer", reason = "training only" }]

[environment]
deny = [{ name = "WANDB_*", reason = "experiment tracking is training-only" }]
deny_hosts = [{ host = "*.internal", reason = "the training network" }]
"""
PACKAGES = {
    "trainer.py": "VALUE = 1\n",
    "app.py": """
        import os


        def handle():
            import trainer  # a lazy training import in a request handler
            return trainer.VALUE
        """,
    "serve.py": "import app\napp.handle()\nprint('SERVED')\n",
    # A target that fails and says why, with a connection string, on its standard error.
    "crash.py": """
        import os, sys
        sys.exit(f"cannot reach the warehouse: DATABASE_URL={os.environ['DATABASE_URL']}")
        """,
    "crashing_app.py": """
        import os
        raise RuntimeError(f"cannot reach {os.environ['DATABASE_URL']}")
        """,
}


@pytest.fixture
def service(project):
    project.write(PACKAGES)
    project.policy(POLICY)
    return project


def _run(service, args: list[str], **env: str) -> Result:
    return service.run(args, env={**ENVIRONMENT, **env}, pythonpath=[service.root, REPO])


def _leaks(texts: dict[str, str]) -> list[str]:
    return [name for name, text in texts.items() if CANARY in text]


def test_the_canary_is_in_the_environment_the_program_sees(service) -> None:
    # Guards the test itself: the values do reach the program and the checks.
    result = _run(service, ["-c", "import os; print(os.environ['DATABASE_URL'])"])
    assert CANARY in result.stdout


@pytest.mark.parametrize("mode", ["audit", "warn", "enforce"])
def test_no_environment_value_reaches_any_output_record_or_report(service, mode) -> None:
    data = service.root / "data"
    outputs: dict[str, str] = {}
    served = _run(service, ["-m", "importwall", "run", "--policy", "policy.toml", "--mode",
                            mode, "--", "python", "serve.py"], IMPORTWALL_DATA_DIR=str(data))
    outputs["run"] = served.output
    if mode == "enforce":
        # The environment gate refuses to start the server; its paragraph names variables.
        assert served.returncode == 1 and "WANDB_API_KEY" in served.stderr, served.output
    else:
        assert "SERVED" in served.stdout, served.output
    records = sorted(data.glob("*.jsonl"))
    assert records, served.output
    outputs.update({str(path): path.read_text() for path in records})
    assert "DATABASE_URL" in "".join(outputs.values())  # findings name the variable
    for name in format_names():
        target = service.root / f"report.{name}"
        report = _run(service, ["-m", "importwall", "report", "--data", str(data), "--format",
                                name, "--output", str(target)])
        outputs[f"report {name}"] = report.output + target.read_text()
        shown = _run(service, ["-m", "importwall", "report", "--data", str(data),
                               "--format", name])
        outputs[f"report {name} to stdout"] = shown.output
    assert not _leaks(outputs)


@pytest.mark.parametrize("name", ["text", "json", "sarif", "junit", "markdown", "html"])
def test_no_environment_value_reaches_an_audit_report(service, name) -> None:
    target = Path(service.root) / f"audit.{name}"
    result = _run(service, ["-m", "importwall", "audit", "--policy", "policy.toml",
                            "--entrypoint", "serve", "--format", name,
                            "--output", str(target)])
    assert result.returncode == 1, result.output  # the findings are errors
    text = target.read_text()
    assert "WANDB_API_KEY" in text and "trainer" in text
    assert not _leaks({"audit": result.output + text})


@pytest.mark.parametrize(("target", "failure"), [
    (["--", "python", "crash.py"], "exited with status 1"),
    (["--entrypoint", "crashing_app"], "could not be imported"),
])
def test_a_failing_audit_target_keeps_what_it_printed_out_of_the_report(
        service, target: list[str], failure: str) -> None:
    """What a failed target printed goes to the user's terminal, never into a report."""
    outputs: dict[str, str] = {}
    for name in format_names():
        report = Path(service.root) / f"audit.{name}"
        result = _run(service, ["-m", "importwall", "audit", "--policy", "policy.toml",
                                "--format", name, "--output", str(report), *target])
        assert result.returncode == 1, result.output
        assert CANARY in result.stderr  # shown to the user who ran the audit...
        text = report.read_text()
        assert failure in text, text
        outputs[name] = text  # ...and in no report format
    assert not _leaks(outputs)


def test_no_environment_value_reaches_the_python_api(service) -> None:
    result = _run(service, ["-c", """
import importwall, json, warnings
warnings.simplefilter("always")
findings = importwall.check_environment("policy.toml")
firewall = importwall.activate("policy.toml", mode="warn")
import app
app.handle()
for finding in [*findings, *firewall.findings]:
    print(json.dumps(finding.to_dict()), repr(finding), str(finding.message))
"""])
    assert result.returncode == 0, result.output
    assert "WANDB_API_KEY" in result.stdout and "DATABASE_URL" in result.stdout
    assert not _leaks({"api": result.output})
