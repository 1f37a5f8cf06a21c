"""Policy discovery: --policy, $IMPORTWALL_POLICY, [tool.importwall] in the nearest
pyproject.toml, then importwall.toml; errors in pyproject.toml name it and the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_python, write_files

from importwall import exitcodes
from importwall.cli import main as cli
from importwall.errors import PolicyError
from importwall.policy import load_policy
from importwall.policy.discovery import discover_policy

PYPROJECT = """
[project]
name = "svc"

[tool.importwall]
version = 1
mode = "warn"

[tool.importwall.imports]
deny = [{ module = "svc.training", reason = "training only" }]
"""


def test_order_explicit_then_environment_then_pyproject_then_importwall_toml(
        tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    write_files(tmp_path, {"importwall.toml": "version = 1\n"})
    assert discover_policy(None, {}, str(nested)) == str(tmp_path / "importwall.toml")
    write_files(tmp_path / "a", {"pyproject.toml": PYPROJECT})
    assert discover_policy(None, {}, str(nested)) == str(tmp_path / "a" / "pyproject.toml")
    assert discover_policy(None, {"IMPORTWALL_POLICY": "env.toml"}, str(nested)) == "env.toml"
    assert discover_policy("cli.toml", {"IMPORTWALL_POLICY": "e"}, str(nested)) == "cli.toml"


def test_a_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\n",
                           "importwall.toml": "version = 1\n"})
    assert discover_policy(None, {}, str(tmp_path)) == str(tmp_path / "importwall.toml")


def test_the_pyproject_table_loads_like_a_policy_file(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": PYPROJECT})
    policy = load_policy(tmp_path / "pyproject.toml")
    assert policy.mode == "warn"
    (rule,) = policy.imports.deny
    assert rule.pattern == "svc.training"
    assert rule.source == f"{tmp_path / 'pyproject.toml'}:9"


def test_pyproject_errors_name_the_file_and_the_right_line(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": PYPROJECT.replace(
        'mode = "warn"', 'mode = "warning"').replace("version = 1", "version = 1\nstrict = 3")})
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "pyproject.toml")
    problems = caught.value.problems
    path = tmp_path / "pyproject.toml"
    assert f"{path}:6: strict: must be true or false" in problems
    assert any(p.startswith(f"{path}:7: mode: must be one of") for p in problems)


def test_a_missing_version_points_at_the_table(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": PYPROJECT.replace("version = 1\n", "")})
    with pytest.raises(PolicyError, match=r"pyproject.toml:4: version: missing"):
        load_policy(tmp_path / "pyproject.toml")


def test_a_pyproject_without_the_table_cannot_be_a_policy(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\n"})
    with pytest.raises(PolicyError, match=r"pyproject.toml:1: tool.importwall: no "):
        load_policy(tmp_path / "pyproject.toml")


def test_extends_in_pyproject_is_relative_to_its_folder(tmp_path: Path) -> None:
    write_files(tmp_path, {
        "pyproject.toml": '[tool.importwall]\nversion = 1\nextends = ["./base.toml"]\n',
        "base.toml": 'version = 1\n[imports]\ndeny = ["optuna"]\n'})
    policy = load_policy(tmp_path / "pyproject.toml")
    assert [r.pattern for r in policy.imports.deny] == ["optuna"]


def test_cli_finds_the_pyproject_policy_from_a_subfolder(tmp_path, monkeypatch, capsys
                                                         ) -> None:
    monkeypatch.delenv("IMPORTWALL_POLICY", raising=False)
    write_files(tmp_path, {"pyproject.toml": PYPROJECT})
    (tmp_path / "src").mkdir()
    monkeypatch.chdir(tmp_path / "src")
    assert cli.main(["explain", "svc.training"]) == exitcodes.FINDINGS
    assert "pyproject.toml:9" in capsys.readouterr().out


def test_run_hands_a_pyproject_policy_to_the_child(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": PYPROJECT, "svc/__init__.py": "",
                           "svc/training.py": "", "serve.py": "import svc.training\n"})
    result = run_python(["-m", "importwall", "run", "--", "python", "serve.py"],
                        cwd=tmp_path, pythonpath=[tmp_path])
    assert result.returncode == 0, result.output  # warn mode, from the pyproject table
    assert "ImportWallWarning" in result.stderr and "svc.training" in result.stderr
