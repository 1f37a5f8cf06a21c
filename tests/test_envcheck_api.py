"""check_environment() end to end, and check_at_startup in fresh interpreters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from envcheck_helpers import Replay, fixture_root, write_policy
from helpers import REPO, STARTUP_DIR

import importwall
from importwall.envcheck import check_environment
from importwall.envcheck.resources import ResourceFacts
from importwall.errors import EnvironmentRejectedError

CANARY = "s3cr3t-CANARY-7f9a"
STARTUP = [STARTUP_DIR]

FULL_POLICY = """
[environment]
deny = [{ name = "WANDB_*", reason = "experiment tracking" }]
deny_hosts = ["*.internal"]
[gpu]
deny_models = ["A100*"]
[resources]
max_memory_gib = 64
deny_mounts = ["/mnt/warehouse"]
[distributions]
deny = ["optuna"]
"""


def test_every_section_runs_on_a_recorded_training_machine(tmp_path: Path) -> None:
    site = tmp_path / "site" / "optuna-3.6.1.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_text("Metadata-Version: 2.1\nName: optuna\nVersion: 3.6.1\n")
    policy = write_policy(tmp_path, FULL_POLICY)
    environ = {"WANDB_API_KEY": CANARY, "FEATURES_URL": f"https://{CANARY}@fs.internal/x"}
    findings = check_environment(
        policy, environ=environ, root=fixture_root("gpu", "a100"),
        run=Replay.nvidia_smi("a100"), nvml=None,
        facts=ResourceFacts(host_cpus=128, host_memory_bytes=2048 * 2**30),
        search_path=[str(tmp_path / "site")])
    assert sorted(f.code for f in findings) == [
        "distribution-installed", "env-denied-host", "env-denied-variable",
        "gpu-denied-model", "gpu-denied-model", "resources-too-much-memory"]
    dumped = json.dumps([f.to_dict() for f in findings])
    assert CANARY not in dumped and "fs.internal" not in dumped
    assert all(CANARY not in f.message for f in findings)


def test_mounts_are_read_from_the_root(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, '[resources]\ndeny_mounts = ["/mnt/warehouse"]\n')
    findings = check_environment(policy, root=fixture_root("cgroup", "v2"), environ={},
                                 facts=ResourceFacts(host_cpus=2, host_memory_bytes=2**30))
    assert [f.subject for f in findings] == ["/mnt/warehouse"]


def test_sections_the_policy_does_not_have_are_not_run(tmp_path: Path) -> None:
    def explode(argv, timeout):  # pragma: no cover - must not be called
        raise AssertionError("the gpu probe ran")

    policy = write_policy(tmp_path, '[environment]\ndeny = ["WANDB_*"]\n')
    assert check_environment(policy, environ={"PATH": "/bin"}, run=explode) == []


def test_a_crashing_probe_is_an_internal_finding_not_an_exception(tmp_path: Path) -> None:
    def broken(argv, timeout):
        raise RuntimeError("boom")

    policy = write_policy(tmp_path, '[gpu]\ndeny_models = ["A100*"]\n')
    [finding] = check_environment(policy, environ={}, root=str(tmp_path), run=broken,
                                  nvml=None)
    assert (finding.kind, finding.code, finding.severity) == (
        "internal", "internal-error", "warning")
    assert "the gpu check failed: RuntimeError: boom" in finding.message


def test_the_real_probes_on_this_machine(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, FULL_POLICY.replace("max_memory_gib = 64",
                                                        "max_memory_gib = 100000"))
    findings = check_environment(policy, environ={"WANDB_API_KEY": CANARY})
    assert [f.code for f in findings if f.kind == "environment"] == ["env-denied-variable"]
    assert not [f for f in findings if f.kind == "internal"], findings
    assert CANARY not in json.dumps([f.to_dict() for f in findings])


def test_public_api_exports_it() -> None:
    assert "check_environment" in importwall.__all__
    assert importwall.check_environment is check_environment


def test_the_rejection_error_pickles_and_lists_findings(tmp_path: Path) -> None:
    import pickle

    policy = write_policy(tmp_path, '[environment]\ndeny = ["WANDB_*"]\n')
    findings = check_environment(policy, environ={"WANDB_API_KEY": CANARY})
    error = pickle.loads(pickle.dumps(EnvironmentRejectedError(findings)))
    assert error.findings == tuple(findings)
    assert "env-denied-variable: environment variable WANDB_API_KEY is set" in str(error)
    assert CANARY not in str(error)


# ------------------------------------------------------------------ check_at_startup

STARTUP_POLICY = """
check_at_startup = true
[environment]
deny = [
  { name = "WANDB_*", reason = "experiment tracking belongs to training" },
  { name = "MASTER_ADDR", severity = "warning" },
]
deny_networks = ["10.0.0.0/8"]
"""

SERVE = """
import sys
import importwall
firewall = importwall.active()
print("serving", sorted(f.code for f in firewall.findings) if firewall else None)
print("loaded", sorted(m for m in ("importwall.envcheck", "psutil", "importlib_metadata")
                       if m in sys.modules))
"""


def _start(project, policy: str, mode: str, **env: str):
    path = project.policy("version = 1\n" + policy)
    environ = {"IMPORTWALL_POLICY": str(path), "IMPORTWALL_MODE": mode, **env}
    return project.run(SERVE, env=environ, pythonpath=[*STARTUP, project.root])


def test_enforce_refuses_to_start_with_a_clear_message(project) -> None:
    result = _start(project, STARTUP_POLICY, "enforce", WANDB_API_KEY=CANARY,
                    DB_HOST=f"10.4.5.6:{CANARY}")
    assert result.returncode == 1, result.output
    assert "serving" not in result.stdout
    assert "importwall: refusing to start" in result.stderr
    assert "env-denied-variable: environment variable WANDB_API_KEY is set" in result.stderr
    assert "reason: experiment tracking belongs to training" in result.stderr
    assert "env-denied-network: environment variable DB_HOST points into" in result.stderr
    assert "IMPORTWALL_MODE=warn" in result.stderr
    assert CANARY not in result.output


def test_enforce_starts_when_only_warnings_are_found(project) -> None:
    result = _start(project, STARTUP_POLICY, "enforce", MASTER_ADDR="trainer-0")
    assert result.returncode == 0, result.output
    assert "serving ['env-denied-variable']" in result.stdout
    assert "ImportWallWarning: importwall: environment variable MASTER_ADDR" in result.stderr


def test_warn_mode_starts_and_warns(project) -> None:
    result = _start(project, STARTUP_POLICY, "warn", WANDB_API_KEY=CANARY)
    assert result.returncode == 0, result.output
    assert "serving ['env-denied-variable']" in result.stdout
    assert "WANDB_API_KEY is set" in result.stderr
    assert CANARY not in result.output


def test_audit_mode_only_records(project) -> None:
    result = _start(project, STARTUP_POLICY, "audit", WANDB_API_KEY=CANARY)
    assert result.returncode == 0, result.output
    assert "serving ['env-denied-variable']" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(("policy", "loaded"), [
    ("[environment]\ndeny = ['WANDB_*']\n", "[]"),  # no check_at_startup: nothing extra
    (STARTUP_POLICY, "['importwall.envcheck']"),  # env vars need neither psutil nor metadata
])
def test_the_checks_are_imported_only_when_asked(project, policy: str, loaded: str) -> None:
    result = _start(project, policy, "enforce")
    assert result.returncode == 0, result.output
    assert f"loaded {loaded}" in result.stdout


def test_the_documented_example_policy_loads(tmp_path: Path) -> None:
    text = (REPO / "docs" / "environment.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "serving.toml"
    path.write_text(example, encoding="utf-8")
    policy = importwall.load_policy(path)
    assert policy.check_at_startup
    assert set(policy.sections) == {"environment", "gpu", "resources", "distributions"}
    assert policy.section("gpu")["nvidia_smi_timeout"] == 5


def test_activate_raises_and_installs_nothing_when_rejected(project) -> None:
    path = project.policy("version = 1\n" + STARTUP_POLICY)
    result = project.run(f"""
        import importwall
        try:
            importwall.activate({str(path)!r}, mode="enforce")
        except importwall.EnvironmentRejectedError as error:
            print("rejected", [f.subject for f in error.findings], error.code)
        print("active", importwall.active())
        firewall = importwall.activate({str(path)!r}, mode="audit")
        print("audit", [f.code for f in firewall.findings])
    """, env={"WANDB_API_KEY": CANARY})
    assert result.returncode == 0, result.output
    assert "rejected ['WANDB_API_KEY'] environment-rejected" in result.stdout
    assert "active None" in result.stdout
    assert "audit ['env-denied-variable']" in result.stdout
    assert CANARY not in result.output
