"""What several commands share on the command line: the policy, the report's format and
destination, the failing severity, the search path, the data dir, the command after
``--``, and how a command says what it did (:func:`note`, silenced by ``--quiet``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from importwall import exitcodes
from importwall.errors import UsageError
from importwall.findings import SEVERITIES
from importwall.policy import MODES, Policy
from importwall.report.model import Report
from importwall.runtime.record_reader import INCOMPLETE
from importwall.settings import ENV_DATA_DIR, ENV_MODE, ENV_POLICY


def policy_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy", "-p", metavar="POLICY",
        help=f"policy file or shipped pack name (default: ${ENV_POLICY}, then "
             # rich-argparse reads help as markup: escape the TOML table name.
             "\\[tool.importwall] in pyproject.toml, then importwall.toml, searching upwards)")


def firewall_arguments(parser: argparse.ArgumentParser, data_dir_help: str) -> None:
    """``--policy``, ``--mode`` and ``--data-dir``: the firewall a command starts others under
    (``run``, ``env``); :func:`firewall_environ` applies them."""
    policy_argument(parser)
    parser.add_argument("--mode", "-m", choices=MODES,
                        help=f"override the policy's mode (default: ${ENV_MODE}, then the "
                             "policy's mode, then enforce)")
    data_dir_argument(parser, data_dir_help)


def firewall_environ(args: argparse.Namespace) -> dict[str, str]:
    """This process's environment with ``--data-dir`` (made absolute) in it."""
    environ = dict(os.environ)
    if args.data_dir:
        environ[ENV_DATA_DIR] = os.path.abspath(args.data_dir)
    return environ


def fail_on_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fail-on", choices=SEVERITIES, metavar="SEVERITY",
                        help="exit 1 when a finding is at least this severe: "
                             f"{', '.join(SEVERITIES)} (default: the policy's [report] fail_on, "
                             "else error)")


def output_arguments(parser: argparse.ArgumentParser) -> None:
    from importwall.report.writer import FORMATS

    parser.add_argument("--format", "-f", metavar="FORMAT",
                        help=f"report format: {', '.join(FORMATS)} (default: the policy's "
                             "[report] formats, else text)")
    parser.add_argument("--output", "-o", metavar="PATH",
                        help="write the report here, atomically ('-' for standard output, "
                             "the default)")


def load_cli_policy(reference: str | None, *, warn: bool = True) -> Policy:
    """The policy a command uses (see :mod:`importwall.policy.discovery`); policy warnings
    are printed as ``importwall: warning:`` lines (unless ``warn`` is false: ``run``
    leaves them to the start-up hook of the processes it starts, which prints them)."""
    from importwall.policy import fasttoml, load_policy
    from importwall.policy.discovery import discover_policy, searched_description

    found = discover_policy(reference)
    if found is None:
        raise UsageError("importwall: no policy given, and none found; looked at "
                         f"{searched_description()}. "
                         "Pass --policy PATH (or a shipped pack name such as serving-base), "
                         "or add a [tool.importwall] table to pyproject.toml.")
    # Not the start-up path: toml-rs reads the TOML where the `fast` extra installed it.
    policy = load_policy(found, warn=False, loads=fasttoml.loads)
    for message in policy.warnings if warn else ():
        print(f"importwall: warning: {message}", file=sys.stderr)
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
    """3 when some process lost findings (the report is incomplete, whatever else it
    says), else 1 for a finding at or above ``fail_on``, else 0."""
    if any(item.finding.code == INCOMPLETE for item in report.items):
        return exitcodes.INCOMPLETE
    return exitcodes.FINDINGS if report.fails(fail_on) else exitcodes.CLEAN


def command_argument(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ...", help=help)


def command_after_dashes(cmd: list[str]) -> list[str]:
    return cmd[1:] if cmd and cmd[0] == "--" else cmd


def note(args: argparse.Namespace, message: str) -> None:
    """Say what a command did, on standard error (a report on standard output stays
    machine-readable), unless ``--quiet``. Warnings and errors are not notes."""
    if not getattr(args, "quiet", False):
        print(f"importwall: {message}", file=sys.stderr)


def write_cli_report(report: Report, fmt: str, output: str, args: argparse.Namespace) -> None:
    """Write ``report``; when it went to a file, say where (as coverage does)."""
    from importwall.report.writer import ALIASES, STDOUT, write_report

    write_report(report, fmt, output)
    if output != STDOUT:
        note(args, f"wrote {ALIASES.get(fmt, fmt)} report to {output}")


def path_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--path", action="append", default=[], metavar="FOLDER",
                        help=f"look for {what} in FOLDER first (repeatable; then the current "
                             "folder, then the interpreter's path)")


def search_path(args: argparse.Namespace) -> list[str]:
    """Where a command looks for modules and distributions: ``--path`` folders, the
    current folder, then ``sys.path`` (whose first entry, the folder of the ``importwall``
    script, is not where anyone's code is)."""
    return [*getattr(args, "path", ()), os.getcwd(), *sys.path[1:]]


def data_dir_argument(parser: argparse.ArgumentParser, help: str,
                      aliases: Sequence[str] = ()) -> None:
    """``--data-dir DIR``, the one spelling of the data dir on every command."""
    parser.add_argument("--data-dir", *aliases, dest="data_dir", metavar="DIR",
                        help=help.replace("$DATA_DIR", f"${ENV_DATA_DIR}"))


def show_progress(args: argparse.Namespace) -> bool:
    """Whether a live progress display may be drawn on standard error: on a real terminal
    that can redraw (not ``TERM=dumb``; ``FORCE_COLOR`` does not make a pipe one), and
    not with ``--quiet`` (or a ``--no-progress`` the command has)."""
    if getattr(args, "quiet", False) or getattr(args, "no_progress", False):
        return False
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
