"""The firewall in every worker of a real Ray job: a task, an actor and a Serve replica that
import a training module are blocked in enforce and recorded in audit, and the records of
every worker reach ``importwall report``. Also a cluster started with ``ray start`` under
``importwall env``, with a driver that is not under the firewall at all.

One virtual environment with ``ray[serve]`` and this importwall is built once per session.
Every Ray process runs in a network namespace with nothing but loopback
(:func:`helpers.loopback_only`): Ray binds its gRPC servers on every interface and probes
outside addresses on its own. Marked ``slow``, ``ray`` and ``heavy`` (a Ray install and
cluster are the heaviest thing the suite runs): the default run leaves them out, ``-m heavy``
runs them with the rest of that tier, ``-m ray`` only these.
"""

from __future__ import annotations

import json
import os
import shlex
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REPO, clean_env, loopback_only, run_python, venv_with_packages, write_files

pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.heavy]

POLICY = 'version = 1\n[imports]\ndeny = [{ module = "svc.training", reason = "training only" }]\n'
SERVICE = {"svc/__init__.py": "", "svc/training.py": "VALUE = 1\n"}

JOB = """
    '''A Ray job whose task, actor and Serve replica each import a training module: under
    the job's runtime_env (mode argv[1]), then again under a runtime_env in audit mode given
    to the task, the actor and the deployment themselves.'''
    import json, os, shutil, socket, sys, tempfile, urllib.error, urllib.request

    import ray
    from ray import serve

    from importwall.integrations.ray import runtime_env

    mode, data, audit_data = sys.argv[1:4]
    temp = tempfile.mkdtemp(prefix="iw-ray-", dir="/tmp")  # Ray's socket paths must be short
    ray.init(include_dashboard=False, num_cpus=2, _node_ip_address="127.0.0.1", _temp_dir=temp,
             log_to_driver=False, runtime_env=runtime_env("policy.toml", mode, data_dir=data))
    audit = runtime_env("policy.toml", "audit", data_dir=audit_data)


    @ray.remote(max_retries=0)
    def predict_task():
        import svc.training
        return os.getpid()


    @ray.remote(max_restarts=0)
    class Model:
        def predict(self):
            import svc.training
            return os.getpid()


    @serve.deployment
    class Replica:
        def __call__(self, request):
            import svc.training
            return {"pid": os.getpid()}


    def outcome(thunk):
        try:
            return {"seen": "imported", "pid": thunk()}
        except Exception as error:
            return {"seen": type(error).__name__, "import_error": isinstance(error, ImportError),
                    "forbidden": "ForbiddenImportError" in str(type(error).__mro__)}


    def http(port, route):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{route}", timeout=60) as reply:
                return {"seen": "imported", "status": reply.status,
                        "pid": json.loads(reply.read())["pid"]}
        except urllib.error.HTTPError as error:
            return {"seen": "http-error", "status": error.code}


    seen = {
        "task": outcome(lambda: ray.get(predict_task.remote(), timeout=120)),
        "actor": outcome(lambda: ray.get(Model.remote().predict.remote(), timeout=120)),
        "audit task": outcome(lambda: ray.get(
            predict_task.options(runtime_env=audit).remote(), timeout=120)),
        "audit actor": outcome(lambda: ray.get(
            Model.options(runtime_env=audit).remote().predict.remote(), timeout=120)),
    }
    # Serve last: its replicas hold a CPU each, which the tasks above need.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(Replica.bind(), name="job", route_prefix="/job")
    serve.run(Replica.options(ray_actor_options={"runtime_env": audit}).bind(), name="audit",
              route_prefix="/audit")
    seen["serve"] = http(port, "/job")
    seen["audit serve"] = http(port, "/audit")
    serve.shutdown()
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)
    print("OUTCOME", json.dumps(seen))
"""

START_DRIVER = """
    import json, os, sys
    import ray

    ray.init(address="127.0.0.1:6379", log_to_driver=False)


    @ray.remote(max_retries=0)
    def predict_task():
        import svc.training
        return os.getpid()


    try:
        seen = {"seen": "imported", "pid": ray.get(predict_task.remote(), timeout=120)}
    except Exception as error:
        seen = {"seen": type(error).__name__, "import_error": isinstance(error, ImportError)}
    driver_guarded = bool(os.environ.get("IMPORTWALL_POLICY"))
    ray.shutdown()
    print("OUTCOME", json.dumps({"task": seen, "driver_guarded": driver_guarded}))
"""


@pytest.fixture(scope="session")
def ray_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with Ray (with Serve) and this importwall (editable) installed."""
    return venv_with_packages(tmp_path_factory.mktemp("ray-venv"),
                              ["ray[serve]", "-e", str(REPO)])


@pytest.fixture
def job(project) -> Iterator[Path]:
    project.write(SERVICE)
    project.policy(POLICY)
    write_files(project.root, {"job.py": JOB, "start_driver.py": START_DRIVER})
    yield project.root


def _ray_env(root: Path) -> dict[str, str]:
    # HOME: Ray writes ~/.ray (its token) and this keeps it in the test's folder.
    return clean_env({"RAY_USAGE_STATS_ENABLED": "0", "HOME": str(root / "home")},
                     pythonpath=[root])


def _outcome(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("OUTCOME ")]
    assert lines, stdout[-3000:]
    decoded: dict = json.loads(lines[-1].split(" ", 1)[1])
    return decoded


def _report(ray_python: Path, data: Path) -> dict:
    shown = run_python(["-m", "importwall", "report", "--data", str(data), "--format", "json",
                        "--fail-on", "error"], python=ray_python)
    assert shown.returncode == 1, shown.output  # error findings: exit 1
    decoded: dict = json.loads(shown.stdout)
    return decoded


def _run(argv: list[str], root: Path) -> tuple[int, str]:
    import subprocess

    done = subprocess.run(loopback_only(argv), cwd=root, env=_ray_env(root),
                          capture_output=True, text=True, timeout=540,
                          stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout + done.stderr


def test_task_actor_and_serve_replica_blocked_in_enforce_recorded_in_audit(
        ray_python: Path, job: Path) -> None:
    status, output = _run([str(ray_python), "job.py", "enforce", str(job / "enforce"),
                           str(job / "audit")], job)
    assert status == 0, output[-4000:]
    seen = _outcome(output)
    for name in ("task", "actor"):
        # What the caller sees: Ray's error, which is also a ForbiddenImportError (an
        # ImportError), so `except ImportError` in the driver catches it.
        assert seen[name] == {"seen": "RayTaskError(ForbiddenImportError)",
                              "import_error": True, "forbidden": True}, seen
    assert seen["serve"] == {"seen": "http-error", "status": 500}  # the HTTP client: a 500
    for name in ("audit task", "audit actor", "audit serve"):
        assert seen[name]["seen"] == "imported", seen

    # Every worker's records reach `importwall report`: the three import sites, each
    # from its own worker process.
    enforce = _report(ray_python, job / "enforce")
    blocked = {(f["chain"][-1]["function"], f["code"]) for f in enforce["findings"]}
    assert blocked == {("predict_task", "import-blocked"), ("predict", "import-blocked"),
                       ("__call__", "import-blocked")}, enforce["findings"]
    pids = [pid for f in enforce["findings"] for pid in f["pids"]]
    assert len(set(pids)) == 3
    audit = _report(ray_python, job / "audit")
    recorded = {f["chain"][-1]["function"]: f for f in audit["findings"]}
    assert set(recorded) == {"predict_task", "predict", "__call__"}
    assert {f["code"] for f in recorded.values()} == {"import-recorded"}
    assert recorded["predict_task"]["pids"] == [seen["audit task"]["pid"]]
    assert recorded["predict"]["pids"] == [seen["audit actor"]["pid"]]
    assert recorded["__call__"]["pids"] == [seen["audit serve"]["pid"]]
    # The same sites, the same rule, in both modes: audit == enforce.
    assert ({(f["subject"], f["rule"]) for f in enforce["findings"]}
            == {(f["subject"], f["rule"]) for f in audit["findings"]})


def test_a_cluster_started_with_ray_start_under_importwall_env(ray_python: Path,
                                                               job: Path) -> None:
    bin_dir = ray_python.parent
    data = job / "cluster"
    temp = tempfile.mkdtemp(prefix="iw-ray-", dir="/tmp")
    quote = shlex.quote
    script = f"""
        set -u
        out=$({quote(str(ray_python))} -m importwall env --policy policy.toml --mode enforce \\
            --data-dir {quote(str(data))}) || exit 9
        eval "$out"
        {quote(str(bin_dir / 'ray'))} start --head --node-ip-address=127.0.0.1 --port=6379 \\
            --num-cpus=1 --include-dashboard=false --disable-usage-stats \\
            --temp-dir={quote(temp)} >ray-start.log 2>&1 || {{ cat ray-start.log; exit 8; }}
        # The driver is not under the firewall: only the cluster's environment is.
        env -u IMPORTWALL_POLICY -u IMPORTWALL_MODE -u IMPORTWALL_DATA_DIR \\
            PYTHONPATH={quote(os.pathsep.join([str(job), str(REPO)]))} \\
            {quote(str(ray_python))} start_driver.py
        status=$?
        {quote(str(bin_dir / 'ray'))} stop --force >/dev/null 2>&1
        rm -rf {quote(temp)}
        exit $status
    """
    status, output = _run(["sh", "-c", script], job)
    assert status == 0, output[-4000:]
    seen = _outcome(output)
    assert seen == {"task": {"seen": "RayTaskError(ForbiddenImportError)",
                             "import_error": True}, "driver_guarded": False}
    findings = _report(ray_python, data)["findings"]
    assert [(f["subject"], f["code"]) for f in findings] == [("svc.training",
                                                            "import-blocked")]
