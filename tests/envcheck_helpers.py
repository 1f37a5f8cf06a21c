"""Helpers for the environment-check tests: recorded fixtures, a replaying runner, and
policies written to a temporary file and loaded the way users load them."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

from importwall.envcheck.runner import ProbeError
from importwall.policy import Policy, load_policy

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture_root(*parts: str) -> str:
    return str(FIXTURES.joinpath(*parts))


def write_policy(folder: Path, body: str) -> Policy:
    path = folder / "policy.toml"
    path.write_text("version = 1\n" + textwrap.dedent(body), encoding="utf-8")
    return load_policy(path)


class Replay:
    """A command runner that answers from recorded outputs, keyed by the first argument
    after the command (``--query-gpu=...`` or ``-L``), and remembers what it was asked."""

    def __init__(self, outputs: Mapping[str, str]) -> None:
        self.outputs = dict(outputs)
        self.calls: list[tuple[list[str], float]] = []

    @classmethod
    def nvidia_smi(cls, name: str) -> Replay:
        folder = FIXTURES / "gpu" / name
        outputs = {"--query-gpu": (folder / "nvidia-smi.csv").read_text()}
        listing = folder / "nvidia-smi-L.txt"
        if listing.exists():
            outputs["-L"] = listing.read_text()
        return cls(outputs)

    def __call__(self, argv: Sequence[str], timeout: float) -> str:
        self.calls.append((list(argv), timeout))
        key = argv[1].split("=", 1)[0]
        if key not in self.outputs:
            raise ProbeError(f"{argv[0]} {key}: not recorded")
        return self.outputs[key]
