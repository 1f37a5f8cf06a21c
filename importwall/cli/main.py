"""``importwall ARGS``: parse, dispatch to one command, turn errors into exit statuses.

The commands are listed in :data:`importwall.cli.registry.COMMANDS`; only the module of
the command being run is imported (``importwall --help`` imports none of them).

Exit statuses are named in :mod:`importwall.exitcodes`: 0 clean, 1 findings at or above
the failing severity, 2 usage or policy error. Errors print as one readable paragraph;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from importwall import exitcodes
from importwall._version import __version__
from importwall.cli.registry import COMMANDS, load_command
from importwall.errors import ImportWallError

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]
_DEBUG = "--debug"
_DEBUG_HELP = "show tracebacks for errors instead of one-paragraph messages"
_QUIET_HELP = ("print only what was asked for (the report, the JSON, ...), errors and "
               "warnings: no progress and no notes")


def _formatter() -> type[argparse.HelpFormatter]:
    try:
        from rich_argparse import RichHelpFormatter
    except ImportError:  # pragma: no cover - rich-argparse is a dependency
        return argparse.HelpFormatter
    return RichHelpFormatter


def build_parser(chosen: str | None = None, *, every_command: bool = False
                 ) -> argparse.ArgumentParser:
    """The parser, with the options of command ``chosen`` (or, with ``every_command``, of
    all of them: each one's module is then imported)."""
    formatter = _formatter()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(_DEBUG, action="store_true", default=argparse.SUPPRESS,
                        help=_DEBUG_HELP)
    # Every command gets --quiet from here; commands say their notes through
    # importwall.cli.options.note, which honours it.
    common.add_argument("--quiet", "-q", action="store_true", help=_QUIET_HELP)
    parser = argparse.ArgumentParser(
        prog="importwall", formatter_class=formatter,
        description="A runtime import firewall for machine-learning serving: keep training "
                    "code and configuration out of production.",
        epilog="Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or policy "
               "error.")
    parser.add_argument("--version", action="version", version=f"importwall {__version__}")
    parser.add_argument(_DEBUG, action="store_true", help=_DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, info in COMMANDS.items():
        if not (every_command or name == chosen):
            commands.add_parser(name, help=info.summary, parents=[common],
                                formatter_class=formatter)
            continue
        command = load_command(name)
        sub = commands.add_parser(name, help=info.summary, parents=[common],
                                  description=command.DESCRIPTION, formatter_class=formatter)
        command.configure(sub)
        sub.set_defaults(handler=command.run)
    return parser


def _chosen_command(arguments: Sequence[str]) -> str | None:
    """The command named on the command line: the first word that is not an option (the
    top-level options take no values)."""
    for word in arguments:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def _debug_before_parsing(arguments: Sequence[str]) -> bool:
    """``--debug`` among importwall's own words: not in a command after ``--``, which
    belongs to the program being run."""
    end = arguments.index("--") if "--" in arguments else len(arguments)
    return _DEBUG in arguments[:end]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``importwall ARGS``; return the exit status (never raises, unless ``--debug``)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_before_parsing(arguments)
    try:
        parser = build_parser(_chosen_command(arguments))
        try:
            args = parser.parse_args(arguments)
        except SystemExit as stop:  # argparse: --help, --version, or a usage error
            return stop.code if isinstance(stop.code, int) else exitcodes.USAGE
        debug = bool(getattr(args, "debug", False))
        if args.command is None:
            parser.print_help()
            return exitcodes.USAGE
        handler: Handler = args.handler
        status = handler(args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at interpreter exit
        return status
    except BrokenPipeError:
        return _broken_pipe()
    except ImportWallError as error:
        if debug:
            raise
        _print_error(str(error))
        return exitcodes.USAGE
    except KeyboardInterrupt:
        return exitcodes.INTERRUPTED
    except Exception as error:
        if debug:
            raise
        _print_error(f"importwall: unexpected error: {type(error).__name__}: {error}. This "
                     "is a bug in importwall; run again with --debug for the traceback and "
                     "report it.")
        return exitcodes.USAGE


def _broken_pipe() -> int:
    """The reader of our output is gone (``| head -1``): stop quietly, as ``cat`` does.
    Standard output is pointed at devnull so that the interpreter's last flush at exit
    finds nowhere to fail (the recipe of the Python docs, "Note on SIGPIPE")."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor behind sys.stdout
        pass
    return exitcodes.BROKEN_PIPE


def _print_error(message: str) -> None:
    text = message if message.startswith("importwall") else f"importwall: {message}"
    print(text, file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
