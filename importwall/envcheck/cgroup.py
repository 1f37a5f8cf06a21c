"""What the container really grants: CPU quota, cpuset and memory limit from cgroup v2
(``cpu.max``, ``cpuset.cpus.effective``, ``memory.max``) and v1 (``cpu.cfs_quota_us`` /
``cpu.cfs_period_us``, ``cpuset.cpus``, ``memory.limit_in_bytes``).

The cgroup of this process is read from ``/proc/self/cgroup`` and located through
``/proc/self/mountinfo``; limits are the tightest along the path from that cgroup up to
the mount (a limit can be set on a parent). Hybrid hosts (v1 controllers plus a v2
``unified`` mount) contribute from both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from importwall.envcheck.mounts import Mount, read_mountinfo

# v1 writes "no limit" as the largest page-aligned signed 64-bit value.
_V1_UNLIMITED = 2**62


@dataclass(frozen=True)
class CgroupLimits:
    """``None`` where no limit is set (or no cgroup file could be read)."""

    cpus: float | None = None
    """CPUs the quota allows (quota / period)."""
    cpuset: int | None = None
    """CPUs in the cgroup's cpuset."""
    memory_bytes: int | None = None
    versions: tuple[int, ...] = ()


def read_limits(root: str = "/") -> CgroupLimits:
    memberships = _memberships(_read(root, "proc/self/cgroup") or "")
    mounts = read_mountinfo(root)
    cpus: list[float] = []
    cpusets: list[int] = []
    memory: list[int] = []
    versions = set()
    for mount in mounts:
        if mount.fstype == "cgroup2" and "" in memberships:
            folders = _folders(root, mount, memberships[""])
            versions.add(2)
            cpus += [q for f in folders if (q := _v2_cpu(_read(f, "cpu.max"))) is not None]
            cpusets += [n for f in folders
                        if (n := _cpu_count(_read(f, "cpuset.cpus.effective"))) is not None]
            memory += [m for f in folders if (m := _int(_read(f, "memory.max"))) is not None]
        elif mount.fstype == "cgroup":
            controllers = set(mount.super_options)
            path = next((p for names, p in memberships.items()
                         if controllers & set(names.split(",")) - {""}), None)
            if path is None:
                continue
            folders = _folders(root, mount, path)
            versions.add(1)
            if "cpu" in controllers:
                cpus += [q for f in folders if (q := _v1_cpu(f)) is not None]
            if "cpuset" in controllers:
                cpusets += [n for f in folders
                            if (n := _cpu_count(_read(f, "cpuset.cpus"))) is not None]
            if "memory" in controllers:
                memory += [m for f in folders
                           if (m := _int(_read(f, "memory.limit_in_bytes"))) is not None
                           and m < _V1_UNLIMITED]
    return CgroupLimits(min(cpus, default=None), min(cpusets, default=None),
                        min(memory, default=None), tuple(sorted(versions)))


def _memberships(text: str) -> dict[str, str]:
    """``controllers -> cgroup path`` from ``/proc/self/cgroup`` (v2's controllers: "")."""
    found = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            found[parts[1]] = parts[2]
    return found


def _folders(root: str, mount: Mount, path: str) -> list[str]:
    """The cgroup's folder and its parents up to the mount, as seen under ``root``."""
    relative = path
    if mount.root != "/" and (path == mount.root or path.startswith(mount.root + "/")):
        relative = path[len(mount.root):]
    elif mount.root != "/":
        relative = "/"  # a namespaced view: this process sits at the mount itself
    parts = [p for p in relative.split("/") if p and p != ".."]
    base = os.path.join(root, mount.mount_point.lstrip("/"))
    return [os.path.join(base, *parts[:depth]) for depth in range(len(parts), -1, -1)]


def _read(folder: str, name: str) -> str | None:
    try:
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _v2_cpu(text: str | None) -> float | None:
    """``cpu.max``: ``"max 100000"`` (no limit) or ``"200000 100000"`` (2 CPUs)."""
    parts = (text or "").split()
    if len(parts) != 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]) / int(parts[1]) if int(parts[1]) else None


def _v1_cpu(folder: str) -> float | None:
    quota = (_read(folder, "cpu.cfs_quota_us") or "").strip()
    period = _int(_read(folder, "cpu.cfs_period_us"))
    if not quota.isdigit() or not period:  # -1 means no quota
        return None
    return int(quota) / period


def _cpu_count(text: str | None) -> int | None:
    """CPUs in a cpuset list such as ``0-3,8,10-11``."""
    if not text:
        return None
    count = 0
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            return None
        count += int(high) - int(low) + 1 if high else 1
    return count


def effective_cpus(limits: CgroupLimits, host_cpus: int, affinity: int | None) -> float:
    """CPUs this process can really use: the least of host, affinity, cpuset and quota."""
    candidates = [float(host_cpus)]
    candidates += [float(n) for n in (affinity, limits.cpuset) if n]
    if limits.cpus:
        candidates.append(limits.cpus)
    return min(candidates)
