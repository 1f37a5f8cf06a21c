"""What the pytest plugin costs a test suite, in CPU time: the same suite run without the
plugin asked for, and with ``--importwall``.

Two suites:

* ``real``: scikit-learn's own tests for ``sklearn.preprocessing`` labels and
  ``sklearn.utils`` validation (about 740 tests) from the heavy benchmark venv
  (``.benchmarks/venv-heavy``), under the shipped ``sklearn`` pack (which extends
  ``serving-base``). Those tests import ``sklearn.datasets`` and the estimator checks,
  which the pack denies, so the plugin runs in ``audit`` mode: both runs execute the same
  tests, and the plugin still judges every import and records six findings.
* ``generated``: a generated suite of small tests of a toy app, in enforce mode (``--tests``
  of them), on the interpreter that runs this script.

Runs are interleaved, in a new random order each round; CPU time (user + system of the
pytest process) is the figure, as wall time on a shared machine mostly measures the load.
Target (issue 19): <= 5% CPU over the plain run on the real suite.

    python benchmarks/pytest_plugin_overhead.py [--suite real|generated] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import CACHE, Row, Samples, clean_env, interleaved, source_venv

LIMIT = 0.05
REAL_TESTS = ("sklearn.preprocessing.tests.test_label", "sklearn.utils.tests.test_validation")

POLICY = """
version = 1
[imports]
deny = ["optuna", "sklearn.model_selection", "matplotlib", "mlflow", "app.training"]
"""

TEST_MODULE = """
import json

from app import serve


def test_{n}_a():
    assert serve.handle({{"x": {n}}}) == {n}


def test_{n}_b():
    import app.serve
    assert json.dumps(app.serve.handle({{"x": 1}})) == "1"
"""


def build(root: str, tests: int) -> None:
    os.makedirs(os.path.join(root, "app"))
    os.makedirs(os.path.join(root, "tests"))
    files = {
        "app/__init__.py": "",
        "app/serve.py": "def handle(request):\n    return request['x']\n",
        "policy.toml": POLICY,
        "tests/__init__.py": "",
    }
    for n in range(tests // 2):
        files[f"tests/test_{n:05d}.py"] = TEST_MODULE.format(n=n)
    for path, text in files.items():
        with open(os.path.join(root, path), "w", encoding="utf-8") as handle:
            handle.write(text)


def _run(argv: Sequence[str], cwd: str, env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one pytest run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"pytest failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def measure(suite: str, rounds: int, tests: int = 2000) -> list[Row]:
    with tempfile.TemporaryDirectory() as root:
        if suite == "real":
            from benchmarks.import_overhead import HEAVY_PACKAGES

            python = str(source_venv(CACHE / "venv-heavy", HEAVY_PACKAGES))
            # The plugin is registered by name: the source tree is on the path, not installed.
            plain = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                     "-p", "importwall.pytest_plugin", "--pyargs", *REAL_TESTS]
            asked = [*plain, "--importwall=sklearn", "--importwall-mode=audit"]
            title = f"pytest, scikit-learn tests ({len(REAL_TESTS)} modules)"
            plugin = "serving-base + sklearn, audit"
        else:
            build(root, tests)
            plain = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
            asked = [*plain, "--importwall=policy.toml"]
            title = f"pytest, generated suite ({tests} tests)"
            plugin = "enforce"
        env = clean_env()
        found: dict[str, list[float]] = {"plain": [], "plugin": []}

        def side(name: str, argv: list[str]) -> float:
            cpu, wall = _run(argv, root, env)
            found[name].append(wall)
            return cpu

        cpu = interleaved({"plain": lambda: side("plain", plain),
                           "plugin": lambda: side("plugin", asked)}, rounds)
    base, with_plugin = cpu["plain"], cpu["plugin"]
    ratio = with_plugin.median / base.median
    walls = {name: Samples(tuple(values[-rounds:])) for name, values in found.items()}
    return [
        Row(f"{title}, plain (cpu)", f"{base.median * 1000:.0f} ms",
            f"IQR {base.spread * 1000:.0f}, wall {walls['plain'].median:.1f} s"),
        Row(f"{title}, plugin (cpu)", f"{with_plugin.median * 1000:.0f} ms",
            f"ratio {ratio:.3f}, {plugin}, wall {walls['plugin'].median:.1f} s",
            f"<= +{LIMIT:.0%}", ratio - 1 <= LIMIT),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--suite", choices=("real", "generated"), default="real")
    parser.add_argument("--tests", type=int, default=2000, help="size of the generated suite")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for row in measure(args.suite, args.rounds, args.tests):
        print(row.render(), flush=True)


if __name__ == "__main__":
    main()
