"""How fast is ``importwall scan`` next to import-linter's ``lint-imports`` on one tree?

Generates a synthetic first-party package (default 2,000 modules in 40 sub-packages, each
module importing a few others at module level and one inside a function, with a handful of
lazy imports of a ``training`` package), then times, as fresh processes:

- ``importwall scan`` cold (empty cache) and warm (second run, cache reused);
- ``lint-imports`` with a forbidden contract (serving entry point must not reach
  ``training``), cold (``--no-cache``) and warm (its own cache).

    python benchmarks/scan_vs_lint_imports.py [--modules 2000] [--repeat 3]

Prints the median wall time of each and the number of chains each tool reports. Both
tools read every import statement, function bodies included; the figures include
interpreter start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGE = "synth"


def generate(root: Path, modules: int, seed: int = 7) -> list[str]:
    """Write the tree under ``root``; return the module names."""
    rng = random.Random(seed)
    packages = max(1, modules // 50)
    per_package = max(1, modules // packages)
    names = [f"{PACKAGE}.p{p}.m{m}" for p in range(packages) for m in range(per_package)]
    base = root / PACKAGE
    base.mkdir(parents=True)
    (base / "__init__.py").write_text("")
    (base / "training").mkdir()
    (base / "training" / "__init__.py").write_text("")
    (base / "training" / "tune.py").write_text("def search():\n    return 0\n")
    (base / "serve.py").write_text(
        "".join(f"import {name}\n" for name in names[:: max(1, len(names) // 20)]))
    for p in range(packages):
        (base / f"p{p}").mkdir()
        (base / f"p{p}" / "__init__.py").write_text("")
    for index, name in enumerate(names):
        later = names[index + 1:] or names[:1]
        lines = [f"import {target}" for target in rng.sample(later, min(3, len(later)))]
        lines += ["", "", "def handler(payload):"]
        lines.append(f"    from {rng.choice(names).rsplit('.', 1)[0]} import "
                     f"{rng.choice(names).rsplit('.', 1)[1]}")
        if index % 400 == 399:
            lines.append(f"    from {PACKAGE}.training import tune")
        lines.append("    return payload")
        path = base / Path(*name.split(".")[1:]).with_suffix(".py")
        path.write_text("\n".join(lines) + "\n")
    (root / "policy.toml").write_text(
        f'version = 1\n[imports]\ndeny = ["{PACKAGE}.training"]\n')
    (root / ".importlinter").write_text(
        f"[importlinter]\nroot_package = {PACKAGE}\n\n"
        f"[importlinter:contract:serving]\nname = serving does not reach training\n"
        f"type = forbidden\nsource_modules =\n    {PACKAGE}.serve\n"
        f"forbidden_modules =\n    {PACKAGE}.training\n")
    return names


def _time(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    lint_imports = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or \
        shutil.which("lint-imports")
    if lint_imports is None:
        raise SystemExit("lint-imports not found: pip install -e '.[test]'")
    with tempfile.TemporaryDirectory(prefix="importwall-bench-") as folder:
        root = Path(folder)
        names = generate(root, args.modules)
        env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
        cache = root / ".importwall-cache"
        scan = [sys.executable, "-m", "importwall", "scan", f"{PACKAGE}.serve",
                "--policy", "policy.toml", "--cache-dir", str(cache), "--format", "json"]
        lint = [lint_imports, "--config", ".importlinter"]
        figures: dict[str, list[float]] = {name: [] for name in (
            "importwall scan, cold", "importwall scan, warm",
            "lint-imports, cold (--no-cache)", "lint-imports, warm (cache)")}
        outputs: dict[str, str] = {}
        for _ in range(args.repeat):
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(root / ".import_linter_cache", ignore_errors=True)
            elapsed, outputs["scan"] = _time(scan, root, env)
            figures["importwall scan, cold"].append(elapsed)
            figures["importwall scan, warm"].append(_time(scan, root, env)[0])
            elapsed, outputs["lint"] = _time([*lint, "--no-cache"], root, env)
            figures["lint-imports, cold (--no-cache)"].append(elapsed)
            _time(lint, root, env)  # fill its cache
            figures["lint-imports, warm (cache)"].append(_time(lint, root, env)[0])
        chains = len(json.loads(outputs["scan"])["findings"])
        print(f"tree: {len(names) + 4} modules ({args.modules} generated), "
              f"Python {sys.version.split()[0]}, median of {args.repeat}")
        for label, values in figures.items():
            print(f"  {label:<34} {statistics.median(values):7.3f} s")
        broken = "BROKEN" in outputs["lint"] or "broken" in outputs["lint"]
        print(f"  importwall scan reports {chains} chain(s) to {PACKAGE}.training; "
              f"lint-imports contract {'broken' if broken else 'kept'}")


if __name__ == "__main__":
    main()
