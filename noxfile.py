"""Test matrix: `nox` runs the suite on every Python 3.10-3.13 interpreter present."""

from __future__ import annotations

import glob

import nox

nox.options.error_on_missing_interpreters = False
nox.options.reuse_existing_virtualenvs = True
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite (pass pytest options after --)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """ruff, strict mypy, mypy on the tests, and the import-linter contracts."""
    session.install("-e", ".[test]")
    session.run("ruff", "check", "importwall", "tests", "benchmarks", "scripts", "fuzz")
    session.run("mypy")
    session.run("mypy", "--config-file", "tests/mypy.ini", "tests")
    session.run("lint-imports")


@nox.session(python=PYTHONS[0])
def package(session: nox.Session) -> None:
    """Build the sdist and wheel and check them (twine check, check-wheel-contents)."""
    session.install("build", "twine", "check-wheel-contents")
    session.run("python", "-m", "build", "-o", "dist", ".")
    session.run("twine", "check", "--strict", *glob.glob("dist/*"))
    session.run("check-wheel-contents", "dist/")
