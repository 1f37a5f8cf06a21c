"""``importwall explain MODULE [--importer MOD]``: which rule decides a module, and why."""

from __future__ import annotations

import argparse
import sys

from importwall import exitcodes
from importwall.cli.options import load_cli_policy, policy_argument
from importwall.errors import UsageError
from importwall.runtime.api import resolve_mode

DESCRIPTION = ("Say whether MODULE may be imported under the policy, which rule decides it, "
               "where that rule is written, and which distribution provides MODULE.")


def configure(parser: argparse.ArgumentParser) -> None:
    policy_argument(parser)
    parser.add_argument("module", metavar="MODULE",
                        help="a dotted module name, e.g. sklearn.model_selection._search")
    parser.add_argument("--importer", metavar="MOD",
                        help="the module doing the import (for importer-aware exceptions)")


def run(args: argparse.Namespace) -> int:
    from importwall.runtime.distributions import top_level_modules
    from importwall.runtime.matcher import Matcher

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
