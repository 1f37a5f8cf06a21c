"""[resources]: container-aware CPUs and memory from cgroup files, connections to denied
networks, denied mounts; recorded cgroup v1 and v2 roots."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from envcheck_helpers import fixture_root, write_policy

from importwall.envcheck import cgroup, mounts, resources

GIB = 2**30


@pytest.mark.parametrize(("name", "cpus", "cpuset", "memory", "versions"), [
    ("v2", 4.0, 16, 16 * GIB, (2,)),
    ("v2-nested", 2.5, None, 4 * GIB, (2,)),  # the limit sits on the pod, a parent
    ("v1", 2.0, 8, 8 * GIB, (1,)),
    ("v1-unlimited", None, None, None, (1, 2)),
])
def test_cgroup_limits(name: str, cpus, cpuset, memory, versions) -> None:
    limits = cgroup.read_limits(fixture_root("cgroup", name))
    assert limits == cgroup.CgroupLimits(cpus, cpuset, memory, versions)


def test_no_cgroup_files_means_no_limits(tmp_path: Path) -> None:
    assert cgroup.read_limits(str(tmp_path)) == cgroup.CgroupLimits()


def test_effective_cpus_is_the_tightest_of_host_affinity_cpuset_and_quota() -> None:
    limits = cgroup.CgroupLimits(cpus=2.5, cpuset=8)
    assert cgroup.effective_cpus(limits, host_cpus=96, affinity=12) == 2.5
    assert cgroup.effective_cpus(cgroup.CgroupLimits(cpuset=8), 96, 12) == 8
    assert cgroup.effective_cpus(cgroup.CgroupLimits(), 96, 12) == 12
    assert cgroup.effective_cpus(cgroup.CgroupLimits(), 96, None) == 96


def test_mountinfo_parsing_unescapes_mount_points() -> None:
    found = {m.mount_point: m for m in mounts.read_mountinfo(fixture_root("cgroup", "v2"))}
    assert found["/mnt/warehouse"].fstype == "nfs4"
    assert found["/mnt/feature store"].fstype == "fuse.gcsfuse"
    assert found["/models"].root.startswith("/var/lib/kubelet/pods/")


POLICY = """
[resources]
max_cpus = 8
max_memory_gib = 32
severity = "warning"
deny_networks = [{ network = "10.20.0.0/16", reason = "the data warehouse subnet" }]
deny_mounts = [{ path = "/mnt/warehouse", reason = "raw training data" }, "/mnt/feature*"]
"""


@pytest.fixture
def section(tmp_path: Path):
    return write_policy(tmp_path, POLICY).section("resources")


def _facts(name: str, **kwargs) -> resources.ResourceFacts:
    kwargs.setdefault("host_cpus", 96)
    kwargs.setdefault("host_memory_bytes", 1024 * GIB)
    return resources.ResourceFacts(limits=cgroup.read_limits(fixture_root("cgroup", name)),
                                   **kwargs)


def test_a_limited_container_on_a_big_host_passes(section) -> None:
    assert resources.check_resources(section, _facts("v2")) == []
    assert resources.check_resources(section, _facts("v1", affinity_cpus=96)) == []


def test_an_unlimited_training_host_is_reported_with_its_real_figures(section) -> None:
    findings = resources.check_resources(section, _facts("v1-unlimited", affinity_cpus=64))
    assert [(f.code, f.severity) for f in findings] == [
        ("resources-too-many-cpus", "warning"), ("resources-too-much-memory", "warning")]
    assert "64 CPUs (CPU affinity)" in findings[0].message
    assert "1024.0 GiB of memory (host total, no cgroup limit)" in findings[1].message


def test_connections_into_denied_networks(section) -> None:
    facts = _facts("v2", connections=(("10.20.30.40", 2049), ("10.21.0.1", 443),
                                      ("::1", 8080)))
    [finding] = resources.check_resources(section, facts)
    assert finding.code == "resources-denied-connection"
    assert finding.subject == "10.20.30.40:2049"
    assert finding.reason == "the data warehouse subnet"


def test_denied_mounts(section) -> None:
    found = mounts.check_mounts(section, mounts.read_mountinfo(fixture_root("cgroup", "v2")))
    assert [(f.subject, f.rule, f.reason) for f in found] == [
        ("/mnt/feature store", "'/mnt/feature*'", None),
        ("/mnt/warehouse", "'/mnt/warehouse'", "raw training data")]


def test_the_real_probes_on_this_machine(section) -> None:
    """psutil and this host's cgroup files, including a connection this test opens to a
    local listener, so the connection listing is exercised for real."""
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    try:
        facts = resources.gather("/")
        assert ("127.0.0.1", server.getsockname()[1]) in facts.connections
    finally:
        client.close()
        server.close()
    assert facts.host_cpus >= 1 and facts.host_memory_bytes > 0
    assert 0 < facts.cpus <= facts.host_cpus
    assert 0 < facts.memory_bytes <= facts.host_memory_bytes
    resources.check_resources(section, facts)  # runs; the verdict depends on the host
