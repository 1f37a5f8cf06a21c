"""atheris harness: the record reader and every report format on arbitrary bytes.

A record file may be cut short or edited by hand: reading it must give findings (damaged
lines become ``record-unreadable`` findings) that every format renders. Any exception is a
crash. Run through ``fuzz/run.sh``.
"""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    from importwall.report import load_records
    from importwall.report.writer import format_names, render

_FOLDER = tempfile.mkdtemp(prefix="importwall-fuzz-records-")
_PATH = os.path.join(_FOLDER, "host-1-abc.jsonl")


def test_one_input(data: bytes) -> None:
    with open(_PATH, "wb") as handle:
        handle.write(data)
    report = load_records(_FOLDER)
    for name in format_names():
        render(report, name)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
