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
from types import CodeType, FrameType

from importwall.findings import Frame

_getframe = sys._getframe
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_IMPORTLIB_DIR = os.path.join(os.path.dirname(os.__file__), "importlib") + os.sep
# One str.startswith call per frame: in audit mode every import walks the whole stack.
_MACHINERY_PREFIXES = ("<frozen importlib", _IMPORTLIB_DIR, _PACKAGE_DIR)
_MODULE_CODE = "<module>"
# importlib's handler for ``from package import name``: it swallows a ModuleNotFoundError
# whose ``name`` is the submodule, turning our message into "cannot import name".
_FROM_LIST = "_handle_fromlist"


def _is_machinery(filename: str) -> bool:
    """Frames of the import system and of importwall itself are never the import site."""
    return filename.startswith(_MACHINERY_PREFIXES)


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


def capture(skip: int = 1) -> Site:
    """Describe the import in progress on this thread.

    ``importer`` is the module whose code executed the import statement (or called
    ``importlib.import_module``/``__import__``); ``None`` when no Python code did (an
    import made by the interpreter itself).
    """
    try:
        frame: FrameType | None = _getframe(skip)
    except ValueError:
        return Site(None, (), False)
    from_list = False
    while frame is not None and frame.f_code.co_filename.startswith(_MACHINERY_PREFIXES):
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
        if code.co_name == _MODULE_CODE and not code.co_filename.startswith(
                _MACHINERY_PREFIXES):
            chain.append(_module_frame(frame, code))
        frame = frame.f_back
    chain.reverse()
    return Site(importer, tuple(chain), from_list)


# Frames of module code, by (module, file, line): the outer links of a chain are the same
# for every import their module makes, and a Frame is immutable, so captures share them.
# (Keyed by strings, whose hashes are cached; hashing a code object hashes its contents.)
_module_frames: dict[tuple[str, str, int], Frame] = {}
_MODULE_FRAMES_KEPT = 4096


def _module_frame(frame: FrameType, code: CodeType) -> Frame:
    key = (_module_name(frame), code.co_filename, frame.f_lineno or 0)
    found = _module_frames.get(key)
    if found is None:
        if len(_module_frames) >= _MODULE_FRAMES_KEPT:
            _module_frames.clear()
        found = _module_frames[key] = Frame(*key)
    return found
