"""The policy file's keys: one table that validation, merging and ``check --show`` share.

Each section maps its keys to a :class:`Field` saying how a value is validated, normalized
and merged across ``extends``. The typed view of the same sections, for code that reads
them, is in :mod:`importwall.policy.sections`.

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

from importwall._lean import Frozen
from importwall.findings import SEVERITIES
from importwall.policy.model import CHECK_SECTIONS as CHECK_SECTIONS
from importwall.policy.model import MODES as MODES
from importwall.policy.model import POLICY_VERSION as POLICY_VERSION

BLOCKED_ERRORS = ("module-not-found", "runtime")
PYTHON_MATCHES = ("minor", "patch", "ignore")
LOG_SINKS = ("json", "otel")
"""Where ``[report] log`` (and ``IMPORTWALL_LOG``) also send each finding as it happens."""


class Field(Frozen):
    """How one key is validated, normalized and merged across ``extends``."""

    __slots__ = _fields = ("kind", "choices", "pattern_key", "extra_keys", "help")
    kind: str  # int | bool | str | path | number | choice | choices | strings | rules | exceptions
    choices: tuple[str, ...]
    pattern_key: str
    extra_keys: tuple[str, ...]
    help: str

    def __init__(self, kind: str, choices: tuple[str, ...] = (), pattern_key: str = "pattern",
                 extra_keys: tuple[str, ...] = (), help: str = "") -> None:
        set_ = object.__setattr__  # frozen: __init__ sets fields past __setattr__
        set_(self, "kind", kind)
        set_(self, "choices", choices)
        set_(self, "pattern_key", pattern_key)
        set_(self, "extra_keys", extra_keys)
        set_(self, "help", help)


def _rules(pattern_key: str, *extra: str, help: str = "") -> Field:
    return Field("rules", pattern_key=pattern_key, extra_keys=extra, help=help)


_SEVERITY = Field("choice", SEVERITIES)

SCHEMA: dict[str, dict[str, Field]] = {
    "": {
        "version": Field("int"),
        "extends": Field("strings"),
        "mode": Field("choice", MODES),
        "strict": Field("bool"),
        "check_at_startup": Field("bool"),
    },
    "imports": {
        "deny": _rules("module"),
        "allow": _rules("module"),
        "deny_distributions": _rules("distribution"),
        "exceptions": Field("exceptions"),
        "blocked_error": Field("choice", BLOCKED_ERRORS),
    },
    "environment": {
        "deny": _rules("name"),
        "allow": _rules("name"),
        "deny_hosts": _rules("host"),
        "deny_networks": _rules("network"),
    },
    "gpu": {
        "deny_models": _rules("model"),
        "max_devices": Field("int"),
        "severity": _SEVERITY,
        "nvidia_smi_timeout": Field("number"),
    },
    "resources": {
        "max_cpus": Field("number"),
        "max_memory_gib": Field("number"),
        "deny_networks": _rules("network"),
        "deny_mounts": _rules("path"),
        "severity": _SEVERITY,
    },
    "distributions": {
        "deny": _rules("distribution"),
    },
    "standardize": {
        "fingerprint": Field("path"),
        "packages": Field("strings"),
        "modules": Field("strings"),
        "python": Field("choice", PYTHON_MATCHES),
        "severity": _SEVERITY,
    },
    "models": {
        "allow": _rules("global",
                        help="globals (module.name, '*' globs) a model file may reference "
                             "besides the known-safe list: your own classes"),
        "unknown": Field("choice", SEVERITIES,
                         help="the severity of a global that is neither known-safe, "
                              "allowed, training-only nor dangerous (default warning)"),
    },
    "report": {
        "data_dir": Field("path"),
        "formats": Field("strings"),
        "output": Field("str"),
        "fail_on": Field("choice", SEVERITIES),
        "log": Field("choices", LOG_SINKS,
                     help="also send each finding, as it happens, to these sinks: json (one "
                          "JSON object a line on standard error), otel (OpenTelemetry)"),
    },
}
"""Section name (``""`` for the top level) -> key -> how it is checked."""


MERGED_BY_CONCATENATION = ("rules", "exceptions", "strings")
RULE_KEYS = ("reason", "severity")
