"""``importwall startup-file``: the ``PYTHONSTARTUP`` script for interactive shells."""

from __future__ import annotations

import argparse

from importwall import exitcodes
from importwall.inject import STARTUP_FILE

DESCRIPTION = ("Print the path of a script for PYTHONSTARTUP. It only runs in interactive "
               "sessions; scripts and servers need `importwall install` or `importwall run`.")


def configure(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(args: argparse.Namespace) -> int:
    print(STARTUP_FILE)
    return exitcodes.CLEAN
