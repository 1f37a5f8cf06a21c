"""What an installed ``importwall.pth`` costs a Python process that does not use it.

Creates a throw-away virtual environment (no pip) in which importwall is importable from
this source tree, then starts ``python -c pass`` over and over, alternating between the
venv without and with ``importwall.pth`` (IMPORTWALL_POLICY unset), in a random order within
each round so drift on a shared machine hits both sides alike. Prints the medians and their
ratio, and (when valgrind is installed) the instructions each start executes.

``--enabled POLICY`` adds a side with the firewall active (``python -m benchmarks`` uses the
real packs: ``sklearn``, which extends ``serving-base``), and ``--coverage`` a reference
side: coverage.py's own start-up hook (its ``.pth`` line and ``COVERAGE_PROCESS_START``),
the same kind of tool started the same way.

    python benchmarks/startup_pth.py [--rounds 40] [--enabled sklearn] [--coverage]

Targets: the unused ``.pth`` costs at most 0.5 ms and 2% of ``python -c pass``; the active
firewall at most 1.25x a bare start, in instructions. The unused ``.pth``'s ms figure is
its extra instructions at the rate the bare start ran in its fastest round (the least
loaded one), not a ratio times a median wall time, which inherits the load's noise.
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
    cpu_seconds,
    have_valgrind,
    instructions,
    interleaved,
    purelib,
    source_venv,
    tools_venv,
    wall_seconds,
)
from importwall.inject import PTH_LINE, PTH_NAME

WITHOUT = "without .pth"
WITH = "with .pth"
ENABLED = "with .pth, enabled"
COVERAGE = "coverage.py, enabled (reference)"
LIMIT_MS = 0.5
LIMIT_RATIO = 0.02
ENABLED_LIMIT = 0.25
COVERAGE_PTH = "_benchmark_coverage.pth"
COVERAGE_RC = "[run]\ndata_file = {folder}/.coverage\n"


def measure(rounds: int, enabled: str | None = None, callgrind: bool = True,
            coverage: bool = False) -> list[Row]:
    env = clean_env()
    with tempfile.TemporaryDirectory() as folder:
        python = source_venv(Path(folder) / "venv")
        site = purelib(python)
        pth = site / PTH_NAME
        sides = {WITHOUT: env, WITH: env}
        if enabled:
            reference = Path(enabled)
            sides[ENABLED] = {**env, "IMPORTWALL_POLICY":
                              str(reference.resolve()) if reference.exists() else enabled}
        coverage_pth = site / COVERAGE_PTH
        if coverage and _coverage_site() is not None:
            rc = Path(folder) / "coveragerc"
            rc.write_text(COVERAGE_RC.format(folder=folder))
            sides[COVERAGE] = {**env, "COVERAGE_PROCESS_START": str(rc)}
        argv = [str(python), "-c", "pass"]

        def arrange(side: str) -> None:
            _toggle(pth, PTH_LINE if side in (WITH, ENABLED) else None)
            _toggle(coverage_pth, _coverage_line() if side == COVERAGE else None)

        def start(side: str) -> float:
            arrange(side)
            return wall_seconds(argv, sides[side])

        times = interleaved({side: (lambda side=side: start(side)) for side in sides}, rounds)
        counts: dict[str, int] = {}
        if callgrind and have_valgrind():
            for side in sides:
                arrange(side)
                counts[side] = instructions(argv, sides[side])
        # The rate the bare start runs at, in CPU time (load does not stretch it as it
        # stretches wall time), to turn the unused .pth's extra instructions into ms.
        arrange(WITHOUT)
        bare_cpu = min(cpu_seconds(argv, env) for _ in range(max(rounds, 10)))
    base = times[WITHOUT]
    rows = []
    for side, samples in times.items():
        extra_ms = (samples.median - base.median) * 1000
        ratio = samples.median / base.median
        met = None if side != WITH else (extra_ms <= LIMIT_MS and ratio - 1 <= LIMIT_RATIO)
        rows.append(Row(f"start-up {side} (wall)", f"{samples.median * 1000:.2f} ms",
                        f"IQR {samples.spread * 1000:.2f}, ratio {ratio:.3f}",
                        "" if side == WITHOUT else
                        f"<= +{LIMIT_MS} ms, +2%" if side == WITH else "(scale)",
                        met))
    for side, count in counts.items():
        if side == WITHOUT:
            continue
        row = count_row(f"start-up {side} (instructions)", count, counts[WITHOUT], LIMIT_RATIO)
        ratio = count / counts[WITHOUT]
        if side == ENABLED:
            row = Row(row.label, row.value, f"ratio {ratio:.3f}x bare",
                      f"<= {1 + ENABLED_LIMIT:.2f}x", ratio - 1 <= ENABLED_LIMIT)
        elif side == COVERAGE:
            row = Row(row.label, row.value, f"ratio {ratio:.3f}x bare", "(reference)")
        else:
            # The extra instructions at the bare start's rate (its least CPU time).
            as_ms = (count - counts[WITHOUT]) / counts[WITHOUT] * bare_cpu * 1000
            row = Row(row.label, row.value,
                      f"{row.detail}, {(count - counts[WITHOUT]) / 1e6:+.2f} M, ~{as_ms:+.3f} ms",
                      f"<= +{LIMIT_MS} ms, +2%",
                      as_ms <= LIMIT_MS and ratio - 1 <= LIMIT_RATIO)
        rows.append(row)
    return rows


def _coverage_site() -> str | None:
    """The folder coverage.py is installed in (the benchmarks' tool venv, built once),
    or ``None``."""
    tools = tools_venv(build=True)
    if tools is None:
        return None
    site = purelib(tools)
    return str(site) if (site / "coverage").is_dir() else None


def _coverage_line() -> str:
    """coverage.py's own ``.pth`` line, with its install folder added to the path first
    (the throw-away venv has no packages of its own)."""
    return (f"import os, sys; os.environ.get('COVERAGE_PROCESS_START') and "
            f"(sys.path.append({_coverage_site()!r}), "
            f"__import__('coverage').process_startup())\n")


def _toggle(pth: Path, line: str | None) -> None:
    if line is not None:
        pth.write_text(line)
    else:
        pth.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="starts per side (>= 30)")
    parser.add_argument("--enabled", metavar="POLICY",
                        help="also time starts with IMPORTWALL_POLICY=POLICY")
    parser.add_argument("--coverage", action="store_true",
                        help="also time coverage.py's start-up hook, as a reference")
    parser.add_argument("--no-callgrind", action="store_true",
                        help="skip the instruction counts")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {args.rounds} interleaved starts per side")
    for row in measure(args.rounds, args.enabled, not args.no_callgrind, args.coverage):
        print(row.render())


if __name__ == "__main__":
    main()
