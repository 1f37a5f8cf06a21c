"""``importwall scan-model PATH...``: model files' opcodes, read without unpickling them
(:mod:`importwall.static.modelscan`)."""

from __future__ import annotations

import argparse
import os

from importwall.cli.options import fail_on_argument, output_arguments, policy_argument
from importwall.cli.output import check_format, optional_policy, write_findings
from importwall.errors import UsageError
from importwall.static.modelscan import MODEL_SUFFIXES, ModelScanner, model_files

DESCRIPTION = ("Read model files without loading them (pickle opcodes are never "
               "unpickled) and put every global they reference in one of four classes: "
               "known-safe, training-only (a GridSearchCV instead of its best estimator, "
               "classes of modules the policy denies), dangerous (code execution, "
               "processes, network, files, imports) and unknown (a warning; an error with "
               "--strict or [models] unknown = \"error\").")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="model files, or folders to search for "
                             + ", ".join(MODEL_SUFFIXES))
    parser.add_argument("--strict", action="store_true",
                        help="report a global that is neither known-safe nor allowed by "
                             "the policy's [models] allow as an error, not a warning")
    policy_argument(parser)
    output_arguments(parser)
    fail_on_argument(parser)


def run(args: argparse.Namespace) -> int:
    missing = [path for path in args.paths if not os.path.exists(path)]
    if missing:
        raise UsageError(f"importwall scan-model: no such file or folder: {', '.join(missing)}")
    policy = optional_policy(args.policy)
    check_format(args, policy)
    files = list(model_files(args.paths))
    findings = ModelScanner(policy, strict=args.strict).scan(files)
    return write_findings(findings, args, policy, f"scanned {len(files)} model file(s)",
                          {"command": "scan-model", "files": files})
