"""The exceptions importwall raises.

One root, :class:`ImportWallError`, each subclass with a short ``code`` that names the
section of the docs (``docs/errors.md#<code>``) explaining it and its fix.

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
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

    def __init__(
        self,
        module: str,
        rule: str,
        reason: str | None = None,
        importer: str | None = None,
        chain: Sequence[Frame] = (),
        source: str | None = None,
    ) -> None:
        self.module = module
        self.rule = rule
        self.reason = reason
        self.importer = importer
        self.chain = tuple(chain)
        self.source = source
        self._init_builtin(self._message())

    def _init_builtin(self, message: str) -> None:
        raise NotImplementedError  # pragma: no cover - each concrete class says which

    def _message(self) -> str:
        where = f" ({self.source})" if self.source else ""
        lines = [f"importwall: import of {self.module!r} is forbidden by rule {self.rule}"
                 f"{where}"]
        if self.reason:
            lines.append(f"  reason: {self.reason}")
        if self.importer:
            lines.append(f"  imported by: {self.importer}")
        if self.chain:
            lines.extend(_format_chain(self.chain, self.module))
        lines.append(
            "  fix: move this import out of the serving code path, or relax the policy "
            "(an [[imports.exceptions]] entry or an allow rule) if serving really needs it."
        )
        return "\n".join(lines)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.module, self.rule, self.reason, self.importer, self.chain,
                             self.source))


class ForbiddenImportError(_ForbiddenImportMixin, ImportWallError, ModuleNotFoundError):
    """An import the policy forbids, raised in ``enforce`` mode.

    A :class:`ModuleNotFoundError` on purpose: optional-dependency code
    (``try: import x except ImportError: x = None``) falls back exactly as it would if
    the package were absent, while the finding is still recorded. Set
    ``[imports] blocked_error = "runtime"`` to get :class:`ForbiddenImportRuntimeError`
    instead, which no ``except ImportError`` swallows.
    """

    def _init_builtin(self, message: str) -> None:
        ModuleNotFoundError.__init__(self, message, name=self.module)


class ForbiddenImportRuntimeError(_ForbiddenImportMixin, ImportWallError, RuntimeError):
    """The loud variant of :class:`ForbiddenImportError` (``blocked_error = "runtime"``)."""

    def _init_builtin(self, message: str) -> None:
        RuntimeError.__init__(self, message)


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


class ConfigurationError(ImportWallError):
    """importwall was asked to start with settings it cannot use."""

    code = "bad-configuration"


class UsageError(ImportWallError):
    """The command line asks for something importwall cannot do."""

    code = "usage"


class ReportFormatError(ImportWallError):
    """An unknown report format, or a report that cannot be written."""

    code = "report-error"


class ScanError(ImportWallError):
    """An entry point that cannot be found or read."""

    code = "scan-error"


class FingerprintError(ImportWallError):
    """A fingerprint cannot be taken or read."""

    code = "fingerprint-error"


class InstallError(ImportWallError):
    """importwall cannot install into, or uninstall from, the target environment."""

    code = "install"


class UnsafeModelError(ImportWallError):
    """:func:`importwall.models.safe_load` refused a model file: what ``scan-model``
    flags as an error (``findings``), or a global the loader was asked for that the
    classification refuses. ``path`` is the file, ``subject`` the global (or None)."""

    code = "unsafe-model"

    def __init__(self, path: str, message: str, findings: Sequence[Finding] = (),
                 subject: str | None = None) -> None:
        self.path = path
        self.findings = tuple(findings)
        self.subject = subject
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, str(self), self.findings, self.subject))


class ImportWallWarning(UserWarning):
    """Emitted in ``warn`` mode for each forbidden import that was let through."""
