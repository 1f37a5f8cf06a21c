"""GitHub Actions workflow commands: one annotation per finding (``::error``,
``::warning``, ``::notice``), placed on the line that did the import (the innermost frame
of the chain, as SARIF places it) or, for findings without a chain, on the policy rule, so
that a pull request shows each finding on its line. Plain lines around them (the summary)
are shown in the job log as they are.

Escaping follows the runner's rules: ``%``, CR and LF in a message, and ``:`` and ``,``
in a property too, are percent-encoded.
"""

from __future__ import annotations

from importwall.report import writer
from importwall.report.model import Report, ReportItem
from importwall.report.writer import RenderOptions, chain_steps, display_path, stamp, summary_line

FORMAT_VERSION = "1"
_COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def render(report: Report, options: RenderOptions) -> str:
    lines = [f"importwall: {summary_line(report)}"]
    lines += [_annotation(item, options.root) for item in report.items]
    lines.append(stamp("github"))
    return "\n".join(lines) + "\n"


def _annotation(item: ReportItem, root: str) -> str:
    finding = item.finding
    properties = [f"title={_property(f'importwall {finding.code}: {finding.subject}')}"]
    where = _place(item, root)
    if where is not None:
        properties[:0] = [f"file={_property(where[0])}", f"line={where[1]}"]
    message = [finding.message]
    if finding.reason:
        message.append(f"reason: {finding.reason}")
    steps = chain_steps(item, root)
    if steps:
        message.append("import chain: " + " -> ".join(steps))
    if finding.source:
        message.append(f"rule at {display_path(finding.source, root)}")
    message.append(writer.seen_line(item))
    text = _data("\n".join(message))
    return f"::{_COMMANDS[finding.severity]} {','.join(properties)}::{text}"


def _place(item: ReportItem, root: str) -> tuple[str, int] | None:
    """The import site, else the rule's ``file:line`` in the policy."""
    site = item.site
    if site and site[0] and not site[0].startswith("<"):
        return display_path(site[0], root), max(int(site[1]), 1)
    source = item.finding.source or ""
    path, _, line = source.rpartition(":")
    if path and line.isdigit():
        return display_path(path, root), int(line)
    return None


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
