"""Glob rules of the environment sections, and which one decides."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from importwall.findings import SEVERITY_RANK
from importwall.policy import Rule


def matching_rule(rules: Sequence[Rule], candidates: Iterable[str], *,
                  fold_case: bool = False) -> Rule | None:
    """The rule whose glob matches one of ``candidates``: the most severe, then the most
    specific (longest pattern), then the one written last in the ``extends`` order."""
    names = [c.lower() if fold_case else c for c in candidates]
    found = [rule for rule in rules
             if any(fnmatch.fnmatchcase(name, rule.pattern.lower() if fold_case
                                        else rule.pattern) for name in names)]
    if not found:
        return None
    return max(found, key=lambda r: (SEVERITY_RANK[r.severity], len(r.pattern), r.precedence))


def label(rule: Rule) -> str:
    """How a rule is named in findings: its pattern, quoted."""
    return repr(rule.pattern)
