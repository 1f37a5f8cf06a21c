"""The import guard: sees import statements that Python answers from ``sys.modules``.

A meta-path finder is asked only the first time a module loads. When an importer-aware
exception lets a library load a denied module (sklearn importing ``sklearn.model_selection``
for its own estimators), every later ``import sklearn.model_selection`` is answered from
``sys.modules`` without asking any finder, so first-party code would slip through. The guard
wraps ``builtins.__import__`` and, after each import statement, hands the firewall the names
the statement reached; the firewall rechecks only names it let in through an exception, so
the cost on other imports is one set lookup per dotted prefix.

``importlib.import_module`` does not go through ``builtins.__import__``: a cached module
reached that way is not seen.

The file name is deliberate: ``warnings`` skips frames whose file name contains both
``importlib`` and ``_bootstrap`` when it looks for the code that issued a warning with
``stacklevel > 1``, as it does for the import system's own frames. A library that warns at
import time "from the importer" (a DeprecationWarning) is so still attributed to the importer,
not to this wrapper.

Installed only for policies that have exceptions. Standard library only: this module is on
the start-up path.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any, Protocol

ImportFunction = Callable[..., ModuleType]


class Revisitor(Protocol):
    def revisit(self, name: str, fromlist: Sequence[str]) -> None: ...


class _Guard:
    """A callable that stands in for ``builtins.__import__``."""

    def __init__(self, firewall: Revisitor, original: ImportFunction) -> None:
        self.firewall = firewall
        self.original = original

    def __call__(self, name: str, globals: Mapping[str, Any] | None = None,
                 locals: Mapping[str, Any] | None = None, fromlist: Sequence[str] | None = (),
                 level: int = 0) -> ModuleType:
        module = self.original(name, globals, locals, fromlist, level)
        # A relative import reaches only the importer's own package: never a library's
        # module that an exception let in for that library.
        if level == 0:
            self.firewall.revisit(name, fromlist or ())
        return module


def install(firewall: Revisitor) -> None:
    """Guard import statements for ``firewall``, replacing any guard already installed."""
    current = builtins.__import__
    original = current.original if isinstance(current, _Guard) else current
    builtins.__import__ = _Guard(firewall, original)


def remove() -> None:
    """Put back the ``builtins.__import__`` that was there before :func:`install`."""
    current = builtins.__import__
    if isinstance(current, _Guard):
        builtins.__import__ = current.original
