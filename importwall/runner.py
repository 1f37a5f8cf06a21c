"""Starting child processes with the firewall active in them, and in every Python process
they start in turn (``importwall run``, ``importwall audit``)."""

from __future__ import annotations

import os

from importwall._api import ENV_DATA_DIR, ENV_MODE, ENV_POLICY
from importwall.policy import Policy

STARTUP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_startup")


def child_environment(policy: Policy, mode: str | None,
                      environ: dict[str, str] | None = None,
                      data_dir: str | None = None) -> dict[str, str]:
    """The environment that activates the firewall in a child and, through inheritance,
    in every Python process it starts: absolute settings only."""
    env = dict(os.environ if environ is None else environ)
    env[ENV_POLICY] = policy.path
    if mode:
        env[ENV_MODE] = mode
    if data_dir:
        env[ENV_DATA_DIR] = os.path.abspath(data_dir)
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = STARTUP_DIR + (os.pathsep + existing if existing else "")
    return env
