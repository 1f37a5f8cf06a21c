"""``[resources] deny_mounts``: file systems mounted into this process's view, from
``/proc/self/mountinfo`` (the mount points as the process sees them, inside a container
too)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from importwall.envcheck.rules import label
from importwall.findings import KIND_RESOURCES, Finding
from importwall.policy import Rule

if TYPE_CHECKING:
    from importwall.policy.sections import ResourcesSection


@dataclass(frozen=True)
class Mount:
    """One line of ``mountinfo`` (proc(5)): what is mounted where."""

    root: str
    """The folder of the source file system that is mounted (a cgroup's path, a bind)."""
    mount_point: str
    fstype: str
    source: str
    super_options: tuple[str, ...]


def read_mountinfo(root: str = "/") -> list[Mount]:
    """The mounts of this process; ``[]`` when ``/proc`` cannot be read."""
    try:
        with open(os.path.join(root, "proc/self/mountinfo"), encoding="utf-8",
                  errors="replace") as handle:
            text = handle.read()
    except OSError:
        return []
    return parse_mountinfo(text)


def parse_mountinfo(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        before, sep, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if not sep or len(fields) < 5 or len(tail) < 2:
            continue
        mounts.append(Mount(_unescape(fields[3]), _unescape(fields[4]), tail[0],
                            _unescape(tail[1]), tuple(tail[2].split(",")) if len(tail) > 2
                            else ()))
    return mounts


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes (``\\040``)."""
    if "\\" not in field:
        return field
    return field.encode("latin-1").decode("unicode_escape").encode("latin-1").decode(
        "utf-8", "replace")


def check_mounts(section: ResourcesSection, mounts: Sequence[Mount]) -> list[Finding]:
    """Findings for mount points at or under a ``deny_mounts`` path (globs allowed)."""
    rules: Sequence[Rule] = section.get("deny_mounts", ())
    findings = []
    for mount in sorted(mounts, key=lambda m: m.mount_point):
        rule = next((r for r in rules if _covers(r.pattern, mount.mount_point)), None)
        if rule is None:
            continue
        findings.append(Finding(
            kind=KIND_RESOURCES, code="resources-denied-mount", severity=rule.severity,
            subject=mount.mount_point, rule=label(rule), reason=rule.reason,
            source=rule.source,
            message=f"{mount.mount_point} is mounted ({mount.fstype}): forbidden by rule "
                    f"{label(rule)}",
            details={"mount_point": mount.mount_point, "fstype": mount.fstype}))
    return findings


def _covers(pattern: str, path: str) -> bool:
    pattern = pattern.rstrip("/") or "/"
    return (fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern + "/*")
            or path.startswith(pattern + "/"))
