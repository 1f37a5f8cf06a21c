"""The version, written once: the package build (``[tool.hatch.version]``) reads it here."""

__version__ = "0.1.0.dev0"
