"""atheris harness: the pickle reader behind ``importwall scan-model`` on arbitrary bytes.

A model file may be anything: reading it must give per-stream references and at most an
error message (:func:`stream_references`), and :class:`ModelScanner` must turn that into
findings. Any exception is a crash; so is a pickle whose length fields make the reader ask
for more memory than the input holds (libFuzzer's ``-rss_limit_mb``). Run through
``fuzz/run.sh``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings

import atheris

with atheris.instrument_imports():
    from importwall.static.modelfiles import stream_references
    from importwall.static.modelscan import ModelScanner

_FOLDER = tempfile.mkdtemp(prefix="importwall-fuzz-pickleops-")
_PATH = os.path.join(_FOLDER, "model.pkl")
_SCANNER = ModelScanner()


def test_one_input(data: bytes) -> None:
    with open(_PATH, "wb") as handle:
        handle.write(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning the reader lets out is a crash too
        for label, compression, references, error in stream_references(_PATH):
            assert isinstance(label, str) and isinstance(compression, str)
            assert error is None or isinstance(error, str)
            assert all(isinstance(key, str) for key in references)
        _SCANNER.scan_file(_PATH)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
