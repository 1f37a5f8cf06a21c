"""The firewall in the serving processes of real servers: gunicorn with uvicorn workers and
with sync workers (``--preload``, ``--max-requests`` recycling), and ``uvicorn --workers``.

A request whose handler imports a training module gets a 500 in enforce; the import is
recorded by the worker that served it, and workers gunicorn starts to replace recycled ones
are guarded too. Servers listen on 127.0.0.1; each run sends a bounded number of requests
and is stopped with SIGTERM. One virtual environment (gunicorn, uvicorn, uvicorn-worker)
is built once per session. Marked ``slow``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from helpers import REPO, clean_env, venv_with_packages

pytestmark = pytest.mark.slow

POLICY = 'version = 1\n[imports]\ndeny = [{ module = "svc.training", reason = "training only" }]\n'
APP = {
    "svc/__init__.py": "",
    "svc/training.py": "VALUE = 1\n",
    # One handler for both protocols: /predict serves, /explain lazily imports training code.
    "svc/handlers.py": """
        import os

        def respond(path):
            if path == "/explain":
                import svc.training  # the leak: a training import in a request handler
            return f"{path} {os.getpid()}".encode()
        """,
    "asgi_app.py": """
        from svc.handlers import respond

        async def app(scope, receive, send):
            if scope["type"] != "http":
                return
            try:
                body, status = respond(scope["path"]), 200
            except ImportError as error:
                body, status = repr(error).encode(), 500
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": body})
        """,
    "wsgi_app.py": """
        from svc.handlers import respond

        def app(environ, start_response):
            body = respond(environ["PATH_INFO"])  # an ImportError here: gunicorn's 500
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [body]
        """,
}


@pytest.fixture(scope="session")
def server_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return venv_with_packages(tmp_path_factory.mktemp("server-venv"),
                              ["gunicorn", "uvicorn", "uvicorn-worker", "-e", str(REPO)])


@pytest.fixture
def service(project):
    project.write(APP)
    project.policy(POLICY)
    return project


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _serve(server_python: Path, root: Path, argv: list[str], port: int,
           paths: list[str]) -> list[tuple[int, str]]:
    """Start the server under ``importwall run`` (enforce), wait until it answers, send
    ``paths`` one by one, stop it with SIGTERM; the answers."""
    bin_dir = server_python.parent
    env = clean_env({"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
                    pythonpath=[root])
    command = [str(server_python), "-m", "importwall", "run", "--policy", "policy.toml",
               "--mode", "enforce", "--data-dir", "data", "--", *argv]
    server = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(port, "/predict")
                break
            except OSError:
                assert server.poll() is None, server.communicate()[0][-3000:]
                assert time.monotonic() < deadline, "the server did not answer in 60 s"
                time.sleep(0.2)
        return [_get(port, path) for path in paths]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate()


def _records(data: Path) -> tuple[set[int], list[dict]]:
    """The pids that wrote a record file, and every finding."""
    pids, findings = set(), []
    for path in data.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["type"] == "process":
                pids.add(record["pid"])
            elif record["type"] == "finding":  # not the status line
                findings.append(record["finding"])
    return pids, findings


def test_gunicorn_uvicorn_workers(server_python: Path, service) -> None:
    port = _free_port()
    answers = _serve(server_python, service.root,
                     ["gunicorn", "-k", "uvicorn_worker.UvicornWorker", "-w", "2", "-b",
                      f"127.0.0.1:{port}", "asgi_app:app"], port,
                     ["/predict", *["/explain"] * 6])
    assert answers[0][0] == 200
    refused = answers[1:]
    assert {status for status, _ in refused} == {500}
    assert all("ForbiddenImportError" in body for _, body in refused)
    pids, findings = _records(service.root / "data")
    blocked = [f for f in findings if f["code"] == "import-blocked"]
    assert blocked and {f["subject"] for f in blocked} == {"svc.training"}
    assert {f["pid"] for f in blocked} <= pids
    assert blocked[0]["chain"][-1]["function"] == "respond"


def test_gunicorn_sync_workers_preloaded_and_recycled(server_python: Path, service) -> None:
    port = _free_port()
    answers = _serve(server_python, service.root,
                     ["gunicorn", "--preload", "--max-requests", "2", "-w", "1", "-b",
                      f"127.0.0.1:{port}", "wsgi_app:app"], port, ["/explain"] * 6)
    assert [status for status, _ in answers] == [500] * 6
    _, findings = _records(service.root / "data")
    workers = {f["pid"] for f in findings if f["code"] == "import-blocked"}
    # --max-requests 2: the worker is replaced at least twice; each replacement (a fork of
    # the preloaded master) blocks the import too, and records it under its own pid.
    assert len(workers) >= 3, findings


def test_uvicorn_workers_spawned(server_python: Path, service) -> None:
    port = _free_port()
    answers = _serve(server_python, service.root,
                     ["uvicorn", "--workers", "2", "--host", "127.0.0.1", "--port", str(port),
                      "asgi_app:app"], port, ["/predict", "/explain", "/explain"])
    assert [status for status, _ in answers] == [200, 500, 500]
    pids, findings = _records(service.root / "data")
    assert len(pids) >= 3  # uvicorn's supervisor and its two spawned workers
    assert {f["code"] for f in findings if f["subject"] == "svc.training"} == {
        "import-blocked"}

