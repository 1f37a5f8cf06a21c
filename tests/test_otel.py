"""``IMPORTWALL_LOG=otel`` end to end: a fresh interpreter's findings reach a real OTLP/HTTP
receiver as log records and an ``importwall.findings`` counter, decoded from protobuf with
OpenTelemetry's own message types; a failing exporter is a finding, never a crash.

The receiver is a ``ThreadingHTTPServer`` on 127.0.0.1 in the test process (no Collector
build is installable from the package registries here); it serves until the fixture ends.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from helpers import STARTUP_DIR, Result

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed "
                    "(pip install -e '.[test]' installs it)")
pytest.importorskip("opentelemetry.exporter.otlp.proto.http")

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

POLICY = """\
version = 1
[imports]
deny = [{ module = "svc.training", reason = "training only" }, "svc.tuning"]
"""
APP = {
    "svc/__init__.py": "",
    "svc/training.py": "VALUE = 1\n",
    "svc/tuning.py": "VALUE = 2\n",
    "app.py": """
        import os, sys
        for name in sys.argv[1:]:
            try:
                __import__(name)
            except ImportError:
                pass
        print("pid", os.getpid())
        """,
}


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


def _attributes(items: Any) -> dict[str, Any]:
    return {item.key: _value(item.value) for item in items}


class Receiver:
    """What the OTLP/HTTP endpoint was sent, decoded."""

    def __init__(self) -> None:
        self.logs: list[dict[str, Any]] = []
        self.points: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def take(self, path: str, body: bytes) -> bytes | None:
        if path == "/v1/logs":
            logs = ExportLogsServiceRequest.FromString(body)
            with self.lock:
                for resource_logs in logs.resource_logs:
                    resource = _attributes(resource_logs.resource.attributes)
                    for scope_logs in resource_logs.scope_logs:
                        for record in scope_logs.log_records:
                            self.logs.append({
                                "resource": resource, "scope": scope_logs.scope.name,
                                "severity": record.severity_text, "body": _value(record.body),
                                "event": record.event_name,
                                "attributes": _attributes(record.attributes)})
            return ExportLogsServiceResponse().SerializeToString()
        if path == "/v1/metrics":
            metrics = ExportMetricsServiceRequest.FromString(body)
            with self.lock:
                for resource_metrics in metrics.resource_metrics:
                    resource = _attributes(resource_metrics.resource.attributes)
                    for scope_metrics in resource_metrics.scope_metrics:
                        for metric in scope_metrics.metrics:
                            for point in metric.sum.data_points:
                                self.points.append({
                                    "resource": resource, "name": metric.name,
                                    "monotonic": metric.sum.is_monotonic,
                                    "attributes": _attributes(point.attributes),
                                    "value": point.as_int})
            return ExportMetricsServiceResponse().SerializeToString()
        return None


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    received = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            reply = None
            if self.headers.get("Content-Type") == "application/x-protobuf":
                reply = received.take(self.path, body)
            self.send_response(200 if reply is not None else 404)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply or b"")))
            self.end_headers()
            self.wfile.write(reply or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield received, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def service(project):
    project.write(APP)
    project.policy(POLICY)
    return project


def _run(service, mode: str, endpoint: str, *args: str, **env: str) -> Result:
    settings = {"IMPORTWALL_POLICY": str(service.root / "policy.toml"), "IMPORTWALL_MODE": mode,
                "IMPORTWALL_DATA_DIR": str(service.root / "data"), "IMPORTWALL_LOG": "otel",
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SERVICE_NAME": "model-server",
                "OTEL_EXPORTER_OTLP_TIMEOUT": "3", "OTEL_METRIC_EXPORT_INTERVAL": "600000",
                **env}
    return service.run(list(args), env=settings, pythonpath=[Path(STARTUP_DIR), service.root],
                       timeout=90)


def _recorded(data: Path) -> list[dict]:
    return [json.loads(line)["finding"] for path in sorted(data.glob("*.jsonl"))
            for line in path.read_text().splitlines() if '"type": "finding"' in line]


@pytest.mark.parametrize("mode", ["enforce", "audit"])
def test_findings_arrive_as_otlp_log_records_and_a_counter(service, receiver, mode) -> None:
    received, endpoint = receiver
    result = _run(service, mode, endpoint, "app.py", "svc.training", "svc.tuning",
                  "svc.training")
    assert result.returncode == 0, result.output
    pid = int(result.stdout.split()[-1])
    code = "import-blocked" if mode == "enforce" else "import-recorded"
    recorded = _recorded(service.root / "data")
    assert sorted(f["subject"] for f in recorded) == ["svc.training", "svc.tuning"]

    logs = sorted(received.logs, key=lambda r: r["attributes"]["importwall.module"])
    assert [r["attributes"]["importwall.module"] for r in logs] == ["svc.training",
                                                                   "svc.tuning"]
    first = logs[0]
    assert first["scope"] == "importwall" and first["event"] == "importwall.finding"
    assert first["severity"] == "ERROR"
    assert first["body"] == next(f["message"] for f in recorded
                                 if f["subject"] == "svc.training")
    assert first["attributes"]["importwall.code"] == code
    assert first["attributes"]["importwall.reason"] == "training only"
    assert first["attributes"]["importwall.importer"] == "__main__"
    assert first["attributes"]["importwall.chain"][0].startswith("__main__ ")
    resource = first["resource"]
    assert resource["service.name"] == "model-server"  # OpenTelemetry's own variable
    assert resource["process.pid"] == pid
    assert resource["importwall.mode"] == mode
    assert resource["host.name"] == socket.gethostname()

    points = {p["attributes"]["importwall.module"]: p for p in received.points
              if p["name"] == "importwall.findings"}
    assert set(points) == {"svc.training", "svc.tuning"}
    assert all(p["value"] == 1 and p["monotonic"] for p in points.values())
    assert points["svc.training"]["attributes"] == {
        "importwall.code": code, "importwall.severity": "error",
        "importwall.module": "svc.training"}


def test_a_forked_child_sends_its_own_findings_once(service, receiver) -> None:
    received, endpoint = receiver
    result = _run(service, "audit", endpoint, "-W", "ignore::DeprecationWarning", "-c", """
import os
import svc.training  # the parent's finding, before the fork
pid = os.fork()
if pid == 0:
    import svc.tuning  # the child's own
    raise SystemExit(0)  # a normal exit: what is left is sent at exit
os.waitpid(pid, 0)
print("parent", os.getpid(), "child", pid)
""")
    assert result.returncode == 0, result.output
    words = result.stdout.split()
    parent, child = int(words[1]), int(words[3])
    by_pid = sorted((r["resource"]["process.pid"], r["attributes"]["importwall.module"])
                    for r in received.logs)
    assert by_pid == sorted([(parent, "svc.training"), (child, "svc.tuning")])
    counts = sorted((p["resource"]["process.pid"], p["attributes"]["importwall.module"],
                     p["value"]) for p in received.points)
    assert counts == sorted([(parent, "svc.training", 1), (child, "svc.tuning", 1)])


def test_an_unreachable_endpoint_is_a_finding_not_a_crash(service) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    result = _run(service, "audit", closed, "app.py", "svc.training",
                  OTEL_EXPORTER_OTLP_TIMEOUT="1")
    assert result.returncode == 0, result.output
    assert "Traceback" not in result.stderr
    assert "importwall: warning: the OTLP exporter could not send" in result.stderr
    assert closed not in result.stderr.split("importwall: warning:")[-1]  # named by variable
    codes = sorted(f["code"] for f in _recorded(service.root / "data"))
    assert codes == ["import-recorded", "otel-export-failed", "otel-export-failed"]


def test_otel_is_not_imported_unless_asked_for(service) -> None:
    result = _run(service, "audit", "http://127.0.0.1:9", "-c",
                  "import sys; print(any(m.startswith('opentelemetry') for m in sys.modules))",
                  IMPORTWALL_LOG="json")
    assert result.stdout.strip() == "False", result.output
