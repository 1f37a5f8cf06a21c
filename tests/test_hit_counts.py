"""Hit counts: a finding stands for one (module, first-party import site) and counts every
import attempt there, apart from the count of processes that reported it; the counts are
the same in enforce, warn and audit (as the sets are: test_verdict_fidelity.py), and a
forked child counts only its own.

One program imports denied modules from one site in a loop (a function called 5 times),
from another once, by ``importlib.import_module`` in a loop, through a from-list, through
a PEP 562 lazy parent (``importlib.import_module`` inside its ``__getattr__``: in
warn/audit a lazily loaded *submodule* becomes an attribute of its parent, and reading it
again imports nothing, so the shim here hands out a class, as transformers' does), and asks
for a denied module that is not installed; two multiprocessing fork workers, one after
the other, import at the looped site 4 times each and end with ``os._exit``, as workers do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from importwall.report import load_records
from importwall.runtime.record_reader import read_record_file, record_files

POLICY = """\
version = 1

[imports]
deny = ["tuner", "trainlib.model_selection", "lazylib.training", "pyspark"]
"""

FILES = {
    "tuner/__init__.py": "from tuner import deep\n",
    "tuner/deep.py": "",
    "tuner/extra.py": "",  # not loaded until submodule() asks
    "trainlib/__init__.py": "",
    "trainlib/model_selection.py": "",
    "lazylib/__init__.py": """\
import importlib


def __getattr__(name):  # a name the submodule defines, as transformers' _LazyModule
    if name == "Trainer":  # never set on the package: each read comes here
        return importlib.import_module("lazylib.training").Trainer
    raise AttributeError(name)
""",
    "lazylib/training.py": "class Trainer:\n    pass\n",
    "app.py": """\
import importlib


def looped():
    import tuner


def once():
    import tuner


def by_name():
    return importlib.import_module("tuner")


def from_list():
    from trainlib import model_selection


def lazy():
    import lazylib
    return lazylib.Trainer


def absent():
    import pyspark


def submodule():
    import tuner.extra  # warn/audit judge it on the way in and as it returns: one hit
""",
    "serve.py": """\
import multiprocessing

import app


def attempt(function, times):
    for _ in range(times):
        try:
            function()
        except ImportError:
            pass


def worker():
    attempt(app.looped, 4)  # hits 3 and 4 come within a second of 2: told at exit


if __name__ == "__main__":
    attempt(app.looped, 5)
    attempt(app.once, 1)
    attempt(app.by_name, 4)
    attempt(app.from_list, 3)
    attempt(app.lazy, 3)
    attempt(app.absent, 2)
    attempt(app.submodule, 2)
    for _ in range(2):  # two workers, one chain: one report item of two processes
        child = multiprocessing.get_context("fork").Process(target=worker)
        child.start()
        child.join()
        assert child.exitcode == 0
    attempt(app.looped, 1)  # after the fork: the parent's count goes on
    print("served")
""",
}

LINES = {5: "looped", 9: "once", 13: "by_name", 17: "from_list", 22: "lazy", 26: "absent",
         30: "submodule"}

PARENT = {("tuner", "looped"): 6, ("tuner", "once"): 1, ("tuner", "by_name"): 4,
          ("trainlib.model_selection", "from_list"): 3, ("lazylib.training", "lazy"): 3,
          ("pyspark", "absent"): 2, ("tuner", "submodule"): 2}
CHILD = {("tuner", "looped"): 4}


def hits_by_process(data_dir: Path) -> list[dict[tuple[str, str], int]]:
    """Each process's hits per (module, app.py site), parent first."""
    per_process = []
    for path in record_files(str(data_dir)):
        findings: list = []
        processes: list = []
        read_record_file(path, findings, processes)
        (process,) = processes
        hits = {}
        for finding in findings:
            assert finding.kind == "import", finding
            site = finding.chain[-1]
            assert Path(site.file).name == "app.py", finding
            key = (finding.subject, LINES[site.line])
            assert key not in hits, key  # one finding per site and module
            hits[key] = finding.hits
        per_process.append((process.forked_from is not None, hits))
    return [hits for _, hits in sorted(per_process, key=lambda pair: pair[0])]


@pytest.fixture
def leaky(project):
    project.write(FILES)
    project.policy(POLICY)
    return project


def run_in(project, mode: str) -> Path:
    data_dir = project.root / f"data-{mode}"
    result = project.run(["-m", "importwall", "run", "--policy", "policy.toml", "--mode",
                          mode, "--data-dir", str(data_dir), "--",
                          sys.executable, "serve.py"])
    assert result.returncode in (0, 1), result.output
    assert "served" in result.stdout, result.output
    return data_dir


def test_hits_are_the_same_in_enforce_warn_and_audit_and_a_child_counts_its_own(
        leaky) -> None:
    for mode in ("enforce", "warn", "audit"):
        data_dir = run_in(leaky, mode)
        assert hits_by_process(data_dir) == [PARENT, CHILD, CHILD], mode
        report = load_records(str(data_dir))
        looped = sorted((item.hits, item.count) for item in report.items
                        if item.site is not None and item.site[1] == 5)
        assert looped == [(6, 1), (8, 2)], mode  # the workers' item: summed over both


def test_a_report_says_how_many_times_in_how_many_processes(leaky) -> None:
    data_dir = run_in(leaky, "audit")
    text = leaky.run(["-m", "importwall", "report", "--data-dir", str(data_dir),
                      "--format", "markdown"])
    assert "seen 8 times in 2 processes" in text.stdout, text.output
    assert "seen 4 times in 1 process" in text.stdout, text.output
    as_json = leaky.run(["-m", "importwall", "report", "--data-dir", str(data_dir),
                         "--format", "json"])
    findings = json.loads(as_json.stdout)["findings"]
    assert sorted((f["hits"], f["count"]) for f in findings) == [
        (1, 1), (2, 1), (2, 1), (3, 1), (3, 1), (4, 1), (6, 1), (8, 2)]
