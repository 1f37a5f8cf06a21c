"""How fast is ``importwall scan`` next to import-linter's ``lint-imports`` (grimp, a Rust
core) and ``tach`` (Rust) on the same trees, answering the same question?

The question: does the serving code reach training code through imports, function-level
imports included? Each tool is asked it in its own terms:

- ``importwall scan ENTRY --policy`` (deny the training package): every chain from the
  entry point, with file and line per hop;
- ``lint-imports`` with a ``forbidden`` contract (the entry point must not reach the
  training package, indirectly included);
- ``tach check`` with the entry point and the training package declared as modules and no
  dependency allowed between them (tach checks direct imports between declared modules).

Trees:

- a generated first-party package (``--modules``, default 10,000 modules in packages of 50,
  each importing a few others at module level and one inside a function, with a handful
  of lazy imports of a ``training`` package);
- the scikit-learn + pandas sources (2,111 files, copied from the heavy benchmark venv
  ``.benchmarks/venv-heavy`` into a plain folder, so every tool treats them as
  first-party): entry points ``sklearn.pipeline`` and ``pandas``, training code
  ``sklearn.model_selection``. Skipped when the venv is not built.

Each tool runs cold (no cache: importwall's parse cache emptied, ``lint-imports
--no-cache``, tach's ``.tach`` folder removed) and warm (its cache filled by the run
before). Wall time and CPU time (user + system of the process and its threads) are the
medians of ``--repeat`` interleaved rounds; the figures include interpreter start-up.

    python benchmarks/scan_vs_lint_imports.py [--modules 10000] [--repeat 3] [--no-real]
        [--real-from DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import tools_venv

PACKAGE = "synth"
REPO = Path(__file__).resolve().parent.parent
HEAVY_SITE = REPO / ".benchmarks" / "venv-heavy" / "lib" / \
    f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
REAL_PACKAGES = ("sklearn", "pandas")

TOOLS = ("importwall scan", "lint-imports", "tach check")


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
    configure(root, (PACKAGE,), (f"{PACKAGE}.serve",), f"{PACKAGE}.training")
    return names


def configure(root: Path, packages: Sequence[str], entries: Sequence[str],
              training: str) -> None:
    """The same question, in each tool's configuration."""
    (root / "policy.toml").write_text(f'version = 1\n[imports]\ndeny = ["{training}"]\n')
    roots = "".join(f"    {p}\n" for p in packages)
    sources = "".join(f"    {e}\n" for e in entries)
    (root / ".importlinter").write_text(
        f"[importlinter]\nroot_packages =\n{roots}\n"
        f"[importlinter:contract:serving]\nname = serving does not reach training\n"
        f"type = forbidden\nsource_modules =\n{sources}"
        f"forbidden_modules =\n    {training}\n")
    modules = "".join(f'[[modules]]\npath = "{e}"\ndepends_on = []\n\n' for e in entries)
    (root / "tach.toml").write_text(
        f'source_roots = ["."]\nexact = false\n\n{modules}'
        f'[[modules]]\npath = "{training}"\ndepends_on = []\n')
    (root / "entries.txt").write_text("\n".join(entries))


def copy_real_tree(root: Path, site: Path = HEAVY_SITE) -> bool:
    """The scikit-learn and pandas sources (from ``site``) in ``root``; ``False`` when
    ``site`` does not hold them."""
    if not all((site / package).is_dir() for package in REAL_PACKAGES):
        return False
    for package in REAL_PACKAGES:
        shutil.copytree(site / package, root / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    configure(root, REAL_PACKAGES, ("sklearn.pipeline", "pandas"), "sklearn.model_selection")
    return True


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the child and its threads) and stdout of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, done.stdout


def _tool(name: str, build: bool = False) -> str | None:
    """The tool from this interpreter's venv, else the benchmarks' tool venv (tach lives
    there: see ``_measure.tools_venv``), else ``PATH``."""
    found = shutil.which(name, path=os.path.dirname(sys.executable))
    if found is None:
        tools = tools_venv(build)
        found = shutil.which(name, path=str(tools.parent)) if tools is not None else None
    return found or shutil.which(name)


def measure_tree(root: Path, repeat: int, build: bool = False
                 ) -> tuple[dict[str, tuple[float, float]], dict[str, str]]:
    """``{"<tool>, cold|warm": (median wall s, median cpu s)}`` and each tool's verdict."""
    lint_imports, tach = _tool("lint-imports"), _tool("tach", build)
    if lint_imports is None:
        raise SystemExit("lint-imports not found: pip install -e '.[test]'")
    entries = (root / "entries.txt").read_text().split()
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cache = root / ".importwall-cache"
    commands = {
        "importwall scan": [sys.executable, "-m", "importwall", "scan", *entries, "--policy",
                            "policy.toml", "--cache-dir", str(cache), "--format", "json",
                            "--no-progress"],
        "lint-imports": [lint_imports, "--config", ".importlinter"],
    }
    if tach is not None:
        commands["tach check"] = [tach, "check"]
    caches = {"importwall scan": cache, "lint-imports": root / ".import_linter_cache",
              "tach check": root / ".tach"}
    cold_flags = {"lint-imports": ["--no-cache"]}
    found: dict[str, list[tuple[float, float]]] = {}
    outputs: dict[str, str] = {}
    for _ in range(repeat):
        order = list(commands)
        random.shuffle(order)
        for tool in order:
            shutil.rmtree(caches[tool], ignore_errors=True)
            wall, cpu, outputs[tool] = _run([*commands[tool], *cold_flags.get(tool, [])],
                                            root, env)
            found.setdefault(f"{tool}, cold", []).append((wall, cpu))
            if tool == "lint-imports":
                _run(commands[tool], root, env)  # --no-cache wrote none: fill it
            wall, cpu, _ = _run(commands[tool], root, env)
            found.setdefault(f"{tool}, warm", []).append((wall, cpu))
    medians = {label: (statistics.median(w for w, _ in values),
                       statistics.median(c for _, c in values))
               for label, values in found.items()}
    verdicts = {"importwall scan":
                f"{len(json.loads(outputs['importwall scan'])['findings'])} chain(s)",
                "lint-imports": "broken" if "broken" in outputs["lint-imports"].lower()
                else "kept"}
    if "tach check" in outputs:
        verdicts["tach check"] = "error(s)" if "error" in outputs["tach check"].lower() \
            else "validated"
    return medians, verdicts


def _source_files(root: Path) -> int:
    return sum(1 for _ in root.rglob("*.py"))


def measure(modules: int, repeat: int, real: bool, build_tools: bool = True,
            real_from: Path = HEAVY_SITE
            ) -> list[tuple[str, int, dict[str, tuple[float, float]], dict[str, str]]]:
    """One entry per tree: its title, files, medians and verdicts. ``build_tools``: build
    the tool venv with tach when it is missing (else tach is left out)."""
    trees = []
    with tempfile.TemporaryDirectory(prefix="importwall-bench-") as folder:
        generated = Path(folder) / "generated"
        generate(generated, modules)
        trees.append((f"generated, {modules} modules", generated))
        real_root = Path(folder) / "real"
        real_root.mkdir()
        if real and copy_real_tree(real_root, real_from):
            trees.append(("scikit-learn + pandas", real_root))
        results = []
        for title, root in trees:
            medians, verdicts = measure_tree(root, repeat, build_tools)
            results.append((title, _source_files(root), medians, verdicts))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-real", action="store_true",
                        help="only the generated tree (not the scikit-learn + pandas sources)")
    parser.add_argument("--real-from", type=Path, default=HEAVY_SITE, metavar="DIR",
                        help="a folder holding sklearn/ and pandas/ (default: the heavy "
                             "venv's site-packages)")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, median of {args.repeat} interleaved rounds")
    for title, files, medians, verdicts in measure(args.modules, args.repeat, not args.no_real,
                                                   real_from=args.real_from):
        print(f"tree: {title} ({files} .py files)")
        for label, (wall, cpu) in medians.items():
            print(f"  {label:<34} {wall:7.3f} s  cpu {cpu:7.3f} s")
        print("  verdicts: " + "; ".join(f"{tool}: {v}" for tool, v in verdicts.items()))


if __name__ == "__main__":
    main()
