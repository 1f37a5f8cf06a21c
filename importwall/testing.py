"""Test helpers: prove that a serving entry point starts clean in a fresh interpreter.

:func:`assert_clean` starts ``sys.executable`` the way a server starts (a clean
``sys.modules``, the firewall activated from ``IMPORTWALL_POLICY`` by the start-up hook),
imports the entry point, optionally calls its warm-up, and asserts that the firewall saw
no forbidden import. The child runs in ``audit`` mode, so one run lists every forbidden
import instead of stopping at the first; it hands its findings back through a file in a
temporary folder (see :mod:`importwall.runtime.probe`).

Works from any test runner: it raises ``AssertionError``. The pytest plugin exposes it as
the ``importwall_assert_clean`` fixture.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from importwall.errors import ForbiddenImportError
from importwall.findings import KIND_IMPORT, SEVERITY_RANK, Finding
from importwall.policy import Policy, load_policy
from importwall.settings import ENV_DATA_DIR, ENV_MODE, ENV_POLICY

PROBE_MODULE = "importwall.runtime.probe"
PROBE_FILE = "probe.json"

PolicyReference = str | os.PathLike[str] | Policy


@dataclass(frozen=True)
class CleanResult:
    """What a clean run looked like: findings below ``fail_on`` are kept for inspection."""

    target: str
    policy: str
    findings: tuple[Finding, ...]
    stdout: str
    stderr: str


def describe(finding: Finding) -> str:
    """A finding as people read it: the rule, the reason, the importer and the chain."""
    if finding.kind != KIND_IMPORT:
        return f"importwall: {finding.severity}: {finding.message}"
    # The blocked-import error already renders all of this; reuse its wording.
    return str(ForbiddenImportError(finding.subject, finding.rule or "?", finding.reason,
                                    finding.importer, finding.chain, finding.source))


def describe_all(findings: Iterable[Finding]) -> str:
    return "\n".join(describe(finding) for finding in findings)


def policy_reference(policy: PolicyReference | None) -> str:
    """What to put in ``IMPORTWALL_POLICY`` for a child: the policy's absolute path.

    The policy is loaded here first, so a broken policy fails in the test process with
    its own :class:`~importwall.errors.PolicyError`, not as a puzzling child failure.
    """
    if isinstance(policy, Policy):
        return policy.path
    if policy is None:
        policy = os.environ.get(ENV_POLICY) or ""
        if not policy:
            raise ValueError(f"assert_clean needs a policy: pass policy=PATH or set {ENV_POLICY}")
    return load_policy(policy).path


def assert_clean(
    target: str,
    policy: PolicyReference | None = None,
    *,
    call: str | None = None,
    fail_on: str = "info",
    pythonpath: Sequence[str | os.PathLike[str]] = (),
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    python: str | os.PathLike[str] | None = None,
    timeout: float = 120.0,
) -> CleanResult:
    """Import ``target`` (``"package.module"`` or ``"package.module:attribute"``) in a fresh
    interpreter under ``policy`` and assert that nothing forbidden was imported.

    ``call`` names a method of the attribute (or a function of the module) to call after
    the import, such as ``"warmup"``, so lazy imports on the first request are seen too.
    Findings at or above ``fail_on`` fail the assertion; the :class:`CleanResult` returned
    on success still lists the ones below it. ``pythonpath`` folders go first on the
    child's ``PYTHONPATH``; ``env`` adds variables to the child's environment.
    """
    if fail_on not in SEVERITY_RANK:
        raise ValueError(f"fail_on={fail_on!r}; use one of {', '.join(SEVERITY_RANK)}")
    reference = policy_reference(policy)
    with tempfile.TemporaryDirectory(prefix="importwall-probe-") as channel:
        out = os.path.join(channel, PROBE_FILE)
        argv = [os.fspath(python or sys.executable), "-m", PROBE_MODULE, target, "--out", out]
        if call:
            argv += ["--call", call]
        proc = subprocess.run(
            argv, cwd=cwd, env=_child_env(reference, channel, pythonpath, env),
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        outcome = _read_outcome(out, target, proc)
    records = outcome.get("findings")
    findings = tuple(Finding.from_dict(item) for item in
                     (records if isinstance(records, list) else ()) if isinstance(item, dict))
    problem = _problem(outcome, target, reference, proc)
    if problem:
        raise AssertionError(problem)
    failing = [f for f in findings if f.at_least(fail_on)]
    if failing:
        raise AssertionError(
            f"{target} is not clean under policy {reference}: {len(failing)} finding(s) at or "
            f"above {fail_on!r} in a fresh interpreter\n{describe_all(failing)}")
    return CleanResult(target, reference, findings, proc.stdout, proc.stderr)


def _child_env(reference: str, channel: str, pythonpath: Sequence[str | os.PathLike[str]],
               extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPORTWALL_")}
    env.update(extra or {})
    env[ENV_POLICY] = reference
    env[ENV_MODE] = "audit"
    env[ENV_DATA_DIR] = channel
    paths = [os.fspath(p) for p in pythonpath]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    own_root = _importwall_root()
    if own_root is not None:
        paths.append(own_root)
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _importwall_root() -> str | None:
    """The folder holding this importwall when it is a source tree the child might not
    see; ``None`` when it is installed in site-packages (adding that to PYTHONPATH would
    put it in front of the standard library)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    installed = {os.path.abspath(p) for p in site.getsitepackages()}
    installed.add(os.path.abspath(site.getusersitepackages()))
    return None if root in installed else root


def _read_outcome(path: str, target: str,
                  proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        raise AssertionError(
            f"importwall could not probe {target}: the child interpreter exited with status "
            f"{proc.returncode} before reporting\n{_output(proc)}") from None
    if not isinstance(data, dict):
        raise AssertionError(f"importwall could not probe {target}: unreadable probe file")
    return data


def _problem(outcome: Mapping[str, object], target: str, reference: str,
             proc: subprocess.CompletedProcess[str]) -> str | None:
    if outcome.get("error"):
        return f"importwall could not import or call {target}:\n{outcome['error']}"
    if not outcome.get("active"):
        return (f"the firewall did not start in the child interpreter with "
                f"{ENV_POLICY}={reference}\n{_output(proc)}")
    return None


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    text = (proc.stdout + proc.stderr).strip()
    return text[-4000:] if text else "(no output)"
