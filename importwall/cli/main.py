"""The ``importwall`` command: a small registry of subcommands.

Each command module has a ``register(registry)`` hook that adds its subcommands; the
modules are listed once, in :data:`COMMAND_MODULES`, and imported only when the parser is
built. :func:`main` parses, dispatches and turns errors into exit statuses.

Exit statuses are named in :mod:`importwall.exitcodes`: 0 clean, 1 findings at or above
the failing severity, 2 usage or policy error. Errors print as one readable paragraph;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from importwall import __version__, exitcodes
from importwall._api import ENV_POLICY
from importwall.errors import ImportWallError
from importwall.findings import SEVERITIES
from importwall.policy import Policy, PolicyWarning
from importwall.report import Report

__all__ = ["COMMAND_MODULES", "Command", "Registry", "UsageError", "build_parser", "main"]

COMMAND_MODULES = (
    "importwall.audit",
    "importwall.commands",
    "importwall.install",
    "importwall.scan",
    "importwall.fingerprint",
    "importwall.modelscan",
)
"""Modules whose ``register(registry)`` adds subcommands, in the order help lists them."""

Handler = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]


class UsageError(ImportWallError):
    """The command line asks for something importwall cannot do."""

    code = "usage"


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    help: str
    description: str | None = None
    configure: Configure | None = None


class Registry:
    """The subcommands, by name, in the order they were registered."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}

    def add(self, name: str, handler: Handler, *, help: str, description: str | None = None,
            configure: Configure | None = None) -> None:
        if name in self.commands:
            raise ValueError(f"importwall command {name!r} is registered twice")
        self.commands[name] = Command(name, handler, help, description, configure)


def load_registry(modules: Sequence[str] = COMMAND_MODULES) -> Registry:
    registry = Registry()
    for module in modules:
        importlib.import_module(module).register(registry)
    return registry


def _formatter() -> type[argparse.HelpFormatter]:
    try:
        from rich_argparse import RichHelpFormatter
    except ImportError:  # pragma: no cover - rich-argparse is a dependency
        return argparse.HelpFormatter
    return RichHelpFormatter


def build_parser(registry: Registry | None = None) -> argparse.ArgumentParser:
    registry = registry or load_registry()
    formatter = _formatter()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks for errors instead of one-paragraph messages")
    parser = argparse.ArgumentParser(
        prog="importwall", formatter_class=formatter,
        description="A runtime import firewall for machine-learning serving: keep training "
                    "code and configuration out of production.",
        epilog="Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or policy "
               "error.")
    parser.add_argument("--version", action="version", version=f"importwall {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks for errors instead of one-paragraph messages")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in registry.commands.values():
        sub = commands.add_parser(command.name, help=command.help, parents=[common],
                                  description=command.description or command.help,
                                  formatter_class=formatter)
        if command.configure is not None:
            command.configure(sub)
        sub.set_defaults(handler=command.handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``importwall ARGS``; return the exit status (never raises, unless ``--debug``)."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # argparse: --help, --version, or a usage error
            return stop.code if isinstance(stop.code, int) else exitcodes.USAGE
        if args.command is None:
            parser.print_help()
            return exitcodes.USAGE
        handler: Handler = args.handler
        return handler(args)
    except ImportWallError as error:
        if debug:
            raise
        _print_error(str(error))
        return exitcodes.USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if debug:
            raise
        _print_error(f"importwall: unexpected error: {type(error).__name__}: {error}. This "
                     "is a bug in importwall; run again with --debug for the traceback and "
                     "report it.")
        return exitcodes.USAGE


def _print_error(message: str) -> None:
    text = message if message.startswith("importwall") else f"importwall: {message}"
    print(text, file=sys.stderr)


# --------------------------------------------------------------------------- shared arguments


def policy_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy", "-p", metavar="POLICY",
        help=f"policy file or shipped pack name (default: ${ENV_POLICY}, then "
             # rich-argparse reads help as markup: escape the TOML table name.
             "\\[tool.importwall] in pyproject.toml, then importwall.toml, searching upwards)")


def fail_on_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                        help="exit 1 when a finding is at least this severe: "
                             f"{', '.join(SEVERITIES)} (default: the policy's [report] fail_on, "
                             "else error)")


def output_arguments(parser: argparse.ArgumentParser) -> None:
    from importwall.reportwriter import FORMATS

    parser.add_argument("--format", "-f", metavar="FORMAT",
                        help=f"report format: {', '.join(FORMATS)} (default: the policy's "
                             "[report] formats, else text)")
    parser.add_argument("--output", "-o", metavar="PATH",
                        help="write the report here, atomically ('-' for standard output, "
                             "the default)")


def load_cli_policy(reference: str | None) -> Policy:
    """The policy a command uses (see :mod:`importwall.discovery`); policy warnings are
    printed as ``importwall: warning:`` lines."""
    from importwall.discovery import discover_policy, searched_description
    from importwall.policy import load_policy

    found = discover_policy(reference)
    if found is None:
        raise UsageError("importwall: no policy given, and none found; looked at "
                         f"{searched_description()}. "
                         "Pass --policy PATH (or a shipped pack name such as serving-base), "
                         "or add a [tool.importwall] table to pyproject.toml.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PolicyWarning)
        policy = load_policy(found)
    for warning in caught:
        print(f"importwall: warning: {warning.message}", file=sys.stderr)
    return policy


def report_settings(args: argparse.Namespace, policy: Policy | None
                    ) -> tuple[str, str, str]:
    """(format, output, fail_on): the command line, else the policy's ``[report]``
    section, else text to standard output failing on errors."""
    section = policy.section("report") if policy is not None else {}
    formats = section.get("formats") or ("text",)
    fmt = args.format or formats[0]
    output = args.output or section.get("output") or "-"
    fail_on = args.fail_on or section.get("fail_on") or "error"
    return str(fmt), str(output), str(fail_on)


def exit_status(report: Report, fail_on: str) -> int:
    return exitcodes.FINDINGS if report.fails(fail_on) else exitcodes.CLEAN


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
