"""The ``importwall`` command: exit statuses and every error path, each a readable
paragraph (``--debug`` for the traceback)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from helpers import run_python, write_files

from importwall import exitcodes
from importwall.cli import main as cli
from importwall.cli import registry
from importwall.findings import Finding
from importwall.runtime.records import RecordWriter

POLICY = """
version = 1
[imports]
deny = [
    { module = "svc.training", reason = "training only" },
    { module = "optuna" },
]
[[imports.exceptions]]
module = "svc.training.metrics"
importer = "svc.monitoring"
reason = "metrics are shared"
"""


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with no importwall settings in the environment."""
    for name in ("IMPORTWALL_POLICY", "IMPORTWALL_MODE", "IMPORTWALL_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def data_dir(root: Path, *severities: str) -> Path:
    data = root / "data"
    writer = RecordWriter(str(data), {"policy": "p.toml", "mode": "audit"})
    for index, severity in enumerate(severities):
        writer(Finding(kind="import", code="import-recorded", severity=severity,
                       subject=f"mod{index}", message=f"mod{index} recorded"))
    writer.close()
    return data


# --------------------------------------------------------------------------- general


def test_no_command_prints_help_and_is_a_usage_error(here: Path, capsys) -> None:
    status, out, _ = main(capsys)
    assert status == exitcodes.USAGE
    for name in ("run", "audit", "report", "check", "explain"):
        assert name in out


def test_unknown_command_and_bad_option_are_usage_errors(here: Path, capsys) -> None:
    status, _, err = main(capsys, "frobnicate")
    assert status == exitcodes.USAGE and "invalid choice" in err
    status, _, err = main(capsys, "report", "--format")
    assert status == exitcodes.USAGE and "expected one argument" in err


def test_version_and_help_exit_clean(here: Path, capsys) -> None:
    status, out, _ = main(capsys, "--version")
    assert status == exitcodes.CLEAN and out.startswith("importwall ")
    status, out, _ = main(capsys, "audit", "--help")
    assert status == exitcodes.CLEAN and "--entrypoint" in out and "--fail-on" in out


def test_python_dash_m_is_the_same_command(here: Path) -> None:
    result = run_python(["-m", "importwall", "check", "serving-base-typo"], cwd=here)
    assert result.returncode == exitcodes.USAGE
    assert "no such file or shipped pack" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("argv", [["--debug", "check", "missing.toml"],
                                  ["check", "missing.toml", "--debug"]])
def test_debug_shows_the_traceback(here: Path, argv: list[str]) -> None:
    result = run_python(["-m", "importwall", *argv], cwd=here)
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "PolicyError" in result.stderr


class _CrashingCommand:
    DESCRIPTION = "crash"

    @staticmethod
    def configure(parser: argparse.ArgumentParser) -> None:
        pass

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        raise RuntimeError("boom")


def test_an_unexpected_crash_is_one_paragraph(here: Path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(registry.COMMANDS, "crash", registry.CommandInfo("crash", "crash"))
    monkeypatch.setattr(cli, "load_command", lambda name: _CrashingCommand)
    status, _, err = main(capsys, "crash")
    assert status == exitcodes.USAGE
    assert err.startswith("importwall: unexpected error: RuntimeError: boom.")
    assert "--debug" in err and "Traceback" not in err


def test_the_command_table_lists_commands_in_help_order() -> None:
    # init first: it is where a new user starts.
    assert list(registry.COMMANDS)[:6] == ["init", "audit", "run", "report", "check", "explain"]


@pytest.mark.parametrize("name", list(registry.COMMANDS))
def test_every_command_module_provides_description_configure_and_run(name: str) -> None:
    command = registry.load_command(name)
    assert isinstance(command.DESCRIPTION, str) and command.DESCRIPTION
    parser = argparse.ArgumentParser(prog=f"importwall {name}")
    command.configure(parser)
    assert callable(command.run)


def test_help_lists_every_command_without_importing_any_command_module(here: Path) -> None:
    result = run_python("""
        import contextlib, io, sys
        from importwall.cli.main import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            status = main(["--help"])
        loaded = sorted(m for m in sys.modules if m.startswith("importwall.cli.commands.")
                        or m in ("importwall.audit", "importwall.inject"))
        print(status, loaded)
        print(out.getvalue())
    """, cwd=here)
    first, _, shown = result.stdout.partition("\n")
    assert first == "0 []", result.output
    for name, info in registry.COMMANDS.items():
        assert name in shown and info.summary.split()[0] in shown


def test_running_a_command_imports_only_its_own_module(here: Path) -> None:
    result = run_python("""
        import sys
        from importwall.cli.main import main
        main(["check", "serving-base"])
        print(sorted(m for m in sys.modules if m.startswith("importwall.cli.commands.")))
    """, cwd=here)
    assert result.stdout.strip().splitlines()[-1] == "['importwall.cli.commands.check']"


def test_debug_after_dashes_belongs_to_the_command_not_to_importwall(here: Path) -> None:
    # `importwall run -- app --debug`: --debug is the app's. A policy error then stays one
    # paragraph instead of a traceback.
    result = run_python(["-m", "importwall", "run", "--policy", "missing.toml", "--",
                         "python", "--debug"], cwd=here)
    assert result.returncode == exitcodes.USAGE
    assert "Traceback" not in result.stderr and "missing.toml" in result.stderr


# --------------------------------------------------------------------------- policy errors


def test_no_policy_anywhere_is_a_usage_error_that_says_where_it_looked(here, capsys) -> None:
    status, _, err = main(capsys, "check")
    assert status == exitcodes.USAGE
    assert "none found" in err and "pyproject.toml" in err and "--policy" in err


def test_invalid_policy_lists_every_problem_with_file_and_line(here, capsys) -> None:
    (here / "p.toml").write_text('version = 1\nmode = "enforced"\n[imports]\ndeny = 3\n')
    status, _, err = main(capsys, "check", "p.toml")
    assert status == exitcodes.USAGE
    assert f"{here / 'p.toml'}:2: mode: must be one of" in err
    assert f"{here / 'p.toml'}:4: imports.deny: must be" in err


def test_unknown_keys_warn_without_failing(here, capsys) -> None:
    (here / "p.toml").write_text("version = 1\n[imports]\ndenny = []\n")
    status, out, err = main(capsys, "check", "p.toml")
    assert status == exitcodes.CLEAN and ": ok (" in out
    assert err.startswith("importwall: warning: ") and "did you mean 'deny'" in err


def test_check_show_prints_the_merged_policy(here, capsys) -> None:
    (here / "p.toml").write_text(POLICY)
    status, out, _ = main(capsys, "check", "p.toml", "--show")
    assert status == exitcodes.CLEAN
    shown = json.loads(out)
    assert [r["pattern"] for r in shown["imports"]["deny"]] == ["svc.training", "optuna"]


# --------------------------------------------------------------------------- run


def test_run_without_a_command_or_with_a_missing_one(here, capsys) -> None:
    (here / "p.toml").write_text(POLICY)
    status, _, err = main(capsys, "run", "--policy", "p.toml")
    assert status == exitcodes.USAGE and "no command given" in err
    status, _, err = main(capsys, "run", "--policy", "p.toml", "--", "no-such-program-x")
    assert status == exitcodes.USAGE and "command not found: 'no-such-program-x'" in err


def test_run_with_data_dir_then_report(here: Path) -> None:
    write_files(here, {"p.toml": POLICY, "svc/__init__.py": "", "svc/training.py": "",
                       "serve.py": "import svc.training\n"})
    result = run_python(["-m", "importwall", "run", "--policy", "p.toml", "--mode", "warn",
                         "--data-dir", "records", "--", "python", "serve.py"],
                        cwd=here, pythonpath=[here])
    assert result.returncode == 0, result.output
    report = run_python(["-m", "importwall", "report", "--data", "records", "-f", "json"],
                        cwd=here)
    assert report.returncode == exitcodes.FINDINGS, report.output
    data = json.loads(report.stdout)
    assert [f["subject"] for f in data["findings"]] == ["svc.training"]
    assert data["findings"][0]["chain"][-1]["file"].endswith("serve.py")


# --------------------------------------------------------------------------- report


def test_report_needs_an_existing_data_dir(here, capsys) -> None:
    status, _, err = main(capsys, "report")
    assert status == exitcodes.USAGE and "no data dir" in err
    assert all(way in err for way in ("--data", "IMPORTWALL_DATA_DIR", "[report] data_dir"))
    status, _, err = main(capsys, "report", "--data", "nowhere")
    assert status == exitcodes.USAGE and "'nowhere' does not exist" in err


def test_report_of_an_empty_data_dir_is_clean_and_says_so(here, capsys) -> None:
    (here / "empty").mkdir()
    status, out, err = main(capsys, "report", "--data", "empty")
    assert status == exitcodes.CLEAN and "0 errors" in out and "no record files" in err


def test_report_exit_status_follows_fail_on(here, capsys, monkeypatch) -> None:
    data_dir(here, "warning", "info")
    assert main(capsys, "report", "--data", "data")[0] == exitcodes.CLEAN
    assert main(capsys, "report", "--data", "data", "--fail-on", "warning")[0] == 1
    monkeypatch.setenv("IMPORTWALL_DATA_DIR", str(here / "data"))
    assert main(capsys, "report", "--fail-on", "info")[0] == exitcodes.FINDINGS
    status, _, err = main(capsys, "report", "--fail-on", "fatal")
    assert status == exitcodes.USAGE and "invalid choice: 'fatal'" in err


def test_report_settings_come_from_the_policy_report_section(here, capsys) -> None:
    data_dir(here, "warning")
    (here / "p.toml").write_text('version = 1\n[report]\nformats = ["markdown"]\n'
                                 'output = "out/report.md"\nfail_on = "warning"\n')
    status, out, _ = main(capsys, "report", "--data", "data", "--policy", "p.toml")
    assert status == exitcodes.FINDINGS and out == ""
    assert (here / "out" / "report.md").read_text().startswith("<!-- importwall")


def test_report_data_dir_defaults_to_the_discovered_policy(here, capsys,
                                                            monkeypatch) -> None:
    """``--data``, else ``$IMPORTWALL_DATA_DIR``, else ``[report] data_dir`` of the policy
    found as every command finds it, relative to the file that sets it."""
    data_dir(here, "error")
    (here / "conf").mkdir()
    (here / "conf" / "base.toml").write_text('version = 1\n[report]\ndata_dir = "../data"\n')
    (here / "importwall.toml").write_text('version = 1\nextends = ["./conf/base.toml"]\n')
    status, out, err = main(capsys, "report", "-f", "json")
    assert status == exitcodes.FINDINGS, err
    assert [f["subject"] for f in json.loads(out)["findings"]] == ["mod0"]
    (here / "other").mkdir()
    monkeypatch.setenv("IMPORTWALL_DATA_DIR", str(here / "other"))
    status, out, err = main(capsys, "report", "-f", "json")
    assert status == exitcodes.CLEAN and "no record files" in err
    status, out, _ = main(capsys, "report", "-f", "json", "--data", "data")
    assert status == exitcodes.FINDINGS


def test_report_format_and_output_errors(here, capsys) -> None:
    data_dir(here, "error")
    status, _, err = main(capsys, "report", "--data", "data", "--format", "pdf")
    assert status == exitcodes.USAGE and "unknown report format 'pdf'" in err
    (here / "file").write_text("")
    status, _, err = main(capsys, "report", "--data", "data", "-o", "file/report.json")
    assert status == exitcodes.USAGE and "cannot write the report to 'file/report.json'" in err


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "markdown", "md", "html"])
def test_report_writes_every_format(here, capsys, fmt: str) -> None:
    data_dir(here, "error")
    status, _, _ = main(capsys, "report", "--data", "data", "-f", fmt, "-o", "out")
    assert status == exitcodes.FINDINGS
    assert "mod0" in (here / "out").read_text()


# --------------------------------------------------------------------------- explain


def test_explain_denied_allowed_and_excepted(here, capsys) -> None:
    (here / "p.toml").write_text(POLICY)
    status, out, _ = main(capsys, "explain", "-p", "p.toml", "svc.training.split")
    assert status == exitcodes.FINDINGS
    assert out.splitlines()[0] == (f"svc.training.split: denied by rule deny 'svc.training' "
                                   f"({here / 'p.toml'}:5)")
    assert "reason: training only" in out
    assert "in enforce mode: the import raises ForbiddenImportError" in out
    status, out, _ = main(capsys, "explain", "-p", "p.toml", "svc.training.metrics",
                          "--importer", "svc.monitoring")
    assert status == exitcodes.CLEAN and "exception reason: metrics are shared" in out
    status, out, _ = main(capsys, "explain", "-p", "p.toml", "json")
    assert status == exitcodes.CLEAN and "provided by: the standard library" in out


def test_explain_names_the_distribution_that_provides_a_module(here, capsys) -> None:
    (here / "p.toml").write_text('version = 1\n[imports]\ndeny = ["rich.progress"]\n')
    status, out, _ = main(capsys, "explain", "-p", "p.toml", "rich.progress")
    assert status == exitcodes.FINDINGS
    assert "provided by: rich " in out


def test_explain_rejects_what_is_not_a_module_name(here, capsys) -> None:
    (here / "p.toml").write_text(POLICY)
    status, _, err = main(capsys, "explain", "-p", "p.toml", "svc/training.py")
    assert status == exitcodes.USAGE and "is not a dotted module name" in err
