"""``importwall init [--entrypoint MOD[:ATTR]] [--pyproject] [--force]``: start a policy
(:mod:`importwall.starter`) and say what to run next."""

from __future__ import annotations

import argparse
import os

from importwall import exitcodes
from importwall.cli.options import note, path_argument, search_path
from importwall.errors import UsageError
from importwall.policy.discovery import POLICY_FILE
from importwall.policy.loader import PYPROJECT

DESCRIPTION = ("Write a commented importwall.toml (or, with --pyproject, a [tool.importwall] "
               "table) for this project: serving-base and the pack of each framework "
               "installed or listed in pyproject.toml, in audit mode; then print the two "
               "commands to run next: audit, then enforce.")
TABLE = "tool.importwall"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entrypoint", "-e", metavar="MOD[:ATTR]",
                        help="the serving entry point (e.g. myservice.app:app): used for the "
                             "next commands, and to guess first-party training modules")
    parser.add_argument("--pyproject", action="store_true",
                        help=f"write a \\[{TABLE}] table into {PYPROJECT} instead of "
                             f"{POLICY_FILE}")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing policy")
    path_argument(parser, "installed distributions and the entry point's package")


def run(args: argparse.Namespace) -> int:
    from importwall.audit import plan
    from importwall.policy import load_policy
    from importwall.starter import starter_policy, survey, without_table

    if args.entrypoint:
        plan([args.entrypoint], [])  # a usage error for a malformed entry point
    found = survey(os.getcwd(), search_path(args), args.entrypoint)
    if args.pyproject:
        target = os.path.abspath(PYPROJECT)
        existing = _read(target)
        has_table = f"[{TABLE}]" in existing or f"[{TABLE}." in existing
        if has_table and not args.force:
            raise UsageError(f"importwall init: {target} already has a [{TABLE}] table; "
                             "pass --force to replace it")
        kept = without_table(existing, TABLE).rstrip("\n")
        text = (kept + "\n\n" if kept else "") + starter_policy(found, table=TABLE)
    else:
        target = os.path.abspath(POLICY_FILE)
        if os.path.exists(target) and not args.force:
            raise UsageError(f"importwall init: {target} exists; pass --force to replace it")
        text = starter_policy(found)
    _write(target, text)
    policy = load_policy(target, warn=False)  # what was written loads: proven, not hoped
    packs = ", ".join(os.path.basename(f)[:-len(".toml")] for f in policy.files[:-1])
    note(args, f"wrote {os.path.relpath(target)} (extends {packs}; mode {policy.mode})")
    if not args.quiet:
        print(_next_steps(args.entrypoint, os.path.relpath(target)))
    return exitcodes.CLEAN


def _write(path: str, text: str) -> None:
    """Atomically: a reader never sees half a policy, and a failed write leaves the old."""
    import tempfile

    folder = os.path.dirname(path)
    try:
        fd, temporary = tempfile.mkstemp(prefix=".importwall-init-", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        raise UsageError(f"importwall init: cannot write {path}: "
                         f"{error.strerror or error}") from error


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def _next_steps(entrypoint: str | None, target: str) -> str:
    policy = "" if os.path.basename(target) in (POLICY_FILE, PYPROJECT) else f" -p {target}"
    audited = (f"importwall audit{policy} --entrypoint {entrypoint}" if entrypoint
               else f"importwall audit{policy} -- python serve.py    # your server's command")
    server = (f"uvicorn {entrypoint}" if entrypoint and ":" in entrypoint
              else "python serve.py")
    return ("Next:\n"
            f"  1. in staging, record what the service imports that it should not:\n"
            f"       {audited}\n"
            f"  2. when the report is clean, enforce (or set mode = \"enforce\" in {target}):\n"
            f"       importwall run{policy} --mode enforce -- {server}")
