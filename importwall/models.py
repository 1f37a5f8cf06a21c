"""Load-time protection for a serving process that must unpickle a model.

:func:`safe_load` reads a pickle, joblib, PyTorch or ``.npy`` file the way its library
would, with one difference: every global the unpickler is asked for goes through the same
classification as ``importwall scan-model`` (:mod:`importwall.static.classify`), and one
the scan would report as an error is refused with :class:`UnsafeModelError` before it is
imported. The file is scanned first too, so a format trick (a file cut short, a Keras
``Lambda``) is refused before anything is loaded.

    >>> from importwall.models import safe_load
    >>> model = safe_load("model.joblib", policy="importwall.toml")   # doctest: +SKIP
"""

from __future__ import annotations

import io
import os
import pickle
import types
from collections.abc import Callable
from typing import IO, Any

from importwall.errors import UnsafeModelError
from importwall.policy import Policy, load_policy
from importwall.static.classify import Classifier

__all__ = ["UnsafeModelError", "safe_load"]

_GETATTR = ("builtins.getattr", "__builtin__.getattr")
_BY_NAME = ("numpy.core._ufunc_reconstruct", "numpy._core._ufunc_reconstruct")
_NESTED_TORCH = "torch.storage._load_from_bytes"


def safe_load(path: str | os.PathLike[str], *, policy: Policy | str | None = None,
              strict: bool = True, map_location: Any = None) -> Any:
    """Load the model in ``path``, refusing what ``importwall scan-model`` would flag.

    ``policy`` (a :class:`Policy` or a path) adds its ``[imports]`` denies as
    training-only and its ``[models] allow`` as known-safe. ``strict`` (the default)
    refuses unknown globals too, as ``scan-model --strict`` reports them as errors; with
    ``strict=False`` the policy's ``[models] unknown`` decides. ``map_location`` is passed
    to ``torch.load``. Raises :class:`UnsafeModelError`.
    """
    from importwall.static.modelfiles import TORCH_LEGACY_MAGIC, read_model_file, sniff
    from importwall.static.modelscan import ModelScanner

    path = os.fspath(path)
    loaded = load_policy(policy) if isinstance(policy, str) else policy
    scanner = ModelScanner(loaded, strict=strict)
    streams = list(read_model_file(path))
    refused = [f for f in scanner.scan_streams(streams) if f.severity == "error"]
    if refused:
        first = refused[0]
        raise UnsafeModelError(
            path, f"importwall refused to load {path}: {len(refused)} finding(s) at error, "
                  f"first {first.code} {first.subject}: {first.message}", refused,
            first.subject)
    guard = _Guard(scanner.classifier, path)
    with open(path, "rb") as handle:
        head = handle.read(64)
    kind = sniff(head)
    if (kind == "zip" and any(s.member and s.member.endswith("data.pkl") for s in streams)) \
            or head.startswith(TORCH_LEGACY_MAGIC):
        return _load_torch(path, guard, map_location)
    if kind == "npy":
        return _load_npy(path, guard)
    if kind == "compressed" or any(
            "NumpyArrayWrapper" in key for s in streams for key in s.references):
        return _load_joblib(path, guard)
    if kind == "pickle":
        with open(path, "rb") as handle:
            return guard.unpickler(handle).load()
    raise UnsafeModelError(path, f"importwall cannot load {path}: safe_load reads pickle, "
                                 f"joblib, PyTorch and .npy files, not {kind}")


class _Guard:
    """The restricted ``find_class`` every loader here shares."""

    def __init__(self, classifier: Classifier, path: str) -> None:
        self.classifier = classifier
        self.path = path

    def check(self, module: str, name: str) -> None:
        verdict = self.classifier.classify(module, name)
        if verdict.refused:
            raise UnsafeModelError(
                self.path, f"importwall refused to load {self.path}: the unpickler was asked "
                           f"for {module}.{name}, which {verdict.why}; {verdict.fix}",
                subject=f"{module}.{name}")

    def find_class(self, module: str, name: str,
                   resolve: Callable[[str, str], Any]) -> Any:
        full = f"{module}.{name}"
        if full in _GETATTR:
            return self._getattr
        if full in _BY_NAME:
            return self._by_name
        if full == _NESTED_TORCH:
            return self._nested_torch
        self.check(module, name)
        return resolve(module, name)

    def _getattr(self, owner: Any, name: str, *default: Any) -> Any:
        # getattr(X, "name"): judged as X.name, the way the scan resolves it.
        if isinstance(owner, types.ModuleType):
            self.check(owner.__name__, name)
        else:
            cls = owner if isinstance(owner, type) else type(owner)
            self.check(cls.__module__, f"{cls.__qualname__}.{name}")
        return getattr(owner, name, *default)

    def _by_name(self, module: str, name: str) -> Any:
        self.check(module, name)
        import importlib

        return getattr(importlib.import_module(module), name)

    def _nested_torch(self, data: bytes) -> Any:
        return _load_torch(io.BytesIO(data), self, "cpu")

    def restricted(self, base: type[Any] = pickle.Unpickler) -> type[Any]:
        """``base`` with this guard's ``find_class``."""
        guard = self

        class Restricted(base):  # type: ignore[misc]
            def find_class(self, module: str, name: str) -> Any:
                return guard.find_class(module, name, super().find_class)

        return Restricted

    def unpickler(self, handle: IO[bytes]) -> Any:
        return self.restricted()(handle)


def _load_torch(source: str | IO[bytes], guard: _Guard, map_location: Any) -> Any:
    try:
        import torch  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise UnsafeModelError(guard.path, f"importwall cannot load {guard.path}: a PyTorch "
                                           "file, and torch is not installed") from None
    restricted = types.ModuleType("importwall_restricted_pickle")
    restricted.__dict__.update({name: getattr(pickle, name) for name in dir(pickle)
                                if not name.startswith("__")})

    class Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            return guard.find_class(module, name, super().find_class)

    restricted.Unpickler = Unpickler  # type: ignore[attr-defined]
    return torch.load(source, map_location=map_location, pickle_module=restricted,
                      weights_only=False)


def _load_joblib(path: str, guard: _Guard) -> Any:
    """joblib.load, with the decompression of the scan and joblib's own unpickler (which
    reads each array's bytes after its wrapper) restricted."""
    import inspect

    from importwall.static.pickleops import open_compressed_stream

    try:
        from joblib.numpy_pickle import NumpyUnpickler  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise UnsafeModelError(path, f"importwall cannot load {path}: a joblib file, and "
                                     "joblib is not installed") from None
    with open(path, "rb") as raw:
        stream, _ = open_compressed_stream(raw)
        # joblib 1.5 added ensure_native_byte_order between the file and mmap_mode.
        native = "ensure_native_byte_order" in inspect.signature(NumpyUnpickler).parameters
        args = (path, stream, True) if native else (path, stream)
        return guard.restricted(NumpyUnpickler)(*args).load()


def _load_npy(path: str, guard: _Guard) -> Any:
    import numpy as np  # type: ignore[import-not-found,import-untyped,unused-ignore]

    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        _, _, dtype = read_header(handle)
        if not dtype.hasobject:
            handle.seek(0)
            return np.load(handle, allow_pickle=False)
        return guard.unpickler(handle).load()  # numpy pickles an object array whole
