"""The environment gate: is this process configured for serving, not training?

:func:`check_environment` runs the checks a policy asks for (``[environment]``, ``[gpu]``,
``[resources]``, ``[distributions]``, ``[standardize]``) and returns their findings. Each
probe takes its inputs as parameters (root folder, command runner, environment, NVML
module, resource facts, search path) so that it can be replayed on recorded outputs.

Not on the start-up path: ``importwall.runtime.api`` imports this package only when a policy sets
``check_at_startup = true``. psutil and importlib_metadata are imported only by the checks
that need them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING

from importwall.findings import KIND_INTERNAL, Finding
from importwall.policy import Policy

if TYPE_CHECKING:
    from importwall.envcheck.resources import ResourceFacts
    from importwall.envcheck.runner import Runner
    from importwall.policy.sections import (
        DistributionsSection,
        EnvironmentSection,
        GpuSection,
        ResourcesSection,
    )

__all__ = ["check_environment"]

class _Probed:
    """The default of a probe argument: probe this machine."""


PROBE = _Probed()


def check_environment(
    policy: Policy | str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    root: str = "/",
    run: Runner | _Probed | None = PROBE,
    nvml: ModuleType | _Probed | None = PROBE,
    facts: ResourceFacts | None = None,
    search_path: Iterable[str] | None = None,
) -> list[Finding]:
    """Check this process against the environment sections of ``policy``.

    ``policy`` is a loaded :class:`~importwall.policy.Policy`, a path or a shipped pack
    name, or ``None`` for ``$IMPORTWALL_POLICY``. The other arguments replace what the
    probes read, for tests and for checking a recorded machine: ``environ`` (default
    ``os.environ``), ``root`` (where ``/proc`` and ``/sys`` are found), ``run`` (runs
    ``nvidia-smi``; ``None`` skips it), ``nvml`` (the ``pynvml`` module; ``None`` skips
    NVML, default: used when installed), ``facts`` (CPU, memory and connections; default:
    gathered with psutil), ``search_path`` (where distributions are looked for; default
    ``sys.path``).

    Findings name environment variables, never their values. A probe that fails is
    reported as an ``internal`` finding, never raised.
    """
    from importwall.policy.discovery import resolve_policy

    loaded = resolve_policy(policy)
    env: Mapping[str, str] = os.environ if environ is None else environ
    findings: list[Finding] = []

    def guarded(name: str, check: Callable[[], list[Finding]]) -> None:
        try:
            findings.extend(check())
        except Exception as error:  # a probe must never break the host
            findings.append(Finding(
                kind=KIND_INTERNAL, code="internal-error", severity="warning",
                subject=f"envcheck.{name}",
                message=f"the {name} check failed: {type(error).__name__}: {error}"))

    # Each check imports its probes when its section is present: at start-up a policy
    # with only [environment] pays for neither subprocess, psutil nor importlib_metadata.
    sections = loaded.sections
    if "environment" in sections:
        guarded("environment",
                lambda: _check_variables(loaded.section("environment"), env))
    if "gpu" in sections:
        guarded("gpu", lambda: _check_gpus(loaded.section("gpu"), root, env, run, nvml))
    if "resources" in sections:
        guarded("resources",
                lambda: _check_resources(loaded.section("resources"), root, facts))
    if "distributions" in sections:
        guarded("distributions",
                lambda: _check_distributions(loaded.section("distributions"), search_path))
    if "standardize" in sections:
        guarded("standardize", lambda: _check_standardization(loaded, search_path))
    return findings


def _check_variables(section: EnvironmentSection, environ: Mapping[str, str]) -> list[Finding]:
    from importwall.envcheck import envvars

    return envvars.check_variables(section, environ)


def _check_gpus(section: GpuSection, root: str, environ: Mapping[str, str],
                run: Runner | _Probed | None, nvml: ModuleType | _Probed | None
                ) -> list[Finding]:
    from importwall.envcheck import gpu
    from importwall.envcheck.runner import command_runner

    runner = command_runner(environ) if isinstance(run, _Probed) else run
    module = gpu.load_nvml() if isinstance(nvml, _Probed) else nvml
    timeout = float(section.get("nvidia_smi_timeout", gpu.DEFAULT_SMI_TIMEOUT))
    return gpu.check_gpus(section, gpu.survey(root, environ, runner, module, timeout))


def _check_standardization(policy: Policy, search_path: Iterable[str] | None
                           ) -> list[Finding]:
    from importwall.envcheck.standardize import check_standardization

    return check_standardization(policy, None if search_path is None else list(search_path))


def _check_resources(section: ResourcesSection, root: str, facts: ResourceFacts | None
                     ) -> list[Finding]:
    from importwall.envcheck import mounts, resources

    gathered = facts if facts is not None else resources.gather(
        root, with_connections=bool(section.get("deny_networks")))
    return [*resources.check_resources(section, gathered),
            *mounts.check_mounts(section, mounts.read_mountinfo(root))]


def _check_distributions(section: DistributionsSection, search_path: Iterable[str] | None
                         ) -> list[Finding]:
    from importwall.envcheck import installed
    from importwall.envcheck.rules import matching_rule
    from importwall.static.metadata import installed_distributions

    rules = installed.denied(section)
    found = installed_distributions(
        search_path, keep=lambda name: matching_rule(rules, [name]) is not None)
    return installed.check_distributions(section, found)
