"""``[environment]``: variables a serving process should not carry.

Two checks per variable: its NAME against the ``deny`` globs (``WANDB_*``,
``SNOWFLAKE_*``), and its value against ``deny_hosts`` and ``deny_networks`` (a URL or
address into the training network). ``allow`` globs exempt a variable from both.

Findings name the variable, never its value, not even the host found in it: a value is
read, matched and dropped here, and nothing derived from it leaves this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from importwall.envcheck.networks import denied_destination
from importwall.envcheck.rules import label, matching_rule
from importwall.findings import KIND_ENVIRONMENT, Finding
from importwall.policy import Rule

if TYPE_CHECKING:
    from importwall.policy.sections import EnvironmentSection


def check_variables(section: EnvironmentSection, environ: Mapping[str, str]) -> list[Finding]:
    """Findings for the variables of ``environ`` that ``section`` (``[environment]``) denies."""
    deny: Sequence[Rule] = section.get("deny", ())
    allow: Sequence[Rule] = section.get("allow", ())
    hosts: Sequence[Rule] = section.get("deny_hosts", ())
    networks: Sequence[Rule] = section.get("deny_networks", ())
    findings: list[Finding] = []
    for name in sorted(environ):
        if matching_rule(allow, [name]) is not None:
            continue
        rule = matching_rule(deny, [name])
        if rule is not None:
            findings.append(_finding("env-denied-variable", name, rule,
                                     f"environment variable {name} is set: forbidden by rule "
                                     f"{label(rule)}"))
        if hosts or networks:
            rule = denied_destination(environ[name], hosts, networks)
            if rule is not None:
                kind = "network" if rule in networks else "host"
                findings.append(_finding(
                    f"env-denied-{kind}", name, rule,
                    f"environment variable {name} points into a denied {kind}: its value "
                    f"matches rule {label(rule)} (value not shown)"))
    return findings


def _finding(code: str, name: str, rule: Rule, message: str) -> Finding:
    return Finding(kind=KIND_ENVIRONMENT, code=code, severity=rule.severity, subject=name,
                   message=message, rule=label(rule), reason=rule.reason, source=rule.source,
                   details={"variable": name})
