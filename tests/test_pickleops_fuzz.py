"""Bad input to the pickle reader (``importwall scan-model``): a model file may be anything
(cut short, corrupted, hand-crafted, compressed, a zip). Whatever it holds, reading it gives
per-stream references and at most an error message; never another exception, never a hang.
And for a real pickle, the globals it reports are exactly those a real loader imports.

The atheris harness ``fuzz/fuzz_pickleops.py`` runs the same reader coverage-guided.
"""

from __future__ import annotations

import base64
import bz2
import collections
import datetime as dt
import decimal
import fractions
import gzip
import io
import lzma
import pickle
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importwall.static.modelfiles import stream_references
from importwall.static.modelscan import ModelScanner

FUZZ = settings(max_examples=150, deadline=dt.timedelta(seconds=10),
                suppress_health_check=[HealthCheck.too_slow])

# Values whose classes are safe to load for real: the oracle unpickles them.
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
    st.binary(max_size=8), st.complex_numbers(allow_nan=False),
    st.fractions().map(fractions.Fraction),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(), st.datetimes(), st.timedeltas())
values = st.recursive(
    leaves,
    lambda inner: (st.lists(inner, max_size=3) | st.tuples(inner, inner)
                   | st.dictionaries(st.text(max_size=4), inner, max_size=3)
                   | st.frozensets(st.integers(), max_size=3)
                   | st.lists(st.tuples(st.text(max_size=3), inner), max_size=3).map(
                       collections.OrderedDict)),
    max_leaves=10)
protocols = st.integers(0, pickle.HIGHEST_PROTOCOL)

# A real pickle, then damaged: bytes flipped, cut, spliced, repeated.
edits = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "repeat"]),
                           st.integers(0, 1 << 16), st.binary(min_size=1, max_size=4)),
                 max_size=4)
COMPRESSIONS = {
    "": lambda data: data,
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "lzma": lzma.compress,
    "zlib": zlib.compress,
}


def _damage(data: bytes, changes: list[tuple[str, int, bytes]]) -> bytes:
    for kind, where, chunk in changes:
        at = where % (len(data) + 1)
        if kind == "flip" and data:
            at %= len(data)
            data = data[:at] + bytes([data[at] ^ chunk[0]]) + data[at + 1:]
        elif kind == "cut":
            data = data[:at]
        elif kind == "insert":
            data = data[:at] + chunk + data[at:]
        else:
            data = data + data[at:]
    return data


def _zipped(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("model/data.pkl", data)
        archive.writestr("model/version", b"3")
    return out.getvalue()


def _read(data: bytes) -> list[tuple[str, str, dict[str, Any], str | None]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.pkl"
        path.write_bytes(data)
        streams = list(stream_references(str(path)))
        findings = ModelScanner().scan_file(str(path))
    assert streams, "every file gives at least one stream"
    for label, compression, references, error in streams:
        assert isinstance(label, str) and isinstance(compression, str)
        assert error is None or (isinstance(error, str) and error)
        assert all(isinstance(key, str) for key in references)
    assert all(finding.subject for finding in findings)
    return streams


class _Recorder(pickle.Unpickler):
    """The real loader, noting each global it imports."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.imported: set[str] = set()

    def find_class(self, module: str, name: str) -> Any:
        self.imported.add(f"{module}.{name}")
        return super().find_class(module, name)


@FUZZ
@given(st.binary(max_size=512))
def test_any_bytes_read_into_references_or_an_error(data: bytes) -> None:
    _read(data)


@FUZZ
@given(values, protocols, st.sampled_from(sorted(COMPRESSIONS)), st.booleans(), edits)
def test_a_damaged_pickle_reads_into_references_or_an_error(
        value: Any, protocol: int, compression: str, zipped: bool,
        changes: list[tuple[str, int, bytes]]) -> None:
    data = _damage(pickle.dumps(value, protocol=protocol), changes)
    data = COMPRESSIONS[compression](data)
    _read(_zipped(data) if zipped else data)


@FUZZ
@given(values, protocols, st.sampled_from(sorted(COMPRESSIONS)))
def test_a_real_pickle_reports_exactly_the_globals_the_loader_imports(
        value: Any, protocol: int, compression: str) -> None:
    data = pickle.dumps(value, protocol=protocol)
    recorder = _Recorder(data)
    recorder.load()
    ((_, _, references, error),) = _read(COMPRESSIONS[compression](data))
    assert error is None
    assert set(references) == recorder.imported


def test_the_oracle_sees_globals() -> None:
    """The property above is not vacuous: these values pickle with globals."""
    data = pickle.dumps([fractions.Fraction(1, 3), decimal.Decimal("1.5"),
                         collections.OrderedDict(a=1), dt.date(2020, 1, 1)], protocol=2)
    recorder = _Recorder(data)
    recorder.load()
    ((_, _, references, _),) = _read(data)
    assert set(references) == recorder.imported
    assert {"fractions.Fraction", "decimal.Decimal", "collections.OrderedDict",
            "datetime.date"} <= recorder.imported


def test_a_length_of_2_to_the_56_in_a_9_byte_file_is_an_error_not_a_memory_error() -> None:
    """Found by the fuzz test: BINUNICODE8, BINBYTES8 and BYTEARRAY8 say how many bytes
    follow, and a read of that many at once asked for petabytes."""
    for opcode in (b"\x8d", b"\x8e", b"\x96"):
        ((_, _, _, error),) = _read(opcode + b"\x00" * 6 + b"\x01\x00")
        assert error is not None and "bytes" in error


def test_a_string_with_an_invalid_escape_is_read_like_the_loader_reads_it() -> None:
    """Found by the fuzz test: pickletools warns (DeprecationWarning) where the loader
    warns and goes on; under ``-W error`` that warning stopped the scan."""
    data = b"(S'\\ q'\ncos\nsystem\np0\n."
    ((_, _, references, error),) = _read(data)
    assert error is None and "os.system" in references


def _zip_member(flag_bits: int, method: int) -> bytes:
    archive = bytearray(_zipped(pickle.dumps([1], protocol=2)))
    for header in (b"PK\x03\x04", b"PK\x01\x02"):  # the local and the central headers
        at = archive.find(header)
        while at >= 0:
            offset = at + (6 if header == b"PK\x03\x04" else 8)
            archive[offset:offset + 2] = flag_bits.to_bytes(2, "little")
            archive[offset + 2:offset + 4] = method.to_bytes(2, "little")
            at = archive.find(header, at + 4)
    return bytes(archive)


def test_a_zip_member_that_zipfile_cannot_open_is_an_error_not_a_crash() -> None:
    """Found by fuzz/fuzz_pickleops.py: a compression method zipfile does not implement
    (NotImplementedError) is an error. A member flagged encrypted (zipfile's RuntimeError)
    is read as torch reads it, ignoring the flag (GHSA-w8jq-xcqf-f792, picklescan)."""
    streams = _read(_zip_member(0, 99))
    assert any(error for _, _, _, error in streams), streams
    ((label, _, _, error),) = _read(_zip_member(1, 0))
    assert label.endswith("!model/data.pkl") and error is None


def test_a_zip_whose_central_directory_names_are_not_utf8_is_an_error() -> None:
    """Found by fuzz/fuzz_pickleops.py: zipfile raised UnicodeDecodeError opening it."""
    crash = base64.b64decode(
        "UEsDBBQAAAAAAGq6gV3Tqh4tpAAAAKQAAAAOAAAAbW9kZWwvZGF0YS5wa2yABJUAAAAAAJkAAH2UKIwHd2Vp"
        "Z2h0c5Sga9e4P+AAAAAAAABHP/gAAAAAAABljAVyYXRpb5SMCf1lbC9kYXRhLnBrbIAElQAAAAAAmQAAfZQo"
        "jAd3ZWlnaHRzbW9kZWyUjARibG9ilEMCAAGUdS5QSwECFAMUAAD5VQ9rAhJrYJk6kwECewlQtSZQIWMiUFNx"
        "D0teYlNK9QDTqh4tpAAAAGwvZGF0YS5wa2xQSwUGAAAAAAEAAQA8AAAA0AAAAEsA")
    # Its members are then read from their local headers, and the archive is reported odd.
    streams = _read(crash)
    assert [compression for _, compression, _, _ in streams] == ["zip", "zip"]
    assert streams[0][3] and "opcode" in streams[0][3]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.pt"
        path.write_bytes(crash)
        codes = {f.code: f.message for f in ModelScanner().scan_file(str(path))}
    assert set(codes) == {"model-unreadable", "model-odd-archive"}
    assert "UnicodeDecodeError" in codes["model-odd-archive"]
