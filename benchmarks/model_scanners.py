"""``importwall scan-model`` next to picklescan, modelscan and fickling, on one corpus.

The corpus is the project's own (``tests/model_corpus.py``):

- malicious: every payload reconstructed from the pickle scanners' advisories and bypass
  write-ups, at protocols 0, 2, 4 and 5, and the same ``os.system`` payload in every
  container a loader opens (joblib compressions, PyTorch zip and legacy, zips with odd
  flags, CRCs or no central directory, nested zips, ``.npy``/``.npz``, Keras);
- benign: real models saved by scikit-learn, numpy, scipy, pandas, LightGBM and XGBoost
  at protocols 0 to 5, joblib with every compression, ``.npy``/``.npz``/safetensors
  (``--heavy`` adds PyTorch and CatBoost), and hand-built clean safetensors, ``.npy`` and
  Keras files.

Each tool runs in its own process on every file through its Python API (picklescan's
``scan_file_path``, modelscan's ``ModelScan().scan``, fickling's ``scan_file``, importwall's
``ModelScanner.scan_file``), and the table counts, per tool, the malicious files it
flagged (an issue, or an error: a scanner that cannot read a file says not to trust it)
and the benign files it flagged. Throughput is the best of ``--repeat`` scans of one large
real model (a scikit-learn random forest, pickled; ``--heavy`` adds a torch.save file),
in-process, interpreter start-up excluded; a tool whose scan of it stops with an error
shows ``error`` there instead (it did not read the file).

    python benchmarks/model_scanners.py [--jobs 2] [--repeat 3] [--heavy] [--trees 300]

The tools are pip-installed once into a cached venv (tests/helpers.py
``venv_with_packages``, the same cache the tests use).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers import clean_env, venv_with_packages  # noqa: E402
from model_corpus import (  # noqa: E402
    BENIGN_PACKAGES,
    BENIGN_SCRIPT,
    HEAVY_PACKAGES,
    write_benign_formats,
    write_corpus,
    write_format_corpus,
)

SCANNER_PACKAGES = ["picklescan", "modelscan", "fickling", "typing_extensions"]
"""fickling 0.1.12 imports typing_extensions without declaring it."""
TOOLS = ("importwall", "picklescan", "modelscan", "fickling")

_ADAPTER = r'''
import json, sys, time
tool, listing, large, repeat = sys.argv[1], sys.argv[2], sys.argv[3:-1], int(sys.argv[-1])

def scanner():
    if tool == "importwall":
        from importwall.static.modelscan import ModelScanner
        scan = ModelScanner().scan_file
        def verdict(path):
            findings = scan(path)
            return (any(f.code != "model-unreadable" and f.severity != "info"
                        for f in findings),
                    any(f.code == "model-unreadable" for f in findings))
        return verdict
    if tool == "picklescan":
        from picklescan.scanner import scan_file_path
        def verdict(path):
            result = scan_file_path(path)
            return result.infected_files > 0 or result.issues_count > 0, bool(result.scan_err)
        return verdict
    if tool == "modelscan":
        import logging
        logging.disable(logging.CRITICAL)
        from modelscan.modelscan import ModelScan
        def verdict(path):
            result = ModelScan().scan(path)
            return bool(result["issues"]), bool(result["errors"])
        return verdict
    if tool == "fickling":
        import fickling
        from fickling.analysis import Severity
        def verdict(path):
            try:
                result = fickling.scan_file(path, graceful=True)
            except Exception:
                return False, True
            return result.severity != Severity.LIKELY_SAFE, bool(result.errors)
        return verdict

verdict = scanner()
out = {}
for path in open(listing).read().split("\n"):
    if path:
        try:
            out[path] = verdict(path)
        except Exception:
            out[path] = (False, True)
timings = {}
for path in large:
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            _, error = verdict(path)
        except Exception:
            error = True
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    timings[path] = None if error else best  # a scan that stopped early is no throughput
print(json.dumps({"verdicts": out, "timings": timings}))
'''

_LARGE = r'''
import pickle, sys
from pathlib import Path
import numpy as np
from sklearn.ensemble import RandomForestClassifier
out, trees = Path(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
X = rng.normal(size=(20000, 20)); y = (X[:, 0] + rng.normal(size=20000) > 0).astype(int)
model = RandomForestClassifier(n_estimators=trees, random_state=0, n_jobs=2).fit(X, y)
(out / "forest.p5.pkl").write_bytes(pickle.dumps(model, protocol=5))
(out / "forest.p4.pkl").write_bytes(pickle.dumps(model, protocol=4))
if len(sys.argv) > 3:
    import torch
    net = torch.nn.Sequential(*[torch.nn.Linear(1024, 1024) for _ in range(48)])
    torch.save(net.state_dict(), out / "mlp.pt")
'''


def _run(python: Path, script: str, *args: str, timeout: float = 3600) -> str:
    result = subprocess.run([str(python), "-c", textwrap.dedent(script), *args],
                            capture_output=True, text=True, timeout=timeout,
                            env=clean_env(), check=False)
    if result.returncode != 0:
        sys.exit(f"model_scanners: {python} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def build_corpus(root: Path, heavy: bool, trees: int) -> tuple[list[Path], list[Path],
                                                                 list[Path]]:
    """(malicious, benign, large) files under ``root``."""
    malicious = [*write_corpus(root / "malicious"),
                 *write_format_corpus(root / "malicious-formats")]
    libs = venv_with_packages(root / "venv-libs", BENIGN_PACKAGES)
    folder = root / "benign"
    names = _run(libs, BENIGN_SCRIPT, str(folder),
                 "numpy,scipy,pandas,sklearn,lightgbm,xgboost").split()
    benign = [folder / name for name in names] + write_benign_formats(root / "benign-formats")
    large_folder = root / "large"
    large_folder.mkdir()
    if heavy:
        heavy_python = venv_with_packages(root / "venv-heavy", HEAVY_PACKAGES)
        names = _run(heavy_python, BENIGN_SCRIPT, str(root / "benign-heavy"),
                     "catboost,torch").split()
        benign += [root / "benign-heavy" / name for name in names]
        _run(heavy_python, _LARGE, str(large_folder), str(trees), "torch")
    else:
        _run(libs, _LARGE, str(large_folder), str(trees))
    return malicious, benign, sorted(large_folder.iterdir())


def run_tool(tool: str, python: Path, files: list[Path], large: list[Path],
             repeat: int, work: Path) -> dict[str, object]:
    listing = work / f"{tool}.files"
    listing.write_text("\n".join(str(p) for p in files))
    output = _run(python, _ADAPTER, tool, str(listing), *map(str, large), str(repeat))
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1, help="tools run at once (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="scans of each large file")
    parser.add_argument("--heavy", action="store_true", help="add PyTorch and CatBoost")
    parser.add_argument("--trees", type=int, default=300,
                        help="trees of the large random forest (default 300)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="importwall-model-scanners-") as temp:
        root = Path(temp)
        print("building the corpus and the tools' venv (cached after the first run)...",
              flush=True)
        malicious, benign, large = build_corpus(root, args.heavy, args.trees)
        tools_python = venv_with_packages(root / "venv-scanners", SCANNER_PACKAGES)
        pythons = {"importwall": Path(sys.executable)} | {
            tool: tools_python for tool in TOOLS[1:]}
        files = malicious + benign
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            futures = {tool: pool.submit(run_tool, tool, pythons[tool], files, large,
                                         args.repeat, root) for tool in TOOLS}
            results = {tool: future.result() for tool, future in futures.items()}
        figures = _figures(results, malicious, benign, large)
        _print(figures, malicious, benign, large)
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
    return 0


def _figures(results: dict[str, dict[str, object]], malicious: list[Path],
             benign: list[Path], large: list[Path]) -> dict[str, object]:
    figures: dict[str, object] = {}
    for tool, result in results.items():
        verdicts = result["verdicts"]
        timings = result["timings"]
        assert isinstance(verdicts, dict) and isinstance(timings, dict)

        def flagged(paths: list[Path], verdicts: dict[str, list[bool]] = verdicts) -> int:
            return sum(1 for p in paths if any(verdicts[str(p)]))

        def issues(paths: list[Path], verdicts: dict[str, list[bool]] = verdicts) -> int:
            return sum(1 for p in paths if verdicts[str(p)][0])

        figures[tool] = {
            "malicious_flagged": flagged(malicious), "malicious_issue": issues(malicious),
            "benign_flagged": flagged(benign),
            "missed": sorted(p.name for p in malicious if not any(verdicts[str(p)])),
            "false_positives": sorted(p.name for p in benign if any(verdicts[str(p)])),
            "mb_per_s": {p.name: p.stat().st_size / 1e6 / timings[str(p)] for p in large
                         if timings.get(str(p))},
        }
    return figures


def _print(figures: dict[str, object], malicious: list[Path], benign: list[Path],
           large: list[Path]) -> None:
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.0f} MB" for p in large)
    print(f"\n{len(malicious)} malicious files, {len(benign)} benign real models; "
          f"throughput on {sizes}\n")
    header = (f"{'tool':<12} {'malicious flagged':>18} {'(as issues)':>12} "
              f"{'benign flagged':>15}" + "".join(f" {p.name + ' MB/s':>16}" for p in large))
    print(header)
    print("-" * len(header))
    for tool in TOOLS:
        row = figures[tool]
        assert isinstance(row, dict)
        rates = row["mb_per_s"]
        print(f"{tool:<12} {row['malicious_flagged']:>10}/{len(malicious):<7} "
              f"{row['malicious_issue']:>12} {row['benign_flagged']:>8}/{len(benign):<6}"
              + "".join(f" {rates[p.name]:>16.0f}" if p.name in rates else f" {'error':>16}"
                        for p in large))
    for tool in TOOLS:
        row = figures[tool]
        assert isinstance(row, dict)
        missed, false = row["missed"], row["false_positives"]
        if missed or false:
            print(f"\n{tool}: missed {len(missed)}: {', '.join(missed[:40])}"
                  f"{' ...' if len(missed) > 40 else ''}")
            print(f"{tool}: false positives {len(false)}: {', '.join(false[:40])}"
                  f"{' ...' if len(false) > 40 else ''}")


if __name__ == "__main__":
    raise SystemExit(main())
