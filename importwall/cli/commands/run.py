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
    data_dir_argument,
    load_cli_policy,
    policy_argument,
)
from importwall.errors import UsageError
from importwall.policy import MODES
from importwall.runtime.propagate import child_environment
from importwall.settings import ENV_DATA_DIR, ENV_MODE

DESCRIPTION = ("Run CMD with the firewall active in every Python process it starts. Exits "
               "with CMD's exit status.")


def configure(parser: argparse.ArgumentParser) -> None:
    policy_argument(parser)
    parser.add_argument("--mode", "-m", choices=MODES,
                        help=f"override the policy's mode (default: ${ENV_MODE}, then the "
                             "policy's mode, then enforce)")
    data_dir_argument(parser, "write every process's findings into DIR (sets $DATA_DIR; "
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
    environ = dict(os.environ)
    if args.data_dir:
        environ[ENV_DATA_DIR] = os.path.abspath(args.data_dir)
    env = child_environment(policy, args.mode, environ)
    program = shutil.which(cmd[0], path=env.get("PATH"))
    if program is None:
        raise UsageError(f"importwall run: command not found: {cmd[0]!r}")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(program, cmd, env)
    return exitcodes.CLEAN  # pragma: no cover - execve does not return
