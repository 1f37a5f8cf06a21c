"""The environment gate: is this process configured for serving, not training?

:func:`check_environment` runs the checks a policy asks for (``[environment]``, ``[gpu]``,
``[resources]``, ``[distributions]``) and returns their findings. Each probe takes its
inputs as parameters (root folder, command runner, environment, NVML module, resource
facts, search path) so that it can be replayed on recorded outputs.

Not on the start-up path: ``importwall._api`` imports this package only when a policy sets
``check_at_startup = true``. psutil and importlib_metadata are imported only by the checks
that need them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType

from importwall.envcheck import envvars, gpu, installed, mounts, resources
from importwall.envcheck.runner import Runner, command_runner
from importwall.findings import KIND_INTERNAL, Finding
from importwall.policy import Policy

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
    facts: resources.ResourceFacts | None = None,
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
    from importwall._api import resolve_policy

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

    sections = loaded.sections
    if "environment" in sections:
        guarded("environment", lambda: envvars.check_variables(sections["environment"], env))
    if "gpu" in sections:
        section = sections["gpu"]
        runner = command_runner(env) if isinstance(run, _Probed) else run
        module = gpu.load_nvml() if isinstance(nvml, _Probed) else nvml
        timeout = float(section.get("nvidia_smi_timeout", gpu.DEFAULT_SMI_TIMEOUT))
        guarded("gpu", lambda: gpu.check_gpus(
            section, gpu.survey(root, env, runner, module, timeout)))
    if "resources" in sections:
        section = sections["resources"]

        def check_resources() -> list[Finding]:
            gathered = facts if facts is not None else resources.gather(
                root, with_connections=bool(section.get("deny_networks")))
            return [*resources.check_resources(section, gathered),
                    *mounts.check_mounts(section, mounts.read_mountinfo(root))]

        guarded("resources", check_resources)
    if "distributions" in sections:
        guarded("distributions", lambda: installed.check_distributions(
            sections["distributions"], installed.installed_distributions(search_path)))
    return findings
