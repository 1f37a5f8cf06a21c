"""Every place a source file imports something, read from its syntax tree, and a cache of
those answers keyed by file so that a second scan of an unchanged tree parses nothing.

Function bodies are included (a handler's lazy import runs on some request, not at
start-up), ``if TYPE_CHECKING:`` bodies are not (they never run), and so are calls to
``importlib.import_module("literal")`` and ``__import__("literal")``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

CACHE_FORMAT = 1


@dataclass(frozen=True)
class ImportSite:
    """One import statement (or dynamic import call).

    ``module`` is what ``import``/``from`` names (``""`` for ``from . import x``),
    ``level`` its count of leading dots, ``names`` the names after ``from ... import``
    (empty for ``import a.b``), ``function`` the enclosing function's qualified name when
    the import only runs when that function is called.
    """

    line: int
    module: str
    level: int = 0
    names: tuple[str, ...] = ()
    function: str | None = None
    is_from: bool = False

    def to_list(self) -> list[object]:
        return [self.line, self.module, self.level, list(self.names), self.function,
                self.is_from]

    @classmethod
    def from_list(cls, data: list[Any]) -> ImportSite:
        line, module, level, names, function, is_from = data
        return cls(int(line), str(module), int(level), tuple(str(n) for n in names),
                   None if function is None else str(function), bool(is_from))


def parse_imports(source: bytes, filename: str) -> list[ImportSite]:
    """The import sites of one file, in source order. Raises :class:`SyntaxError`."""
    tree = ast.parse(source, filename=filename)
    collector = _Collector()
    collector.visit(tree)
    return sorted(collector.sites, key=lambda site: site.line)


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


_DYNAMIC_IMPORTERS = ("import_module", "__import__")


class _Collector(ast.NodeVisitor):
    def __init__(self) -> None:
        self.sites: list[ImportSite] = []
        self._scope: list[str] = []
        self._functions = 0  # how many of the enclosing scopes are functions

    @property
    def _function(self) -> str | None:
        return ".".join(self._scope) if self._functions else None

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.sites.append(ImportSite(node.lineno, alias.name, function=self._function))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        names = tuple(alias.name for alias in node.names)
        self.sites.append(ImportSite(node.lineno, node.module or "", node.level, names,
                                     self._function, is_from=True))

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        if not _is_type_checking(node.test):
            for statement in node.body:
                self.visit(statement)
        for statement in node.orelse:
            self.visit(statement)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else (
            func.id if isinstance(func, ast.Name) else None)
        if called in _DYNAMIC_IMPORTERS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and \
                    first.value and not first.value.startswith("."):
                self.sites.append(ImportSite(node.lineno, first.value, function=self._function))
        self.generic_visit(node)

    def _visit_scope(self, node: ast.AST, name: str, is_function: bool) -> None:
        self._scope.append(name)
        self._functions += is_function
        try:
            self.generic_visit(node)
        finally:
            self._scope.pop()
            self._functions -= is_function

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_scope(node, node.name, True)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_scope(node, node.name, True)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_scope(node, "<lambda>", True)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._visit_scope(node, node.name, False)


# --------------------------------------------------------------------------- cache


def default_cache_dir() -> str:
    """The per-user cache folder: ``$XDG_CACHE_HOME/importwall`` (``~/.cache``) on Linux,
    ``~/Library/Caches/importwall`` on macOS, ``%LOCALAPPDATA%\\importwall\\Cache`` on
    Windows."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
        return os.path.join(base, "importwall", "Cache")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Caches/importwall")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "importwall")


@dataclass
class CacheStats:
    parsed: int = 0
    reused: int = 0


class SiteCache:
    """Import sites per file, reused while the file's mtime and size are unchanged, or,
    when those changed, while its content hash is (a checkout that touched the file).

    ``path`` is one JSON file; ``None`` keeps the cache in memory only.
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.stats = CacheStats()
        self._entries: dict[str, dict[str, object]] = {}
        self._dirty = False
        if path:
            self._entries = _read_cache(path)

    def sites(self, filename: str) -> list[ImportSite]:
        """Raises :class:`SyntaxError` or :class:`OSError` for a file that cannot be read."""
        status = os.stat(filename)
        entry = self._entries.get(filename)
        if entry and entry.get("mtime_ns") == status.st_mtime_ns and \
                entry.get("size") == status.st_size:
            cached = _sites_of(entry)
            if cached is not None:
                self.stats.reused += 1
                return cached
        with open(filename, "rb") as handle:
            source = handle.read()
        digest = hashlib.sha256(source).hexdigest()
        self._dirty = True
        if entry and entry.get("sha256") == digest:
            cached = _sites_of(entry)
            if cached is not None:
                entry.update(mtime_ns=status.st_mtime_ns, size=status.st_size)
                self.stats.reused += 1
                return cached
        self.stats.parsed += 1
        sites = parse_imports(source, filename)
        self._entries[filename] = {"mtime_ns": status.st_mtime_ns, "size": status.st_size,
                                   "sha256": digest, "sites": [s.to_list() for s in sites]}
        return sites

    def save(self) -> None:
        """Write the cache atomically; a cache that cannot be written is skipped, never an
        error (the scan's answer does not depend on it)."""
        if not self.path or not self._dirty:
            return
        import tempfile

        data = {"format": CACHE_FORMAT, "files": self._entries}
        folder = os.path.dirname(self.path)
        try:
            os.makedirs(folder, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".scan-", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, separators=(",", ":"))
            os.replace(temporary, self.path)
        except OSError:
            return
        self._dirty = False


def cache_file(cache_dir: str, key: str) -> str:
    """One cache file per interpreter version (syntax differs) and per scanned project."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    version = f"{sys.version_info[0]}{sys.version_info[1]}"
    return os.path.join(cache_dir, f"scan-py{version}-{digest}.json")


def _sites_of(entry: dict[str, object]) -> list[ImportSite] | None:
    """The cached sites, or ``None`` when the entry is damaged (then the file is parsed)."""
    raw = entry.get("sites")
    if not isinstance(raw, list):
        return None
    try:
        return [ImportSite.from_list(item) for item in raw]
    except (TypeError, ValueError):
        return None


def _read_cache(path: str) -> dict[str, dict[str, object]]:
    """A missing, corrupt or older-format cache reads as empty."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}
