"""The shipped policy packs: they load cleanly, every rule says why, and they compose."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from importwall.policy import Policy, Rule, load_policy, pack_names, packs_dir
from importwall.runtime.matcher import Matcher

PACKS = ("serving-base", "sklearn", "xgboost-lightgbm-catboost", "pytorch", "tensorflow-keras",
         "huggingface", "mlflow")


def _pack_file(name: str) -> str:
    return str(Path(packs_dir(), f"{name}.toml"))


def _rules(policy: Policy) -> list[Rule]:
    imports = policy.imports
    found = [*imports.deny, *imports.allow, *imports.deny_distributions]
    for values in policy.sections.values():
        for value in values.values():
            if isinstance(value, tuple):
                found.extend(item for item in value if isinstance(item, Rule))
    return found


def test_the_documented_packs_are_shipped() -> None:
    assert set(PACKS) <= set(pack_names())


@pytest.mark.parametrize("name", PACKS)
def test_pack_loads_by_name_without_warnings(name: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        policy = load_policy(name)
    assert caught == []
    assert policy.warnings == ()
    assert policy.path == _pack_file(name)
    assert Matcher.from_policy(policy).rule_count > 0


@pytest.mark.parametrize("name", PACKS)
def test_every_rule_and_exception_has_a_reason(name: str) -> None:
    policy = load_policy(name)
    missing = [rule.source for rule in _rules(policy) if not (rule.reason or "").strip()]
    missing += [exception.source for exception in policy.imports.exceptions
                if not (exception.reason or "").strip()]
    assert missing == []


def test_serving_base_covers_every_kind_of_training_tool() -> None:
    matcher = Matcher.from_policy(load_policy("serving-base"))
    for module in ("optuna", "ray.tune.search", "ray.train", "wandb", "tensorboardX",
                   "IPython.core", "jupyter_client", "papermill", "matplotlib.pyplot",
                   "pyspark.sql", "google.cloud.bigquery", "snowflake.connector", "trino"):
        decision = matcher.decide(module)
        assert decision is not None and decision.denied, module
    for module in ("ray.serve", "google.cloud.storage", "numpy", "fastapi"):
        assert matcher.decide(module) is None, module
    policy = load_policy("serving-base")
    assert {r.pattern for r in policy.section("environment")["deny"]} >= {
        "WANDB_*", "SNOWFLAKE_*", "TF_CONFIG", "MASTER_ADDR", "SM_TRAINING_ENV"}
    assert {r.pattern for r in policy.section("gpu")["deny_models"]} >= {"A100*", "H100*"}


@pytest.mark.parametrize(("pack", "bases"), [
    ("sklearn", ["serving-base"]),
    ("xgboost-lightgbm-catboost", ["serving-base", "sklearn"]),
    ("pytorch", ["serving-base"]),
    ("huggingface", ["serving-base", "pytorch"]),
    ("tensorflow-keras", ["serving-base"]),
    ("mlflow", ["serving-base"]),
])
def test_framework_packs_extend_their_bases(pack: str, bases: list[str]) -> None:
    policy = load_policy(pack)
    assert policy.files == tuple(_pack_file(name) for name in [*bases, pack])
    matcher = Matcher.from_policy(policy)
    decision = matcher.decide("optuna")
    assert decision is not None and decision.denied


def test_packs_compose_in_a_user_policy(tmp_path: Path) -> None:
    user = tmp_path / "importwall.toml"
    user.write_text(
        'version = 1\nextends = ["serving-base", "xgboost-lightgbm-catboost", "mlflow"]\n'
        "[imports]\n"
        'allow = [{ module = "matplotlib", reason = "this service renders charts" }]\n'
        'deny = [{ module = "myservice.training", reason = "our training code" }]\n',
        encoding="utf-8")
    policy = load_policy(user)
    # serving-base is reached three ways and merged once.
    assert policy.files.count(_pack_file("serving-base")) == 1
    assert policy.files[-1] == str(user)
    matcher = Matcher.from_policy(policy)
    allowed = matcher.decide("matplotlib.pyplot")
    assert allowed is not None and not allowed.denied  # the extending file wins the tie
    for module in ("myservice.training", "sklearn.model_selection", "xgboost.dask",
                   "mlflow.tracking", "wandb"):
        decision = matcher.decide(module)
        assert decision is not None and decision.denied, module
    assert matcher.exception_for("sklearn.model_selection", "lightgbm.compat") is not None
    assert matcher.exception_for("sklearn.model_selection", "myservice.app") is None
    assert matcher.exception_for("mlflow.tracking", "mlflow.artifacts") is not None


@pytest.mark.parametrize(("pack", "module", "importer"), [
    ("sklearn", "sklearn.model_selection", "sklearn.linear_model._coordinate_descent"),
    ("xgboost-lightgbm-catboost", "sklearn.model_selection", "xgboost.compat"),
    ("pytorch", "torch.optim", "torch"),
    ("pytorch", "torch.distributed", "torch.utils.data.dataloader"),
    ("huggingface", "accelerate", "transformers.integrations.accelerate"),
    ("mlflow", "mlflow.tracking", "mlflow"),
    ("tensorflow-keras", "keras.callbacks", "keras._tf_keras.keras"),
])
def test_trap_exceptions_name_the_library_never_first_party_code(
        pack: str, module: str, importer: str) -> None:
    matcher = Matcher.from_policy(load_policy(pack))
    decision = matcher.decide(module)
    assert decision is not None and decision.denied
    assert matcher.exception_for(module, importer) is not None
    for first_party in ("app", "serving.handlers", "__main__"):
        assert matcher.exception_for(module, first_party) is None
