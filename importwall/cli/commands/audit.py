"""``importwall audit [--entrypoint MOD[:ATTR]]... [-- CMD ...]``: every check, one report
(:mod:`importwall.audit`), with a progress display on a terminal."""

from __future__ import annotations

import argparse

from importwall.audit import StepProgress, audit_report, plan, run_steps
from importwall.cli.options import (
    command_after_dashes,
    command_argument,
    exit_status,
    fail_on_argument,
    load_cli_policy,
    note,
    output_arguments,
    path_argument,
    policy_argument,
    report_settings,
    search_path,
    show_progress,
    write_cli_report,
)

DESCRIPTION = ("Run every check: the environment gate, the installed distributions, and the "
               "serving code (each --entrypoint imported in a fresh interpreter, or CMD run) "
               "under the firewall in audit mode; then write one report.")


def configure(parser: argparse.ArgumentParser) -> None:
    policy_argument(parser)
    parser.add_argument("--entrypoint", "-e", action="append", default=[],
                        metavar="MOD[:ATTR]",
                        help="a serving entry point to import in a fresh interpreter "
                             "(repeatable), e.g. myservice.app:handler")
    path_argument(parser, "the [standardize] modules, the installed distributions and "
                          "the entry points")
    output_arguments(parser)
    fail_on_argument(parser)
    command_argument(parser, "a command to run under the firewall instead of entry points")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

    from importwall.report.writer import reporter

    cmd = command_after_dashes(list(args.cmd))
    steps = plan(list(args.entrypoint), cmd, search_path(args), list(args.path))
    policy = load_cli_policy(args.policy)
    fmt, output, fail_on = report_settings(args, policy)
    reporter(fmt)  # an unknown format is a usage error before any work is done
    if not args.entrypoint and not cmd:
        note(args, "no --entrypoint and no command: nothing was run, so no import was "
                   "checked; only the environment and the installed distributions were. "
                   "Add --entrypoint MOD[:ATTR] or -- CMD ...")
    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), console=console,
                  transient=True, disable=not show_progress(args)) as progress:
        task = progress.add_task("auditing", total=len(steps))

        def show(name: str, index: int, total: int) -> None:
            progress.update(task, description=f"audit: {name}", completed=index)

        shown: StepProgress = show
        result = run_steps(policy, steps, shown)
        progress.update(task, completed=len(steps))
    report = audit_report(policy, result)
    write_cli_report(report, fmt, output, args)
    return exit_status(report, fail_on)

