"""Find a module's source file without importing it.

``importlib.util.find_spec("a.b")`` imports ``a`` to learn its ``__path__``, and
``PathFinder`` looks namespace parents up in ``sys.modules``; a static scan and a
fingerprint must never run the code they inspect, so this walks the search path one dotted
segment at a time the way the path-based finder does (a package folder with ``__init__``
first, then a module file, extension modules before source before bytecode; folders without
``__init__`` become namespace packages when nothing else matches), using each package's
folders as the path for its children. Only ``.py`` files count as source. Import hooks
(zip files, editable-install finders) are not consulted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.machinery import BYTECODE_SUFFIXES, EXTENSION_SUFFIXES, SOURCE_SUFFIXES

_SITE_DIRS = ("site-packages", "dist-packages")
_SUFFIXES = (*EXTENSION_SUFFIXES, *SOURCE_SUFFIXES, *BYTECODE_SUFFIXES)
"""In the order :class:`importlib.machinery.FileFinder` tries them."""
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
        self._listings: dict[str, frozenset[str]] = {}
        self.folder_mtimes: dict[str, int | None] = {}
        """Each folder listed, with its mtime when it was (``None``: not a folder)."""

    def find(self, name: str) -> ModuleSource | None:
        try:
            return self._cache[name]
        except KeyError:
            pass
        found = self._find(name)
        self._cache[name] = found
        return found

    def _find(self, name: str) -> ModuleSource | None:
        parent, _, leaf = name.rpartition(".")
        path: Sequence[str] = self.search_path
        if parent:
            package = self.find(parent)
            if package is None or not package.search_locations:
                return None
            path = package.search_locations
        portions: list[str] = []
        for folder in path:
            entries = self._listing(folder)
            if leaf in entries:
                package_dir = os.path.join(folder, leaf)
                inner = self._listing(package_dir)
                for suffix in _SUFFIXES:
                    if "__init__" + suffix in inner:
                        return ModuleSource(name, os.path.join(package_dir, "__init__" + suffix),
                                            True, (package_dir,))
                if inner or os.path.isdir(package_dir):  # a namespace portion, unless a
                    portions.append(package_dir)  # module of that name comes first
            for suffix in _SUFFIXES:
                if leaf + suffix in entries:
                    return ModuleSource(name, os.path.join(folder, leaf + suffix), False)
        if portions:
            return ModuleSource(name, None, True, tuple(portions))
        return None

    def _listing(self, folder: str) -> frozenset[str]:
        """The names in ``folder``, read once (the way FileFinder caches them)."""
        try:
            return self._listings[folder]
        except KeyError:
            pass
        try:  # its mtime before its names: a scan's kept answer depends on both
            self.folder_mtimes[folder] = os.stat(folder).st_mtime_ns
        except OSError:
            self.folder_mtimes[folder] = None
        try:
            names = frozenset(os.listdir(folder))
        except OSError:  # not a folder, or unreadable: nothing to import from it
            names = frozenset()
        self._listings[folder] = names
        return names


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
