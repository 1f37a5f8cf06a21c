"""Run every benchmark and print one table: ``python -m benchmarks`` (or
``python benchmarks/run.py``).

    python -m benchmarks                 # every group at full size
    python -m benchmarks --heavy         # + scikit-learn, pandas, fastapi (venv built once):
                                         #   heavy import set, real scan tree, real pytest suite
    python -m benchmarks --only startup  # one group (see GROUPS)
    python -m benchmarks --smoke         # tiny sizes, no valgrind: proves the suite runs

Rows say ``ok`` or ``OVER`` against the targets in benchmarks/README.md. Timings are
medians of fresh interpreters run interleaved; with valgrind installed, instruction counts
(steady on a busy machine) are printed beside them.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import (
    activation,
    audit_env,
    import_overhead,
    large_policy,
    memory,
    pytest_plugin_overhead,
    scan_vs_lint_imports,
    startup_pth,
)
from benchmarks._measure import CACHE, Row, have_valgrind

GROUPS = ("imports", "startup", "memory", "activation", "policy", "matcher", "audit", "scan",
          "plugin")
SCAN_LIMITS = {"cold": 1.0, "warm": 0.5}
"""importwall scan against the faster of lint-imports and tach, at the same temperature."""


def scan_rows(modules: int, repeat: int, real: bool, build_tools: bool) -> list[Row]:
    """``importwall scan``, ``lint-imports`` and ``tach check`` on the same trees
    (benchmarks/scan_vs_lint_imports.py), as rows: wall time, with CPU time beside it; the
    ratio is of wall times, judged on CPU time too where the two disagree."""
    rows = []
    for title, files, medians, verdicts in scan_vs_lint_imports.measure(modules, repeat, real,
                                                                          build_tools):
        for temperature, limit in SCAN_LIMITS.items():
            others = {tool: medians[f"{tool}, {temperature}"] for tool in
                      scan_vs_lint_imports.TOOLS[1:] if f"{tool}, {temperature}" in medians}
            fastest = min(others.values(), key=lambda figures: figures[0]) if others else None
            for tool in scan_vs_lint_imports.TOOLS:
                label = f"{tool}, {temperature}"
                if label not in medians:
                    continue
                wall, cpu = medians[label]
                detail = f"cpu {cpu * 1000:.0f} ms"
                if tool == "importwall scan" and fastest is not None:
                    ratio, cpu_ratio = wall / fastest[0], cpu / min(c for _, c in others.values())
                    rows.append(Row(f"{label} ({title})", f"{wall * 1000:.0f} ms",
                                    f"{detail}, {ratio:.2f}x wall, {cpu_ratio:.2f}x cpu",
                                    f"<= {limit}x fastest", min(ratio, cpu_ratio) <= limit))
                else:
                    rows.append(Row(f"{label} ({title})", f"{wall * 1000:.0f} ms",
                                    f"{detail}, {verdicts.get(tool, '')}"))
        rows.append(Row(f"  ({title}: {files} .py files; "
                        + "; ".join(f"{t}: {v}" for t, v in verdicts.items()) + ")", "", ""))
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
    sets = (["smoke", "gen100"] if args.smoke else
            ["stdlib", "gen1000", "gen5000", *(["heavy"] if args.heavy else [])])
    policy_sizes = (100, 1000) if args.smoke else large_policy.SIZES

    steps: dict[str, list[tuple[str, Callable[[], list[Row]]]]] = {
        "imports": [(f"import overhead, {name} set",
                     lambda name=name: import_overhead.measure(name, rounds, callgrind))
                    for name in sets],
        "startup": [("start-up: an installed .pth unused, the firewall active (sklearn + "
                     "serving-base packs), coverage.py active",
                     lambda: startup_pth.measure(rounds, "sklearn", callgrind,
                                                 coverage=not args.smoke))],
        "memory": [("peak RSS: an installed .pth unused, the firewall active, an app's imports",
                    lambda: memory.measure(min(rounds, 15),
                                           ("smoke",) if args.smoke else
                                           ("stdlib", *(["heavy"] if args.heavy else []))))],
        "activation": [("activation", lambda: activation.activation(rounds))],
        "policy": [("large policies: load + validate + compile, importwall check",
                    lambda: large_policy.measure(policy_sizes, 1 if args.smoke else 5,
                                                 30 if args.smoke else 60))],
        "matcher": [("matcher cost per lookup",
                     lambda: activation.matcher_curve(sizes, 5 if args.smoke else 31, plot,
                                                      callgrind)[0])],
        "audit": [(f"importwall audit, {dists} small distributions added",
                   lambda: audit_env.measure(dists, rounds))],
        "scan": [("importwall scan vs lint-imports vs tach, same trees, same question",
                  lambda: scan_rows(100 if args.smoke else 10000, 1 if args.smoke else 3,
                                    args.heavy, not args.smoke))],
        "plugin": [("pytest plugin, CPU time over a plain run",
                    lambda: pytest_plugin_overhead.measure(
                        "real" if args.heavy else "generated", 1 if args.smoke else 3,
                        100 if args.smoke else 2000))],
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
