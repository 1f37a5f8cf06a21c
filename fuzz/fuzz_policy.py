"""atheris harness: the policy loader on arbitrary bytes.

Any input must give a Policy or a PolicyError; any other exception is a crash that
libFuzzer saves as ``crash-*`` for a regression test. Run through ``fuzz/run.sh``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings

import atheris

with atheris.instrument_imports():
    from importwall.errors import PolicyError
    from importwall.policy import PolicyWarning, load_policy
    from importwall.runtime.matcher import Matcher

_FOLDER = tempfile.mkdtemp(prefix="importwall-fuzz-policy-")
_NAMES = ("policy.toml", "pyproject.toml")


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    name = _NAMES[provider.ConsumeIntInRange(0, len(_NAMES) - 1)]
    path = os.path.join(_FOLDER, name)
    with open(path, "wb") as handle:
        handle.write(provider.ConsumeBytes(provider.remaining_bytes()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)
        try:
            policy = load_policy(path)
        except PolicyError:
            return
    Matcher.from_policy(policy).decide("training.model_selection")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
