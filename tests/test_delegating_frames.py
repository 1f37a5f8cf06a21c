"""The importer is the code that asked: frames that import on someone else's behalf (a
package's PEP 562 ``__getattr__``, lazy_loader, a module subclass like transformers'
``_LazyModule``, the unpickler, ``pkgutil``) are looked through, by the importer-aware
exception test and by the chain (``importwall.runtime.chain.DELEGATING_*``).

Each shape is a small local package in a fresh interpreter; ``test_real_lazy_libraries``
(slow) runs the same on scikit-learn and lazy_loader.
"""

from __future__ import annotations

import textwrap

import pytest

from importwall.runtime import chain

LIBRARIES = {
    # scikit-learn's shape: the package resolves submodules in __getattr__.
    "pep562/__init__.py": """\
        import importlib


        def __getattr__(name):
            if name == "training":
                return importlib.import_module(f"pep562.{name}")
            raise AttributeError(name)
        """,
    "pep562/training.py": "",
    "pep562/estimators.py": "from pep562 import training  # the library's own use\n",
    # lazy_loader's shape: attach() builds the __getattr__ in lazy_loader's own file.
    "lazy_loader/__init__.py": """\
        import importlib


        def attach(package_name, submodules):
            def __getattr__(name):
                if name in submodules:
                    return importlib.import_module(f"{package_name}.{name}")
                raise AttributeError(name)
            return __getattr__
        """,
    "lazypkg/__init__.py": """\
        import lazy_loader

        __getattr__ = lazy_loader.attach(__name__, ["training"])
        """,
    "lazypkg/training.py": "",
    # transformers' shape: the package is a ModuleType subclass.
    "lazymod/__init__.py": """\
        import importlib
        import sys
        import types


        class _LazyModule(types.ModuleType):
            def __getattr__(self, name):
                if name == "training":
                    value = self._get_module(name)
                    setattr(self, name, value)
                    return value
                raise AttributeError(name)

            def _get_module(self, module_name):
                return importlib.import_module("." + module_name, self.__name__)


        lazy = _LazyModule(__name__)
        lazy.__path__ = __path__
        sys.modules[__name__] = lazy
        """,
    "lazymod/training.py": "",
    # A class in a denied module, pickled; a library that walks its packages.
    "models/__init__.py": "",
    "models/training/__init__.py": "class Model:\n    pass\n",  # a package: walked
    "walker/__init__.py": "",
    "walker/discovery.py": """\
        import pkgutil


        def all_modules():
            import models
            return [m.name for m in pkgutil.walk_packages(models.__path__, "models.")]
        """,
}

POLICY = """\
version = 1
[imports]
deny = ["pep562.training", "lazypkg.training", "lazymod.training", "models.training"]

[[imports.exceptions]]
module = "pep562.training"
importer = "pep562.*"
[[imports.exceptions]]
module = "lazypkg.training"
importer = "lazypkg.*"
[[imports.exceptions]]
module = "lazymod.training"
importer = "lazymod.*"
[[imports.exceptions]]
module = "models.training"
importer = "walker.*"
[[imports.exceptions]]
module = "models.training"
importer = "app.loading"
reason = "the serving module that loads the model"
"""

PROGRAM = """\
import sys, pickle, importwall
fw = importwall.activate("policy.toml", mode=sys.argv[1])
{body}
for f in fw.findings:
    site = f.chain[-1]
    print("FINDING", f.subject, f.importer, site.module, site.line, site.function)
"""


def run(project, body: str, mode: str = "enforce"):
    project.write(LIBRARIES)
    project.policy(POLICY)
    project.write({"app/__init__.py": "", "app/main.py": textwrap.dedent(body)})
    result = project.run(["-c", PROGRAM.format(body="import app.main"), mode])
    assert result.returncode == 0, result.output
    return [line.split()[1:] for line in result.stdout.splitlines()
            if line.startswith("FINDING")]


@pytest.mark.parametrize("mode", ["enforce", "audit"])
@pytest.mark.parametrize(("package", "statement"), [
    ("pep562", "from pep562 import training"),
    ("pep562", "import pep562; pep562.training"),
    ("lazypkg", "from lazypkg import training"),
    ("lazypkg", "import lazypkg; lazypkg.training"),
    ("lazymod", "from lazymod import training"),
    ("lazymod", "import lazymod; lazymod.training"),
])
def test_a_lazy_attribute_is_charged_to_the_code_that_read_it(project, mode, package,
                                                             statement) -> None:
    findings = run(project, f"""\
        def handler():
            try:
                {statement}
            except ImportError:
                print("BLOCKED")


        handler()
        """, mode)
    # The library's exception does not open it: the importer is app.main, line 3.
    assert findings == [[f"{package}.training", "app.main", "app.main", "3", "handler"]]


def test_the_library_s_own_lazy_use_still_passes(project) -> None:
    assert run(project, "import pep562.estimators\n") == []


@pytest.mark.parametrize("loads", [
    "pickle.loads(blob)",                              # the C unpickler: no Python frame
    "pickle._Unpickler(io.BytesIO(blob)).load()",      # the pure-Python one (joblib's base)
])
def test_unpickling_is_charged_to_the_caller_of_the_loader(project, loads) -> None:
    project.write(LIBRARIES)
    blob = project.run(["-c", "import pickle, sys; from models.training import Model; "
                        "sys.stdout.write(pickle.dumps(Model(), 0).decode())"]).stdout
    project.write({"model.pkl": blob})
    body = f"""\
        import io
        import pickle

        blob = open("model.pkl", "rb").read()


        def load():
            return {loads}
        """
    # A module the exception names may load the model...
    project.write({"app/loading.py": textwrap.dedent(body)})
    assert run(project, "import app.loading\napp.loading.load()\n") == []
    # ...any other is the importer and is stopped, at its own line.
    findings = run(project, textwrap.dedent(body) + "\ntry:\n    load()\n"
                   "except ImportError:\n    pass\n")
    assert findings == [["models.training", "app.main", "app.main", "8", "load"]]


def test_a_package_walk_is_charged_to_the_walker(project) -> None:
    findings = run(project, """\
        import walker.discovery
        print(walker.discovery.all_modules())
        """)
    assert findings == []


def test_every_delegating_entry_gives_its_reason() -> None:
    tables = (chain.DELEGATING_FILES, chain.DELEGATING_SUFFIXES,
              chain.DELEGATING_FUNCTIONS)
    for table in tables:
        for where, reason in table.items():
            assert where and len(reason) > 20, where
