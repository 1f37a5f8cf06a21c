"""Which policy to use when none is named.

:func:`resolve_policy` is the Python API's rule: the argument, else ``$IMPORTWALL_POLICY``.
:func:`discover_policy` is the command line's. In order: ``--policy``, else
``$IMPORTWALL_POLICY``, else the ``[tool.importwall]`` table of the nearest
``pyproject.toml`` (walking up from the current folder), else the nearest
``importwall.toml`` (the current folder, then each parent).

Standard library only: :func:`resolve_policy` is on the start-up path.
"""

from __future__ import annotations

import os

from importwall.policy.loader import PYPROJECT, load_policy
from importwall.policy.model import Policy
from importwall.settings import ENV_POLICY

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

POLICY_FILE = "importwall.toml"
_TABLE_MARKERS = ("[tool.importwall]", "[tool.importwall.")


def resolve_policy(policy: str | os.PathLike[str] | Policy | None, *, warn: bool = True
                   ) -> Policy:
    """``policy`` loaded: a :class:`Policy` as it is, a path or pack name loaded, ``None``
    for ``$IMPORTWALL_POLICY`` (:class:`ConfigurationError` when that is unset too).
    ``warn`` is :func:`~importwall.policy.loader.load_policy`'s."""
    if isinstance(policy, Policy):
        return policy
    if policy is None:
        policy = os.environ.get(ENV_POLICY)
        if not policy:
            from importwall.errors import ConfigurationError  # only to raise it

            raise ConfigurationError(
                f"importwall: no policy given; pass policy=PATH or set {ENV_POLICY} to a "
                "policy file or a shipped pack name (e.g. serving-base)")
    return load_policy(policy, warn=warn)


def discover_policy(explicit: str | None = None, environ: Mapping[str, str] | None = None,
                    cwd: str | None = None) -> str | None:
    """The policy reference to load, or ``None`` when there is none anywhere."""
    if explicit:
        return explicit
    env = os.environ if environ is None else environ
    if env.get(ENV_POLICY):
        return env[ENV_POLICY]
    start = os.path.abspath(cwd or os.getcwd())
    for folder in _upwards(start):
        candidate = os.path.join(folder, PYPROJECT)
        if _has_importwall_table(candidate):
            return candidate
    for folder in _upwards(start):
        candidate = os.path.join(folder, POLICY_FILE)
        if os.path.isfile(candidate):
            return candidate
    return None


def searched_description() -> str:
    """What :func:`discover_policy` looked at, for the error when it found nothing."""
    return (f"--policy, ${ENV_POLICY}, [tool.importwall] in pyproject.toml, and "
            f"{POLICY_FILE} in this folder and its parents")


def _upwards(folder: str) -> Iterator[str]:
    while True:
        yield folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return
        folder = parent


def _has_importwall_table(path: str) -> bool:
    """A textual check: a broken pyproject.toml that has the table must still be chosen,
    so that loading it reports its errors instead of silently looking elsewhere."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return False
    return any(line.strip().startswith(_TABLE_MARKERS) for line in text.splitlines())
