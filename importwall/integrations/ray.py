"""The firewall in every worker of a Ray job: tasks, actors and Serve replicas.

Ray starts its workers itself (the raylet forks and executes them), with the job's
``runtime_env``: :func:`runtime_env` builds one that activates the firewall in each of
them, the way ``importwall run`` does for a command::

    import ray
    from importwall.integrations.ray import runtime_env

    ray.init(runtime_env=runtime_env("serving.toml", mode="enforce"))

Two routes are combined, each covering the other's gap:

* ``env_vars``: the ``IMPORTWALL_*`` settings, and ``PYTHONPATH`` with importwall's
  start-up folder first (then ``${PYTHONPATH}``, which Ray expands to the worker's own).
  The firewall starts at interpreter start, before Ray's own imports: the same verdicts
  as under ``importwall run``. Setting only ``IMPORTWALL_POLICY`` starts nothing unless
  the cluster's environment has importwall's ``.pth`` installed.
* ``worker_process_setup_hook``: Ray calls ``importwall._bootstrap.startup`` in each
  worker before it runs anything of the job. It does nothing where the firewall already
  started, and starts it, later but before any task, where the start-up folder's path
  does not exist (a node with importwall installed elsewhere). A node without importwall
  at all cannot import the hook: Ray fails the job's tasks loudly instead of running them
  unguarded.

Ray is not imported here: the helper returns a plain ``dict``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from importwall.policy import Policy
from importwall.policy.discovery import resolve_policy
from importwall.runtime.propagate import activating_environment, startup_pythonpath
from importwall.settings import ENV_DATA_DIR, ENV_LOG

SETUP_HOOK = "importwall._bootstrap.startup"
"""What Ray calls in each worker: the start-up hook, which runs at most once a process."""
WORKER_PYTHONPATH = "${PYTHONPATH}"
"""Ray expands it to the worker's inherited ``PYTHONPATH`` (empty where none is set)."""


def runtime_env(policy: str | os.PathLike[str] | Policy | None = None, mode: str | None = None,
                *, data_dir: str | os.PathLike[str] | None = None, log: str | None = None,
                base: Mapping[str, Any] | None = None, setup_hook: bool = True
                ) -> dict[str, Any]:
    """A Ray ``runtime_env`` that activates the firewall in every worker it applies to.

    ``policy`` is a path, a shipped pack name, a loaded :class:`Policy` or ``None`` (as
    every command finds one); ``mode`` overrides ``$IMPORTWALL_MODE`` and the policy's;
    ``data_dir`` is where each worker writes its record file (a folder on each node:
    ``importwall report`` combines those of one machine); ``log`` names log sinks as
    ``IMPORTWALL_LOG`` does (``json``: one line a finding on each worker's standard error,
    which Ray copies to the driver). ``base`` is a ``runtime_env`` of the job's own to
    extend: its ``env_vars`` are kept, and its ``PYTHONPATH`` follows the start-up folder.
    ``setup_hook=False`` leaves Ray's ``worker_process_setup_hook`` out (for a job with a
    hook of its own: call ``importwall._bootstrap.startup()`` from it).
    """
    loaded = resolve_policy(policy)
    environ = dict(os.environ)
    if data_dir is not None:
        environ[ENV_DATA_DIR] = os.path.abspath(data_dir)
    if log is not None:
        environ[ENV_LOG] = log
    env_vars = dict((base or {}).get("env_vars") or {})
    values = activating_environment(loaded, mode, environ)
    values["PYTHONPATH"] = startup_pythonpath(env_vars.get("PYTHONPATH") or WORKER_PYTHONPATH)
    merged: dict[str, Any] = {**(base or {}), "env_vars": {**env_vars, **values}}
    if setup_hook:
        existing = merged.get("worker_process_setup_hook")
        if existing is not None and existing != SETUP_HOOK:
            raise ValueError(
                "importwall.integrations.ray.runtime_env: the runtime_env already has a "
                f"worker_process_setup_hook ({existing!r}); Ray takes one. Pass "
                f"setup_hook=False and call {SETUP_HOOK}() at the start of yours.")
        merged["worker_process_setup_hook"] = SETUP_HOOK
    return merged
