"""Kept at this path because installed start-up files name it: the ``importwall.pth``
line and ``sitecustomize`` copies call ``importwall._bootstrap.startup()``. The code is
:mod:`importwall.runtime.bootstrap`.
"""

from importwall.runtime.bootstrap import startup

__all__ = ["startup"]
