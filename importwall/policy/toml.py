"""The TOML reader: ``tomllib`` from 3.11, the ``tomli`` backport on 3.10."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib as toml
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as toml  # type: ignore[import-not-found, unused-ignore]

loads = toml.loads
TOMLDecodeError = toml.TOMLDecodeError

__all__ = ["TOMLDecodeError", "loads"]
