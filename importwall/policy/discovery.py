"""Which policy a command uses when none is named on its command line.

In order: ``--policy``, else ``$IMPORTWALL_POLICY``, else the ``[tool.importwall]`` table
of the nearest ``pyproject.toml`` (walking up from the current folder), else the nearest
``importwall.toml`` (the current folder, then each parent).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

from importwall._api import ENV_POLICY
from importwall.policy import PYPROJECT

POLICY_FILE = "importwall.toml"
_TABLE_MARKERS = ("[tool.importwall]", "[tool.importwall.")


def discover_policy(explicit: str | None = None, environ: Mapping[str, str] | None = None,
                    cwd: str | None = None) -> str | None:
    """The policy reference to load, or ``None`` when there is none anywhere."""
    if explicit:
        return explicit
    env = os.environ if environ is None else environ
    if env.get(ENV_POLICY):
        return env[ENV_POLICY]
    start = os.path.abspath(cwd or os.getcwd())
    for folder in _upwards(start):
        candidate = os.path.join(folder, PYPROJECT)
        if _has_importwall_table(candidate):
            return candidate
    for folder in _upwards(start):
        candidate = os.path.join(folder, POLICY_FILE)
        if os.path.isfile(candidate):
            return candidate
    return None


def searched_description() -> str:
    """What :func:`discover_policy` looked at, for the error when it found nothing."""
    return (f"--policy, ${ENV_POLICY}, [tool.importwall] in pyproject.toml, and "
            f"{POLICY_FILE} in this folder and its parents")


def _upwards(folder: str) -> Iterator[str]:
    while True:
        yield folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return
        folder = parent


def _has_importwall_table(path: str) -> bool:
    """A textual check: a broken pyproject.toml that has the table must still be chosen,
    so that loading it reports its errors instead of silently looking elsewhere."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return False
    return any(line.strip().startswith(_TABLE_MARKERS) for line in text.splitlines())
