"""Typed views of the policy's sections, for strict type checking of how they are used.

Imported only by type checkers (``if TYPE_CHECKING:``): at run time a section is the plain
mapping the loader built, and nothing here is executed on the start-up path. Each class
mirrors one table of :data:`importwall.policy.schema.SCHEMA`; a test keeps them in step.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from importwall.policy.rules import Rule

Mode = Literal["enforce", "warn", "audit"]
BlockedError = Literal["module-not-found", "runtime"]
Severity = Literal["info", "warning", "error"]
PythonMatch = Literal["minor", "patch", "ignore"]
LogSink = Literal["json", "otel"]
SectionName = Literal["environment", "gpu", "resources", "distributions", "standardize",
                      "models", "report"]
Rules = tuple[Rule, ...]


class EnvironmentSection(TypedDict, total=False):
    deny: Rules
    allow: Rules
    deny_hosts: Rules
    deny_networks: Rules


class GpuSection(TypedDict, total=False):
    deny_models: Rules
    max_devices: int
    severity: Severity
    nvidia_smi_timeout: float


class ResourcesSection(TypedDict, total=False):
    max_cpus: float
    max_memory_gib: float
    deny_networks: Rules
    deny_mounts: Rules
    severity: Severity


class DistributionsSection(TypedDict, total=False):
    deny: Rules


class StandardizeSection(TypedDict, total=False):
    fingerprint: str
    """An absolute path: written relative to the policy file that set it."""
    packages: tuple[str, ...]
    modules: tuple[str, ...]
    python: PythonMatch
    severity: Severity


class ModelsSection(TypedDict, total=False):
    allow: Rules
    """Globals (``module.name`` patterns) a model may reference besides the known-safe
    list."""
    unknown: Severity


class ReportSection(TypedDict, total=False):
    data_dir: str
    """An absolute path: written relative to the policy file that set it."""
    formats: tuple[str, ...]
    output: str
    fail_on: Severity
    log: tuple[LogSink, ...]


SECTION_TYPES: dict[str, type] = {
    "environment": EnvironmentSection,
    "gpu": GpuSection,
    "resources": ResourcesSection,
    "distributions": DistributionsSection,
    "standardize": StandardizeSection,
    "models": ModelsSection,
    "report": ReportSection,
}
"""Section name -> its typed view (for the test that keeps them in step with the schema)."""
