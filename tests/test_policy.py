"""Policy loading: extends, normalization, and every error path with its message."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import clean_env

from importwall import PolicyError, PolicyWarning, load_policy
from importwall.policy import pack_names


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return list(info.value.problems)


def test_rules_are_normalized_with_reason_and_source_line(tmp_path: Path) -> None:
    path = write(tmp_path, "p.toml", """\
version = 1
mode = "warn"

[imports]
deny = [
    "optuna",
    { module = "sklearn.model_selection", reason = "training-only" },
]
allow = ["sklearn.model_selection._split"]

[[imports.exceptions]]
module = "sklearn.model_selection"
importer = "sklearn.*"
reason = "estimators import it internally"
""")
    policy = load_policy(path)
    assert policy.mode == "warn"
    assert [r.pattern for r in policy.imports.deny] == ["optuna", "sklearn.model_selection"]
    assert policy.imports.deny[0].source == f"{path}:6"
    assert policy.imports.deny[1].source == f"{path}:7"
    assert policy.imports.deny[1].reason == "training-only"
    assert policy.imports.allow[0].source == f"{path}:9"
    (exception,) = policy.imports.exceptions
    assert (exception.module, exception.importer) == ("sklearn.model_selection", "sklearn.*")
    assert exception.source == f"{path}:12"
    assert policy.files == (str(path),)


def test_extends_merges_lists_and_lets_the_child_override_scalars(tmp_path: Path) -> None:
    write(tmp_path, "base/common.toml", """\
version = 1
mode = "audit"
[imports]
deny = ["optuna"]
blocked_error = "runtime"
""")
    child = write(tmp_path, "service.toml", """\
version = 1
extends = ["./base/common.toml"]
mode = "enforce"
[imports]
deny = ["wandb"]
""")
    policy = load_policy(child)
    assert policy.mode == "enforce"
    assert policy.imports.blocked_error == "runtime"
    assert [r.pattern for r in policy.imports.deny] == ["optuna", "wandb"]
    base_rule, child_rule = policy.imports.deny
    assert child_rule.precedence > base_rule.precedence
    assert policy.files == (str(tmp_path / "base" / "common.toml"), str(child))


def test_diamond_extends_loads_each_file_once(tmp_path: Path) -> None:
    write(tmp_path, "root.toml", 'version = 1\n[imports]\ndeny = ["optuna"]\n')
    write(tmp_path, "a.toml", 'version = 1\nextends = ["./root.toml"]\n')
    write(tmp_path, "b.toml", 'version = 1\nextends = ["./root.toml"]\n')
    top = write(tmp_path, "top.toml", 'version = 1\nextends = ["./a.toml", "./b.toml"]\n')
    policy = load_policy(top)
    assert [r.pattern for r in policy.imports.deny] == ["optuna"]
    assert len(policy.files) == 4


def test_every_problem_is_reported_at_once_with_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", """\
version = 1
mode = "enforcing"
strict = "yes"

[imports]
deny = [
    "ok.module",
    "bad module",
    { reason = "no module key" },
    { module = "x", severity = "fatal" },
]
allow = "optuna"

[[imports.exceptions]]
module = "sklearn.model_selection"
""")
    assert problems(path) == [
        f"{path}:2: mode: must be one of 'enforce', 'warn', 'audit' (did you mean 'enforce'?)",
        f"{path}:3: strict: must be true or false",
        f"{path}:8: imports.deny[1]: 'bad module' is not a module pattern: use dotted names "
        "with '*' globs, e.g. 'sklearn.model_selection' or 'jupyter*'",
        f"{path}:6: imports.deny[2]: needs a non-empty 'module'",
        f"{path}:10: imports.deny[3].severity: must be one of info, warning, error",
        f"{path}:12: imports.allow: must be a list of patterns or tables like "
        '{ module = "...", reason = "..." }',
        f"{path}:15: imports.exceptions[0].importer: needs a non-empty 'importer'",
    ]


def test_missing_and_unsupported_version(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "a.toml", "[imports]\ndeny = []\n")) == [
        f"{tmp_path / 'a.toml'}:1: version: missing; add `version = 1` at the top of the file"
    ]
    (problem,) = problems(write(tmp_path, "b.toml", "\nversion = 2\n"))
    assert problem == (f"{tmp_path / 'b.toml'}:2: version: unsupported version 2; "
                       "this importwall reads version = 1")


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.toml", 'version = 1\n[imports]\ndeny = ["optuna"\n')
    (problem,) = problems(path)
    assert re.match(rf"{re.escape(str(path))}:\d+: toml: ", problem), problem


def test_missing_file_suggests_a_shipped_pack(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PolicyError) as info:
        load_policy("no-such-policy.toml")
    assert "no-such-policy.toml:1: policy: no such file or shipped pack" in str(info.value)


def _only_problem(path: str | Path) -> str:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    (problem,) = info.value.problems
    assert "no such file or shipped pack" not in problem, problem
    return problem


def test_a_folder_given_as_the_policy_says_so(tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    problem = _only_problem(tmp_path / "configs")
    assert problem == (f"{tmp_path / 'configs'}:1: policy: {str(tmp_path / 'configs')!r} is a "
                       "folder, not a policy file; name the policy file in it")
    write(tmp_path, "configs/importwall.toml", "version = 1\n")
    assert _only_problem(tmp_path / "configs").endswith(
        f"did you mean {str(tmp_path / 'configs' / 'importwall.toml')!r}?")


def test_a_fifo_given_as_the_policy_is_never_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "policy.toml"
    os.mkfifo(fifo)  # opening it would block until a writer came
    problem = _only_problem(fifo)
    assert problem.startswith(f"{fifo}:1: policy: {str(fifo)!r} is a FIFO (a named pipe), "
                              "not a file"), problem
    base = write(tmp_path, "base.toml", 'version = 1\nextends = ["./policy.toml"]\n')
    assert "extends: " in _only_problem(base) and "is a FIFO" in _only_problem(base)


NOBODY = 65534


def _as_nobody() -> None:
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _unprivileged_python() -> str:
    """An interpreter the unprivileged user can run (this one may live in root's home)."""
    for candidate in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        try:
            ran = subprocess.run([str(candidate), "-c", "import tomllib"],
                                 preexec_fn=_as_nobody, capture_output=True, cwd="/")
        except OSError:  # not even allowed to start it
            continue
        if candidate and ran.returncode == 0:
            return str(candidate)
    pytest.skip("running as root, and no Python 3.11+ that user nobody may run")


def test_a_policy_behind_a_folder_this_user_may_not_enter(tmp_path: Path) -> None:
    """Root may enter any folder, so as root the loader runs as `nobody`."""
    python, demote = sys.executable, None
    if os.geteuid() == 0:
        python, demote = _unprivileged_python(), _as_nobody
    root = Path(tempfile.mkdtemp(prefix="importwall-closed-"))
    closed = root / "closed"
    try:
        root.chmod(0o755)
        write(root, "closed/policy.toml", "version = 1\n")
        (closed / "policy.toml").chmod(0o644)
        closed.chmod(0o700 if demote else 0o600)
        code = ("import sys\nfrom importwall import load_policy, PolicyError\n"
                "try:\n    load_policy(sys.argv[1])\n"
                "except PolicyError as error:\n    print(error.problems[0])\n")
        result = subprocess.run([python, "-c", code, str(closed / "policy.toml")],
                                capture_output=True, text=True, preexec_fn=demote,
                                env=clean_env(), cwd="/", timeout=60)
    finally:
        closed.chmod(0o755)
        shutil.rmtree(root)
    problem = result.stdout.strip()
    assert problem.startswith(f"{closed / 'policy.toml'}:1: policy: cannot reach "), \
        result.stdout + result.stderr
    assert f"the folder {str(closed)!r} does not let uid " in problem
    assert "chmod +x" in problem


def test_a_file_that_is_not_utf8_names_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('version = 1\n[imports]\ndeny = [{ module = "x", reason = "caf\u00e9" }]\n'
                     .encode("latin-1"))
    problem = _only_problem(path)
    assert problem == (f"{path}:3: policy: byte 0xe9 at column 38 is not UTF-8 (a TOML file "
                       "is UTF-8); save it as UTF-8")


def test_windows_line_endings_still_read(tmp_path: Path) -> None:
    path = tmp_path / "crlf.toml"
    path.write_bytes(b'version = 1\r\n[imports]\r\ndeny = ["optuna"]\r\n')
    assert [r.pattern for r in load_policy(path).imports.deny] == ["optuna"]


def test_extends_errors_cycle_and_missing(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", 'version = 1\nextends = ["./b.toml"]\n')
    write(tmp_path, "b.toml", 'version = 1\nextends = ["./a.toml", "./gone.toml"]\n')
    found = problems(tmp_path / "a.toml")
    assert any("extends: circular extends:" in p and p.startswith(f"{tmp_path / 'b.toml'}:2")
               for p in found), found
    assert any("no such file './gone.toml'" in p for p in found), found


def test_unknown_pack_name_gets_a_suggestion(tmp_path: Path) -> None:
    packs = pack_names()
    if not packs:
        pytest.skip("no shipped packs yet")
    misspelled = packs[0][:-1] + "x"
    path = write(tmp_path, "p.toml", f'version = 1\nextends = ["{misspelled}"]\n')
    (problem,) = problems(path)
    assert f"no shipped pack named {misspelled!r}" in problem


def test_unknown_keys_warn_with_a_close_match(tmp_path: Path) -> None:
    path = write(tmp_path, "p.toml", """\
version = 1
[imports]
denny = ["optuna"]
[gpus]
max_devices = 1
""")
    with pytest.warns(PolicyWarning) as record:
        policy = load_policy(path)
    messages = [str(w.message) for w in record]
    assert f"{path}:3: imports.denny: unknown key; did you mean 'deny'?" in messages
    assert f"{path}:4: gpus: unknown section; did you mean 'gpu'?" in messages
    assert policy.imports.deny == ()


def test_array_of_tables_rules_get_their_own_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "p.toml", """\
version = 1

[[imports.deny]]
module = "optuna"
reason = "tuning"

[[imports.deny]]
module = "wandb"
""")
    policy = load_policy(path)
    assert [(r.pattern, r.source) for r in policy.imports.deny] == [
        ("optuna", f"{path}:4"), ("wandb", f"{path}:8")]


def test_policy_error_pickles(tmp_path: Path) -> None:
    import pickle

    error = PolicyError(["a.toml:1: version: missing"])
    clone = pickle.loads(pickle.dumps(error))
    assert clone.problems == error.problems and str(clone) == str(error)


def test_other_sections_are_validated_and_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "p.toml", """\
version = 1
[gpu]
deny_models = [{ model = "A100*", reason = "training GPU" }]
max_devices = 1
[resources]
max_memory_gib = 16.5
""")
    policy = load_policy(path)
    (rule,) = policy.section("gpu")["deny_models"]
    assert (rule.pattern, rule.reason) == ("A100*", "training GPU")
    assert policy.section("gpu")["max_devices"] == 1
    assert policy.section("resources")["max_memory_gib"] == 16.5
    assert policy.section("report") == {}
    assert policy.to_dict()["gpu"]["deny_models"][0]["pattern"] == "A100*"


@pytest.mark.parametrize(("text", "expected"), [
    ('version = 1\ncheck_at_startup = 1\n', ":2: check_at_startup: must be true or false"),
    ('version = 1\nextends = [1]\n', ":2: extends: must be a list of pack names or relative "
     'paths, e.g. extends = ["serving-base", "./team.toml"]'),
    ('version = "1"\n', ":1: version: unsupported version '1'; this importwall reads "
     "version = 1"),
    ('version = true\n', ":1: version: unsupported version True"),
    ('version = 1\n[imports]\ndeny = ["a..b"]\n',
     ":3: imports.deny[0]: 'a..b' is not a dotted module name (empty segment)"),
    ('version = 1\n[imports]\ndeny = [{ module = "x", reason = 3 }]\n',
     ":3: imports.deny[0].reason: must be a string"),
    ('version = 1\n[imports]\nblocked_error = "loud"\n',
     ":3: imports.blocked_error: must be one of 'module-not-found', 'runtime'"),
    ('version = 1\n[imports]\nexceptions = "sklearn"\n',
     ":3: imports.exceptions: must be a list of tables: [[imports.exceptions]] with module, "
     "importer and reason"),
    ('version = 1\n[imports]\nexceptions = ["sklearn"]\n',
     ":3: imports.exceptions[0]: each exception must be a table with module and importer"),
    ('version = 1\n[[imports.exceptions]]\nmodule = "a"\nimporter = "b c"\n',
     ":3: imports.exceptions[0].importer: 'b c' is not a module pattern"),
    ('version = 1\n[[imports.exceptions]]\nmodule = "a"\nimporter = "b"\nreason = []\n',
     ":3: imports.exceptions[0].reason: must be a string"),
    ('version = 1\n[gpu]\nmax_devices = -1\n', ":3: gpu.max_devices: must be a whole number >= 0"),
    ('version = 1\n[resources]\nmax_cpus = "4"\n', ":3: resources.max_cpus: must be a number >= 0"),
    ('version = 1\n[standardize]\nfingerprint = ""\n',
     ":3: standardize.fingerprint: must be a non-empty string"),
    ('version = 1\n[standardize]\npackages = ["x", 1]\n',
     ":3: standardize.packages: must be a list of non-empty strings"),
])
def test_each_schema_error_names_line_key_and_fix(tmp_path: Path, text: str,
                                                   expected: str) -> None:
    path = write(tmp_path, "p.toml", text)
    found = problems(path)
    assert any(p.startswith(f"{path}{expected}") for p in found), found


def test_unreadable_and_undecodable_files(tmp_path: Path) -> None:
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"version = 1\n\xff\xfe\x00")
    (problem,) = problems(binary)
    assert problem == (f"{binary}:2: policy: byte 0xff at column 1 is not UTF-8 (a TOML "
                       "file is UTF-8); save it as UTF-8")
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    with pytest.raises(PolicyError):
        load_policy(folder)


def test_unknown_keys_in_rule_and_exception_tables_warn(tmp_path: Path) -> None:
    path = write(tmp_path, "p.toml", """\
version = 1
[imports]
deny = [{ module = "optuna", raeson = "typo" }]
[[imports.exceptions]]
module = "a"
importer = "b"
reasn = "typo"
""")
    with pytest.warns(PolicyWarning) as record:
        load_policy(path)
    messages = sorted(str(w.message) for w in record)
    assert messages == [
        f"{path}:3: imports.deny[0].raeson: unknown key; did you mean 'reason'?",
        f"{path}:5: imports.exceptions[0].reasn: unknown key; did you mean 'reason'?",
    ]


def test_unknown_key_warnings_are_shown_with_the_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "p.toml", 'version = 1\nmode = "enforcing"\n[imports]\n'
                                     'denny = ["optuna"]\n')
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.warnings == (
        f"{path}:4: imports.denny: unknown key; did you mean 'deny'?",)
    assert str(info.value).endswith(
        f"\n  warning: {path}:4: imports.denny: unknown key; did you mean 'deny'?")
