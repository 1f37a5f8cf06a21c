"""``importwall audit``: everything importwall can check, in one report.

The steps, in order, each adding findings:

1. the environment gate (:func:`importwall.check_environment`, when this importwall has it);
2. installed distributions the policy denies (``[distributions] deny`` and
   ``[imports] deny_distributions``);
3. the serving code itself: each ``--entrypoint MOD[:ATTR]`` imported in a fresh
   interpreter, or ``-- CMD ...`` run, under the firewall in ``audit`` mode with a
   temporary data dir, whose record files are then combined.

Each step is a function returning findings; a step that fails becomes an ``internal``
finding, so one broken check never hides the others.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from importwall._api import ENV_DATA_DIR
from importwall.cli import (
    Registry,
    UsageError,
    exit_status,
    fail_on_argument,
    load_cli_policy,
    output_arguments,
    policy_argument,
    report_settings,
)
from importwall.distributions import normalize
from importwall.findings import KIND_DISTRIBUTION, KIND_IMPORT, KIND_INTERNAL, Finding
from importwall.matcher import Decision
from importwall.policy import Policy, Rule
from importwall.propagate import child_environment
from importwall.report import ProcessInfo, Report, read_record_file, record_files

AUDIT_MODE = "audit"
ENTRYPOINT_TIMEOUT = 300.0


def register(registry: Registry) -> None:
    registry.add(
        "audit", _audit, configure=_arguments,
        help="check the environment, installed distributions and serving code; report",
        description="Run every check: the environment gate, the installed distributions, "
                    "and the serving code (each --entrypoint imported in a fresh interpreter, "
                    "or CMD run) under the firewall in audit mode; then write one report.")


def _arguments(parser: argparse.ArgumentParser) -> None:
    policy_argument(parser)
    parser.add_argument("--entrypoint", "-e", action="append", default=[],
                        metavar="MOD[:ATTR]",
                        help="a serving entry point to import in a fresh interpreter "
                             "(repeatable), e.g. myservice.app:handler")
    output_arguments(parser)
    fail_on_argument(parser)
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ...",
                        help="a command to run under the firewall instead of entry points")


@dataclass
class AuditResult:
    findings: list[Finding] = field(default_factory=list)
    processes: list[ProcessInfo] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


Step = Callable[[Policy, AuditResult], None]


def _audit(args: argparse.Namespace) -> int:
    from importwall.commands import command_after_dashes
    from importwall.reportwriter import reporter, write_report

    cmd = command_after_dashes(list(args.cmd))
    entrypoints: list[str] = list(args.entrypoint)
    for entrypoint in entrypoints:
        _check_entrypoint(entrypoint)
    if cmd and entrypoints:
        raise UsageError("importwall audit: give --entrypoint or -- CMD, not both; audit the "
                         "command, or import the entry points, in separate runs")
    if cmd and shutil.which(cmd[0]) is None:
        raise UsageError(f"importwall audit: command not found: {cmd[0]!r}")
    policy = load_cli_policy(args.policy)
    fmt, output, fail_on = report_settings(args, policy)
    reporter(fmt)  # an unknown format is a usage error before any work is done
    steps: list[tuple[str, Step]] = [
        ("environment", environment_step),
        ("distributions", distributions_step),
    ]
    steps.extend((f"import {e}", _entrypoint_step(e)) for e in entrypoints)
    if cmd:
        steps.append((f"run {' '.join(cmd)}", _command_step(cmd)))
    result = run_steps(policy, steps)
    report = Report.build(result.findings, result.processes, policy=policy.path,
                          rules=rule_labels(policy), generated=time.time(),
                          metadata=result.metadata)
    write_report(report, fmt, output)
    return exit_status(report, fail_on)


def run_steps(policy: Policy, steps: Sequence[tuple[str, Step]]) -> AuditResult:
    """Run each step with a progress display on standard error (when it is a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

    result = AuditResult()
    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), console=console,
                  transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("auditing", total=len(steps))
        for name, step in steps:
            progress.update(task, description=f"audit: {name}")
            try:
                step(policy, result)
            except UsageError:
                raise
            except Exception as error:
                result.findings.append(_internal(f"audit step {name!r} failed: "
                                                 f"{type(error).__name__}: {error}"))
            progress.advance(task)
    return result


# --------------------------------------------------------------------------- steps


def environment_step(policy: Policy, result: AuditResult) -> None:
    """The environment gate, when this importwall has one (``check_environment``)."""
    import importwall

    check = getattr(importwall, "check_environment", None)
    if check is None:
        result.metadata["environment"] = "not checked (this importwall has no environment gate)"
        return
    found = check(policy)
    findings = getattr(found, "findings", found)
    result.findings.extend(findings)
    result.metadata["environment"] = "checked"


def distributions_step(policy: Policy, result: AuditResult,
                       installed: Iterable[tuple[str, str]] | None = None) -> None:
    """Installed distributions the policy denies (``*`` globs allowed).

    ``[distributions] deny`` belongs to the environment gate; it is checked here only when
    this importwall has no gate, so that no distribution is reported twice.
    ``[imports] deny_distributions`` rules only stop imports: an installed one is noted
    (``info``), since it has no place in a serving image either.
    """
    import importwall

    checks: list[tuple[Rule, bool]] = []
    if getattr(importwall, "check_environment", None) is None:
        checks.extend((rule, False) for rule in policy.section("distributions").get("deny", ()))
    checks.extend((rule, True) for rule in policy.imports.deny_distributions)
    if not checks:
        return
    dists = sorted(set(installed if installed is not None else _installed()))
    for rule, imports_only in checks:
        for name, version in dists:
            if fnmatch.fnmatchcase(normalize(name), normalize(rule.pattern)):
                result.findings.append(_installed_finding(rule, imports_only, name, version))


def _installed_finding(rule: Rule, imports_only: bool, name: str, version: str) -> Finding:
    severity = rule.severity
    if imports_only:  # [imports] deny_distributions
        label = f"deny_distributions {rule.pattern!r}"
        severity = "info"
        code, verdict = "distribution-installed-import-denied", (
            f"its imports are denied by rule {label}; it has no place in a serving image")
    else:
        label = repr(normalize(rule.pattern))  # as the environment gate names its rules
        code, verdict = "distribution-installed", f"forbidden by rule {label}"
    return Finding(kind=KIND_DISTRIBUTION, code=code, severity=severity,
                   subject=normalize(name), rule=label, reason=rule.reason,
                   source=rule.source,
                   message=f"distribution {name} {version} is installed: {verdict}",
                   details={"distribution": name, "version": version})


def _installed() -> list[tuple[str, str]]:
    import importlib_metadata

    found = []
    for dist in importlib_metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.append((str(name), str(dist.version)))
    return found


def _check_entrypoint(entrypoint: str) -> None:
    module, _, attribute = entrypoint.partition(":")
    names = [*module.split("."), *(attribute.split(".") if attribute else [])]
    if not module or not all(name.isidentifier() for name in names):
        raise UsageError(f"importwall audit: --entrypoint {entrypoint!r} is not MOD[:ATTR], "
                         "e.g. myservice.app or myservice.app:handler")


_IMPORT_PROGRAM = """
import importlib, sys
module_name, _, attribute = sys.argv[1].partition(":")
target = importlib.import_module(module_name)
for part in filter(None, attribute.split(".")):
    target = getattr(target, part)
"""


def _entrypoint_step(entrypoint: str) -> Step:
    def step(policy: Policy, result: AuditResult) -> None:
        argv = [sys.executable, "-c", _IMPORT_PROGRAM, entrypoint]
        start = len(result.findings)
        _audit_process(policy, result, argv, f"entry point {entrypoint}", entrypoint)
        result.findings[start:] = [_without_harness(f) for f in result.findings[start:]]
        result.metadata.setdefault("entrypoints", []).append(entrypoint)
    return step


def _without_harness(finding: Finding) -> Finding:
    """Chains start at the entry point, not at the ``-c`` program that imported it."""
    chain = finding.chain
    if chain and chain[0].module == "__main__" and chain[0].file == "<string>":
        return dataclasses.replace(finding, chain=chain[1:])
    return finding


def _command_step(cmd: list[str]) -> Step:
    def step(policy: Policy, result: AuditResult) -> None:
        result.metadata["command"] = cmd[0]  # arguments may hold secrets: name the program
        _audit_process(policy, result, cmd, f"command {cmd[0]!r}", cmd[0], show_output=True)
    return step


def _audit_process(policy: Policy, result: AuditResult, argv: list[str], what: str,
                   subject: str, show_output: bool = False) -> None:
    """Run ``argv`` under the firewall in audit mode; collect its processes' records."""
    # The report may go to standard output: a command's own output goes to stderr.
    forward = _stderr_fd() if show_output else None
    with tempfile.TemporaryDirectory(prefix="importwall-audit-") as data_dir:
        env = child_environment(policy, AUDIT_MODE, {**os.environ, ENV_DATA_DIR: data_dir})
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
        if show_output and forward is None and completed is not None:
            sys.stderr.write((completed.stdout or "") + (completed.stderr or ""))
        for path in record_files(data_dir):
            read_record_file(path, result.findings, result.processes)
    if completed is not None and completed.returncode != 0:
        detail = ""
        if completed.stderr:
            last = [line for line in completed.stderr.strip().splitlines() if line.strip()]
            detail = f": {last[-1].strip()}" if last else ""
        result.findings.append(_failed(
            what, subject, f"exited with status {completed.returncode}{detail}"))


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


def rule_labels(policy: Policy) -> list[str]:
    """How the policy's import rules are named in findings (``deny 'optuna'``): a JUnit
    report lists them all, passing or not. The environment gate's rules show up with
    their findings."""
    labels: list[str] = []
    for via, rules in (("deny", policy.imports.deny),
                       ("deny_distributions", policy.imports.deny_distributions)):
        labels.extend(Decision("deny", rule, via).label for rule in rules)
    return labels

