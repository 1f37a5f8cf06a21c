"""How the scan, fingerprint and model-scan commands print their findings: a readable
listing, or ``--format json`` for machines, and the exit status for ``--fail-on``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from importwall import exitcodes
from importwall.errors import _format_chain
from importwall.findings import SEVERITIES, Finding


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", "-f", choices=("text", "json"), default="text",
                        help="text for people (default), json for machines")
    parser.add_argument("--fail-on", choices=SEVERITIES, default="error",
                        help="exit 1 when a finding is at least this severe (default: error)")


def render_text(findings: Sequence[Finding]) -> str:
    lines: list[str] = []
    for finding in sorted(findings, key=_order):
        lines.append(f"{finding.severity}: [{finding.code}] {finding.message}")
        if finding.rule:
            lines.append(f"  rule: {finding.rule}" +
                         (f" ({finding.source})" if finding.source else ""))
        if finding.reason:
            lines.append(f"  reason: {finding.reason}")
        if finding.chain and finding.rule:  # a chain that leads to what the rule denies
            lines.extend(_format_chain(finding.chain, finding.subject))
    return "\n".join(lines)


def emit(findings: Sequence[Finding], args: argparse.Namespace, summary: str) -> int:
    """Print ``findings`` as ``args.format`` asks; the exit status for ``args.fail_on``."""
    ordered = sorted(findings, key=_order)
    if args.format == "json":
        print(json.dumps([finding.to_dict() for finding in ordered], indent=2))
    else:
        if ordered:
            print(render_text(ordered))
        print(f"{summary}: {len(ordered)} finding(s)")
    failing = any(finding.at_least(args.fail_on) for finding in ordered)
    return exitcodes.FINDINGS if failing else exitcodes.CLEAN


def _order(finding: Finding) -> tuple[str, str, str, str]:
    return (finding.kind, finding.subject, finding.code, finding.message)
