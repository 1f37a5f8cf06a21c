"""The core subcommands: ``run``, ``check``, ``explain`` and ``report``."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

from importwall import exitcodes
from importwall._api import ENV_DATA_DIR, ENV_MODE, resolve_data_dir, resolve_mode
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
from importwall.policy import MODES, Policy
from importwall.propagate import child_environment


def register(registry: Registry) -> None:
    registry.add(
        "run", _run, configure=_run_arguments,
        help="run a command with the firewall active in it and in every Python child",
        description="Run CMD with the firewall active in every Python process it starts. "
                    "Exits with CMD's exit status.")
    registry.add(
        "report", _report, configure=_report_arguments,
        help="combine the record files of a data dir into one report",
        description="Read every per-process record file in DIR, de-duplicate the findings "
                    "across processes, and write one report.")
    registry.add(
        "check", _check, configure=_check_arguments, help="validate a policy file",
        description="Validate POLICY and every file it extends; list every problem at once.")
    registry.add(
        "explain", _explain, configure=_explain_arguments,
        help="say which rule decides a module, and why",
        description="Say whether MODULE may be imported under the policy, which rule decides "
                    "it, where that rule is written, and which distribution provides MODULE.")


# --------------------------------------------------------------------------- run


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    policy_argument(parser)
    parser.add_argument("--mode", "-m", choices=MODES,
                        help=f"override the policy's mode (default: ${ENV_MODE}, then the "
                             "policy's mode, then enforce)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help=f"write every process's findings into DIR (sets ${ENV_DATA_DIR}; "
                             "combine them later with `importwall report --data DIR`)")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ...",
                        help="the command to run")


def command_after_dashes(cmd: list[str]) -> list[str]:
    return cmd[1:] if cmd and cmd[0] == "--" else cmd


def _run(args: argparse.Namespace) -> int:
    cmd = command_after_dashes(list(args.cmd))
    if not cmd:
        raise UsageError("importwall run: no command given; usage: importwall run "
                         "[--policy POLICY] [--mode MODE] -- CMD [ARGS ...]")
    policy = load_cli_policy(args.policy)
    environ = dict(os.environ)
    if args.data_dir:
        environ[ENV_DATA_DIR] = os.path.abspath(args.data_dir)
    env = child_environment(policy, args.mode, environ)
    program = shutil.which(cmd[0], path=env.get("PATH"))
    if program is None:
        raise UsageError(f"importwall run: command not found: {cmd[0]!r}")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(program, cmd, env)
    return exitcodes.CLEAN  # pragma: no cover - execve does not return


# --------------------------------------------------------------------------- report


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", "-d", metavar="DIR",
                        help=f"the data dir holding the record files (default: ${ENV_DATA_DIR}, "
                             "else the policy's \\[report] data_dir)")
    policy_argument(parser)
    output_arguments(parser)
    fail_on_argument(parser)


def _report(args: argparse.Namespace) -> int:
    from importwall.discovery import discover_policy
    from importwall.report import load_records, record_files
    from importwall.reportwriter import write_report

    # The policy is optional here: records can be combined without one.
    policy = load_cli_policy(args.policy) if discover_policy(args.policy) else None
    data_dir = args.data or resolve_data_dir(policy)
    if not data_dir:
        raise UsageError(f"importwall report: no data dir; pass --data DIR, set "
                         f"${ENV_DATA_DIR}, or set [report] data_dir in the policy, to the "
                         "folder the processes wrote their records to")
    if not os.path.isdir(data_dir):
        raise UsageError(f"importwall report: data dir {data_dir!r} does not exist; it is "
                         "created by the first process the firewall starts in")
    fmt, output, fail_on = report_settings(args, policy)
    report = load_records(data_dir, policy=policy.path if policy else None,
                          rules=_rule_labels(policy) if policy else (), generated=time.time())
    if not record_files(data_dir):
        print(f"importwall: warning: no record files in {data_dir!r}", file=sys.stderr)
    write_report(report, fmt, output)
    return exit_status(report, fail_on)


def _rule_labels(policy: Policy) -> list[str]:
    from importwall.audit import rule_labels

    return rule_labels(policy)


# --------------------------------------------------------------------------- check


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("policy", metavar="POLICY", nargs="?",
                        help="policy file or shipped pack name (default: discovered as for "
                             "every command)")
    parser.add_argument("--show", action="store_true",
                        help="print the resolved, merged policy as JSON")


def _check(args: argparse.Namespace) -> int:
    policy = load_cli_policy(args.policy)
    if args.show:
        print(json.dumps(policy.to_dict(), indent=2))
    else:
        rules = len(policy.imports.deny) + len(policy.imports.allow)
        print(f"{policy.path}: ok ({len(policy.files)} file(s), {rules} import rule(s), "
              f"{len(policy.imports.exceptions)} exception(s))")
    return exitcodes.CLEAN


# --------------------------------------------------------------------------- explain


def _explain_arguments(parser: argparse.ArgumentParser) -> None:
    policy_argument(parser)
    parser.add_argument("module", metavar="MODULE")
    parser.add_argument("--importer", metavar="MOD",
                        help="the module doing the import (for importer-aware exceptions)")


def _explain(args: argparse.Namespace) -> int:
    from importwall.distributions import top_level_modules
    from importwall.matcher import Matcher

    module: str = args.module
    if not module or not all(part.isidentifier() for part in module.split(".")):
        raise UsageError(f"importwall explain: {module!r} is not a dotted module name, "
                         "e.g. sklearn.model_selection")
    policy = load_cli_policy(args.policy)
    matcher = Matcher.from_policy(policy)
    decision = matcher.decide(module)
    lines: list[str] = []
    status = exitcodes.CLEAN
    if decision is None:
        lines.append(f"{module}: allowed (no rule matches)")
    else:
        rule = decision.rule
        exception = (matcher.exception_for(module, args.importer)
                     if decision.denied and args.importer else None)
        if not decision.denied:
            lines.append(f"{module}: allowed by rule {decision.label} ({rule.source})")
        elif exception is not None:
            lines.append(f"{module}: allowed when imported by {args.importer}: exception "
                         f"{exception.module!r} for importer {exception.importer!r} "
                         f"({exception.source})")
            if exception.reason:
                lines.append(f"  exception reason: {exception.reason}")
            lines.append(f"  overrides rule {decision.label} ({rule.source})")
        else:
            lines.append(f"{module}: denied by rule {decision.label} ({rule.source})")
            status = exitcodes.FINDINGS
        if rule.reason:
            lines.append(f"  reason: {rule.reason}")
        if status == exitcodes.FINDINGS:
            mode = resolve_mode(None, policy)
            lines.append(f"  in {mode} mode: " + {
                "enforce": "the import raises ForbiddenImportError",
                "warn": "the import proceeds with an ImportWallWarning",
                "audit": "the import proceeds and is recorded"}[mode])
        distribution = rule.extra.get("distribution")
        if distribution:
            lines.append(f"  provided by distribution {distribution!r}: "
                         + ", ".join(top_level_modules(str(distribution))))
    if not (decision and decision.rule.extra.get("distribution")):
        lines.append(f"  provided by: {_providers(module)}")
    print("\n".join(lines))
    return status


def _providers(module: str) -> str:
    """Which installed distributions ship ``module``'s top-level package."""
    import importlib_metadata

    top = module.split(".")[0]
    names = importlib_metadata.packages_distributions().get(top, [])
    if not names:
        if top in sys.stdlib_module_names:
            return "the standard library"
        return "no installed distribution (not installed, or not from a distribution)"
    found = []
    for name in sorted(set(names)):
        try:
            found.append(f"{name} {importlib_metadata.version(name)}")
        except importlib_metadata.PackageNotFoundError:
            found.append(name)
    return ", ".join(found)
