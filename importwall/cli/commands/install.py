"""``importwall install [--user | --venv PATH] [--sitecustomize]``"""

from __future__ import annotations

import argparse

from importwall import exitcodes
from importwall.cli.options import note
from importwall.inject import install_pth, install_sitecustomize, resolve_target

DESCRIPTION = ("Write a one-line importwall.pth (or, with --sitecustomize, a sitecustomize.py) "
               "into site-packages. It does nothing unless IMPORTWALL_POLICY is set. Default "
               "target: this interpreter's site-packages.")


def target_arguments(parser: argparse.ArgumentParser) -> None:
    """Where to install, or uninstall from (shared with ``uninstall``)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true",
                       help="the user site-packages of this interpreter")
    where.add_argument("--venv", metavar="PATH",
                       help="the virtual environment at PATH (asks its own interpreter "
                            "where its site-packages is)")


def configure(parser: argparse.ArgumentParser) -> None:
    target_arguments(parser)
    parser.add_argument("--sitecustomize", action="store_true",
                        help="install a sitecustomize.py that chains to any existing one, "
                             "instead of the .pth file")


def run(args: argparse.Namespace) -> int:
    target = resolve_target(args.user, args.venv)
    path = install_sitecustomize(target) if args.sitecustomize else install_pth(target)
    note(args, f"installed {path} ({target.label}); it activates the firewall in every "
               "Python process started with IMPORTWALL_POLICY set")
    return exitcodes.CLEAN
