"""The fast TOML reader (importwall/policy/fasttoml.py, the ``fast`` extra): toml-rs gives
the standard reader's values and errors, on the shipped packs, on generated policies, on
TOML's corner cases and on random documents; the command line uses it, the start-up path
never imports it, and a file it cannot read is reported as the standard reader reports it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from helpers import run_python
from hypothesis import given, settings
from hypothesis import strategies as st

from importwall import PolicyError, load_policy
from importwall.policy import fasttoml, pack_names
from importwall.policy import toml as stdlib_toml

toml_rs = pytest.importorskip("toml_rs", reason="the fast extra (toml-rs, Python >= 3.11)")


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every load here reads its source: a cache hit would compare the cache with itself.
    monkeypatch.setenv("IMPORTWALL_POLICY_CACHE", "off")


def _shape(value: Any) -> Any:
    """``value`` with its types, key order and float signs spelled out (``==`` on dicts
    ignores order, and nan equals nothing)."""
    if isinstance(value, dict):
        return ("dict", type(value) is dict, [(k, _shape(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", type(value) is list, [_shape(v) for v in value])
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value, math.copysign(1, value))
    return (type(value).__name__, value, getattr(value, "utcoffset", lambda: None)())


def _standard(text: str) -> tuple[str, Any]:
    try:
        return "value", _shape(stdlib_toml.loads(text))
    except stdlib_toml.TOMLDecodeError as error:
        return "error", str(error)


def _fast(text: str) -> tuple[str, Any]:
    try:
        return "value", _shape(fasttoml.read_fast(text))
    except stdlib_toml.TOMLDecodeError as error:
        return "error", str(error)


def test_the_fast_reader_is_toml_rs_here() -> None:
    # Otherwise every comparison below would compare the standard reader with itself.
    reader = fasttoml.fast_reader()
    assert reader is not None
    assert reader('a = [1, "x"]') == {"a": [1, "x"]}
    with pytest.raises(toml_rs.TOMLDecodeError):
        reader("a = ")


@pytest.mark.parametrize("pack", pack_names())
def test_every_shipped_pack_loads_to_the_same_policy(pack: str) -> None:
    assert load_policy(pack, loads=fasttoml.read_fast) == load_policy(pack)


def _generated(rules: int) -> str:
    """A policy written every way a person or generator writes one: tables and bare
    strings, both quotes, repeated patterns, exceptions, sections, comments."""
    lines = ["# generated", "version = 1", 'extends = ["serving-base"]', 'mode = "warn"',
             "", "[imports]", "deny = ["]
    for index in range(rules):
        pattern = f"corp{index % 97}.training.job{index}" if index % 5 else f"nb{index}*"
        if index % 3 == 0:
            lines.append(f"    '{pattern}',  # literal string")
        elif index % 3 == 1:
            lines.append(f'    {{ module = "{pattern}", reason = "r\\u00e9ason {index}\\t" }},')
        else:
            lines.append(f'    {{ module = "{pattern}", severity = "warning" }},')
    lines += ["]", 'allow = ["corp1.serving", "corp1.serving"]', ""]
    for index in range(0, rules, 50):
        lines += ["[[imports.exceptions]]", f'module = "corp{index % 97}.training"',
                  f"importer = 'corp{index % 97}.*'", 'reason = """multi\nline"""', ""]
    lines += ["[environment]", 'deny = ["WANDB_*", { name = "HF_*", reason = "hub" }]',
              "[gpu]", "max_devices = 2", ""]
    return "\n".join(lines)


@pytest.mark.parametrize("rules", [10, 3000])
def test_a_generated_policy_loads_to_the_same_policy(tmp_path: Path, rules: int) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(_generated(rules), encoding="utf-8")
    fast = load_policy(path, loads=fasttoml.read_fast)
    assert fast == load_policy(path)
    assert len(fast.imports.deny) > rules  # serving-base's rules, then these
    # The command line's reader: toml-rs for the large file, the standard one for the small.
    assert load_policy(path, loads=fasttoml.loads) == fast


# TOML's corner cases, valid and not (TOML 1.0 is what the standard reader reads on 3.11 to
# 3.13; the 1.1 additions are refused by both there, and read by both where it reads 1.1).
CASES = [
    'a = 1979-05-27T07:32:00Z\nb = 1979-05-27T00:32:00.999999-07:00\nc = 1979-05-27\n'
    'd = 07:32:00.5\ne = 1979-05-27T07:32:00',
    "a = inf\nb = -inf\nc = nan\nd = -0.0\ne = 6.626e-34\nf = 1_000.5\ng = +0.0",
    "a = 0xDEAD_beef\nb = 0o755\nc = 0b1101\nd = -17\ne = 9223372036854775807",
    'a = "\\u00e9\\U0001F600\\b\\f\\n\\r\\t\\"\\\\"\nb = \'C:\\\\path\'',
    'a = """\\\n   folded \\\n   line"""\nb = \'\'\'\nraw\\n\'\'\'\nc = """""quotes"""""',
    '"quoted key" = 1\n\'lit\' = 2\nsite."google.com" = true\na.b.c = 1\na.d = 2',
    "[[t]]\nx = 1\n[[t]]\nx = 2\n[t.sub]\ny = 3\n[[t.list]]\nz = 4",
    'p = { x = 1, y = { z = [1, 2.0, "s", [true]] } }\nq = []\nr = [ ]\ns = [1,]',
    "[a.b]\nx = 1\n[a]\ny = 2",
    # invalid in TOML 1.0
    "a = 1\na = 2",
    "[t]\n[t]",
    "a = { x = 1,\n y = 2 }",
    "a = { x = 1, }",
    'a = "\\e"',
    'a = "\\x41"',
    "a = 07:32",
    "a = [1 2]",
    'a = "unterminated',
    "a = 1 b = 2",
    "a.b = 1\na = 2",
    "[a]\nb = 1\n[a.b]",
    "a = 01",
    "a = 1__0",
    "a = .5",
    "a = 1979-02-30",
    "a = 24:00:00",
    "= 1",
    "a = \x01",
    'a = """\n' + "x" * 10 + '\n',
    "a = [" * 60 + "]" * 60,
    "",
]


@pytest.mark.parametrize("text", CASES)
def test_corner_cases_read_the_same(text: str) -> None:
    assert _fast(text) == _standard(text)


def test_the_cases_hold_both_answers() -> None:
    # The table is worth its name: both readers accept some cases and refuse others.
    answers = {_standard(text)[0] for text in CASES}
    assert answers == {"value", "error"}


_keys = st.text(st.characters(codec="utf-8"), max_size=8)
_scalars = (st.integers(min_value=-(2**63), max_value=2**63 - 1)
            | st.floats(allow_nan=False) | st.booleans()
            | st.text(st.characters(codec="utf-8"), max_size=20)
            | st.datetimes() | st.dates() | st.times())
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(_keys, inner, max_size=4), max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=6))
def test_random_documents_read_the_same(document: dict[str, Any]) -> None:
    text = toml_rs.dumps(document, toml_version="1.0.0")
    assert _fast(text) == _standard(text)


_toml_bits = st.sampled_from(
    ["a", "b.c", '"k"', "'l'", " = ", "=", "1", "1.5", "-", "_", "e", "inf", "nan",
     '"s"', "'t'", '"""', "'''", "\\", "\\u00e9", "[", "]", "[[", "]]", "{", "}", ",",
     "\n", " ", "#", "true", "1979-05-27", "T", "07:32:00", "Z", "+01:00", "0x1F", "\t"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_toml_bits, max_size=30).map("".join))
def test_random_near_toml_text_is_accepted_and_refused_alike(text: str) -> None:
    assert _fast(text) == _standard(text)


def test_an_invalid_file_is_reported_as_the_standard_reader_reports_it(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('version = 1\n[imports]\ndeny = [\n  "a",\n  "b" "c",\n]\n')
    with pytest.raises(PolicyError) as standard:
        load_policy(path)
    with pytest.raises(PolicyError) as fast:
        load_policy(path, loads=fasttoml.read_fast)
    assert fast.value.problems == standard.value.problems
    assert fast.value.problems[0].startswith(f"{path}:5: toml: ")


def _padded(text: str) -> str:
    """``text`` made large enough for the command line to read it with toml-rs."""
    return text + "# padding\n" * (fasttoml.FAST_FROM_CHARS // 10)


def test_a_small_file_is_read_by_the_standard_reader() -> None:
    # Importing toml-rs costs more than it saves on a pack-size file.
    code = """
        import sys
        from importwall.policy import fasttoml
        fasttoml.loads('version = 1')
        print("toml_rs" in sys.modules)
        fasttoml.loads('version = 1' + ' ' * fasttoml.FAST_FROM_CHARS)
        print("toml_rs" in sys.modules)
        """
    assert run_python(code).stdout.split() == ["False", "True"]


def test_importwall_check_reads_with_it_and_reports_errors_the_same(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(_padded('version = 1\n[imports]\ndeny = ["a"]\ndeny = ["b"]\n'))
    with pytest.raises(PolicyError) as standard:
        load_policy(bad)
    env = {"IMPORTWALL_POLICY_CACHE": "off"}
    # The command, with toml-rs, and in a process where it cannot be imported.
    with_fast = run_python(["-m", "importwall", "check", str(bad)], env=env)
    without = run_python(["-c", "import sys; sys.modules['toml_rs'] = None; "
                          "from importwall.cli.main import main; sys.exit(main())",
                          "check", str(bad)], env=env)
    assert with_fast.returncode == without.returncode == 2, with_fast.output
    assert standard.value.problems[0] in with_fast.stderr
    assert with_fast.stderr == without.stderr
    assert f"{bad}:4: toml: " in with_fast.stderr


def test_the_command_line_uses_it_and_the_start_up_path_does_not(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(_padded('version = 1\n[imports]\ndeny = ["optuna"]\n'))
    env = {"IMPORTWALL_POLICY_CACHE": "off"}
    checked = run_python(f"""
        import sys
        from importwall.cli.main import main
        status = main(["check", "--quiet", {str(path)!r}])
        print(status, "toml_rs" in sys.modules)
        """, env=env)
    assert checked.stdout.split() == ["0", "True"], checked.output
    started = run_python(f"""
        import sys
        import importwall
        importwall.activate({str(path)!r}, mode="enforce")
        print("toml_rs" in sys.modules, "importwall.policy.fasttoml" in sys.modules)
        """, env=env)
    assert started.stdout.split() == ["False", "False"], started.output
