"""Policies: the TOML files that say what a serving process may import and run with.

* :mod:`~importwall.policy.schema`: every key of the file format, and how it is checked;
* :mod:`~importwall.policy.rules` and :mod:`~importwall.policy.model`: a rule, and what a
  loaded policy is (:class:`Rule`, :class:`Policy`);
* :mod:`~importwall.policy.loader`: read, compose (``extends``), validate and merge;
* :mod:`~importwall.policy.packs`: the shipped packs, by name;
* :mod:`~importwall.policy.discovery`: which policy a command uses when none is named;
* :mod:`~importwall.policy.locate` and :mod:`~importwall.policy.toml`: line numbers and
  the TOML reader.

Standard library only: this package is on the start-up path.
"""

from __future__ import annotations

from importwall.policy.loader import PYPROJECT, load_policy
from importwall.policy.model import ImportRules, Policy, PolicyWarning
from importwall.policy.packs import pack_names, pack_path, packs_dir
from importwall.policy.rules import ImportException, Rule
from importwall.policy.schema import MODES, POLICY_VERSION, SCHEMA

__all__ = [
    "MODES",
    "POLICY_VERSION",
    "PYPROJECT",
    "SCHEMA",
    "ImportException",
    "ImportRules",
    "Policy",
    "PolicyWarning",
    "Rule",
    "load_policy",
    "pack_names",
    "pack_path",
    "packs_dir",
]
