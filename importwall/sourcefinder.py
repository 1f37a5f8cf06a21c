"""Find a module's source file without importing it.

``importlib.util.find_spec("a.b")`` imports ``a`` to learn its ``__path__``; a static scan
and a fingerprint must never run the code they inspect, so this walks the search path
with :class:`importlib.machinery.PathFinder` one dotted segment at a time, using each
package's search locations as the path for its children. Namespace packages, extension
modules and sourceless files are found too; only ``.py`` files count as source.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.machinery import PathFinder

_SITE_DIRS = ("site-packages", "dist-packages")
_STDLIB = os.path.dirname(os.path.abspath(os.__file__))


@dataclass(frozen=True)
class ModuleSource:
    """Where a module lives: ``origin`` is its file (``None`` for a namespace package)."""

    name: str
    origin: str | None
    is_package: bool
    search_locations: tuple[str, ...] = ()

    @property
    def source(self) -> str | None:
        """The ``.py`` file to read, or ``None`` (extension module, namespace, bytecode)."""
        if self.origin and self.origin.endswith(".py"):
            return self.origin
        return None


def is_stdlib(name: str) -> bool:
    return name.partition(".")[0] in sys.stdlib_module_names


class SourceFinder:
    """Resolves dotted names against ``search_path``; answers are cached per name."""

    def __init__(self, search_path: Iterable[str]) -> None:
        self.search_path = _unique(os.path.abspath(entry or ".") for entry in search_path)
        self._cache: dict[str, ModuleSource | None] = {}

    def find(self, name: str) -> ModuleSource | None:
        try:
            return self._cache[name]
        except KeyError:
            pass
        found = self._find(name)
        self._cache[name] = found
        return found

    def _find(self, name: str) -> ModuleSource | None:
        parent, _, _ = name.rpartition(".")
        path: Sequence[str] = self.search_path
        if parent:
            package = self.find(parent)
            if package is None or not package.search_locations:
                return None
            path = package.search_locations
        try:
            spec = PathFinder.find_spec(name, list(path))
        except (ImportError, OSError, ValueError):
            return None
        if spec is None:
            return None
        locations = tuple(spec.submodule_search_locations or ())
        origin = spec.origin if spec.has_location else None
        return ModuleSource(name, origin, spec.submodule_search_locations is not None,
                            locations)


def module_name_for_file(path: str) -> tuple[str, str]:
    """``(dotted name, root folder)`` for a source file: the name it has when the folder
    above its outermost package (a folder with ``__init__.py``) is on ``sys.path``."""
    path = os.path.abspath(path)
    folder, filename = os.path.split(path)
    stem = os.path.splitext(filename)[0]
    parts = [] if stem == "__init__" else [stem]
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        folder, package = os.path.split(folder)
        parts.insert(0, package)
    return ".".join(parts), folder


def is_installed_location(path: str) -> bool:
    """Whether ``path`` lies in a site-packages folder or the standard library."""
    parts = os.path.normpath(path).split(os.sep)
    if any(part in _SITE_DIRS for part in parts):
        return True
    return os.path.abspath(path).startswith(_STDLIB + os.sep)


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)
