"""What ``importwall audit`` does: everything importwall can check, in one report.

The steps, in order, each adding findings:

1. the environment gate (:func:`importwall.check_environment`), which also reports the
   installed distributions ``[distributions] deny`` names;
2. installed distributions whose imports ``[imports] deny_distributions`` denies;
3. the serving code itself: each ``--entrypoint MOD[:ATTR]`` imported in a fresh
   interpreter (by :mod:`importwall.runtime.probe`), or ``-- CMD ...`` run, under the firewall in
   ``audit`` mode with a temporary data dir, whose record files are then combined. Every
   process the firewall starts in writes its record file at once, so a target in which
   it never started (``python -E``, no Python at all) is an error, not a clean report.

Each step is a function adding findings; a step that fails becomes an ``internal``
finding, so one broken check never hides the others. What a target prints goes to
importwall's standard error, never into a finding: it may hold environment values.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from importwall.errors import UsageError
from importwall.findings import KIND_DISTRIBUTION, KIND_IMPORT, KIND_INTERNAL, Finding
from importwall.policy import Policy, Rule
from importwall.report.model import Report, rule_labels
from importwall.runtime import probe as _probe
from importwall.runtime.losses import Loss, LossListener
from importwall.runtime.matcher import Decision
from importwall.runtime.propagate import child_environment
from importwall.runtime.record_reader import (
    INCOMPLETE,
    ProcessInfo,
    read_record_file,
    record_files,
)
from importwall.settings import ENV_DATA_DIR

AUDIT_MODE = "audit"
ENTRYPOINT_TIMEOUT = 300.0


@dataclass
class AuditResult:
    findings: list[Finding] = field(default_factory=list)
    processes: list[ProcessInfo] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


Step = Callable[[Policy, AuditResult], None]
StepProgress = Callable[[str, int, int], None]
"""Called with (step name, its index, number of steps) as each step starts."""


def plan(entrypoints: Sequence[str], cmd: Sequence[str],
         search_path: Sequence[str] | None = None, paths: Sequence[str] = ()
         ) -> list[tuple[str, Step]]:
    """The steps of one audit: the environment and the installed distributions, then each
    entry point imported, or the command run. Raises :class:`UsageError` for entry points
    that are not ``MOD[:ATTR]``, for both entry points and a command, and for a command
    that cannot be found, before anything runs.

    ``search_path`` is where the checks look for distributions and ``[standardize]``
    modules (default ``sys.path``); ``paths`` go first on the entry points' ``PYTHONPATH``.
    """
    for entrypoint in entrypoints:
        _check_entrypoint(entrypoint)
    if cmd and entrypoints:
        raise UsageError("importwall audit: give --entrypoint or -- CMD, not both; audit the "
                         "command, or import the entry points, in separate runs")
    if cmd and shutil.which(cmd[0]) is None:
        raise UsageError(f"importwall audit: command not found: {cmd[0]!r}")
    where = None if search_path is None else list(search_path)
    steps: list[tuple[str, Step]] = [
        ("environment", lambda policy, result: environment_step(policy, result, where)),
        ("distributions", lambda policy, result: distributions_step(policy, result, where)),
    ]
    steps.extend((f"import {e}", _entrypoint_step(e, paths)) for e in entrypoints)
    if cmd:
        steps.append((f"run {' '.join(cmd)}", _command_step(list(cmd))))
    return steps


def run_steps(policy: Policy, steps: Sequence[tuple[str, Step]],
              progress: StepProgress | None = None) -> AuditResult:
    """Run each step in order; ``progress`` is told which step starts, and how many
    there are. A step that fails becomes an ``audit-step-failed`` finding."""
    result = AuditResult()
    for index, (name, step) in enumerate(steps):
        if progress is not None:
            progress(name, index, len(steps))
        try:
            step(policy, result)
        except UsageError:
            raise
        except Exception as error:
            result.findings.append(_internal(f"audit step {name!r} failed: "
                                             f"{type(error).__name__}: {error}"))
    return result


def audit_report(policy: Policy, result: AuditResult) -> Report:
    """One report of everything the steps found."""
    return Report.build(result.findings, result.processes, policy=policy.path,
                        rules=rule_labels(policy), generated=time.time(),
                        metadata=result.metadata)


# --------------------------------------------------------------------------- steps


def environment_step(policy: Policy, result: AuditResult,
                     search_path: Sequence[str] | None = None) -> None:
    """The environment gate, ``[distributions] deny`` and ``[standardize]`` included."""
    from importwall.envcheck import check_environment

    result.findings.extend(check_environment(policy, search_path=search_path))
    result.metadata["environment"] = "checked"


def distributions_step(policy: Policy, result: AuditResult,
                       search_path: Sequence[str] | None = None) -> None:
    """Installed distributions whose imports ``[imports] deny_distributions`` denies.

    Such a rule only stops imports, so an installed one is noted (``info``): it has no
    place in a serving image either. ``[distributions] deny`` is the environment gate's.
    """
    from importwall.envcheck.installed import denied
    from importwall.envcheck.rules import matching_rule
    from importwall.static.metadata import installed_distributions

    written = policy.imports.deny_distributions
    rules = denied({"deny": written})  # patterns normalized like distribution names
    if not rules:
        return
    found = installed_distributions(
        search_path, keep=lambda name: matching_rule(rules, [name]) is not None)
    for name, version in sorted(found.items()):
        rule = matching_rule(rules, [name])
        if rule is not None:
            result.findings.append(_import_denied_installed(
                written[rules.index(rule)], name, version))


def _import_denied_installed(rule: Rule, name: str, version: str) -> Finding:
    label = Decision("deny", rule, "deny_distributions").label  # as rule_labels names it
    return Finding(kind=KIND_DISTRIBUTION, code="distribution-installed-import-denied",
                   severity="info", subject=name, rule=label, reason=rule.reason,
                   source=rule.source,
                   message=f"distribution {name} {version} is installed: its imports are "
                           f"denied by rule {label}; it has no place in a serving image",
                   details={"distribution": name, "version": version})


def _check_entrypoint(entrypoint: str) -> None:
    module, _, attribute = entrypoint.partition(":")
    names = [*module.split("."), *(attribute.split(".") if attribute else [])]
    if not module or not all(name.isidentifier() for name in names):
        raise UsageError(f"importwall audit: --entrypoint {entrypoint!r} is not MOD[:ATTR], "
                         "e.g. myservice.app or myservice.app:handler")


def _entrypoint_step(entrypoint: str, paths: Sequence[str] = ()) -> Step:
    def step(policy: Policy, result: AuditResult) -> None:
        with tempfile.TemporaryDirectory(prefix="importwall-probe-") as folder:
            # The probe starts the firewall itself, whatever the interpreter's start-up
            # hooks did, and keeps the entry point's traceback in its outcome file.
            outcome = os.path.join(folder, "outcome.json")
            argv = [sys.executable, "-m", _probe.__name__, entrypoint, "--out", outcome]
            _audit_process(policy, result, argv, f"entry point {entrypoint}", entrypoint,
                           hint="did the firewall fail to start in that interpreter?",
                           outcome=outcome, paths=paths)
        result.metadata.setdefault("entrypoints", []).append(entrypoint)
    return step


def _command_step(cmd: list[str]) -> Step:
    def step(policy: Policy, result: AuditResult) -> None:
        result.metadata["command"] = cmd[0]  # arguments may hold secrets: name the program
        _audit_process(policy, result, cmd, f"command {cmd[0]!r}", cmd[0],
                       hint="did it start Python with -E or -I (which ignore the "
                            "IMPORTWALL_* and PYTHONPATH variables), or not run Python "
                            "at all?", show_output=True)
    return step


def _audit_process(policy: Policy, result: AuditResult, argv: list[str], what: str,
                   subject: str, hint: str, show_output: bool = False,
                   outcome: str | None = None, paths: Sequence[str] = ()) -> None:
    """Run ``argv`` under the firewall in audit mode; collect its processes' records.

    ``outcome`` is the probe's outcome file, whose traceback is shown when the entry
    point fails. Output is shown on standard error only: never in a finding.
    """
    # The report may go to standard output: a command's own output goes to stderr.
    forward = _stderr_fd() if show_output else None
    processes: list[ProcessInfo] = []
    with (tempfile.TemporaryDirectory(prefix="importwall-audit-") as data_dir,
          LossListener() as losses):
        environ = {**os.environ, ENV_DATA_DIR: data_dir, **losses.environment()}
        if paths:
            existing = environ.get("PYTHONPATH")
            environ["PYTHONPATH"] = os.pathsep.join(
                [os.path.abspath(p) for p in paths] + ([existing] if existing else []))
        env = child_environment(policy, AUDIT_MODE, environ)
        try:
            completed = subprocess.run(
                argv, env=env, stdin=subprocess.DEVNULL, timeout=ENTRYPOINT_TIMEOUT,
                stdout=forward if forward is not None else subprocess.PIPE,
                stderr=forward if forward is not None else subprocess.PIPE, text=True,
                check=False)
        except FileNotFoundError as error:
            raise UsageError(f"importwall audit: command not found: {argv[0]!r}") from error
        except subprocess.TimeoutExpired:
            result.findings.append(_failed(what, subject, f"did not finish within "
                                           f"{ENTRYPOINT_TIMEOUT:.0f} s"))
            completed = None
        for path in record_files(data_dir):
            read_record_file(path, result.findings, processes)
        result.findings.extend(_unrecorded_losses(losses.drain(), processes, subject))
    result.processes.extend(processes)
    failed = completed is not None and completed.returncode != 0
    if completed is not None and (show_output or failed or not processes):
        _show_output(what, completed, outcome if failed else None)
    if completed is not None and failed:
        problem = ("could not be imported (its traceback is on standard error)"
                   if outcome is not None and completed.returncode == _probe.EXIT_TARGET_FAILED
                   else f"exited with status {completed.returncode}")
        result.findings.append(_failed(what, subject, problem))
    if not processes:
        result.findings.append(Finding(
            kind=KIND_IMPORT, code="audit-no-process", severity="error", subject=subject,
            message=f"no Python process ran under the firewall: {what} wrote no record to "
                    f"the audit's data dir, so its imports were not checked; {hint}"))


def _unrecorded_losses(losses: dict[int, Loss], processes: Sequence[ProcessInfo],
                       subject: str) -> list[Finding]:
    """A finding for each process that said it lost findings (:mod:`~importwall.runtime.
    losses`) where its record file cannot say so: it could not write even that."""
    recorded = {process.pid for process in processes if process.unwritten}
    return [Finding(kind=KIND_INTERNAL, code=INCOMPLETE, severity="error", subject=subject,
                    message=f"process {loss.pid} could not write its record file in the "
                            f"audit's data dir {loss.data_dir!r} ({loss.unwritten} of its "
                            f"{loss.total} findings not written): this report is incomplete",
                    pid=loss.pid)
            for pid, loss in sorted(losses.items())
            if pid not in recorded and (loss.unwritten or not loss.recorded)]


def _show_output(what: str, completed: subprocess.CompletedProcess[str],
                 outcome: str | None) -> None:
    """What the target printed, and the probe's traceback, on importwall's standard
    error: the user's terminal, where an environment value it printed stays."""
    captured = (completed.stdout or "") + (completed.stderr or "")
    if outcome is not None:
        try:
            with open(outcome, encoding="utf-8") as handle:
                captured += json.load(handle).get("error") or ""
        except (OSError, ValueError, AttributeError):
            pass  # no outcome: the probe did not get as far as importing
    if not captured:
        return
    sys.stderr.write(f"importwall audit: output of {what} "
                     f"(exit status {completed.returncode}):\n")
    sys.stderr.write(captured if captured.endswith("\n") else captured + "\n")
    sys.stderr.flush()


def _stderr_fd() -> int | None:
    try:
        sys.stderr.flush()
        return sys.stderr.fileno()
    except (OSError, ValueError, AttributeError):  # replaced by a program or a test
        return None


def _failed(what: str, subject: str, problem: str) -> Finding:
    return Finding(kind=KIND_IMPORT, code="audit-target-failed", severity="error",
                   subject=subject, message=f"{what} {problem}; its findings may be "
                   "incomplete")


def _internal(message: str) -> Finding:
    # An error: a step that could not run leaves the audit incomplete.
    return Finding(kind=KIND_INTERNAL, code="audit-step-failed", severity="error",
                   subject="importwall", message=message)
