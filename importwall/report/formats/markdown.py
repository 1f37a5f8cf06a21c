"""Markdown, for CI job summaries and pull-request comments: a summary line, a table of
findings, and each import chain in a collapsible ``<details>`` block."""

from __future__ import annotations

from importwall.report.model import Report, ReportItem
from importwall.report.writer import (
    RenderOptions,
    chain_steps,
    display_path,
    seen_line,
    stamp,
    summary_line,
)

FORMAT_VERSION = "1"
_BADGES = {"error": "🔴 error", "warning": "🟠 warning", "info": "🔵 info"}


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text.replace('`', '')}`"


def render(report: Report, options: RenderOptions) -> str:
    lines = [f"<!-- {stamp('markdown')} -->", "## importwall report", ""]
    policy = f" · policy {_code(display_path(report.policy, options.root))}" \
        if report.policy else ""
    lines += [f"**{summary_line(report)}**{policy}", ""]
    if not report.items:
        lines += ["No findings. ✅", ""]
        return "\n".join(lines)
    lines += ["| Severity | Finding | Rule | Where | Seen |", "|---|---|---|---|---|"]
    for item in report.items:
        lines.append("| " + " | ".join(_cell(cell) for cell in _row(item, options.root)) + " |")
    lines.append("")
    for item in report.items:
        steps = chain_steps(item, options.root)
        if not steps:
            continue
        lines += [f"<details><summary>Import chain of {_code(item.finding.subject)} "
                  f"({item.severity})</summary>", "", "```text"]
        lines += [f"{'  ' * depth}{'└─ ' if depth else ''}{step}"
                  for depth, step in enumerate(steps)]
        lines += ["```", "", "</details>", ""]
    return "\n".join(lines)


def _row(item: ReportItem, root: str) -> list[str]:
    finding = item.finding
    reason = f" — {finding.reason}" if finding.reason else ""
    site = item.site
    where = f"{display_path(site[0], root)}:{site[1]}" if site else ""
    return [_BADGES[finding.severity], f"{finding.message}{reason}",
            _code(finding.rule or finding.code), _code(where) if where else "",
            seen_line(item)]
