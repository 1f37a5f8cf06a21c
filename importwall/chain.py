"""Who is importing: the import site and the chain of modules being executed.

Called only for denied names, so the frame walk costs nothing on allowed imports.
The chain is every module whose top-level code is executing on this thread (each one is
in the middle of importing the next), outermost first, plus the import site itself when
the import ran inside a function (a lazy import in a request handler, say).

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection
from types import FrameType

from importwall.findings import Frame

_getframe = sys._getframe
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_IMPORTLIB_DIR = os.path.join(os.path.dirname(os.__file__), "importlib") + os.sep
_MODULE_CODE = "<module>"
# importlib's handler for ``from package import name``: it swallows a ModuleNotFoundError
# whose ``name`` is the submodule, turning our message into "cannot import name".
_FROM_LIST = "_handle_fromlist"


def _is_machinery(filename: str) -> bool:
    """Frames of the import system and of importwall itself are never the import site."""
    return (
        filename.startswith("<frozen importlib")
        or filename.startswith(_IMPORTLIB_DIR)
        or filename.startswith(_PACKAGE_DIR)
    )


def _module_name(frame: FrameType) -> str:
    name = frame.f_globals.get("__name__")
    return name if isinstance(name, str) else "<unknown>"


class Site:
    """Who is importing: the importer module, the chain, and whether the import came from
    the ``from package import submodule`` path of the import system."""

    __slots__ = ("chain", "from_list", "importer")

    def __init__(self, importer: str | None, chain: tuple[Frame, ...], from_list: bool) -> None:
        self.importer = importer
        self.chain = chain
        self.from_list = from_list


def capture(skip: int = 1, helpers: Collection[str] = ()) -> Site:
    """Describe the import in progress on this thread.

    ``importer`` is the module whose code executed the import statement (or called
    ``importlib.import_module``/``__import__``); ``None`` when no Python code did (an
    import made by the interpreter itself). Frames of the ``helpers`` modules (import
    helpers that act for their caller, such as ``pytest.importorskip``) are skipped like
    the import system's own, so the import is charged to the code that called them.
    """
    try:
        frame: FrameType | None = _getframe(skip)
    except ValueError:
        return Site(None, (), False)
    from_list = False
    while frame is not None and (_is_machinery(frame.f_code.co_filename)
                                 or (helpers and _module_name(frame) in helpers)):
        from_list = from_list or frame.f_code.co_name == _FROM_LIST
        frame = frame.f_back
    if frame is None:
        return Site(None, (), from_list)
    importer = _module_name(frame)
    site_function = None if frame.f_code.co_name == _MODULE_CODE else frame.f_code.co_name
    chain: list[Frame] = []
    if site_function is not None:
        chain.append(Frame(importer, frame.f_code.co_filename, frame.f_lineno or 0,
                           site_function))
        frame = frame.f_back
    while frame is not None:
        code = frame.f_code
        if code.co_name == _MODULE_CODE and not _is_machinery(code.co_filename):
            chain.append(Frame(_module_name(frame), code.co_filename, frame.f_lineno or 0))
        frame = frame.f_back
    chain.reverse()
    return Site(importer, tuple(chain), from_list)
