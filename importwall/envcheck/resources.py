"""``[resources]``: CPU, memory and network of this process, as the container grants them.

:class:`ResourceFacts` is gathered once (psutil, imported lazily, plus the cgroup files)
and checked against the policy; tests build facts from recorded files instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from importwall.envcheck.cgroup import CgroupLimits, effective_cpus, read_limits
from importwall.envcheck.networks import address, network_rule
from importwall.envcheck.rules import label
from importwall.findings import KIND_RESOURCES, Finding
from importwall.policy import Rule

if TYPE_CHECKING:
    from importwall.policy.sections import ResourcesSection

GIB = 2**30


@dataclass(frozen=True)
class ResourceFacts:
    host_cpus: int
    host_memory_bytes: int
    affinity_cpus: int | None = None
    limits: CgroupLimits = field(default_factory=CgroupLimits)
    connections: tuple[tuple[str, int], ...] = ()
    """Remote ``(address, port)`` of this process's open internet connections."""
    notes: tuple[str, ...] = ()

    @property
    def cpus(self) -> float:
        return effective_cpus(self.limits, self.host_cpus, self.affinity_cpus)

    @property
    def memory_bytes(self) -> int:
        limit = self.limits.memory_bytes
        return min(self.host_memory_bytes, limit) if limit else self.host_memory_bytes


def gather(root: str = "/", with_connections: bool = True) -> ResourceFacts:
    """Facts about this process from psutil and the cgroup files under ``root``."""
    import psutil

    notes = []
    connections: list[tuple[str, int]] = []
    if with_connections:
        try:
            connections = _remote_ends(psutil.Process())
        except (psutil.Error, OSError) as error:
            notes.append(f"open connections could not be listed: {type(error).__name__}")
    affinity: int | None = None
    if hasattr(os, "sched_getaffinity"):
        affinity = len(os.sched_getaffinity(0))
    return ResourceFacts(host_cpus=psutil.cpu_count() or 1,
                         host_memory_bytes=int(psutil.virtual_memory().total),
                         affinity_cpus=affinity, limits=read_limits(root),
                         connections=tuple(connections), notes=tuple(notes))


def _remote_ends(process: Any) -> list[tuple[str, int]]:
    # psutil 6 renamed connections() to net_connections().
    list_connections = getattr(process, "net_connections", None) or process.connections
    ends = []
    for connection in list_connections(kind="inet"):
        if connection.raddr:
            ends.append((str(connection.raddr[0]), int(connection.raddr[1])))
    return sorted(set(ends))


def check_resources(section: ResourcesSection, facts: ResourceFacts) -> list[Finding]:
    """Findings for ``max_cpus``, ``max_memory_gib`` and ``deny_networks``."""
    severity = section.get("severity", "error")
    findings = []
    max_cpus = section.get("max_cpus")
    if max_cpus is not None and facts.cpus > max_cpus:
        findings.append(Finding(
            kind=KIND_RESOURCES, code="resources-too-many-cpus", severity=severity,
            subject=f"{facts.cpus:g} CPUs", rule=f"max_cpus = {max_cpus:g}",
            message=f"this process can use {facts.cpus:g} CPUs ({_cpu_origin(facts)}); the "
                    f"policy allows at most {max_cpus:g}: is this a training machine?",
            details={"cpus": facts.cpus, "host_cpus": facts.host_cpus,
                     "affinity_cpus": facts.affinity_cpus, "quota_cpus": facts.limits.cpus,
                     "cpuset_cpus": facts.limits.cpuset}))
    max_memory = section.get("max_memory_gib")
    if max_memory is not None and facts.memory_bytes > max_memory * GIB:
        gib = facts.memory_bytes / GIB
        origin = "cgroup limit" if facts.limits.memory_bytes else "host total, no cgroup limit"
        findings.append(Finding(
            kind=KIND_RESOURCES, code="resources-too-much-memory", severity=severity,
            subject=f"{gib:.1f} GiB", rule=f"max_memory_gib = {max_memory:g}",
            message=f"this process can use {gib:.1f} GiB of memory ({origin}); the policy "
                    f"allows at most {max_memory:g} GiB",
            details={"memory_bytes": facts.memory_bytes,
                     "host_memory_bytes": facts.host_memory_bytes,
                     "cgroup_memory_bytes": facts.limits.memory_bytes}))
    networks: Sequence[Rule] = section.get("deny_networks", ())
    for host, port in facts.connections if networks else ():
        ip = address(host)
        rule = network_rule(ip, networks) if ip is not None else None
        if rule is None:
            continue
        findings.append(Finding(
            kind=KIND_RESOURCES, code="resources-denied-connection", severity=rule.severity,
            subject=f"{host}:{port}", rule=label(rule), reason=rule.reason, source=rule.source,
            message=f"this process has a connection open to {host}:{port}: forbidden by "
                    f"rule {label(rule)}",
            details={"address": host, "port": port}))
    return findings


def _cpu_origin(facts: ResourceFacts) -> str:
    if facts.limits.cpus is not None and facts.cpus == facts.limits.cpus:
        return "cgroup CPU quota"
    if facts.limits.cpuset is not None and facts.cpus == facts.limits.cpuset:
        return "cgroup cpuset"
    if facts.affinity_cpus is not None and facts.cpus == facts.affinity_cpus:
        return "CPU affinity"
    return "host CPUs, no cgroup limit"
