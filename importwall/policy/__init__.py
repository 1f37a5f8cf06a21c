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

from importwall.policy.model import MODES, POLICY_VERSION, ImportRules, Policy, PolicyWarning
from importwall.policy.rules import ImportException, Rule

TYPE_CHECKING = False  # typing is not imported at run time: this package is on the start-up path
if TYPE_CHECKING:
    from typing import Any

    from importwall.policy.loader import PYPROJECT as PYPROJECT
    from importwall.policy.loader import load_policy as load_policy
    from importwall.policy.packs import pack_names as pack_names
    from importwall.policy.packs import pack_path as pack_path
    from importwall.policy.packs import packs_dir as packs_dir
    from importwall.policy.schema import SCHEMA as SCHEMA

# Imported on first use: a process that starts from the compiled-policy cache needs neither
# the loader nor the schema's table (benchmarks/README.md, "Active start-up, lazily").
_LAZY = {"PYPROJECT": "loader", "load_policy": "loader", "pack_names": "packs",
         "pack_path": "packs", "packs_dir": "packs", "SCHEMA": "schema"}


def __getattr__(name: str) -> "Any":
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module 'importwall.policy' has no attribute {name!r}")
    value = getattr(__import__(f"importwall.policy.{home}", fromlist=(name,)), name)
    globals()[name] = value
    return value

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
