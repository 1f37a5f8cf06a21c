"""Strict mode: a PEP 578 audit hook behind the meta-path finder, that Python code cannot
switch off.

The finder is an entry in a list any code can edit: ``sys.meta_path.clear()``, a reorder
that puts another finder first, ``importlib.reload`` of a module imported before the
firewall started, or ``importlib.util.spec_from_file_location`` + ``exec_module`` on a
denied module's file all go round it. An audit hook cannot be removed once added
(``sys.addaudithook``), so with ``strict = true`` in the policy the firewall also listens to
three events the interpreter raises on every CPython from 3.10 to 3.13:

* ``import`` (module name, ...): raised by the ``import`` statement and ``__import__`` for
  a module not yet in ``sys.modules``, before any finder runs. Covers extension modules
  too. In ``enforce`` mode the hook decides every denied name itself, whatever the finder
  (patched, reordered, gone) would do; in ``warn`` and ``audit`` it leaves the import to
  an intact finder in first place, to report it once.
* ``exec`` (code object): raised when code is about to run through ``exec``/``eval``: every
  module's top-level code (every source and bytecode loader, ``importlib.reload``,
  ``exec_module`` of a spec built from a file, ``runpy``), and any code object a program
  ``exec``\\ s itself (``marshal.loads`` of a ``.pyc``, whatever its ``co_name``).
* ``function.__new__`` (code object): ``types.FunctionType(code, globals)`` makes module
  code callable without ``exec``.

Code is named three ways, and judged if any name is denied:

1. **by file identity**: when strict mode starts (and again for folders added to
   ``sys.path`` later), each denied module is located *without importing it*: the spec of
   its top-level package (``importlib.util.find_spec`` imports nothing for a top-level
   name), then each submodule's spec from its parent's locations, every portion of a
   namespace package, and the folders ``deny_distributions``' RECORD files name. The
   code's file (``co_filename``) is resolved with ``os.path.realpath`` and looked up
   there, so a file loaded under another name, from a folder no longer on ``sys.path``,
   or through a symlink, is still the denied module's;
2. by the ``__name__`` of the globals the loader executes it in;
3. by its file's path relative to each ``sys.path`` entry (for glob rules, which cannot be
   located in advance).

The decision is the firewall's own (same rules, importer-aware exceptions, chain, finding,
and mode), made by a private copy: for each strict activation the hook keeps a *layer*, a
``Firewall`` of its own built from the same policy and mode, with its own compiled
``Matcher``, its own re-entrancy flag and its own record of what was reported. Nothing of
it is an attribute of any object the program can reach: it lives in the hook's closure,
and the hook is held only by the interpreter. So patching the public ``Firewall`` instance
(``firewall.find_spec = ...``, ``firewall.mode = "audit"``, ``firewall._busy.active =
True``), :func:`importwall.deactivate`, or a later ``activate()`` of a weaker policy
changes nothing the hook decides with. A later strict ``activate()`` can only *add* a
layer (its rules, its mode): :func:`protect` announces it to the hook with an audit event
of its own (``importwall.strict.protect``), which can add and never remove. Patching
importwall's own code instead (``Firewall._judge``, ``Matcher.decide``, ``chain.locate``
on their classes or modules) is noticed before each decision (the hook compares them with
what they were when it was installed) and, in ``enforce`` mode, blocks.

**Strict fails closed.** Any exception inside the hook while it judges (a ``str`` subclass
on ``sys.path`` whose methods raise, a bug of ours) records an ``internal-error`` finding
and, in ``enforce`` mode, raises the blocked-import error. ``warn`` and ``audit`` keep the
host running. Conditions that merely leave a name unknown (the current folder deleted while
``''`` is on ``sys.path``) are not errors: that name is skipped, the others still judge.

Not covered: extension modules loaded without the ``import`` statement (their
initialization runs no ``exec``); code built from a string with no file name
(``exec(source)``), which is not a module import; a copy of a denied package's files under
another path and name (a vendored copy); imports made by code the program hands to
importwall to run while it judges (a sink added to the firewall: the hook is busy then, and
only the finder judges them); and code that walks frames or the garbage collector to reach
the hook's state, which is hostile code, not a mistake (importwall is not a sandbox). See
docs/bypasses.md.

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

import _thread
import os
import sys

from importwall.errors import ForbiddenImportError, ForbiddenImportRuntimeError
from importwall.findings import KIND_IMPORT, Finding
from importwall.runtime import chain as _chain
from importwall.runtime import finder as _finder
from importwall.runtime import matcher as _matcher
from importwall.runtime.finder import Firewall
from importwall.runtime.matcher import Decision, Matcher

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from types import CodeType, FrameType, ModuleType
    from typing import Any
else:
    CodeType = type(sys._getframe().f_code)  # types.CodeType, without importing types

PROTECT_EVENT = "importwall.strict.protect"
"""The audit event :func:`protect` raises to hand the hook a firewall: add only."""

_BLOCKED = (ForbiddenImportError, ForbiddenImportRuntimeError)
# The finder loads its judging code on the first denied import; a strict process has it
# (this module imports it anyway) bound before the hook's integrity check is taken.
_finder._load_judging()
# The firewall's own code, kept from when this module was imported: the hook calls these,
# never what the classes hold at the time.
_JUDGE_ONCE = Firewall._judge_once
_FAIL_CLOSED = Firewall.fail_closed
_RECORD = Firewall.record
_DECIDE = Matcher.decide
_SOURCE_SUFFIXES = (".py", ".pyc", ".pyw")
_GLOB = ("*", "?", "[")
_LOADER_FRAME_DEPTH = 8
_REALPATHS_KEPT = 8192
_getframe = sys._getframe
_abspath = os.path.abspath
_realpath = os.path.realpath
_split = os.path.split
_splitext = os.path.splitext
_isdir = os.path.isdir
_isfile = os.path.isfile
_join = os.path.join
_curdir = os.curdir
_sep = os.sep
_exact = str.__str__  # an exact ``str`` from a subclass, whatever methods it overrides
_audit = sys.audit

_lock = _thread.allocate_lock()  # threading.Lock, without importing threading
_installed = False


def protect(firewall: Firewall) -> None:
    """Put the process under strict mode for ``firewall``'s policy and mode, on top of
    every earlier strict activation."""
    global _installed
    with _lock:
        if not _installed:
            sys.addaudithook(_new_hook())
            _installed = True
    _audit(PROTECT_EVENT, firewall)


def protected() -> bool:
    """Whether this process is under strict mode."""
    return _installed


# --------------------------------------------------------------------------- the hook


def _new_hook() -> Callable[[str, tuple[Any, ...]], None]:
    """The audit hook, and in its closure everything it decides with."""
    layers: list[_Layer] = []
    busy = _thread._local()  # threading.local
    places = _Locations()
    intact = _integrity_check()
    failures: set[str] = set()  # what warn/audit layers have recorded already

    def hook(event: str, args: tuple[Any, ...]) -> None:
        origin: object = None
        if event == "exec" or event == "function.__new__":
            code = args[0]
            if not isinstance(code, CodeType) or not layers:
                return
            kind = event
        elif event == "import":
            code = args[0]
            if not isinstance(code, str) or not layers:
                return
            kind = event
            origin = args[1] if len(args) > 1 else None
        elif event == PROTECT_EVENT:
            if not getattr(busy, "active", False):
                busy.active = True
                try:
                    _add_layer(layers, places, args[0])
                finally:
                    busy.active = False
            return
        else:
            return
        if getattr(busy, "active", False):
            return  # an import made while the hook works (finding the chain, a sink)
        busy.active = True
        subject = code if isinstance(code, str) else code.co_filename
        try:
            if not intact():
                # Enforce blocks everything from now on: its judge cannot be trusted.
                # Warn and audit record it once and go on judging as best they can.
                _fail_closed(layers, subject, _TAMPERED, failures)
            if kind == "import":
                # An import event with a file is an extension module's initialization
                # (``_imp.create_dynamic``): no finder may be involved.
                _on_import(layers, _import_names(places, code, origin),
                           statement=not isinstance(origin, str))
            else:
                _on_code(layers, places, code, executing=kind == "exec")
        except _BLOCKED:
            raise
        except Exception as error:
            _fail_closed(layers, subject, error, failures)
        finally:
            busy.active = False

    return hook


class _Tampered(Exception):
    """importwall's code was patched under a strict process."""


_TAMPERED = _Tampered("importwall's own code was replaced after strict mode started (a "
                      "patched Firewall, Matcher or chain function)")


class _InertGuard:
    """The layers' firewalls never wrap ``__import__``: the public firewall's guard does."""

    watched: frozenset[str] = frozenset()

    def watch(self, name: str) -> None:
        pass

    def install(self) -> None:
        pass

    def uninstall(self) -> None:
        pass


class _Layer:
    """One strict activation: a firewall of the hook's own (policy, mode, matcher), and
    the public firewall whose findings it adds to."""

    __slots__ = ("firewall", "judge", "matcher", "mode", "policy", "reported")

    def __init__(self, public: Firewall) -> None:
        self.firewall = public
        self.policy = public.policy
        self.mode = public.mode
        self.matcher = Matcher.from_policy(self.policy)  # a copy: nothing else holds it
        self.reported: set[str] = {f.subject for f in list(public.findings)
                                   if f.kind == KIND_IMPORT}
        judge = Firewall(self.policy, self.mode, matcher=self.matcher,
                         sinks=[_forwarder(public, self.reported)], helpers=public._helpers)
        judge.guard = _InertGuard()  # type: ignore[assignment]
        self.judge = judge
        # A function that holds only the set, never the layer: the public firewall's sinks
        # are the program's to read.
        public.add_sink(_noter(self.reported))

    def same_as(self, other: Firewall) -> bool:
        return (self.mode == other.mode and self.policy.path == other.policy.path
                and self.policy.imports == other.policy.imports)

    def denied(self, name: str) -> Decision | None:
        decision = _DECIDE(self.matcher, name)
        return decision if decision is not None and decision.verdict == "deny" else None

    def decide(self, name: str, decision: Decision) -> None:
        """The firewall's own handling, by the hook's own firewall."""
        if self.mode != "enforce" and name in self.reported:
            return
        _JUDGE_ONCE(self.judge, name, decision, True)

    def finder_will_decide(self) -> bool:
        """In warn/audit: an intact public finder first on ``sys.meta_path`` reports the
        import itself (the hook would report it twice). A patched one, or a busy flag set
        from outside, only makes the ``exec`` event report it instead."""
        meta_path = sys.meta_path
        public = self.firewall
        return (bool(meta_path) and meta_path[0] is public and type(public) is Firewall
                and "find_spec" not in vars(public))


def _noter(reported: set[str]) -> Callable[[Finding], None]:
    """A sink that notes the modules a firewall has reported (warn/audit report once)."""
    def note(finding: Finding) -> None:
        if finding.kind == KIND_IMPORT:
            reported.add(finding.subject)
    return note


def _forwarder(public: Firewall, reported: set[str]) -> Callable[[Finding], None]:
    """The layer's own firewall's sink: its findings go to the public firewall's."""
    note = _noter(reported)

    def forward(finding: Finding) -> None:
        note(finding)
        _RECORD(public, finding)
    return forward


def _add_layer(layers: list[_Layer], places: _Locations, firewall: object) -> None:
    if not isinstance(firewall, Firewall):
        raise TypeError(f"{PROTECT_EVENT}: a Firewall is needed, not {firewall!r}")
    if any(layer.same_as(firewall) for layer in layers):
        return
    layer = _Layer(firewall)
    places.add(_literal_names(layer.policy), _distribution_names(layer.policy))
    layers.append(layer)


def _import_names(places: _Locations, name: str, origin: object) -> list[str]:
    """The name an ``import`` event gives and, when it comes with a file (an extension
    module's initialization, ``_imp.create_dynamic``), the name of that file."""
    names = [_exact(name)]
    if isinstance(origin, str) and origin:
        located = places.name_of(_exact(origin))
        if located is not None:
            names.append(located)
    return names


def _on_import(layers: Sequence[_Layer], names: Sequence[str], statement: bool) -> None:
    for layer in layers:
        for name in names:
            decision = layer.denied(name)
            if decision is None:
                continue
            if statement and layer.mode != "enforce" and layer.finder_will_decide():
                break  # reported by the finder; the exec event covers the rest
            layer.decide(name, decision)
            break


def _on_code(layers: Sequence[_Layer], places: _Locations, code: CodeType,
             executing: bool) -> None:
    names = _code_names(places, code, executing)
    for layer in layers:
        for name in names:
            decision = layer.denied(name)
            if decision is not None:
                layer.decide(name, decision)
                break


def _fail_closed(layers: Sequence[_Layer], subject: str, error: BaseException,
                 recorded: set[str]) -> None:
    """The hook failed judging ``subject``: warn and audit layers record it (once per
    kind of failure), and the first layer in enforce mode records it and blocks."""
    key = f"{type(error).__name__}: {error}"
    if key not in recorded:
        recorded.add(key)
        for layer in layers:
            if layer.mode != "enforce":
                _FAIL_CLOSED(layer.judge, subject, None, error)
    for layer in layers:
        if layer.mode == "enforce":
            _FAIL_CLOSED(layer.judge, subject, None, error)


# --------------------------------------------------------------------------- naming code


def _code_names(places: _Locations, code: CodeType, executing: bool) -> list[str]:
    """The names the module whose code is about to run may go by: by file identity, by the
    executing globals' ``__name__``, by its path relative to ``sys.path``."""
    names: list[str] = []
    filename = code.co_filename
    if isinstance(filename, str) and filename and not filename.startswith("<"):
        filename = _exact(filename)
        places.refresh()
        located = places.name_of(filename)
        if located is not None:
            names.append(located)
        names.extend(_names_from_path(filename))
    if executing:
        name = _executing_name()
        if name:
            names.append(name)
    return names


def _executing_name() -> str | None:
    """``__name__`` in the globals the loader is executing the module in: the loaders
    call ``exec(code, module.__dict__)`` through ``_call_with_frames_removed``."""
    frame: FrameType | None = _getframe(1)
    for _ in range(_LOADER_FRAME_DEPTH):
        if frame is None:
            return None
        if frame.f_code.co_name == "_call_with_frames_removed":
            call = frame.f_locals.get("args")
            if isinstance(call, tuple) and len(call) == 2 and isinstance(call[1], dict):
                name = call[1].get("__name__")
                return _exact(name) if isinstance(name, str) else None
            return None
        frame = frame.f_back
    return None


_roots_cache: tuple[tuple[object, ...], tuple[str, ...]] = ((), ())


def _path_roots() -> tuple[str, ...]:
    """``sys.path`` as absolute folder prefixes, recomputed only when ``sys.path`` changes
    (the hook runs for every module executed). An entry that is not a string, or that
    cannot be made absolute (``''`` when the current folder was deleted), names nothing."""
    global _roots_cache
    key = tuple(sys.path)
    if key != _roots_cache[0]:
        roots = []
        for entry in key:
            if not isinstance(entry, str):
                continue
            try:
                roots.append(_abspath(_exact(entry) or _curdir) + _sep)
            except (OSError, ValueError):
                continue
        _roots_cache = (key, tuple(roots))
    return _roots_cache[1]


def _names_from_path(filename: str) -> list[str]:
    """Dotted names for ``filename`` relative to each ``sys.path`` entry that holds it."""
    try:
        stem, suffix = _splitext(_abspath(filename))
    except (OSError, ValueError):
        return []  # a relative file name, and no current folder to resolve it from
    if suffix not in _SOURCE_SUFFIXES:
        return []
    names = []
    for root in _path_roots():
        if not stem.startswith(root):
            continue
        parts = stem[len(root):].split(_sep)
        if parts[-1] == "__init__":
            parts.pop()
        if parts and all(part.isidentifier() for part in parts):
            names.append(".".join(parts))
    return names


# --------------------------------------------------------------------------- file identity


def _is_literal(pattern: str) -> bool:
    return not any(mark in pattern for mark in _GLOB)


def _literal_names(policy: Any) -> list[str]:
    """The denied module names that can be located (no globs)."""
    return [rule.pattern for rule in policy.imports.deny if _is_literal(rule.pattern)]


def _distribution_names(policy: Any) -> list[tuple[str, str]]:
    """(distribution, module) for each module ``deny_distributions`` denies."""
    rules = policy.imports.deny_distributions
    if not rules:
        return []
    from importwall.runtime.distributions import top_level_modules

    return [(rule.pattern, module) for rule in rules
            for module in top_level_modules(rule.pattern)]


class _Locations:
    """Where the denied modules live: real folder or file -> module name."""

    def __init__(self) -> None:
        self.dirs: dict[str, str] = {}
        self.files: dict[str, str] = {}
        self.names: list[str] = []
        self._shortest = 0
        self._path: tuple[object, ...] = ()
        self._entries: set[str] = set()
        self._realpaths: dict[str, str] = {}

    def add(self, names: Iterable[str], distributions: Iterable[tuple[str, str]]) -> None:
        new = [name for name in dict.fromkeys(names) if name not in self.names]
        for _, module in distributions:
            if module not in self.names and module not in new:
                new.append(module)
        self.names.extend(new)
        for name in new:
            for place, is_dir in _locate(name, None):
                self._put(place, is_dir, name)
        for distribution, module in distributions:
            for place, is_dir in _record_places(distribution, module):
                self._put(place, is_dir, module)
        self._path = tuple(sys.path)
        self._entries.update(_exact(e) for e in self._path if isinstance(e, str))

    def refresh(self) -> None:
        """Locate the denied modules in folders added to ``sys.path`` since: a package put
        on the path after strict mode started, then taken off it again, stays known."""
        path = tuple(sys.path)
        if path == self._path:
            return
        self._path = path
        fresh = [_exact(e) for e in self._path
                 if isinstance(e, str) and _exact(e) not in self._entries]
        if not fresh:
            return
        self._entries.update(fresh)
        for name in self.names:
            for place, is_dir in _locate(name, fresh):
                self._put(place, is_dir, name)

    def _put(self, place: str, is_dir: bool, name: str) -> None:
        (self.dirs if is_dir else self.files).setdefault(place, name)
        self._shortest = min((len(d) for d in self.dirs), default=0)

    def real(self, filename: str) -> str | None:
        known = self._realpaths.get(filename)
        if known is not None:
            return known
        try:
            real = _realpath(filename)
        except (OSError, ValueError):
            return None  # relative, and the current folder is gone: unknown
        if filename[:1] == _sep:  # relative names depend on the current folder
            if len(self._realpaths) >= _REALPATHS_KEPT:
                self._realpaths.clear()
            self._realpaths[filename] = real
        return real

    def name_of(self, filename: str) -> str | None:
        """The denied module ``filename`` belongs to, by where it really is."""
        if not self.dirs and not self.files:
            return None
        real = self.real(filename)
        if real is None:
            return None
        found = self.files.get(real)
        if found is not None:
            return found
        head, tail = _split(real)
        rest = [_splitext(tail)[0]]
        while len(head) >= self._shortest:
            root = self.dirs.get(head)
            if root is not None:
                return _submodule(root, rest)
            parent, tail = _split(head)
            if parent == head:
                return None
            rest.append(tail)
            head = parent
        return None


def _submodule(root: str, rest: list[str]) -> str:
    """``root`` plus the importable part of the path below it (innermost first)."""
    parts = rest[::-1]
    if parts and parts[-1] == "__init__":
        parts.pop()
    name = root
    for part in parts:
        if not part.isidentifier():
            break
        name += "." + part
    return name


def _locate(name: str, entries: list[str] | None) -> list[tuple[str, bool]]:
    """Where module ``name`` lives, without importing it or its parents: (real path,
    whether a folder). ``entries``: search only these ``sys.path`` folders."""
    from importlib.machinery import PathFinder
    from importlib.util import find_spec

    parts = name.split(".")
    try:
        # find_spec of a top-level name imports nothing; it also asks the program's own
        # meta-path finders (editable installs).
        spec = (find_spec(parts[0]) if entries is None
                else PathFinder.find_spec(parts[0], entries))
        for depth in range(2, len(parts) + 1):
            if spec is None or not spec.submodule_search_locations:
                return []
            spec = PathFinder.find_spec(".".join(parts[:depth]),
                                        list(spec.submodule_search_locations))
    except Exception:  # a finder of the program's that does not like the question
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [(_realpath(place), True) for place in spec.submodule_search_locations
                if isinstance(place, str)]
    if spec.origin and spec.has_location:
        return [(_realpath(spec.origin), False)]
    return []


def _record_places(distribution: str, module: str) -> list[tuple[str, bool]]:
    """The folder or file of ``module`` beside the ``.dist-info`` of ``distribution``
    (what its RECORD lists), wherever ``sys.path`` would find it first."""
    from importwall.runtime.distributions import install_folder

    folder = install_folder(distribution)
    if folder is None:
        return []
    base = _join(folder, *module.split("."))
    if _isdir(base):
        return [(_realpath(base), True)]
    for suffix in (".py", ".pyc"):
        if _isfile(base + suffix):
            return [(_realpath(base + suffix), False)]
    return []


# --------------------------------------------------------------------------- integrity


def _integrity_check() -> Callable[[], bool]:
    """A check that importwall's judging code is what it was when the hook was made: the
    classes' attributes, and the functions of the modules they call."""
    # The matcher's tries are plain lists and dicts: its functions are checked below.
    owners: list[type | ModuleType] = [Firewall, Matcher, Decision, _matcher.PatternTrie]
    kept: list[tuple[Any, tuple[tuple[str, object], ...], int]] = []
    for owner in owners:
        namespace = vars(owner)
        kept.append((namespace, tuple(namespace.items()), len(namespace)))
    for module in (_chain, _finder, _matcher):
        namespace = vars(module)
        functions = tuple((key, value) for key, value in namespace.items()
                          if callable(value) and not isinstance(value, type))
        kept.append((namespace, functions, -1))
    frozen = tuple(kept)

    def intact() -> bool:
        for namespace, items, size in frozen:
            if size >= 0 and len(namespace) != size:
                return False
            get = namespace.get
            for key, value in items:
                if get(key) is not value:
                    return False
        return True

    return intact

