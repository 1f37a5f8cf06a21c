"""Train/serve standardization, first half: record the training environment.

``importwall fingerprint -o train-env.json`` runs in the training environment and records
the Python version, the platform, every installed distribution's version and a content
hash of the inference modules (pre-process, predict, post-process). The serving policy's
``[standardize]`` section points at that file, and
:func:`importwall.envcheck.standardize.check_standardization` compares a server with it.

Module sources are located without importing them (:mod:`importwall.static.sourcefinder`),
and ``importlib_metadata`` is imported only when a fingerprint is taken.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from importwall.errors import FingerprintError
from importwall.static.metadata import installed_distributions
from importwall.static.sourcefinder import SourceFinder

FORMAT = "importwall-fingerprint"
FORMAT_VERSION = 1
_SKIPPED_DIRS = ("__pycache__",)


# --------------------------------------------------------------------------- taking one


def _source_files(folder: str) -> Iterable[str]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(root, name)


def _file_hash(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def hash_module(name: str, finder: SourceFinder) -> dict[str, Any]:
    """``{"sha256": ..., "files": {relative path: sha256}}`` for a module or a package's
    whole tree of ``.py`` files; the same files give the same hash on any machine."""
    module = finder.find(name)
    if module is None:
        raise FingerprintError(f"cannot find module {name!r} on the search path; run from "
                               "the project folder or pass --path FOLDER")
    files: dict[str, str] = {}
    if module.is_package:
        for location in module.search_locations:
            for path in _source_files(location):
                relative = os.path.relpath(path, location).replace(os.sep, "/")
                files.setdefault(relative, _file_hash(path))
    elif module.source:
        files[os.path.basename(module.source)] = _file_hash(module.source)
    else:
        raise FingerprintError(f"module {name!r} has no Python source ({module.origin}); "
                               "list the package that holds the inference code")
    combined = hashlib.sha256()
    for relative, digest in sorted(files.items()):
        combined.update(f"{relative}\0{digest}\n".encode())
    return {"sha256": combined.hexdigest(), "files": dict(sorted(files.items()))}


def take_fingerprint(modules: Sequence[str] = (),
                     search_path: Sequence[str] | None = None) -> dict[str, Any]:
    """This environment's fingerprint, as ``importwall fingerprint`` writes it."""
    path = list(sys.path if search_path is None else search_path)
    finder = SourceFinder(path)
    libc = " ".join(part for part in platform.libc_ver() if part)
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "python": {"version": platform.python_version(),
                   "implementation": sys.implementation.name},
        "platform": {"system": platform.system(), "machine": platform.machine(),
                     "release": platform.release(), "libc": libc},
        "distributions": installed_distributions(path),
        "modules": {name: hash_module(name, finder) for name in sorted(set(modules))},
    }


def write_fingerprint(data: Mapping[str, Any], path: str) -> None:
    """Write atomically: a half-written fingerprint would report skew that is not there."""
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".fingerprint-", suffix=".tmp")
    except OSError as error:
        raise FingerprintError(f"{path}: cannot write the fingerprint: {error.strerror}; "
                               "does its folder exist?") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def read_fingerprint(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as error:
        raise FingerprintError(f"{path}: cannot read the fingerprint: {error.strerror}; "
                               "create it in the training environment with `importwall "
                               "fingerprint -o FILE`") from None
    except ValueError as error:
        raise FingerprintError(f"{path}: not a JSON fingerprint: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FingerprintError(f"{path}: not an importwall fingerprint (no "
                               f'"format": "{FORMAT}")')
    if data.get("version") != FORMAT_VERSION:
        raise FingerprintError(f"{path}: fingerprint version {data.get('version')!r}; this "
                               f"importwall reads version {FORMAT_VERSION}")
    return data
