"""The atoms of a policy: a rule (a pattern and what to say when it decides) and an
importer-aware exception.

Standard library only: this module is on the start-up path.
"""

from importwall._lean import Frozen

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

_set = object.__setattr__  # the classes here are frozen: __init__ sets fields past __setattr__


class Rule(Frozen):
    """One rule of a policy: a pattern and what to say when it decides.

    ``precedence`` is the position of the rule's file in the ``extends`` order: a file that
    extends another outranks it when two rules are equally specific.
    """

    __slots__ = _fields = ("pattern", "reason", "severity", "source", "precedence", "extra")
    pattern: str
    reason: "str | None"
    severity: str
    source: str
    precedence: int
    extra: "Mapping[str, Any]"

    def __init__(self, pattern: str, reason: "str | None" = None, severity: str = "error",
                 source: str = "", precedence: int = 0,
                 extra: "Mapping[str, Any] | None" = None) -> None:
        _set(self, "pattern", pattern)
        _set(self, "reason", reason)
        _set(self, "severity", severity)
        _set(self, "source", source)
        _set(self, "precedence", precedence)
        _set(self, "extra", {} if extra is None else extra)

    def to_dict(self) -> "dict[str, Any]":
        data: dict[str, Any] = {"pattern": self.pattern, "severity": self.severity,
                                "source": self.source}
        if self.reason:
            data["reason"] = self.reason
        data.update(self.extra)
        return data


class ImportException(Frozen):
    """``module`` may be imported when the direct importer matches ``importer``."""

    __slots__ = _fields = ("module", "importer", "reason", "source")
    module: str
    importer: str
    reason: "str | None"
    source: str

    def __init__(self, module: str, importer: str, reason: "str | None" = None,
                 source: str = "") -> None:
        _set(self, "module", module)
        _set(self, "importer", importer)
        _set(self, "reason", reason)
        _set(self, "source", source)

    def to_dict(self) -> "dict[str, Any]":
        return {"module": self.module, "importer": self.importer, "reason": self.reason,
                "source": self.source}


_new = object.__new__
_SET_PATTERN, _SET_REASON, _SET_SEVERITY, _SET_SOURCE, _SET_PRECEDENCE, _SET_EXTRA = (
    Rule.__dict__[name].__set__ for name in Rule._fields)


def new_rule(pattern: str, reason: "str | None", severity: str, source: str, precedence: int,
             extra: "Mapping[str, Any]") -> "Rule":
    """``Rule(pattern, reason, severity, source, precedence, extra)``, at about half the
    cost (the slots set directly, past ``__init__``): a policy of 100,000 rules makes
    100,000 of them, from source (policy/validate.py) and from the compiled-policy cache."""
    rule = _new(Rule)
    _SET_PATTERN(rule, pattern)
    _SET_REASON(rule, reason)
    _SET_SEVERITY(rule, severity)
    _SET_SOURCE(rule, source)
    _SET_PRECEDENCE(rule, precedence)
    _SET_EXTRA(rule, extra)
    return rule
