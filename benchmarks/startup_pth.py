"""What an installed ``importwall.pth`` costs a Python process that does not use it.

Creates a throw-away virtual environment (no pip) in which importwall is importable from
this source tree, then starts ``python -c pass`` over and over, alternating between the
venv without and with ``importwall.pth`` (IMPORTWALL_POLICY unset), in a random order within
each round so drift on a shared machine hits both sides alike. Prints the medians and their
ratio, and (when valgrind is installed) the instructions each start executes.
``--enabled POLICY`` adds a side with the firewall active, for scale.

    python benchmarks/startup_pth.py [--rounds 40] [--enabled examples/quickstart/importwall.toml]

Target: the unused ``.pth`` costs at most 0.5 ms and 2% of ``python -c pass``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import (
    Row,
    clean_env,
    count_row,
    have_valgrind,
    instructions,
    interleaved,
    purelib,
    source_venv,
    wall_seconds,
)
from importwall.inject import PTH_LINE, PTH_NAME

WITHOUT = "without .pth"
WITH = "with .pth"
ENABLED = "with .pth, enabled"
LIMIT_MS = 0.5
LIMIT_RATIO = 0.02


def measure(rounds: int, enabled: str | None = None, callgrind: bool = True) -> list[Row]:
    env = clean_env()
    with tempfile.TemporaryDirectory() as folder:
        python = source_venv(Path(folder) / "venv")
        pth = purelib(python) / PTH_NAME
        sides = {WITHOUT: env, WITH: env}
        if enabled:
            sides[ENABLED] = {**env, "IMPORTWALL_POLICY": str(Path(enabled).resolve())}
        argv = [str(python), "-c", "pass"]

        def start(side: str) -> float:
            _toggle(pth, side != WITHOUT)
            return wall_seconds(argv, sides[side])

        times = interleaved({side: (lambda side=side: start(side)) for side in sides}, rounds)
        counts: dict[str, int] = {}
        if callgrind and have_valgrind():
            for side in sides:
                _toggle(pth, side != WITHOUT)
                counts[side] = instructions(argv, sides[side])
    base = times[WITHOUT]
    rows = []
    for side, samples in times.items():
        extra_ms = (samples.median - base.median) * 1000
        ratio = samples.median / base.median
        met = None if side == ENABLED else (extra_ms <= LIMIT_MS and ratio - 1 <= LIMIT_RATIO)
        rows.append(Row(f"start-up {side} (wall)", f"{samples.median * 1000:.2f} ms",
                        f"IQR {samples.spread * 1000:.2f}, ratio {ratio:.3f}",
                        "" if side == WITHOUT else
                        "(scale)" if side == ENABLED else f"<= +{LIMIT_MS} ms, +2%",
                        None if side == WITHOUT else met))
    for side, count in counts.items():
        if side == WITHOUT:
            continue
        row = count_row(f"start-up {side} (instructions)", count, counts[WITHOUT], LIMIT_RATIO)
        if side == ENABLED:
            row = Row(row.label, row.value, row.detail, "(scale)")
        else:
            as_ms = (count / counts[WITHOUT] - 1) * base.median * 1000
            row = Row(row.label, row.value, f"{row.detail}, ~{as_ms:+.3f} ms",
                      f"<= +{LIMIT_MS} ms, +2%",
                      as_ms <= LIMIT_MS and count / counts[WITHOUT] - 1 <= LIMIT_RATIO)
        rows.append(row)
    return rows


def _toggle(pth: Path, present: bool) -> None:
    if present:
        pth.write_text(PTH_LINE)
    else:
        pth.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="starts per side (>= 30)")
    parser.add_argument("--enabled", metavar="POLICY",
                        help="also time starts with IMPORTWALL_POLICY=POLICY")
    parser.add_argument("--no-callgrind", action="store_true",
                        help="skip the instruction counts")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {args.rounds} interleaved starts per side")
    for row in measure(args.rounds, args.enabled, not args.no_callgrind):
        print(row.render())


if __name__ == "__main__":
    main()
