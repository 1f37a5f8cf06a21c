"""Decide, for a module name, which rule of a policy applies.

Patterns are dotted module names. A name covers its submodules (``sklearn.model_selection``
covers ``sklearn.model_selection._split``); a segment may hold ``*``/``?`` globs
(``jupyter*``, ``ray.*``). When several patterns match, the most specific wins: more
segments, then more literal segments, then longer literal text; on a tie the rule from
the policy that extends the other wins, and within one file ``deny`` beats ``allow``.

Patterns are compiled into a trie keyed by segment, so a lookup costs time proportional
to the dotted depth of the name, not to the number of rules. Literal segments are dict
lookups, ``*`` is one edge, ``prefix*`` segments are found by probing the prefixes of
the segment; only other globs (rare) are tested one by one.

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Generic, TypeVar

from importwall.policy import ImportException, Policy, Rule

T = TypeVar("T")

DENY = "deny"
ALLOW = "allow"

Score = tuple[int, int, int]


def _is_glob(segment: str) -> bool:
    return "*" in segment or "?" in segment


def specificity(pattern: str) -> Score:
    """(segments, literal segments, literal characters): larger is more specific."""
    segments = pattern.split(".")
    literal = sum(1 for s in segments if not _is_glob(s))
    chars = sum(len(s.replace("*", "").replace("?", "")) for s in segments)
    return (len(segments), literal, chars)


class _Node(Generic[T]):
    __slots__ = ("entries", "globs", "literal", "prefix", "star")

    def __init__(self) -> None:
        self.literal: dict[str, _Node[T]] = {}
        self.prefix: dict[str, _Node[T]] = {}  # "jupyter*" is stored under "jupyter"
        self.star: _Node[T] | None = None
        self.globs: list[tuple[re.Pattern[str], _Node[T]]] = []
        self.entries: list[T] = []

    def child(self, segment: str) -> _Node[T]:
        if not _is_glob(segment):
            return self.literal.setdefault(segment, _Node())
        if segment == "*":
            if self.star is None:
                self.star = _Node()
            return self.star
        head = segment[:-1]
        if segment.endswith("*") and not _is_glob(head):
            return self.prefix.setdefault(head, _Node())
        regex = re.compile(fnmatch.translate(segment))
        for existing, node in self.globs:
            if existing.pattern == regex.pattern:
                return node
        node = _Node[T]()
        self.globs.append((regex, node))
        return node

    def step(self, segment: str, out: list[_Node[T]]) -> None:
        node = self.literal.get(segment)
        if node is not None:
            out.append(node)
        if self.star is not None:
            out.append(self.star)
        if self.prefix:
            for end in range(len(segment) + 1):
                node = self.prefix.get(segment[:end])
                if node is not None:
                    out.append(node)
        for regex, node in self.globs:
            if regex.match(segment):
                out.append(node)


class PatternTrie(Generic[T]):
    """Module patterns mapped to values; :meth:`matches` yields every value whose pattern
    covers a name (the name itself or one of its parents matches the pattern)."""

    def __init__(self) -> None:
        self._root: _Node[T] = _Node()
        self.size = 0

    def add(self, pattern: str, value: T) -> None:
        node = self._root
        for segment in pattern.split("."):
            node = node.child(segment)
        node.entries.append(value)
        self.size += 1

    def matches(self, name: str) -> list[T]:
        found: list[T] = []
        frontier = [self._root]
        for segment in name.split("."):
            reached: list[_Node[T]] = []
            for node in frontier:
                node.step(segment, reached)
            if not reached:
                break
            for node in reached:
                found.extend(node.entries)
            frontier = reached
        return found


@dataclass(frozen=True)
class Decision:
    """The rule that decides a module: ``verdict`` is ``deny`` or ``allow``."""

    verdict: str
    rule: Rule
    via: str  # the policy key that holds the rule: deny | allow | deny_distributions

    @property
    def denied(self) -> bool:
        return self.verdict == DENY

    @cached_property
    def label(self) -> str:
        """How the rule is named in messages: ``deny 'optuna'`` (worked out once: audit
        mode names the rule in every import's finding)."""
        distribution = self.rule.extra.get("distribution")
        if distribution:
            return f"deny_distributions {distribution!r}"
        return f"{self.via} {self.rule.pattern!r}"


@dataclass(frozen=True)
class _Entry:
    rank: tuple[Score, int, int]
    decision: Decision


DistributionResolver = Callable[[str], Iterable[str]]


class Matcher:
    """Compiled import rules of one policy."""

    def __init__(
        self,
        deny: Iterable[Rule] = (),
        allow: Iterable[Rule] = (),
        exceptions: Iterable[ImportException] = (),
        deny_distributions: Iterable[Rule] = (),
        resolve_distribution: DistributionResolver | None = None,
    ) -> None:
        self._rules: PatternTrie[_Entry] = PatternTrie()
        self._exceptions: PatternTrie[tuple[PatternTrie[bool], ImportException]] = PatternTrie()
        self._cache: dict[str, Decision | None] = {}
        for rule in deny:
            self._add(rule, DENY, "deny")
        for rule in allow:
            self._add(rule, ALLOW, "allow")
        for exception in exceptions:
            importers: PatternTrie[bool] = PatternTrie()
            importers.add(exception.importer, True)
            self._exceptions.add(exception.module, (importers, exception))
        if resolve_distribution is not None:
            for rule in deny_distributions:
                for module in resolve_distribution(rule.pattern):
                    as_module = Rule(module, rule.reason, rule.severity, rule.source,
                                     rule.precedence, {"distribution": rule.pattern})
                    self._add(as_module, DENY, "deny_distributions")

    @classmethod
    def from_policy(cls, policy: Policy,
                    resolve_distribution: DistributionResolver | None = None) -> Matcher:
        imports = policy.imports
        if resolve_distribution is None and imports.deny_distributions:
            from importwall.runtime.distributions import top_level_modules

            resolve_distribution = top_level_modules
        return cls(imports.deny, imports.allow, imports.exceptions,
                   imports.deny_distributions, resolve_distribution)

    def _add(self, rule: Rule, verdict: str, via: str) -> None:
        rank = (specificity(rule.pattern), rule.precedence, 1 if verdict == DENY else 0)
        self._rules.add(rule.pattern, _Entry(rank, Decision(verdict, rule, via)))

    @property
    def rule_count(self) -> int:
        return self._rules.size

    def decide(self, name: str) -> Decision | None:
        """The most specific rule covering ``name``, or ``None`` when no rule does."""
        try:
            return self._cache[name]
        except KeyError:
            pass
        best: _Entry | None = None
        for entry in self._rules.matches(name):
            if best is None or entry.rank > best.rank:
                best = entry
        decision = best.decision if best is not None else None
        self._cache[name] = decision
        return decision

    def exception_for(self, name: str, importer: str | None) -> ImportException | None:
        """The importer-aware exception that lets ``importer`` import ``name``, if any."""
        if importer is None or not self._exceptions.size:
            return None
        for importers, exception in self._exceptions.matches(name):
            if importers.matches(importer):
                return exception
        return None
