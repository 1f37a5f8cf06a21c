"""Put on ``PYTHONPATH`` by ``importwall run``: start the firewall, then hand over to the
``sitecustomize`` this one shadows, if there is one."""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))


def _start() -> None:
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
    import importlib.machinery
    import importlib.util

    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_start()
_chain_to_shadowed()
