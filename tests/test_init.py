"""``importwall init``, run as a user runs it in a fresh interpreter: what it finds
(installed distributions, pyproject.toml dependencies, training modules beside the entry
point), the policy it writes (commented, loadable, audit mode), the next commands, and that
it never overwrites without --force."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import write_files

from importwall.policy import load_policy
from importwall.policy.discovery import discover_policy
from importwall.starter import FRAMEWORK_PACKS, packs_in_step

PROJECT = {
    "svc/__init__.py": "",
    "svc/app.py": "import svc.features\n\ndef handle():\n    import svc.training\n",
    "svc/features.py": "",
    "svc/training.py": "",
    "svc/jobs/__init__.py": "",
    "svc/jobs/tune_search.py": "",
    "pyproject.toml": """
        [project]
        name = "svc"
        version = "1"
        dependencies = ["torch>=2", "fastapi"]

        [tool.ruff]
        line-length = 99
        """,
}


def installed(site: Path, name: str, version: str) -> None:
    """A ``.dist-info`` folder, the way an installer writes one."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                                   encoding="utf-8")


@pytest.fixture
def service(project):
    project.write(PROJECT)
    site = project.root / "site"
    installed(site, "scikit_learn", "1.9.1")
    installed(site, "lightgbm", "4.7.0")
    return project, site


def init(service, *args: str):
    project, site = service
    return project.run(["-m", "importwall", "init", *args], pythonpath=[site])


def test_init_writes_a_commented_audit_policy_from_what_the_project_uses(service) -> None:
    project, _ = service
    result = init(service, "--entrypoint", "svc.app:app")
    assert result.returncode == 0, result.output
    path = project.root / "importwall.toml"
    text = path.read_text(encoding="utf-8")
    assert '"sklearn",' in text and "scikit-learn 1.9.1 is installed" in text
    assert '"xgboost-lightgbm-catboost",' in text and "lightgbm 4.7.0 is installed" in text
    assert '"pytorch",' in text and "torch is a dependency in pyproject.toml" in text
    assert '"huggingface",' not in text and '"mlflow",' not in text
    policy = load_policy(path)
    assert policy.mode == "audit"
    packs = [Path(f).stem for f in policy.files[:-1]]
    assert {"serving-base", "sklearn", "xgboost-lightgbm-catboost", "pytorch"} == set(packs)
    denied = [rule.pattern for rule in policy.imports.deny]
    assert "svc.training" in denied and "svc.jobs.tune_search" in denied
    assert "svc.features" not in denied
    assert sum(line.lstrip().startswith("#") for line in text.splitlines()) > 15
    # The next two commands: audit, then enforce.
    lines = result.stdout.splitlines()
    audit = next(i for i, line in enumerate(lines) if "importwall audit" in line)
    enforce = next(i for i, line in enumerate(lines) if "--mode enforce" in line)
    assert audit < enforce
    assert lines[audit].strip() == "importwall audit --entrypoint svc.app:app"
    assert "wrote importwall.toml (extends serving-base" in result.stderr


def test_the_first_next_command_runs_and_reports_the_guessed_training_module(service) -> None:
    project, site = service
    assert init(service, "-e", "svc.app").returncode == 0
    (project.root / "handle.py").write_text("import svc.app\nsvc.app.handle()\n")
    audited = project.run(["-m", "importwall", "audit", "-f", "json", "--", sys.executable,
                           "handle.py"], pythonpath=[site])
    assert audited.returncode == 1, audited.output
    subjects = {f["subject"] for f in json.loads(audited.stdout)["findings"]}
    assert "svc.training" in subjects


def test_init_never_overwrites_without_force(service) -> None:
    project, _ = service
    path = project.root / "importwall.toml"
    path.write_text("version = 1\n# mine\n", encoding="utf-8")
    refused = init(service)
    assert refused.returncode == 2 and "exists; pass --force" in refused.stderr
    assert path.read_text(encoding="utf-8") == "version = 1\n# mine\n"
    forced = init(service, "--force")
    assert forced.returncode == 0, forced.output
    assert 'mode = "audit"' in path.read_text(encoding="utf-8")


def test_init_pyproject_adds_a_table_keeps_the_rest_and_replaces_only_with_force(
        service) -> None:
    project, _ = service
    pyproject = project.root / "pyproject.toml"
    first = init(service, "--pyproject")
    assert first.returncode == 0, first.output
    text = pyproject.read_text(encoding="utf-8")
    assert "[tool.importwall]" in text and "[tool.importwall.imports]" in text
    assert "[tool.ruff]\nline-length = 99" in text and 'dependencies = ["torch>=2"' in text
    assert discover_policy(cwd=str(project.root)) == str(pyproject)
    assert load_policy(pyproject).mode == "audit"
    checked = project.run(["-m", "importwall", "check"])
    assert checked.returncode == 0 and "ok (" in checked.stdout, checked.output
    refused = init(service, "--pyproject")
    assert refused.returncode == 2 and "already has a [tool.importwall]" in refused.stderr
    assert pyproject.read_text(encoding="utf-8") == text
    assert init(service, "--pyproject", "--force").returncode == 0
    again = pyproject.read_text(encoding="utf-8")
    assert again.count("[tool.importwall]") == 1 and "[tool.ruff]" in again


def test_a_bare_folder_gets_serving_base_and_a_commented_example(project) -> None:
    write_files(project.root, {"serve.py": "print('hi')\n"})
    result = project.run(["-m", "importwall", "init"])
    assert result.returncode == 0, result.output
    text = (project.root / "importwall.toml").read_text(encoding="utf-8")
    assert '# deny = [' in text and "importwall audit -- python serve.py" in result.stdout
    assert "serving-base" in [Path(f).stem for f in load_policy(
        project.root / "importwall.toml").files]


def test_every_framework_pack_is_chosen_by_some_distribution() -> None:
    assert packs_in_step() == set()
    assert all(distributions for _, distributions in FRAMEWORK_PACKS)
