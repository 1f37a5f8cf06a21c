"""[environment]: denied variable names, and values pointing into denied hosts/networks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from envcheck_helpers import write_policy

from importwall.envcheck.envvars import check_variables
from importwall.envcheck.networks import hosts_in

POLICY = """
[environment]
deny = [
  { name = "WANDB_*", reason = "experiment tracking belongs to training" },
  { name = "SNOWFLAKE_*", reason = "warehouse credentials" },
  { name = "MASTER_ADDR", severity = "warning", reason = "distributed training rendezvous" },
  { name = "HF_TOKEN", severity = "info" },
]
allow = ["WANDB_MODE"]
deny_hosts = ["*.internal", "warehouse.corp.example.com"]
deny_networks = [{ network = "10.0.0.0/8", reason = "the training VPC" }, "fd00::/8"]
"""


@pytest.fixture
def section(tmp_path: Path):
    return write_policy(tmp_path, POLICY).section("environment")


def codes(findings):
    return {(f.subject, f.code, f.severity) for f in findings}


def test_denied_names_carry_the_rule_severity_and_reason(section) -> None:
    env = {"WANDB_API_KEY": "k", "MASTER_ADDR": "trainer-0", "HF_TOKEN": "t", "PATH": "/bin",
           "WANDB_MODE": "disabled"}
    findings = check_variables(section, env)
    assert codes(findings) == {
        ("WANDB_API_KEY", "env-denied-variable", "error"),
        ("MASTER_ADDR", "env-denied-variable", "warning"),
        ("HF_TOKEN", "env-denied-variable", "info"),
    }
    wandb = next(f for f in findings if f.subject == "WANDB_API_KEY")
    assert wandb.reason == "experiment tracking belongs to training"
    assert wandb.rule == "'WANDB_*'"
    assert wandb.source and wandb.source.endswith("policy.toml:5")


@pytest.mark.parametrize(("value", "code"), [
    ("postgresql://svc:pw@db.internal:5432/features", "env-denied-host"),
    ("http://10.12.0.7:5000", "env-denied-network"),
    ("broker-1.internal:9092,broker-2.internal:9092", "env-denied-host"),
    ("host=warehouse.corp.example.com port=5432 dbname=x", "env-denied-host"),
    ("jdbc:snowflake://eu.warehouse.corp.example.com/?db=ml", "env-denied-host"),
    ("[fd00::12]:8080", "env-denied-network"),
    ("10.0.3.4", "env-denied-network"),
])
def test_values_pointing_into_denied_places(section, value: str, code: str) -> None:
    findings = check_variables(section, {"FEATURE_STORE": value})
    assert codes(findings) == {("FEATURE_STORE", code, "error")}


@pytest.mark.parametrize("value", [
    "https://models.example.com/v1", "192.168.1.10:80", "internal", "not.internal.example.com",
    "8080", "/var/lib/model.bin", "",
])
def test_values_elsewhere_are_fine(section, value: str) -> None:
    assert check_variables(section, {"SOMETHING": value}) == []


def test_allowed_names_are_exempt_from_value_checks_too(section) -> None:
    assert check_variables(section, {"WANDB_MODE": "http://10.0.0.1"}) == []


def test_a_denied_name_with_a_denied_value_reports_both(section) -> None:
    findings = check_variables(section, {"MASTER_ADDR": "10.1.2.3"})
    assert codes(findings) == {("MASTER_ADDR", "env-denied-variable", "warning"),
                               ("MASTER_ADDR", "env-denied-network", "error")}


CANARY = "s3cr3t-CANARY-7f9a"


def test_no_value_leaks_into_findings(section) -> None:
    env = {
        "WANDB_API_KEY": CANARY,
        "DATABASE_URL": f"postgresql://user:{CANARY}@db.internal:5432/{CANARY}",
        "TRAINING_PEERS": f"10.9.9.9:{CANARY}",
    }
    findings = check_variables(section, env)
    assert {f.subject for f in findings} == set(env)
    dumped = json.dumps([f.to_dict() for f in findings])
    assert CANARY not in dumped
    # not even the parts of a value: its host, user or address
    for part in ("db.internal", "10.9.9.9", "postgresql", "user"):
        assert part not in dumped


def test_hosts_in_understands_common_shapes() -> None:
    value = ("redis://:pw@cache.internal:6379/0 amqp://u@[fd00::1]:5672 "
             "kafka-0.internal:9092;kafka-1.internal:9092 user@10.0.0.5")
    assert list(hosts_in(value)) == ["cache.internal", "fd00::1", "kafka-0.internal",
                                     "kafka-1.internal", "10.0.0.5"]


def test_bad_networks_and_mount_paths_are_policy_errors(tmp_path: Path) -> None:
    from importwall.errors import PolicyError

    with pytest.raises(PolicyError) as caught:
        write_policy(tmp_path, """
            [environment]
            deny_networks = ["10.0.0.0/33"]
            [resources]
            deny_mounts = ["mnt/warehouse"]
        """)
    problems = caught.value.problems
    assert len(problems) == 2
    assert "policy.toml:4: environment.deny_networks[0]: '10.0.0.0/33' is not a network" in (
        problems[0])
    assert "resources.deny_mounts[0]: 'mnt/warehouse' is not an absolute path" in problems[1]
