"""``importwall.integrations.ray.runtime_env`` without Ray: what the dict holds and how it
extends a job's own ``runtime_env`` (the real cluster is in ``test_ray.py``, slow)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from importwall.integrations.ray import SETUP_HOOK, runtime_env
from importwall.runtime.propagate import STARTUP_DIR

POLICY = 'version = 1\nmode = "warn"\n[imports]\ndeny = ["svc.training"]\n'


@pytest.fixture
def policy(project, monkeypatch):
    for name in ("IMPORTWALL_POLICY", "IMPORTWALL_MODE", "IMPORTWALL_DATA_DIR",
                 "IMPORTWALL_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(project.root)
    return project.policy(POLICY)


def test_the_environment_of_importwall_env_and_the_setup_hook(policy) -> None:
    built = runtime_env("policy.toml", data_dir="records", log="json")
    assert built == {
        "env_vars": {"IMPORTWALL_POLICY": str(policy), "IMPORTWALL_MODE": "warn",
                     "IMPORTWALL_DATA_DIR": str(policy.parent / "records"),
                     "IMPORTWALL_LOG": "json",
                     "PYTHONPATH": f"{STARTUP_DIR}:${{PYTHONPATH}}"},
        "worker_process_setup_hook": "importwall._bootstrap.startup"}
    assert "ray" not in sys.modules  # a plain dict: Ray is not needed to build it
    module, _, name = SETUP_HOOK.rpartition(".")
    assert callable(getattr(__import__(module, fromlist=[name]), name))


def test_a_jobs_own_runtime_env_is_extended(policy) -> None:
    base: dict[str, Any] = {"pip": ["scikit-learn"], "working_dir": ".",
            "env_vars": {"OMP_NUM_THREADS": "1", "PYTHONPATH": "/opt/app"}}
    built = runtime_env(policy, "enforce", base=base, setup_hook=False)
    assert built["pip"] == ["scikit-learn"] and built["working_dir"] == "."
    assert built["env_vars"]["OMP_NUM_THREADS"] == "1"
    assert built["env_vars"]["PYTHONPATH"] == f"{STARTUP_DIR}:/opt/app"
    assert built["env_vars"]["IMPORTWALL_MODE"] == "enforce"
    assert "worker_process_setup_hook" not in built
    assert base["env_vars"]["PYTHONPATH"] == "/opt/app"  # not changed in place


def test_a_hook_of_the_jobs_own_is_not_replaced_silently(policy) -> None:
    with pytest.raises(ValueError, match="setup_hook=False"):
        runtime_env(policy, base={"worker_process_setup_hook": "myjob.setup"})
    again = runtime_env(policy, base=runtime_env(policy))  # applying it twice is fine
    assert again == runtime_env(policy)
