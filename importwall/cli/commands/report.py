"""``importwall report [--data-dir DIR]``: combine the record files of a data dir;
``importwall report --follow [DIR]``: show what processes record there, as they do."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import TYPE_CHECKING

from importwall import exitcodes
from importwall.cli.options import (
    data_dir_argument,
    exit_status,
    fail_on_argument,
    load_cli_policy,
    note,
    output_arguments,
    policy_argument,
    report_settings,
    write_cli_report,
)
from importwall.errors import UsageError
from importwall.findings import Finding
from importwall.policy import Policy
from importwall.runtime.api import resolve_data_dir
from importwall.runtime.record_reader import ProcessInfo
from importwall.settings import ENV_DATA_DIR

if TYPE_CHECKING:
    from importwall.report.follow import Hits

DESCRIPTION = ("Read every per-process record file in DIR, de-duplicate the findings across "
               "processes, and write one report.")


def configure(parser: argparse.ArgumentParser) -> None:
    data_dir_argument(parser, "the data dir holding the record files (default: $DATA_DIR, "
                              "else the policy's \\[report] data_dir; --data and -d are "
                              "older spellings)", aliases=("--data", "-d"))
    policy_argument(parser)
    output_arguments(parser)
    fail_on_argument(parser)
    follow = parser.add_argument_group("live view (--follow)")
    follow.add_argument("--follow", nargs="?", const="", metavar="DIR",
                        help="show each process and finding as it is recorded in DIR (default: "
                             "as --data-dir), until Ctrl-C; --format text (default) or json")
    follow.add_argument("--interval", type=float, default=1.0, metavar="SECONDS",
                        help="how often to look for new records (default: 1)")
    follow.add_argument("--duration", type=float, metavar="SECONDS",
                        help="stop following after SECONDS (default: until Ctrl-C)")
    follow.add_argument("--from-start", action="store_true",
                        help="also show what the files held when following started")


def run(args: argparse.Namespace) -> int:
    from importwall.policy.discovery import discover_policy
    from importwall.report.model import load_records, rule_labels
    from importwall.runtime.record_reader import record_files

    # The policy is optional here: records can be combined without one.
    policy = load_cli_policy(args.policy) if discover_policy(args.policy) else None
    data_dir = args.follow or args.data_dir or resolve_data_dir(policy)
    if not data_dir:
        raise UsageError(f"importwall report: no data dir; pass --data-dir DIR, set "
                         f"${ENV_DATA_DIR}, or set [report] data_dir in the policy, to the "
                         "folder the processes wrote their records to")
    if args.follow is not None:
        return _follow(args, policy, data_dir)
    if not os.path.isdir(data_dir):
        raise UsageError(f"importwall report: data dir {data_dir!r} does not exist; it is "
                         "created by the first process the firewall starts in")
    fmt, output, fail_on = report_settings(args, policy)
    report = load_records(data_dir, policy=policy.path if policy else None,
                          rules=rule_labels(policy) if policy else (), generated=time.time())
    if not record_files(data_dir):
        print(f"importwall: warning: no record files in {data_dir!r}", file=sys.stderr)
    write_cli_report(report, fmt, output, args)
    return exit_status(report, fail_on)


FOLLOW_FORMATS = ("text", "json")


def _follow(args: argparse.Namespace, policy: Policy | None, data_dir: str) -> int:
    """Print each new process and finding of ``data_dir`` until Ctrl-C or ``--duration``;
    the exit status is ``--fail-on``'s over the findings shown."""
    from importwall.report.follow import Follower

    fmt = args.format or "text"  # the policy's [report] formats are for whole reports
    if fmt not in FOLLOW_FORMATS or args.output:
        raise UsageError("importwall report --follow: writes text or json lines to standard "
                         f"output; got --format {fmt!r}{' and --output' if args.output else ''}")
    if not 0.05 <= args.interval <= 3600:
        raise UsageError("importwall report --follow: --interval must be between 0.05 and "
                         "3600 seconds")
    fail_on = report_settings(args, policy)[2]
    follower = Follower(os.path.abspath(data_dir), from_start=args.from_start)
    deadline = None if args.duration is None else time.monotonic() + args.duration
    if not os.path.isdir(data_dir):
        note(args, f"waiting for {data_dir!r}: the first process the firewall starts in "
                   "creates it")
    else:
        note(args, f"following {data_dir!r} (Ctrl-C to stop)")
    shown = failing = 0
    try:
        while True:
            for event in follower.poll():
                # counted before it is printed: a Ctrl-C that lands just after a line is
                # written must not leave that line out of the summary and the exit status
                if isinstance(event, Finding):
                    shown += 1
                    failing += event.at_least(fail_on)
                print(_follow_line(event, fmt), flush=True)
            if deadline is not None and time.monotonic() >= deadline:
                break
            pause = args.interval if deadline is None else min(
                args.interval, max(0.0, deadline - time.monotonic()))
            time.sleep(pause)
    except KeyboardInterrupt:
        pass  # the way a live view is stopped: not an error
    except BrokenPipeError:  # `... | head`: the reader is gone; say nothing more there
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exitcodes.CLEAN
    note(args, f"{shown} finding(s) shown, {failing} at or above {fail_on}")
    return exitcodes.FINDINGS if failing else exitcodes.CLEAN


def _follow_line(event: ProcessInfo | Finding | Hits, fmt: str) -> str:
    from importwall.report.follow import Hits

    if isinstance(event, Hits):
        seen = event.finding
        if fmt == "json":
            return json.dumps({"type": "hits", "hits": seen.hits, "finding": seen.to_dict()},
                              sort_keys=True)
        when = time.strftime("%H:%M:%S", time.localtime(event.timestamp))
        return (f"{when}  {'HITS':<7}  {seen.code}  {seen.subject}  {seen.host}:{seen.pid}  "
                f"seen {seen.hits} times in this process")
    if fmt == "json":
        record = ({"type": "finding", "finding": event.to_dict()} if isinstance(event, Finding)
                  else {"type": "process", **event.to_dict()})
        return json.dumps(record, sort_keys=True)
    if isinstance(event, ProcessInfo):
        when = time.strftime("%H:%M:%S", time.localtime(event.started))
        family = (f"  forked from {event.forked_from}" if event.forked_from is not None
                  else f"  parent {event.parent_pid}" if event.parent_pid is not None else "")
        runs = event.runs or event.program or "python"
        return (f"{when}  process  {event.host}:{event.pid}  {runs}{family}  "
                f"mode={event.mode or '?'}  policy={event.policy or '?'}")
    when = time.strftime("%H:%M:%S", time.localtime(event.timestamp))
    return (f"{when}  {event.severity.upper():<7}  {event.code}  {event.subject}  "
            f"{event.host}:{event.pid}  {event.message}")
