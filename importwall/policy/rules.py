"""The atoms of a policy: a rule (a pattern and what to say when it decides) and an
importer-aware exception.

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Rule:
    """One rule of a policy: a pattern and what to say when it decides.

    ``precedence`` is the position of the rule's file in the ``extends`` order: a file that
    extends another outranks it when two rules are equally specific.
    """

    pattern: str
    reason: str | None = None
    severity: str = "error"
    source: str = ""
    precedence: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"pattern": self.pattern, "severity": self.severity,
                                "source": self.source}
        if self.reason:
            data["reason"] = self.reason
        data.update(self.extra)
        return data


@dataclass(frozen=True)
class ImportException:
    """``module`` may be imported when the direct importer matches ``importer``."""

    module: str
    importer: str
    reason: str | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"module": self.module, "importer": self.importer, "reason": self.reason,
                "source": self.source}
