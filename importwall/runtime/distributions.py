"""Which modules an installed distribution provides, read straight from its ``.dist-info``.

Used by ``deny_distributions`` at activation, so it must be cheap and standard library
only: it looks up only the distributions it is asked about (one directory listing per
``sys.path`` entry, cached), never every installed distribution the way
``importlib.metadata.packages_distributions()`` does.

Namespace packages are reported by their full dotted path: ``google-cloud-bigquery``
provides ``google.cloud.bigquery``, never all of ``google``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable

_NORMALIZE = re.compile(r"[-_.]+")
_SKIPPED_TOP = ("__pycache__", "..", "")
_SOURCE_SUFFIXES = (".py", ".pyc", ".so", ".pyd")


def normalize(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return _NORMALIZE.sub("-", name).lower()


def _dist_info_dirs(search_path: Iterable[str]) -> dict[str, str]:
    """Normalized distribution name -> its ``.dist-info`` folder, first on the path wins."""
    found: dict[str, str] = {}
    for entry in search_path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for item in names:
            if not item.endswith(".dist-info"):
                continue
            name = normalize(item[: -len(".dist-info")].split("-")[0])
            found.setdefault(name, os.path.join(entry, item))
    return found


def _module_of(path: str, packages: set[str]) -> str | None:
    """The importable name a RECORD path stands for, at the depth of its first regular
    package (a folder with ``__init__``), so namespace parents are never named alone."""
    parts = path.replace("\\", "/").split("/")
    if parts[0] in _SKIPPED_TOP or parts[0].endswith((".dist-info", ".data", ".egg-info")):
        return None
    for depth in range(1, len(parts)):
        if "/".join(parts[:depth]) in packages:
            return ".".join(parts[:depth])
    leaf = parts[-1]
    if not leaf.endswith(_SOURCE_SUFFIXES) or leaf.startswith("__init__."):
        return None
    stem = leaf.split(".")[0]
    if not stem.isidentifier():
        return None
    return ".".join([*parts[:-1], stem])


def modules_from_record(lines: Iterable[str]) -> set[str]:
    """Top-level importable names listed in a distribution's RECORD file."""
    paths = [line.split(",")[0] for line in lines if line.strip()]
    packages = {
        path.rsplit("/", 1)[0]
        for path in paths
        if path.rsplit("/", 1)[-1].startswith("__init__.") and "/" in path
    }
    modules = {_module_of(path, packages) for path in paths}
    return {name for name in modules if name and not name.endswith(".pth")}


def _read_lines(path: str) -> list[str] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().splitlines()
    except OSError:
        return None


_cache: dict[tuple[str, ...], dict[str, str]] = {}


def _dist_info(distribution: str, search_path: Iterable[str] | None) -> str | None:
    key = tuple(sys.path if search_path is None else search_path)
    if key not in _cache:
        _cache[key] = _dist_info_dirs(key)
    return _cache[key].get(normalize(distribution))


def install_folder(distribution: str, search_path: Iterable[str] | None = None) -> str | None:
    """The folder that holds ``distribution``'s ``.dist-info`` (and the files its RECORD
    lists, relative to it), or ``None`` when it is not installed."""
    dist_info = _dist_info(distribution, search_path)
    return os.path.dirname(dist_info) if dist_info is not None else None


def top_level_modules(distribution: str, search_path: Iterable[str] | None = None) -> list[str]:
    """Modules that ``distribution`` provides, or ``[]`` when it is not installed."""
    dist_info = _dist_info(distribution, search_path)
    if dist_info is None:
        return []
    record = _read_lines(os.path.join(dist_info, "RECORD"))
    if record:
        modules = modules_from_record(record)
        if modules:
            return sorted(modules)
    top_level = _read_lines(os.path.join(dist_info, "top_level.txt")) or []
    return sorted({line.strip().replace("/", ".") for line in top_level if line.strip()})
