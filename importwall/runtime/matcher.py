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

import gc

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterable
    from typing import Generic, TypeVar

    from importwall.policy import ImportException, Policy, Rule

    T = TypeVar("T")
    Score = tuple[int, int, int]
else:
    class Generic:
        """``typing.Generic``'s place at run time: ``Generic[T]`` is this class itself."""

        __slots__ = ()

        def __class_getitem__(cls, item):
            return cls

    T = None

DENY = "deny"
ALLOW = "allow"


def _is_glob(segment: str) -> bool:
    return "*" in segment or "?" in segment


def specificity(pattern: str) -> Score:
    """(segments, literal segments, literal characters): larger is more specific."""
    segments = pattern.split(".")
    literal = 0
    for segment in segments:
        if "*" not in segment and "?" not in segment:
            literal += 1
    chars = len(pattern) - len(segments) + 1 - pattern.count("*") - pattern.count("?")
    return (len(segments), literal, chars)


class _Node(Generic[T]):
    """One trie node. Its tables are created when first needed: a policy of 100,000
    rules has some 300,000 nodes, nearly all leaves, and four empty containers per node
    were most of what building it cost (and most of what the collector had to walk)."""

    __slots__ = ("entries", "globs", "literal", "prefix", "star")

    def __init__(self) -> None:
        self.literal: dict[str, _Node[T]] | None = None
        self.prefix: dict[str, _Node[T]] | None = None  # "jupyter*" is stored under "jupyter"
        self.star: _Node[T] | None = None
        self.globs: list[tuple[re.Pattern[str], _Node[T]]] | None = None
        self.entries: list[T] | None = None

    def child(self, segment: str) -> _Node[T]:
        if "*" not in segment and "?" not in segment:
            table = self.literal
            if table is None:
                table = self.literal = {}
            node = table.get(segment)
            if node is None:
                node = table[segment] = _Node()
            return node
        if segment == "*":
            if self.star is None:
                self.star = _Node()
            return self.star
        head = segment[:-1]
        if segment.endswith("*") and not _is_glob(head):
            prefixes = self.prefix
            if prefixes is None:
                prefixes = self.prefix = {}
            node = prefixes.get(head)
            if node is None:
                node = prefixes[head] = _Node()
            return node
        import fnmatch  # only policies with inner globs ("a*b", "x?") pay for fnmatch and re
        import re

        regex = re.compile(fnmatch.translate(segment))
        if self.globs is None:
            self.globs = []
        for existing, node in self.globs:
            if existing.pattern == regex.pattern:
                return node
        node = _Node()
        self.globs.append((regex, node))
        return node

    def step(self, segment: str, out: list[_Node[T]]) -> None:
        if self.literal is not None:
            node = self.literal.get(segment)
            if node is not None:
                out.append(node)
        if self.star is not None:
            out.append(self.star)
        if self.prefix is not None:
            for end in range(len(segment) + 1):
                node = self.prefix.get(segment[:end])
                if node is not None:
                    out.append(node)
        if self.globs is not None:
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
        if node.entries is None:
            node.entries = [value]
        else:
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
                if node.entries is not None:
                    found.extend(node.entries)
            frontier = reached
        return found


class Decision:
    """The rule that decides a module: ``verdict`` is ``deny`` or ``allow``."""

    __slots__ = ("_label", "rule", "verdict", "via")

    def __init__(self, verdict: str, rule: Rule, via: str) -> None:
        self.verdict = verdict
        self.rule = rule
        self.via = via  # the policy key that holds the rule: deny | allow | deny_distributions
        self._label: str | None = None

    def __repr__(self) -> str:
        return f"Decision(verdict={self.verdict!r}, rule={self.rule!r}, via={self.via!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return (self.verdict, self.rule, self.via) == (other.verdict, other.rule, other.via)

    def __hash__(self) -> int:
        return hash((self.verdict, self.rule, self.via))

    @property
    def denied(self) -> bool:
        return self.verdict == DENY

    @property
    def label(self) -> str:
        """How the rule is named in messages: ``deny 'optuna'`` (worked out once: audit
        mode names the rule in every import's finding)."""
        label = self._label
        if label is None:
            distribution = self.rule.extra.get("distribution")
            label = (f"deny_distributions {distribution!r}" if distribution
                     else f"{self.via} {self.rule.pattern!r}")
            self._label = label
        return label


# A compiled rule: ((specificity, precedence, deny beats allow), decision). Plain tuples:
# ranks compare as tuples, and a policy of 100,000 rules makes 100,000 of them.
_Entry = tuple[tuple["Score", int, int], Decision]


if TYPE_CHECKING:
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
        # The trie is many small objects and no cycles: the collector's full passes over a
        # growing trie made compiling 100,000 rules grow faster than linearly.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._compile(deny, allow, exceptions, deny_distributions, resolve_distribution)
        finally:
            if collecting:
                gc.enable()

    def _compile(self, deny: Iterable[Rule], allow: Iterable[Rule],
                 exceptions: Iterable[ImportException], deny_distributions: Iterable[Rule],
                 resolve_distribution: DistributionResolver | None) -> None:
        for rule in deny:
            self._add(rule, DENY, "deny")
        for rule in allow:
            self._add(rule, ALLOW, "allow")
        for exception in exceptions:
            importers: PatternTrie[bool] = PatternTrie()
            importers.add(exception.importer, True)
            self._exceptions.add(exception.module, (importers, exception))
        if resolve_distribution is not None:
            from importwall.policy.rules import Rule

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
        self._rules.add(rule.pattern, (rank, Decision(verdict, rule, via)))

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
            if best is None or entry[0] > best[0]:
                best = entry
        decision = best[1] if best is not None else None
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
