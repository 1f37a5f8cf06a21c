"""Each finding, as it happens, in the places a fleet already collects: its log pipeline
and OpenTelemetry.

``IMPORTWALL_LOG`` (else the policy's ``[report] log``) names the sinks, comma-separated:

* ``json``: one JSON object a line on standard error (file descriptor 2, whatever
  ``sys.stderr`` has been replaced with), which container runtimes hand to Fluent Bit,
  Vector or Loki;
* ``json:PATH``: the same lines appended to ``PATH`` (``json:/dev/stdout`` for standard
  output); any number of processes may append to one file;
* ``otel``: OTLP log records and an ``importwall.findings`` counter
  (:mod:`importwall.integrations.otel`, the ``importwall[otel]`` extra);
* ``off``: none, whatever the policy says.

A line holds the fields of the finding in the record file (:meth:`Finding.to_dict`), after
``"logger": "importwall"``: names of variables, never their values. A sink that cannot
write is never an exception in the host: it becomes one ``internal`` finding, kept with the
others (the record file, the other sinks).

Standard library only, and imported only when a log sink is asked for: the start-up path
of a process without one never loads this module, nor :mod:`json`.
"""

from __future__ import annotations

import os
import sys
import threading

from importwall.findings import KIND_INTERNAL, Finding
from importwall.policy.schema import LOG_SINKS
from importwall.settings import ENV_LOG

TYPE_CHECKING = False  # typing itself is not imported at interpreter start
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from importwall.policy import Policy
    from importwall.runtime.finder import Firewall

OFF = "off"
LOGGER = "importwall"
"""The ``logger`` field of every line: how a pipeline tells importwall's lines apart."""

_open = os.open
_write = os.write
_makedirs = os.makedirs
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
_STDERR_FD = 2


def parse_spec(spec: str) -> tuple[list[tuple[str, str | None]], list[str]]:
    """``IMPORTWALL_LOG``'s sinks as ``(name, target)`` pairs, and its problems."""
    sinks: list[tuple[str, str | None]] = []
    problems = []
    for item in (part.strip() for part in spec.split(",")):
        if not item or item == OFF:
            continue
        name, _, target = item.partition(":")
        if name not in LOG_SINKS:
            problems.append(f"{ENV_LOG} names an unknown sink {name!r}; use "
                            f"{', '.join(LOG_SINKS)} or {OFF}")
        elif target and name != "json":
            problems.append(f"{ENV_LOG}: sink {name!r} takes no destination ({item!r})")
        else:
            sinks.append((name, target or None))
    return sinks, problems


def absolute_spec(spec: str) -> str:
    """``spec`` with each ``json:PATH`` made absolute, for children in other folders."""
    items = []
    for item in (part.strip() for part in spec.split(",")):
        name, _, target = item.partition(":")
        items.append(f"{name}:{os.path.abspath(target)}" if name == "json" and target
                     else item)
    return ",".join(items)


def requested(policy: Policy, environ: Mapping[str, str] | None = None
              ) -> tuple[list[tuple[str, str | None]], list[str]]:
    """The sinks in force: ``IMPORTWALL_LOG`` when set, else the policy's ``[report] log``
    (which has no destinations: those are the environment's to choose)."""
    env = os.environ if environ is None else environ
    spec = env.get(ENV_LOG)
    if spec:
        return parse_spec(spec)
    return [(str(name), None) for name in policy.section("report").get("log", ())], []


def add_log_sinks(firewall: Firewall, environ: Mapping[str, str] | None = None) -> None:
    """Give ``firewall`` the sinks asked for. A sink that cannot start is recorded (after
    the others are added, so that they carry the finding too), never raised."""
    sinks, problems = requested(firewall.policy, environ)
    for name, target in sinks:
        try:
            firewall.add_sink(_make(name, target, firewall))
        except Exception as error:
            problems.append(_cannot_start(name, error))
    for problem in problems:
        firewall.record(sink_failed(problem, "log-sink-unavailable"))


def _make(name: str, target: str | None, firewall: Firewall) -> Callable[[Finding], None]:
    if name == "json":
        return JsonLogSink(target, on_error=firewall.record)
    # The one upward import of the runtime besides the environment gate, listed in the
    # import-linter contracts: made here, only for a process that asked for otel.
    from importwall.integrations.otel import OtelSink

    return OtelSink(firewall.mode, firewall.policy.path, on_error=firewall.record)


def _cannot_start(name: str, error: BaseException) -> str:
    if isinstance(error, ImportError) and name == "otel":
        return ("the otel log sink needs OpenTelemetry's SDK and OTLP exporter, which are "
                f"not importable here ({error}); install them with "
                "pip install 'importwall[otel]'")
    return f"the {name} log sink could not start: {type(error).__name__}: {error}"


def sink_failed(message: str, code: str = "log-write-failed") -> Finding:
    """The ``internal`` finding for a log sink's own failure."""
    return Finding(kind=KIND_INTERNAL, code=code, severity="warning", subject="importwall",
                   message=message)


class JsonLogSink:
    """A firewall sink that writes each finding as one JSON line to a file descriptor:
    standard error, or a file opened for appending. Each line is one ``os.write`` (lines
    up to 4 KiB stay whole on a pipe that other processes write to as well)."""

    def __init__(self, path: str | None = None,
                 on_error: Callable[[Finding], None] | None = None) -> None:
        self.path = os.path.abspath(path) if path else None
        self.target = self.path or "standard error"
        self.on_error = on_error
        self.failed = False
        self._fd: int | None = None if self.path else _STDERR_FD
        self._lock = threading.Lock()
        # Our own reference, as records.py keeps one: a program that patches json cannot
        # break the sink, and only processes that asked for it import json at all.
        import json

        self._dumps = json.dumps

    def __repr__(self) -> str:
        return f"<importwall.JsonLogSink {self.target}>"

    def __call__(self, finding: Finding) -> None:
        try:
            line = self._dumps({"logger": LOGGER, **finding.to_dict()}, default=str)
            data = (line + "\n").encode("utf-8")
            with self._lock:
                fd = self._file()
                view = memoryview(data)
                while view:
                    view = view[_write(fd, view):]
        except Exception as error:
            self._failed(error)

    def _file(self) -> int:
        if self._fd is None:
            assert self.path is not None
            _makedirs(os.path.dirname(self.path), exist_ok=True)
            self._fd = _open(self.path, _FLAGS, 0o644)
        return self._fd

    def _failed(self, error: BaseException) -> None:
        if self.failed:
            return  # one finding per sink: the rest would say the same
        self.failed = True
        message = (f"cannot write findings as JSON lines to {self.target}: "
                   f"{type(error).__name__}: {error}; they are still recorded in memory, "
                   "the data dir and the other sinks")
        if self.path is not None:
            try:  # noqa: SIM105 - contextlib is not worth importing for this
                sys.stderr.write(f"importwall: warning: {message}\n")
            except Exception:
                pass
        if self.on_error is not None:
            try:  # noqa: SIM105
                self.on_error(sink_failed(message))
            except Exception:
                pass
