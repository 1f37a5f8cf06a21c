"""The policy file's JSON Schema, generated from :data:`importwall.policy.schema.SCHEMA`,
the loader's own table, so that editors (Even Better TOML, taplo) check what the loader
checks and a key added to the table appears here with nothing else to edit.

``importwall check --schema`` prints it; the wheel carries it as
``importwall/policy/schemas/policy-v1.schema.json`` (written at build time by
``hatch_build.py``, never by hand).
It is stricter than the loader in one way: an unknown key, which the loader only warns
about, is flagged, so that a typo shows in the editor as it is typed.

Standard library only, and never imported at interpreter start.
"""

from __future__ import annotations

import json
from typing import Any

from importwall.findings import SEVERITIES
from importwall.policy.schema import POLICY_VERSION, RULE_KEYS, SCHEMA, Field

FILE_NAME = f"policy-v{POLICY_VERSION}.schema.json"
IN_WHEEL = f"importwall/policy/schemas/{FILE_NAME}"
"""Where the wheel carries the generated schema."""

_MODULE_PATTERN = r"^\s*[A-Za-z0-9_*?]+(\.[A-Za-z0-9_*?]+)*\s*$"
"""Dotted names whose segments may hold ``*``/``?`` globs, as the loader accepts."""
_PATTERN_OF = {"module": _MODULE_PATTERN, "importer": _MODULE_PATTERN, "path": r"^\s*/"}

_TOP_LEVEL_HELP = {
    "version": f"the policy format: {POLICY_VERSION}",
    "extends": "shipped packs by name (serving-base, sklearn, ...) or paths relative to "
               "this file, merged first",
    "mode": "enforce (forbidden imports fail), warn, or audit (recorded only)",
    "strict": "an audit hook that cannot be removed keeps enforcing",
    "check_at_startup": "check the environment sections when the firewall starts",
}


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a policy file, or of a ``[tool.importwall]``
    table."""
    properties: dict[str, Any] = {}
    for key, spec in SCHEMA[""].items():
        properties[key] = _described(_value(key, spec), spec, _TOP_LEVEL_HELP.get(key, ""))
    properties["version"] = {"const": POLICY_VERSION,
                             "description": _TOP_LEVEL_HELP["version"]}
    properties["extends"] = {
        "description": _TOP_LEVEL_HELP["extends"],
        "anyOf": [{"type": "string", "minLength": 1}, _value("extends", SCHEMA[""]["extends"])]}
    for section, keys in SCHEMA.items():
        if section:
            properties[section] = {
                "type": "object", "additionalProperties": False,
                "properties": {key: _described(_value(key, spec), spec)
                               for key, spec in keys.items()}}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"importwall policy, version {POLICY_VERSION}", "type": "object",
            "required": ["version"], "additionalProperties": False,
            "properties": properties}


def policy_json_schema_text() -> str:
    return json.dumps(policy_json_schema(), indent=2, sort_keys=False) + "\n"


def _described(value: dict[str, Any], spec: Field, fallback: str = "") -> dict[str, Any]:
    description = spec.help or fallback
    return {**value, "description": description} if description else value


def _value(key: str, spec: Field) -> dict[str, Any]:
    kind = spec.kind
    if kind == "bool":
        return {"type": "boolean"}
    if kind == "int":
        return {"type": "integer", "minimum": 0}
    if kind == "number":
        return {"type": "number", "minimum": 0}
    if kind == "str":
        return {"type": "string", "minLength": 1}
    if kind == "path":
        return {"type": "string", "minLength": 1,
                "description": "a file path, relative to this policy file"}
    if kind == "choice":
        return {"enum": list(spec.choices)}
    if kind == "choices":  # one choice, or a non-empty list of them
        return {"anyOf": [{"enum": list(spec.choices)},
                          {"type": "array", "minItems": 1,
                           "items": {"enum": list(spec.choices)}}]}
    if kind == "strings":
        return {"type": "array", "items": {"type": "string", "minLength": 1}}
    if kind == "rules":
        return {"type": "array", "items": _rule(spec)}
    if kind == "exceptions":
        return {"type": "array", "items": _exception()}
    # A kind added to the loader's table and not here yet: any value, marked, so that the
    # wheel still builds and tests/test_policy_schema.py says what to add.
    return {UNDESCRIBED: kind}


UNDESCRIBED = "x-importwall-undescribed-kind"
"""Marks a key whose field kind this module does not describe yet."""


def _pattern(key: str) -> dict[str, Any]:
    value: dict[str, Any] = {"type": "string", "minLength": 1}
    if key in _PATTERN_OF:
        value["pattern"] = _PATTERN_OF[key]
    return value


def _rule(spec: Field) -> dict[str, Any]:
    """A rule: its pattern alone, or a table with the pattern, a reason and a severity."""
    table: dict[str, Any] = {
        "type": "object", "required": [spec.pattern_key], "additionalProperties": False,
        "properties": {spec.pattern_key: _pattern(spec.pattern_key),
                       **{key: _RULE_KEY_VALUES[key] for key in RULE_KEYS},
                       **{key: {} for key in spec.extra_keys}}}
    return {"anyOf": [_pattern(spec.pattern_key), table]}


_RULE_KEY_VALUES: dict[str, dict[str, Any]] = {
    "reason": {"type": "string", "description": "shown with every finding of the rule"},
    "severity": {"enum": list(SEVERITIES)},
}


def _exception() -> dict[str, Any]:
    return {"type": "object", "required": ["module", "importer"],
            "additionalProperties": False,
            "properties": {"module": _pattern("module"), "importer": _pattern("importer"),
                           "reason": _RULE_KEY_VALUES["reason"]}}
