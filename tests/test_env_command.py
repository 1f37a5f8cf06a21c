"""``importwall env``: the environment it prints activates the firewall exactly as
``importwall run`` does, in every format, whatever characters the paths hold."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, clean_env, run_python

from importwall.cli.commands.env import render
from importwall.errors import UsageError
from importwall.runtime.propagate import STARTUP_DIR, activating_environment

POLICY = """\
version = 1
[imports]
deny = [{ module = "svc.training", reason = "training only" }]
"""
APP = {
    "svc/__init__.py": "",
    "svc/training.py": "VALUE = 1\n",
    "svc/app.py": """
        def handle():
            import svc.training  # a lazy training import in a request handler
            return svc.training.VALUE
        """,
    # The program, and a Python child of it: both must be guarded.
    "app.py": """
        import subprocess, sys
        import svc.app
        child = subprocess.run([sys.executable, "-c", "import svc.training"], check=False)
        print("child exit", child.returncode, flush=True)
        print("served", svc.app.handle())
        """,
}


def _records(data: Path) -> list[tuple]:
    """What a data dir says, without what differs between two runs (pids, times, paths)."""
    findings = []
    for path in sorted(data.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["type"] == "finding":
                found = record["finding"]
                findings.append((found["code"], found["subject"], found["importer"],
                                 tuple((f["module"], Path(f["file"]).name, f["line"])
                                       for f in found["chain"])))
    return sorted(findings)


def _shell(script: str, cwd: Path, shell: str = "bash") -> subprocess.CompletedProcess[str]:
    return subprocess.run([shell, "-c", script], cwd=cwd, env=clean_env(pythonpath=[cwd]),
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("mode", ["enforce", "warn", "audit"])
def test_eval_of_importwall_env_behaves_as_importwall_run(project, mode) -> None:
    project.write(APP)
    project.policy(POLICY)
    python = shlex.quote(sys.executable)
    ran = project.run(["-m", "importwall", "run", "--policy", "policy.toml", "--mode", mode,
                       "--data-dir", "by-run", "--", sys.executable, "app.py"])
    evaluated = _shell(
        f'out=$({python} -m importwall env --policy policy.toml --mode {mode} '
        f'--data-dir by-env) || exit 9; eval "$out"; exec {python} app.py', project.root)
    assert ran.returncode == evaluated.returncode, (ran.output, evaluated.stderr)
    assert ran.stdout == evaluated.stdout
    assert ran.stderr == evaluated.stderr
    by_run, by_env = _records(project.root / "by-run"), _records(project.root / "by-env")
    assert by_run == by_env
    # Both processes (the program and its child) were guarded, and the verdict is the mode's.
    code = {"enforce": "import-blocked", "warn": "import-warned", "audit": "import-recorded"}
    assert len(list((project.root / "by-env").glob("*.jsonl"))) == 2
    assert {c for c, *_ in by_env} == {code[mode]}
    if mode == "enforce":
        assert "child exit 1" in evaluated.stdout
        assert "forbidden by rule deny 'svc.training'" in evaluated.stderr
    else:
        assert "served 1" in evaluated.stdout


NASTY = "it's a \"dir\" $HOME `id` ;&| *\\ x"


@pytest.fixture
def nasty_policy(tmp_path: Path) -> Path:
    folder = tmp_path / NASTY
    folder.mkdir()
    policy = folder / "serving policy.toml"
    policy.write_text(POLICY)
    return policy


def _env_output(cwd: Path, policy: Path, *options: str) -> str:
    result = run_python(["-m", "importwall", "env", "--policy", str(policy), *options],
                        cwd=cwd)
    assert result.returncode == 0, result.output
    return result.stdout


_SHOW = f"{shlex.quote(sys.executable)} -c " + shlex.quote(
    "import json, os; print(json.dumps({k: os.environ.get(k) for k in "
    "('IMPORTWALL_POLICY', 'IMPORTWALL_MODE', 'IMPORTWALL_DATA_DIR', 'PYTHONPATH')}))")


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_shell_format_is_quoted_safely(nasty_policy: Path, tmp_path: Path, shell) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"no {shell} here")
    data = nasty_policy.parent / "data $x"
    printed = _env_output(tmp_path, nasty_policy, "--data-dir", str(data))
    (tmp_path / "env.sh").write_text(printed)
    result = _shell(f". ./env.sh; {_SHOW}", tmp_path, shell)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["IMPORTWALL_POLICY"] == str(nasty_policy)
    assert seen["IMPORTWALL_DATA_DIR"] == str(data)
    assert seen["IMPORTWALL_MODE"] == "enforce"
    assert seen["PYTHONPATH"].split(":")[0] == STARTUP_DIR
    assert "uid=" not in result.stdout + result.stderr  # `id` was never run


def test_dotenv_format_reads_back_in_a_posix_shell(nasty_policy: Path, tmp_path: Path) -> None:
    printed = _env_output(tmp_path, nasty_policy, "--format", "dotenv", "--mode", "audit")
    assert all(line.split("=", 1)[0].isidentifier() for line in printed.splitlines())
    (tmp_path / "importwall.env").write_text(printed)
    result = _shell(f"set -a; . ./importwall.env; set +a; {_SHOW}", tmp_path, "sh")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert (seen["IMPORTWALL_POLICY"], seen["IMPORTWALL_MODE"]) == (str(nasty_policy), "audit")


def test_dotenv_values_are_bare_when_plain_for_docker_env_file(project) -> None:
    project.policy(POLICY)
    printed = _env_output(project.root, project.root / "policy.toml", "--format", "dotenv")
    assert f"IMPORTWALL_POLICY={project.root / 'policy.toml'}\n" in printed
    assert '"' not in printed


def test_json_format_is_the_same_environment(nasty_policy: Path, tmp_path: Path) -> None:
    printed = json.loads(_env_output(tmp_path, nasty_policy, "--format", "json", "--log",
                                     "json:logs/findings.jsonl"))
    assert printed["IMPORTWALL_POLICY"] == str(nasty_policy)
    # A log file is made absolute, like the policy and the data dir.
    assert printed["IMPORTWALL_LOG"] == f"json:{tmp_path / 'logs' / 'findings.jsonl'}"
    assert set(printed) == {"IMPORTWALL_POLICY", "IMPORTWALL_MODE", "IMPORTWALL_LOG",
                            "PYTHONPATH"}


def test_pythonpath_is_merged_once(project, monkeypatch) -> None:
    project.policy(POLICY)
    from importwall.policy import load_policy

    policy = load_policy(project.root / "policy.toml")
    first = activating_environment(policy, None, {"PYTHONPATH": "/opt/a:/opt/b"})
    assert first["PYTHONPATH"] == f"{STARTUP_DIR}:/opt/a:/opt/b"
    again = activating_environment(policy, None, {"PYTHONPATH": first["PYTHONPATH"]})
    assert again == first  # eval twice: the same
    assert activating_environment(policy, "warn", {})["PYTHONPATH"] == STARTUP_DIR


def test_a_value_no_environment_file_can_carry_is_refused() -> None:
    with pytest.raises(UsageError, match="line break"):
        render({"IMPORTWALL_POLICY": "/a\nb"}, "dotenv")
    assert json.loads(render({"IMPORTWALL_POLICY": "/a\nb"}, "json"))


def test_a_bad_policy_prints_nothing_to_eval(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("version = 1\n[imports]\ndeny = 3\n")
    result = run_python(["-m", "importwall", "env", "--policy", "bad.toml"], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "bad.toml:3: imports.deny" in result.stderr


def test_the_printed_startup_folder_is_the_source_trees(tmp_path: Path) -> None:
    assert Path(STARTUP_DIR) == REPO / "importwall" / "_startup"
