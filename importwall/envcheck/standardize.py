"""``[standardize]``: is this server running what the model was trained with?

Compares this environment with the training fingerprint the policy names (taken by
``importwall fingerprint``, :mod:`importwall.static.fingerprint`): version skew of the
listed packages, a different Python minor version or platform, and inference code that is
not the code the model was trained with.
"""

from __future__ import annotations

import fnmatch
import platform
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from importwall.errors import FingerprintError
from importwall.findings import KIND_STANDARDIZE, Finding
from importwall.policy import Policy
from importwall.runtime.distributions import normalize
from importwall.static.fingerprint import hash_module, read_fingerprint
from importwall.static.metadata import installed_distributions
from importwall.static.sourcefinder import SourceFinder


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


