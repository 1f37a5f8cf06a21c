"""What the scan, fingerprint and model-scan commands share on the command line: an
optional policy, and their findings written as one report in any report format."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

from importwall.findings import Finding
from importwall.policy import Policy


def optional_policy(reference: str | None) -> Policy | None:
    """The policy given or discovered (see :mod:`importwall.policy.discovery`), or ``None`` when
    there is none: these commands also work without one."""
    from importwall.cli.options import load_cli_policy
    from importwall.policy.discovery import discover_policy

    found = discover_policy(reference)
    return load_cli_policy(found) if found is not None else None


def check_format(args: argparse.Namespace, policy: Policy | None) -> None:
    """An unknown ``--format`` is a usage error before any work is done."""
    from importwall.cli.options import report_settings
    from importwall.report.writer import reporter

    reporter(report_settings(args, policy)[0])


def write_findings(findings: Sequence[Finding], args: argparse.Namespace,
                   policy: Policy | None, summary: str,
                   metadata: dict[str, Any] | None = None) -> int:
    """Write ``findings`` as one report (``--format``, ``-o``) and say ``summary`` as a
    note (on stderr, unless ``--quiet``). Returns the exit status
    for ``--fail-on``."""
    from importwall.cli.options import exit_status, note, report_settings, write_cli_report
    from importwall.report import Report

    fmt, output, fail_on = report_settings(args, policy)
    report = Report.build(findings, policy=policy.path if policy else None,
                          generated=time.time(), metadata=metadata)
    write_cli_report(report, fmt, output, args)
    note(args, summary)
    return exit_status(report, fail_on)
