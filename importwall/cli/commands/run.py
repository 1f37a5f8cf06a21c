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
from importwall.runtime.propagate import child_environment

DESCRIPTION = ("Run CMD with the firewall active in every Python process it starts. Exits "
               "with CMD's exit status.")


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
    os.execve(program, cmd, env)
    return exitcodes.CLEAN  # pragma: no cover - execve does not return
