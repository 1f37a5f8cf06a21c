"""Every place a source file imports something, read from its syntax tree, and a cache of
those answers keyed by file so that a second scan of an unchanged tree parses nothing.

Function bodies are included (a handler's lazy import runs on some request, not at
start-up), ``if TYPE_CHECKING:`` bodies are not (they never run), and so are calls to
``importlib.import_module("literal")`` and ``__import__("literal")``.
"""

from __future__ import annotations

import ast
import bisect
import hashlib
import marshal
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, NamedTuple

from importwall.policy.cache import owned_by_user, user_cache_dir

CACHE_FORMAT = 2
"""2: marshal (1 was JSON, five times slower to read back for a large tree)."""


class ImportSite(NamedTuple):
    """One import statement (or dynamic import call). (A named tuple: a warm scan of a
    large tree makes one per cached site, and a tuple is the cheapest to make.)

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
        if not (type(line) is int and type(module) is str and type(level) is int
                and (function is None or type(function) is str)):
            raise ValueError(f"not an import site: {data!r}")
        return cls(line, module, level, tuple(str(n) for n in names), function, bool(is_from))


def parse_imports(source: bytes, filename: str) -> list[ImportSite]:
    """The import sites of one file, in source order. Raises :class:`SyntaxError`.

    Import statements are statements: unless the file mentions a dynamic importer
    (``import_module``, ``__import__``), only statement lists are walked, not every
    expression node, which is most of what a full visit of a syntax tree costs."""
    if len(source) >= _REGIONS_FROM and _splittable(source):
        try:
            return _parse_regions(source, filename)
        except SyntaxError:
            pass  # a region did not parse alone: the whole file says why, or parses
    return _sorted(_parse(source, filename))


def _parse(source: bytes, filename: str) -> list[ImportSite]:
    tree = ast.parse(source, filename=filename)
    sites: list[ImportSite] = []
    if any(name in source for name in _DYNAMIC_IMPORTER_BYTES):
        collector = _Collector()
        collector.visit(tree)
        sites = collector.sites
    else:
        _statements(tree.body, [], 0, sites)
    return sites


def _sorted(sites: list[ImportSite]) -> list[ImportSite]:
    return sorted(sites, key=lambda site: site.line)


# -- large files: parse only the statements that can import
#
# Most of a large module is function and class bodies without an import statement, and
# parsing is most of a cold scan's time. A top-level statement starts at a line that begins
# (in column 0) with one of _KEYWORDS, outside a triple-quoted string and not after a
# backslash continuation; a decorator keeps the statement it decorates. Regions between
# such lines that hold no possible import (_may_import) are skipped; the rest are parsed
# alone, and their sites are the file's. A large class or function statement that may
# import is split the same way one indentation level down, each part parsed after a
# synthetic ``class NAME:`` / ``def NAME():`` line, so its functions keep their names. A
# line taken for a statement start wrongly (inside brackets, say) leaves a region that does
# not parse alone, and then the whole file is parsed. Triple-quoted strings are found by
# their quotes alone, so a file where a triple quote may be something else (after a ``#``,
# a backslash or the other quote character) is parsed whole, and so is one with a coding
# cookie or old Mac line ends (a region has neither).

_REGIONS_FROM = 8192
"""Smaller files are parsed whole: splitting them saves less than it costs."""
_SPLIT_BODY_FROM = 8192
"""A top-level class or function statement at least this large that may import has its
body split; one inside a body, from _SPLIT_NESTED_FROM."""
_SPLIT_NESTED_FROM = 2048
_KEYWORDS = rb"(?:def|class|async|import|from|if|try|with|for|while|@)"
_STATEMENT = re.compile(rb"\n" + _KEYWORDS)
_LINE_IMPORT = re.compile(rb"\n[ \t\f]*(?:import|from)\b")
_INLINE_IMPORT = re.compile(rb"[;:][ \t\f]*(?:import|from)\b")
_FIRST_LINE_IMPORT = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\f]*(?:import|from)\b")
_MISLEADING_QUOTES = re.compile(rb"#[^\n]*(?:\"{3}|'{3})")
_QUOTED_QUOTES = tuple(quotes.encode() for quotes in (
    '\\"""', "\\'''", "'\"\"\"", "\"\"\"'", "\"'''", "'''\""))
"""A triple quote after a backslash or the other quote: not (only) a string's."""
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=]", re.MULTILINE)
_HEADER = re.compile(rb"([ \t]*)(async[ \t]+def|def|class)[ \t]+(\w+)")
_DECORATOR = re.compile(rb"[ \t]*@")
_BODY_LINE = re.compile(
    rb"\n([ \t]+)(?:(?:def|class|async|import|from|if|try|with|for|while)\b|@)")
"""The first line of a body that starts a statement, for the body's indentation."""
_INDENTED: dict[bytes, re.Pattern[bytes]] = {}

Region = tuple[int, int, bytes]
"""``(start, end, header)``: ``source[start:end]`` parses after ``header``: for a part of
a body, the synthetic ``class NAME:`` / ``def NAME():`` lines of the scopes around it."""


class _Strings:
    """Where a file's triple-quoted strings are, by their quotes: one opens a string that
    only the same three quotes close."""

    def __init__(self, source: bytes) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.closed = True
        double, single = source.find(b'"""'), source.find(b"'''")
        while double >= 0 or single >= 0:
            quote, at = (b'"""', double) if single < 0 or 0 <= double < single else \
                (b"'''", single)
            close = source.find(quote, at + 3)
            self.starts.append(at)
            if close < 0:
                self.closed = False
                return
            self.ends.append(close + 3)
            if 0 <= double < close + 3:
                double = source.find(b'"""', close + 3)
            if 0 <= single < close + 3:
                single = source.find(b"'''", close + 3)

    def inside(self, offset: int) -> bool:
        index = bisect.bisect_right(self.starts, offset) - 1
        return index >= 0 and self.ends[index] > offset


def _splittable(source: bytes) -> bool:
    """Whether a triple quote in ``source`` can only be a string's (none after a ``#``, a
    backslash or the other quote: a comment, an escape, a single-quoted string); and no
    coding cookie or old Mac line ends."""
    return not (_MISLEADING_QUOTES.search(source) is not None
                or any(quote in source for quote in _QUOTED_QUOTES)
                or _COOKIE.search(source, 0, 400) is not None
                or source.count(b"\r") != source.count(b"\r\n"))


def _bounds(source: bytes, strings: _Strings, start: int, end: int,
            pattern: re.Pattern[bytes]) -> list[int]:
    """The offsets in ``[start, end)`` where ``pattern`` (a newline, the indentation, a
    statement keyword) starts a statement: ``start``, then each line it matches outside
    a triple-quoted string and not after a backslash, a decorator's statement excepted."""
    bounds = [start]
    decorated = start < end and source[start] == 64  # "@"
    for match in pattern.finditer(source, start, end):
        at = match.start() + 1  # the line's first byte
        follows_decorator = decorated
        decorated = source[match.end() - 1] == 64
        if follows_decorator or strings.inside(at) or source.endswith(b"\\", 0, at - 1) \
                or source.endswith(b"\\\r", 0, at - 1):
            continue
        bounds.append(at)
    bounds.append(end)
    return bounds


def _regions(source: bytes) -> list[Region] | None:
    """The runs of top-level statements that may import, and within a large class or
    function statement that may, the runs of its body's statements that may, and so on
    down; ``None`` when a triple-quoted string does not end."""
    strings = _Strings(source)
    if not strings.closed:
        return None
    regions: list[Region] = []
    bounds = _bounds(source, strings, 0, len(source), _STATEMENT)
    for start, end in pairwise(bounds):
        if _may_import(source, start, end) and (
                end - start < _SPLIT_BODY_FROM
                or not _split_body(source, strings, start, end, b"", regions)):
            _add(regions, start, end, b"")
    return regions


def _split_body(source: bytes, strings: _Strings, start: int, end: int, headers: bytes,
                regions: list[Region]) -> bool:
    """Add to ``regions`` those of the statement at ``start`` split at its body's
    statements (parsed after ``headers``, the synthetic lines of the scopes around it, and
    its own); ``False``, adding none, when it is not one ``class``/``def`` (after its
    decorators) with an indented body."""
    at = start
    while _DECORATOR.match(source, at, end) is not None:  # they stay in the first region
        at = source.find(b"\n", at, end) + 1
        if at == 0:
            return False
    header = _HEADER.match(source, at, end)
    if header is None:
        return False
    own, kind, name = header.groups()
    body = _body_line(source, strings, header.end(), end, own)
    if body is None:
        return False
    indent = body.group(1)
    scope = headers + own + (b"class " + name + b":\n" if kind == b"class" else
                             kind + b" " + name + b"():\n")
    pattern = _INDENTED.get(indent)
    if pattern is None:
        pattern = _INDENTED[indent] = re.compile(rb"\n" + re.escape(indent) + _KEYWORDS)
    bounds = _bounds(source, strings, body.start() + 1, end, pattern)
    if _may_import(source, start, bounds[0]):  # decorators, header, what precedes
        _add(regions, start, bounds[0], headers)
    for first, last in pairwise(bounds):
        if _may_import(source, first, last) and (
                last - first < _SPLIT_NESTED_FROM
                or not _split_body(source, strings, first, last, scope, regions)):
            _add(regions, first, last, scope)
    return True


def _body_line(source: bytes, strings: _Strings, start: int, end: int, own: bytes
               ) -> re.Match[bytes] | None:
    """The least indented statement line of the body in ``[start, end)`` (a keyword line
    deeper than that, inside brackets, is not the body's), outside strings; ``None`` when
    none is indented deeper than ``own``."""
    best = None
    for line in _BODY_LINE.finditer(source, start, end):
        indent = line.group(1)
        if strings.inside(line.start() + 1) or len(indent) <= len(own) or \
                not indent.startswith(own):
            continue
        if best is None or len(indent) < len(best.group(1)):
            best = line
            if len(indent) <= len(own) + 4:
                break  # as shallow as a body is
    return best


def _add(regions: list[Region], start: int, end: int, header: bytes) -> None:
    if regions and regions[-1][1] == start and regions[-1][2] == header:
        regions[-1] = (regions[-1][0], end, header)
    else:
        regions.append((start, end, header))


def _may_import(source: bytes, start: int, end: int) -> bool:
    """Whether ``source[start:end]`` may hold an import statement or a dynamic import (every
    one has the bytes ``import``; a doctest's ``>>> import`` is not one). Each pattern
    begins with one literal or class, which ``re`` searches for fastest."""
    if source.find(b"import", start, end) < 0:
        return False
    if start == 0 and _FIRST_LINE_IMPORT.match(source) is not None:
        return True
    return (_LINE_IMPORT.search(source, max(start - 1, 0), end) is not None
            or _INLINE_IMPORT.search(source, start, end) is not None
            or source.find(b"__import__", start, end) >= 0
            or source.find(b"import_module", start, end) >= 0)


def _parse_regions(source: bytes, filename: str) -> list[ImportSite]:
    """:func:`parse_imports` for a large file; raises :class:`SyntaxError` when a region
    does not parse alone."""
    regions = _regions(source)
    if regions is None:
        return _sorted(_parse(source, filename))
    sites: list[ImportSite] = []
    for start, end, header in regions:
        found = _parse(header + source[start:end], filename)
        offset = source.count(b"\n", 0, start) - header.count(b"\n")
        sites.extend(site._replace(line=site.line + offset) for site in found)
    return _sorted(sites)


_Import, _ImportFrom, _If = ast.Import, ast.ImportFrom, ast.If
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_NESTED = (ast.excepthandler, ast.match_case)  # not statements, but hold statement lists


def _statements(body: list[ast.stmt], scope: list[str], functions: int,
                sites: list[ImportSite]) -> None:
    """The import statements of ``body`` and of every statement list nested in it, with
    the enclosing function as :class:`_Collector` names it (the same answers, fewer
    nodes)."""
    function = ".".join(scope) if functions else None
    for node in body:
        kind = type(node)
        if kind is _Import:
            for alias in node.names:  # type: ignore[attr-defined]
                sites.append(ImportSite(node.lineno, alias.name, function=function))
        elif kind is _ImportFrom:
            assert isinstance(node, ast.ImportFrom)
            sites.append(ImportSite(node.lineno, node.module or "", node.level,
                                    tuple(alias.name for alias in node.names), function,
                                    is_from=True))
        elif isinstance(node, _FUNCTIONS):
            _statements(node.body, [*scope, node.name], functions + 1, sites)
        elif isinstance(node, ast.ClassDef):
            _statements(node.body, [*scope, node.name], functions, sites)
        elif kind is _If:
            assert isinstance(node, ast.If)
            if not _is_type_checking(node.test):
                _statements(node.body, scope, functions, sites)
            _statements(node.orelse, scope, functions, sites)
        else:
            for field in node._fields:  # try/with/for/while/match bodies, handlers, cases
                value = getattr(node, field)
                if type(value) is list and value:
                    for item in value:
                        if isinstance(item, ast.stmt):
                            _statements([item], scope, functions, sites)
                        elif isinstance(item, _NESTED):
                            _statements(item.body, scope, functions, sites)  # type: ignore[union-attr]


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


_DYNAMIC_IMPORTERS = ("import_module", "__import__")
_DYNAMIC_IMPORTER_BYTES = tuple(name.encode() for name in _DYNAMIC_IMPORTERS)


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
    """The per-user cache folder (:func:`importwall.policy.cache.user_cache_dir`)."""
    return user_cache_dir()


_PARALLEL_FROM = 64
"""Fewer files than this to parse at once are parsed in this process."""

_Parsed = tuple[str, int, int, str, "list[ImportSite] | BaseException"]
"""A worker's answer: file, mtime_ns, size, sha256, and its sites or why it has none."""


class _Outcome:
    """A worker's parse, given back the way :func:`parse_imports` gives it."""

    def __init__(self, outcome: list[ImportSite] | BaseException) -> None:
        self.outcome = outcome

    def __call__(self) -> list[ImportSite]:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def _read_and_parse(filename: str) -> _Parsed:
    """Read and parse one file (in a worker process): what :meth:`SiteCache.sites` does
    for a file the cache cannot answer."""
    try:
        status = os.stat(filename)
        with open(filename, "rb") as handle:
            source = handle.read()
    except OSError as error:
        return filename, 0, 0, "", error
    digest = hashlib.sha256(source).hexdigest()
    try:
        return filename, status.st_mtime_ns, status.st_size, digest, \
            parse_imports(source, filename)
    except (SyntaxError, ValueError) as error:
        return filename, status.st_mtime_ns, status.st_size, digest, error


@dataclass
class CacheStats:
    parsed: int = 0
    reused: int = 0


class SiteCache:
    """Import sites per file, reused while the file's mtime and size are unchanged, or,
    when those changed, while its content hash is (a checkout that touched the file).

    ``path`` is one marshal file; ``None`` keeps the cache in memory only. ``workers``:
    how many processes may parse the files :meth:`prefetch` is given (below 2: none).
    """

    def __init__(self, path: str | None, workers: int = 0) -> None:
        self.path = path
        self.stats = CacheStats()
        self.workers = workers
        self._entries: dict[str, dict[str, object]] = {}
        self._dirty = False
        self._status: dict[str, os.stat_result] = {}
        self._parsing: dict[str, Iterator[_Parsed]] = {}
        self._parsed: dict[str, _Parsed] = {}
        self._pool: Any = None
        self.read: dict[str, tuple[int, int] | None] = {}
        """Each file asked for, with its ``(mtime_ns, size)`` when it was read (``None``:
        it could not be)."""
        if path:
            self._entries = _read_cache(path)

    def _fresh(self, filename: str, status: os.stat_result) -> dict[str, object] | None:
        entry = self._entries.get(filename)
        if entry and entry.get("mtime_ns") == status.st_mtime_ns and \
                entry.get("size") == status.st_size:
            return entry
        return None

    def prefetch(self, filenames: Sequence[str]) -> None:
        """Start parsing, in worker processes, those of ``filenames`` the cache cannot
        answer (when there are enough of them to be worth it); :meth:`sites` then takes
        their answers. The answers are the same either way."""
        if self.workers < 2:
            return
        todo = []
        for filename in filenames:
            if filename in self._parsing or filename in self._parsed:
                continue
            try:
                status = self._status[filename] = os.stat(filename)
            except OSError:
                continue  # sites() says why
            if self._fresh(filename, status) is None:
                todo.append(filename)
        if len(todo) < _PARALLEL_FROM:
            return
        pool = self._start_pool()
        if pool is None:
            return
        chunk = max(1, min(64, len(todo) // (self.workers * 4)))
        results: Iterator[_Parsed] = pool.imap(_read_and_parse, todo, chunk)
        for filename in todo:
            self._parsing[filename] = results

    def _start_pool(self) -> Any:
        """Forked workers (they inherit this process: no start-up), or ``None`` where
        forking is not safe (not Linux, or other threads running)."""
        if self._pool is None:
            import threading

            if sys.platform != "linux" or threading.active_count() > 1:
                self.workers = 0
                return None
            import multiprocessing

            self._pool = multiprocessing.get_context("fork").Pool(self.workers)
        return self._pool

    def close(self) -> None:
        """Stop the workers, if any were started."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        self._parsing.clear()
        self._parsed.clear()

    def _take(self, filename: str) -> _Parsed | None:
        """A worker's answer for ``filename``, waiting for it; ``None`` when none was asked."""
        results = self._parsing.pop(filename, None)
        if results is None:
            return self._parsed.pop(filename, None)
        while filename not in self._parsed:
            parsed = next(results)
            if parsed[0] != filename:
                self._parsing.pop(parsed[0], None)
            self._parsed[parsed[0]] = parsed
        return self._parsed.pop(filename)

    def sites(self, filename: str) -> list[ImportSite]:
        """Raises :class:`SyntaxError` or :class:`OSError` for a file that cannot be read."""
        self.read[filename] = None
        parsed = self._take(filename) if self._parsing else None
        if parsed is not None:
            _, mtime_ns, size, digest, outcome = parsed
            if isinstance(outcome, OSError):
                raise outcome
            self.read[filename] = (mtime_ns, size)
            return self._answer(filename, mtime_ns, size, digest, _Outcome(outcome))
        status = self._status.pop(filename, None) or os.stat(filename)
        self.read[filename] = (status.st_mtime_ns, status.st_size)
        entry = self._fresh(filename, status)
        if entry:
            cached = _sites_of(entry)
            if cached is not None:
                self.stats.reused += 1
                return cached
        with open(filename, "rb") as handle:
            source = handle.read()
        digest = hashlib.sha256(source).hexdigest()
        return self._answer(filename, status.st_mtime_ns, status.st_size, digest,
                            lambda: parse_imports(source, filename))

    def _answer(self, filename: str, mtime_ns: int, size: int, digest: str,
                parse: Callable[[], list[ImportSite]]) -> list[ImportSite]:
        """The sites of a file whose mtime or size changed: the cached ones while its
        content hash is unchanged, else ``parse()``'s, recorded."""
        self._dirty = True
        entry = self._entries.get(filename)
        if entry and entry.get("sha256") == digest:
            cached = _sites_of(entry)
            if cached is not None:
                entry.update(mtime_ns=mtime_ns, size=size)
                self.stats.reused += 1
                return cached
        self.stats.parsed += 1
        sites = parse()
        self._entries[filename] = {"mtime_ns": mtime_ns, "size": size, "sha256": digest,
                                   "sites": [s.to_list() for s in sites]}
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
            os.makedirs(folder, mode=0o700, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".scan-", suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                out.write(marshal.dumps(data))
            os.replace(temporary, self.path)
        except (OSError, ValueError):
            return
        self._dirty = False


def cache_file(cache_dir: str, key: str) -> str:
    """One cache file per interpreter version (syntax differs) and per scanned project."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    version = f"{sys.version_info[0]}{sys.version_info[1]}"
    return os.path.join(cache_dir, f"scan-py{version}-{digest}.marshal")


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
    """A missing, corrupt or older-format cache reads as empty, and so does one another
    user owns or others may write (it could hide an import from the scan)."""
    try:
        with open(path, "rb") as handle:
            if not owned_by_user(os.fstat(handle.fileno())):
                return {}
            data = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}
