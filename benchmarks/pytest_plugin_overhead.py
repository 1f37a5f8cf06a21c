"""What the pytest plugin costs a test suite: the same generated suite run without the plugin
asked for, and with ``--importwall`` in enforce mode.

    python benchmarks/pytest_plugin_overhead.py [--tests 2000] [--repeat 3]

Prints the best wall time of each variant and the per-test difference.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

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


def run(root: str, extra: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
                   cwd=root, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        build(root, args.tests)
        variants = {"plugin not asked": [],
                    "--importwall (enforce)": ["--importwall=policy.toml"]}
        run(root, [])  # warm-up: compiles and caches the rewritten test modules
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.repeat):  # interleaved, so drift in machine load hits both
            for name, extra in variants.items():
                times[name].append(run(root, extra))
        best = {name: min(values) for name, values in times.items()}
    for name, seconds in best.items():
        print(f"{name:<24} {seconds:7.2f} s  ({args.tests} tests)")
    off, on = best.values()
    print(f"{'overhead':<24} {(on - off) / args.tests * 1e6:7.0f} us per test")


if __name__ == "__main__":
    main()
