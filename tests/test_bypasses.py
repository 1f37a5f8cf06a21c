"""Bypass battery: every way we know to get a denied module's code running past the firewall.

Each vector runs in a fresh interpreter over the same throw-away packages. A denied module
prints ``RAN-DENIED-CODE`` when its top-level code runs; the program prints ``ACTIVE`` once
the firewall is up, ``BLOCKED`` when an import raises ``ForbiddenImportError`` and, for the
in-process route, the subjects of the firewall's import findings. From those the test reads
the vector's outcome and compares it with the one documented in docs/bypasses.md:

* ``blocked``: no denied code ran after activation and the attempt raised;
* ``recorded``: denied code ran, and the firewall recorded it;
* ``inert``: nothing ran, nothing was raised or recorded (a probe that executes no code);
* ``not covered``: denied code ran and nothing noticed. Python offers no hook for it (or
  only strict mode's audit hook does); the test pins the gap so the table stays honest.
  For a module already loaded before activation (its code ran then, and was recorded as
  preloaded), the vector prints ``REACHED`` when it got hold of the module again: that
  access went unjudged, which is ``not covered`` too.

Vectors with ``strict=True`` run under a policy with ``strict = true`` (the PEP 578 audit
hook, :mod:`importwall.runtime.strict`).
"""

from __future__ import annotations

import json
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any

import pytest
from helpers import REPO, Result

RAN = "RAN-DENIED-CODE"
REACHED = "REACHED"

PACKAGES = {
    "training/__init__.py": f"""
        print({RAN!r}, __name__, flush=True)
        helper = "training.helper"


        def load_sub():
            from . import sub  # a function-level relative import inside the denied package
            return sub
        """,
    "training/sub.py": f"print({RAN!r}, __name__, flush=True)\n",
    "tuner.py": f"print({RAN!r}, __name__, flush=True)\nVALUE = 1\n",
    # An allowed parent with a denied submodule its own loader may import.
    "servelib/__init__.py": "",
    "servelib/trainer.py": f"print({RAN!r}, __name__, flush=True)\nFIT = 'fit'\n",
    "servelib/loader.py": "from servelib import trainer\n",
    # PEP 562: submodules loaded on first attribute access.
    "lazypkg/__init__.py": """
        import importlib


        def __getattr__(name):
            return importlib.import_module(f"{__name__}.{name}")
        """,
    "lazypkg/trainer.py": f"print({RAN!r}, __name__, flush=True)\nFIT = 'fit'\n",
    # A namespace package (no __init__.py).
    "nsdenied/mod.py": f"print({RAN!r}, __name__, flush=True)\n",
    # A second strict policy that denies nothing: a weaker activate().
    "nothing.toml": "version = 1\nstrict = true\n",
    # Every process the multiprocessing vectors start runs this.
    "child.py": """
        import os


        def try_import():
            try:
                import training  # noqa: F401
            except ModuleNotFoundError as error:
                print("BLOCKED", type(error).__name__, getattr(error, "module", None),
                      os.getpid(), flush=True)
        """,
}

POLICY = """\
version = 1
{strict}

[imports]
deny = [
    {{ module = "training", reason = "training-only" }},
    {{ module = "tuner", reason = "tuning is training-only" }},
    {{ module = "servelib.trainer", reason = "fitting is training-only" }},
    {{ module = "lazypkg.trainer", reason = "fitting is training-only" }},
    {{ module = "nsdenied", reason = "a namespace package, training-only" }},
    {{ module = "zipped", reason = "training-only, shipped in a zip" }},
    {{ module = "_sqlite3", reason = "a C extension the server must not load" }},
]

[[imports.exceptions]]
module = "servelib.trainer"
importer = "servelib.loader"
reason = "the library's loader uses its own trainer"
"""

# Imported by an in-process program before the firewall starts: building a zip archive
# must not itself be judged.
ZIP_SETUP = """
import os, zipfile
archive = os.path.abspath("training.zip")
with zipfile.ZipFile(archive, "w") as zf:
    zf.writestr("zipped/__init__.py", "print('RAN-DENIED-CODE', __name__, flush=True)\\n")
sys.path.insert(0, archive)
"""


@dataclass(frozen=True)
class Vector:
    """One way in. ``code`` runs after activation (in-process route) or is the whole
    program (``route="run"``: under ``importwall run``, activation through the environment)."""

    name: str
    expected: str
    code: str
    before: str = ""
    strict: bool = False
    route: str = "api"  # "api": importwall.activate() in the program; "run": importwall run
    argv: tuple[str, ...] = ()  # for route "run": the command instead of ``python -c code``
    min_python: tuple[int, int] = (3, 10)
    max_python: tuple[int, int] = (3, 99)  # the last version that still has the API
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.name + (" [strict]" if self.strict else "")


SPEC_FROM_FILE = """
import importlib.util, os
spec = importlib.util.spec_from_file_location("innocent", os.path.abspath("tuner.py"))
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
"""

SYS_MODULES_INSERT = """
import os, sys, types
module = types.ModuleType("tuner")
path = os.path.abspath("tuner.py")
exec(compile(open(path).read(), path, "exec"), module.__dict__)
sys.modules["tuner"] = module
import tuner
"""

FIND_SPEC_EXEC = """
import importlib.util
spec = importlib.util.find_spec("tuner")  # the importlib docs' recipe for a direct import
module = importlib.util.module_from_spec(spec)
sys.modules["tuner"] = module
spec.loader.exec_module(module)
"""

LAZY_LOADER = """
import importlib.machinery, importlib.util, os, sys
loader = importlib.util.LazyLoader(
    importlib.machinery.SourceFileLoader("tuner", os.path.abspath("tuner.py")))
spec = importlib.util.spec_from_loader("tuner", loader)
module = importlib.util.module_from_spec(spec)
sys.modules["tuner"] = module
loader.exec_module(module)
module.VALUE  # the module's code runs here, on first attribute access
"""

META_PATH_REORDERED = """
sys.meta_path.append(sys.meta_path.pop(0))  # the firewall goes last
import tuner
"""

META_PATH_CLEARED = """
import importlib.machinery
sys.meta_path.clear()
sys.meta_path.append(importlib.machinery.PathFinder)
import tuner
"""

PATH_HOOKS = """
import importlib.machinery
loaders = [(importlib.machinery.SourceFileLoader, [".py"])]
sys.path_hooks.insert(0, importlib.machinery.FileFinder.path_hook(*loaders))
sys.path_importer_cache.clear()
import tuner
"""

THREADS = """
import threading
barrier = threading.Barrier(8)
def worker():
    barrier.wait()
    try:
        import training
    except importwall.ForbiddenImportError as error:
        print("BLOCKED", error.module, flush=True)
threads = [threading.Thread(target=worker) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""

EXTENSION_DIRECT = """
import importlib.machinery, importlib.util
found = importlib.machinery.PathFinder.find_spec("_sqlite3")
loader = importlib.machinery.ExtensionFileLoader("_sqlite3", found.origin)
module = importlib.util.module_from_spec(importlib.util.spec_from_loader("_sqlite3", loader))
print("RAN-DENIED-CODE", module.__name__, flush=True)  # the extension is initialized
"""

MULTIPROCESSING = """
import multiprocessing, child
if __name__ == "__main__":
    context = multiprocessing.get_context({method!r})
    process = context.Process(target=child.try_import)
    process.start()
    process.join()
"""

GRANDCHILD = """
import subprocess, sys
inner = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'import training'])"
subprocess.run([sys.executable, "-c", inner])
"""

EXECV = """
import os, sys
os.execv(sys.executable, [sys.executable, "-c", "import training"])
"""

# ---- strict mode failing open, and talked out of it (issue 15's battery)

EVIL_SYS_PATH = """
class Evil(str):
    def startswith(self, *args):
        raise RuntimeError("a path entry that breaks whoever reads it")
sys.path.append(Evil("/nowhere"))
""" + SPEC_FROM_FILE

DELETED_CWD = """
import os, tempfile
os.chdir(tempfile.mkdtemp())
os.rmdir(os.getcwd())
sys.path.insert(0, "")  # '' now names a folder that is gone
""" + SPEC_FROM_FILE.replace('os.path.abspath("tuner.py")', 'HERE + "/tuner.py"')

OFF_SYS_PATH = """
import os
here = os.getcwd()
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
""" + SPEC_FROM_FILE

SYMLINKED_FILE = """
import importlib.util, os, tempfile
link = os.path.join(tempfile.mkdtemp(), "innocent.py")
os.symlink(os.path.abspath("tuner.py"), link)
spec = importlib.util.spec_from_file_location("innocent", link)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
"""

SYMLINKED_PACKAGE = """
import os
os.symlink(os.path.abspath("training"), os.path.abspath("renamed"))
import renamed
"""

VENDORED_COPY = """
import shutil
shutil.copytree("training", "vendored_training")
import vendored_training
"""

PATCHED_INSTANCE = """
firewall.find_spec = lambda *args, **kwargs: None
import training
"""

PATCHED_CLASS = """
type(firewall).find_spec = lambda *args, **kwargs: None
import training
"""

BUSY_FLAGS = """
import importwall.runtime.strict as strict
for holder in (firewall, getattr(strict, "_guard", None)):
    if holder is not None:
        holder._busy.active = True  # every re-entrancy flag the program can reach
import training
"""

WEAKENED_STATE = """
firewall.mode = "audit"
for sink in list(firewall._sinks):  # whatever the sinks are bound to, weakened too
    holder = getattr(sink, "__self__", None)
    for name, value in (("mode", "audit"), ("reported", {"training"})):
        if holder is not None and hasattr(holder, name):
            setattr(holder, name, value)
import training
"""

WEAKER_ACTIVATE = """
importwall.activate("nothing.toml", mode="audit")
import training
"""

DEACTIVATED = """
importwall.deactivate()
import training
"""

MARSHALLED = """
import marshal, os, py_compile, tempfile
compiled = py_compile.compile(os.path.abspath("tuner.py"),
                              cfile=os.path.join(tempfile.mkdtemp(), "tuner.pyc"))
with open(compiled, "rb") as handle:
    code = marshal.loads(handle.read()[16:]).replace(co_name="innocent")
exec(code, {"__name__": "innocent"})
"""

FUNCTION_TYPE = """
import os, types
path = os.path.abspath("tuner.py")
code = compile(open(path).read(), path, "exec")
types.FunctionType(code, {"__name__": "innocent"})()
"""

LOAD_MODULE = """
import importlib.machinery, os, warnings
warnings.simplefilter("ignore", DeprecationWarning)
importlib.machinery.SourceFileLoader("innocent", os.path.abspath("tuner.py")).load_module()
"""

PKGUTIL_LOADER = """
import pkgutil, warnings
warnings.simplefilter("ignore", DeprecationWarning)
pkgutil.get_loader("tuner").load_module("tuner")
"""

BOOTSTRAP_LOAD = """
import importlib._bootstrap, importlib.machinery
importlib._bootstrap._load(importlib.machinery.PathFinder.find_spec("tuner"))
"""

MODULE_TYPE_EXEC = """
import os, types
module = types.ModuleType("innocent")
path = os.path.abspath("tuner.py")
exec(compile(open(path).read(), path, "exec"), module.__dict__)
"""

RUN_PATH = """
import os, runpy
runpy.run_path(os.path.abspath("tuner.py"))
"""

PICKLE_RUN_PATH = """
import os, pickle, runpy
class Payload:
    def __reduce__(self):
        return runpy.run_path, (os.path.abspath("tuner.py"),)
data = pickle.dumps(Payload())
pickle.loads(data)
"""

ZIPIMPORTER = """
import importlib.util, zipimport
spec = zipimport.zipimporter(archive).find_spec("zipped")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
"""

EXTENSION_RENAMED = EXTENSION_DIRECT.replace(
    'ExtensionFileLoader("_sqlite3"', 'ExtensionFileLoader("innocent._sqlite3"').replace(
    'spec_from_loader("_sqlite3"', 'spec_from_loader("innocent._sqlite3"')

IMPORTLIB_IMPORT = """
import importlib
importlib.__import__("tuner")
print("REACHED", flush=True)
"""

SAVED_IMPORT = """
saved_import("tuner")
print("REACHED", flush=True)
"""

OWN_BUILTINS = """
exec("import tuner\\nprint('REACHED', flush=True)", {"__builtins__": saved_builtins})
"""

SYS_MODULES_ALIAS = """
sys.modules["innocent"] = sys.modules["tuner"]
import innocent
print("REACHED", flush=True)
"""

CHILD_WITHOUT_POLICY = """
import os, subprocess, sys
del os.environ["IMPORTWALL_POLICY"]
subprocess.run([sys.executable, "-c", "import training"])
"""

def twins(name: str, code: str, strict: str = "blocked", **options: Any) -> list[Vector]:
    """A vector in plain enforce, where no finder is asked (``not covered``), and under
    strict mode, where it is ``strict``."""
    return [Vector(name, "not covered", code, **options),
            Vector(name, strict, code, strict=True, **options)]


SAVE_BUILTINS = ("import builtins, tuner\nsaved_import = builtins.__import__\n"
                 "saved_builtins = dict(vars(builtins))")

VECTORS = [
    Vector("import statement", "blocked", "import training"),
    Vector("from x import y", "blocked", "from training import helper"),
    Vector("from package import submodule", "blocked", "from training import sub"),
    Vector("__import__", "blocked", "__import__('training')"),
    Vector("importlib.import_module", "blocked",
           "import importlib; importlib.import_module('training')"),
    Vector("importlib.util.find_spec probe", "inert",
           "import importlib.util; print('SPEC', importlib.util.find_spec('training') is not None)",
           extra={"stdout": "SPEC True"}),
    Vector("runpy.run_module", "blocked", "import runpy; runpy.run_module('tuner')"),
    Vector("pkgutil.resolve_name", "blocked",
           "import pkgutil; pkgutil.resolve_name('training:helper')"),
    Vector("exec of import code", "blocked", "exec('import training')"),
    Vector("eval of __import__", "blocked", "eval(\"__import__('training')\")"),
    Vector("importlib.reload", "blocked", "import importlib; importlib.reload(tuner)",
           before="import tuner"),
    Vector("already in sys.modules before activation", "recorded", "tuner.VALUE",
           before="import tuner"),
    Vector("import statement naming a module loaded before activation", "blocked",
           "import tuner", before="import tuner"),
    Vector("relative import inside a denied package", "blocked", "training.load_sub()",
           before="import training"),
    Vector("attribute access to a submodule of an allowed parent", "not covered",
           "import servelib.loader\nimport servelib\nservelib.trainer.FIT"),
    Vector("PEP 562 module __getattr__", "blocked", "import lazypkg; lazypkg.trainer"),
    Vector("namespace package", "blocked", "import nsdenied.mod"),
    Vector("zipimport", "blocked", "import zipped", before=ZIP_SETUP),
    Vector("C extension module", "blocked", "import _sqlite3"),
    Vector("C extension loaded by ExtensionFileLoader", "not covered", EXTENSION_DIRECT),
    Vector("C extension loaded by ExtensionFileLoader", "blocked", EXTENSION_DIRECT,
           strict=True),
    Vector("C extension loaded under another name", "not covered", EXTENSION_RENAMED),
    Vector("C extension loaded under another name", "blocked", EXTENSION_RENAMED,
           strict=True),
    Vector("sys.path_hooks tampering", "blocked", PATH_HOOKS),
    Vector("threads importing concurrently", "blocked", THREADS,
           extra={"count": "8"}),
    # Outside what a meta-path finder can see; strict mode's audit hook covers them.
    Vector("spec_from_file_location + exec_module", "not covered", SPEC_FROM_FILE),
    Vector("spec_from_file_location + exec_module", "blocked", SPEC_FROM_FILE, strict=True),
    Vector("sys.modules direct insertion", "not covered", SYS_MODULES_INSERT),
    Vector("sys.modules direct insertion", "blocked", SYS_MODULES_INSERT, strict=True),
    Vector("find_spec + module_from_spec + exec_module", "not covered", FIND_SPEC_EXEC),
    Vector("find_spec + module_from_spec + exec_module", "blocked", FIND_SPEC_EXEC,
           strict=True),
    Vector("importlib.util.LazyLoader", "not covered", LAZY_LOADER),
    Vector("importlib.util.LazyLoader", "blocked", LAZY_LOADER, strict=True),
    Vector("sys.meta_path reordered", "not covered", META_PATH_REORDERED),
    Vector("sys.meta_path reordered", "blocked", META_PATH_REORDERED, strict=True),
    Vector("sys.meta_path cleared", "not covered", META_PATH_CLEARED),
    Vector("sys.meta_path cleared", "blocked", META_PATH_CLEARED, strict=True),
    # Strict mode failing open, or talked out of it; each with its plain-enforce twin.
    *twins("str subclass on sys.path whose methods raise", EVIL_SYS_PATH),
    *twins("current folder deleted with '' on sys.path", DELETED_CWD,
           before="import os\nHERE = os.getcwd()"),
    *twins("spec_from_file_location after its folder left sys.path", OFF_SYS_PATH),
    *twins("spec_from_file_location through a symlink", SYMLINKED_FILE),
    *twins("symlinked copy of a denied package under another name", SYMLINKED_PACKAGE),
    *twins("vendored copy of a denied package under another name", VENDORED_COPY,
           strict="not covered"),
    *twins("Firewall.find_spec patched on the instance", PATCHED_INSTANCE),
    *twins("Firewall.find_spec patched on the class", PATCHED_CLASS),
    *twins("busy flags set from outside", BUSY_FLAGS),
    Vector("firewall.mode and what its sinks hold weakened", "recorded", WEAKENED_STATE),
    Vector("firewall.mode and what its sinks hold weakened", "blocked", WEAKENED_STATE,
           strict=True),
    *twins("activate() of a policy that denies nothing", WEAKER_ACTIVATE),
    *twins("importwall.deactivate()", DEACTIVATED),
    *twins("marshal.loads of a .pyc with co_name changed", MARSHALLED),
    *twins("types.FunctionType of module code", FUNCTION_TYPE),
    # Loaders driven by hand: no finder is asked.
    *twins("SourceFileLoader.load_module", LOAD_MODULE),
    *twins("pkgutil.get_loader().load_module", PKGUTIL_LOADER, max_python=(3, 13)),
    *twins("PathFinder.find_spec + _bootstrap._load", BOOTSTRAP_LOAD),
    *twins("ModuleType + exec(compile(source, path))", MODULE_TYPE_EXEC),
    *twins("runpy.run_path", RUN_PATH),
    *twins("runpy.run_path in a pickle's __reduce__", PICKLE_RUN_PATH),
    *twins("zipimporter.find_spec + exec_module", ZIPIMPORTER, before=ZIP_SETUP),
    # A module already loaded, reached without the import statement the guard sees.
    # importlib.__import__ and import_module reach the import system through
    # importlib._bootstrap._gcd_import, which the guard wraps beside __import__.
    Vector("importlib.__import__ of a module loaded before activation", "blocked",
           IMPORTLIB_IMPORT, before="import tuner"),
    Vector("importlib.__import__ of a module loaded before activation", "blocked",
           IMPORTLIB_IMPORT, strict=True, before="import tuner"),
    Vector("importlib.import_module of a module loaded before activation", "blocked",
           "import importlib; importlib.import_module('tuner')", before="import tuner"),
    *twins("saved reference to the original __import__", SAVED_IMPORT, strict="not covered",
           before=SAVE_BUILTINS),
    *twins("exec with its own __builtins__", OWN_BUILTINS, strict="not covered",
           before=SAVE_BUILTINS),
    *twins("sys.modules alias of a loaded module", SYS_MODULES_ALIAS, strict="not covered",
           before="import tuner"),
    # Other processes: activation travels in the environment (importwall run).
    Vector("multiprocessing spawn", "blocked", MULTIPROCESSING.format(method="spawn"),
           route="run"),
    Vector("multiprocessing forkserver", "blocked",
           MULTIPROCESSING.format(method="forkserver"), route="run"),
    Vector("multiprocessing fork", "blocked", MULTIPROCESSING.format(method="fork"),
           route="run"),
    Vector("multiprocessing spawn after importwall.activate()", "not covered",
           MULTIPROCESSING.format(method="spawn")),
    Vector("subprocess grandchild", "blocked", GRANDCHILD, route="run"),
    Vector("os.execv of python", "blocked", EXECV, route="run"),
    *twins("child started after IMPORTWALL_POLICY left os.environ", CHILD_WITHOUT_POLICY,
           strict="not covered", route="run"),
    Vector("python -m denied_module", "blocked", "", route="run", argv=("-m", "tuner")),
    Vector("python -m denied_package", "blocked", "", route="run", argv=("-m", "training")),
    Vector("Python 3.15 lazy import", "blocked", "lazy import training\ntraining.helper",
           min_python=(3, 15)),
]


@dataclass
class Observed:
    ran_before: bool
    ran_after: bool
    blocked: int
    findings: list[str]
    result: Result
    reached: bool = False

    @property
    def outcome(self) -> str:
        if self.reached and not self.blocked:
            return "not covered"
        if self.ran_after:
            return "recorded" if self.findings else "not covered"
        if self.blocked:
            return "blocked"
        if self.ran_before and self.findings:
            return "recorded"
        return "inert" if not self.findings else "recorded"


def in_process_program(vector: Vector) -> str:
    return "\n".join([
        "import importwall, json, sys",
        vector.before,
        "firewall = importwall.activate('policy.toml', mode='enforce')",
        "print('ACTIVE', flush=True)",
        "try:",
        textwrap.indent(textwrap.dedent(vector.code).strip() or "pass", "    "),
        "except ImportError as error:",  # runpy wraps the firewall's error in its own
        "    cause = error.__cause__",
        "    blocked = error if isinstance(error, importwall.ForbiddenImportError) else cause",
        "    if not isinstance(blocked, importwall.ForbiddenImportError):",
        "        raise",
        "    print('BLOCKED', blocked.module, flush=True)",
        "subjects = sorted({f.subject for f in firewall.findings if f.kind == 'import'})",
        "print('FINDINGS', json.dumps(subjects), flush=True)",
    ])


def run_vector(project, vector: Vector) -> Observed:
    project.write(PACKAGES)
    project.policy(POLICY.format(strict="strict = true" if vector.strict else ""))
    if vector.route == "api":
        result = project.run(in_process_program(vector))
        before, _, after = result.stdout.partition("ACTIVE\n")
    else:
        command = vector.argv or ("-c", "print('ACTIVE', flush=True)\n"
                                  + textwrap.dedent(vector.code))
        result = project.run(["-m", "importwall", "run", "--policy", "policy.toml", "--",
                              sys.executable, *command])
        before, after = "", result.stdout
    findings: list[str] = []
    for line in result.stdout.splitlines():
        if line.startswith("FINDINGS "):
            findings = json.loads(line.split(" ", 1)[1])
    blocked = result.stdout.count("BLOCKED ") + ("ForbiddenImportError: importwall:"
                                                 in result.stderr)
    return Observed(RAN in before, RAN in after, blocked, findings, result,
                    REACHED in after)


def _marks(vector: Vector) -> list[pytest.MarkDecorator]:
    marks = []
    if sys.version_info < vector.min_python:
        version = ".".join(map(str, vector.min_python))
        marks.append(pytest.mark.skip(reason=f"needs Python {version}+"))
    if sys.version_info[:2] > vector.max_python:
        version = ".".join(map(str, vector.max_python))
        marks.append(pytest.mark.skip(reason=f"the API is gone after Python {version}"))
    return marks


@pytest.mark.parametrize(
    "vector", [pytest.param(v, id=v.id, marks=_marks(v)) for v in VECTORS])
def test_bypass_vector(project, vector: Vector) -> None:
    observed = run_vector(project, vector)
    detail = f"{vector.id}: {observed}\n{observed.result.output}"
    assert observed.outcome == vector.expected, detail
    if "stdout" in vector.extra:
        assert vector.extra["stdout"] in observed.result.stdout, detail
    if "count" in vector.extra:
        assert observed.blocked == int(vector.extra["count"]), detail
    if vector.expected == "blocked":
        assert observed.result.returncode == 0 or vector.route == "run", detail


def test_docs_table_lists_every_vector() -> None:
    table = (REPO / "docs" / "bypasses.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().strip("`"): line for line in table.splitlines()
            if line.startswith("| ") and not line.startswith("| Vector")}
    for vector in VECTORS:
        row = rows.get(vector.id)
        assert row is not None, f"docs/bypasses.md has no row for {vector.id!r}"
        assert f"| {vector.expected} |" in row, (vector.id, row)
