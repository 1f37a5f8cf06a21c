"""Run every benchmark and print one table: ``python -m benchmarks`` (or
``python benchmarks/run.py``).

    python -m benchmarks                 # stdlib import set, start-up, activation, matcher
    python -m benchmarks --heavy         # + scikit-learn, pandas, fastapi (venv built once)
    python -m benchmarks --only startup  # one group: imports startup activation matcher audit
    python -m benchmarks --smoke         # tiny sizes, no valgrind: proves the suite runs

Rows say ``ok`` or ``OVER`` against the targets in benchmarks/README.md. Timings are
medians of fresh interpreters run interleaved; with valgrind installed, instruction counts
(steady on a busy machine) are printed beside them.
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import activation, audit_env, import_overhead, startup_pth
from benchmarks._measure import CACHE, Row, have_valgrind

GROUPS = ("imports", "startup", "activation", "matcher", "audit", "scan")
SCAN_BENCHMARK = Path(__file__).with_name("scan_vs_lint_imports.py")
_SCAN_FIGURE = re.compile(r"^\s+(?P<label>\S.*?)\s+(?P<seconds>\d+\.\d+) s$")


def scan_rows(modules: int, repeat: int) -> list[Row]:
    """``importwall scan`` against ``lint-imports`` on one generated tree: runs the scan
    benchmark (benchmarks/scan_vs_lint_imports.py) and turns its figures into rows."""
    done = subprocess.run([sys.executable, str(SCAN_BENCHMARK), "--modules", str(modules),
                           "--repeat", str(repeat)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"{SCAN_BENCHMARK.name} failed:\n{done.stdout}{done.stderr}")
    figures = {match["label"]: float(match["seconds"])
               for match in map(_SCAN_FIGURE.match, done.stdout.splitlines()) if match}
    rows = []
    for label, seconds in figures.items():
        against = ("lint-imports, cold (--no-cache)" if "cold" in label
                   else "lint-imports, warm (cache)")
        detail = (f"{seconds / figures[against]:.2f}x lint-imports"
                  if label.startswith("importwall") and against in figures else "")
        rows.append(Row(f"{label} ({modules} modules)", f"{seconds * 1000:.0f} ms", detail))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes and 3 rounds, no valgrind: checks that it runs")
    parser.add_argument("--heavy", action="store_true",
                        help="also the scikit-learn + pandas + fastapi import set")
    parser.add_argument("--rounds", type=int, default=30, help="interpreters per side")
    parser.add_argument("--only", action="append", choices=GROUPS, help="run only these")
    parser.add_argument("--no-callgrind", action="store_true", help="wall time only")
    parser.add_argument("--plot", type=Path, default=None,
                        help="write the matcher curve PNG here (needs matplotlib)")
    args = parser.parse_args(argv)
    rounds = 3 if args.smoke else args.rounds
    callgrind = not (args.smoke or args.no_callgrind) and have_valgrind()
    sizes = (10, 100, 1000) if args.smoke else activation.SIZES
    plot = args.plot or (None if args.smoke else CACHE / "matcher_curve.png")
    dists = 20 if args.smoke else 300
    sets = ["smoke"] if args.smoke else ["stdlib", *(["heavy"] if args.heavy else [])]

    steps: dict[str, list[tuple[str, Callable[[], list[Row]]]]] = {
        "imports": [(f"import overhead, {name} set",
                     lambda name=name: import_overhead.measure(name, rounds, callgrind))
                    for name in sets],
        "startup": [("start-up with an installed .pth, no IMPORTWALL_POLICY",
                     lambda: startup_pth.measure(rounds, None, callgrind))],
        "activation": [("activation", lambda: activation.activation(rounds))],
        "matcher": [("matcher cost per lookup",
                     lambda: activation.matcher_curve(sizes, 5 if args.smoke else 31, plot,
                                                      callgrind)[0])],
        "audit": [(f"importwall audit, {dists} small distributions added",
                   lambda: audit_env.measure(dists, rounds))],
        "scan": [("importwall scan vs lint-imports, one generated tree",
                  lambda: scan_rows(100 if args.smoke else 2000, 1 if args.smoke else 5))]
        if SCAN_BENCHMARK.exists() else [],
    }
    print(f"importwall benchmarks: python {platform.python_version()} on "
          f"{platform.machine()}, {rounds} interleaved rounds, "
          f"callgrind {'on' if callgrind else 'off'}{', smoke' if args.smoke else ''}")
    over = 0
    for group in args.only or GROUPS:
        for title, step in steps[group]:
            began = time.perf_counter()
            print(f"\n{title}", flush=True)
            for row in step():
                print(row.render(), flush=True)
                over += row.met is False
            print(f"  ({time.perf_counter() - began:.0f} s)")
    print(f"\n{over} row(s) over target" if over else "\nevery row within target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
