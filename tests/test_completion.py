"""``importwall completion``: scripts generated from the parser by shtab. The bash script
is sourced in a real bash and asked for completions the way readline asks; the zsh and
fish scripts are parsed by their shells (each test skips where its shell is absent)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import run_python

BASH_COMPLETE = r"""
source "$1"
shift
function_name=$(complete -p importwall | sed -E 's/.* -F ([^ ]+) .*/\1/')
COMP_WORDS=("$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
"$function_name" importwall "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


def completion_script(shell: str, folder: Path) -> Path:
    result = run_python(["-m", "importwall", "completion", shell], cwd=folder)
    assert result.returncode == 0, result.output
    assert result.stdout.strip(), "an empty script"
    path = folder / f"importwall.{shell}"
    path.write_text(result.stdout, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    return completion_script("bash", tmp_path_factory.mktemp("completion"))


def complete(script: Path, *words: str, cwd: Path | None = None) -> list[str]:
    """What bash offers for the last of ``words`` (``""`` for a new word)."""
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", BASH_COMPLETE, "bash",
                           str(script), "importwall", *words],
                          capture_output=True, text=True, timeout=60, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


def test_bash_completes_commands_options_choices_and_files(bash_script: Path,
                                                           tmp_path: Path) -> None:
    assert complete(bash_script, "au") == ["audit"]
    assert set(complete(bash_script, "")) >= {"audit", "run", "report", "check", "scan",
                                              "scan-model", "fingerprint", "completion"}
    assert set(complete(bash_script, "report", "--da")) == {"--data-dir", "--data"}
    assert "--quiet" in complete(bash_script, "scan", "--q")
    assert complete(bash_script, "completion", "") == ["bash", "zsh", "fish"]
    assert complete(bash_script, "audit", "--fail-on", "w") == ["warning"]
    (tmp_path / "serving.toml").write_text("version = 1\n", encoding="utf-8")
    (tmp_path / "records").mkdir()
    assert complete(bash_script, "check", "--policy", "serv", cwd=tmp_path) == ["serving.toml"]
    assert complete(bash_script, "report", "--data-dir", "rec", cwd=tmp_path) == ["records"]


@pytest.mark.parametrize(("shell", "check"), [("zsh", ["zsh", "-n"]),
                                              ("fish", ["fish", "--no-execute"])])
def test_zsh_and_fish_scripts_parse(shell: str, check: list[str], tmp_path: Path) -> None:
    if shutil.which(check[0]) is None:
        pytest.skip(f"{shell} is not installed (.ci/install-system-deps installs it)")
    script = completion_script(shell, tmp_path)
    text = script.read_text(encoding="utf-8")
    assert "scan-model" in text and "--data-dir" in text
    proc = subprocess.run([*check, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_an_unknown_shell_is_a_usage_error(tmp_path: Path) -> None:
    result = run_python(["-m", "importwall", "completion", "tcsh"], cwd=tmp_path)
    assert result.returncode == 2 and "invalid choice: 'tcsh'" in result.stderr
