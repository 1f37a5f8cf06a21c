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
from importwall.policy.model import MODES, POLICY_VERSION, ImportRules, Policy, PolicyWarning
from importwall.policy.packs import pack_names, pack_path, packs_dir
from importwall.policy.rules import ImportException, Rule

TYPE_CHECKING = False  # typing is not imported at run time: this package is on the start-up path
if TYPE_CHECKING:
    from importwall.policy.schema import SCHEMA as SCHEMA
    from importwall.policy.schema import Field


def __getattr__(name: str) -> dict[str, dict[str, Field]]:
    # The schema's table is imported on first use: a policy read from the compiled-policy
    # cache does not need it at interpreter start.
    if name == "SCHEMA":
        from importwall.policy.schema import SCHEMA

        return SCHEMA
    raise AttributeError(f"module 'importwall.policy' has no attribute {name!r}")

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
