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

from importwall.findings import Frame

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
    from collections.abc import Collection
    from types import FrameType

_getframe = sys._getframe
# The whole importwall package, not just this folder: every frame of ours is machinery.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_IMPORTLIB_DIR = os.path.join(os.path.dirname(os.__file__), "importlib") + os.sep
# One str.startswith call per frame: in audit mode every import walks the whole stack.
_MACHINERY_PREFIXES = ("<frozen importlib", _IMPORTLIB_DIR, _PACKAGE_DIR)
_MODULE_CODE = "<module>"
# importlib's handler for ``from package import name``: it swallows a ModuleNotFoundError
# whose ``name`` is the submodule, turning our message into "cannot import name".
_FROM_LIST = "_handle_fromlist"


_STDLIB_DIR = os.path.dirname(os.__file__) + os.sep
_MODULE_TYPE = type(sys)  # types.ModuleType, without importing types


def _tail(path: str) -> str:
    return path.replace("/", os.sep)


# Frames that import on someone else's behalf: the importer is the code that asked, so
# locate() looks through them to the frame that triggered them (DESIGN.md, "the importer
# is the code that asked"). Each entry says why. importlib's own frames (import_module,
# importlib.resources, importlib.metadata's EntryPoint.load) are machinery already, and C
# frames (the C unpickler's find_class) never appear: its caller is the next frame.
DELEGATING_FILES: dict[str, str] = {
    _STDLIB_DIR + "pickle.py":
        "the pure-Python unpickler (pickle._Unpickler, subclassed by joblib) imports the "
        "module of each global a pickle names, in find_class",
    _STDLIB_DIR + "pkgutil.py":
        "pkgutil.walk_packages imports every package it walks, and resolve_name the name "
        "it is given",
}
DELEGATING_SUFFIXES: dict[str, str] = {
    _tail("lazy_loader/__init__.py"):
        "lazy_loader.attach's __getattr__ (scikit-image, networkx, scipy) imports a "
        "package's submodule when its attribute is first read",
    _tail("joblib/numpy_pickle.py"): "joblib.load unpickles (its unpickler resolves globals)",
    _tail("joblib/numpy_pickle_compat.py"): "joblib.load of old pickles",
    _tail("torch/serialization.py"): "torch.load's unpickler resolves globals in find_class",
    _tail("torch/_weights_only_unpickler.py"): "torch.load(weights_only=True) resolves globals",
    _tail("dill/_dill.py"): "dill's unpickler resolves globals in find_class",
    _tail("cloudpickle/cloudpickle.py"): "cloudpickle rebuilds pickled-by-value code",
    _tail("skops/io/_utils.py"): "skops.io.load resolves the types a model file names",
    _tail("skops/io/_general.py"): "skops.io.load resolves the types a model file names",
    _tail("skops/io/_sklearn.py"): "skops.io.load resolves the types a model file names",
    _tail("skops/io/_audit.py"): "skops.io.load resolves the types a model file names",
    _tail("importlib_resources/_common.py"): "importlib_resources imports the package it reads",
    _tail("importlib_metadata/__init__.py"): "EntryPoint.load imports what the entry names",
}
DELEGATING_FUNCTIONS: dict[str, str] = {
    "__getattr__":
        "a package's PEP 562 __getattr__ (scikit-learn's __init__) or a module subclass's "
        "(transformers' _LazyModule) imports a submodule when its attribute is first read",
    "_get_module": "transformers' _LazyModule._get_module, called by its __getattr__",
}
_DELEGATING_SUFFIX_TUPLE = tuple(DELEGATING_SUFFIXES)


def delegates(frame: FrameType) -> bool:
    """Whether ``frame`` imports on someone else's behalf (see ``DELEGATING_*``): a
    function of a delegating file, a module's own ``__getattr__``, or a method of a module
    object (``self`` is a module: transformers' ``_LazyModule``)."""
    code = frame.f_code
    filename = code.co_filename
    if filename in DELEGATING_FILES or filename.endswith(_DELEGATING_SUFFIX_TUPLE):
        return code.co_name != _MODULE_CODE  # a module body is the importer of its imports
    if code.co_name not in DELEGATING_FUNCTIONS:
        return False
    own = frame.f_globals.get(code.co_name)
    if getattr(own, "__code__", None) is code:
        return True  # the module's own __getattr__ (PEP 562)
    if code.co_argcount and code.co_varnames[0] == "self":
        return isinstance(frame.f_locals.get("self"), _MODULE_TYPE)
    return False


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


def locate(skip: int = 1, helpers: Collection[str] = ()) -> tuple[FrameType | None, bool]:
    """The frame of the import site (the first frame that is neither the import system,
    importwall, a ``helpers`` module nor a frame that :func:`delegates`), and whether the
    import came through the ``from package import submodule`` path. ``helpers`` are
    import helpers that act for their caller (``pytest.importorskip``): the import is
    charged to the code that called them. The cheap first half of describing an import:
    callers decide from the site alone before paying for the whole chain
    (:func:`describe`)."""
    try:
        frame: FrameType | None = _getframe(skip)
    except ValueError:
        return None, False
    from_list = False
    while frame is not None:
        code = frame.f_code
        if not (code.co_filename.startswith(_MACHINERY_PREFIXES)
                or (helpers and _module_name(frame) in helpers) or delegates(frame)):
            break
        if code.co_name == _FROM_LIST:
            from_list = True
        frame = frame.f_back
    return frame, from_list


def importer_of(site: FrameType | None) -> str | None:
    """The module whose code runs at ``site`` (a frame from :func:`locate`)."""
    return None if site is None else _module_name(site)


def site_key(site: FrameType | None) -> tuple[str, int]:
    """(file, line) of the import site: the last link of the chain :func:`describe` gives."""
    if site is None:
        return "", 0
    return site.f_code.co_filename, site.f_lineno or 0


def site_module_in(frame: FrameType, modules: Collection[str],
                   helpers: Collection[str] = ()) -> bool:
    """Whether ``frame`` is itself an import site (not the import system, importwall nor a
    ``helpers`` module) whose module is one of ``modules``. A one-frame test that, when
    true, gives the same answer as ``runs_inside(locate(...)[0], modules)``."""
    name = frame.f_globals.get("__name__")
    return (isinstance(name, str) and name in modules and name not in helpers
            and not frame.f_code.co_filename.startswith(_MACHINERY_PREFIXES)
            and not delegates(frame))


def runs_inside(site: FrameType | None, modules: Collection[str]) -> bool:
    """Whether any module of the chain :func:`describe` would give for ``site`` is in
    ``modules``, found without building the chain: walks out only to the first hit."""
    if not modules or site is None:
        return False
    name = site.f_globals.get("__name__")
    if isinstance(name, str) and name in modules:  # the importer: the chain's last link
        return True
    frame = site.f_back
    while frame is not None:
        code = frame.f_code
        if (code.co_name == _MODULE_CODE and not code.co_filename.startswith(
                _MACHINERY_PREFIXES) and _module_name(frame) in modules):
            return True
        frame = frame.f_back
    return False


def describe(site: FrameType | None, from_list: bool = False) -> Site:
    """The :class:`Site` of an import whose site frame :func:`locate` found."""
    frame = site
    if frame is None:
        return Site(None, (), from_list)
    importer = _module_name(frame)
    site_function = None if frame.f_code.co_name == _MODULE_CODE else frame.f_code.co_name
    inner: list[Frame] = []  # innermost first
    if site_function is not None:
        inner.append(Frame(importer, frame.f_code.co_filename, frame.f_lineno or 0,
                           site_function))
        frame = frame.f_back
    walked: list[tuple[FrameType, int]] = []
    outer: tuple[Frame, ...] = ()
    while frame is not None:
        code = frame.f_code
        if code.co_name == _MODULE_CODE and not code.co_filename.startswith(
                _MACHINERY_PREFIXES):
            line = frame.f_lineno or 0
            known = _chains.get(id(frame))
            if known is not None and known[0] is frame and known[1] == line:
                outer = known[2]
                break
            inner.append(Frame(_module_name(frame), code.co_filename, line))
            walked.append((frame, line))
        frame = frame.f_back
    chain = outer + tuple(reversed(inner))
    _remember(chain, walked)
    return Site(importer, chain, from_list)


# The chain up to and including a module frame, by that frame: while module A imports
# B, C and D in turn, A's frame sits at the same line and its outer chain is the same, so
# the walk for C and D stops at A. Holding the frame keeps its id from being reused; only
# a few are kept (module frames, whose globals outlive them anyway).
_chains: dict[int, tuple[FrameType, int, tuple[Frame, ...]]] = {}
_CHAINS_KEPT = 64


def _remember(chain: tuple[Frame, ...], walked: list[tuple[FrameType, int]]) -> None:
    if len(_chains) + len(walked) > _CHAINS_KEPT:
        _chains.clear()
    end = len(chain)
    # walked is innermost first and matches the last len(walked) module links of chain
    # (a lazy import's function frame, if any, comes after them).
    if walked and chain[-1].function is not None:
        end -= 1
    for depth, (frame, line) in enumerate(walked):
        _chains[id(frame)] = (frame, line, chain[:end - depth])
