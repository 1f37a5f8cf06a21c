"""The shape the shipped packs rely on: a library loads its own denied module through an
importer-aware exception, and first-party code must still be stopped, whatever the form of
its import statement (``importwall.runtime._importlib_bootstrap_guard`` sees the imports Python
answers from ``sys.modules``); and availability probes (``importlib.util.find_spec``) never raise.
Every case runs in a fresh interpreter.
"""

from __future__ import annotations

import textwrap

import pytest

LIBRARY = {
    # A library that imports its own training module when it loads (like sklearn, torch).
    "lib/__init__.py": """
        from lib import training
        from lib.model import predict
    """,
    "lib/model.py": """
        def predict(x):
            from lib.training import fitted  # a cache hit made by the library itself
            return x * fitted()
    """,
    "lib/training/__init__.py": """
        def fitted():
            return 2
    """,
    "lib/training/split.py": "",
    "app.py": """
        import lib

        def serve(x):
            return lib.predict(x)

        def handler():
            from lib.training import fitted
            return fitted()
    """,
}

POLICY = """
    version = 1
    [imports]
    deny = [{ module = "lib.training", reason = "training-only" }]

    [[imports.exceptions]]
    module = "lib.training"
    importer = "lib"
    reason = "lib imports it when it loads"
"""

ACTIVATE = """
import sys, importwall
firewall = importwall.activate("policy.toml", mode=sys.argv[1] if len(sys.argv) > 1 else None)
"""


def program(body: str, mode: str = "enforce") -> list[str]:
    """``-c`` arguments: activate the firewall from policy.toml in ``mode``, then ``body``."""
    return ["-c", ACTIVATE + textwrap.dedent(body), mode]


@pytest.fixture
def library(project):
    project.write(LIBRARY)
    project.policy(POLICY)
    return project


def test_first_party_import_of_a_module_the_library_loaded_is_blocked(library) -> None:
    result = library.run(program("""
        import app
        assert app.serve(3) == 6                 # the library's own cache hit is allowed
        assert "lib.training" in sys.modules
        try:
            app.handler()
        except ModuleNotFoundError as error:
            assert isinstance(error, importwall.ForbiddenImportError)
            assert error.module == "lib.training" and error.importer == "app"
            site = error.chain[-1]
            print("blocked", site.module, site.file.endswith("app.py"), site.line,
                  site.function)
        else:
            raise SystemExit("not blocked")
    """))
    assert result.returncode == 0, result.output
    assert "blocked app True 7 handler" in result.stdout


@pytest.mark.parametrize("statement", [
    "import lib.training",
    "import lib.training.split",
    "from lib import training",
    "from lib.training import fitted",
    "from lib.training.split import __name__ as name",
])
def test_every_form_of_import_statement_is_seen(library, statement: str) -> None:
    result = library.run(program(f"""
        import lib
        exec("import lib.training.split", {{"__name__": "lib.model"}})  # loaded library-side
        try:
            exec({statement!r}, {{"__name__": "firstparty"}})
        except importwall.ForbiddenImportError as error:
            print("blocked", error.importer)
    """))
    assert result.returncode == 0, result.output
    assert "blocked firstparty" in result.stdout


def test_warn_mode_lets_the_cached_import_through_and_records_it(library) -> None:
    result = library.run(program("""
        import warnings
        warnings.simplefilter("ignore")
        import app
        assert app.handler() == 2
        print([(f.action, f.subject, f.importer) for f in firewall.findings])
    """, mode="warn"))
    assert result.returncode == 0, result.output
    assert "[('warned', 'lib.training', 'app')]" in result.stdout


def test_availability_probes_are_neither_blocked_nor_recorded(project) -> None:
    project.write({"optional_dep/__init__.py": ""})
    project.policy('version = 1\n[imports]\ndeny = ["optional_dep", "absent_dep"]\n')
    result = project.run("""
        import importlib.util, importwall
        firewall = importwall.activate("policy.toml", mode="enforce")
        print(importlib.util.find_spec("optional_dep") is not None,
              importlib.util.find_spec("absent_dep") is None, len(firewall.findings))
        try:
            import optional_dep
        except importwall.ForbiddenImportError:
            print("import blocked", len(firewall.findings))
    """)
    assert result.returncode == 0, result.output
    assert result.stdout.split("\n")[:2] == ["True True 0", "import blocked 1"]


def test_library_import_time_warnings_still_point_at_the_importer(project) -> None:
    # Once the guard wraps __import__, a library's `warnings.warn(..., stacklevel=2)` at
    # import time must still name the line that imported the library, not the wrapper.
    project.write({
        "tuner.py": "",
        "noisy.py": "import warnings\nwarnings.warn('old API', DeprecationWarning, "
                    "stacklevel=2)\n",
        "user.py": "x = 1\nimport noisy\n",
        "policy.toml": 'version = 1\n[imports]\ndeny = ["tuner"]\n',
    })
    result = project.run("""
import tuner  # loaded before activation: the guard watches it
import importwall, warnings
warnings.simplefilter("always")
fw = importwall.activate("policy.toml", mode="audit")
import builtins
print("guard installed:", builtins.__import__.__module__)
import user
""")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "guard installed: importwall.runtime._importlib_bootstrap_guard"
    assert f"{project.root / 'user.py'}:2: DeprecationWarning: old API" in result.stderr
    assert "_importlib_bootstrap_guard" not in result.stderr


GUARDED = {
    "tuner.py": "",
    "lazy.py": "import tuner  # made by a module that audit/warn let load\n",
    "policy.toml": 'version = 1\n[imports]\ndeny = ["tuner", "lazy"]\n',
}
GUARDED_PROGRAM = """
import sys, warnings
import tuner  # loaded before activation: the guard watches it
import importwall
warnings.simplefilter("always")
fw = importwall.activate("policy.toml", mode=sys.argv[1])
import lazy

def handler():
    import tuner

for _ in range(3):
    try:
        handler()
    except importwall.ForbiddenImportError:
        print("blocked")
print(sorted((f.action, f.subject, f.importer or "") for f in fw.findings))
"""


@pytest.mark.parametrize("mode", ["audit", "warn"])
def test_a_site_is_recorded_once_and_let_through_modules_imports_not_at_all(project,
                                                                            mode) -> None:
    # The guard's fast paths (a let-through importer, a site already recorded) must record
    # exactly what the full judgement does: lazy's own `import tuner` nothing, handler's
    # lazy import one finding (and one warning) however often it runs.
    project.write(GUARDED)
    result = project.run(["-c", GUARDED_PROGRAM, mode])
    assert result.returncode == 0, result.output
    action = {"audit": "recorded", "warn": "warned"}[mode]
    assert result.stdout.strip().splitlines()[-1] == str(sorted([
        ("preloaded", "tuner", ""), (action, "lazy", "__main__"),
        (action, "tuner", "__main__")]))
    assert result.stderr.count("ImportWallWarning") == (2 if mode == "warn" else 0)


def test_enforce_mode_blocks_a_repeated_site_every_time(project) -> None:
    project.write(GUARDED)
    project.write({"lazy.py": ""})
    project.policy('version = 1\n[imports]\ndeny = ["tuner"]\n')
    result = project.run(["-c", GUARDED_PROGRAM, "enforce"])
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines()[:4] == ["blocked"] * 3 + [
        "[('blocked', 'tuner', '__main__'), ('preloaded', 'tuner', '')]"]


def test_the_import_system_reading_a_source_file_is_not_an_import(project) -> None:
    # io.open_code imports `_io` from C each time the import system reads a module's file;
    # no import statement names it, so a fresh source import must not be judged for it.
    project.write({"plain.py": "VALUE = 1\n",
                   "policy.toml": 'version = 1\n[imports]\ndeny = ["_io"]\n'})
    result = project.run("""
import sys, importwall
fw = importwall.activate("policy.toml", mode="enforce")
import plain
print("loaded", plain.VALUE)
try:
    import _io
except importwall.ForbiddenImportError as error:
    print("blocked", error.importer)
print(sorted(f.code for f in fw.findings))
""")
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines() == [
        "loaded 1", "blocked __main__", "['import-blocked', 'import-preloaded']"]
