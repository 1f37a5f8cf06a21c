"""Installed distributions and their versions, read from their metadata (never imported).

``importlib_metadata`` is imported when a listing is asked for: by ``importwall audit``,
``fingerprint`` and the ``[distributions]`` check, never at interpreter start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from importwall.runtime.distributions import normalize

__all__ = ["installed_distributions"]


def installed_distributions(search_path: Iterable[str] | None = None,
                            keep: Callable[[str], bool] | None = None) -> dict[str, str]:
    """Normalized name -> version of the distributions on ``search_path`` (``sys.path``)
    whose name ``keep`` accepts (default: all); the first one on the path wins, as for
    imports."""
    import sys

    try:
        import importlib_metadata
    except ImportError:  # an interpreter without importwall's dependencies
        import importlib.metadata as importlib_metadata  # type: ignore[no-redef]

    found: dict[str, str] = {}
    path = list(sys.path if search_path is None else search_path)
    for dist in importlib_metadata.distributions(path=path):
        # The name from the folder (``_normalized_name``) costs no METADATA parsing, which
        # is most of this check's time in a large environment; versions are read only for
        # the distributions kept.
        name = getattr(dist, "_normalized_name", None) or _metadata_name(dist)
        if not name:
            continue
        name = normalize(name)
        if name not in found and (keep is None or keep(name)):
            found[name] = dist.version or ""
    return found


def _metadata_name(dist: Any) -> str | None:
    metadata = dist.metadata
    name = metadata["Name"] if metadata else None
    return str(name) if name else None
