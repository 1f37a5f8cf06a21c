"""Start the firewall, then hand over to the ``sitecustomize`` this one shadows.

Two copies of this file run: ``importwall run`` puts this folder first on ``PYTHONPATH``,
and ``importwall install --sitecustomize`` writes a copy into site-packages, moving any
``sitecustomize.py`` that was there into the ``importwall-saved-sitecustomize`` folder
beside it (``importwall uninstall`` moves it back). Either way the other
``sitecustomize`` still runs, after the firewall is up.

Standard library only, and next to nothing when ``IMPORTWALL_POLICY`` is not set.
"""

import os
import sys

SAVED_FOLDER = "importwall-saved-sitecustomize"
_here = os.path.dirname(os.path.abspath(__file__))


def _start() -> None:
    if not os.environ.get("IMPORTWALL_POLICY"):
        return
    try:
        from importwall._bootstrap import startup
    except ImportError:
        # Another interpreter than the one importwall is installed in: borrow the package
        # from where this file lives, without leaving that folder on the path.
        parent = os.path.dirname(os.path.dirname(_here))
        sys.path.append(parent)
        try:
            from importwall._bootstrap import startup
        finally:
            sys.path.remove(parent)
    startup()


def _chain_to_shadowed() -> None:
    # importlib.machinery.PathFinder and importlib.util.module_from_spec, from the frozen
    # modules they come from: importlib.util imports contextlib, functools and warnings.
    import _frozen_importlib
    import _frozen_importlib_external

    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
    spec = _frozen_importlib_external.PathFinder.find_spec(
        "sitecustomize", [os.path.join(_here, SAVED_FOLDER), *rest])
    if spec is None or spec.loader is None:
        return
    module = _frozen_importlib.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_start()
_chain_to_shadowed()
