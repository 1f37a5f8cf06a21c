"""Bad input to the policy loader: whatever the file holds, the answer is a Policy or a
PolicyError whose every problem names the file and a line; never another exception, never
a hang."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importwall.errors import PolicyError
from importwall.policy import SCHEMA, Policy, PolicyWarning, load_policy
from importwall.policy import toml as _toml
from importwall.runtime.matcher import Matcher

FUZZ = settings(max_examples=150, deadline=dt.timedelta(seconds=10),
                suppress_health_check=[HealthCheck.too_slow])

TOKENS = [
    "version = 1\n", "version = ", "[imports]\n", "[gpu]\n", "[resources]\n", "[report]\n",
    "[[imports.exceptions]]\n", "[environment]\n", "deny = ", "allow = ", "module = ",
    "importer = ", "reason = ", "severity = ", "extends = ", "mode = ", "strict = ",
    "max_devices = ", "nvidia_smi_timeout = ", "deny_networks = ", "deny_mounts = ",
    '"training"', '"sklearn.model_selection"', '"jupyter*"', '"10.0.0.0/8"', '"/mnt"',
    '"enforce"', '"serving-base"', '"./base.toml"', "'x'", '"""', "'''", "[", "]", "{", "}",
    ",", "=", ".", "\n", " ", "#", "1", "-1", "1.5", "nan", "inf", "true", "false",
    "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", "0x1F", '"\\u00e9"', '"\\q"',
]

toml_ish = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=6)),
                    max_size=80).map("".join)

scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["training", "a.b", "*", "", " ", "10.0.0.0/8", "/", "enforce",
                     "error", "nope", "..", "a..b", "-"]),
    st.datetimes(),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["module", "importer", "reason", "severity", "name",
                                       "pattern", "network", "path", "model", "x"]),
                      inner, max_size=4),
    max_leaves=10,
)


def toml_value(value: Any) -> str:
    """Inline TOML for a value (the loader reads TOML; there is no writer in the stdlib)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"


@st.composite
def schema_documents(draw: st.DrawFn) -> str:
    """A valid TOML document whose keys come from the policy schema and whose values are
    mostly of the wrong type."""
    lines = [f"version = {toml_value(draw(st.one_of(st.just(1), scalars)))}"]
    for key in draw(st.sets(st.sampled_from(["mode", "strict", "check_at_startup"]))):
        lines.append(f"{key} = {toml_value(draw(values))}")
    sections = draw(st.sets(st.sampled_from([s for s in SCHEMA if s]), min_size=1))
    for section in sorted(sections):
        lines.append(f"[{section}]")
        for key in sorted(draw(st.sets(st.sampled_from(sorted(SCHEMA[section])), min_size=1))):
            lines.append(f"{key} = {toml_value(draw(values))}")
    return "\n".join(lines) + "\n"


def assert_clean_outcome(text: str, name: str = "policy.toml") -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PolicyWarning)
            try:
                policy = load_policy(path)
            except PolicyError as error:
                assert error.problems
                for problem in error.problems:
                    assert re.match(rf"{re.escape(str(path))}:\d+: \S", problem), problem
                return
        assert isinstance(policy, Policy)
        Matcher.from_policy(policy).decide("training.model_selection")


@FUZZ
@given(toml_ish)
def test_random_toml_like_text_gives_a_policy_or_a_policy_error(text: str) -> None:
    assert_clean_outcome(text)


@FUZZ
@given(st.one_of(toml_ish, st.tuples(st.sampled_from(["", "[tool]\n", "[tool.importwall]\n"]),
                                     toml_ish).map("".join),
                 schema_documents().map(lambda text: "[tool.importwall]\n" + text)))
def test_random_pyproject_toml_gives_a_policy_or_a_policy_error(text: str) -> None:
    assert_clean_outcome(text, name="pyproject.toml")


@pytest.mark.parametrize("text", ["tool = 1\n", "[tool]\nimportwall = 1\n", "tool = []\n"])
def test_pyproject_without_a_tool_importwall_table_is_a_policy_error(
        tmp_path: Path, text: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=r"pyproject.toml:1: tool.importwall: no \[tool"):
        load_policy(tmp_path / "pyproject.toml")


@FUZZ
@given(schema_documents())
def test_schema_keys_with_wrong_types_give_a_policy_or_a_policy_error(text: str) -> None:
    _toml.loads(text)  # the generator writes valid TOML: the schema checks are under test
    assert_clean_outcome(text)


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "{a=" * 5000 + "1" + "}" * 5000])
def test_deeply_nested_values_are_a_policy_error_not_a_recursion_error(
        tmp_path: Path, nested: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(f"version = 1\nx = {nested}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="nested too deeply"):
        load_policy(path)


def test_a_long_line_that_looks_like_a_table_header_does_not_hang(project) -> None:
    # Before the fix the line locator's header pattern backtracked cubically on such a
    # line: 8,000 characters took minutes, these 50,000 would take hours.
    project.policy('version = 1\n[imports]\ndeny = [{ module = "training", reason = """\n['
                   + " " * 50_000 + 'x\n""" }]\nblocked_error = 1\n')
    result = project.run("""
        import importwall
        try:
            importwall.load_policy("policy.toml")
        except importwall.PolicyError as error:
            print(error)
        """, timeout=60)
    assert result.returncode == 0, result.output
    assert "policy.toml:6: imports.blocked_error: must be one of" in result.stdout
