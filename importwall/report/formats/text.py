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


UNWRAPPED = 100_000
"""The console width that stands for "never wrap" (``RenderOptions.width`` is ``None``)."""


def render(report: Report, options: RenderOptions) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    # The options decide everything: rich's own reading of NO_COLOR, FORCE_COLOR, TERM
    # and COLUMNS was done by the writer, for every format alike.
    console = Console(file=buffer, force_terminal=options.color, no_color=not options.color,
                      color_system="standard" if options.color else None,
                      width=options.width or UNWRAPPED, highlight=False, emoji=False,
                      soft_wrap=False, _environ={})
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
    # Everything under the head line is indented as one block, so that a line the width
    # wraps continues at its own indent rather than at the margin.
    details: list[object] = [Text(finding.message)]
    if finding.reason:
        details.append(Text(f"reason: {finding.reason}", style="italic"))
    if finding.source:
        details.append(Text(f"rule at {display_path(finding.source, root)}", style="dim"))
    details.append(Text(seen_line(item), style="dim"))
    steps = chain_steps(item, root)
    if steps:
        tree = Tree(Text("import chain", style="dim"), guide_style="dim")
        node = tree
        for step in steps[:-1]:
            node = node.add(Text(step))
        node.add(Text(steps[-1], style=style))
        details.append(tree)
    return Group(head, _indent(Group(*details)))  # type: ignore[arg-type]


def _indent(renderable: object) -> object:
    from rich.padding import Padding

    # expand=False: a block is as wide as its text, not padded out to the console width.
    return Padding(renderable, (0, 0, 0, 2), expand=False)  # type: ignore[arg-type]
