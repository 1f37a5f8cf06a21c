"""What the firewall adds to a process's resident memory (peak RSS), in fresh interpreters.

Two comparisons, each side run interleaved with the others, medians over the rounds:

* start-up, ``python -c pass`` in a throw-away venv: without ``importwall.pth``, with it
  installed but unused (``IMPORTWALL_POLICY`` unset: target <= 1% over without), and with
  the firewall active (the ``sklearn`` pack over ``serving-base``: shown to scale);
* an app's imports (benchmarks/import_overhead.py's sets: the standard-library set, and
  ``--heavy`` scikit-learn + pandas + fastapi): importwall imported but not activated,
  against enforce with a serving policy (target <= 1%).

Peak RSS is each child's own ``VmHWM`` (``/proc/self/status``), read as its last step.

    python benchmarks/memory.py [--rounds 15] [--heavy]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import import_overhead
from benchmarks._measure import (
    CACHE,
    PRINT_PEAK_RSS,
    REPO,
    Row,
    clean_env,
    interleaved,
    peak_rss_kib,
    purelib,
    source_venv,
)
from importwall.inject import PTH_LINE, PTH_NAME

LIMIT = 0.01
BARE, UNUSED, ACTIVE = "without .pth", "with .pth, unused", "with .pth, active (sklearn pack)"


def _row(label: str, value: float, base: float | None, judged: bool) -> Row:
    if base is None:
        return Row(label, f"{value / 1024:.2f} MiB", "baseline")
    ratio = value / base
    return Row(label, f"{value / 1024:.2f} MiB",
               f"ratio {ratio:.4f}, {value - base:+.0f} KiB",
               f"<= +{LIMIT:.0%}" if judged else "(scale)",
               ratio - 1 <= LIMIT if judged else None)


def startup(rounds: int) -> list[Row]:
    env = clean_env()
    with tempfile.TemporaryDirectory() as folder:
        python = source_venv(Path(folder) / "venv")
        pth = purelib(python) / PTH_NAME
        argv = [str(python), "-c", PRINT_PEAK_RSS]
        envs = {BARE: env, UNUSED: env, ACTIVE: {**env, "IMPORTWALL_POLICY": "sklearn"}}

        def start(side: str) -> float:
            if side == BARE:
                pth.unlink(missing_ok=True)
            else:
                pth.write_text(PTH_LINE)
            return peak_rss_kib(argv, envs[side])

        medians = {side: samples.median for side, samples in interleaved(
            {side: (lambda side=side: start(side)) for side in envs}, rounds).items()}
    return [_row(f"peak RSS, start-up {BARE}", medians[BARE], None, False),
            _row(f"peak RSS, start-up {UNUSED}", medians[UNUSED], medians[BARE], True),
            _row(f"peak RSS, start-up {ACTIVE}", medians[ACTIVE], medians[BARE], False)]


def imports(which: str, rounds: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        names = {"stdlib": import_overhead.STDLIB_SET, "smoke": import_overhead.SMOKE_SET,
                 "heavy": import_overhead.HEAVY_SET}[which]
        python = (source_venv(CACHE / "venv-heavy", import_overhead.HEAVY_PACKAGES)
                  if which == "heavy" else Path(sys.executable))
        env = clean_env(PYTHONPATH=str(REPO))
        serving = Path(folder) / "serving.toml"
        serving.write_text(import_overhead.SERVING_POLICY)
        listed = Path(folder) / "names.txt"
        listed.write_text("\n".join(names))

        def argv(mode: str) -> list[str]:
            return [str(python), "-c", import_overhead.CHILD + PRINT_PEAK_RSS, mode,
                    str(serving), "after", str(listed)]

        medians = {side: samples.median for side, samples in interleaved(
            {side: (lambda side=side: peak_rss_kib(argv(side), env))
             for side in ("off", "enforce")}, rounds).items()}
    label = f"peak RSS, import {which} set ({len(names)} names)"
    return [_row(f"{label}, off", medians["off"], None, False),
            # The smoke set is too small to judge: activation's own ~1 MiB dominates it.
            _row(f"{label}, enforce", medians["enforce"], medians["off"], which != "smoke")]


def measure(rounds: int, sets: tuple[str, ...]) -> list[Row]:
    rows = startup(rounds)
    for which in sets:
        rows += imports(which, rounds)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interpreters per side")
    parser.add_argument("--heavy", action="store_true",
                        help="also scikit-learn + pandas + fastapi (venv built once)")
    args = parser.parse_args()
    for row in measure(args.rounds, ("stdlib", *(["heavy"] if args.heavy else []))):
        print(row.render())


if __name__ == "__main__":
    main()
