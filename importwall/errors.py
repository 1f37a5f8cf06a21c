"""The exceptions importwall raises.

One root, :class:`ImportWallError`, each subclass with a short ``code`` that names the
section of the docs (``docs/errors.md#<code>``) explaining it and its fix.

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from importwall.findings import Finding, Frame


class ImportWallError(Exception):
    """Root of every error importwall raises on purpose."""

    code = "importwall-error"


class PolicyError(ImportWallError):
    """A policy file could not be read or is invalid.

    ``problems`` holds every problem found, each already formatted as
    ``file:line: key: message``, so that one run shows them all; ``warnings`` the
    non-fatal ones (unknown keys) found on the way, shown after them, since a misspelt key
    is often the cause of an error nearby.
    """

    code = "policy-error"

    def __init__(self, problems: Sequence[str], warnings: Sequence[str] = ()) -> None:
        self.problems = tuple(problems)
        self.warnings = tuple(warnings)
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.problems) == 1:
            lines = [f"invalid policy: {self.problems[0]}"]
        else:
            lines = [f"invalid policy ({len(self.problems)} problems):"]
            lines.extend(f"  {problem}" for problem in self.problems)
        lines.extend(f"  warning: {warning}" for warning in self.warnings)
        return "\n".join(lines)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems, self.warnings))


def _format_chain(chain: Sequence[Frame], module: str) -> list[str]:
    lines = ["  import chain (outermost first):"]
    for frame in chain:
        where = f"{frame.file}:{frame.line}"
        inside = f" in {frame.function}()" if frame.function else ""
        lines.append(f"    {frame.module:<30} {where}{inside}")
    lines.append(f"    -> {module}")
    return lines


class _ForbiddenImportMixin:
    """What every blocked-import error carries, whichever builtin it derives from."""

    code = "forbidden-import"
    module: str
    rule: str
    reason: str | None
    importer: str | None
    chain: tuple[Frame, ...]
    source: str | None

    def _setup(
        self,
        module: str,
        rule: str,
        reason: str | None,
        importer: str | None,
        chain: Sequence[Frame],
        source: str | None,
    ) -> str:
        self.module = module
        self.rule = rule
        self.reason = reason
        self.importer = importer
        self.chain = tuple(chain)
        self.source = source
        where = f" ({source})" if source else ""
        lines = [f"importwall: import of {module!r} is forbidden by rule {rule}{where}"]
        if reason:
            lines.append(f"  reason: {reason}")
        if importer:
            lines.append(f"  imported by: {importer}")
        if chain:
            lines.extend(_format_chain(chain, module))
        lines.append(
            "  fix: move this import out of the serving code path, or relax the policy "
            "(an [[imports.exceptions]] entry or an allow rule) if serving really needs it."
        )
        return "\n".join(lines)

    def _args(self) -> tuple[Any, ...]:
        return (self.module, self.rule, self.reason, self.importer, self.chain, self.source)


class ForbiddenImportError(_ForbiddenImportMixin, ImportWallError, ModuleNotFoundError):
    """An import the policy forbids, raised in ``enforce`` mode.

    A :class:`ModuleNotFoundError` on purpose: optional-dependency code
    (``try: import x except ImportError: x = None``) falls back exactly as it would if
    the package were absent, while the finding is still recorded. Set
    ``[imports] blocked_error = "runtime"`` to get :class:`ForbiddenImportRuntimeError`
    instead, which no ``except ImportError`` swallows.
    """

    def __init__(
        self,
        module: str,
        rule: str,
        reason: str | None = None,
        importer: str | None = None,
        chain: Sequence[Frame] = (),
        source: str | None = None,
    ) -> None:
        message = self._setup(module, rule, reason, importer, chain, source)
        super().__init__(message, name=module)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._args())


class ForbiddenImportRuntimeError(_ForbiddenImportMixin, ImportWallError, RuntimeError):
    """The loud variant of :class:`ForbiddenImportError` (``blocked_error = "runtime"``)."""

    def __init__(
        self,
        module: str,
        rule: str,
        reason: str | None = None,
        importer: str | None = None,
        chain: Sequence[Frame] = (),
        source: str | None = None,
    ) -> None:
        super().__init__(self._setup(module, rule, reason, importer, chain, source))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._args())


class EnvironmentRejectedError(ImportWallError):
    """``check_at_startup`` found error-severity findings in ``enforce`` mode: this process
    carries training configuration and must not serve. ``findings`` holds them."""

    code = "environment-rejected"

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        lines = [f"importwall: the environment check found {len(self.findings)} error(s); "
                 "this process looks configured for training, not serving:"]
        for finding in self.findings:
            where = f" [{finding.source}]" if finding.source else ""
            lines.append(f"  - {finding.code}: {finding.message}{where}")
            if finding.reason:
                lines.append(f"      reason: {finding.reason}")
        lines.append("  fix: start the server without that configuration (unset the "
                     "variables, use a serving GPU, node and image), or relax the policy; "
                     "IMPORTWALL_MODE=warn starts it anyway and reports the findings.")
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.findings,))


class ImportWallWarning(UserWarning):
    """Emitted in ``warn`` mode for each forbidden import that was let through."""
