"""Fixtures shared by the test modules; plain helpers are in ``helpers.py``."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
from helpers import Result, run_python, venv_cache_dir, write_files

_SHARED_SETUP = re.compile(r"pytest\.mark\.(slow|venv|heavy)\b")
"""Markers of tests whose module builds a venv or a wheel in a module- or session-scoped
fixture: pytest-xdist sends each such module to one worker, so that it is built once."""


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (the default, in pyproject.toml): one worker per CPU this process may
    really use, counting its cgroup quota and affinity (a container on a large host gets
    as many workers as it has CPUs, not as the host has); ``$PYTEST_XDIST_AUTO_NUM_WORKERS``
    still wins."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    from importwall.envcheck.cgroup import effective_cpus, read_limits

    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return max(1, int(effective_cpus(read_limits(), os.cpu_count() or 1, affinity)))


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist load`` (the default with ``-n``), except that a module with tests marked
    ``slow``, ``venv`` or ``heavy`` goes to one worker whole, so that its module- and
    session-scoped venvs and wheels are built once.

    The scheduler runs in the controller, which sees test ids, not markers: a module is
    recognised by the markers written in it. (pytest-xdist's own ``--dist loadgroup``
    would do this from ``xdist_group`` markers, but sets ``item._nodeid``, which pytest
    9.2 no longer reads, so it groups nothing.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    root = config.rootpath

    class ModulesWithSharedSetup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if _shares_setup(str(root / module)) else nodeid

    return ModulesWithSharedSetup(config, log)


@functools.cache
def _shares_setup(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            return _SHARED_SETUP.search(handle.read()) is not None
    except OSError:
        return False


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"importwall test venvs: cached in {venv_cache_dir()}"]
    if "heavy" not in (config.option.markexpr or "") or "not heavy" in config.option.markexpr:
        lines.append("the heavy tier (the shipped packs on scikit-learn, LightGBM, XGBoost, "
                     "pandas, FastAPI, MLflow, Optuna; a Ray cluster) is not selected: run it "
                     "with -m heavy")
    return lines


@pytest.fixture
def project(tmp_path: Path):
    """A folder to write packages, scripts and policies into; it goes first on PYTHONPATH
    of :func:`run_python` calls made through ``project.run``."""

    class Project:
        root = tmp_path

        def write(self, files: Mapping[str, str]) -> Path:
            return write_files(tmp_path, files)

        def policy(self, text: str, name: str = "policy.toml") -> Path:
            return write_files(tmp_path, {name: text}) / name

        def run(self, args: list[str] | str, **kwargs) -> Result:
            kwargs.setdefault("cwd", tmp_path)
            kwargs.setdefault("pythonpath", [tmp_path])
            return run_python(args, **kwargs)

    return Project()
