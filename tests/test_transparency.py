"""Transparency: a real third-party test suite gives the same results with the firewall
active in audit mode as without it; and a suite that turns warnings into errors
(``filterwarnings = error``) runs as it would without the firewall, in every mode.

iniconfig's own tests (from its sdist) run three times in a fresh virtual environment:
plainly, with ``IMPORTWALL_POLICY`` set (the start-up hook on ``PYTHONPATH``, as a
``sitecustomize`` install would have it), and under ``importwall run``. The policy denies
``iniconfig.exceptions``, which the suite imports constantly, so the firewall demonstrably
judges imports (and records them) while changing nothing.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from helpers import REPO, STARTUP_DIR, clean_env, venv_with_packages

pytestmark = pytest.mark.slow

LIBRARY = "iniconfig"
VERSION = "2.3.1"
BUILD_REQUIRES = ("setuptools>=77", "setuptools-scm>=8")
"""Pinned, with its sdist's build requirements: the venv (cached between runs) holds them,
so neither downloading nor installing the sdist builds an isolated environment."""
POLICY = """\
version = 1
mode = "audit"

[imports]
deny = [{ module = "iniconfig.exceptions", reason = "denied only to prove the firewall ran" }]
"""
OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)", re.MULTILINE)


def _pip(python: Path | str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=clean_env())


def _sdist(root: Path, name: str, requirement: str, python: Path | str = sys.executable,
           *options: str) -> tuple[Path, Path]:
    """(the unpacked source, the archive) of ``requirement``'s sdist, downloaded into
    ``root`` by ``python``'s pip; skips when the registry cannot be reached."""
    downloaded = _pip(python, "download", "--no-binary", ":all:", "--no-deps", *options,
                      "--dest", str(root), requirement, cwd=root)
    archives = sorted(root.glob(f"{name}-*.tar.gz"))
    if downloaded.returncode != 0 or not archives:
        pytest.skip(f"the package registry is unreachable: pip download {requirement} "
                    f"failed: {downloaded.stderr.strip().splitlines()[-1:]}")
    with tarfile.open(archives[0]) as archive:
        if sys.version_info >= (3, 12):
            archive.extractall(root, filter="data")
        else:
            archive.extractall(root)
    return root / archives[0].name.removesuffix(".tar.gz"), archives[0]


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the unpacked sdist, the venv's python) with the library and pytest installed."""
    root = tmp_path_factory.mktemp("transparency")
    # pytest brings a wheel of the library; the sdist replaces it below.
    python = venv_with_packages(root / "venv", ["pytest", *BUILD_REQUIRES])
    source, archive = _sdist(root, LIBRARY, f"{LIBRARY}=={VERSION}", python,
                             "--no-build-isolation")
    installed = _pip(python, "install", "--no-deps", "--force-reinstall",
                     "--no-build-isolation", str(archive), cwd=root)
    assert installed.returncode == 0, installed.stderr
    (source / "importwall.toml").write_text(POLICY, encoding="utf-8")
    return source, python


def _outcomes(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[dict[str, str], str]:
    proc = subprocess.run(command, cwd=cwd, env=clean_env(env), capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    output = proc.stdout + proc.stderr
    results = {test: outcome for outcome, test in OUTCOME.findall(proc.stdout)}
    assert results, output
    return results, f"exit {proc.returncode}\n{output}"


def test_the_suite_gives_the_same_results_with_the_firewall_in_audit_mode(
        suite: tuple[Path, Path], tmp_path: Path) -> None:
    source, python = suite
    pytest_args = [str(python), "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
                   "testing"]
    policy = str(source / "importwall.toml")
    plain, plain_log = _outcomes(pytest_args, source, {})
    assert "passed" in plain_log and plain_log.startswith("exit 0"), plain_log

    hook_data = tmp_path / "hook"
    hooked, hooked_log = _outcomes(
        pytest_args, source, {"IMPORTWALL_POLICY": policy, "IMPORTWALL_DATA_DIR": str(hook_data),
                              "PYTHONPATH": str(STARTUP_DIR)})
    run_data = tmp_path / "run"
    wrapped, wrapped_log = _outcomes(
        [sys.executable, "-m", "importwall", "run", "--policy", policy, "--mode", "audit",
         "--", *pytest_args], source, {"IMPORTWALL_DATA_DIR": str(run_data)})

    assert hooked == plain, hooked_log
    assert wrapped == plain, wrapped_log
    assert hooked_log.splitlines()[0] == wrapped_log.splitlines()[0] == "exit 0"
    # The firewall was there and judged the suite's imports, in both routes.
    for data in (hook_data, run_data):
        records = "".join(p.read_text() for p in data.glob("*.jsonl"))
        assert '"subject": "iniconfig.exceptions"' in records, (data, hooked_log, wrapped_log)


# --------------------------------------------------------------------------- filterwarnings = error

STRICT_LIBRARY = "pluggy"
"""Its suite sets ``filterwarnings = error`` (``tox.ini``), and it is a pytest dependency, so
installing its sdist replaces the copy pytest runs on with the same code."""
STRICT_POLICIES = {
    "audit": 'version = 1\n[imports]\ndeny = [{ module = "pluggy._tracing" }]\n',
    "warn": 'version = 1\n[imports]\ndeny = [{ module = "pluggy._tracing" }]\n',
    # enforce: a rule the suite never meets, so that every test can pass.
    "enforce": 'version = 1\n[imports]\ndeny = [{ module = "optuna" }]\n',
}
SUMMARY = re.compile(r"^=+ (.*) in [\d.]+s", re.MULTILINE)


@pytest.fixture(scope="module")
def warnings_are_errors(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(pluggy's unpacked sdist, a venv's python) with pytest, importwall (installed, so
    that its ``pytest11`` entry point is registered) and that sdist installed."""
    root = tmp_path_factory.mktemp("warnings-are-errors")
    source, archive = _sdist(root, STRICT_LIBRARY, f"{STRICT_LIBRARY}==1.7.0")
    assert "error" in (source / "tox.ini").read_text(), "the suite no longer sets error"
    python = venv_with_packages(root / "venv", ["pytest", str(REPO), str(archive)])
    return source, python


@pytest.mark.parametrize("mode", ["audit", "warn", "enforce"])
def test_a_suite_that_turns_warnings_into_errors_runs_as_without_the_firewall(
        warnings_are_errors: tuple[Path, Path], tmp_path: Path, mode: str) -> None:
    """pytest marks every package of a pytest11 plugin for assertion rewriting and warns
    about one already imported; under `importwall run` that was importwall itself, and the
    suite's own `filterwarnings = error` stopped it before its first test."""
    source, python = warnings_are_errors
    pytest_args = [str(python), "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"]
    plain, plain_log = _outcomes(pytest_args, source, {})
    assert plain_log.startswith("exit 0") and len(plain) > 200, plain_log
    policy = tmp_path / "policy.toml"
    policy.write_text(STRICT_POLICIES[mode], encoding="utf-8")
    data = tmp_path / "data"
    wrapped, wrapped_log = _outcomes(
        [str(python), "-m", "importwall", "run", "--policy", str(policy), "--mode", mode,
         "--data-dir", str(data), "--", *pytest_args], source, {})
    assert "Module already imported so cannot be rewritten" not in wrapped_log, wrapped_log
    assert wrapped == plain, wrapped_log
    assert wrapped_log.startswith("exit 0"), wrapped_log
    # The same summary line: no extra warning either.
    assert SUMMARY.findall(wrapped_log) == SUMMARY.findall(plain_log), wrapped_log
    records = "".join(p.read_text() for p in data.glob("*.jsonl"))
    assert '"type": "process"' in records, wrapped_log  # the firewall ran in the suite
    if mode != "enforce":
        assert '"subject": "pluggy._tracing"' in records, wrapped_log
