"""What a loaded policy is: import rules and exceptions, and the checks' sections.

Standard library only: this module is on the start-up path.
"""

from importwall._lean import Frozen
from importwall.policy.rules import ImportException, Rule, new_rule

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Literal, overload

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

_set = object.__setattr__  # the classes here are frozen: __init__ sets fields past __setattr__

# Kept here, not in the schema, whose table (importwall.policy.schema re-exports these) a
# policy read from the compiled-policy cache does not need; tests/test_policy_schema.py
# keeps CHECK_SECTIONS in step with the table.
POLICY_VERSION = 1
MODES = ("enforce", "warn", "audit")
CHECK_SECTIONS = ("environment", "gpu", "resources", "distributions", "standardize", "models",
                  "report")
"""The sections kept in :attr:`Policy.sections` for the checks that own them."""


class PolicyWarning(UserWarning):
    """A policy problem that does not stop loading, such as an unknown key."""


class ImportRules(Frozen):
    __slots__ = _fields = ("deny", "allow", "deny_distributions", "exceptions", "blocked_error")
    deny: "tuple[Rule, ...]"
    allow: "tuple[Rule, ...]"
    deny_distributions: "tuple[Rule, ...]"
    exceptions: "tuple[ImportException, ...]"
    blocked_error: "BlockedError"

    def __init__(self, deny: "tuple[Rule, ...]" = (), allow: "tuple[Rule, ...]" = (),
                 deny_distributions: "tuple[Rule, ...]" = (),
                 exceptions: "tuple[ImportException, ...]" = (),
                 blocked_error: "BlockedError" = "module-not-found") -> None:
        _set(self, "deny", deny)
        _set(self, "allow", allow)
        _set(self, "deny_distributions", deny_distributions)
        _set(self, "exceptions", exceptions)
        _set(self, "blocked_error", blocked_error)


_NO_IMPORT_RULES = ImportRules()


_STORED = "_importwall_sections_data"  # a cached policy's sections, as the cache holds them
_BUILT = "_importwall_sections_built"  # those of them section() has built so far


class _Sections:
    """``Policy.sections`` of a policy read from the compiled-policy cache, built the first
    time it is read: the environment and GPU sections' rules (37 of the 74 ``Rule``
    objects of ``sklearn``) are never used by the firewall, which asks only for
    ``section("report")``. A non-data descriptor: once built, the instance's own
    ``sections`` hides it; a policy made by ``__init__`` has its own from the start."""

    def __get__(self, policy: "Policy | None", owner: "type[Policy]") -> "Any":
        if policy is None:
            return self
        state = policy.__dict__
        built = state[_BUILT]
        sections = {name: built[name] if name in built else _section_of(values)
                    for name, values in state[_STORED].items()}
        state["sections"] = sections
        return sections


def _section_of(values: "Mapping[str, tuple[str, Any]]") -> "dict[str, Any]":
    return {key: _rules_of(value) if kind == "rules" else value
            for key, (kind, value) in values.items()}


class Policy(Frozen):
    """A loaded, validated and merged policy.

    ``path`` is the file that was asked for (absolute), ``files`` every file that
    contributed, bases first. Sections other than ``imports`` are kept normalized in
    ``sections`` for the checks that own them (``policy.section("gpu")``).
    """

    # No __slots__: the compiled-policy cache keeps private attributes on a loaded policy
    # (policy/cache.py), which are not fields.
    _fields = ("path", "files", "mode", "strict", "check_at_startup", "imports", "sections",
               "warnings")
    path: str
    files: "tuple[str, ...]"
    mode: "Mode | None"
    strict: bool
    check_at_startup: bool
    imports: "ImportRules"
    if TYPE_CHECKING:
        sections: "Mapping[str, Mapping[str, Any]]"
    else:
        sections = _Sections()  # a policy read from the cache builds them on first use
    warnings: "tuple[str, ...]"

    def __init__(self, path: str, files: "tuple[str, ...]", mode: "Mode | None" = None,
                 strict: bool = False, check_at_startup: bool = False,
                 imports: "ImportRules" = _NO_IMPORT_RULES,
                 sections: "Mapping[str, Mapping[str, Any]] | None" = None,
                 warnings: "tuple[str, ...]" = ()) -> None:
        _set(self, "path", path)
        _set(self, "files", files)
        _set(self, "mode", mode)
        _set(self, "strict", strict)
        _set(self, "check_at_startup", check_at_startup)
        _set(self, "imports", imports)
        _set(self, "sections", {} if sections is None else sections)
        _set(self, "warnings", warnings)

    if TYPE_CHECKING:  # the overloads are for the type checker: typing is not imported
        @overload
        def section(self, name: "Literal['environment']") -> "EnvironmentSection": ...
        @overload
        def section(self, name: "Literal['gpu']") -> "GpuSection": ...
        @overload
        def section(self, name: "Literal['resources']") -> "ResourcesSection": ...
        @overload
        def section(self, name: "Literal['distributions']") -> "DistributionsSection": ...
        @overload
        def section(self, name: "Literal['standardize']") -> "StandardizeSection": ...
        @overload
        def section(self, name: "Literal['models']") -> "ModelsSection": ...
        @overload
        def section(self, name: "Literal['report']") -> "ReportSection": ...

    def section(self, name: str) -> "Mapping[str, Any]":
        """One check's section, normalized (rules as :class:`Rule`, paths absolute); empty
        when no file of the policy wrote it."""
        if name not in CHECK_SECTIONS:
            raise KeyError(f"no policy section named {name!r}")
        state = self.__dict__
        if "sections" not in state:  # from the cache, not built yet: only this one
            built: dict[str, Mapping[str, Any]] = state[_BUILT]
            section = built.get(name)
            if section is None:
                values = state[_STORED].get(name)
                section = built[name] = {} if values is None else _section_of(values)
            return section
        return self.sections.get(name, {})

    def to_dict(self) -> "dict[str, Any]":
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


# ------------------------------------------------------------- from the compiled-policy cache
# Here, not in the loader, so that a process that starts from the cache imports neither the
# loader nor what it reads source with (policy/cache.py ``read_reference``).

def _rules_of(data: "Sequence[Sequence[Any]]") -> "tuple[Rule, ...]":
    return tuple(new_rule(pattern, reason, severity, source, precedence, extra)
                 for pattern, reason, severity, source, precedence, extra in data)


def policy_from_data(data: "Sequence[Any]") -> "Policy":
    """The :class:`Policy` that :func:`~importwall.policy.loader.policy_to_data` stored.
    Its ``sections`` are built on first use (:class:`_Sections`)."""
    path, files, mode, strict, check_at_startup, imports, sections, warnings_ = data
    deny, allow, deny_distributions, exceptions, blocked_error = imports
    policy = Policy(
        path=path, files=tuple(files), mode=mode, strict=strict,
        check_at_startup=check_at_startup,
        imports=ImportRules(
            deny=_rules_of(deny), allow=_rules_of(allow),
            deny_distributions=_rules_of(deny_distributions),
            exceptions=tuple(ImportException(module, importer, reason, source)
                             for module, importer, reason, source in exceptions),
            blocked_error=blocked_error),
        warnings=tuple(warnings_))
    state = policy.__dict__
    del state["sections"]
    state[_STORED] = sections
    state[_BUILT] = {}
    return policy

