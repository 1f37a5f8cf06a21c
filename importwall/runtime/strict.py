"""Strict mode: a PEP 578 audit hook behind the meta-path finder.

The finder is an entry in a list any code can edit: ``sys.meta_path.clear()``, a reorder
that puts another finder first, ``importlib.reload`` of a module imported before the
firewall started, or ``importlib.util.spec_from_file_location`` + ``exec_module`` on a
denied module's file all go round it. An audit hook cannot be removed once added
(``sys.addaudithook``), so with ``strict = true`` in the policy the firewall also listens to
two events the interpreter raises on every CPython from 3.10 to 3.13:

* ``import`` (module name, ...): raised by the ``import`` statement and ``__import__`` for
  a module not yet in ``sys.modules``, before any finder runs. Covers extension modules
  too. When the firewall is no longer first on ``sys.meta_path``, the hook decides.
* ``exec`` (code object): raised when a module's top-level code is about to run, by every
  source and bytecode loader, ``importlib.reload``, ``exec_module`` of a spec built from a
  file, and ``importlib.import_module``. The module is named from the executing globals'
  ``__name__`` and from the code's file relative to each ``sys.path`` entry; if either name
  is denied, the hook decides.

The decision is the firewall's own (same rules, importer-aware exceptions, chain, finding,
and mode). In ``warn`` and ``audit`` modes a module the firewall has already reported is
not reported again. Not covered: extension modules loaded without the ``import`` statement
(their initialization runs no ``exec``), and code built from a string with no file name
(``exec(source)``), which is not a module import.

Once a process is strict it stays strict: :func:`importwall.deactivate` and a later,
non-strict :func:`importwall.activate` cannot turn the hook off.

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

import os
import sys
import threading
from types import CodeType, FrameType
from typing import Any

from importwall.errors import ForbiddenImportError, ForbiddenImportRuntimeError
from importwall.findings import KIND_IMPORT, Finding
from importwall.runtime.finder import Firewall, internal_error

_MODULE_CODE = "<module>"
_SOURCE_SUFFIXES = (".py", ".pyc", ".pyw")
# How far up the stack the loader frame that holds the module's globals can be.
_LOADER_FRAME_DEPTH = 6
_getframe = sys._getframe
_abspath = os.path.abspath
_sep = os.sep

_lock = threading.Lock()
_guard: _Guard | None = None


class _Guard:
    """The audit hook. It follows the latest strict firewall of the process."""

    def __init__(self, firewall: Firewall) -> None:
        self.firewall = firewall
        self.reported: set[str] = set()
        self._busy = threading.local()
        self.follow(firewall)

    def follow(self, firewall: Firewall) -> None:
        self.firewall = firewall
        self.reported.update(f.subject for f in firewall.findings if f.kind == KIND_IMPORT)
        firewall.add_sink(self._note)

    def _note(self, finding: Finding) -> None:
        if finding.kind == KIND_IMPORT:
            self.reported.add(finding.subject)

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "import" and event != "exec":
            return
        busy = self._busy
        if getattr(busy, "active", False):
            return
        busy.active = True
        try:
            if event == "import":
                self._on_import(args[0])
            else:
                self._on_exec(args[0])
        except (ForbiddenImportError, ForbiddenImportRuntimeError):
            raise
        except Exception as error:  # never break the host on our own bug
            self.firewall.record(internal_error(f"strict-mode audit hook failed: {error!r}"))
        finally:
            busy.active = False

    # -- the two events

    def _on_import(self, name: object) -> None:
        if not isinstance(name, str) or not self._denied(name):
            return
        meta_path = sys.meta_path
        firewall = self.firewall
        if meta_path and meta_path[0] is firewall:
            return  # the finder is in place and will decide
        if firewall.mode != "enforce" and firewall in meta_path:
            return  # it will still see this import; the exec event covers the rest
        self._decide(name)

    def _on_exec(self, code: object) -> None:
        if not isinstance(code, CodeType) or code.co_name != _MODULE_CODE:
            return
        for name in _module_names(code):
            if self._denied(name):
                self._decide(name)
                return

    # -- helpers

    def _denied(self, name: str) -> bool:
        decision = self.firewall.matcher.decide(name)
        return decision is not None and decision.denied

    def _decide(self, name: str) -> None:
        firewall = self.firewall
        if firewall.mode != "enforce" and name in self.reported:
            return
        # The firewall's own handling: exceptions, chain, finding, then raise or warn.
        firewall.find_spec(name)


def _module_names(code: CodeType) -> list[str]:
    """Names the module whose top-level ``code`` is about to run may go by."""
    names = []
    executing = _executing_name()
    if executing:
        names.append(executing)
    filename = code.co_filename
    if filename and not filename.startswith("<"):
        names.extend(_names_from_path(filename))
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
                return name if isinstance(name, str) else None
            return None
        frame = frame.f_back
    return None


_roots_cache: tuple[tuple[str | object, ...], tuple[str, ...]] = ((), ())


def _path_roots() -> tuple[str, ...]:
    """``sys.path`` as absolute folder prefixes, recomputed only when ``sys.path`` changes
    (the hook runs for every module executed)."""
    global _roots_cache
    key = tuple(sys.path)
    if key != _roots_cache[0]:
        roots = tuple(_abspath(entry or os.curdir) + _sep for entry in key
                      if isinstance(entry, str))
        _roots_cache = (key, roots)
    return _roots_cache[1]


def _names_from_path(filename: str) -> list[str]:
    """Dotted names for ``filename`` relative to each ``sys.path`` entry that holds it."""
    stem, suffix = os.path.splitext(_abspath(filename))
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


def protect(firewall: Firewall) -> None:
    """Put the process under strict mode for ``firewall`` (the latest strict one)."""
    global _guard
    with _lock:
        if _guard is None:
            _guard = _Guard(firewall)
            sys.addaudithook(_guard)
        elif _guard.firewall is not firewall:
            _guard.follow(firewall)


def protected() -> bool:
    """Whether this process is under strict mode."""
    return _guard is not None
