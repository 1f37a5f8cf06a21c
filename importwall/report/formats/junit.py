"""JUnit XML, for CI test dashboards: one test case per policy rule (or per finding code
for checks without a rule). A rule fails when a finding it decided is a warning or an
error; rules the audit checked without finding anything pass."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from importwall.report.model import Report, ReportItem, rule_id
from importwall.report.writer import RenderOptions, chain_steps, seen_line, stamp

FORMAT_VERSION = "1"


def render(report: Report, options: RenderOptions) -> str:
    by_rule: dict[str, list[ReportItem]] = defaultdict(list)
    for item in report.items:
        by_rule[rule_id(item)].append(item)
    for label in report.rules:
        by_rule.setdefault(label, [])
    suites = ET.Element("testsuites", name="importwall")
    suite = ET.SubElement(suites, "testsuite", name="importwall")
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="importwall.format", value=stamp("junit"))
    ET.SubElement(properties, "property", name="policy", value=report.policy or "")
    failures = 0
    for label in sorted(by_rule):
        items = by_rule[label]
        kind = items[0].finding.kind if items else "import"
        case = ET.SubElement(suite, "testcase", classname=f"importwall.{kind}", name=label)
        failing = [item for item in items if item.finding.at_least("warning")]
        if failing:
            failures += 1
            worst = max(failing, key=lambda i: ("info", "warning", "error").index(i.severity))
            failure = ET.SubElement(case, "failure", type=worst.severity,
                                    message=f"{len(failing)} finding(s): "
                                            + "; ".join(i.finding.message for i in failing))
            failure.text = "\n\n".join(_details(item, options.root) for item in failing)
        notes = [item for item in items if item not in failing]
        if notes:
            ET.SubElement(case, "system-out").text = "\n\n".join(
                _details(item, options.root) for item in notes)
    for element, count in ((suites, failures), (suite, failures)):
        element.set("tests", str(len(by_rule)))
        element.set("failures", str(count))
        element.set("errors", "0")
    suite.set("skipped", "0")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _details(item: ReportItem, root: str) -> str:
    finding = item.finding
    lines = [f"[{finding.severity}] {finding.message}"]
    if finding.reason:
        lines.append(f"reason: {finding.reason}")
    if finding.source:
        lines.append(f"rule written at: {finding.source}")
    steps = chain_steps(item, root)
    if steps:
        lines.append("import chain:")
        lines.extend(f"{'  ' * depth}{step}" for depth, step in enumerate(steps, start=1))
    lines.append(seen_line(item))
    return "\n".join(lines)
