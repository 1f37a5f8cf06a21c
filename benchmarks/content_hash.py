"""What judging executed code by content would cost: sha256 of every module file executed.

Strict mode judges code by where its file really is (``os.path.realpath``); a vendored copy
of a denied package under another name is out of its reach. Matching files by content (the
``sha256`` digests a distribution's RECORD lists) would catch byte-identical copies, at the
price of reading and hashing the source of every module executed, which the import system
itself does not read (it loads the ``.pyc``). This measures that price beside the imports.

    python benchmarks/content_hash.py [--set stdlib|heavy] [--rounds 5] [--python PATH]

The figures are in docs/bypasses.md ("Vendored copies"): not worth it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import CACHE, clean_env, source_venv
from benchmarks.import_overhead import HEAVY_PACKAGES, HEAVY_SET, STDLIB_SET

CHILD = """\
import hashlib, sys, time
files = []
def hook(event, args):
    if event == "exec":
        name = getattr(args[0], "co_filename", "")
        if name and not name.startswith("<"):
            files.append(name)
sys.addaudithook(hook)
began = time.perf_counter()
for name in sys.argv[1].split(","):
    __import__(name)
imports = time.perf_counter() - began
executed = sorted(set(files))
began = time.perf_counter()
size = 0
for name in executed:
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError:
        continue
    size += len(data)
    hashlib.sha256(data).digest()
print(len(executed), size, imports, time.perf_counter() - began)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--set", choices=("stdlib", "heavy"), default="stdlib")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--python", type=Path, help="an interpreter that has the set "
                        "installed (default: this one, or the heavy venv for --set heavy)")
    args = parser.parse_args()
    names = STDLIB_SET if args.set == "stdlib" else HEAVY_SET
    python = args.python or (source_venv(CACHE / "venv-heavy", HEAVY_PACKAGES)
                             if args.set == "heavy" else Path(sys.executable))
    runs = []
    for _ in range(args.rounds):
        out = subprocess.run([str(python), "-c", CHILD, ",".join(names)], env=clean_env(),
                             capture_output=True, text=True, check=True).stdout.split()
        runs.append((int(out[0]), int(out[1]), float(out[2]), float(out[3])))
    files, size = runs[0][0], runs[0][1]
    imports = statistics.median(run[2] for run in runs)
    hashing = statistics.median(run[3] for run in runs)
    print(f"{args.set} set: {files} module files, {size / 1e6:.1f} MB of source; imports "
          f"{imports * 1000:.0f} ms, read + sha256 {hashing * 1000:.1f} ms "
          f"({hashing / imports * 100:.1f}% of the imports; median of {args.rounds}, the "
          f"first run with a cold page cache took {runs[0][3] * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
