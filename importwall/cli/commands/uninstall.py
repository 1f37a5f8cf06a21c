"""``importwall uninstall [--user | --venv PATH]``"""

from __future__ import annotations

import argparse

from importwall import exitcodes
from importwall.cli.commands.install import target_arguments
from importwall.cli.options import note
from importwall.inject import resolve_target, uninstall

DESCRIPTION = ("Remove importwall.pth and importwall's sitecustomize.py, restoring the "
               "sitecustomize.py it displaced.")


def configure(parser: argparse.ArgumentParser) -> None:
    target_arguments(parser)


def run(args: argparse.Namespace) -> int:
    target = resolve_target(args.user, args.venv, need_package=False)
    done = uninstall(target)
    for line in done or [f"nothing to remove in {target.site_packages}"]:
        note(args, line)
    return exitcodes.CLEAN
