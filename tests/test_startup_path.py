"""The start-up path: standard library only, fail closed in enforce, never break the host
in warn/audit, and the ``importwall run`` route with sitecustomize chaining."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import pytest
from helpers import REPO, STARTUP_DIR, run_python

POLICY = """\
version = 1
extends = ["./base.toml"]
[imports]
deny = [{ module = "tuner", reason = "tuning is training-only" }]
deny_distributions = ["iniconfig"]
[[imports.exceptions]]
module = "tuner.core"
importer = "tuner.*"
"""
BASE = 'version = 1\n[imports]\ndeny = ["plotting*"]\n'


def test_activation_imports_only_the_standard_library(project) -> None:
    project.policy(BASE, "base.toml")
    project.policy(POLICY)
    result = project.run("""
import sys
before = set(sys.modules)
import importwall
fw = importwall.activate("policy.toml")
fw.matcher.decide("tuner")
loaded = set(sys.modules) - before
outside = sorted(
    name for name in loaded
    if name.split(".")[0] not in sys.stdlib_module_names
    and name.split(".")[0] != "importwall"
    and not (sys.version_info < (3, 11) and name.split(".")[0] == "tomli")
)
print("outside:", outside)
print("heavy:", sorted(n for n in loaded if n.split(".")[0] in (
    "importlib_metadata", "rich", "psutil", "email", "zipfile", "csv")))
print("rules:", fw.matcher.rule_count)
""")
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines()[:2] == ["outside: []", "heavy: []"]
    # deny_distributions resolved iniconfig (a real installed distribution) to its module
    assert result.stdout.splitlines()[2] == "rules: 3"


def test_startup_hook_blocks_through_the_run_sitecustomize(project) -> None:
    project.policy(BASE, "base.toml")
    project.policy(POLICY)
    project.write({"tuner/__init__.py": "", "serve.py": "import tuner\n"})
    result = run_python(["serve.py"], cwd=project.root, pythonpath=[STARTUP_DIR, project.root],
                        env={"IMPORTWALL_POLICY": str(project.root / "policy.toml")})
    assert result.returncode == 1
    assert "importwall: import of 'tuner' is forbidden by rule deny 'tuner'" in result.stderr
    assert f"__main__                       {project.root / 'serve.py'}:1" in result.stderr


def test_a_shadowed_sitecustomize_still_runs(project) -> None:
    project.policy(BASE, "base.toml")
    project.policy(POLICY)
    project.write({"site_dir/sitecustomize.py": "import os\nos.environ['CHAINED'] = 'yes'\n"})
    result = run_python(
        "import os, sys, importwall; print(os.environ.get('CHAINED'), importwall.active().mode)",
        cwd=project.root, pythonpath=[STARTUP_DIR, project.root / "site_dir"],
        env={"IMPORTWALL_POLICY": str(project.root / "policy.toml")})
    assert result.stdout.strip() == "yes enforce", result.output


def test_broken_policy_fails_closed_in_enforce_mode(project) -> None:
    policy = project.policy("version = 1\n[imports]\ndeny = 3\n")
    result = run_python("print('served')", cwd=project.root, pythonpath=[STARTUP_DIR],
                        env={"IMPORTWALL_POLICY": str(policy)})
    assert result.returncode == 2
    assert result.stdout == ""
    assert "importwall: refusing to start" in result.stderr
    assert f"{policy}:3: imports.deny: must be a list" in result.stderr
    assert "importwall check POLICY" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_policy_in_warn_mode_lets_the_program_run(project) -> None:
    result = run_python("print('served')", cwd=project.root, pythonpath=[STARTUP_DIR],
                        env={"IMPORTWALL_POLICY": str(project.root / "gone.toml"),
                             "IMPORTWALL_MODE": "warn"})
    assert result.returncode == 0
    assert result.stdout.strip() == "served"
    assert result.stderr.startswith("importwall: warning: firewall not active (")
    assert "Traceback" not in result.stderr


def test_bootstrap_without_policy_does_nothing_and_runs_once(project) -> None:
    result = project.run("""
import sys, importwall._bootstrap as boot
boot.startup()
print("inactive:", not any(type(f).__name__ == "Firewall" for f in sys.meta_path))
""")
    assert result.stdout.strip() == "inactive: True"
    project.policy(BASE, "base.toml")
    result = project.run("""
import sys, importwall._bootstrap as boot
boot.startup(); boot.startup()
print(sum(type(f).__name__ == "Firewall" for f in sys.meta_path))
""", env={"IMPORTWALL_POLICY": str(project.root / "base.toml")})
    assert result.stdout.strip() == "1", result.output


def test_importwall_run_covers_the_command_and_its_python_children(project) -> None:
    project.policy(BASE, "base.toml")
    project.policy(POLICY)
    project.write({
        "tuner/__init__.py": "",
        "parent.py": """
            import subprocess, sys
            code = "import tuner"
            child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
            print("child exit", child.returncode)
            print("child blocked", "ForbiddenImportError" in child.stderr)
            """,
    })
    result = run_python(["-m", "importwall", "run", "--policy", "policy.toml", "--",
                         sys.executable, "parent.py"], cwd=project.root,
                        pythonpath=[project.root])
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines() == ["child exit 1", "child blocked True"]


def test_run_exits_with_the_command_status_and_reports_usage_errors(project) -> None:
    project.policy(BASE, "base.toml")
    ok = run_python(["-m", "importwall", "run", "-p", "base.toml", "--", sys.executable, "-c",
                     "raise SystemExit(7)"], cwd=project.root)
    assert ok.returncode == 7
    missing = run_python(["-m", "importwall", "run", "-p", "base.toml", "--",
                          "no-such-command-xyz"], cwd=project.root)
    assert missing.returncode == 2
    assert "command not found: 'no-such-command-xyz'" in missing.stderr
    empty = run_python(["-m", "importwall", "run", "-p", "base.toml"], cwd=project.root)
    assert empty.returncode == 2 and "no command given" in empty.stderr


def test_quickstart_example_shows_the_blocked_import_and_its_chain() -> None:
    example = REPO / "examples" / "quickstart"
    result = run_python(["-m", "importwall", "run", "--policy",
                         str(example / "importwall.toml"), "--", sys.executable,
                         str(example / "serve.py")], cwd=example)
    assert result.returncode == 1
    app = Path(example / "myservice" / "app.py")
    assert "import of 'myservice.training' is forbidden" in result.stderr
    assert f"myservice.app                  {app}:14 in handle_request()" in result.stderr


def test_a_warn_mode_policy_with_startup_checks_runs_under_python_W_error(project) -> None:
    policy = project.policy("""\
version = 1
mode = "warn"
check_at_startup = true
[environment]
deny = [{ name = "TRAINING_JOB_*", severity = "error", reason = "a training job's setting" }]
""")
    result = run_python(["-W", "error", "-c", "print('served')"], cwd=project.root,
                        pythonpath=[STARTUP_DIR],
                        env={"IMPORTWALL_POLICY": str(policy), "TRAINING_JOB_ID": "42"})
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "served"
    assert "TRAINING_JOB_ID" in result.stderr
    assert "refusing to start" not in result.stderr


# What the start-up path must not import (benchmarks/README.md, "Start-up import diet"):
# each is a measurable share of a bare start, paid by every serving process.
NEVER_AT_STARTUP = ("typing", "re", "dataclasses", "inspect", "ast", "tomllib", "tomli")
# Also left out, unless the interpreter itself loads them before any user code.
NOT_AT_STARTUP = ("collections", "contextlib", "functools", "threading", "warnings",
                  "importlib.util", "zlib", "enum", "weakref")


def test_an_active_firewall_from_a_warm_cache_imports_none_of_the_heavy_stdlib(
        project, tmp_path) -> None:
    # The module list is taken as the program's own code starts: what the start-up hook
    # loaded. `import importwall` and `active()` after it must not need anything more.
    program = """
import sys
loaded = sorted(sys.modules)
import importwall
firewall = importwall.active()
print(firewall.mode, firewall.matcher.decide("optuna").denied)
print(loaded)
"""
    env = {"IMPORTWALL_POLICY": "sklearn", "IMPORTWALL_MODE": "enforce",
           "IMPORTWALL_POLICY_CACHE": str(tmp_path / "cache")}
    bare = run_python("import sys; print(sorted(sys.modules))", cwd=project.root)
    bare_modules = set(ast.literal_eval(bare.stdout))
    # The first start parses the packs and fills the cache; the second reads it.
    for run in ("cold", "warm"):
        result = run_python(program, cwd=project.root, pythonpath=[STARTUP_DIR], env=env)
        assert result.returncode == 0, result.output
        first, modules = result.stdout.splitlines()
        assert first == "enforce True", (run, result.output)
    loaded = set(ast.literal_eval(modules))
    assert "importwall.runtime.finder" in loaded  # the hook did run
    assert "importwall.policy.toml" not in loaded  # from the cache, not the TOML reader
    assert sorted(loaded & set(NEVER_AT_STARTUP)) == []
    assert sorted((loaded - bare_modules) & set(NOT_AT_STARTUP)) == []


def test_a_data_dir_from_a_warm_cache_imports_no_json(project, tmp_path) -> None:
    # The record file's first lines are written at start-up; json (and re, enum with it)
    # was most of a data dir's start-up cost.
    program = """
import sys
loaded = sorted(sys.modules)
print(loaded)
"""
    data = tmp_path / "data"
    env = {"IMPORTWALL_POLICY": "sklearn", "IMPORTWALL_MODE": "enforce",
           "IMPORTWALL_DATA_DIR": str(data), "IMPORTWALL_POLICY_CACHE": str(tmp_path / "cache")}
    bare = run_python("import sys; print(sorted(sys.modules))", cwd=project.root)
    bare_modules = set(ast.literal_eval(bare.stdout))
    for _run in ("cold", "warm"):
        result = run_python(program, cwd=project.root, pythonpath=[STARTUP_DIR], env=env)
        assert result.returncode == 0, result.output
    loaded = set(ast.literal_eval(result.stdout))
    assert "importwall.runtime.records" in loaded  # the writer did start
    assert "json" not in loaded
    assert sorted(loaded & set(NEVER_AT_STARTUP)) == []
    assert sorted((loaded - bare_modules) & set(NOT_AT_STARTUP)) == []
    import json

    lines = [json.loads(line) for path in sorted(data.rglob("*.jsonl"))
             for line in path.read_text().splitlines()]
    assert [line["type"] for line in lines] == ["process", "status"] * 2, lines


def test_the_record_encoder_writes_what_json_dumps_writes() -> None:
    import json
    import math

    from importwall.findings import Finding, Frame
    from importwall.runtime.records import _json_dumps

    dumps = _json_dumps()
    finding = Finding(kind="import", code="forbidden-import", severity="error",
                      subject="torch",
                      message="import of 'torch' é \u2603 \"quoted\"\n",
                      chain=(Frame("a", "a.py", 1),))
    values = [
        {"type": "finding", "finding": finding.to_dict()},
        {"b": [1, 2.5, None, True, False, {"z": "\x00\ud800", "a": ()}], "a": 10**30},
        {3: "int key", 1.5: object, 2: [1e-7, 0.1]},
        {"x": math.inf, "y": -math.inf, "n": math.nan},
        "plain \u00e9", 7, None, [],
    ]
    for value in values:
        for sort_keys in (True, False):
            assert dumps(value, sort_keys=sort_keys, default=str) == json.dumps(
                value, sort_keys=sort_keys, default=str)
    assert dumps({"status": 1}, sort_keys=True) == json.dumps({"status": 1}, sort_keys=True)
    for bad in ({"x": object()}, {"x": {1, 2}}):
        with pytest.raises(TypeError, match="is not JSON serializable"):
            dumps(bad, sort_keys=True)


# What an active firewall that has denied nothing imports of importwall, from a warm cache
# (benchmarks/README.md, "Active start-up, lazily (session 4)"): the rest is imported on
# the first denied import, the first watched module, or the first API name that needs it.
LEAN_STARTUP = {
    "importwall", "importwall._bootstrap", "importwall._lean", "importwall._version",
    "importwall.settings", "importwall.policy", "importwall.policy.cache",
    "importwall.policy.loader", "importwall.policy.model", "importwall.policy.packs",
    "importwall.policy.rules", "importwall.runtime", "importwall.runtime.api",
    "importwall.runtime.bootstrap", "importwall.runtime.finder",
    "importwall.runtime.matcher", "importwall.runtime.propagate",
}
ON_THE_FIRST_DENIED_IMPORT = ("importwall.errors", "importwall.findings",
                              "importwall.runtime.chain",
                              "importwall.runtime._importlib_bootstrap_guard")


def _warm_start(project, tmp_path, program: str, policy: str = "sklearn",
                mode: str = "enforce") -> list[str]:
    env = {"IMPORTWALL_POLICY": policy, "IMPORTWALL_MODE": mode,
           "IMPORTWALL_POLICY_CACHE": str(tmp_path / "cache")}
    lines: list[str] = []
    for _run in ("cold", "warm"):  # the first start fills the cache, the second reads it
        result = run_python(program, cwd=project.root, pythonpath=[STARTUP_DIR, project.root],
                            env=env)
        assert result.returncode == 0, result.output
        lines = result.stdout.splitlines()
    return lines


def test_a_firewall_that_denied_nothing_loads_only_the_lean_set(project, tmp_path) -> None:
    program = """
import sys
loaded = sorted(name for name in sys.modules if name.startswith("importwall"))
import importwall
firewall = importwall.active()
print(loaded)
print(firewall.mode, firewall._guard is None, sorted(name for name in sys.modules
      if name.startswith("importwall") and name not in loaded))
"""
    loaded, state = _warm_start(project, tmp_path, program)
    assert set(ast.literal_eval(loaded)) == LEAN_STARTUP
    # `import importwall` and importwall.active() needed nothing more, and made no guard.
    assert state == "enforce True []"


def test_the_first_denied_import_loads_the_judging_code_and_blocks(project, tmp_path) -> None:
    project.write({"optuna/__init__.py": ""})
    program = f"""
import sys
try:
    import optuna
except ImportError as error:
    print(type(error).__name__, error.name)
print([name in sys.modules for name in {ON_THE_FIRST_DENIED_IMPORT!r}])
import importwall
print([(f.subject, f.action, f.importer) for f in importwall.active().findings])
"""
    blocked, loaded, findings = _warm_start(project, tmp_path, program)
    assert blocked == "ForbiddenImportError optuna"
    assert loaded == "[True, True, True, True]"
    assert ast.literal_eval(findings) == [("optuna", "blocked", "__main__")]


def test_the_judging_code_loads_unjudged_under_deny_everything(project, tmp_path) -> None:
    # deny = ["*"] denies importwall's own modules too: the ones loaded for the first
    # judgement pass straight through instead of being judged (or recorded) themselves.
    policy = project.policy('version = 1\nmode = "audit"\n[imports]\ndeny = ["*"]\n')
    project.write({"tuner/__init__.py": ""})
    program = """
import tuner
import importwall
print(sorted({f.subject for f in importwall.active().findings if f.action != "preloaded"}))
"""
    # The policy must be older than the cache's two-second window to be cached.
    os.utime(policy, (policy.stat().st_atime - 10, policy.stat().st_mtime - 10))
    (recorded,) = _warm_start(project, tmp_path, program, policy=str(policy), mode="audit")
    subjects = ast.literal_eval(recorded)
    assert "tuner" in subjects and "importwall" in subjects
    assert [name for name in subjects if name.startswith("importwall.")] == []


def test_every_public_name_is_there_on_first_use() -> None:
    program = """
import sys
import importwall
print(sorted(name for name in sys.modules if name.startswith("importwall")))
print(all(hasattr(importwall, name) for name in importwall.__all__),
      set(importwall.__all__) <= set(dir(importwall)))
from importwall import *
print(sorted(set(importwall.__all__) - set(globals())))
print(importwall.Finding.__module__, importwall.Firewall.__module__)
try:
    importwall.no_such_name
except AttributeError as error:
    print(error)
"""
    result = run_python(program, cwd=REPO)
    assert result.returncode == 0, result.output
    lines = result.stdout.splitlines()
    assert ast.literal_eval(lines[0]) == ["importwall"]  # nothing until a name is asked for
    assert lines[1:4] == ["True True", "[]", "importwall.findings importwall.runtime.finder"]
    assert lines[4] == "module 'importwall' has no attribute 'no_such_name'"
