"""Read the opcodes of pickle streams without unpickling them: which globals a loader would
import, for protocols 0 to 5, through the compressions and numpy payloads joblib writes.

:class:`PickleMachine` replays the opcode stream (:func:`pickletools.genops`) on a symbolic
stack, with the memo, so that ``STACK_GLOBAL`` operands fetched from the memo (protocols 4
and 5 reuse module names that way) are resolved exactly. Nothing is imported and nothing
is called.

Files written by ``joblib.dump`` are read as joblib writes them: optionally compressed
(zlib, gzip, bz2, xz/lzma; lz4 when the ``lz4`` package is installed), with the raw bytes
of each numpy array written straight after its ``NumpyArrayWrapper`` inside the pickle
stream (and object arrays as a nested pickle). Zip archives (PyTorch's ``.pt``) are read
member by member.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import math
import pickletools
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, cast


@dataclass(frozen=True)
class Global:
    """A global the pickle names: ``module.name``, imported by the loader."""

    module: str
    name: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass
class _Object:
    """The result of calling ``callable`` (REDUCE, NEWOBJ, INST, OBJ); ``state`` is what
    BUILD gave it."""

    callable: Any
    args: Any
    state: Any = None

    @property
    def cls(self) -> Any:
        # Protocols 0 and 1 build plain objects through copyreg._reconstructor(cls, ...).
        if isinstance(self.callable, Global) and str(self.callable) in _RECONSTRUCTORS \
                and isinstance(self.args, tuple) and self.args:
            return self.args[0]
        return self.callable


_RECONSTRUCTORS = ("copyreg._reconstructor", "copy_reg._reconstructor")


class _Unknown:
    """A value the scan cannot know (an extension code, a persistent id, a buffer)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()


class PickleError(Exception):
    """The stream is not a pickle this scan can follow."""


@dataclass
class Reference:
    """A global referenced by a pickle: where first, and how often.

    For a resolver (``getattr``, numpy's ufunc helper: callables that fetch a global by
    name), ``calls`` counts the times the pickle calls it and ``resolved`` those whose
    arguments were constants, so that the global they fetch was recorded in its place
    (with ``via`` naming the resolver)."""

    target: Global | str
    offset: int | None
    count: int = 1
    calls: int = 0
    resolved: int = 0
    via: str | None = None

    @property
    def fully_resolved(self) -> bool:
        """Every call of this resolver fetched a global the scan recorded."""
        return self.calls > 0 and self.calls == self.resolved


NESTED_READER: Callable[[str], Iterator[Any]] | None = None
"""How a model file held as bytes inside a pickle is read (set by
:mod:`importwall.static.modelfiles`, which reads every format, when it is imported)."""

_GETATTR = frozenset({"builtins.getattr", "__builtin__.getattr"})
_BY_NAME = frozenset({"numpy.core._ufunc_reconstruct", "numpy._core._ufunc_reconstruct"})
_NESTED_MODEL = frozenset({"torch.storage._load_from_bytes"})
RESOLVERS = _GETATTR | _BY_NAME | _NESTED_MODEL
"""Globals whose calls the scan resolves when their arguments are constants."""


_JOBLIB_WRAPPERS = ("joblib.numpy_pickle.NumpyArrayWrapper",
                    "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper")
_CHUNK = 1 << 20


class PickleMachine:
    """Replays one pickle from ``stream`` up to its STOP, recording every global.

    ``stream`` needs ``read``, ``readline`` and ``tell``; it is left just after STOP, so
    a file holding several pickles (or joblib's array payloads) can be read on.
    """

    def __init__(self, stream: IO[bytes], references: dict[str, Reference]) -> None:
        self.stream = stream
        self.references = references
        self.stack: list[Any] = []
        self.marks: list[list[Any]] = []
        self.memo: dict[int, Any] = {}

    # -- stack helpers

    def _pop(self) -> Any:
        if not self.stack:
            raise PickleError("stack underflow")
        return self.stack.pop()

    def _pop_mark(self) -> list[Any]:
        if not self.marks:
            raise PickleError("no MARK on the stack")
        items = self.stack
        self.stack = self.marks.pop()
        return items

    def _top(self) -> Any:
        if not self.stack:
            raise PickleError("stack underflow")
        return self.stack[-1]

    def _refer(self, target: Global | str, offset: int | None,
               via: str | None = None) -> None:
        key = str(target)
        if key in self.references:
            self.references[key].count += 1
        else:
            self.references[key] = Reference(target, offset, via=via)

    def _resolve(self, function: Global, args: Any, offset: int | None) -> Any:
        """A call of a resolver: the global it fetches when its arguments are constants
        (recorded like any other), else None."""
        reference = self.references.get(str(function))
        if reference is None:  # pragma: no cover - every Global on the stack was recorded
            return None
        reference.calls += 1
        found: Global | None = None
        if not isinstance(args, tuple):
            return None
        if str(function) in _GETATTR and len(args) == 2 and isinstance(args[1], str):
            owner = args[0].cls if isinstance(args[0], _Object) else args[0]
            if isinstance(owner, Global):
                found = Global(owner.module, f"{owner.name}.{args[1]}")
        elif str(function) in _BY_NAME and len(args) == 2 \
                and all(isinstance(a, str) for a in args):
            found = Global(args[0], args[1])
        elif str(function) in _NESTED_MODEL and len(args) == 1 \
                and isinstance(args[0], (bytes, bytearray, Span)):
            # pickle.dumps(tensor): torch.load of a whole torch.save file held as bytes.
            if not self._read_nested(args[0], str(function), offset):
                return None
            reference.resolved += 1
            return UNKNOWN
        if found is None:
            return None
        reference.resolved += 1
        self._refer(found, offset, via=str(function))
        return found

    def _global(self, module: Any, name: Any, offset: int | None) -> Any:
        if not isinstance(module, str) or not isinstance(name, str):
            self._refer("<computed global>", offset)
            return UNKNOWN
        found = Global(module, name)
        self._refer(found, offset)
        return found

    def _read_nested(self, data: bytes | bytearray | Span, via: str,
                     offset: int | None) -> bool:
        """Record the globals of model file ``data`` (bytes a call loads, at ``offset``;
        a :class:`Span` of this stream when they were skipped) as this pickle's; False
        when it cannot be followed to its end."""
        import os
        import tempfile

        if NESTED_READER is None:  # pragma: no cover - set when modelfiles is imported
            return False
        read_model_file = NESTED_READER
        with tempfile.TemporaryDirectory(prefix="importwall-nested-") as folder:
            path = os.path.join(folder, "nested")
            with open(path, "wb") as handle:
                if isinstance(data, Span):
                    if not self._copy_span(data, handle):
                        return False
                else:
                    handle.write(data)
            complete = True
            for stream in read_model_file(path):
                complete = complete and stream.error is None and not stream.notes
                for key, found in stream.references.items():
                    if key in self.references:
                        self.references[key].count += found.count
                    else:
                        found.via = found.via or via
                        found.offset = offset  # where this pickle loads the nested file
                        self.references[key] = found
        return complete

    def _copy_span(self, span: Span, out: IO[bytes]) -> bool:
        raw = self.stream
        if not isinstance(raw, (io.BufferedReader, io.BytesIO)) or not raw.seekable():
            return False  # a compressed or archived stream: it cannot be read again
        here = raw.tell()
        try:
            raw.seek(span.offset)
            left = span.size
            while left > 0:
                chunk = raw.read(min(left, _CHUNK))
                if not chunk:
                    return False
                out.write(chunk)
                left -= len(chunk)
        finally:
            raw.seek(here)
        return True

    # -- the loop

    def run(self) -> None:
        with warnings.catch_warnings():
            # A protocol-0 STRING with an invalid escape: the real loader warns and loads
            # it, and what the string says is irrelevant to the globals.
            warnings.simplefilter("ignore", DeprecationWarning)
            self._run()

    def _run(self) -> None:
        # pickletools' opcode table and argument readers, but a loop of our own: a large
        # bytes or string payload (array data) is skipped, not read into memory, and each
        # opcode goes straight to its handler.
        stream = cast(IO[bytes], _Chunked(self.stream))
        read, tell = stream.read, stream.tell
        handlers = self._handlers()
        while True:
            offset = tell()
            code = read(1)
            entry = handlers.get(code)
            if entry is None:
                if not code:
                    raise PickleError("the pickle ends without STOP")
                raise PickleError(f"at position {offset}, opcode {code!r} unknown")
            name, reader, handler = entry
            arg = reader(stream) if reader is not None else None
            if handler is not None:
                handler(arg, offset)
            elif name in _PUSHES_ARG:
                self.stack.append(arg)
            elif name not in _IGNORED:
                raise PickleError(f"opcode {name} is not understood")
            if name == "STOP":
                return

    def _handlers(self) -> dict[bytes, tuple[str, Any, Any]]:
        return {code: (name, reader, getattr(self, f"_op_{name}", None))
                for code, (name, reader) in _OPCODES.items()}

    def _op_NONE(self, arg: Any, offset: int | None) -> None:
        self.stack.append(None)

    def _op_NEWTRUE(self, arg: Any, offset: int | None) -> None:
        self.stack.append(True)

    def _op_NEWFALSE(self, arg: Any, offset: int | None) -> None:
        self.stack.append(False)

    def _op_EMPTY_LIST(self, arg: Any, offset: int | None) -> None:
        self.stack.append([])

    def _op_EMPTY_DICT(self, arg: Any, offset: int | None) -> None:
        self.stack.append({})

    def _op_EMPTY_TUPLE(self, arg: Any, offset: int | None) -> None:
        self.stack.append(())

    def _op_EMPTY_SET(self, arg: Any, offset: int | None) -> None:
        self.stack.append([])

    def _op_MARK(self, arg: Any, offset: int | None) -> None:
        self.marks.append(self.stack)
        self.stack = []

    def _op_POP(self, arg: Any, offset: int | None) -> None:
        if self.stack:
            self.stack.pop()
        else:
            self._pop_mark()

    def _op_POP_MARK(self, arg: Any, offset: int | None) -> None:
        self._pop_mark()

    def _op_DUP(self, arg: Any, offset: int | None) -> None:
        self.stack.append(self._top())

    def _op_TUPLE(self, arg: Any, offset: int | None) -> None:
        items = self._pop_mark()  # first: it replaces self.stack
        self.stack.append(tuple(items))

    def _op_TUPLE1(self, arg: Any, offset: int | None) -> None:
        self.stack.append((self._pop(),))

    def _op_TUPLE2(self, arg: Any, offset: int | None) -> None:
        second = self._pop()
        self.stack.append((self._pop(), second))

    def _op_TUPLE3(self, arg: Any, offset: int | None) -> None:
        third, second = self._pop(), self._pop()
        self.stack.append((self._pop(), second, third))

    def _op_LIST(self, arg: Any, offset: int | None) -> None:
        items = self._pop_mark()  # first: it replaces self.stack
        self.stack.append(items)

    def _op_FROZENSET(self, arg: Any, offset: int | None) -> None:
        items = self._pop_mark()  # first: it replaces self.stack
        self.stack.append(items)

    def _op_DICT(self, arg: Any, offset: int | None) -> None:
        items = self._pop_mark()
        self.stack.append(_as_dict(items))

    def _op_APPEND(self, arg: Any, offset: int | None) -> None:
        value = self._pop()
        target = self._top()
        if isinstance(target, list):
            target.append(value)

    def _op_APPENDS(self, arg: Any, offset: int | None) -> None:
        values = self._pop_mark()
        target = self._top()
        if isinstance(target, list):
            target.extend(values)

    def _op_ADDITEMS(self, arg: Any, offset: int | None) -> None:
        self._op_APPENDS(arg, offset)

    def _op_SETITEM(self, arg: Any, offset: int | None) -> None:
        value, key = self._pop(), self._pop()
        _set_items(self._top(), [key, value])

    def _op_SETITEMS(self, arg: Any, offset: int | None) -> None:
        items = self._pop_mark()
        _set_items(self._top(), items)

    def _op_PUT(self, arg: Any, offset: int | None) -> None:
        self.memo[int(arg)] = self._top()

    _op_BINPUT = _op_PUT
    _op_LONG_BINPUT = _op_PUT

    def _op_MEMOIZE(self, arg: Any, offset: int | None) -> None:
        self.memo[len(self.memo)] = self._top()

    def _op_GET(self, arg: Any, offset: int | None) -> None:
        if int(arg) not in self.memo:
            raise PickleError(f"memo key {arg} was never stored")
        self.stack.append(self.memo[int(arg)])

    _op_BINGET = _op_GET
    _op_LONG_BINGET = _op_GET

    def _op_GLOBAL(self, arg: Any, offset: int | None) -> None:
        module, _, name = str(arg).partition(" ")
        self.stack.append(self._global(module, name, offset))

    def _op_STACK_GLOBAL(self, arg: Any, offset: int | None) -> None:
        name = self._pop()
        module = self._pop()
        self.stack.append(self._global(module, name, offset))

    def _op_INST(self, arg: Any, offset: int | None) -> None:
        module, _, name = str(arg).partition(" ")
        args = tuple(self._pop_mark())
        self.stack.append(_Object(self._global(module, name, offset), args))

    def _op_OBJ(self, arg: Any, offset: int | None) -> None:
        items = self._pop_mark()
        if not items:
            raise PickleError("OBJ without a class")
        self.stack.append(_Object(items[0], tuple(items[1:])))

    def _op_REDUCE(self, arg: Any, offset: int | None) -> None:
        args = self._pop()
        function = self._pop()
        if isinstance(function, Global) and str(function) == "_codecs.encode" \
                and isinstance(args, tuple) and len(args) == 2 \
                and isinstance(args[0], str) and args[1] == "latin1":
            # Protocols 0-2 write bytes as _codecs.encode(text, "latin1"): a constant.
            self.stack.append(args[0].encode("latin1", "replace"))
            return
        if isinstance(function, Global) and str(function) in RESOLVERS:
            found = self._resolve(function, args, offset)
            if found is not None:
                self.stack.append(found)
                return
        self.stack.append(_Object(function, args))

    def _op_NEWOBJ(self, arg: Any, offset: int | None) -> None:
        args = self._pop()
        self.stack.append(_Object(self._pop(), args))

    def _op_NEWOBJ_EX(self, arg: Any, offset: int | None) -> None:
        self._pop()  # keyword arguments
        args = self._pop()
        self.stack.append(_Object(self._pop(), args))

    def _op_EXT1(self, arg: Any, offset: int | None) -> None:
        # The copyreg extension registry of the loading process decides what this is.
        self._refer(f"<extension code {arg}>", offset)
        self.stack.append(UNKNOWN)

    _op_EXT2 = _op_EXT1
    _op_EXT4 = _op_EXT1

    def _op_PERSID(self, arg: Any, offset: int | None) -> None:
        self.stack.append(UNKNOWN)

    def _op_BINPERSID(self, arg: Any, offset: int | None) -> None:
        self._pop()
        self.stack.append(UNKNOWN)

    def _op_NEXT_BUFFER(self, arg: Any, offset: int | None) -> None:
        self.stack.append(UNKNOWN)

    def _op_BUILD(self, arg: Any, offset: int | None) -> None:
        state = self._pop()
        target = self._top()
        if isinstance(target, _Object):
            target.state = state
            if str(target.cls) in _JOBLIB_WRAPPERS:
                self._skip_joblib_array(state)

    # -- joblib

    def _skip_joblib_array(self, state: Any) -> None:
        """joblib writes an array's raw bytes right after its wrapper's BUILD."""
        if not isinstance(state, dict):
            raise PickleError("a joblib array wrapper without its state")
        dtype = state.get("dtype")
        if _dtype_is_object(dtype):
            PickleMachine(self.stream, self.references).run()
            return
        if state.get("numpy_array_alignment_bytes") is not None:
            padding = self.stream.read(1)
            if len(padding) != 1:
                raise PickleError("the file ends inside a joblib array")
            self._skip(padding[0])
        shape = state.get("shape")
        if not isinstance(shape, tuple) or not all(isinstance(n, int) for n in shape):
            raise PickleError("a joblib array wrapper without a shape")
        self._skip(math.prod(shape) * _itemsize(dtype))

    def _skip(self, size: int) -> None:
        while size > 0:
            chunk = self.stream.read(min(size, _CHUNK))
            if not chunk:
                raise PickleError("the file ends inside a joblib array")
            size -= len(chunk)


LARGE_PAYLOAD = 1 << 16
"""Bytes and strings longer than this are skipped where the stream allows, never kept."""


class Span:
    """A payload the scan skipped: ``size`` bytes at ``offset`` of the stream."""

    __slots__ = ("offset", "size")

    def __init__(self, offset: int, size: int) -> None:
        self.offset = offset
        self.size = size

    def __repr__(self) -> str:
        return f"<{self.size} bytes at {self.offset}>"


def _skipping(width: int, kind: str, text: bool) -> Any:
    """A reader for a payload with a ``width``-byte little-endian length: up to
    :data:`LARGE_PAYLOAD` read as pickletools reads it, beyond it skipped (a
    :class:`Span`)."""

    def reader(stream: Any) -> Any:
        head = stream.read(width)
        if len(head) != width:
            raise PickleError(f"not enough data in the stream to read a {kind} length")
        size = int.from_bytes(head, "little")
        if size <= LARGE_PAYLOAD:
            data = stream.read(size)
            if len(data) != size:
                raise PickleError(f"expected {size} bytes in a {kind}, but only {len(data)} "
                                  "remain")
            return data.decode("utf-8", "surrogatepass") if text else data
        return _skip_payload(stream, size, kind)

    return reader


def _skip_payload(stream: Any, size: int, kind: str) -> Span:
    at = stream.tell()
    raw = stream.raw_stream
    if isinstance(raw, (io.BufferedReader, io.BytesIO)) and raw.seekable():
        end = raw.seek(0, io.SEEK_END)
        raw.seek(at)
        if at + size > end:
            raise PickleError(f"expected {size} bytes in a {kind}, but only {end - at} "
                              "remain")
        raw.seek(at + size)
        return Span(at, size)
    left = size
    while left > 0:
        chunk = stream.read(min(left, _CHUNK))
        if not chunk:
            raise PickleError(f"expected {size} bytes in a {kind}, but only "
                              f"{size - left} remain")
        left -= len(chunk)
    return Span(at, size)


_SKIPPING_READERS = {
    "bytes4": _skipping(4, "bytes4", False), "bytes8": _skipping(8, "bytes8", False),
    "bytearray8": _skipping(8, "bytearray8", False),
    "unicodestring4": _skipping(4, "unicodestring4", True),
    "unicodestring8": _skipping(8, "unicodestring8", True),
}
_OPCODES: dict[bytes, tuple[str, Any]] = {
    op.code.encode("latin-1"): (op.name, None if op.arg is None else
                                _SKIPPING_READERS.get(op.arg.name, op.arg.reader))
    for op in pickletools.opcodes}


_PUSHES_ARG = frozenset({
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING",
    "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "UNICODE",
    "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "FLOAT", "BINFLOAT"})
_IGNORED = frozenset({"PROTO", "FRAME", "STOP", "READONLY_BUFFER"})


def _as_dict(items: list[Any]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    _set_items(out, items)
    return out


def _set_items(target: Any, items: list[Any]) -> None:
    if not isinstance(target, dict):
        return
    for index in range(0, len(items) - 1, 2):
        try:
            target[items[index]] = items[index + 1]
        except TypeError:  # an unhashable symbolic key: irrelevant to what we track
            continue


def _dtype_parts(dtype: Any) -> tuple[str, Any]:
    if not isinstance(dtype, _Object) or not isinstance(dtype.args, tuple) or not dtype.args:
        raise PickleError("a joblib array wrapper without a numpy dtype")
    return str(dtype.args[0]), dtype.state


def _dtype_is_object(dtype: Any) -> bool:
    """Whether joblib reads this array as a nested pickle: an object dtype, or a record
    or sub-array dtype holding one (numpy's ``hasobject``)."""
    code, state = _dtype_parts(dtype)
    if code.startswith("O"):
        return True
    if not isinstance(state, tuple) or len(state) < 5:
        return False
    subarray, fields = state[2], state[4]
    if isinstance(subarray, tuple) and subarray and _dtype_is_object(subarray[0]):
        return True
    return isinstance(fields, dict) and any(
        isinstance(entry, tuple) and entry and _dtype_is_object(entry[0])
        for entry in fields.values())


def _itemsize(dtype: Any) -> int:
    """numpy pickles a dtype as ``dtype('f8', ...)`` plus a state whose sixth field is the
    element size of flexible types (``U``, ``S``, ``V``, records) and -1 otherwise."""
    code, state = _dtype_parts(dtype)
    if isinstance(state, tuple) and len(state) > 5 and isinstance(state[5], int) \
            and state[5] > 0:
        return state[5]
    match = re.fullmatch(r"[<>=|]?[a-zA-Z](\d+)(\[\w+\])?", code)
    if match is None:
        raise PickleError(f"cannot size numpy dtype {code!r}")
    return int(match.group(1))


# --------------------------------------------------------------------------- files


class _ZlibReader(io.RawIOBase):
    """A zlib stream (joblib's ``compress=('zlib', n)``), decompressed as it is read."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj()
        self._pending = b""
        self._at = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        while self._at >= len(self._pending) and not self._eof:
            data = self._inflate.unconsumed_tail or self._raw.read(_CHUNK)
            if not data:
                self._pending, self._at, self._eof = self._inflate.flush(), 0, True
                break
            self._pending, self._at = self._inflate.decompress(data, _CHUNK), 0
            self._eof = self._inflate.eof
        size = min(len(buffer), len(self._pending) - self._at)
        buffer[:size] = self._pending[self._at:self._at + size]
        self._at += size
        return size


class _Chunked:
    """What :func:`pickletools.genops` reads through: a length read from the pickle
    (``BINUNICODE8`` says how many bytes follow, up to 2**64) is read a chunk at a time, so
    a 9-byte file cannot ask for more memory than it holds."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.raw_stream = stream
        self.readline = stream.readline
        self.tell = stream.tell

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size <= _CHUNK:
            return self._stream.read(size)
        parts = []
        while size > 0:
            chunk = self._stream.read(min(size, _CHUNK))
            if not chunk:
                break
            parts.append(chunk)
            size -= len(chunk)
        return b"".join(parts)


class _Counting:
    """``tell()`` for streams that cannot seek: bytes handed out so far."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._position += len(data)
        return data

    def readline(self) -> bytes:
        data = self._stream.readline()
        self._position += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        size = self._stream.readinto(buffer)  # type: ignore[attr-defined]
        self._position += size
        return size  # type: ignore[no-any-return]

    def tell(self) -> int:
        return self._position

    def peek(self, size: int = 1) -> bytes:
        return self._stream.peek(size)  # type: ignore[attr-defined, no-any-return]

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> _Counting:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_references(stream: IO[bytes], references: dict[str, Reference]) -> None:
    """Record every global the pickles in ``stream`` reference into ``references``
    (several pickles may follow one another, as repeated ``pickle.dump`` calls write
    them). ``stream`` needs ``peek``. Raises :class:`PickleError` or the decompressor's
    error; what was read before the error stays recorded."""
    PickleMachine(stream, references).run()
    while stream.peek(1)[:1]:  # type: ignore[attr-defined]
        PickleMachine(stream, references).run()


# NotImplementedError: a zip member compressed by a method zipfile lacks; RuntimeError: an
# encrypted member (both found by fuzz/fuzz_pickleops.py).
_READ_ERRORS = (PickleError, ValueError, EOFError, OSError, zlib.error, lzma.LZMAError,
                zipfile.BadZipFile, IndexError, KeyError, TypeError, NotImplementedError,
                RuntimeError)


def open_compressed_stream(raw: IO[bytes]) -> tuple[IO[bytes], str]:
    """The pickle stream inside compressed stream ``raw`` (which needs ``peek``) and the
    compression it was found under."""
    head = raw.peek(8)[:8]  # type: ignore[attr-defined]
    if head.startswith(b"\x1f\x8b"):
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")), "gzip"
    if head.startswith(b"BZh"):
        return cast(IO[bytes], bz2.BZ2File(raw)), "bz2"
    if head.startswith((b"\xfd7zXZ", b"\x5d\x00")):
        return cast(IO[bytes], lzma.LZMAFile(raw)), "lzma"
    if head.startswith(b"\x04\x22\x4d\x18"):
        try:
            import lz4.frame  # type: ignore[import-not-found,import-untyped,unused-ignore]
        except ImportError:
            raise PickleError("lz4-compressed: install the lz4 package to scan it") from None
        return lz4.frame.open(raw, "rb"), "lz4"  # type: ignore[no-any-return,unused-ignore]
    if head.startswith(b"x"):
        reader = io.BufferedReader(_ZlibReader(raw))
        return _Counting(reader), "zlib"  # type: ignore[return-value]
    return raw, ""


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if isinstance(error, PickleError) else f"{type(error).__name__}: {text}"
