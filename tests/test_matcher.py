"""The matcher: coverage of submodules, globs, specificity, importer-aware exceptions."""

from __future__ import annotations

import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as st

from importwall.policy import ImportException, Rule
from importwall.runtime.matcher import Matcher, PatternTrie, specificity


def rule(pattern: str, precedence: int = 0) -> Rule:
    return Rule(pattern, source="test", precedence=precedence)


def verdict(matcher: Matcher, name: str) -> str | None:
    decision = matcher.decide(name)
    return None if decision is None else decision.verdict


def test_a_name_covers_its_submodules_but_not_its_siblings() -> None:
    m = Matcher(deny=[rule("sklearn.model_selection")])
    assert verdict(m, "sklearn.model_selection") == "deny"
    assert verdict(m, "sklearn.model_selection._split") == "deny"
    assert verdict(m, "sklearn") is None
    assert verdict(m, "sklearn.model_selectionx") is None
    assert verdict(m, "sklearn.linear_model") is None


def test_globs_prefix_star_and_general() -> None:
    m = Matcher(deny=[rule("jupyter*"), rule("ray.*"), rule("tensorboard?"), rule("a*z.q")])
    assert verdict(m, "jupyter") == "deny"
    assert verdict(m, "jupyter_client.session") == "deny"
    assert verdict(m, "jupyterlab") == "deny"
    assert verdict(m, "ipyjupyter") is None
    assert verdict(m, "ray") is None  # "ray.*" names the submodules, not the package
    assert verdict(m, "ray.tune.search") == "deny"
    assert verdict(m, "tensorboardX") == "deny"
    assert verdict(m, "tensorboard") is None
    assert verdict(m, "abcz.q.r") == "deny"
    assert verdict(m, "abcz.p") is None


def test_most_specific_rule_wins_in_both_directions() -> None:
    m = Matcher(deny=[rule("ray"), rule("ray.serve.train_helpers")],
                allow=[rule("ray.serve")])
    assert verdict(m, "ray.tune") == "deny"
    assert verdict(m, "ray.serve") == "allow"
    assert verdict(m, "ray.serve.api") == "allow"
    assert verdict(m, "ray.serve.train_helpers") == "deny"


def test_a_literal_segment_beats_a_glob_at_the_same_depth() -> None:
    m = Matcher(deny=[rule("jupyter*")], allow=[rule("jupyter_core")])
    assert verdict(m, "jupyter_core.paths") == "allow"
    assert verdict(m, "jupyter_client") == "deny"


def test_ties_go_to_the_extending_policy_then_to_deny() -> None:
    same_file = Matcher(deny=[rule("optuna")], allow=[rule("optuna")])
    assert verdict(same_file, "optuna") == "deny"
    child_allows = Matcher(deny=[rule("optuna", 0)], allow=[rule("optuna", 1)])
    assert verdict(child_allows, "optuna") == "allow"


def test_namespace_packages_match_on_the_full_dotted_path() -> None:
    m = Matcher(deny=[rule("google.cloud.bigquery")])
    assert verdict(m, "google") is None
    assert verdict(m, "google.cloud") is None
    assert verdict(m, "google.cloud.storage") is None
    assert verdict(m, "google.cloud.bigquery.client") == "deny"


def test_importer_aware_exceptions() -> None:
    m = Matcher(deny=[rule("sklearn.model_selection")],
                exceptions=[ImportException("sklearn.model_selection", "sklearn.*")])
    assert m.exception_for("sklearn.model_selection._split", "sklearn.linear_model._base")
    assert m.exception_for("sklearn.model_selection", "sklearn.model_selection._search")
    assert m.exception_for("sklearn.model_selection", "myservice.handlers") is None
    assert m.exception_for("sklearn.model_selection", None) is None
    assert m.exception_for("sklearn", "sklearn.base") is None


def test_deny_distributions_uses_the_resolver_only_for_named_distributions() -> None:
    asked: list[str] = []

    def resolve(name: str) -> list[str]:
        asked.append(name)
        return {"google-cloud-bigquery": ["google.cloud.bigquery"]}.get(name, [])

    m = Matcher(deny_distributions=[rule("google-cloud-bigquery"), rule("not-installed")],
                resolve_distribution=resolve)
    assert asked == ["google-cloud-bigquery", "not-installed"]
    decision = m.decide("google.cloud.bigquery.table")
    assert decision is not None and decision.denied
    assert decision.label == "deny_distributions 'google-cloud-bigquery'"
    assert verdict(m, "google.cloud") is None


def test_specificity_orders_depth_then_literals_then_characters() -> None:
    assert specificity("a.b") > specificity("a")
    assert specificity("a.b") > specificity("a.*")
    assert specificity("jupyter_core") > specificity("jupyter*")


# A brute-force reference: try every pattern against every ancestor of the name.

SEGMENTS = st.sampled_from(["a", "b", "ab", "ba", "abc"])
PATTERN_SEGMENTS = st.sampled_from(["a", "b", "ab", "ba", "abc", "*", "a*", "ab*", "*b", "?b"])


def reference(name: str, rules: list[tuple[str, str, int]]) -> str | None:
    parts = name.split(".")
    best = None
    for pattern, kind, precedence in rules:
        segs = pattern.split(".")
        if len(segs) > len(parts):
            continue
        if all(fnmatch.fnmatchcase(p, s) for p, s in zip(parts, segs, strict=False)):
            rank = (specificity(pattern), precedence, kind == "deny")
            if best is None or rank > best[0]:
                best = (rank, kind)
    return None if best is None else best[1]


# (pattern, "deny" | "allow", precedence) triples, as the brute-force reference takes them
RULES = st.lists(
    st.tuples(st.lists(PATTERN_SEGMENTS, min_size=1, max_size=3).map(".".join),
              st.sampled_from(["deny", "allow"]), st.integers(0, 2)),
    max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    rules=RULES,
    names=st.lists(st.lists(SEGMENTS, min_size=1, max_size=4).map(".".join), max_size=10),
)
def test_matcher_agrees_with_a_brute_force_reference(rules, names) -> None:
    m = Matcher(deny=[rule(p, prec) for p, kind, prec in rules if kind == "deny"],
                allow=[rule(p, prec) for p, kind, prec in rules if kind == "allow"])
    for name in names:
        assert verdict(m, name) == reference(name, rules), (name, rules)


def test_pattern_trie_reports_every_covering_pattern() -> None:
    trie: PatternTrie[str] = PatternTrie()
    for pattern in ["a", "a.b", "a.*", "x*", "a.b.c"]:
        trie.add(pattern, pattern)
    assert sorted(trie.matches("a.b.c.d")) == ["a", "a.*", "a.b", "a.b.c"]
    assert trie.matches("xyz") == ["x*"]
    assert trie.matches("b") == []


@settings(max_examples=300, deadline=None)
@given(
    rules=RULES,
    names=st.lists(st.lists(SEGMENTS, min_size=1, max_size=5).map(".".join), max_size=12),
    parents_first=st.booleans(),
)
def test_decisions_stepped_from_a_parent_agree_with_the_reference(
        rules, names, parents_first) -> None:
    """Each decision starts from its parent's walk (made first when missing): the order
    in which names are decided, parents before children as imports go or not, changes no
    verdict, and every name below one in ``allowed_below`` is allowed."""
    m = Matcher(deny=[rule(p, prec) for p, kind, prec in rules if kind == "deny"],
                allow=[rule(p, prec) for p, kind, prec in rules if kind == "allow"])
    if parents_first:
        names = [".".join(name.split(".")[:depth]) for name in names
                 for depth in range(1, name.count(".") + 2)]
    for name in names:
        assert verdict(m, name) == reference(name, rules), (name, rules)
    for name in sorted(m.allowed_below):
        for below in (f"{name}.a", f"{name}.ab.b", f"{name}.abc.ba.a"):
            assert reference(below, rules) != "deny", (name, below, rules)
            assert reference(below, rules) == reference(name, rules), (name, below, rules)


def test_only_a_package_that_no_rule_reaches_below_lets_its_submodules_through() -> None:
    m = Matcher(deny=[rule("*.conftest"), rule("app.*.secret"), rule("ray")],
                allow=[rule("ray.serve")])
    for name in ("app", "app.api", "app.api.secret", "app.api.handlers", "lib", "lib.util",
                 "ray", "ray.serve", "ray.tune"):
        m.decide(name)
    assert verdict(m, "app.api.secret") == "deny"
    assert verdict(m, "app.api.handlers.conftest") is None  # "*.conftest" is depth 2 only
    assert verdict(m, "lib.conftest") == "deny"
    # app: "*.conftest" and "app.*.secret" reach deeper; app.api: ".secret" does
    assert {"app", "app.api", "lib", "ray"}.isdisjoint(m.allowed_below)
    # nothing reaches below these, and they are not denied
    assert {"app.api.handlers", "lib.util", "ray.serve"} <= m.allowed_below
    assert "ray.tune" not in m.allowed_below  # denied: its submodules must be judged
    assert verdict(m, "ray.tune.search") == "deny"
    # decided from a parent that was not decided first
    fresh = Matcher(deny=[rule("app.*.secret")])
    assert verdict(fresh, "app.api.secret.keys") == "deny"
    assert verdict(fresh, "app.api.other") is None
    assert "app.api.other" in fresh.allowed_below


def test_rules_added_for_distributions_replace_earlier_decisions() -> None:
    m = Matcher(deny=[rule("other")])
    assert verdict(m, "google.cloud.bigquery") is None
    assert "google.cloud.bigquery" in m.allowed_below
    m._add_distributions([rule("google-cloud-bigquery")], lambda _: ["google.cloud.bigquery"])
    assert not m.allowed_below
    assert verdict(m, "google.cloud.bigquery.table") == "deny"
