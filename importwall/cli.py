"""The ``importwall`` command.

Exit statuses are named in :mod:`importwall.exitcodes`: 0 clean, 1 findings at or above
the failing severity, 2 usage or policy error. Errors print as one readable paragraph;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence

from importwall import __version__, exitcodes, fingerprint, install, modelscan, scan
from importwall._api import ENV_MODE, ENV_POLICY, resolve_policy
from importwall.errors import ImportWallError
from importwall.policy import MODES, Policy
from importwall.propagate import child_environment


class UsageError(ImportWallError):
    """The command line asks for something importwall cannot do."""

    code = "usage"


def _policy_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy", "-p", metavar="POLICY",
        help=f"policy file or shipped pack name (default: ${ENV_POLICY})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="importwall",
        description="A runtime import firewall for machine-learning serving.")
    parser.add_argument("--version", action="version", version=f"importwall {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks for errors instead of one-paragraph messages")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run", help="run a command with the firewall active in it and in every Python child",
        description="Run CMD with the firewall active in every Python process it starts. "
                    "Exits with CMD's exit status.")
    _policy_argument(run)
    run.add_argument("--mode", "-m", choices=MODES,
                     help=f"override the policy's mode (default: ${ENV_MODE}, then the "
                          "policy's mode, then enforce)")
    run.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ...",
                     help="the command to run")

    check = commands.add_parser("check", help="validate a policy file",
                                description="Validate POLICY and every file it extends; "
                                            "list every problem at once.")
    check.add_argument("policy", metavar="POLICY", nargs="?",
                       help=f"policy file or shipped pack name (default: ${ENV_POLICY})")
    check.add_argument("--show", action="store_true",
                       help="print the resolved, merged policy as JSON")

    explain = commands.add_parser(
        "explain", help="say which rule decides a module, and why",
        description="Say whether MODULE may be imported under the policy, which rule "
                    "decides it, and which distribution provides it.")
    _policy_argument(explain)
    explain.add_argument("module", metavar="MODULE")
    explain.add_argument("--importer", metavar="MOD",
                         help="the module doing the import (for importer-aware exceptions)")
    handlers = install.register(commands)
    for register in (scan.register, fingerprint.register, modelscan.register):
        handlers.update(register(commands))
    parser.set_defaults(handlers=handlers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return exitcodes.USAGE
    handlers: dict[str, install.Handler] = {"run": _run, "check": _check,
                                            "explain": _explain, **args.handlers}
    handler = handlers[args.command]
    try:
        return handler(args)
    except ImportWallError as error:
        if args.debug:
            raise
        print(str(error), file=sys.stderr)
        return exitcodes.USAGE
    except KeyboardInterrupt:
        return 130


def _load(reference: str | None) -> Policy:
    return resolve_policy(reference)


def _run(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UsageError("importwall run: no command given; usage: importwall run "
                         "[--policy POLICY] [--mode MODE] -- CMD [ARGS ...]")
    policy = _load(args.policy)
    env = child_environment(policy, args.mode)
    program = shutil.which(cmd[0], path=env.get("PATH"))
    if program is None:
        raise UsageError(f"importwall run: command not found: {cmd[0]!r}")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(program, cmd, env)
    return exitcodes.CLEAN  # pragma: no cover - execve does not return


def _check(args: argparse.Namespace) -> int:
    policy = _load(args.policy)
    if args.show:
        print(json.dumps(policy.to_dict(), indent=2))
    else:
        rules = len(policy.imports.deny) + len(policy.imports.allow)
        print(f"{policy.path}: ok ({len(policy.files)} file(s), {rules} import rule(s), "
              f"{len(policy.imports.exceptions)} exception(s))")
    return exitcodes.CLEAN


def _explain(args: argparse.Namespace) -> int:
    from importwall.distributions import top_level_modules
    from importwall.matcher import Matcher

    policy = _load(args.policy)
    matcher = Matcher.from_policy(policy)
    decision = matcher.decide(args.module)
    if decision is None:
        print(f"{args.module}: allowed (no rule matches)")
        return exitcodes.CLEAN
    reason = f"\n  reason: {decision.rule.reason}" if decision.rule.reason else ""
    if not decision.denied:
        print(f"{args.module}: allowed by rule {decision.label} ({decision.rule.source})"
              f"{reason}")
        return exitcodes.CLEAN
    exception = matcher.exception_for(args.module, args.importer)
    if exception is not None:
        print(f"{args.module}: allowed when imported by {args.importer}: exception "
              f"{exception.module!r} for importer {exception.importer!r} ({exception.source})"
              + (f"\n  reason: {exception.reason}" if exception.reason else ""))
        return exitcodes.CLEAN
    distribution = decision.rule.extra.get("distribution")
    provided = ""
    if distribution:
        provided = f"\n  provided by distribution {distribution!r}: " + ", ".join(
            top_level_modules(str(distribution)))
    print(f"{args.module}: denied by rule {decision.label} ({decision.rule.source}){reason}"
          f"{provided}")
    return exitcodes.FINDINGS


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
