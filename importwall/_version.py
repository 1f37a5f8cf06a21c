"""The version, as :mod:`importwall.settings` writes it (the package build reads it there)."""

from importwall.settings import __version__

__all__ = ["__version__"]
