"""``importwall check [POLICY] [--show] [--schema]``: validate a policy and every file it
extends, or print the policy file's JSON Schema."""

from __future__ import annotations

import argparse
import json

from importwall import exitcodes
from importwall.cli.options import load_cli_policy
from importwall.errors import UsageError

DESCRIPTION = "Validate POLICY and every file it extends; list every problem at once."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("policy", metavar="POLICY", nargs="?",
                        help="policy file or shipped pack name (default: discovered as for "
                             "every command)")
    # The spelling every other command uses, so that `check -p POLICY` works too.
    parser.add_argument("--policy", "-p", dest="policy_option", metavar="POLICY",
                        help="the same as POLICY")
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
    if args.policy and args.policy_option and args.policy != args.policy_option:
        raise UsageError("importwall check: give the policy once, as POLICY or --policy")
    policy = load_cli_policy(args.policy or args.policy_option)
    if args.show:
        print(json.dumps(policy.to_dict(), indent=2))
    else:
        rules = len(policy.imports.deny) + len(policy.imports.allow)
        if not args.quiet:  # the answer: on standard output, like --show's
            print(f"{policy.path}: ok ({len(policy.files)} file(s), {rules} import rule(s), "
                  f"{len(policy.imports.exceptions)} exception(s))")
    return exitcodes.CLEAN
