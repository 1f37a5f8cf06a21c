"""``importwall fingerprint [-o FILE] [--module PKG]... [--check]``: record the training
environment (:mod:`importwall.static.fingerprint`), or compare this one with it
(:mod:`importwall.envcheck.standardize`)."""

from __future__ import annotations

import argparse
import json

from importwall import exitcodes
from importwall.cli.options import (
    fail_on_argument,
    load_cli_policy,
    note,
    path_argument,
    policy_argument,
    search_path,
)
from importwall.cli.output import check_format, optional_policy, write_findings
from importwall.envcheck.standardize import check_standardization
from importwall.errors import FingerprintError
from importwall.static.fingerprint import take_fingerprint, write_fingerprint

DESCRIPTION = ("Record the Python version, platform, installed distributions and a content "
               "hash of the inference modules (in the training environment), or, with "
               "--check, compare this environment with the fingerprint the policy's "
               "standardize section names and report the differences.")


def configure(parser: argparse.ArgumentParser) -> None:
    from importwall.report.writer import FORMATS

    parser.add_argument("--module", action="append", default=[], metavar="PKG",
                        help="an inference module or package to hash (repeatable; default: "
                             "the modules of the policy's standardize section)")
    path_argument(parser, "the inference modules and the installed distributions")
    parser.add_argument("--check", action="store_true",
                        help="compare this environment with the policy's fingerprint")
    policy_argument(parser)
    parser.add_argument("--output", "-o", metavar="PATH",
                        help="where to write the fingerprint, or with --check the report "
                             "('-' for standard output, the default)")
    parser.add_argument("--format", "-f", metavar="FORMAT",
                        help=f"with --check, the report format: {', '.join(FORMATS)}")
    fail_on_argument(parser)


def run(args: argparse.Namespace) -> int:
    where = search_path(args)
    return _check(args, where) if args.check else _write(args, where)


def _check(args: argparse.Namespace, search_path: list[str]) -> int:
    policy = load_cli_policy(args.policy)
    check_format(args, policy)
    fingerprint = policy.section("standardize").get("fingerprint")
    if not fingerprint:
        raise FingerprintError(f"{policy.path}: [standardize] has no fingerprint; add "
                               'fingerprint = "train-env.json" (relative to the policy)')
    findings = check_standardization(policy, search_path)
    return write_findings(findings, args, policy,
                          f"compared this environment with {fingerprint}",
                          {"command": "fingerprint --check", "fingerprint": fingerprint})


def _write(args: argparse.Namespace, search_path: list[str]) -> int:
    modules = list(args.module)
    if not modules:
        policy = optional_policy(args.policy)
        if policy is not None:
            modules = list(policy.section("standardize").get("modules", ()))
    data = take_fingerprint(modules, search_path)
    if args.output in (None, "-"):
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        write_fingerprint(data, args.output)
        note(args, f"wrote {args.output}: {len(data['distributions'])} distribution(s), "
                   f"{len(data['modules'])} module(s), Python {data['python']['version']}")
    return exitcodes.CLEAN
