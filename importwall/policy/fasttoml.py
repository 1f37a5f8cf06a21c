"""A faster TOML reader for the command line, with the standard reader's answers.

``tomllib`` (``tomli`` on 3.10) is pure Python: on a generated policy of 10,000 rules it is
most of what loading costs. Where the ``fast`` extra is installed (``pip install
'importwall[fast]'``, which brings `toml-rs <https://pypi.org/project/toml-rs/>`_, a Rust
TOML reader), :func:`loads` reads with it instead, pinned to the TOML version the standard
reader reads (1.0.0 on Python 3.11 to 3.13), so that both accept and refuse the same files
and return the same values (a small file is read by the standard reader, which is faster
than importing toml-rs): tests/test_policy_fasttoml.py holds them to it on the shipped
packs, on generated policies and on the toml-test cases it carries.

Any error from the fast reader is answered by reading the text again with the standard one,
so a problem is reported exactly as without the extra: the standard reader's message and
line (``file:line: toml: ...``). Where the extra is not installed, :func:`loads` *is* the
standard reader.

Not on the start-up path: the command line (``importwall check``, ``audit``, ``run``...)
passes :func:`loads` to :func:`~importwall.policy.loader.load_policy`; the start-up hook
reads the compiled-policy cache, or the standard reader. This module imports nothing until
it is first called.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_reader: Callable[[str], dict[str, Any]] | None = None
_looked = False
# A document only TOML 1.1 accepts (the \e escape): the standard reader says which version
# it reads by reading it or not.
_TOML_1_1_ONLY = 'a = "\\e"'


def fast_reader() -> Callable[[str], dict[str, Any]] | None:
    """toml-rs's ``loads`` pinned to the standard reader's TOML version, or ``None`` where
    toml-rs is not installed (or cannot be imported)."""
    global _reader, _looked
    if not _looked:
        _looked = True
        try:
            import toml_rs
        except Exception:  # not installed, or a broken build: the standard reader it is
            return None
        from importwall.policy import toml

        try:
            toml.loads(_TOML_1_1_ONLY)
            newer = True
        except toml.TOMLDecodeError:
            newer = False
        raw = toml_rs.loads

        def read(text: str) -> dict[str, Any]:
            return raw(text, toml_version="1.1.0" if newer else "1.0.0")

        _reader = read
    return _reader


FAST_FROM_CHARS = 50_000
"""Below this size (a policy of some 500 rules) the standard reader reads faster than
importing toml-rs costs (pathlib, the extension module: several milliseconds)."""


def loads(text: str) -> dict[str, Any]:
    """``tomllib.loads(text)``: read by toml-rs where it is installed and the text is
    large (:data:`FAST_FROM_CHARS`), else by the standard reader."""
    if len(text) >= FAST_FROM_CHARS:
        return read_fast(text)
    from importwall.policy import toml

    document: dict[str, Any] = toml.loads(text)
    return document


def read_fast(text: str) -> dict[str, Any]:
    """``tomllib.loads(text)``, read by toml-rs where it is installed, whatever the size; on
    any error there, the standard reader's answer (its value, or its ``TOMLDecodeError``)."""
    reader = fast_reader()
    if reader is not None:
        try:
            return reader(text)
        except Exception:  # the standard reader words the problem (or reads what toml-rs would not)
            pass
    from importwall.policy import toml

    document: dict[str, Any] = toml.loads(text)
    return document
