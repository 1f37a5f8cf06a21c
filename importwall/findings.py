"""What importwall found: one record type shared by the firewall, the environment checks,
the scanners and every report format.

Standard library only: this module is on the start-up path. A finding names environment
variables, never their values; nothing here ever stores a value read from the environment.
"""

from __future__ import annotations

import os
import time

from importwall._lean import Frozen

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
    from typing import Any

_set = object.__setattr__  # the classes here are frozen: __init__ sets fields past __setattr__

SEVERITIES = ("info", "warning", "error")
"""Ordered from least to most severe."""

SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

# Finding kinds. Each producer owns one; report writers group by it.
KIND_IMPORT = "import"
KIND_ENVIRONMENT = "environment"
KIND_GPU = "gpu"
KIND_RESOURCES = "resources"
KIND_DISTRIBUTION = "distribution"
KIND_STANDARDIZE = "standardize"
KIND_SCAN = "scan"
KIND_MODEL = "model"
KIND_INTERNAL = "internal"
"""importwall's own failures, recorded instead of raised in warn/audit modes."""

# What the firewall did about an import.
ACTION_BLOCKED = "blocked"
ACTION_WARNED = "warned"
ACTION_RECORDED = "recorded"
ACTION_PRELOADED = "preloaded"
"""Already in ``sys.modules`` when the firewall was activated: too late to block."""
ACTION_ABSENT = "absent"
"""Not installed: the import failed as it would without importwall (``import-absent``)."""


class Frame(Frozen):
    """One step of an import chain: a module executing at ``file:line``.

    ``function`` is set for the import site when the import ran inside a function
    (a lazy import); it is ``None`` for module-level code.
    """

    __slots__ = _fields = ("module", "file", "line", "function")
    module: str
    file: str
    line: int
    function: str | None

    def __init__(self, module: str, file: str, line: int, function: str | None = None
                 ) -> None:
        _set(self, "module", module)
        _set(self, "file", file)
        _set(self, "line", line)
        _set(self, "function", function)

    def to_dict(self) -> dict[str, Any]:
        return {"module": self.module, "file": self.file, "line": self.line,
                "function": self.function}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Frame:
        return cls(str(data["module"]), str(data["file"]), int(data["line"]),
                   optional_text(data, "function"))


def optional_text(data: dict[str, Any], key: str) -> str | None:
    """An optional text field read back from a record: anything else means a damaged
    record (the report writers sort, hash, escape and print these fields)."""
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key} must be a string or null, not {type(value).__name__}")
    return value


def hit_count(value: object) -> int:
    """A hit count read back from a record or a report: a whole number, at least 1."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"hits must be a whole number >= 1, not {value!r}")
    return value


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise TypeError(f"{key} must be a table, not {type(value).__name__}")
    return value


def host_name() -> str:
    """This machine's name, as ``socket.gethostname()`` gives it.

    Read from ``os.uname()`` where there is one: importing :mod:`socket` costs about a
    third of a bare interpreter start, on the start-up path of every process.
    """
    uname = getattr(os, "uname", None)
    if uname is not None:
        return str(uname().nodename)
    import socket  # Windows

    return socket.gethostname()


_HOST = host_name()
_getpid = os.getpid  # Finding's defaults, as its dataclass fields' default factories were
_time = time.time


class Finding(Frozen):
    """One thing a check found.

    ``kind`` says which part of importwall produced it, ``code`` is a short stable slug
    (``import-forbidden``, ``env-denied-variable``, ...), ``subject`` is what it is about
    (a module name, an environment variable NAME, a GPU model, a distribution).
    """

    __slots__ = _fields = ("kind", "code", "severity", "subject", "message", "rule", "reason",
                           "source", "action", "importer", "chain", "details", "pid", "host",
                           "timestamp", "hits")
    kind: str
    code: str
    severity: str
    subject: str
    message: str
    rule: str | None
    reason: str | None
    source: str | None
    """Where the deciding rule was written, ``file:line``."""
    action: str | None
    importer: str | None
    chain: tuple[Frame, ...]
    details: dict[str, Any]
    pid: int
    host: str
    timestamp: float
    hits: int
    """How many import attempts it stands for in its process (1 but for an import site
    run more than once): a hit count, apart from the count of processes that reported it."""

    def __init__(self, kind: str, code: str, severity: str, subject: str, message: str,
                 rule: str | None = None, reason: str | None = None,
                 source: str | None = None, action: str | None = None,
                 importer: str | None = None, chain: tuple[Frame, ...] = (),
                 details: dict[str, Any] | None = None, pid: int | None = None,
                 host: str = _HOST, timestamp: float | None = None, hits: int = 1) -> None:
        if severity not in SEVERITY_RANK:
            raise ValueError(f"unknown severity {severity!r}; use one of {SEVERITIES}")
        _set(self, "kind", kind)
        _set(self, "code", code)
        _set(self, "severity", severity)
        _set(self, "subject", subject)
        _set(self, "message", message)
        _set(self, "rule", rule)
        _set(self, "reason", reason)
        _set(self, "source", source)
        _set(self, "action", action)
        _set(self, "importer", importer)
        _set(self, "chain", chain)
        _set(self, "details", {} if details is None else details)
        _set(self, "pid", _getpid() if pid is None else pid)
        _set(self, "host", host)
        _set(self, "timestamp", _time() if timestamp is None else timestamp)
        _set(self, "hits", hits)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "kind": self.kind,
            "code": self.code,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "rule": self.rule,
            "reason": self.reason,
            "source": self.source,
            "action": self.action,
            "importer": self.importer,
            "chain": [frame.to_dict() for frame in self.chain],
            "details": dict(self.details),
            "pid": self.pid,
            "host": self.host,
            "timestamp": self.timestamp,
        }
        if self.hits != 1:  # a finding's first record is its first hit
            data["hits"] = self.hits
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            kind=str(data["kind"]),
            code=str(data["code"]),
            severity=str(data["severity"]),
            subject=str(data["subject"]),
            message=str(data["message"]),
            rule=optional_text(data, "rule"),
            reason=optional_text(data, "reason"),
            source=optional_text(data, "source"),
            action=optional_text(data, "action"),
            importer=optional_text(data, "importer"),
            chain=tuple(Frame.from_dict(f) for f in data.get("chain") or ()),
            details=_table(data, "details"),
            pid=int(data.get("pid", 0)),
            host=str(data.get("host", "")),
            timestamp=float(data.get("timestamp", 0.0)),
            hits=hit_count(data.get("hits", 1)),
        )

    def at_least(self, severity: str) -> bool:
        return SEVERITY_RANK[self.severity] >= SEVERITY_RANK[severity]
