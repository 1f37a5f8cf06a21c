"""``importwall check`` and ``importwall explain``: output and exit statuses."""

from __future__ import annotations

import json

from helpers import run_python

POLICY = """\
version = 1
[imports]
deny = [{ module = "sklearn.model_selection", reason = "training-only" }]
allow = ["sklearn.model_selection._split"]
deny_distributions = [{ distribution = "iniconfig", reason = "test-only" }]
[[imports.exceptions]]
module = "sklearn.model_selection"
importer = "sklearn.*"
reason = "estimators import it"
"""


def iw(project, *args: str):
    return project.run(["-m", "importwall", *args])


def test_check_reports_ok_and_shows_the_merged_policy(project) -> None:
    project.policy(POLICY)
    ok = iw(project, "check", "policy.toml")
    assert ok.returncode == 0
    assert ok.stdout.strip().endswith("policy.toml: ok (1 file(s), 2 import rule(s), "
                                      "1 exception(s))")
    shown = iw(project, "check", "policy.toml", "--show")
    data = json.loads(shown.stdout)
    assert data["imports"]["deny"][0]["pattern"] == "sklearn.model_selection"
    assert data["imports"]["exceptions"][0]["importer"] == "sklearn.*"


def test_check_lists_every_problem_and_exits_2(project) -> None:
    project.policy('version = 1\nmode = "block"\n[imports]\ndeny = [1]\n')
    bad = iw(project, "check", "policy.toml")
    assert bad.returncode == 2
    assert "invalid policy (2 problems):" in bad.stderr
    assert "policy.toml:2: mode: must be one of" in bad.stderr
    assert "policy.toml:4: imports.deny[0]: each entry must be a string or a table" in bad.stderr
    assert "Traceback" not in bad.stderr
    debug = iw(project, "--debug", "check", "policy.toml")
    assert "Traceback" in debug.stderr


def test_explain_names_the_deciding_rule(project) -> None:
    project.policy(POLICY)
    denied = iw(project, "explain", "-p", "policy.toml", "sklearn.model_selection._search")
    assert denied.returncode == 1
    assert denied.stdout.startswith("sklearn.model_selection._search: denied by rule deny "
                                    "'sklearn.model_selection' (")
    assert "reason: training-only" in denied.stdout
    allowed = iw(project, "explain", "-p", "policy.toml", "sklearn.model_selection._split")
    assert allowed.returncode == 0 and "allowed by rule allow" in allowed.stdout
    excepted = iw(project, "explain", "-p", "policy.toml", "sklearn.model_selection",
                  "--importer", "sklearn.svm._classes")
    assert excepted.returncode == 0
    assert "allowed when imported by sklearn.svm._classes" in excepted.stdout
    free = iw(project, "explain", "-p", "policy.toml", "numpy")
    assert free.stdout.splitlines()[0] == "numpy: allowed (no rule matches)"
    dist = iw(project, "explain", "-p", "policy.toml", "iniconfig")
    assert "denied by rule deny_distributions 'iniconfig'" in dist.stdout
    assert "provided by distribution 'iniconfig': iniconfig" in dist.stdout


def test_no_command_and_no_policy_are_usage_errors(project) -> None:
    assert iw(project).returncode == 2
    result = iw(project, "check")
    assert result.returncode == 2
    assert "no policy given" in result.stderr


def test_version_and_python_dash_m(project) -> None:
    result = run_python(["-m", "importwall", "--version"])
    assert result.returncode == 0 and result.stdout.startswith("importwall ")
