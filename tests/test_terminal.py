"""Terminal manners, in fresh interpreters as a user's shell runs them: a closed pipe,
wrapping to the terminal (a real pseudo-terminal of a set size), colour by NO_COLOR /
FORCE_COLOR / TERM, ``--quiet`` on every command, notes that say what was written and
what was not run, start-up warnings as one line, and help for every argument."""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pytest
from helpers import STARTUP_DIR, clean_env, run_python

from importwall import exitcodes
from importwall.cli.main import build_parser
from importwall.cli.registry import COMMANDS

ANSI = re.compile(r"\x1b\[[0-9;]*m")
REASON = ("data splitting and hyper-parameter search belong to the training pipeline, "
          "which has its own image, its own credentials and its own release schedule")
SERVICE = {
    "svc/__init__.py": "",
    "svc/app.py": "import svc.training\n",
    "svc/training.py": "",
    "policy.toml": f"""
        version = 1
        [imports]
        deny = [{{ module = "svc.training", reason = "{REASON}" }}]
        """,
}


def iw(project, *args: str, env: dict[str, str] | None = None):
    return project.run(["-m", "importwall", *args], env=env)


def run_into_closed_pipe(project, *args: str) -> subprocess.CompletedProcess[str]:
    """Run importwall with standard output a pipe nobody reads any more (``| head -1``
    after it has its line): the read end is closed before the process starts."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "importwall", *args], cwd=project.root,
                              env=clean_env(pythonpath=[project.root]), stdout=write_end,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                              timeout=60)
    finally:
        os.close(write_end)


@pytest.mark.parametrize("args", [("check", "serving-base", "--show"), ("fingerprint",),
                                  ("scan", "svc.app", "-p", "policy.toml")])
def test_a_closed_pipe_ends_quietly(project, args) -> None:
    project.write(SERVICE)
    proc = run_into_closed_pipe(project, *args)
    assert proc.stderr == ""
    assert proc.returncode == exitcodes.BROKEN_PIPE


def _report_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def _reason_lines(lines: list[str]) -> list[str]:
    """The lines the finding's reason was wrapped into."""
    start = next(i for i, line in enumerate(lines) if line.startswith("  reason: "))
    end = next(i for i, line in enumerate(lines) if line.startswith("  rule at "))
    return lines[start:end]


def test_reports_in_a_pipe_are_never_wrapped(project) -> None:
    project.write(SERVICE)
    # COLUMNS as a runner exports it (pytest-xdist's workers have COLUMNS=80): not a width
    # for a pipe.
    piped = iw(project, "scan", "svc.app", "-p", "policy.toml", env={"COLUMNS": "60"})
    assert piped.returncode == 1, piped.output
    assert _reason_lines(piped.stdout.splitlines()) == [f"  reason: {REASON}"]


def _on_a_terminal(project, columns: int, *args: str, env: dict[str, str]) -> str:
    """Run importwall with standard output a pseudo-terminal ``columns`` wide; what it
    showed there, colour codes included."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    environ = clean_env(env, pythonpath=[project.root])
    if "COLUMNS" not in env:  # as pytest-xdist's workers export it: not this terminal's
        environ.pop("COLUMNS", None)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "importwall", *args],
                                cwd=project.root, env=environ, stdout=follower,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 1
    finally:
        os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.mark.parametrize("columns", [None, "60"])
def test_on_a_terminal_reports_wrap_to_its_width_keeping_their_indent(project,
                                                                      columns) -> None:
    """The terminal's own width (72), or $COLUMNS when set."""
    project.write(SERVICE)
    env = {"COLUMNS": columns} if columns else {}
    shown = ANSI.sub("", _on_a_terminal(project, 72, "scan", "svc.app", "-p", "policy.toml",
                                        env={"TERM": "xterm-256color", **env}))
    width = int(columns or 72)
    lines = _report_lines(shown)
    assert "svc.training" in shown and max(map(len, lines)) <= width
    reason = _reason_lines(lines)
    assert len(reason) > 1, shown
    assert all(line.startswith("  ") and not line.startswith("   ") for line in reason)
    assert " ".join(line.strip() for line in reason) == f"reason: {REASON}"


@pytest.mark.parametrize(("env", "coloured"), [
    ({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False),
    ({"TERM": "dumb", "FORCE_COLOR": "1"}, True), ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
])
def test_on_a_terminal_reports_colour_as_the_variables_say(project, env, coloured) -> None:
    project.write(SERVICE)
    shown = _on_a_terminal(project, 100, "scan", "svc.app", "-p", "policy.toml",
                           env={"TERM": "xterm", **env})
    assert "svc.training" in shown
    assert bool(ANSI.search(shown)) is coloured
    # In a pipe, only FORCE_COLOR colours (and NO_COLOR still wins).
    piped = iw(project, "scan", "svc.app", "-p", "policy.toml", env={"TERM": "xterm", **env})
    assert bool(ANSI.search(piped.stdout)) is ("FORCE_COLOR" in env and coloured)


def test_force_color_colours_a_report_in_a_pipe_but_not_one_in_a_file(project) -> None:
    project.write(SERVICE)
    piped = iw(project, "scan", "svc.app", "-p", "policy.toml", env={"FORCE_COLOR": "1"})
    assert ANSI.search(piped.stdout)
    filed = iw(project, "scan", "svc.app", "-p", "policy.toml", "-o", "report.txt",
               env={"FORCE_COLOR": "1"})
    assert filed.returncode == 1
    written = (project.root / "report.txt").read_text(encoding="utf-8")
    assert "svc.training" in written and not ANSI.search(written)


# --------------------------------------------------------------------------- notes, --quiet


def test_every_command_has_quiet_and_help_for_every_argument() -> None:
    parser = build_parser(every_command=True)
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == set(COMMANDS)
    for name, sub in commands.choices.items():
        options = {o for a in sub._actions for o in a.option_strings}
        assert {"--quiet", "-q"} <= options, name
        for action in sub._actions:
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)


def test_a_report_written_to_a_file_says_where_unless_quiet(project) -> None:
    project.write(SERVICE)
    said = iw(project, "scan", "svc.app", "-p", "policy.toml", "-f", "html", "-o", "r.html")
    assert said.returncode == 1
    assert "importwall: wrote html report to r.html" in said.stderr.splitlines()
    assert said.stdout == ""
    quiet = iw(project, "scan", "-q", "svc.app", "-p", "policy.toml", "-f", "html",
               "-o", "r.html")
    assert quiet.returncode == 1 and quiet.stderr == "" and quiet.stdout == ""
    checked = iw(project, "check", "-q", "policy.toml")
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_audit_without_entry_points_or_a_command_says_nothing_was_run(project) -> None:
    project.write(SERVICE)
    audited = iw(project, "audit", "-p", "policy.toml")
    assert audited.returncode == 0, audited.output
    assert "nothing was run" in audited.stderr
    assert "nothing was run" not in iw(project, "audit", "-p", "policy.toml",
                                       "-e", "svc.app").stderr
    assert iw(project, "audit", "-q", "-p", "policy.toml").stderr == ""


def test_report_takes_data_dir_and_still_the_old_data(project) -> None:
    project.write(SERVICE)
    ran = iw(project, "run", "-p", "policy.toml", "--mode", "audit", "--data-dir", "records",
             "--", sys.executable, "-c", "import svc.app")
    assert ran.returncode == 0, ran.output
    for spelling in ("--data-dir", "--data", "-d"):
        combined = iw(project, "report", spelling, "records", "-f", "json")
        assert combined.returncode == 1, combined.output
        assert '"subject": "svc.training"' in combined.stdout


# --------------------------------------------------------------------------- start-up


def _start(project, policy: str, mode: str | None = None, script: str = "print('ran')"):
    env = {"IMPORTWALL_POLICY": policy, **({"IMPORTWALL_MODE": mode} if mode else {})}
    return project.run(["-c", script], env=env, pythonpath=[STARTUP_DIR, project.root])


def test_start_up_policy_warnings_are_one_line_each_with_the_policy_file_and_line(
        project) -> None:
    policy = project.policy('version = 1\nmode = "warn"\n[environment]\ndeny_vars = ["X"]\n')
    started = _start(project, str(policy))
    assert started.returncode == 0 and started.stdout == "ran\n", started.output
    assert started.stderr.splitlines() == [
        f"importwall: warning: {policy}:4: environment.deny_vars: unknown key; "
        "did you mean 'deny'?"]


def test_under_importwall_run_a_warning_is_said_once_for_one_process(project) -> None:
    policy = project.policy('version = 1\nmode = "audit"\n[imports]\ndenny = ["x"]\n')
    ran = iw(project, "run", "-p", str(policy), "--", sys.executable, "-c", "print('ran')")
    assert ran.returncode == 0 and ran.stdout == "ran\n", ran.output
    assert ran.stderr.splitlines() == [
        f"importwall: warning: {policy}:4: imports.denny: unknown key; did you mean 'deny'?"]


def test_from_python_a_policy_warning_points_at_the_callers_line(project) -> None:
    policy = project.policy('version = 1\n[imports]\ndenny = ["x"]\n')
    script = ("import warnings\nimport importwall\n"
              "with warnings.catch_warnings(record=True) as caught:\n"
              "    warnings.simplefilter('always')\n"
              f"    importwall.activate({str(policy)!r})\n"
              "print([(w.filename, w.lineno, w.category.__name__) for w in caught])\n")
    (project.root / "user_code.py").write_text(script, encoding="utf-8")
    shown = project.run(["user_code.py"])
    assert shown.returncode == 0, shown.output
    assert shown.stdout.strip() == repr([(str(project.root / "user_code.py"), 5,
                                          "PolicyWarning")])


def test_a_bad_mode_variable_says_to_fix_the_variable_not_the_policy(project) -> None:
    policy = project.policy("version = 1\n")
    refused = _start(project, str(policy), mode="block")
    assert refused.returncode == exitcodes.USAGE and "ran" not in refused.stdout
    assert "IMPORTWALL_MODE is 'block'" in refused.stderr
    assert "Set IMPORTWALL_MODE to enforce, warn or audit" in refused.stderr
    assert "Fix the policy" not in refused.stderr
    broken = _start(project, str(project.policy("version = 2\n", name="broken.toml")))
    assert broken.returncode == exitcodes.USAGE and "Fix the policy" in broken.stderr


def test_python_dash_m_and_the_console_script_agree(project) -> None:
    result = run_python(["-m", "importwall", "--help"], cwd=project.root)
    assert result.returncode == 0 and "completion" in result.stdout
