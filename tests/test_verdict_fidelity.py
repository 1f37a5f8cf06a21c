"""Audit == enforce: for one program and policy, the set of (module, first-party import
site) findings is the same in enforce, warn and audit (docs/policy.md, "How it works").

One program leaks the same training-only modules in every style a service does (two sites
of one module, the same module from two files, a lazy handler import, a site run many
times, ``importlib.import_module``, a from-list, ``import a.b.c`` of a let-through
package's submodule, a lazy attribute of a PEP 562 parent, a thread, a child process, a
denied module that is not installed, by a library and by first-party code); it runs
under ``importwall run`` in each mode, and the findings of all its processes are read back
from their record files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from importwall.runtime.record_reader import read_record_file, record_files

POLICY = """\
version = 1

[imports]
deny = [
    { module = "tuner", reason = "tuning is training-only" },
    { module = "trainlib.model_selection", reason = "data splitting is training-only" },
    { module = "lazylib.training", reason = "training-only" },
    { module = "pyspark", reason = "Spark is for batch training" },
]

[[imports.exceptions]]
module = "trainlib.model_selection"
importer = "trainlib.*"
reason = "trainlib's estimators import it internally"
"""

FILES = {
    # tuner drags in a submodule of its own: a consequence of the leak, never a finding.
    "tuner/__init__.py": "from tuner import deep\n",
    "tuner/deep.py": "import json\n",
    "tuner/extra.py": "",
    "trainlib/__init__.py": "",
    "trainlib/model_selection/__init__.py": "from trainlib.model_selection import split\n",
    "trainlib/model_selection/split.py": "",
    "trainlib/linear_model.py": "from trainlib.model_selection import split  # internal\n",
    # A lazy-loading parent (PEP 562), like scikit-learn's __init__.
    "lazylib/__init__.py": """\
import importlib


def __getattr__(name):
    if name in ("training",):
        return importlib.import_module(f"lazylib.{name}")
    raise AttributeError(name)
""",
    "lazylib/training.py": "",
    # A library's optional-import probe of a denied module that is not installed.
    "optlib/__init__.py": """\
try:
    import pyspark
except ImportError:
    pyspark = None
""",
    "app/__init__.py": "",
    "app/handlers.py": """\
import importlib
import threading

import trainlib.linear_model


def first():
    import tuner


def second():
    import tuner


def by_name():
    return importlib.import_module("tuner")


def from_list():
    from trainlib import model_selection


def submodule():
    import trainlib.model_selection.split


def deep():
    import tuner.deep


def lazy_attribute():
    import lazylib
    return lazylib.training


def absent():
    try:
        import pyspark.sql
    except ModuleNotFoundError as error:
        assert type(error) is ModuleNotFoundError, error  # the usual error, in every mode


def in_thread():
    def work():
        try:
            import tuner
        except ImportError:
            pass
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def submodules_in_a_loop():
    for name in ("deep", "extra"):  # extra is not loaded yet: enforce stops at tuner
        importlib.import_module(f"tuner.{name}")
""",
    "app/other.py": "def handle():\n    import tuner\n",
    "app/child.py": """\
try:
    from trainlib import model_selection
except ImportError:
    pass
""",
    "serve.py": """\
import subprocess
import sys

import app.handlers
import app.other
import optlib

for name in ("first", "second", "by_name", "from_list", "submodule", "deep",
             "lazy_attribute", "first", "second", "in_thread", "absent",
             "submodules_in_a_loop"):
    for _ in range(3):
        try:
            getattr(app.handlers, name)()
        except ImportError:
            pass
try:
    app.other.handle()
except ImportError:
    pass
subprocess.run([sys.executable, "-m", "app.child"], check=True)
print("served")
""",
}


def findings_in(data_dir: Path) -> tuple[set[tuple[str, str, int, str]], int]:
    """The (module, import site, code) set of the import findings of every process, and how
    many processes wrote a record."""
    findings: list = []
    processes: list = []
    for path in record_files(str(data_dir)):
        read_record_file(path, findings, processes)
    sites = set()
    for finding in findings:
        assert finding.kind == "import", finding
        site = finding.chain[-1]
        code = "absent" if finding.code == "import-absent" else "denied"
        if code == "absent":
            assert finding.severity == "info", finding
        sites.add((finding.subject, Path(site.file).name, site.line, code))
    return sites, len(processes)


def run_in(project, mode: str) -> tuple[set[tuple[str, str, int, str]], int]:
    data_dir = project.root / f"data-{mode}"
    result = project.run(["-m", "importwall", "run", "--policy", "policy.toml", "--mode",
                          mode, "--data-dir", str(data_dir), "--",
                          sys.executable, "serve.py"])
    assert result.returncode == 0, result.output
    assert "served" in result.stdout
    return findings_in(data_dir)


@pytest.fixture
def leaky(project):
    project.write(FILES)
    project.policy(POLICY)
    return project


EXPECTED = {
    ("tuner", "handlers.py", 8, "denied"),            # first()
    ("tuner", "handlers.py", 12, "denied"),           # second(): another site of one module
    ("tuner", "handlers.py", 16, "denied"),           # importlib.import_module
    ("trainlib.model_selection", "handlers.py", 20, "denied"),   # from-list
    # import a.b.c of a submodule the library loaded through its exception: the guard
    # judges the name the statement gives, in every mode.
    ("trainlib.model_selection.split", "handlers.py", 24, "denied"),
    ("tuner", "handlers.py", 28, "denied"),           # import tuner.deep: stopped at tuner
    # A lazy parent's attribute: its __getattr__ is looked through to the code that read it.
    ("lazylib.training", "handlers.py", 33, "denied"),
    ("tuner", "handlers.py", 46, "denied"),           # in a thread
    ("tuner", "handlers.py", 56, "denied"),           # submodules at one site, in a loop
    ("tuner", "other.py", 2, "denied"),               # the same module from another file
    ("trainlib.model_selection", "child.py", 2, "denied"),       # in a child process
    # Not installed: import-absent findings (info), the import fails as without importwall.
    ("pyspark", "__init__.py", 2, "absent"),         # a library's optional-import probe
    ("pyspark", "handlers.py", 38, "absent"),        # a first-party site
}


def test_audit_warn_and_enforce_find_the_same_sites(leaky) -> None:
    found = {mode: run_in(leaky, mode) for mode in ("enforce", "warn", "audit")}
    for mode, (sites, processes) in found.items():
        assert processes == 2, (mode, processes)  # serve.py and its child: not the CLI
        assert sites == EXPECTED, (mode, sorted(sites ^ EXPECTED))


def test_absent_modules_alone_leave_the_audit_clean(project) -> None:
    project.write({"optlib/__init__.py": FILES["optlib/__init__.py"],
                   "serve.py": "import optlib\nprint('served', optlib.pyspark)\n"})
    project.policy(POLICY)
    result = project.run(["-m", "importwall", "audit", "--policy", "policy.toml", "--",
                          sys.executable, "serve.py"])
    assert result.returncode == 0, result.output
    assert "import-absent" in result.stdout and "pyspark" in result.stdout


@pytest.mark.parametrize("cli", [
    [sys.executable, "-m", "importwall", "report", "--data-dir", "DATA"],
    [sys.executable, "-X", "utf8", "-m", "importwall", "check", "policy.toml"],
    [str(Path(sys.executable).with_name("importwall")), "check", "policy.toml"],
])
def test_the_cli_never_records_itself(project, cli) -> None:
    project.policy(POLICY)
    data = project.root / "DATA"
    def under_firewall(command: list[str]):
        return project.run(["-m", "importwall", "run", "--policy", "policy.toml", "--mode",
                            "audit", "--data-dir", str(data), "--", *command])
    under_firewall([argument.replace("DATA", str(data)) for argument in cli])
    assert not data.exists() or not list(data.iterdir())
    under_firewall([sys.executable, "-c", "pass"])  # the guarded program does
    assert len(list(data.iterdir())) == 1


ATTRIBUTION = """\
import multiprocessing, subprocess, sys


def work(_):
    import tuner  # a finding: a fork worker starts its record file on its first
    return 1


if __name__ == "__main__":
    for method in ("spawn", "fork"):
        with multiprocessing.get_context(method).Pool(1) as pool:
            pool.map(work, [1])
    subprocess.run([sys.executable, "-m", "platform"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-c", "pass"], check=True)
"""


def test_each_process_record_names_what_it_runs(project) -> None:
    project.write({"serve.py": ATTRIBUTION, "tuner/__init__.py": ""})
    project.policy(POLICY)
    data = project.root / "data"
    result = project.run(["-m", "importwall", "run", "--policy", "policy.toml", "--mode",
                          "audit", "--data-dir", str(data), "--", sys.executable, "serve.py"])
    assert result.returncode == 0, result.output
    findings: list = []
    processes: list = []
    for path in record_files(str(data)):
        read_record_file(path, findings, processes)
    main = next(p for p in processes if p.runs == str(project.root / "serve.py")
                and p.forked_from is None)
    children = {(p.runs, p.parent_pid, p.forked_from) for p in processes if p is not main}
    assert ("multiprocessing spawn child", main.pid, None) in children
    assert (str(project.root / "serve.py"), main.pid, main.pid) in children  # a fork worker
    assert ("-m platform", main.pid, None) in children
    assert ("-c", main.pid, None) in children
