"""What a loaded policy is: import rules and exceptions, and the checks' sections.

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from importwall.policy.rules import ImportException, Rule
from importwall.policy.schema import CHECK_SECTIONS, POLICY_VERSION

if TYPE_CHECKING:
    from typing import Literal

    from importwall.policy.sections import (
        BlockedError,
        DistributionsSection,
        EnvironmentSection,
        GpuSection,
        Mode,
        ModelsSection,
        ReportSection,
        ResourcesSection,
        StandardizeSection,
    )


class PolicyWarning(UserWarning):
    """A policy problem that does not stop loading, such as an unknown key."""


@dataclass(frozen=True)
class ImportRules:
    deny: tuple[Rule, ...] = ()
    allow: tuple[Rule, ...] = ()
    deny_distributions: tuple[Rule, ...] = ()
    exceptions: tuple[ImportException, ...] = ()
    blocked_error: BlockedError = "module-not-found"


@dataclass(frozen=True)
class Policy:
    """A loaded, validated and merged policy.

    ``path`` is the file that was asked for (absolute), ``files`` every file that
    contributed, bases first. Sections other than ``imports`` are kept normalized in
    ``sections`` for the checks that own them (``policy.section("gpu")``).
    """

    path: str
    files: tuple[str, ...]
    mode: Mode | None = None
    strict: bool = False
    check_at_startup: bool = False
    imports: ImportRules = ImportRules()
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @overload
    def section(self, name: Literal["environment"]) -> EnvironmentSection: ...
    @overload
    def section(self, name: Literal["gpu"]) -> GpuSection: ...
    @overload
    def section(self, name: Literal["resources"]) -> ResourcesSection: ...
    @overload
    def section(self, name: Literal["distributions"]) -> DistributionsSection: ...
    @overload
    def section(self, name: Literal["standardize"]) -> StandardizeSection: ...
    @overload
    def section(self, name: Literal["models"]) -> ModelsSection: ...
    @overload
    def section(self, name: Literal["report"]) -> ReportSection: ...

    def section(self, name: str) -> Mapping[str, Any]:
        """One check's section, normalized (rules as :class:`Rule`, paths absolute); empty
        when no file of the policy wrote it."""
        if name not in CHECK_SECTIONS:
            raise KeyError(f"no policy section named {name!r}")
        return self.sections.get(name, {})

    def to_dict(self) -> dict[str, Any]:
        """The resolved, merged policy, as ``importwall check --show`` prints it."""
        data: dict[str, Any] = {
            "version": POLICY_VERSION,
            "path": self.path,
            "files": list(self.files),
            "mode": self.mode,
            "strict": self.strict,
            "check_at_startup": self.check_at_startup,
            "imports": {
                "deny": [r.to_dict() for r in self.imports.deny],
                "allow": [r.to_dict() for r in self.imports.allow],
                "deny_distributions": [r.to_dict() for r in self.imports.deny_distributions],
                "exceptions": [e.to_dict() for e in self.imports.exceptions],
                "blocked_error": self.imports.blocked_error,
            },
        }
        for name, values in sorted(self.sections.items()):
            data[name] = {
                key: [item.to_dict() for item in value]
                if isinstance(value, tuple) and value and isinstance(value[0], Rule)
                else list(value) if isinstance(value, tuple) else value
                for key, value in values.items()
            }
        return data
