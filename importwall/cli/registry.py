"""The command table: every command's name, the module that implements it, and its
one-line summary.

As pip's ``commands_dict``: ``importwall --help`` lists every command from this table
alone, and running a command imports only its module. Each module under
:mod:`importwall.cli.commands` provides::

    DESCRIPTION: str                                   # the command's --help text
    def configure(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...      # the exit status
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from typing import Protocol, cast


@dataclass(frozen=True)
class CommandInfo:
    module: str
    summary: str


_COMMANDS = "importwall.cli.commands."

COMMANDS: dict[str, CommandInfo] = {
    "init": CommandInfo(
        _COMMANDS + "init", "start a policy for this project, in audit mode"),
    "audit": CommandInfo(
        _COMMANDS + "audit",
        "check the environment, installed distributions and serving code; report"),
    "run": CommandInfo(
        _COMMANDS + "run",
        "run a command with the firewall active in it and in every Python child"),
    "report": CommandInfo(
        _COMMANDS + "report", "combine the record files of a data dir into one report"),
    "check": CommandInfo(_COMMANDS + "check", "validate a policy file"),
    "explain": CommandInfo(_COMMANDS + "explain", "say which rule decides a module, and why"),
    "install": CommandInfo(
        _COMMANDS + "install", "activate importwall in every Python process of an environment"),
    "uninstall": CommandInfo(_COMMANDS + "uninstall", "remove what `importwall install` wrote"),
    "startup-file": CommandInfo(
        _COMMANDS + "startup_file", "print the PYTHONSTARTUP script for interactive shells"),
    "env": CommandInfo(
        _COMMANDS + "env",
        "print the environment that activates the firewall, for launchers importwall does "
        "not start"),
    "scan": CommandInfo(
        _COMMANDS + "scan",
        "statically find import chains from entry points to denied modules"),
    "fingerprint": CommandInfo(
        _COMMANDS + "fingerprint", "record this environment for train/serve standardization"),
    "scan-model": CommandInfo(
        _COMMANDS + "scan_model",
        "check pickled models for training-only classes and code execution, without "
        "loading them"),
    "completion": CommandInfo(
        _COMMANDS + "completion", "print a shell completion script (bash, zsh, fish)"),
}
"""Command name -> where it lives and what it does, in the order help lists them."""


class Command(Protocol):
    """What a command module provides."""

    DESCRIPTION: str

    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def load_command(name: str) -> Command:
    """Import the module of command ``name`` (a key of :data:`COMMANDS`)."""
    return cast(Command, importlib.import_module(COMMANDS[name].module))
