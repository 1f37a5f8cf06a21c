"""What an installed ``importwall.pth`` costs a Python process that does not use it.

Creates a throw-away virtual environment (no pip) in which importwall is importable from
this source tree, then starts ``python -c pass`` over and over, alternating between the
venv without and with ``importwall.pth`` (IMPORTWALL_POLICY unset), in a random order within
each round so drift on a shared machine hits both sides alike. Prints the medians and their
ratio. ``--enabled POLICY`` adds a third side with the firewall active, for scale.

    python benchmarks/startup_pth.py [--rounds 40] [--enabled examples/quickstart/importwall.toml]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from importwall.install import PTH_LINE, PTH_NAME  # noqa: E402


def make_venv(root: Path) -> tuple[Path, Path]:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    purelib = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "_importwall_source.pth").write_text(f"{REPO}\n")  # importwall importable
    return python, purelib / PTH_NAME


def start_once(python: Path, env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run([str(python), "-c", "pass"], env=env, check=True)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="starts per side (>= 30)")
    parser.add_argument("--enabled", metavar="POLICY",
                        help="also time starts with IMPORTWALL_POLICY=POLICY")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPORTWALL_", "PYTHON"))}
    with tempfile.TemporaryDirectory() as folder:
        python, pth = make_venv(Path(folder) / "venv")
        sides: dict[str, dict[str, str]] = {"without .pth": env, "with .pth": env}
        if args.enabled:
            sides["with .pth, enabled"] = {
                **env, "IMPORTWALL_POLICY": str(Path(args.enabled).resolve())}
        times: dict[str, list[float]] = {side: [] for side in sides}
        for side in sides:  # warm the file cache once per side
            _toggle(pth, side != "without .pth")
            start_once(python, sides[side])
        for _ in range(args.rounds):
            order = list(sides)
            random.shuffle(order)
            for side in order:
                _toggle(pth, side != "without .pth")
                times[side].append(start_once(python, sides[side]))
    base = statistics.median(times["without .pth"])
    print(f"python {sys.version.split()[0]}, {args.rounds} interleaved starts per side")
    for side, values in times.items():
        median = statistics.median(values)
        print(f"  {side:<20} median {median * 1000:7.2f} ms  "
              f"(min {min(values) * 1000:.2f}, stdev {statistics.stdev(values) * 1000:.2f})"
              f"  ratio {median / base:.3f}")


def _toggle(pth: Path, present: bool) -> None:
    if present:
        pth.write_text(PTH_LINE)
    else:
        pth.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
