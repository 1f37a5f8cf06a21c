"""Fixtures shared by the test modules; plain helpers are in ``helpers.py``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from helpers import Result, run_python, write_files


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
