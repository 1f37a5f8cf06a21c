"""``importwall report [--data-dir DIR]``: combine the record files of a data dir."""

from __future__ import annotations

import argparse
import os
import sys
import time

from importwall.cli.options import (
    data_dir_argument,
    exit_status,
    fail_on_argument,
    load_cli_policy,
    output_arguments,
    policy_argument,
    report_settings,
    write_cli_report,
)
from importwall.errors import UsageError
from importwall.runtime.api import resolve_data_dir
from importwall.settings import ENV_DATA_DIR

DESCRIPTION = ("Read every per-process record file in DIR, de-duplicate the findings across "
               "processes, and write one report.")


def configure(parser: argparse.ArgumentParser) -> None:
    data_dir_argument(parser, "the data dir holding the record files (default: $DATA_DIR, "
                              "else the policy's \\[report] data_dir; --data and -d are "
                              "older spellings)", aliases=("--data", "-d"))
    policy_argument(parser)
    output_arguments(parser)
    fail_on_argument(parser)


def run(args: argparse.Namespace) -> int:
    from importwall.policy.discovery import discover_policy
    from importwall.report.model import load_records, rule_labels
    from importwall.runtime.record_reader import record_files

    # The policy is optional here: records can be combined without one.
    policy = load_cli_policy(args.policy) if discover_policy(args.policy) else None
    data_dir = args.data_dir or resolve_data_dir(policy)
    if not data_dir:
        raise UsageError(f"importwall report: no data dir; pass --data-dir DIR, set "
                         f"${ENV_DATA_DIR}, or set [report] data_dir in the policy, to the "
                         "folder the processes wrote their records to")
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
