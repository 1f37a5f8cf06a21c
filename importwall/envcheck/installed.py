"""``[distributions] deny``: training-only distributions installed in the serving
environment, imported or not (they are one ``import`` away, and they widen the image).

Distribution metadata is read by :mod:`importwall.static.metadata`, which imports
``importlib_metadata`` only when this check runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from importwall.envcheck.rules import label, matching_rule
from importwall.findings import KIND_DISTRIBUTION, Finding
from importwall.policy import Rule
from importwall.runtime.distributions import normalize

if TYPE_CHECKING:
    from importwall.policy.sections import DistributionsSection


def denied(section: DistributionsSection) -> list[Rule]:
    """The ``deny`` rules with their patterns normalized like distribution names."""
    rules: Sequence[Rule] = section.get("deny", ())
    return [Rule(normalize(r.pattern), r.reason, r.severity, r.source, r.precedence)
            for r in rules]


def check_distributions(section: DistributionsSection, installed: Mapping[str, str]
                        ) -> list[Finding]:
    normalized = denied(section)
    findings = []
    for name in sorted(installed):
        rule = matching_rule(normalized, [name])
        if rule is None:
            continue
        version = installed[name]
        findings.append(Finding(
            kind=KIND_DISTRIBUTION, code="distribution-installed", severity=rule.severity,
            subject=name, rule=label(rule), reason=rule.reason, source=rule.source,
            message=f"distribution {name} {version} is installed in this environment: "
                    f"forbidden by rule {label(rule)}",
            details={"distribution": name, "version": version}))
    return findings
