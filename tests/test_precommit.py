"""The integrations users copy: the pre-commit hooks, run by pre-commit itself in a
temporary git repository, with this checkout as the hook repository; the GitHub Actions
workflow and the GitLab job, validated against those services' own schemas
(check-jsonschema's vendored copies) and pointed at the right commands.

pre-commit and check-jsonschema live in a venv of their own (cached between runs);
pre-commit installs importwall into its hook environment from the hook repository, as it
would from a release. Marked ``slow``: the first run installs from the registry."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import REPO, venv_with_packages, write_files

pytestmark = pytest.mark.slow

GIT = ("git", "-c", "user.name=importwall tests", "-c", "user.email=tests@importwall.invalid",
       "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main")
USER_PROJECT = {
    "svc/__init__.py": "",
    "svc/app.py": "def handle():\n    import svc.training\n",
    "svc/training.py": "",
    "importwall.toml": """
        version = 1
        [imports]
        deny = [{ module = "svc.training", reason = "training code stays out of serving" }]
        """,
}


def git(*args: str, cwd: Path) -> str:
    proc = subprocess.run([*GIT, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the pre-commit and check-jsonschema scripts."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    python = venv_with_packages(tmp_path_factory.mktemp("tools"),
                                ["pre-commit", "check-jsonschema"])
    return python.parent


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout as pre-commit sees a hook repository: its files (tracked, and
    untracked but not ignored, so that work in progress is what is tested) committed in a
    fresh repository; that repository and the commit."""
    root = tmp_path_factory.mktemp("hook-repo")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "snapshot for the pre-commit test", cwd=root)
    return root, git("rev-parse", "HEAD", cwd=root)


@pytest.fixture
def user_repo(tmp_path: Path, hook_repo: tuple[Path, str]) -> Path:
    repo, rev = hook_repo
    write_files(tmp_path, {**USER_PROJECT, ".pre-commit-config.yaml": f"""
        repos:
          - repo: {repo}
            rev: {rev}
            hooks:
              - id: importwall-check
              - id: importwall-scan
                args: [svc.app, --policy, importwall.toml]
        """})
    git("init", "-q", cwd=tmp_path)
    git("add", "-A", cwd=tmp_path)
    return tmp_path


def pre_commit(tools: Path, repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IMPORTWALL_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")
    proc = subprocess.run([str(tools / "pre-commit"), "run", "--all-files"], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)
    if proc.returncode == 3 and "CalledProcessError" in proc.stdout + proc.stderr:
        output = (proc.stdout + proc.stderr).strip().splitlines()
        pytest.skip(f"pre-commit could not install the hook environment: {output[-1:]}")
    return proc


def outcome(output: str, hook: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith(hook))
    return line.rsplit(".", 1)[-1].strip()


def test_the_hooks_fail_on_a_broken_policy_and_a_denied_chain_and_pass_when_fixed(
        tools: Path, user_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("pre-commit-home")
    first = pre_commit(tools, user_repo, home)
    output = first.stdout + first.stderr
    assert first.returncode == 1, output
    assert outcome(output, "importwall check (policy files)") == "Passed"
    assert outcome(output, "importwall scan") == "Failed"
    assert "svc.training" in output and "svc/app.py" in output
    policy = user_repo / "importwall.toml"
    policy.write_text(policy.read_text().replace("version = 1", 'version = 1\nmode = "block"'))
    (user_repo / "svc" / "app.py").write_text("def handle():\n    return 1\n")
    git("add", "-A", cwd=user_repo)
    broken = pre_commit(tools, user_repo, home)
    output = broken.stdout + broken.stderr
    assert broken.returncode == 1, output
    assert outcome(output, "importwall check (policy files)") == "Failed"
    assert "importwall.toml:2: mode: must be one of" in output
    policy.write_text(policy.read_text().replace('mode = "block"', 'mode = "audit"'))
    git("add", "-A", cwd=user_repo)
    fixed = pre_commit(tools, user_repo, home)
    output = fixed.stdout + fixed.stderr
    assert fixed.returncode == 0, output
    assert outcome(output, "importwall check (policy files)") == "Passed"
    assert outcome(output, "importwall scan") == "Passed"


def test_the_hook_manifest_is_valid(tools: Path) -> None:
    proc = subprocess.run([str(tools / "pre-commit"), "validate-manifest",
                           str(REPO / ".pre-commit-hooks.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("template", "schema"), [
    ("github-actions.yml", "vendor.github-workflows"), ("gitlab-ci.yml", "vendor.gitlab-ci")])
def test_the_ci_templates_are_valid_and_run_the_audit_and_the_scan(
        tools: Path, template: str, schema: str) -> None:
    path = REPO / "docs" / "ci" / template
    proc = subprocess.run([str(tools / "check-jsonschema"), "--builtin-schema", schema,
                           str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = path.read_text(encoding="utf-8")
    assert "importwall scan" in text and "importwall audit" in text
    assert "-f sarif -o importwall.sarif" in text
    if template == "github-actions.yml":
        assert "github/codeql-action/upload-sarif" in text and "-f github" in text
