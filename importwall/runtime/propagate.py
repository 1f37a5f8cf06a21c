"""Hand the firewall's settings to child processes through the environment.

A child started with ``fork`` inherits the finder in memory, but ``spawn`` and
``forkserver`` children, ``subprocess`` children and re-executing servers start fresh
interpreters: they find the firewall again only through ``IMPORTWALL_*`` variables (read
by the ``.pth`` line or ``sitecustomize``). The values written here are resolved and
absolute, so a child that changes directory or another interpreter's defaults still loads
the same policy in the same mode.

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

import os

# settings() and export() live in runtime/api.py, so that the start-up hook does not import
# this module; they are importwall.runtime.propagate's as they always were.
from importwall.runtime.api import export as export
from importwall.runtime.api import resolve_mode
from importwall.runtime.api import settings as settings

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
    from collections.abc import Mapping

    from importwall.policy import Policy

STARTUP_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "_startup")
"""The folder whose ``sitecustomize`` starts the firewall: put first on ``PYTHONPATH``."""


def startup_pythonpath(existing: str | None) -> str:
    """``PYTHONPATH`` with the ``sitecustomize`` folder first, once: ``existing`` follows,
    less any copy of that folder (so applying it twice changes nothing)."""
    entries = existing.split(os.pathsep) if existing else []
    rest = [entry for entry in entries if not (entry and os.path.abspath(entry) == STARTUP_DIR)]
    return os.pathsep.join([STARTUP_DIR, *rest])


def activating_environment(policy: Policy, mode: str | None,
                           environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Only the variables that activate the firewall in any Python process started with
    them (``importwall env`` prints these): the absolute ``IMPORTWALL_*`` settings, and
    ``PYTHONPATH`` with the ``sitecustomize`` folder first, merged with ``environ``'s."""
    env = os.environ if environ is None else environ
    values = settings(policy, resolve_mode(mode, policy, env), env)
    values["PYTHONPATH"] = startup_pythonpath(env.get("PYTHONPATH"))
    return values


def child_environment(policy: Policy, mode: str | None,
                      environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment that activates the firewall in a child and, through inheritance,
    in every Python process it starts, whether or not a ``.pth`` is installed: ``environ``
    (default: this process's) updated with :func:`activating_environment`."""
    env = dict(os.environ if environ is None else environ)
    env.update(activating_environment(policy, mode, env))
    return env

