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

import gc

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterable
    from typing import Any, Generic, TypeVar

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


def specificity(pattern: str) -> "Score":
    """(segments, literal segments, literal characters): larger is more specific."""
    dots = pattern.count(".")
    stars, marks = pattern.count("*"), pattern.count("?")
    literal = dots + 1
    if stars or marks:  # count the segments that hold a glob
        literal -= sum(1 for segment in pattern.split(".") if "*" in segment or "?" in segment)
    return (dots + 1, literal, len(pattern) - dots - stars - marks)


# A trie node is a plain list, so that a compiled trie is data that ``marshal`` keeps in the
# compiled-policy cache and reads back in one call: [literal segments -> node, "prefix*"
# prefixes -> node, the "*" node, [[other glob, node], ...], [entries]]. Each table is
# created when first needed: a policy of 100,000 rules has some 300,000 nodes, nearly all
# leaves, and empty tables were most of what building one cost.
_LITERAL, _PREFIX, _STAR, _GLOBS, _ENTRIES = range(5)
_REGEXES: "dict[str, re.Pattern[str]]" = {}
"""Inner globs ("a*b", "x?") compiled once per process (regexes are not marshal data)."""


def _new_node() -> "list[Any]":
    return [None, None, None, None, None]


def _child(node: "list[Any]", segment: str) -> "list[Any]":
    if "*" not in segment and "?" not in segment:
        return _keyed_child(node, _LITERAL, segment)
    if segment == "*":
        if node[_STAR] is None:
            node[_STAR] = _new_node()
        return node[_STAR]  # type: ignore[no-any-return]
    head = segment[:-1]
    if segment.endswith("*") and not _is_glob(head):
        return _keyed_child(node, _PREFIX, head)
    globs = node[_GLOBS]
    if globs is None:
        globs = node[_GLOBS] = []
    for glob, found in globs:
        if glob == segment:
            return found  # type: ignore[no-any-return]
    created = _new_node()
    globs.append([segment, created])
    return created


def _keyed_child(node: "list[Any]", slot: int, key: str) -> "list[Any]":
    """The child under ``key`` in the node's literal or prefix table, made if missing."""
    table: dict[str, list[Any]] | None = node[slot]
    if table is None:
        table = node[slot] = {}
    found = table.get(key)
    if found is None:
        found = table[key] = _new_node()
    return found


def _glob_matches(glob: str, segment: str) -> bool:
    regex = _REGEXES.get(glob)
    if regex is None:
        import fnmatch  # only policies with inner globs pay for fnmatch and re
        import re as re_

        regex = _REGEXES[glob] = re_.compile(fnmatch.translate(glob))
    return regex.match(segment) is not None


def _step(node: "list[Any]", segment: str, out: "list[list[Any]]") -> None:
    table = node[_LITERAL]
    if table is not None:
        found = table.get(segment)
        if found is not None:
            out.append(found)
    if node[_STAR] is not None:
        out.append(node[_STAR])
    prefixes = node[_PREFIX]
    if prefixes is not None:
        if len(prefixes) <= len(segment):
            # Fewer prefixes than the segment has: test each (a policy has a handful,
            # ``jupyter*``, ``tensorboard*``) rather than probing every slice of the
            # segment. Added shortest first, as the probing below adds them.
            matched = [prefix for prefix in prefixes if segment.startswith(prefix)]
            if len(matched) > 1:
                matched.sort(key=len)
            for prefix in matched:
                out.append(prefixes[prefix])
        else:
            for end in range(len(segment) + 1):
                found = prefixes.get(segment[:end])
                if found is not None:
                    out.append(found)
    globs = node[_GLOBS]
    if globs is not None:
        for glob, found in globs:
            if _glob_matches(glob, segment):
                out.append(found)


class PatternTrie(Generic[T]):
    """Module patterns mapped to values; :meth:`matches` yields every value whose pattern
    covers a name (the name itself or one of its parents matches the pattern). The trie
    is plain lists and dicts (:attr:`root`): with marshal-able values, it is data."""

    def __init__(self, root: "list[Any] | None" = None, size: int = 0) -> None:
        self.root: list[Any] = _new_node() if root is None else root
        self.size = size

    def add(self, pattern: str, value: "T") -> None:
        node = self.root
        for segment in pattern.split("."):
            if "*" in segment or "?" in segment:
                node = _child(node, segment)
                continue
            # A literal segment (nearly all of them), without a call per segment.
            table = node[_LITERAL]
            if table is None:
                table = node[_LITERAL] = {}
            found = table.get(segment)
            if found is None:
                found = table[segment] = [None, None, None, None, None]
            node = found
        if node[_ENTRIES] is None:
            node[_ENTRIES] = [value]
        else:
            node[_ENTRIES].append(value)
        self.size += 1

    def matches(self, name: str) -> "list[T]":
        found: list[T] = []
        frontier = [self.root]
        for segment in name.split("."):
            reached: list[list[Any]] = []
            for node in frontier:
                _step(node, segment, reached)
            if not reached:
                break
            for node in reached:
                if node[_ENTRIES] is not None:
                    found.extend(node[_ENTRIES])
            frontier = reached
        return found


class Decision:
    """The rule that decides a module: ``verdict`` is ``deny`` or ``allow``."""

    __slots__ = ("_label", "rule", "verdict", "via")

    def __init__(self, verdict: str, rule: "Rule", via: str) -> None:
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


# A compiled rule in the trie: (rank, kind, index), rank = (specificity, precedence, deny
# beats allow); kind and index name the rule (see ``_KINDS``), so the trie is plain data
# and each Decision is made the first time its rule decides a name.
_Entry = tuple[tuple["Score", int, int], int, int]
if TYPE_CHECKING:
    _Known = tuple[Decision | None, _Entry | None, list[list[Any]]]
_KINDS = ((DENY, "deny"), (ALLOW, "allow"), (DENY, "deny_distributions"))
_DENY, _ALLOW, _DISTRIBUTION = range(3)
COMPILED_FORMAT = 1


if TYPE_CHECKING:
    DistributionResolver = Callable[[str], Iterable[str]]


class Matcher:
    """Compiled import rules of one policy."""

    def __init__(
        self,
        deny: "Iterable[Rule]" = (),
        allow: "Iterable[Rule]" = (),
        exceptions: "Iterable[ImportException]" = (),
        deny_distributions: "Iterable[Rule]" = (),
        resolve_distribution: "DistributionResolver | None" = None,
        *,
        _compiled: "Any" = None,
    ) -> None:
        self._by_kind: tuple[list[Rule], list[Rule], list[Rule]] = (
            list(deny), list(allow), [])
        self._exception_list = list(exceptions)
        self._decisions: dict[tuple[int, int], Decision] = {}
        # Per decided name: (decision, best entry, frontier), the frontier being the nodes
        # the walk reached that have children. A module's parent is nearly always decided
        # before it (the import system imports packages first), so deciding a name is one
        # step from its parent's walk, and none at all when that frontier is empty (no rule
        # can match deeper; the name shares its parent's tuple): the common case, the
        # thousands of first-party modules no rule names.
        self._known: dict[str, _Known] = {}
        self.allowed_below: set[str] = set()
        """Decided names under which every module is allowed: no rule matches deeper and
        the name itself is not denied. The firewall lets their submodules through without
        asking :meth:`decide` (a set lookup instead of a call, on every import)."""
        self._rules: PatternTrie[_Entry]
        self._exceptions: PatternTrie[tuple[list[Any], int]]
        if _compiled is not None:  # from the compiled-policy cache: already a trie
            _, rules, rule_count, exception_trie, exception_count = _compiled
            self._rules = PatternTrie(rules, rule_count)
            self._exceptions = PatternTrie(exception_trie, exception_count)
        else:
            self._rules = PatternTrie()
            self._exceptions = PatternTrie()
            # The trie is many small objects and no cycles: the collector's full passes over
            # a growing trie made compiling 100,000 rules grow faster than linearly.
            collecting = gc.isenabled()
            gc.disable()
            try:
                self._compile()
            finally:
                if collecting:
                    gc.enable()
        if resolve_distribution is not None:
            self._add_distributions(deny_distributions, resolve_distribution)

    def _compile(self) -> None:
        add = self._rules.add
        for kind in (_DENY, _ALLOW):  # _add's work, without a call per rule
            tie = 1 if kind != _ALLOW else 0
            for index, rule in enumerate(self._by_kind[kind]):
                pattern = rule.pattern
                add(pattern, ((specificity(pattern), rule.precedence, tie), kind, index))
        for index, exception in enumerate(self._exception_list):
            importers: PatternTrie[bool] = PatternTrie()
            importers.add(exception.importer, True)
            self._exceptions.add(exception.module, (importers.root, index))

    def _add_distributions(self, deny_distributions: "Iterable[Rule]",
                           resolve_distribution: "DistributionResolver") -> None:
        """Rules for the modules installed distributions provide: resolved in every
        process (what is installed changes without the policy changing), never cached."""
        from importwall.policy.rules import Rule

        added = self._by_kind[_DISTRIBUTION]
        for rule in deny_distributions:
            for module in resolve_distribution(rule.pattern):
                added.append(Rule(module, rule.reason, rule.severity, rule.source,
                                  rule.precedence, {"distribution": rule.pattern}))
                self._add(added[-1], _DISTRIBUTION, len(added) - 1)
        self.forget()  # decisions made before these rules existed

    def forget(self) -> None:
        """Drop every decision kept (the next lookups walk the trie again)."""
        self._known.clear()
        self.allowed_below.clear()

    @classmethod
    def from_policy(cls, policy: "Policy",
                    resolve_distribution: "DistributionResolver | None" = None) -> "Matcher":
        """The policy's rules compiled, or read back from the compiled-policy cache when
        the policy came from it; a policy loaded from source has its trie cached."""
        imports = policy.imports
        if resolve_distribution is None and imports.deny_distributions:
            from importwall.runtime.distributions import top_level_modules

            resolve_distribution = top_level_modules
        from importwall.policy import cache

        compiled = cache.compiled_for(policy)
        if compiled is not None and _fits(compiled, policy):
            return cls(imports.deny, imports.allow, imports.exceptions,
                       imports.deny_distributions, resolve_distribution, _compiled=compiled)
        matcher = cls(imports.deny, imports.allow, imports.exceptions)
        cache.store_compiled(policy, matcher.to_data())
        if resolve_distribution is not None:
            matcher._add_distributions(imports.deny_distributions, resolve_distribution)
        return matcher

    def to_data(self) -> "tuple[Any, ...]":
        """The compiled tries as marshal-able data (before any distribution rules)."""
        return (COMPILED_FORMAT, self._rules.root, self._rules.size, self._exceptions.root,
                self._exceptions.size)

    def _add(self, rule: "Rule", kind: int, index: int) -> None:
        rank = (specificity(rule.pattern), rule.precedence, 1 if kind != _ALLOW else 0)
        self._rules.add(rule.pattern, (rank, kind, index))

    def _decision(self, kind: int, index: int) -> "Decision":
        decision = self._decisions.get((kind, index))
        if decision is None:
            verdict, via = _KINDS[kind]
            decision = Decision(verdict, self._by_kind[kind][index], via)
            self._decisions[kind, index] = decision
        return decision

    @property
    def rule_count(self) -> int:
        return self._rules.size

    def decide(self, name: str) -> "Decision | None":
        """The most specific rule covering ``name``, or ``None`` when no rule does."""
        known = self._known
        state = known.get(name)
        if state is None:
            head, dot, _ = name.rpartition(".")  # one call: cheaper than rfind and a slice
            parent = known.get(head) if dot else None
            if parent is not None and not parent[2]:
                # Nothing deeper than the parent can match: the parent's decision is this
                # one's (the common case: a module of a package no rule names inside).
                known[name] = parent
                if head in self.allowed_below:
                    self.allowed_below.add(name)
                return parent[0]
            state = self._settle(name)
        return state[0]

    def _settle(self, name: str) -> "_Known":
        """Decide ``name`` and each of its undecided parents, outermost first, each one
        step from its parent's walk (a top-level name walks from the root)."""
        known = self._known
        undecided = [name]
        state: _Known | None = None
        head = name
        while True:
            head, dot, _ = head.rpartition(".")
            if not dot:
                break
            state = known.get(head)
            if state is not None:
                break
            undecided.append(head)
        for current in reversed(undecided):
            if state is None:
                best, frontier = self._walk((current,), None, [self._rules.root])
            elif not state[2]:
                best, frontier = state[1], state[2]
            else:
                best, frontier = self._walk((current.rpartition(".")[2],), state[1],
                                            state[2])
            decision = self._decision(best[1], best[2]) if best is not None else None
            state = known[current] = (decision, best, frontier)
            if not frontier and (decision is None or not decision.denied):
                self.allowed_below.add(current)
        assert state is not None  # undecided holds at least name
        return state

    @staticmethod
    def _walk(segments: "Iterable[str]", best: "_Entry | None",
              frontier: "list[list[Any]]") -> "tuple[_Entry | None, list[list[Any]]]":
        """``best`` and ``frontier`` stepped through ``segments``: the most specific entry
        of what :meth:`PatternTrie.matches` finds, and the nodes reached that have
        children (none: no longer name can match more)."""
        for segment in segments:
            reached: list[list[Any]] = []
            for node in frontier:
                _step(node, segment, reached)
            frontier = []
            for node in reached:
                entries = node[_ENTRIES]
                if entries is not None:
                    for entry in entries:
                        if best is None or entry[0] > best[0]:
                            best = entry
                if (node[_LITERAL] is not None or node[_PREFIX] is not None
                        or node[_STAR] is not None or node[_GLOBS] is not None):
                    frontier.append(node)
            if not frontier:
                break
        return best, frontier

    def exception_for(self, name: str, importer: "str | None") -> "ImportException | None":
        """The importer-aware exception that lets ``importer`` import ``name``, if any."""
        if importer is None or not self._exceptions.size:
            return None
        for importers, index in self._exceptions.matches(name):
            if PatternTrie(importers).matches(importer):
                return self._exception_list[index]
        return None


def _fits(compiled: "Any", policy: "Policy") -> bool:
    """Cached tries for this policy's own rules (the entry holds both; checked anyway)."""
    try:
        form, _, rule_count, _, exception_count = compiled
    except (TypeError, ValueError):
        return False
    imports = policy.imports
    return bool(form == COMPILED_FORMAT
            and rule_count == len(imports.deny) + len(imports.allow)
            and exception_count == len(imports.exceptions))
