"""``importwall install``'s safety checks and the settings children inherit, without
building a venv (the routes themselves are tested in ``test_injection.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from importwall import load_policy
from importwall.errors import InstallError
from importwall.inject import (
    PTH_LINE,
    Target,
    install_pth,
    install_sitecustomize,
    uninstall,
)
from importwall.runtime.propagate import STARTUP_DIR, child_environment

ORIGINAL = "print('original')\n"


def _target(folder: Path) -> Target:
    # sys.executable does not read `folder`: any sitecustomize there would be shadowed.
    return Target(folder, sys.executable, "a folder this interpreter does not read")


def test_sitecustomize_that_would_never_run_is_rolled_back(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(ORIGINAL)
    with pytest.raises(InstallError, match=r"would never run\. Use the \.pth route"):
        install_sitecustomize(_target(tmp_path))
    assert (tmp_path / "sitecustomize.py").read_text() == ORIGINAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sitecustomize.py"]


def test_uninstall_leaves_files_importwall_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "importwall.pth").write_text("import something_else\n")
    (tmp_path / "sitecustomize.py").write_text(ORIGINAL)
    with pytest.raises(InstallError, match="was not written by importwall"):
        uninstall(_target(tmp_path))
    assert (tmp_path / "importwall.pth").exists()
    assert (tmp_path / "sitecustomize.py").read_text() == ORIGINAL


def test_install_pth_is_idempotent_and_uninstall_reports(tmp_path: Path) -> None:
    target = _target(tmp_path / "site-packages")
    install_pth(target)
    install_pth(target)
    assert target.pth.read_text() == PTH_LINE
    assert uninstall(target) == [f"removed {target.pth}"]
    assert uninstall(target) == []


def test_the_pth_line_is_inert_without_the_variable_and_active_with_it(project) -> None:
    project.write({"svc/__init__.py": "", "svc/training.py": ""})
    policy = project.policy('version = 1\n[imports]\ndeny = ["svc.training"]\n')
    line = PTH_LINE.strip()
    probe = (f"{line}\nimport sys\nprint(sorted(m for m in sys.modules if 'importwall' in m)[:1])"
             "\ntry:\n    import svc.training\n    print('imported')\n"
             "except ImportError as e:\n    print(type(e).__name__)\n")
    off = project.run(probe)
    assert off.stdout.splitlines() == ["[]", "imported"], off.output
    on = project.run(probe, env={"IMPORTWALL_POLICY": str(policy)})
    assert on.stdout.splitlines() == ["['importwall']", "ForbiddenImportError"], on.output


def test_user_install_refused_where_the_user_site_is_not_read(project) -> None:
    result = project.run(["-s", "-m", "importwall", "install", "--user"])
    assert result.returncode == 2
    assert "does not read the user site-packages" in result.stderr
    assert "Traceback" not in result.stderr


def test_child_environment_is_absolute_and_resolved(project, monkeypatch) -> None:
    project.policy('version = 1\nmode = "warn"\n')
    monkeypatch.chdir(project.root)
    policy = load_policy("policy.toml")
    env = child_environment(policy, None, {"IMPORTWALL_DATA_DIR": "records",
                                           "PYTHONPATH": "/elsewhere"})
    assert env["IMPORTWALL_POLICY"] == str(project.root / "policy.toml")
    assert env["IMPORTWALL_MODE"] == "warn"  # the policy's mode, written down
    assert env["IMPORTWALL_DATA_DIR"] == str(project.root / "records")
    assert env["PYTHONPATH"].split(":") == [STARTUP_DIR, "/elsewhere"]
    assert child_environment(policy, "audit", {})["IMPORTWALL_MODE"] == "audit"


def test_a_started_process_hands_absolute_settings_to_children(project) -> None:
    project.policy('version = 1\n[imports]\ndeny = ["svc.training"]\n')
    result = project.run(
        "import os; print(os.environ['IMPORTWALL_POLICY'], os.environ['IMPORTWALL_MODE'])",
        env={"IMPORTWALL_POLICY": "policy.toml"}, pythonpath=[Path(STARTUP_DIR)])
    assert result.stdout.split() == [str(project.root / "policy.toml"), "enforce"], result.output
