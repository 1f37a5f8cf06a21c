"""Train/serve standardization: ``importwall fingerprint`` and ``check_standardization``."""

from __future__ import annotations

import glob
import json
import shutil
import sys
from pathlib import Path

import pytest
from helpers import run_python, write_files

from importwall.envcheck.standardize import check_standardization
from importwall.errors import FingerprintError
from importwall.policy import load_policy
from importwall.static.fingerprint import (
    hash_module,
    read_fingerprint,
    take_fingerprint,
    write_fingerprint,
)
from importwall.static.sourcefinder import SourceFinder

INFERENCE = {
    "code/svc/__init__.py": "",
    "code/svc/preprocess.py": "def clean(x):\n    return x\n",
    "code/svc/predict.py": "def predict(x):\n    return 2 * x\n",
    "code/svc/training.py": "def fit(x):\n    return x\n",
}


def _fake_distribution(site: Path, name: str, version: str) -> None:
    """A real ``.dist-info`` folder, the way an installer writes it."""
    for old in site.glob(f"{name}-*.dist-info"):
        shutil.rmtree(old)
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    (info / "RECORD").write_text(f"{name}/__init__.py,,\n", encoding="utf-8")


@pytest.fixture
def training(tmp_path: Path):
    write_files(tmp_path, INFERENCE)
    site = tmp_path / "site"
    _fake_distribution(site, "scikit_learn", "1.9.1")
    _fake_distribution(site, "numpy", "2.1.0")
    search_path = [str(tmp_path / "code"), str(site)]
    write_files(tmp_path, {"deploy/policy.toml": """
        version = 1
        [standardize]
        fingerprint = "../artifacts/train-env.json"
        packages = ["scikit-learn", "numpy"]
        modules = ["svc.preprocess", "svc.predict"]
    """})
    (tmp_path / "artifacts").mkdir()
    data = take_fingerprint(["svc.preprocess", "svc.predict"], search_path)
    write_fingerprint(data, str(tmp_path / "artifacts" / "train-env.json"))
    return tmp_path, site, search_path


def test_a_fingerprint_records_python_platform_distributions_and_code(training):
    root, _, search_path = training
    data = read_fingerprint(str(root / "artifacts" / "train-env.json"))
    assert data["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert data["platform"]["system"]
    assert data["distributions"]["scikit-learn"] == "1.9.1"
    assert data["distributions"]["numpy"] == "2.1.0"
    assert set(data["modules"]) == {"svc.preprocess", "svc.predict"}
    assert list(data["modules"]["svc.predict"]["files"]) == ["predict.py"]
    # Deterministic: taking it again gives the same document.
    assert take_fingerprint(["svc.predict", "svc.preprocess"], search_path) == data


def test_the_same_environment_has_no_skew(training):
    root, _, search_path = training
    policy = load_policy(root / "deploy" / "policy.toml")
    assert check_standardization(policy, search_path) == []


def test_version_skew_and_changed_inference_code_are_reported(training):
    root, site, search_path = training
    _fake_distribution(site, "scikit_learn", "1.8.0")
    (root / "code" / "svc" / "predict.py").write_text("def predict(x):\n    return 3 * x\n")
    (root / "code" / "svc" / "training.py").write_text("# not inference code\n")
    policy = load_policy(root / "deploy" / "policy.toml")
    findings = check_standardization(policy, search_path)
    assert sorted((f.code, f.subject) for f in findings) == [
        ("standardize-code-changed", "svc.predict"),
        ("standardize-version-skew", "scikit-learn"),
    ]
    skew = next(f for f in findings if f.code == "standardize-version-skew")
    assert skew.kind == "standardize" and skew.severity == "error"
    assert "trained with scikit-learn 1.9.1" in skew.message and "1.8.0" in skew.message
    assert (skew.details["trained"], skew.details["serving"]) == ("1.9.1", "1.8.0")
    changed = next(f for f in findings if f.code == "standardize-code-changed")
    assert changed.details["changed"] == ["predict.py"]


def test_a_package_hash_covers_added_and_removed_files(tmp_path: Path):
    write_files(tmp_path, INFERENCE)
    finder = SourceFinder([str(tmp_path / "code")])
    before = hash_module("svc", finder)
    (tmp_path / "code/svc/postprocess.py").write_text("def round_(x):\n    return x\n")
    (tmp_path / "code/svc/__pycache__").mkdir()
    (tmp_path / "code/svc/__pycache__/predict.cpython-311.pyc").write_bytes(b"\0")
    after = hash_module("svc", SourceFinder([str(tmp_path / "code")]))
    assert before["sha256"] != after["sha256"]
    assert set(after["files"]) - set(before["files"]) == {"postprocess.py"}


def test_a_missing_package_and_a_missing_fingerprint_are_findings(training):
    root, site, search_path = training
    shutil.rmtree(next(site.glob("numpy-*.dist-info")))
    policy = load_policy(root / "deploy" / "policy.toml")
    assert [(f.code, f.subject) for f in check_standardization(policy, search_path)] == [
        ("standardize-package-missing", "numpy")]
    (root / "artifacts" / "train-env.json").unlink()
    findings = check_standardization(policy, search_path)
    assert [f.code for f in findings] == ["standardize-no-fingerprint"]
    assert "importwall fingerprint -o" in findings[0].message


def test_the_fingerprint_path_is_relative_to_the_policy_file_that_sets_it(training):
    root, _, _ = training
    write_files(root, {"elsewhere/service.toml": """
        version = 1
        extends = ["../deploy/policy.toml"]
    """})
    policy = load_policy(root / "elsewhere" / "service.toml")
    assert policy.section("standardize")["fingerprint"] == \
        str(root / "artifacts" / "train-env.json")


def test_a_file_that_is_not_a_fingerprint_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "env.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(FingerprintError, match="not an importwall fingerprint"):
        read_fingerprint(str(path))


def _other_python() -> str | None:
    """An installed interpreter of another minor version (3.11+: tomllib is built in)."""
    for minor in (12, 13, 11):
        if minor == sys.version_info[1]:
            continue
        found = glob.glob(f"/root/.pyenv/versions/3.{minor}*/bin/python3.{minor}")
        if found:
            return found[0]
    return None


def test_a_python_minor_mismatch_is_reported_against_a_real_other_interpreter(training):
    root, site, search_path = training
    other = _other_python()
    if other is None:
        pytest.skip("no second Python 3.11+ interpreter installed to train with")
    output = root / "artifacts" / "train-env.json"
    made = run_python(["-m", "importwall", "fingerprint", "-o", str(output), "--path",
                       str(root / "code"), "--module", "svc.preprocess", "--module",
                       "svc.predict"], python=other, pythonpath=[site], cwd=root)
    assert made.returncode == 0, made.output
    trained = json.loads(output.read_text())
    assert trained["python"]["version"].split(".")[:2] != \
        [str(n) for n in sys.version_info[:2]]
    assert trained["distributions"]["scikit-learn"] == "1.9.1"

    policy = load_policy(root / "deploy" / "policy.toml")
    findings = check_standardization(policy, search_path)
    assert [f.code for f in findings] == ["standardize-python-skew"]
    assert trained["python"]["version"] in findings[0].message

    checked = run_python(["-m", "importwall", "fingerprint", "--check", "--policy",
                          str(root / "deploy" / "policy.toml"), "--path", str(root / "code")],
                         pythonpath=[site], cwd=root)
    assert checked.returncode == 1, checked.output
    assert "standardize-python-skew" in checked.stdout
    assert "Traceback" not in checked.stderr


def test_check_environment_includes_the_standardization_check(training):
    from importwall.envcheck import check_environment

    root, site, search_path = training
    _fake_distribution(site, "numpy", "2.0.0")
    policy = load_policy(root / "deploy" / "policy.toml")
    findings = check_environment(policy, run=None, nvml=None, search_path=search_path)
    assert [(f.kind, f.code, f.subject) for f in findings] == [
        ("standardize", "standardize-version-skew", "numpy")]


def test_an_unwritable_output_is_a_clear_error(tmp_path: Path):
    result = run_python(["-m", "importwall", "fingerprint", "-o",
                         str(tmp_path / "missing" / "env.json")])
    assert result.returncode == 2
    assert "cannot write the fingerprint" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_module_arguments_the_policy_names_the_modules(training):
    root, site, _ = training
    result = run_python(["-m", "importwall", "fingerprint", "--policy",
                         str(root / "deploy" / "policy.toml"), "--path", str(root / "code")],
                        pythonpath=[site], cwd=root)
    assert result.returncode == 0, result.output
    data = json.loads(result.stdout)
    assert sorted(data["modules"]) == ["svc.predict", "svc.preprocess"]
    assert data["distributions"]["numpy"] == "2.1.0"


# The console script runs with its own folder first on sys.path, not the current folder:
# this is how `importwall ...` starts, which `python -m importwall` would hide.
CONSOLE_SCRIPT = ("import os, sys\n"
                  "sys.path[0] = os.path.dirname(sys.executable)\n"
                  "from importwall.cli.main import main\n"
                  "raise SystemExit(main(sys.argv[1:]))\n")


def _standardize_findings(root: Path, site: Path, cwd: Path, *args: str) -> list[str]:
    result = run_python(["-c", CONSOLE_SCRIPT, *args, "--policy",
                         str(root / "deploy" / "policy.toml"), "-f", "json"],
                        pythonpath=[site], cwd=cwd)
    assert result.returncode in (0, 1), result.output
    return sorted(f"{f['code']} {f['subject']}" for f in json.loads(result.stdout)["findings"]
                  if f["kind"] == "standardize")


@pytest.mark.parametrize("where", ["current folder", "--path"])
def test_audit_finds_the_inference_modules_where_fingerprint_check_does(training, where):
    """Both commands look in --path folders, then the current folder, then sys.path."""
    root, site, _ = training
    cwd, extra = ((root / "code", ()) if where == "current folder"
                  else (root, ("--path", str(root / "code"))))
    checked = _standardize_findings(root, site, cwd, "fingerprint", "--check", *extra)
    audited = _standardize_findings(root, site, cwd, "audit", *extra)
    assert checked == audited == []
    # Somewhere else, neither finds them, and both say so the same way.
    elsewhere = _standardize_findings(root, site, root / "deploy", "audit")
    assert elsewhere == _standardize_findings(root, site, root / "deploy", "fingerprint",
                                              "--check")
    assert elsewhere == ["standardize-module-missing svc.predict",
                         "standardize-module-missing svc.preprocess"]
