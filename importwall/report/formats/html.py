"""A self-contained HTML page (inline CSS, no scripts, nothing fetched): the summary, a
table of findings, and each import chain as a tree of nested ``<details>`` elements that
open in any browser without JavaScript. Error chains start open."""

from __future__ import annotations

from html import escape

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

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem;
       color: #1d1d1f; background: #fff; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
.summary { font-size: 1.1rem; margin: .5rem 0 1.5rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: 2rem; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ddd;
         vertical-align: top; }
th { background: #f4f4f6; }
code { font: 13px ui-monospace, monospace; background: #f4f4f6; padding: 0 .2rem; }
.sev { font-weight: 600; padding: .1rem .5rem; border-radius: .6rem; color: #fff; }
.sev-error { background: #c62828; } .sev-warning { background: #e08a00; }
.sev-info { background: #1e6fd9; }
section.finding { border-left: 4px solid #ccc; padding: .2rem 1rem; margin: 1rem 0; }
section.error { border-color: #c62828; } section.warning { border-color: #e08a00; }
section.info { border-color: #1e6fd9; }
details.chain > summary { cursor: pointer; font-weight: 600; }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 1.4rem; }
ul.tree li { position: relative; padding: .15rem 0; }
ul.tree li::before { content: "└─"; position: absolute; left: -1.3rem; color: #888; }
.target { color: #c62828; font-weight: 600; }
footer { color: #777; font-size: .85rem; margin-top: 3rem; }
"""


def render(report: Report, options: RenderOptions) -> str:
    root = options.root
    policy = (f"<p>Policy: <code>{escape(display_path(report.policy, root))}</code></p>"
              if report.policy else "")
    body = [f"<h1>importwall report</h1>{policy}",
            f'<p class="summary">{escape(summary_line(report))}</p>']
    if report.items:
        body.append(_table(report, root))
        body.extend(_section(item, index, root) for index, item in enumerate(report.items))
    else:
        body.append("<p>No findings.</p>")
    body.append(f"<footer>{escape(stamp('html'))}</footer>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta name=\"generator\" content=\"{escape(stamp('html'))}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>importwall report: {escape(summary_line(report))}</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _badge(severity: str) -> str:
    return f'<span class="sev sev-{severity}">{severity}</span>'


def _table(report: Report, root: str) -> str:
    rows = []
    for index, item in enumerate(report.items):
        finding = item.finding
        site = item.site
        where = f"<code>{escape(display_path(site[0], root))}:{site[1]}</code>" if site else ""
        rows.append(
            f"<tr><td>{_badge(finding.severity)}</td>"
            f'<td><a href="#finding-{index}">{escape(finding.subject)}</a></td>'
            f"<td>{escape(finding.code)}</td>"
            f"<td>{f'<code>{escape(finding.rule)}</code>' if finding.rule else ''}</td>"
            f"<td>{where}</td><td>{item.hits} in {item.count}</td></tr>")
    return ("<table><thead><tr><th>Severity</th><th>Subject</th><th>Code</th><th>Rule</th>"
            "<th>Where</th><th>Seen (times in processes)</th></tr></thead><tbody>\n"
            + "\n".join(rows) + "\n</tbody></table>")


def _section(item: ReportItem, index: int, root: str) -> str:
    finding = item.finding
    parts = [f'<section class="finding {finding.severity}" id="finding-{index}">',
             f"<h2>{_badge(finding.severity)} <code>{escape(finding.subject)}</code></h2>",
             f"<p>{escape(finding.message)}</p>"]
    if finding.reason:
        parts.append(f"<p><strong>Reason:</strong> {escape(finding.reason)}</p>")
    if finding.source:
        parts.append("<p>Rule written at "
                     f"<code>{escape(display_path(finding.source, root))}</code></p>")
    parts.append(f"<p>{escape(seen_line(item))}</p>")
    steps = chain_steps(item, root)
    if steps:
        opened = " open" if finding.severity == "error" else ""
        parts.append(f'<details class="chain"{opened}><summary>Import chain '
                     f"({len(steps) - 1} step{'s' if len(steps) != 2 else ''})</summary>")
        parts.append(_tree(steps))
        parts.append("</details>")
    parts.append("</section>")
    return "\n".join(parts)


def _tree(steps: list[str]) -> str:
    """Nested lists, one level per import, the imported module last."""
    html = ""
    for depth, step in enumerate(reversed(steps)):
        label = escape(step)
        if depth == 0:
            html = f'<li><span class="target">{label}</span></li>'
        else:
            html = f"<li>{label}<ul>{html}</ul></li>"
    return f'<ul class="tree">{html}</ul>'
