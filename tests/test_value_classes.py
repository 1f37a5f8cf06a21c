"""The value classes (Finding, Frame, Rule, ImportException, ImportRules, Policy) are plain
``__slots__`` classes over :class:`importwall._lean.Frozen`, not dataclasses, so that the
start-up path does not import ``dataclasses``; they must still behave as the frozen
dataclasses they were, ``dataclasses`` functions included."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any

import pytest

from importwall._lean import replace, suppress
from importwall.findings import Finding, Frame
from importwall.policy import ImportException, ImportRules, Policy, Rule


def _frame() -> Frame:
    return Frame("app", "/srv/app.py", 3, "handler")


def _finding(**changes: Any) -> Finding:
    values: dict[str, Any] = dict(kind="import", code="import-blocked", severity="error",
                                  subject="optuna", message="m", chain=(_frame(),), pid=7,
                                  timestamp=1.5)
    values.update(changes)
    return Finding(**values)


def _policy() -> Policy:
    rule = Rule("optuna", "tuning", source="p.toml:3", extra={"distribution": "optuna"})
    imports = ImportRules(deny=(rule,), exceptions=(ImportException("a", "b"),))
    return Policy("/p.toml", ("/p.toml",), "enforce", imports=imports,
                  sections={"report": {"log": ("json",)}})


VALUES = [_frame, _finding, lambda: Rule("x.*"), lambda: ImportException("a", "b", "r"),
          lambda: ImportRules(), _policy]


@pytest.mark.parametrize("make", VALUES)
def test_equal_by_fields_pickled_and_copied(make) -> None:
    value = make()
    names = list(value._fields)
    assert value == make()
    assert value != object()
    assert pickle.loads(pickle.dumps(value)) == value
    assert copy.copy(value) == value
    assert copy.deepcopy(value) == value
    assert dataclasses.is_dataclass(value)
    assert [field.name for field in dataclasses.fields(value)] == names


@pytest.mark.parametrize("make", VALUES)
def test_frozen(make) -> None:
    value = make()
    name = value._fields[0]
    with pytest.raises(AttributeError, match="cannot assign to field"):
        setattr(value, name, "other")
    with pytest.raises(AttributeError, match="cannot delete field"):
        delattr(value, name)


def test_repr_and_hash_as_a_frozen_dataclass_has_them() -> None:
    assert repr(_frame()) == ("Frame(module='app', file='/srv/app.py', line=3, "
                              "function='handler')")
    assert repr(Rule("x")) == ("Rule(pattern='x', reason=None, severity='error', source='', "
                               "precedence=0, extra={})")
    assert hash(_frame()) == hash(_frame())
    assert len({_frame(), _frame(), Frame("app", "/srv/app.py", 4)}) == 2
    with pytest.raises(TypeError):
        hash(_finding())  # details is a dict, as with the dataclass


def test_dataclasses_replace_and_asdict_still_work() -> None:
    finding = _finding()
    warned = dataclasses.replace(finding, severity="warning")
    assert (warned.severity, warned.chain, warned.pid) == ("warning", finding.chain, 7)
    assert replace(finding, severity="warning") == warned
    assert dataclasses.asdict(_frame()) == _frame().to_dict()
    policy = _policy()
    relaxed = dataclasses.replace(policy, imports=dataclasses.replace(policy.imports, deny=()))
    assert relaxed.imports.deny == () and relaxed.files == policy.files
    with pytest.raises(ValueError, match="unknown severity"):
        dataclasses.replace(finding, severity="fatal")


def test_defaults_as_before() -> None:
    finding = Finding(kind="k", code="c", severity="info", subject="s", message="m")
    other = Finding(kind="k", code="c", severity="info", subject="s", message="m")
    assert finding.details == {} and finding.details is not other.details
    assert finding.chain == () and finding.pid > 0 and finding.timestamp > 0
    assert Rule("x").extra == {} and Rule("x").extra is not Rule("x").extra
    match _frame():
        case Frame(module, _, line):
            assert (module, line) == ("app", 3)


def test_suppress_ignores_only_what_it_names() -> None:
    with suppress(OSError, KeyError):
        raise FileNotFoundError
    with pytest.raises(ValueError), suppress(OSError):
        raise ValueError
