"""What the firewall adds to importing a real set of modules, in fresh interpreters.

Three sides, each a fresh interpreter that imports ``importwall`` first (so the baseline
pays for loading the package too, and only activation differs), then times importing the
set:

* ``off``: importwall imported, not activated: the baseline;
* ``enforce``: a serving policy (deny rules for training-only modules, none of which the
  set imports), so every import is looked up and allowed: target <= 2% over ``off``;
* ``audit, deny *``: every import is denied in audit mode, so each one captures its import
  chain and records a finding: target <= 5% over ``off``.

Sets: ``stdlib`` (about 60 standard-library modules, for CI), ``heavy`` (scikit-learn +
pandas + fastapi, pip-installed once into ``.benchmarks/venv-heavy``) and ``genN`` (``N``
generated small first-party modules, ``gen1000`` and ``gen5000``: a module-heavy app, where
the cost per imported module shows; their bytecode is cached, as an installed app's is).
Wall time is the median of ``--rounds`` interleaved interpreters per side; with valgrind,
instruction counts of the import alone (the run minus the same run stopped before the
imports) are printed too.

    python benchmarks/import_overhead.py [--set stdlib|heavy|gen1000|gen5000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import (
    CACHE,
    REPO,
    Row,
    clean_env,
    count_row,
    have_valgrind,
    instructions,
    interleaved,
    ratio_row,
    reported_seconds,
    source_venv,
)

STDLIB_SET = (
    "argparse", "ast", "asyncio", "base64", "bisect", "bz2", "calendar", "concurrent.futures",
    "configparser", "csv", "ctypes", "decimal", "difflib", "email.mime.multipart",
    "email.parser", "fractions", "ftplib", "gettext", "glob", "graphlib", "gzip", "hashlib",
    "heapq", "hmac", "html.parser", "http.client", "http.cookies", "imaplib", "ipaddress",
    "json", "logging.handlers", "lzma", "mailbox", "mimetypes", "multiprocessing", "pathlib",
    "pickle", "plistlib", "pprint", "queue", "sched", "secrets", "shelve", "shutil",
    "smtplib", "socketserver", "sqlite3", "statistics", "subprocess", "tarfile", "tempfile",
    "textwrap", "unittest", "urllib.request", "uuid", "wsgiref.simple_server",
    "xml.dom.minidom", "xml.etree.ElementTree", "xmlrpc.client", "zipfile", "zoneinfo",
)
SMOKE_SET = ("json", "decimal", "email.parser", "xml.etree.ElementTree", "csv")
HEAVY_SET = ("sklearn", "sklearn.linear_model", "sklearn.ensemble", "sklearn.preprocessing",
             "pandas", "fastapi")
HEAVY_PACKAGES = ("scikit-learn", "pandas", "fastapi",
                  # not imported by the set: for the pytest plugin's real-suite benchmark
                  "pytest", "rich", "rich-argparse", "psutil", "importlib-metadata")
GENERATED = "genapp"
GENERATED_MODULE = '''\
"""Generated module {index}: a small first-party module."""
import os
{sibling}
VALUE = {index}


def handle(payload):
    return os.path.join(str(payload), str(VALUE))


class Handler:
    def __call__(self, payload):
        return handle(payload)
'''


def generate_modules(root: Path, count: int) -> list[str]:
    """``count`` small modules in packages of 50 under ``root``; each imports ``os`` and,
    from the second on, the module before it (already loaded: the import guard's case)."""
    names = []
    for index in range(count):
        package = root / GENERATED / f"p{index // 50}"
        if index % 50 == 0:
            package.mkdir(parents=True)
            (package / "__init__.py").write_text("")
        name = f"{GENERATED}.p{index // 50}.m{index}"
        sibling = f"import {names[-1]}" if names else ""
        (package / f"m{index}.py").write_text(GENERATED_MODULE.format(index=index,
                                                                      sibling=sibling))
        names.append(name)
    (root / GENERATED / "__init__.py").write_text("")
    return names

SERVING_POLICY = """\
version = 1
[imports]
deny = [
    { module = "optuna", reason = "hyper-parameter tuning is training-only" },
    { module = "ray.tune", reason = "tuning is training-only" },
    { module = "matplotlib", reason = "plotting is for notebooks" },
    { module = "seaborn", reason = "plotting is for notebooks" },
    { module = "plotly", reason = "plotting is for notebooks" },
    { module = "wandb", reason = "experiment tracking is training-only" },
    { module = "mlflow.tracking", reason = "experiment tracking is training-only" },
    { module = "tensorboard*", reason = "training dashboards" },
    { module = "jupyter*", reason = "notebooks" },
    { module = "IPython", reason = "notebooks" },
    { module = "notebook", reason = "notebooks" },
    { module = "sklearn.model_selection.tests", reason = "test suites" },
    { module = "pandas.tests", reason = "test suites" },
    { module = "*.conftest", reason = "test suites" },
    { module = "snowflake.connector", reason = "warehouse clients" },
    { module = "google.cloud.bigquery", reason = "warehouse clients" },
    { module = "pyspark", reason = "batch processing" },
    { module = "torch.utils.tensorboard", reason = "training dashboards" },
    { module = "hyperopt", reason = "tuning" },
    { module = "myservice.training", reason = "training code" },
]
allow = ["jupyter_core.paths"]
"""
DENY_ALL_POLICY = 'version = 1\n[imports]\ndeny = ["*"]\n'

# The child: import importwall, activate per side, then time the set (or stop before it).
CHILD = """\
import sys, time
import importwall
mode, policy, stop = sys.argv[1], sys.argv[2], sys.argv[3]
with open(sys.argv[4]) as handle:
    names = handle.read().split()
if mode != "off":
    importwall.activate(policy, mode=mode)
if stop == "before":
    print(0.0)
    raise SystemExit
began = time.perf_counter()
for name in names:
    __import__(name)
print(time.perf_counter() - began)
"""

OFF = "off"
ENFORCE = "enforce"
AUDIT_ALL = "audit, deny *"
LIMITS = {ENFORCE: 0.02, AUDIT_ALL: 0.05}


def measure(which: str, rounds: int, callgrind: bool) -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        names: Sequence[str]
        env = clean_env(PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
        if which.startswith("gen"):
            names = generate_modules(Path(folder) / "app", int(which[3:]))
            # Bytecode cached, as an installed app's is (the warm-up round writes it).
            env = clean_env(PYTHONPATH=os.pathsep.join((str(REPO), str(Path(folder) / "app"))))
        else:
            names = {"stdlib": STDLIB_SET, "smoke": SMOKE_SET, "heavy": HEAVY_SET}[which]
        if which == "heavy":
            python = source_venv(CACHE / "venv-heavy", HEAVY_PACKAGES)
        else:
            python = Path(sys.executable)
        serving = Path(folder) / "serving.toml"
        serving.write_text(SERVING_POLICY)
        deny_all = Path(folder) / "deny-all.toml"
        deny_all.write_text(DENY_ALL_POLICY)
        sides = {OFF: (OFF, serving), ENFORCE: ("enforce", serving),
                 AUDIT_ALL: ("audit", deny_all)}
        listed = Path(folder) / "names.txt"
        listed.write_text("\n".join(names))

        def argv(side: str, stop: str) -> list[str]:
            mode, policy = sides[side]
            return [str(python), "-c", CHILD, mode, str(policy), stop, str(listed)]

        times = interleaved(
            {side: (lambda side=side: reported_seconds(argv(side, "after"), env))
             for side in sides}, rounds)
        counts: dict[str, int] = {}
        if callgrind and have_valgrind():
            for side in sides:
                counts[side] = (instructions(argv(side, "after"), env)
                                - instructions(argv(side, "before"), env))
        label = f"import {which} set ({len(names)} names)"
    rows = [Row(f"{label}, {OFF} (wall)", f"{times[OFF].median * 1000:.2f} ms",
                f"IQR {times[OFF].spread * 1000:.2f}, baseline")]
    for side, limit in LIMITS.items():
        rows.append(ratio_row(f"{label}, {side} (wall)", times[side], times[OFF], "ms",
                              1000, limit))
    for side, limit in LIMITS.items():
        if counts:
            rows.append(count_row(f"{label}, {side} (instructions)", counts[side],
                                  counts[OFF], limit))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--set", default="stdlib",
                        help="stdlib, heavy, smoke, or genN (N generated modules)")
    parser.add_argument("--rounds", type=int, default=30, help="interpreters per side (>= 30)")
    parser.add_argument("--no-callgrind", action="store_true",
                        help="skip the instruction counts")
    args = parser.parse_args()
    for row in measure(args.set, args.rounds, not args.no_callgrind):
        print(row.render())


if __name__ == "__main__":
    main()
