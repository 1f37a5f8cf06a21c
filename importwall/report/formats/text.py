"""The terminal report, drawn with rich: each finding with its import chain as a tree,
coloured by severity on a terminal and plain text otherwise (files, pipes, ``NO_COLOR``)."""

from __future__ import annotations

import io

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
STYLES = {"error": "bold red", "warning": "yellow", "info": "blue"}


def render(report: Report, options: RenderOptions) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=options.color, no_color=not options.color,
                      color_system="standard" if options.color else None,
                      width=options.width, highlight=False, emoji=False, soft_wrap=False)
    title = Text("importwall report", style="bold")
    if report.policy:
        title.append(f"  policy {display_path(report.policy, options.root)}", style="dim")
    console.print(title)
    worst = next((item.severity for item in report.items), None)
    console.print(Text(summary_line(report), style=STYLES.get(worst or "", "green")))
    if not report.items:
        console.print(Text("No findings.", style="green"))
    for item in report.items:
        console.print()
        console.print(_item(item, options.root))
    console.print()
    console.print(Text(stamp("text"), style="dim"))
    # rich pads padded blocks to the full width; trailing blanks only get in the way.
    return "\n".join(line.rstrip() for line in buffer.getvalue().split("\n"))


def _item(item: ReportItem, root: str) -> object:
    from rich.console import Group
    from rich.text import Text
    from rich.tree import Tree

    finding = item.finding
    style = STYLES[finding.severity]
    head = Text()
    head.append(f"{finding.severity.upper():<8}", style=style)
    head.append(f"{finding.code}  ", style="bold")
    head.append(finding.subject, style=style)
    lines: list[object] = [head, Text(f"  {finding.message}")]
    if finding.reason:
        lines.append(Text(f"  reason: {finding.reason}", style="italic"))
    if finding.source:
        lines.append(Text(f"  rule at {display_path(finding.source, root)}", style="dim"))
    lines.append(Text(f"  {seen_line(item)}", style="dim"))
    steps = chain_steps(item, root)
    if steps:
        tree = Tree(Text("import chain", style="dim"), guide_style="dim")
        node = tree
        for step in steps[:-1]:
            node = node.add(Text(step))
        node.add(Text(steps[-1], style=style))
        lines.append(_indent(tree))
    return Group(*lines)  # type: ignore[arg-type]


def _indent(renderable: object) -> object:
    from rich.padding import Padding

    return Padding(renderable, (0, 0, 0, 2))  # type: ignore[arg-type]
