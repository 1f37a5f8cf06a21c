"""``importwall run [--policy P] [--mode M] [--data-dir D] -- CMD ...``"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from importwall import exitcodes
from importwall.cli.options import (
    command_after_dashes,
    command_argument,
    firewall_arguments,
    firewall_environ,
    load_cli_policy,
)
from importwall.errors import UsageError
from importwall.runtime import supervise
from importwall.runtime.api import resolve_data_dir
from importwall.runtime.propagate import child_environment
from importwall.settings import ENV_MODE

DESCRIPTION = ("Run CMD with the firewall active in every Python process it starts. Exits "
               "with CMD's exit status; in audit mode with a data dir, 3 when CMD succeeded "
               "but some of its processes could not write all their findings.")


def configure(parser: argparse.ArgumentParser) -> None:
    firewall_arguments(parser, "write every process's findings into DIR (sets $DATA_DIR; "
                               "combine them later with `importwall report --data-dir DIR`)")
    command_argument(parser, "the command to run")


def run(args: argparse.Namespace) -> int:
    cmd = command_after_dashes(list(args.cmd))
    if not cmd:
        raise UsageError("importwall run: no command given; usage: importwall run "
                         "[--policy POLICY] [--mode MODE] -- CMD [ARGS ...]")
    # Its warnings are printed by the start-up hook of the command's Python processes, one
    # line each per process: said here too, they would come twice for one process.
    policy = load_cli_policy(args.policy, warn=False)
    env = child_environment(policy, args.mode, firewall_environ(args))
    program = shutil.which(cmd[0], path=env.get("PATH"))
    if program is None:
        raise UsageError(f"importwall run: command not found: {cmd[0]!r}")
    sys.stdout.flush()
    sys.stderr.flush()
    if env.get(ENV_MODE) == "audit" and resolve_data_dir(policy, env) and supervise.supported():
        return _run_and_count_losses(program, cmd, env)
    os.execve(program, cmd, env)
    return exitcodes.CLEAN  # pragma: no cover - execve does not return


def _run_and_count_losses(program: str, cmd: list[str], env: dict[str, str]) -> int:
    """Audit mode: stay as CMD's parent (signals passed on, its exit status kept) to learn
    whether any of its processes could not write its findings; exit 3 if so and CMD
    itself succeeded. See :mod:`importwall.runtime.supervise`."""
    from importwall.runtime.losses import LossListener, summary

    with LossListener() as listener:
        env.update(listener.environment())
        code = supervise.run_and_wait(program, cmd, env, poll=listener.drain)
        losses = listener.drain()
    if losses:
        print(f"importwall run: {summary(losses)}", file=sys.stderr)
        if code == exitcodes.CLEAN:
            code = exitcodes.INCOMPLETE
    return supervise.exit_like(code)
