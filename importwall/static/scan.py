"""Find, without running anything, every import chain from a serving
entry point to a module the policy denies.

A start-up run only sees the imports that execute while the server starts; a handler's
lazy ``from training import ...`` fires on the first request that takes that branch. The
scan reads the syntax tree of every first-party module reachable from the entry points
(and, with ``follow_third_party``, of installed packages), function bodies included,
``if TYPE_CHECKING:`` blocks excluded, and reports each import site of a denied module
with the chain that reaches it, file and line per hop.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from importwall.errors import ScanError
from importwall.findings import KIND_SCAN, Finding, Frame
from importwall.policy import Policy
from importwall.runtime.matcher import Matcher
from importwall.static.sourcefinder import (
    ModuleSource,
    SourceFinder,
    is_installed_location,
    is_stdlib,
    module_name_for_file,
)

if TYPE_CHECKING:  # the parser and its cache are imported when a scan runs
    from importwall.static.importsites import ImportSite, SiteCache

Progress = Callable[[int, int], None]
"""Called with (modules done, modules found so far) as the scan advances."""


class _Edge:
    """``importer`` reaches ``target`` through the import at ``file:line``. (A plain class:
    a scan of a large tree makes one per import site.)"""

    __slots__ = ("file", "function", "importer", "line")

    def __init__(self, importer: str, file: str, line: int, function: str | None) -> None:
        self.importer = importer
        self.file = file
        self.line = line
        self.function = function

    def frame(self) -> Frame:
        return Frame(self.importer, self.file, self.line, self.function)


@dataclass
class ScanResult:
    findings: list[Finding]
    modules: int = 0
    """Modules whose source was read (from the cache or parsed)."""
    parsed: int = 0
    reused: int = 0
    entrypoints: list[str] = field(default_factory=list)


class _Target(NamedTuple):
    """A module an import site makes Python import, in the order it imports them."""

    name: str
    exists: bool


class Scanner:
    """One scan: a policy, a search path, which code to follow, and a cache."""

    def __init__(self, policy: Policy, search_path: Sequence[str] | None = None,
                 first_party: Sequence[str] = (), follow_third_party: bool = False,
                 cache_dir: str | None = None, progress: Progress | None = None,
                 workers: int | None = None) -> None:
        self.policy = policy
        self.matcher = Matcher.from_policy(policy)
        self.workers = default_workers() if workers is None else workers
        """Processes that parse a large tree's files side by side (below 2: none)."""
        self._search_path = list(sys.path if search_path is None else search_path)
        self._first_party = [os.path.abspath(p) for p in first_party]
        self.follow_third_party = follow_third_party
        self.cache_dir = cache_dir
        self.progress = progress

    # -- entry points

    def _entrypoints(self, entrypoints: Sequence[str]) -> tuple[list[str], list[str]]:
        """Module names of the entry points, and the folders they make first-party."""
        names: list[str] = []
        roots: list[str] = []
        for entry in entrypoints:
            if entry.endswith(".py") or os.sep in entry or "/" in entry:
                if not os.path.isfile(entry):
                    raise ScanError(f"importwall scan: no such file {entry!r}; give a module "
                                    "name (myservice.app) or a path to a .py file")
                name, root = module_name_for_file(entry)
                names.append(name)
                roots.append(root)
            else:
                names.append(entry)
        return names, roots

    def scan(self, entrypoints: Sequence[str]) -> ScanResult:
        from importwall.static.importsites import SiteCache, cache_file

        if self.cache_dir:  # before any folder is listed: it may be in one
            with contextlib.suppress(OSError):  # (then nothing is kept)
                os.makedirs(self.cache_dir, mode=0o700, exist_ok=True)
        names, roots = self._entrypoints(entrypoints)
        search_path = [*roots, *self._search_path]
        finder = SourceFinder(search_path)
        first_party = list(self._first_party or roots)
        for name in names:
            found = finder.find(name)
            if found is None:
                raise ScanError(
                    f"importwall scan: cannot find module {name!r} on the search path; run "
                    "from the project folder, pass --path FOLDER, or give the file's path")
            if not self._first_party and found.origin and _root_of(found) not in first_party:
                first_party.append(_root_of(found))
        kept = key = None
        if self.cache_dir:
            from importwall.static import scanresult

            key = scanresult.result_key(self.policy, names, finder.search_path, first_party,
                                        self.follow_third_party)
            if key is not None:
                kept = cache_file(self.cache_dir, "result\0" + key)
                answer = scanresult.load(kept, key)
                if answer is not None:
                    findings, modules = answer
                    return ScanResult(findings, modules, 0, modules, names)
        policy_files = {path: scanresult.file_status(path) for path in self.policy.files} \
            if kept else {}
        cache = SiteCache(cache_file(self.cache_dir, "\0".join(sorted(first_party)))
                          if self.cache_dir else None, self.workers)
        walk = _Walk(self, finder, first_party, cache)
        try:
            walk.run(names)
        finally:
            cache.close()
        cache.save()
        if kept and key:
            scanresult.save(kept, key, walk.findings, walk.done,
                            {**cache.read, **policy_files}, finder.folder_mtimes)
        return ScanResult(walk.findings, walk.done, cache.stats.parsed, cache.stats.reused,
                          names)


def default_workers() -> int:
    """One parsing process per CPU this process may run on, up to 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    return min(cpus, 8)


def _root_of(module: ModuleSource) -> str:
    """The search-path folder a module was found in: its first-party root."""
    assert module.origin is not None
    folder = os.path.dirname(module.origin)
    depth = module.name.count(".") + (1 if module.is_package else 0)
    for _ in range(depth):
        folder = os.path.dirname(folder)
    return folder


class _Walk:
    """Breadth-first over the import graph, so each reported chain is a shortest one."""

    def __init__(self, scanner: Scanner, finder: SourceFinder, first_party: Sequence[str],
                 cache: SiteCache) -> None:
        self.scanner = scanner
        self.matcher = scanner.matcher
        self.finder = finder
        self.first_party = first_party
        self.cache = cache
        self.reached_by: dict[str, _Edge | None] = {}
        self.findings: list[Finding] = []
        self.done = 0
        self._reported: set[tuple[str, int, str]] = set()
        self._queue: deque[str] = deque()
        self._chains: dict[str, list[_Target]] = {}
        self._first_party_folders: dict[str, bool] = {}

    def run(self, entrypoints: Iterable[str]) -> None:
        for name in entrypoints:
            self._reach(name, None)
        offered: set[str] = set()
        while self._queue:
            if self.cache.workers > 1 and self._queue[0] not in offered:
                # The next breadth-first level: its files can be parsed side by side
                # while this process resolves their imports in the same order.
                level = list(self._queue)
                offered.update(level)
                self.cache.prefetch([source for source in map(self._source, level)
                                     if source is not None])
            self._visit(self._queue.popleft())
            if self.scanner.progress is not None:
                self.scanner.progress(self.done, self.done + len(self._queue))

    def _reach(self, name: str, edge: _Edge | None) -> None:
        if name not in self.reached_by:
            self.reached_by[name] = edge
            self._queue.append(name)

    def _follows(self, module: ModuleSource) -> bool:
        source = module.source
        if source is None or is_stdlib(module.name):
            return False
        if self.scanner.follow_third_party:
            return True
        folder = os.path.dirname(source)
        first_party = self._first_party_folders.get(folder)
        if first_party is None:  # the same answer for every file of a folder
            first_party = self._first_party_folders[folder] = \
                not is_installed_location(source) and any(
                    _is_under(source, root) for root in self.first_party)
        return first_party

    def _source(self, name: str) -> str | None:
        """The file of a module the scan follows, else ``None``."""
        module = self.finder.find(name)
        return module.source if module is not None and self._follows(module) else None

    def _visit(self, name: str) -> None:
        module = self.finder.find(name)
        if module is None or not self._follows(module):
            return
        source = module.source
        assert source is not None
        try:
            sites = self.cache.sites(source)
        except (SyntaxError, ValueError) as error:  # ValueError: null bytes, Python < 3.12
            line = getattr(error, "lineno", None) or 1
            reason = getattr(error, "msg", None) or str(error)
            self._problem(name, source, line, "scan-syntax-error",
                          f"cannot parse {source}: {reason}; imports in this file were "
                          "not scanned")
            return
        except OSError as error:
            self._problem(name, source, 1, "scan-unreadable",
                          f"cannot read {source}: {error.strerror}")
            return
        self.done += 1
        for site in sites:
            edge = _Edge(name, source, site.line, site.function)
            denied: list[str] = []
            for target in self._targets(module, site, edge):
                if denied and any(target.name.startswith(d + ".") for d in denied):
                    continue  # its parent package is denied: the import stops there
                if self._check(target, edge):
                    denied.append(target.name)
                elif target.exists:
                    self._reach(target.name, edge)

    # -- resolving an import site

    def _base(self, module: ModuleSource, site: ImportSite, edge: _Edge) -> str | None:
        if not site.level:
            return site.module
        package = module.name if module.is_package else module.name.rpartition(".")[0]
        parts = package.split(".") if package else []
        if site.level - 1 >= len(parts):  # Python raises ImportError for these
            self._problem(edge.importer, edge.file, edge.line, "scan-bad-relative-import",
                          f"relative import beyond the top-level package in {edge.importer}")
            return None
        kept = parts[: len(parts) - (site.level - 1)]
        return ".".join([*kept, site.module] if site.module else kept)

    def _targets(self, module: ModuleSource, site: ImportSite, edge: _Edge) -> list[_Target]:
        base = self._base(module, site, edge)
        if not base:
            return []
        targets = self._chain_of(base)
        if site.is_from:
            base_exists = targets[-1].exists
            for imported in site.names:
                if imported == "*":
                    continue
                candidate = f"{base}.{imported}"
                exists = self.finder.find(candidate) is not None
                # An attribute of an installed module is not a module; when the base is
                # missing too, we cannot tell, so the policy decides on the full name.
                if exists or not base_exists:
                    targets.append(_Target(candidate, exists))
        return targets

    def _chain_of(self, base: str) -> list[_Target]:
        """``a``, ``a.b``, ``a.b.c`` for ``a.b.c``: what ``import a.b.c`` imports, in order
        (a copy: the caller adds the from-list). Kept per name: a large tree names the
        same packages from thousands of files."""
        found = self._chains.get(base)
        if found is None:
            segments = base.split(".")
            found = self._chains[base] = [
                _Target(name, self.finder.find(name) is not None)
                for name in (".".join(segments[: i + 1]) for i in range(len(segments)))]
        return list(found)

    # -- policy

    def _check(self, target: _Target, edge: _Edge) -> bool:
        """Report ``target`` when the policy denies it here; ``True`` when denied."""
        decision = self.matcher.decide(target.name)
        if decision is None or not decision.denied:
            return False
        if self.matcher.exception_for(target.name, edge.importer) is not None:
            return False
        key = (edge.file, edge.line, target.name)
        if key in self._reported:
            return True
        self._reported.add(key)
        chain = self._chain(edge)
        lazy = [frame for frame in chain if frame.function]
        where = f"{os.path.basename(edge.file)}:{edge.line}"  # the chain has the full path
        message = f"{target.name} is reachable from {chain[0].module}: {edge.importer} " \
                  f"imports it at {where}"
        if edge.function:
            message += f" inside {edge.function}(), which a start-up run does not execute"
        elif lazy:
            message += f" (through a lazy import in {lazy[0].function}())"
        rule = decision.rule
        self.findings.append(Finding(
            kind=KIND_SCAN, code="scan-forbidden-import", severity=rule.severity,
            subject=target.name, message=message, rule=decision.label, reason=rule.reason,
            source=rule.source, importer=edge.importer, chain=chain,
            details={"entrypoint": chain[0].module, "lazy": bool(lazy),
                     "installed": target.exists},
            pid=0))  # read from source, not seen by a process
        return True

    def _chain(self, edge: _Edge) -> tuple[Frame, ...]:
        frames = [edge.frame()]
        previous = self.reached_by.get(edge.importer)
        while previous is not None:
            frames.append(previous.frame())
            previous = self.reached_by.get(previous.importer)
        return tuple(reversed(frames))

    def _problem(self, module: str, file: str, line: int, code: str, message: str) -> None:
        self.findings.append(Finding(
            kind=KIND_SCAN, code=code, severity="warning", subject=module, message=message,
            chain=(Frame(module, file, line),), pid=0))


def _is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
