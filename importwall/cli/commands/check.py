"""``importwall check [POLICY...] [--show] [--schema]``: validate a policy and every file it
extends, or print the policy file's JSON Schema."""

from __future__ import annotations

import argparse
import json
import sys

from importwall import exitcodes
from importwall.cli.options import load_cli_policy
from importwall.errors import ImportWallError, UsageError
from importwall.policy import Policy

DESCRIPTION = "Validate POLICY and every file it extends; list every problem at once."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("policies", metavar="POLICY", nargs="*",
                        help="policy files or shipped pack names, each checked with every "
                             "file it extends (default: the policy discovered as for every "
                             "command)")
    # The spelling every other command uses, so that `check -p POLICY` works too.
    parser.add_argument("--policy", "-p", dest="policy_option", metavar="POLICY",
                        help="the same as one POLICY")
    parser.add_argument("--show", action="store_true",
                        help="print the resolved, merged policy as JSON")
    parser.add_argument("--schema", action="store_true",
                        help="print the policy file's JSON Schema, for editors (taplo, Even "
                             "Better TOML), and exit; no policy is read")


def run(args: argparse.Namespace) -> int:
    if args.schema:
        from importwall.policy.json_schema import policy_json_schema_text

        print(policy_json_schema_text(), end="")
        return exitcodes.CLEAN
    references = list(dict.fromkeys([*args.policies, *filter(None, [args.policy_option])]))
    if args.show and len(references) > 1:
        raise UsageError("importwall check: --show prints one policy; name one")
    if len(references) <= 1:  # errors go to main, which prints them and exits 2
        _check(load_cli_policy(references[0] if references else None), args)
        return exitcodes.CLEAN
    # Several files (a pre-commit hook passes every changed policy): check them all,
    # then fail if any failed.
    status = exitcodes.CLEAN
    for reference in references:
        try:
            _check(load_cli_policy(reference), args)
        except ImportWallError as error:
            message = str(error)
            print(message if message.startswith("importwall") else f"importwall: {message}",
                  file=sys.stderr)
            status = exitcodes.USAGE
    return status


def _check(policy: Policy, args: argparse.Namespace) -> None:
    if args.show:
        print(json.dumps(policy.to_dict(), indent=2))
    elif not args.quiet:  # the answer: on standard output, like --show's
        rules = len(policy.imports.deny) + len(policy.imports.allow)
        print(f"{policy.path}: ok ({len(policy.files)} file(s), {rules} import rule(s), "
              f"{len(policy.imports.exceptions)} exception(s))")
