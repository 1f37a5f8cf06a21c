"""The policy packs shipped with importwall, found by name.

The packs live in the project's top-level ``policies/`` folder. A built wheel carries them
inside the package (``importwall/policies``, force-included by the build); an editable
install or a source checkout reads them from the folder beside the package.

Standard library only: this module is on the start-up path.
"""

import os

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_IN_WHEEL = os.path.join(_PACKAGE_DIR, "policies")
_IN_SOURCE_TREE = os.path.join(os.path.dirname(_PACKAGE_DIR), "policies")
SUFFIX = ".toml"
PYPROJECT = "pyproject.toml"
PYPROJECT_TABLE = ("tool", "importwall")
"""In a ``pyproject.toml`` the policy is the ``[tool.importwall]`` table, same keys."""


def packs_dir() -> str:
    """The folder holding the shipped packs: inside the installed package, else the
    source tree's ``policies/`` (an editable install)."""
    return _IN_WHEEL if os.path.isdir(_IN_WHEEL) else _IN_SOURCE_TREE


def pack_names() -> "list[str]":
    """Names of the policy packs shipped with importwall."""
    try:
        entries = os.listdir(packs_dir())
    except OSError:
        return []
    return sorted(name[: -len(SUFFIX)] for name in entries if name.endswith(SUFFIX))


def pack_path(name: str) -> "str | None":
    """The file of the shipped pack ``name``, or ``None`` when there is no such pack."""
    candidate = os.path.join(packs_dir(), name + SUFFIX)
    return candidate if os.path.isfile(candidate) else None


def looks_like_pack_name(reference: str) -> bool:
    return os.sep not in reference and "/" not in reference and not reference.endswith(".toml")


def resolve_reference(reference: str, base_dir: str) -> "str | None":
    """What a policy reference (``IMPORTWALL_POLICY``, ``extends``) names: a path relative to
    ``base_dir``, else a shipped pack by name; ``None`` if neither."""
    if looks_like_pack_name(reference):
        pack = pack_path(reference)
        if pack is not None:
            return pack
    candidate = os.path.abspath(os.path.join(base_dir, os.path.expanduser(reference)))
    if os.path.isfile(candidate):
        return candidate
    return None
