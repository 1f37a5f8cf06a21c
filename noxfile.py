"""Test matrix: `nox` runs the suite on every Python 3.10-3.13 interpreter present."""

from __future__ import annotations

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
    """ruff, strict mypy, and the stdlib-only start-up contract (import-linter)."""
    session.install("-e", ".[test]")
    session.run("ruff", "check", "importwall", "tests")
    session.run("mypy")
    session.run("lint-imports")
