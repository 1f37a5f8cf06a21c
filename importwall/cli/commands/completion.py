"""``importwall completion bash|zsh|fish``: a completion script generated from the
command line itself (with shtab), so that it always knows every command and option."""

from __future__ import annotations

import argparse

from importwall import exitcodes

SHELLS = ("bash", "zsh", "fish")
DESCRIPTION = ("Print a completion script for SHELL, generated from importwall's own "
               "parser. bash: add `eval \"$(importwall completion bash)\"` to ~/.bashrc; "
               "zsh: `importwall completion zsh > \"${fpath[1]}/_importwall\"`; fish: "
               "`importwall completion fish > ~/.config/fish/completions/importwall.fish`.")

_FILES = ("POLICY", "PATH", "FILE", "ENTRYPOINT")
_FOLDERS = ("DIR", "FOLDER")
"""Metavars whose values are completed as files, and as folders."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL",
                        help=f"the shell to complete in: {', '.join(SHELLS)}")


def run(args: argparse.Namespace) -> int:
    import shtab

    from importwall.cli.main import build_parser

    parser = build_parser(every_command=True)
    _mark_paths(parser, shtab)
    print(shtab.complete(parser, shell=args.shell), end="")
    return exitcodes.CLEAN


def _mark_paths(parser: argparse.ArgumentParser, shtab: object) -> None:
    """Tell shtab which arguments take files or folders (it cannot know from argparse),
    by their metavar, in every command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _mark_paths(sub, shtab)
        elif action.metavar in _FILES:
            action.complete = shtab.FILE  # type: ignore[attr-defined]
        elif action.metavar in _FOLDERS:
            action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
