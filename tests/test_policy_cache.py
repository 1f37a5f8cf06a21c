"""The compiled-policy cache (importwall/policy/cache.py): a hit is the same policy as a
fresh load, any change to any file of the ``extends`` chain is a miss, and a corrupt,
stale, foreign or unwritable cache falls back to parsing without breaking or weakening
anything."""

from __future__ import annotations

import marshal
import os
import time
from pathlib import Path

import pytest
from helpers import STARTUP_DIR, run_python

from importwall import PolicyError, PolicyWarning, load_policy
from importwall.policy import cache
from importwall.policy.loader import policy_from_data, policy_to_data
from importwall.policy.packs import packs_dir

BASE = """\
version = 1
[imports]
deny = [
    { module = "optuna", reason = "tuning is training-only" },
    { module = "sklearn.model_selection", reason = "splitting" },
]
[[imports.exceptions]]
module = "sklearn.model_selection"
importer = "sklearn"
[environment]
deny = ["WANDB_*"]
"""
SERVICE = """\
version = 1
extends = ["./base.toml", "serving-base"]
mode = "warn"
[imports]
allow = ["optuna.visualization"]
[gpu]
deny_models = [{ model = "A100*", reason = "training GPU" }]
[report]
data_dir = "records"
"""


def _aged(*paths: Path) -> None:
    """Written a while ago: files modified in the last seconds are not cached (racy)."""
    past = time.time() - 60
    for path in paths:
        os.utime(path, (past, past))


@pytest.fixture
def policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IMPORTWALL_POLICY_CACHE", str(tmp_path / "cache"))
    (tmp_path / "base.toml").write_text(BASE)
    service = tmp_path / "service.toml"
    service.write_text(SERVICE)
    _aged(tmp_path / "base.toml", service)
    return service


def _entries(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "cache"
    return sorted(folder.glob("*.marshal")) if folder.is_dir() else []


def test_a_cached_policy_is_the_policy_loaded_from_source(policy: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    fresh = load_policy(policy)
    assert len(_entries(tmp_path)) == 1
    # A hit reads no TOML: with the parser broken, the policy still loads, from the cache.
    import importwall.policy.toml as toml

    def broken(text: str) -> object:
        raise AssertionError("parsed from source")

    monkeypatch.setattr(toml, "loads", broken)
    cached = load_policy(policy)
    assert cached == fresh
    assert cached.to_dict() == fresh.to_dict()
    assert cached.section("gpu") == fresh.section("gpu")
    assert [r.source for r in cached.imports.deny] == [r.source for r in fresh.imports.deny]
    assert policy_from_data(marshal.loads(marshal.dumps(policy_to_data(fresh)))) == fresh


def test_a_cached_policys_sections_are_built_on_first_use_and_are_the_same(
        policy: Path) -> None:
    fresh = load_policy(policy)
    cached = cache.read_reference(str(policy))  # the start-up hook's path
    assert cached is not None
    assert "sections" not in vars(cached)  # not built yet: the firewall asks for one only
    report = cached.section("report")
    assert report == fresh.section("report") and report["data_dir"].endswith("records")
    assert cached.section("report") is report  # built once
    assert "sections" not in vars(cached)
    assert cached.section("environment") == fresh.section("environment")
    assert cached.section("resources") == fresh.section("resources") == {}
    assert cached.sections == fresh.sections  # now all of them, the built ones kept
    assert cached.sections["report"] is report and "sections" in vars(cached)
    assert cached.section("gpu") is cached.sections["gpu"]
    assert cache.read_reference(str(policy.parent / "missing.toml")) is None


def test_a_change_to_any_file_of_the_chain_is_seen(policy: Path, tmp_path: Path) -> None:
    assert [r.pattern for r in load_policy(policy).imports.deny][:2] == [
        "optuna", "sklearn.model_selection"]
    base = tmp_path / "base.toml"
    base.write_text(BASE.replace('"optuna"', '"hyperopt"'))  # same size, new content
    os.utime(base, (time.time() - 30, time.time() - 30))  # a different mtime, still aged
    assert load_policy(policy).imports.deny[0].pattern == "hyperopt"  # base rules come first


def test_a_file_modified_just_now_is_not_cached(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPORTWALL_POLICY_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "fresh.toml"
    path.write_text('version = 1\n[imports]\ndeny = ["optuna"]\n')
    load_policy(path)
    assert _entries(tmp_path) == []  # its mtime could still change within the same tick


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "other-format"])
def test_a_damaged_cache_falls_back_to_the_source(policy: Path, tmp_path: Path,
                                                  damage: str) -> None:
    fresh = load_policy(policy)
    [entry] = _entries(tmp_path)
    data = entry.read_bytes()
    entry.write_bytes({"garbage": b"\x00not marshal\xff" * 10, "truncated": data[:len(data) // 2],
                       "empty": b"", "other-format": marshal.dumps(("something", 1, 2))}[damage])
    assert load_policy(policy) == fresh
    assert marshal.loads(entry.read_bytes())[0] == cache._TAG  # rewritten


def _tampered(entry: Path) -> None:
    """The cache file edited to hold a policy without any deny rule."""
    tag, key, (data, _compiled) = marshal.loads(entry.read_bytes())
    path, files, mode, strict, startup, imports, sections, warns = data
    weaker = (path, files, mode, strict, startup, ((), *imports[1:]), sections, warns)
    entry.write_bytes(marshal.dumps((tag, key, (weaker, None))))


def test_a_cache_written_by_another_install_of_the_same_version_is_not_used(
        policy: Path, tmp_path: Path) -> None:
    # Two installs of one version (an editable checkout and a wheel) resolve `extends`
    # packs in their own folders: one must not answer from the other's merged packs.
    fresh = load_policy(policy)
    [entry] = _entries(tmp_path)
    _tampered(entry)
    tag, key, payload = marshal.loads(entry.read_bytes())
    assert tag[-1] == packs_dir()
    entry.write_bytes(marshal.dumps(((*tag[:-1], "/elsewhere/importwall"), key, payload)))
    assert load_policy(policy) == fresh
    assert marshal.loads(entry.read_bytes())[0] == cache._TAG  # rewritten


def test_a_cache_others_can_write_is_ignored(policy: Path, tmp_path: Path) -> None:
    load_policy(policy)
    [entry] = _entries(tmp_path)
    _tampered(entry)
    assert load_policy(policy).imports.deny == ()  # ours, 0600: trusted (the test's own edit)
    entry.chmod(0o666)
    assert [r.pattern for r in load_policy(policy).imports.deny][:1] == ["optuna"]
    _tampered(entry)
    entry.chmod(0o600)
    (tmp_path / "cache").chmod(0o777)  # a folder anyone may write into is not trusted either
    try:
        assert [r.pattern for r in load_policy(policy).imports.deny][:1] == ["optuna"]
    finally:
        (tmp_path / "cache").chmod(0o700)


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0,
                    reason="handing a file to another user needs root")
def test_a_cache_file_another_user_owns_is_ignored(policy: Path, tmp_path: Path) -> None:
    load_policy(policy)
    [entry] = _entries(tmp_path)
    _tampered(entry)
    os.chown(entry, 4242, 4242)
    assert [r.pattern for r in load_policy(policy).imports.deny][:1] == ["optuna"]


def test_the_cache_folder_and_files_are_private(policy: Path, tmp_path: Path) -> None:
    load_policy(policy)
    [entry] = _entries(tmp_path)
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    assert entry.stat().st_mode & 0o777 == 0o600


def test_an_unwritable_or_disabled_cache_never_gets_in_the_way(
        policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("IMPORTWALL_POLICY_CACHE", str(blocker / "cache"))
    first = load_policy(policy)
    assert load_policy(policy) == first
    monkeypatch.setenv("IMPORTWALL_POLICY_CACHE", "off")
    assert cache.cache_dir() is None
    assert load_policy(policy) == first
    assert not (tmp_path / "cache").exists()


def test_warnings_are_given_again_from_the_cache(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPORTWALL_POLICY_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "p.toml"
    path.write_text('version = 1\n[imports]\ndeny = ["optuna"]\ndenny = ["x"]\n')
    _aged(path)
    for _ in range(2):
        with pytest.warns(PolicyWarning, match="denny"):
            load_policy(path)
    assert len(_entries(tmp_path)) == 1


def test_a_policy_with_problems_is_never_cached(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPORTWALL_POLICY_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "p.toml"
    path.write_text('version = 1\n[imports]\ndeny = ["a..b"]\n')
    _aged(path)
    for _ in range(2):
        with pytest.raises(PolicyError, match="empty segment"):
            load_policy(path)
    assert _entries(tmp_path) == []


def test_the_firewall_enforces_from_the_cache_at_interpreter_start(policy: Path,
                                                                   tmp_path: Path) -> None:
    env = {"IMPORTWALL_POLICY": str(policy), "IMPORTWALL_MODE": "enforce",
           "IMPORTWALL_POLICY_CACHE": str(tmp_path / "cache")}
    (tmp_path / "optuna").mkdir()
    (tmp_path / "optuna" / "__init__.py").write_text("")
    program = """
        import sys
        try:
            import optuna
        except ImportError as error:
            print("blocked:", type(error).__name__)
        print("tomllib" in sys.modules or "tomli" in sys.modules)  # 3.11+, 3.10
    """
    runs = []
    for _ in range(2):
        runs.append(run_python(program, env=env, pythonpath=[STARTUP_DIR, tmp_path],
                               cwd=tmp_path))
    for result in runs:
        assert result.returncode == 0, result.output
        assert "blocked: ForbiddenImportError" in result.stdout, result.output
    assert runs[0].stdout.split()[-1] == "True"   # parsed from source, then cached
    assert runs[1].stdout.split()[-1] == "False"  # from the cache: no TOML reader loaded


def test_the_compiled_matcher_is_cached_with_the_policy(policy: Path, tmp_path: Path) -> None:
    from importwall.runtime.matcher import Matcher

    names = ["optuna", "optuna.visualization", "sklearn.model_selection._split", "wandb",
             "numpy", "ray.tune.search"]
    fresh = Matcher.from_policy(load_policy(policy))  # compiles, then stores its tries
    cached_policy = load_policy(policy)
    assert cache.compiled_for(cached_policy) is not None
    cached = Matcher.from_policy(cached_policy)
    for name in names:
        assert cached.decide(name) == fresh.decide(name), name
    assert cached.exception_for("sklearn.model_selection", "sklearn.linear_model") == \
        fresh.exception_for("sklearn.model_selection", "sklearn.linear_model") is not None
    assert cached.rule_count == fresh.rule_count
    # A changed copy of the policy is never paired with the cached tries.
    import dataclasses

    changed = dataclasses.replace(cached_policy, imports=dataclasses.replace(
        cached_policy.imports, deny=()))
    assert cache.compiled_for(changed) is None
    assert Matcher.from_policy(changed).decide("optuna") is None


def test_distribution_rules_are_resolved_in_every_process(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    # What a distribution provides depends on what is installed, not on the policy: those
    # rules are never part of the cached tries.
    from importwall.runtime.matcher import Matcher

    monkeypatch.setenv("IMPORTWALL_POLICY_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "p.toml"
    path.write_text('version = 1\n[imports]\ndeny = ["optuna"]\n'
                    'deny_distributions = ["some-dist"]\n')
    _aged(path)
    installed = {"some-dist": ["first_module"]}
    for provided in (["first_module"], ["second_module"]):
        installed["some-dist"] = provided
        matcher = Matcher.from_policy(load_policy(path), lambda name: installed[name])
        decision = matcher.decide(f"{provided[0]}.sub")
        assert decision is not None and decision.via == "deny_distributions"
        optuna = matcher.decide("optuna")
        assert optuna is not None and optuna.rule.pattern == "optuna"
    assert matcher.decide("first_module") is None
