"""Train/serve standardization: record the training environment, compare the server to it.

``importwall fingerprint -o train-env.json`` runs in the training environment and records
the Python version, the platform, every installed distribution's version and a content
hash of the inference modules (pre-process, predict, post-process). The serving policy's
``[standardize]`` section points at that file; :func:`check_standardization` reports
version skew of the listed packages, a different Python minor version or platform, and
inference code that is not the code the model was trained with.

Module sources are located without importing them (:mod:`importwall.sourcefinder`), and
``importlib_metadata`` is imported only when a fingerprint is taken.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import platform
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from importwall.distributions import normalize
from importwall.envcheck.installed import installed_distributions
from importwall.errors import ImportWallError
from importwall.findings import KIND_STANDARDIZE, Finding
from importwall.policy import Policy
from importwall.sourcefinder import SourceFinder

if TYPE_CHECKING:
    from importwall.cli import Registry

FORMAT = "importwall-fingerprint"
FORMAT_VERSION = 1
_SKIPPED_DIRS = ("__pycache__",)


class FingerprintError(ImportWallError):
    """A fingerprint cannot be taken or read."""

    code = "fingerprint-error"


# --------------------------------------------------------------------------- taking one


def _source_files(folder: str) -> Iterable[str]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(root, name)


def _file_hash(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def hash_module(name: str, finder: SourceFinder) -> dict[str, Any]:
    """``{"sha256": ..., "files": {relative path: sha256}}`` for a module or a package's
    whole tree of ``.py`` files; the same files give the same hash on any machine."""
    module = finder.find(name)
    if module is None:
        raise FingerprintError(f"cannot find module {name!r} on the search path; run from "
                               "the project folder or pass --path FOLDER")
    files: dict[str, str] = {}
    if module.is_package:
        for location in module.search_locations:
            for path in _source_files(location):
                relative = os.path.relpath(path, location).replace(os.sep, "/")
                files.setdefault(relative, _file_hash(path))
    elif module.source:
        files[os.path.basename(module.source)] = _file_hash(module.source)
    else:
        raise FingerprintError(f"module {name!r} has no Python source ({module.origin}); "
                               "list the package that holds the inference code")
    combined = hashlib.sha256()
    for relative, digest in sorted(files.items()):
        combined.update(f"{relative}\0{digest}\n".encode())
    return {"sha256": combined.hexdigest(), "files": dict(sorted(files.items()))}


def take_fingerprint(modules: Sequence[str] = (),
                     search_path: Sequence[str] | None = None) -> dict[str, Any]:
    """This environment's fingerprint, as ``importwall fingerprint`` writes it."""
    path = list(sys.path if search_path is None else search_path)
    finder = SourceFinder(path)
    libc = " ".join(part for part in platform.libc_ver() if part)
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "python": {"version": platform.python_version(),
                   "implementation": sys.implementation.name},
        "platform": {"system": platform.system(), "machine": platform.machine(),
                     "release": platform.release(), "libc": libc},
        "distributions": installed_distributions(path),
        "modules": {name: hash_module(name, finder) for name in sorted(set(modules))},
    }


def write_fingerprint(data: Mapping[str, Any], path: str) -> None:
    """Write atomically: a half-written fingerprint would report skew that is not there."""
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".fingerprint-", suffix=".tmp")
    except OSError as error:
        raise FingerprintError(f"{path}: cannot write the fingerprint: {error.strerror}; "
                               "does its folder exist?") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def read_fingerprint(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as error:
        raise FingerprintError(f"{path}: cannot read the fingerprint: {error.strerror}; "
                               "create it in the training environment with `importwall "
                               "fingerprint -o FILE`") from None
    except ValueError as error:
        raise FingerprintError(f"{path}: not a JSON fingerprint: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FingerprintError(f"{path}: not an importwall fingerprint (no "
                               f'"format": "{FORMAT}")')
    if data.get("version") != FORMAT_VERSION:
        raise FingerprintError(f"{path}: fingerprint version {data.get('version')!r}; this "
                               f"importwall reads version {FORMAT_VERSION}")
    return data


# --------------------------------------------------------------------------- comparing


class _Comparison:
    def __init__(self, policy: Policy, trained: Mapping[str, Any], fingerprint_path: str,
                 severity: str) -> None:
        self.policy = policy
        self.trained = trained
        self.path = fingerprint_path
        self.severity = severity
        self.findings: list[Finding] = []

    def add(self, code: str, subject: str, message: str, rule: str,
            severity: str | None = None, **details: Any) -> None:
        self.findings.append(Finding(
            kind=KIND_STANDARDIZE, code=code, severity=severity or self.severity,
            subject=subject, message=message, rule=f"standardize.{rule}",
            source=self.policy.path, details={"fingerprint": self.path, **details}))

    def python(self, mode: str) -> None:
        trained = str(self.trained.get("python", {}).get("version", ""))
        serving = platform.python_version()
        if mode == "ignore" or not trained:
            return
        parts = 2 if mode == "minor" else 3
        if trained.split(".")[:parts] != serving.split(".")[:parts]:
            self.add("standardize-python-skew", "python",
                     f"the model was trained with Python {trained}, this process runs "
                     f"Python {serving}", "python", trained=trained, serving=serving)

    def platform(self) -> None:
        trained = self.trained.get("platform", {})
        for key, serving in (("system", platform.system()), ("machine", platform.machine())):
            value = trained.get(key)
            if value and value != serving:
                self.add("standardize-platform-skew", f"platform.{key}",
                         f"the model was trained on {key} {value}, this process runs on "
                         f"{serving}", "fingerprint", "warning", trained=value,
                         serving=serving)

    def packages(self, patterns: Sequence[str], serving: Mapping[str, str]) -> None:
        trained: Mapping[str, str] = self.trained.get("distributions", {})
        wanted = [normalize(p) for p in patterns]
        for pattern in wanted:
            if not any(fnmatch.fnmatchcase(name, pattern) for name in trained):
                self.add("standardize-package-untracked", pattern,
                         f"{pattern} is listed in [standardize] packages but was not "
                         "installed when the fingerprint was taken", "packages", "warning")
        for name, version in trained.items():
            if not any(fnmatch.fnmatchcase(name, pattern) for pattern in wanted):
                continue
            now = serving.get(name)
            if now is None:
                self.add("standardize-package-missing", name,
                         f"the model was trained with {name} {version}, which is not "
                         "installed here", "packages", trained=version, serving=None)
            elif now != version:
                self.add("standardize-version-skew", name,
                         f"the model was trained with {name} {version}, this process "
                         f"has {name} {now}", "packages", trained=version, serving=now)

    def modules(self, names: Sequence[str], finder: SourceFinder) -> None:
        trained: Mapping[str, Any] = self.trained.get("modules", {})
        for name in names:
            recorded = trained.get(name)
            if recorded is None:
                self.add("standardize-module-untracked", name,
                         f"inference module {name} was not hashed when the fingerprint "
                         f"was taken; add --module {name} there", "modules", "warning")
                continue
            try:
                current = hash_module(name, finder)
            except (FingerprintError, OSError) as error:
                self.add("standardize-module-missing", name, str(error), "modules")
                continue
            if current["sha256"] == recorded.get("sha256"):
                continue
            before: Mapping[str, str] = recorded.get("files", {})
            after: Mapping[str, str] = current["files"]
            changed = sorted(f for f in after if f in before and before[f] != after[f])
            added = sorted(set(after) - set(before))
            removed = sorted(set(before) - set(after))
            what = ", ".join(
                f"{label}: {', '.join(files)}"
                for label, files in (("changed", changed), ("added", added),
                                     ("removed", removed)) if files)
            self.add("standardize-code-changed", name,
                     f"inference code {name} differs from what training used ({what})",
                     "modules", changed=changed, added=added, removed=removed)


def check_standardization(policy: Policy,
                          search_path: Sequence[str] | None = None) -> list[Finding]:
    """Compare this environment with the training fingerprint that ``[standardize]``
    names. No ``fingerprint`` key: nothing to compare, no findings."""
    section = policy.section("standardize")
    path = section.get("fingerprint")
    if not path:
        return []
    severity = str(section.get("severity", "error"))
    try:
        trained = read_fingerprint(str(path))
    except FingerprintError as error:
        return [Finding(kind=KIND_STANDARDIZE, code="standardize-no-fingerprint",
                        severity=severity, subject=str(path), message=str(error),
                        rule="standardize.fingerprint", source=policy.path)]
    search = list(sys.path if search_path is None else search_path)
    comparison = _Comparison(policy, trained, str(path), severity)
    comparison.python(str(section.get("python", "minor")))
    comparison.platform()
    packages = tuple(section.get("packages", ()))
    if packages:
        comparison.packages(packages, installed_distributions(search))
    modules = tuple(section.get("modules", ())) or tuple(sorted(trained.get("modules", {})))
    comparison.modules(modules, SourceFinder(search))
    return comparison.findings


# --------------------------------------------------------------------------- command line


def register(registry: Registry) -> None:
    registry.add(
        "fingerprint", _command, configure=_arguments,
        help="record this environment for train/serve standardization",
        description="Record the Python version, platform, installed distributions and a "
                    "content hash of the inference modules (in the training environment), "
                    "or, with --check, compare this environment with the fingerprint the "
                    "policy's standardize section names and report the differences.")


def _arguments(parser: argparse.ArgumentParser) -> None:
    from importwall.cli import fail_on_argument, policy_argument
    from importwall.reportwriter import FORMATS

    parser.add_argument("--module", action="append", default=[], metavar="PKG",
                        help="an inference module or package to hash (repeatable; default: "
                             "the modules of the policy's standardize section)")
    parser.add_argument("--path", action="append", default=[], metavar="FOLDER",
                        help="put FOLDER first on the search path (repeatable)")
    parser.add_argument("--check", action="store_true",
                        help="compare this environment with the policy's fingerprint")
    policy_argument(parser)
    parser.add_argument("--output", "-o", metavar="PATH",
                        help="where to write the fingerprint, or with --check the report "
                             "('-' for standard output, the default)")
    parser.add_argument("--format", "-f", metavar="FORMAT",
                        help=f"with --check, the report format: {', '.join(FORMATS)}")
    fail_on_argument(parser)


def _command(args: argparse.Namespace) -> int:
    search_path = [*args.path, os.getcwd(), *sys.path[1:]]
    return _check(args, search_path) if args.check else _write(args, search_path)


def _check(args: argparse.Namespace, search_path: list[str]) -> int:
    from importwall._clioutput import check_format, write_findings
    from importwall.cli import load_cli_policy

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
    from importwall import exitcodes
    from importwall._clioutput import optional_policy

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
        print(f"importwall: {args.output}: {len(data['distributions'])} distribution(s), "
              f"{len(data['modules'])} module(s), Python {data['python']['version']}",
              file=sys.stderr)
    return exitcodes.CLEAN
