"""Line numbers of rules and exceptions, worked out in one pass (policy/locate.py): each
rule's ``source`` names the line its pattern is written on, in large generated policies,
when a pattern repeats, and when it is quoted either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from importwall import PolicyError, load_policy
from importwall.policy.locate import Locator


def test_every_rule_of_a_large_multiline_policy_names_its_own_line(tmp_path: Path) -> None:
    lines = ["version = 1", "[imports]", "deny = ["]
    expected = {}
    for index in range(3000):
        lines.append(f'    {{ module = "corp{index}.training", reason = "rule {index}" }},')
        expected[f"corp{index}.training"] = len(lines)
    lines += ["]", "allow = ["]
    for index in range(0, 3000, 7):
        lines.append(f"    'corp{index}.training.ok',")
        expected[f"corp{index}.training.ok"] = len(lines)
    lines.append("]")
    path = tmp_path / "big.toml"
    path.write_text("\n".join(lines) + "\n")
    policy = load_policy(path)
    rules = [*policy.imports.deny, *policy.imports.allow]
    assert len(rules) == 3000 + len(range(0, 3000, 7))
    for rule in rules:
        assert rule.source == f"{path}:{expected[rule.pattern]}", rule


def test_a_repeated_pattern_is_found_after_its_own_key(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        'version = 1\n'
        '# "optuna" was allowed once, see below\n'   # 2: a comment before both keys
        '[imports]\n'
        'deny = [\n'
        '    "optuna",\n'                             # 5
        ']\n'
        'allow = [\n'
        '    "optuna",\n'                             # 8
        '    "optuna.visualization",\n'               # 9
        ']\n')
    policy = load_policy(path)
    assert policy.imports.deny[0].source == f"{path}:5"
    assert [rule.source for rule in policy.imports.allow] == [f"{path}:8", f"{path}:9"]


def test_exceptions_and_errors_still_name_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        'version = 1\n'
        '[imports]\n'
        'deny = ["a", "b..c", "d"]\n'          # 3: the bad pattern is on this line
        '\n'
        '[[imports.exceptions]]\n'
        'module = "a"\n'                       # 6
        'importer = "x"\n'
        '\n'
        '[[imports.exceptions]]\n'
        'module = 7\n'                         # 10: not a string
        'importer = "y"\n')
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    problems = raised.value.problems
    assert any(p.startswith(f"{path}:3: imports.deny[1]: ") for p in problems), problems
    assert any(p.startswith(f"{path}:9: imports.exceptions[1].module") for p in problems), \
        problems


def test_locator_answers_the_first_line_at_or_after_the_key() -> None:
    text = "\n".join([
        "[imports]",              # 1
        'deny = ["x", "y"]',      # 2
        "allow = [",              # 3
        '  "y",',                 # 4
        "  'z',",                 # 5
        "]",
    ])
    locator = Locator(text)
    assert locator.line(("imports", "deny"), "y") == 2
    assert locator.line(("imports", "allow"), "y") == 4
    assert locator.line(("imports", "allow"), "z") == 5
    assert locator.line(("imports", "allow"), "x") == 3  # not after the key: the key's line
    assert locator.line(("imports", "allow", "[0]")) == 3
    assert locator.line(("nowhere",)) == 1
