"""Model file formats, told apart by their first bytes (never by the file's name), and
followed down to the pickle streams inside them.

=================  ==============================================================
format             how it is read
=================  ==============================================================
pickle             protocols 0 to 5, several pickles in sequence
joblib             zlib, gzip, bz2, xz/lzma (lz4 with the ``lz4`` package) around a
                   pickle whose numpy arrays' bytes follow their wrappers
torch (zip)        every ``*.pkl`` member (``data.pkl``, TorchScript's
                   ``constants.pkl``); tensor bytes are numbers torch never unpickles
torch (legacy)     the five pickles ``torch.save(_use_new_zipfile_serialization=
                   False)`` writes; the storages' bytes after them are numbers
npy                the header parsed; an object array's data is a pickle, followed;
                   a numeric array is clean without reading its data
npz, zip           each member by its own first bytes, zips in zips down to
                   :data:`MAX_DEPTH`; flag bits and CRCs torch ignores are ignored
                   too, and a zip without a usable central directory is read by its
                   local headers
keras              ``config.json``: ``Lambda`` layers and custom objects
h5                 Keras' ``model_config`` attribute, when h5py is importable
safetensors        the header only (the tensors are numbers): checked well-formed
=================  ==============================================================

Nothing is imported from the file and nothing in it is run.
"""

from __future__ import annotations

import ast
import io
import json
import math
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from importwall.static import pickleops
from importwall.static.pickleops import (
    _READ_ERRORS,
    PickleError,
    PickleMachine,
    Reference,
    _describe,
    open_compressed_stream,
    read_references,
)

MAX_DEPTH = 3
"""How deep archives in archives are followed."""
MAX_NESTED_BYTES = 1 << 30
"""The largest archive member read into memory to be opened as an archive itself."""

TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."
"""The first pickle of a legacy ``torch.save`` file: the magic number 0x1950a86a20f9469cfc6c."""
NPY_MAGIC = b"\x93NUMPY"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


@dataclass
class Note:
    """A finding about a file that is not a global of a pickle (a Keras ``Lambda``)."""

    code: str
    severity: str
    subject: str
    message: str
    fix: str


@dataclass
class Stream:
    """One thing read: a pickle stream, or a non-pickle part of a file that was checked.

    ``member`` is the path inside the archives (``inner.zip!data.pkl``), ``references``
    the globals read before ``error`` (why reading stopped early, if it did), ``notes``
    what a non-pickle part says (a Keras ``Lambda``)."""

    file: str
    member: str | None
    format: str
    compression: str = ""
    references: dict[str, Reference] = field(default_factory=dict)
    error: str | None = None
    notes: list[Note] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.file}!{self.member}" if self.member else self.file


def sniff(head: bytes) -> str:
    """The format of a file starting with ``head`` (at least 16 bytes where it has them)."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head.startswith(HDF5_MAGIC):
        return "h5"
    if head.startswith(TORCH_LEGACY_MAGIC):
        return "torch-legacy"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00\x00", b"\x04\x22\x4d\x18")):
        return "compressed"
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "compressed"  # a zlib stream (joblib's compress="zlib")
    if _safetensors_header_size(head) is not None:
        return "safetensors"
    return "pickle"


def _safetensors_header_size(head: bytes) -> int | None:
    if len(head) < 9:
        return None
    size = struct.unpack("<Q", head[:8])[0]
    return size if 2 <= size < (100 << 20) and head[8:9] == b"{" else None


# --------------------------------------------------------------------------- entry point


def read_model_file(path: str) -> Iterator[Stream]:
    """Every stream of ``path``, as :class:`Stream`; read errors become ``error``."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError as error:
        yield Stream(path, None, "unknown", error=error.strerror or str(error))
        return
    kind = sniff(head)
    if kind == "zip":
        try:
            archive = _open_zip(path)
        except (*_READ_ERRORS, UnicodeDecodeError) as error:
            yield from _local_headers(path, None, path, 1, _describe(error))
            return
        with archive:
            yield from _read_zip(archive, path, None, 1)
        return
    if kind == "h5":
        yield _read_h5(path, None)
        return
    with open(path, "rb") as raw:
        yield from _read_stream(raw, kind, path, None, 1)


# --------------------------------------------------------------------------- streams


def _read_stream(raw: IO[bytes], kind: str, file: str, member: str | None,
                 depth: int) -> Iterator[Stream]:
    """A non-archive stream of ``kind`` (``raw`` at its start; it needs ``peek``)."""
    if kind == "npy":
        yield _read_npy(raw, file, member)
        return
    if kind == "safetensors":
        yield _read_safetensors(raw, file, member)
        return
    stream = Stream(file, member, "torch-legacy" if kind == "torch-legacy" else "pickle")
    try:
        if kind == "compressed":
            raw, stream.compression = open_compressed_stream(raw)
            stream.format = "joblib"
        if kind == "torch-legacy":
            _read_torch_legacy(raw, stream.references)
        else:
            read_references(raw, stream.references)
    except _READ_ERRORS as error:
        stream.error = _describe(error)
    yield stream


def _read_torch_legacy(raw: IO[bytes], references: dict[str, Reference]) -> None:
    """Magic number, protocol version, system info, the object, the storage keys: five
    pickles; then each storage's raw bytes, which torch reads as numbers."""
    for _ in range(5):
        PickleMachine(raw, references).run()


# --------------------------------------------------------------------------- numpy


def _read_npy(raw: IO[bytes], file: str, member: str | None) -> Stream:
    stream = Stream(file, member, "npy")
    try:
        header = _npy_header(raw)
        if _descr_has_object(header["descr"]):
            stream.format = "npy (object array)"
            read_references(raw, stream.references)  # numpy pickles object arrays
    except (*_READ_ERRORS, SyntaxError, MemoryError, RecursionError) as error:
        stream.error = _describe(error)
    return stream


def _npy_header(raw: IO[bytes]) -> dict[str, Any]:
    magic = raw.read(8)
    if len(magic) < 8 or not magic.startswith(NPY_MAGIC):
        raise PickleError("not a .npy file")
    major = magic[6]
    size_bytes = 2 if major == 1 else 4
    if major not in (1, 2, 3):
        raise PickleError(f".npy format version {major} is not known")
    size = int.from_bytes(raw.read(size_bytes), "little")
    if size > 1 << 20:
        raise PickleError(f"a .npy header of {size} bytes")
    text = raw.read(size)
    if len(text) != size:
        raise PickleError("the file ends inside the .npy header")
    header = ast.literal_eval(text.decode("utf-8" if major == 3 else "latin1"))
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"} \
            or not isinstance(header["shape"], tuple) \
            or not all(isinstance(n, int) and n >= 0 for n in header["shape"]):
        raise PickleError("a .npy header that numpy would not load")
    return header


def _descr_has_object(descr: Any) -> bool:
    if isinstance(descr, str):
        return descr.lstrip("<>=|").startswith("O")
    if isinstance(descr, list):
        return any(isinstance(item, tuple) and len(item) >= 2 and _descr_has_object(item[1])
                   for item in descr)
    raise PickleError(f"a .npy dtype {descr!r} that numpy would not load")


# --------------------------------------------------------------------------- safetensors

_SAFETENSORS_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2,
                      "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8,
                      "U64": 8, "F64": 8, "C64": 8, "F4": 1, "F6_E2M3": 1, "F6_E3M2": 1,
                      "F8_E8M0": 1, "E8M0": 1, "F8_E4M3FNUZ": 1, "F8_E5M2FNUZ": 1}


def _read_safetensors(raw: IO[bytes], file: str, member: str | None) -> Stream:
    """Only the header: the rest are tensor bytes, which hold no code."""
    stream = Stream(file, member, "safetensors")
    head = raw.read(8)
    size = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
    text = raw.read(size)
    remaining = _remaining(raw)
    problem = _safetensors_problem(text, size, remaining)
    if problem is not None:
        stream.error = f"not a well-formed safetensors header: {problem}"
    return stream


def _remaining(raw: IO[bytes]) -> int | None:
    try:
        here = raw.tell()
        end = raw.seek(0, io.SEEK_END)
        raw.seek(here)
        return end - here
    except (OSError, ValueError, AttributeError):
        return None


def _safetensors_problem(text: bytes, size: int, remaining: int | None) -> str | None:
    if len(text) != size:
        return "the file ends inside the header"
    try:
        header = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        return f"the header is not JSON ({error})"
    if not isinstance(header, dict):
        return "the header is not a JSON object"
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(
                    isinstance(v, str) for v in entry.values()):
                return "__metadata__ must map strings to strings"
            continue
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            return f"tensor {name!r} needs exactly dtype, shape and data_offsets"
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in _SAFETENSORS_SIZES:
            return f"tensor {name!r} has an unknown dtype {dtype!r}"
        if not isinstance(shape, list) or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            return f"tensor {name!r} has a bad shape {shape!r}"
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(n, int) and n >= 0 for n in offsets)
                and offsets[0] <= offsets[1]):
            return f"tensor {name!r} has bad data_offsets {offsets!r}"
        bits = math.prod(shape) * _SAFETENSORS_SIZES[dtype]
        if dtype not in ("F4", "F6_E2M3", "F6_E3M2") and offsets[1] - offsets[0] != bits:
            return f"tensor {name!r} holds {offsets[1] - offsets[0]} bytes, its shape {bits}"
        spans.append((offsets[0], offsets[1], name))
    at = 0
    for begin, end, name in sorted(spans):
        if begin != at:
            return f"tensor {name!r} does not start where the one before it ends"
        at = end
    if remaining is not None and at > remaining:
        return f"the tensors need {at} bytes after the header, the file has {remaining}"
    return None


# --------------------------------------------------------------------------- keras


def _keras_notes(config: Any, where: str) -> list[Note]:
    """``Lambda`` layers (their ``function`` is marshalled Python bytecode) and custom
    objects (loading imports their module) anywhere in a Keras config."""
    notes: list[Note] = []
    seen: set[tuple[str, str]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            class_name = node.get("class_name")
            module = node.get("module")
            if class_name in ("Lambda", "__lambda__", "TFOpLambda") \
                    and ("lambda", "") not in seen:
                seen.add(("lambda", ""))
                notes.append(Note(
                    "model-keras-lambda", "error", f"keras {class_name}",
                    f"{where} has a Keras {class_name} layer, whose function is Python "
                    "bytecode run when the model is loaded (safe_mode=False) or called",
                    "rewrite the layer as a registered custom layer whose code you ship, "
                    "and keep safe_mode=True when loading"))
            elif isinstance(class_name, str) and isinstance(module, str) \
                    and not module.startswith(("keras", "tf_keras", "tensorflow.keras")) \
                    and (module, class_name) not in seen:
                seen.add((module, class_name))
                notes.append(Note(
                    "model-keras-custom-object", "warning", f"{module}.{class_name}",
                    f"{where} names custom object {module}.{class_name}: loading the "
                    f"model imports {module} and runs its code",
                    f"make sure {module} is code you ship and trust, or add "
                    f"[models] allow = [\"{module}.{class_name}\"]"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return notes


def _read_h5(path: str, member: str | None) -> Stream:
    stream = Stream(path, member, "h5")
    try:
        import h5py  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        stream.error = ("an HDF5 file: install h5py to check its Keras model_config; nothing "
                        "in it was checked")
        return stream
    try:
        with h5py.File(path, "r") as handle:
            config = handle.attrs.get("model_config")
    except Exception as error:  # h5py raises OSError, KeyError, ValueError...
        stream.error = _describe(error)
        return stream
    if config is None:
        return stream  # weights only: numbers
    if isinstance(config, bytes):
        config = config.decode("utf-8", "replace")
    try:
        stream.notes = _keras_notes(json.loads(config), stream.label)
    except ValueError as error:
        stream.error = f"model_config is not JSON ({error})"
    return stream


# --------------------------------------------------------------------------- zip


def _open_zip(source: str | IO[bytes]) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(source)
    for info in archive.infolist():
        # torch's reader ignores the encryption flag (GHSA-w8jq-xcqf-f792, picklescan):
        # read the member as torch would; really encrypted bytes fail as a pickle.
        info.flag_bits &= ~0x1
    return archive


def _open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    handle = archive.open(info)
    # torch does not check CRCs (CVE-2025-10156, JFrog): neither does this scan.
    handle._expected_crc = None  # type: ignore[attr-defined]
    return handle


def _is_torch_zip(names: list[str]) -> bool:
    return any(name == "data.pkl" or name.endswith("/data.pkl") for name in names)


def _read_zip(archive: zipfile.ZipFile, file: str, prefix: str | None,
              depth: int) -> Iterator[Stream]:
    infos = [info for info in archive.infolist() if not info.is_dir()]
    names = [info.filename for info in infos]
    torch = _is_torch_zip(names)
    keras = "config.json" in names and ("metadata.json" in names
                                        or "model.weights.h5" in names)
    found = False
    for info in infos:
        member = f"{prefix}!{info.filename}" if prefix else info.filename
        if keras and info.filename == "config.json":
            found = True
            yield _read_keras_config(archive, info, file, member)
            continue
        if torch and "/data/" in f"/{info.filename}":
            continue  # tensor bytes: torch reads them as numbers, never unpickles them
        if keras and (info.filename.endswith(".h5") or info.filename.startswith("assets/")):
            continue  # weights and assets: Keras reads them as numbers and files
        try:
            with _open_member(archive, info) as handle:
                head = handle.read(64)
        except _READ_ERRORS as error:
            found = True
            yield Stream(file, member, "zip member", "zip", error=_describe(error))
            continue
        kind = sniff(head)
        if kind == "pickle" and not _looks_like_pickle(head, info.filename):
            continue  # text, JSON, raw numbers: not a format a loader unpickles
        found = True
        yield from _read_member(archive, info, kind, file, member, depth)
    if not found:
        yield Stream(file, prefix, "zip", "zip",
                     error="a zip archive with no member in a model format "
                           f"({len(infos)} member(s) checked)")


_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".jl", ".sav", ".dill", ".pt", ".pth",
                    ".bin", ".ckpt", ".data", ".dat")


def _looks_like_pickle(head: bytes, name: str) -> bool:
    if head[:1] == b"\x80" and head[1:2] and head[1] <= 5:
        return True
    return name.lower().endswith(_PICKLE_SUFFIXES)  # protocols 0 and 1 have no magic


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, kind: str, file: str,
                 member: str, depth: int) -> Iterator[Stream]:
    try:
        if kind == "zip":
            if depth >= MAX_DEPTH:
                yield Stream(file, member, "zip", "zip",
                             error=f"an archive nested more than {MAX_DEPTH} deep; its "
                                   "members were not checked")
                return
            if info.file_size > MAX_NESTED_BYTES:
                yield Stream(file, member, "zip", "zip",
                             error=f"a nested archive of {info.file_size} bytes, over the "
                                   f"{MAX_NESTED_BYTES}-byte limit; not checked")
                return
            with _open_member(archive, info) as handle:
                data = handle.read(MAX_NESTED_BYTES + 1)
            try:
                inner = _open_zip(io.BytesIO(data))
            except (*_READ_ERRORS, UnicodeDecodeError) as error:
                yield from _local_headers(io.BytesIO(data), member, file, depth + 1,
                                          _describe(error))
                return
            with inner:
                yield from _read_zip(inner, file, member, depth + 1)
            return
        if kind == "h5":
            yield Stream(file, member, "h5", "zip",
                         error="an HDF5 file inside an archive is not checked")
            return
        with _open_member(archive, info) as handle:
            streams = list(_read_stream(handle, kind, file, member, depth))
        for stream in streams:
            stream.compression = stream.compression or "zip"
            yield stream
    except _READ_ERRORS as error:
        yield Stream(file, member, kind, "zip", error=_describe(error))


def _read_keras_config(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file: str,
                       member: str) -> Stream:
    stream = Stream(file, member, "keras", "zip")
    try:
        with _open_member(archive, info) as handle:
            config = json.loads(handle.read(64 << 20))
        stream.notes = _keras_notes(config, stream.label)
    except (*_READ_ERRORS, UnicodeDecodeError) as error:
        stream.error = f"config.json cannot be read: {_describe(error)}"
    return stream


_LOCAL = struct.Struct("<4sHHHHHIIIHH")


def _local_headers(source: str | IO[bytes], prefix: str | None, file: str, depth: int,
                   why: str) -> Iterator[Stream]:
    """A zip whose central directory zipfile refuses, read member by member from its
    local headers, as a tolerant loader could."""
    handle = open(source, "rb") if isinstance(source, str) else source  # noqa: SIM115
    with handle:
        data = handle.read(MAX_NESTED_BYTES + 1)
    entries = []
    at = data.find(b"PK\x03\x04")
    while at >= 0 and at + _LOCAL.size <= len(data):
        (_, _, flags, method, _, _, _, compressed, _, name_size,
         extra_size) = _LOCAL.unpack_from(data, at)
        name = data[at + _LOCAL.size:at + _LOCAL.size + name_size].decode("utf-8", "replace")
        start = at + _LOCAL.size + name_size + extra_size
        if flags & 0x8 and compressed == 0:  # sizes in a data descriptor: find the next one
            end = data.find(b"PK\x03\x04", start)
            end = len(data) if end < 0 else end
        else:
            end = start + compressed
        entries.append((name, method, data[start:end]))
        at = data.find(b"PK\x03\x04", max(end, at + 4))
    torch = _is_torch_zip([name for name, _, _ in entries])
    found = False
    for name, method, body in entries:
        if torch and "/data/" in f"/{name}":
            continue  # tensor bytes
        member = f"{prefix}!{name}" if prefix else name
        try:
            if method == 8:
                body = zlib.decompressobj(-15).decompress(body)
            elif method != 0:
                continue
        except zlib.error:
            continue
        kind = sniff(body[:64])
        if kind == "pickle" and not _looks_like_pickle(body[:64], name):
            continue
        found = True
        if kind in ("zip", "h5"):
            yield Stream(file, member, kind, "zip", error="a nested archive in a zip "
                         "without a central directory is not checked")
            continue
        for stream in _read_stream(io.BufferedReader(io.BytesIO(body)), kind, file, member,
                                   depth):
            stream.compression = stream.compression or "zip"
            yield stream
    if not found:
        yield Stream(file, prefix, "zip", "zip", error=why)
        return
    yield Stream(file, prefix, "zip", "zip", notes=[Note(
        "model-odd-archive", "warning", prefix or file,
        f"{prefix or file}: zipfile cannot read the central directory ({why}); its members "
        "were read from their local headers instead, as a tolerant loader could",
        "re-save the model; a writer that follows the zip format leaves no such archive")])


# --------------------------------------------------------------------------- plain views


def references_of(path: str) -> dict[str, Reference]:
    """Every global the pickle streams in ``path`` reference, decompressed and joblib's
    array payloads skipped as :class:`ModelScanner` does. Raises :class:`PickleError`
    when a stream cannot be followed to its end."""
    merged: dict[str, Reference] = {}
    for label, _, references, error in stream_references(path):
        if error is not None:
            raise PickleError(f"{label}: {error}")
        merged.update(references)
    return merged


StreamReferences = tuple[str, str, dict[str, Reference], str | None]


def stream_references(path: str) -> Iterator[StreamReferences]:
    """(label, compression, references, error) per stream of ``path``: the fuzz
    targets' view of :func:`read_model_file`."""
    for stream in read_model_file(path):
        yield stream.label, stream.compression, stream.references, stream.error


pickleops.NESTED_READER = read_model_file
