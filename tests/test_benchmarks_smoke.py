"""The benchmark suite runs end to end at smoke sizes, so it cannot rot.

No timing is asserted (timings belong to benchmarks/README.md): only that every group
runs in real fresh interpreters and prints its rows.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from helpers import REPO, clean_env

EXPECTED_ROWS = (
    "import smoke set (5 names), off (wall)",
    "import smoke set (5 names), enforce (wall)",
    "import smoke set (5 names), audit, deny * (wall)",
    "import gen100 set (100 names), enforce (wall)",
    "start-up without .pth (wall)",
    "start-up with .pth (wall)",
    "start-up with .pth, enabled (wall)",
    "peak RSS, start-up with .pth, unused",
    "peak RSS, import smoke set (5 names), enforce",
    "activation, 3 files with extends (fresh)",
    "policy   1000 rules: from source, tomllib",
    "policy   1000 rules: load+compile, from cache",
    "policy   1000 rules: check, tomllib (wall)",
    "policy   1000 rules: check, cache warm (wall)",
    "matcher     10 rules: lookup (wall)",
    "matcher   1000 rules: lookup (wall)",
    "importwall scan, cold (generated, 100 modules)",
    "importwall scan, warm (generated, 100 modules)",
    "lint-imports, cold (generated, 100 modules)",
    "pytest, generated suite (100 tests), plugin (cpu)",
)
# Rows whose label ends in a number that depends on the machine (its installed packages).
EXPECTED_PREFIXES = ("importwall audit, ", "importwall audit --entrypoint, ")
# A measured row: label, a number with its unit, then the detail column.
MEASURED = re.compile(r"^  (?P<label>.+?)\s+(?P<value>\d+(\.\d+)?) (ms|s|ns|M instr|instr|MiB)\b")


def test_smoke_run_prints_every_benchmark_row() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke"], cwd=REPO,
                          env=clean_env(), capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    measured = {}
    for line in done.stdout.splitlines():
        match = MEASURED.match(line)
        if match:
            measured[match["label"].strip()] = float(match["value"])
    missing = [label for label in EXPECTED_ROWS if label not in measured]
    assert not missing, done.stdout
    for prefix in EXPECTED_PREFIXES:
        assert any(label.startswith(prefix) for label in measured), done.stdout
    assert all(value > 0 for value in measured.values()), done.stdout
    assert done.stdout.rstrip().endswith(("within target", "over target")), done.stdout


@pytest.mark.slow
@pytest.mark.heavy
def test_the_model_scanner_comparison_prints_its_table() -> None:
    """benchmarks/model_scanners.py at a small size: every tool's row, and importwall's
    detection figures (the corpus and the benign models are the tests' own)."""
    result = subprocess.run([sys.executable, "benchmarks/model_scanners.py", "--trees", "5",
                             "--repeat", "1"], cwd=REPO, env=clean_env(),
                            capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()
            if line.split() and line.split()[0] in ("importwall", "picklescan", "modelscan",
                                                    "fickling")}
    assert set(rows) == {"importwall", "picklescan", "modelscan", "fickling"}
    flagged, total = rows["importwall"][1].split("/")
    assert flagged == total
    assert rows["importwall"][3].startswith("0/")
