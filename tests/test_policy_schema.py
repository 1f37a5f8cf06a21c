"""The policy's JSON Schema, generated from the loader's own table: it is a valid schema,
``importwall check --schema`` prints it, every shipped pack and every policy shown in the
docs validates against it (parsed TOML, checked with jsonschema), and it rejects what the
loader rejects."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from helpers import REPO, run_python

from importwall.errors import PolicyError
from importwall.policy import SCHEMA, load_policy
from importwall.policy.json_schema import UNDESCRIBED, policy_json_schema
from importwall.policy.toml import loads

VALIDATOR = jsonschema.Draft202012Validator(policy_json_schema())
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md"),
               *(REPO / "examples").glob("*/README.md")])
TOML_BLOCK = re.compile(r"```toml\n(.*?)```", re.DOTALL)


def errors(document: dict) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in VALIDATOR.iter_errors(document)]


def test_the_generated_schema_is_a_valid_schema_and_covers_every_key() -> None:
    schema = policy_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert UNDESCRIBED not in json.dumps(schema), (
        "a field kind of importwall/policy/schema.py has no JSON Schema yet: add it to "
        "_value() in importwall/policy/json_schema.py")
    for section, keys in SCHEMA.items():
        properties = schema["properties"] if not section else (
            schema["properties"][section]["properties"])
        assert set(keys) <= set(properties), section


def test_check_schema_prints_it(project) -> None:
    printed = run_python(["-m", "importwall", "check", "--schema"], cwd=project.root)
    assert printed.returncode == 0, printed.output
    assert json.loads(printed.stdout) == policy_json_schema()


@pytest.mark.parametrize("pack", sorted((REPO / "policies").glob("*.toml")),
                         ids=lambda path: path.stem)
def test_every_shipped_pack_validates(pack: Path) -> None:
    assert errors(loads(pack.read_text(encoding="utf-8"))) == []


def _examples() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in TOML_BLOCK.finditer(text):
            line = text[:match.start()].count("\n") + 1
            found.append((f"{doc.relative_to(REPO)}:{line}", match.group(1)))
    found += [(str(path.relative_to(REPO)), path.read_text(encoding="utf-8"))
              for path in sorted((REPO / "examples").glob("*/importwall.toml"))]
    return found


def _as_policy(text: str) -> dict | None:
    """The policy a docs block shows: a whole file, a ``[tool.importwall]`` table, or a
    fragment of policy sections (completed with ``version = 1``); ``None`` for TOML that
    is not a policy (a pytest ini table)."""
    document = loads(text)
    if "tool" in document:
        return document["tool"].get("importwall")
    if "version" in document:
        return document
    if document and set(document) <= set(SCHEMA):
        return {"version": 1, **document}
    return None


POLICY_EXAMPLES = [(where, policy) for where, text in _examples()
                   if (policy := _as_policy(text)) is not None]


@pytest.mark.parametrize(("where", "policy"), POLICY_EXAMPLES,
                         ids=[where for where, _ in POLICY_EXAMPLES])
def test_every_docs_example_validates(where: str, policy: dict) -> None:
    assert errors(policy) == []


def test_there_are_docs_examples_to_check() -> None:
    assert len(POLICY_EXAMPLES) >= 8


@pytest.mark.parametrize("text", [
    'version = 1\nmode = "block"\n',
    'version = 2\n',
    'version = 1\n[imports]\ndeny = [1]\n',
    'version = 1\n[imports]\ndeny = [{ reason = "no module" }]\n',
    'version = 1\n[imports]\ndeny = ["sklearn/model_selection"]\n',
    'version = 1\n[gpu]\nmax_devices = -1\n',
    'version = 1\n[resources]\ndeny_mounts = ["relative/path"]\n',
    'version = 1\n[[imports.exceptions]]\nmodule = "a"\n',
    'version = 1\nstrict = "yes"\n',
    'mode = "audit"\n',
    'version = 1\n[report]\nlog = "jsonl"\n',
    'version = 1\n[report]\nlog = []\n',
])
def test_what_the_loader_rejects_the_schema_rejects(tmp_path: Path, text: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError):
        load_policy(path)
    assert errors(loads(text)), text


def test_unknown_keys_which_the_loader_warns_about_are_flagged_for_the_editor() -> None:
    assert errors(loads('version = 1\n[imports]\ndenny = ["optuna"]\n'))
    assert errors(loads('version = 1\n[gpus]\nmax_devices = 1\n'))
    assert errors(loads('version = 1\n[imports]\ndeny = [{ module = "x", raeson = "y" }]\n'))


def test_the_check_sections_kept_beside_the_policy_model_follow_the_schema() -> None:
    # policy/model.py holds them so that a policy from the compiled cache needs no schema.
    from importwall.policy import model, schema

    in_schema = tuple(name for name in schema.SCHEMA if name not in ("", "imports"))
    assert in_schema == model.CHECK_SECTIONS
    assert schema.CHECK_SECTIONS is model.CHECK_SECTIONS
