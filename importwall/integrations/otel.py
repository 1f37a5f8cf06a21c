"""Findings to OpenTelemetry: each one an OTLP log record, and an ``importwall.findings``
counter by code, severity and module (the ``importwall[otel]`` extra).

Started by ``IMPORTWALL_LOG=otel`` (or ``[report] log = "otel"``) through
:mod:`importwall.runtime.logsink`, the one place the start-up path reaches this module,
and only in a process that asked for it. Where the data goes is OpenTelemetry's own
configuration: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (OTLP over HTTP/protobuf, default
``http://localhost:4318``), ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_METRIC_EXPORT_INTERVAL``...

Records are batched and sent by the SDK's background threads, never on the import that
produced them; what is left is sent at exit. A failed export is one ``internal`` finding
(``otel-export-failed``) per process and signal, never an exception in the host. A forked
child (gunicorn's workers, multiprocessing's ``fork``) starts providers of its own, with its
own pid in the resource, and the copies it inherited send nothing, so no finding or count
is sent twice.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs import export as _log_export
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExportResult, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from importwall._version import __version__
from importwall.findings import KIND_INTERNAL, Finding, host_name

SCOPE = "importwall"
COUNTER = "importwall.findings"
EVENT_NAME = "importwall.finding"
_SEVERITY = {"info": SeverityNumber.INFO, "warning": SeverityNumber.WARN,
             "error": SeverityNumber.ERROR}

Report = Callable[[str, str], None]
"""Called with the signal (``logs``, ``metrics``) and what went wrong."""
# Newer SDKs name it LogRecordExportResult (and deprecate LogExportResult); older ones have
# only LogExportResult. Either is what a log export returns.
_LOGS_SENT: Any = (getattr(_log_export, "LogRecordExportResult", None)
                   or _log_export.LogExportResult)


def resource_attributes(mode: str, policy: str,
                        environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What identifies this process: pid, host (the pod's name in Kubernetes), the program
    as the service when OpenTelemetry's own variables name none, the policy and mode."""
    env = os.environ if environ is None else environ
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    attributes: dict[str, Any] = {
        "host.name": host_name(), "process.pid": os.getpid(),
        "process.executable.name": program, "importwall.mode": mode,
        "importwall.policy": policy, "importwall.version": __version__}
    if "KUBERNETES_SERVICE_HOST" in env:
        attributes["k8s.pod.name"] = host_name()  # a pod's host name is its name
    named = env.get("OTEL_SERVICE_NAME") or "service.name=" in env.get(
        "OTEL_RESOURCE_ATTRIBUTES", "")
    if not named:
        attributes["service.name"] = program
    return attributes


def log_attributes(finding: Finding) -> dict[str, Any]:
    """The finding's fields as OTLP attributes (strings, numbers and lists of strings)."""
    attributes: dict[str, Any] = {
        "importwall.kind": finding.kind, "importwall.code": finding.code,
        "importwall.severity": finding.severity, "importwall.module": finding.subject,
        "importwall.pid": finding.pid, "importwall.host": finding.host}
    for name in ("rule", "reason", "source", "action", "importer"):
        value = getattr(finding, name)
        if value is not None:
            attributes[f"importwall.{name}"] = value
    if finding.chain:
        attributes["importwall.chain"] = [f"{frame.module} {frame.file}:{frame.line}"
                                          for frame in finding.chain]
    for key, value in finding.details.items():
        if isinstance(value, (str, bool, int, float)):
            attributes[f"importwall.details.{key}"] = value
    return attributes


def counter_attributes(finding: Finding) -> dict[str, str]:
    return {"importwall.code": finding.code, "importwall.severity": finding.severity,
            "importwall.module": finding.subject}


class _Owned:
    """What both exporters share: they belong to the process that made them (a forked
    child's copies send nothing), and a failure is reported once."""

    def _own(self, report: Report, signal: str) -> None:
        self._owner = os.getpid()
        self._report = report
        self._signal = signal

    def _inherited(self) -> bool:
        return os.getpid() != self._owner

    def _failed(self, result: object) -> None:
        # The endpoint is named by its variable, never by its value (it may hold a token).
        self._report(self._signal, (
            f"the OTLP exporter could not send {self._signal} ({result}) to the endpoint "
            "OTEL_EXPORTER_OTLP_ENDPOINT (or its per-signal variable) names; findings are "
            "still recorded in memory, the data dir and the other sinks"))


class _LogExporter(OTLPLogExporter, _Owned):
    def __init__(self, report: Report) -> None:
        super().__init__()
        self._own(report, "logs")

    def export(self, batch: Sequence[Any]) -> Any:
        if self._inherited():
            return _LOGS_SENT.SUCCESS  # the parent sends its own
        try:
            result = super().export(batch)
        except Exception as error:
            self._failed(f"{type(error).__name__}: {error}")
            raise
        if getattr(result, "name", "SUCCESS") != "SUCCESS":
            self._failed(getattr(result, "name", result))
        return result


class _MetricExporter(OTLPMetricExporter, _Owned):
    def __init__(self, report: Report) -> None:
        super().__init__()
        self._own(report, "metrics")

    def export(self, metrics_data: Any, timeout_millis: float | None = 10_000,
               **kwargs: Any) -> MetricExportResult:
        if self._inherited():
            return MetricExportResult.SUCCESS
        try:
            result = super().export(metrics_data, timeout_millis, **kwargs)
        except Exception as error:
            self._failed(f"{type(error).__name__}: {error}")
            raise
        if result != MetricExportResult.SUCCESS:
            self._failed(result.name)
        return result


class OtelSink:
    """A firewall sink sending each finding to OpenTelemetry."""

    def __init__(self, mode: str, policy: str,
                 on_error: Callable[[Finding], None] | None = None) -> None:
        self.mode = mode
        self.policy = policy
        self.on_error = on_error
        self._reported: set[str] = set()
        self._lock = threading.Lock()
        self._start()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._start)

    def __repr__(self) -> str:
        return f"<importwall.OtelSink pid={self._pid}>"

    def _start(self) -> None:
        """Providers for this process (again in a forked child: new pid, new counts)."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        resource = Resource.create(resource_attributes(self.mode, self.policy))
        self._logs = LoggerProvider(resource=resource, shutdown_on_exit=False)
        self._logs.add_log_record_processor(
            BatchLogRecordProcessor(_LogExporter(self._export_failed)))
        reader = PeriodicExportingMetricReader(_MetricExporter(self._export_failed))
        self._meters = MeterProvider(resource=resource, metric_readers=[reader],
                                     shutdown_on_exit=False)
        self._logger = self._logs.get_logger(SCOPE, __version__)
        self._counter = self._meters.get_meter(SCOPE, __version__).create_counter(
            COUNTER, unit="{finding}", description="findings of the importwall firewall")
        atexit.register(self._stop, self._pid)

    def _stop(self, pid: int) -> None:
        """At exit: send what is left, in the process that made these providers."""
        if pid != os.getpid():
            return
        for provider in (self._logs, self._meters):
            try:
                provider.shutdown()
            except Exception as error:  # never break the host at exit
                self._export_failed("shutdown", f"shutting down the OpenTelemetry SDK "
                                                f"failed: {type(error).__name__}: {error}")

    def __call__(self, finding: Finding) -> None:
        try:
            self._logger.emit(
                timestamp=int(finding.timestamp * 1e9),
                severity_number=_SEVERITY[finding.severity],
                severity_text=finding.severity.upper(), body=finding.message,
                attributes=log_attributes(finding), event_name=EVENT_NAME)
            self._counter.add(1, counter_attributes(finding))
        except Exception as error:  # the SDK's own trouble: recorded once, never raised
            self._export_failed("emit", f"the OpenTelemetry SDK refused a finding: "
                                        f"{type(error).__name__}: {error}")

    def _export_failed(self, signal: str, message: str) -> None:
        with self._lock:
            if signal in self._reported:
                return  # once per signal and process: the rest would say the same
            self._reported.add(signal)
        with contextlib.suppress(Exception):  # no stderr (pythonw, closed): recorded below
            sys.stderr.write(f"importwall: warning: {message}\n")
        if self.on_error is not None:
            with contextlib.suppress(Exception):  # the failure is already on stderr
                self.on_error(Finding(kind=KIND_INTERNAL, code="otel-export-failed",
                                      severity="warning", subject="importwall",
                                      message=message, details={"signal": signal}))
