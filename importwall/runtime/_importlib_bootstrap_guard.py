"""Catch imports of denied modules that are already loaded.

A ``sys.meta_path`` finder is only asked about modules missing from ``sys.modules``. Once
a library has legitimately loaded a denied module through an importer-aware exception
(scikit-learn's estimators load ``sklearn.model_selection``), or once a denied module was
loaded before the firewall started, a later ``from sklearn.model_selection import
GridSearchCV`` in first-party code would never reach the finder. The guard closes that gap:
it wraps ``builtins.__import__`` and, for the few names it watches, asks the firewall to
judge the importer.

It is installed only when the first watched name appears, so processes that never load a
denied module pay nothing; once installed, an import statement costs one extra Python
call and a set lookup. ``importlib.import_module`` does not pass through ``__import__``:
the guard also wraps ``importlib._bootstrap._gcd_import``, which ``import_module`` looks
up at every call (so a function bound with ``from importlib import import_module`` before
the guard came is covered too).

In ``warn`` and ``audit`` modes the firewall watches every denied module it let load, so
that a second import site of it is judged as ``enforce`` would judge it (the module is in
``sys.modules`` by then, and the finder is never asked again).

The file name is deliberate: ``warnings`` skips frames whose file name contains both
"importlib" and "_bootstrap" when it counts ``stacklevel``, as it skips the import
system's own frames. A library warning at import time with ``stacklevel=2`` must point at
the module that imported it, not at this wrapper.

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

import _thread
import builtins
import sys

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import ModuleType
    from typing import Any

    ImportFunction = Callable[..., ModuleType]

# importlib's _handle_fromlist calls __import__ for `from package import submodule` with
# its own globals; the statement itself is judged when the outer __import__ returns.
_FROM_LIST_IMPORTER = "importlib._bootstrap"


def absolute_name(name: str, globals_: Mapping[str, Any] | None, level: int) -> str | None:
    """The absolute module name of a (possibly relative) import, or ``None`` if unknown."""
    if level == 0:
        return name
    if not globals_:
        return None
    package = globals_.get("__package__")
    if not package:
        spec = globals_.get("__spec__")
        package = getattr(spec, "parent", None)
    if not isinstance(package, str) or not package:
        return None
    bits = package.rsplit(".", level - 1)
    if len(bits) < level:
        return None
    base = bits[0]
    return f"{base}.{name}" if name else base


class ImportGuard:
    """Watches a set of loaded module names; calls ``judge(name, counted)`` when an import
    statement names one of them (directly or through ``from ... import``). ``counted``
    is ``None`` for the one name a statement gives, else a list shared by the names one
    statement gives (``from package import a, b``): the judge keeps in it what it counted
    for this run of the statement, so that each finding counts one hit per run."""

    def __init__(self, judge: Callable[[str, list[Any] | None], None],
                 quiet: set[str] | None = None) -> None:
        self.watched: set[str] = set()
        # Importers whose imports are never judged: denied modules warn/audit let load,
        # whose own imports are consequences of their finding (the firewall fills it).
        self.quiet: set[str] = set() if quiet is None else quiet
        # Packages with a watched submodule: only their ``from package import x`` lists
        # need checking (building "package.x" for every name imported costs).
        self._parents: set[str] = set()
        self._judge = judge
        self._saved: ImportFunction | None = None
        self._saved_gcd: ImportFunction | None = None
        self._lock = _thread.allocate_lock()  # threading.Lock, without importing threading

    def watch(self, name: str) -> None:
        self.watched.add(name)
        parent = name.rpartition(".")[0]
        if parent:
            self._parents.add(parent)
        if self._saved is None:
            self.install()

    def install(self) -> None:
        with self._lock:
            if self._saved is None:
                self._saved = builtins.__import__
                builtins.__import__ = self._import
            bootstrap = sys.modules.get("_frozen_importlib")
            if self._saved_gcd is None and bootstrap is not None:
                saved_gcd = getattr(bootstrap, "_gcd_import", None)
                if callable(saved_gcd):
                    self._saved_gcd = saved_gcd
                    bootstrap._gcd_import = self._gcd_import  # type: ignore[attr-defined]

    def uninstall(self) -> None:
        with self._lock:
            if self._saved is not None and builtins.__import__ == self._import:
                builtins.__import__ = self._saved
            self._saved = None
            bootstrap = sys.modules.get("_frozen_importlib")
            if (self._saved_gcd is not None and bootstrap is not None
                    and getattr(bootstrap, "_gcd_import", None) == self._gcd_import):
                bootstrap._gcd_import = self._saved_gcd  # type: ignore[attr-defined]
            self._saved_gcd = None

    def _import(self, name: str, globals: Mapping[str, Any] | None = None,
                locals: Mapping[str, Any] | None = None, fromlist: Sequence[str] | None = (),
                level: int = 0) -> ModuleType:
        saved = self._saved
        if saved is None:  # uninstalled while another thread was on its way in
            saved = _original_import
        module = saved(name, globals, locals, fromlist, level)
        if self.quiet and globals is not None:
            importer = globals.get("__name__")
            if type(importer) is str and (importer in self.quiet
                                          or importer == _FROM_LIST_IMPORTER):
                return module
        target = name if level == 0 else absolute_name(name, globals, level)
        if target is None:
            return module
        watched = self.watched
        counted: list[Any] | None = None
        if fromlist and target in self._parents:
            counted = []
        if target in watched:
            self._judge(target, counted)
        if counted is not None:
            for item in fromlist or ():
                if item != "*" and f"{target}.{item}" in watched:
                    self._judge(f"{target}.{item}", counted)
        return module

    def _gcd_import(self, name: str, package: str | None = None,
                    level: int = 0) -> ModuleType:
        """``importlib.import_module``'s way in (and the parents it imports on the way)."""
        saved = self._saved_gcd
        if saved is None:
            saved = _original_gcd_import
        module = saved(name, package, level)
        target = absolute_name(name, {"__package__": package}, level) if level else name
        if target is not None and target in self.watched:
            self._judge(target, None)
        return module


_original_import = builtins.__import__
_original_gcd_import = sys.modules["_frozen_importlib"]._gcd_import
