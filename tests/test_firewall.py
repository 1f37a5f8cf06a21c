"""The firewall in fresh interpreters: modes, import forms, chains, exceptions, threads."""

from __future__ import annotations

import pytest

POLICY = """\
version = 1

[imports]
deny = [
    { module = "trainlib.model_selection", reason = "data splitting is training-only" },
    { module = "tuner", reason = "tuning is training-only" },
]

[[imports.exceptions]]
module = "trainlib.model_selection"
importer = "trainlib.*"
reason = "trainlib's estimators import it internally"
"""

PACKAGES = {
    # A stand-in for a library like scikit-learn: its estimators import model_selection.
    "trainlib/__init__.py": "",
    "trainlib/model_selection.py": "def split(rows):\n    return rows[:1], rows[1:]\n",
    "trainlib/linear_model.py": """
        from trainlib.model_selection import split  # the library's own internal use

        def fit(rows):
            return split(rows)
        """,
    "tuner/__init__.py": "VERSION = 1\n",
    "app/__init__.py": "",
    "app/handlers.py": """
        import trainlib.linear_model


        def handle(rows):
            from trainlib.model_selection import split
            return split(rows)
        """,
    "serve.py": """
        import app.handlers

        app.handlers.handle([1, 2, 3])
        """,
}


@pytest.fixture
def service(project):
    project.write(PACKAGES)
    project.policy(POLICY)
    return project


def activate(mode: str = "enforce") -> str:
    return f"import importwall; fw = importwall.activate('policy.toml', mode={mode!r})\n"


def test_enforce_blocks_every_import_form(service) -> None:
    forms = {
        "import": "import tuner",
        "from": "from tuner import VERSION",
        "import_module": "import importlib; importlib.import_module('tuner')",
        "__import__": "__import__('tuner')",
        "submodule": "import trainlib.model_selection",
        "from-package": "from trainlib import model_selection",
    }
    for label, statement in forms.items():
        result = service.run(activate() + f"""
try:
    {statement}
except importwall.ForbiddenImportError as error:
    print("BLOCKED", error.module, error.rule)
else:
    print("ALLOWED")
""")
        assert result.returncode == 0, (label, result.output)
        assert result.stdout.split()[:2] == ["BLOCKED", "tuner" if "tuner" in statement
                                             else "trainlib.model_selection"], label


def test_chain_names_each_module_file_and_line_of_a_function_level_import(service) -> None:
    script = service.root / "serve.py"
    run_script = f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')"
    result = service.run(activate() + run_script)
    assert result.returncode == 1
    root = service.root
    assert "ForbiddenImportError: importwall: import of 'trainlib.model_selection' is forbidden" \
        in result.stderr
    assert "reason: data splitting is training-only" in result.stderr
    assert "imported by: app.handlers" in result.stderr
    message = result.stderr.split("import chain (outermost first):\n", 1)[1]
    chain_lines = [line.split() for line in message.split("\n  fix:")[0].splitlines()
                   if str(root) in line or "->" in line]
    assert chain_lines == [
        ["__main__", f"{root / 'serve.py'}:3"],
        ["app.handlers", f"{root / 'app' / 'handlers.py'}:5", "in", "handle()"],
        ["->", "trainlib.model_selection"],
    ]


def test_module_level_chain_lists_every_executing_module(service) -> None:
    service.write({"app/boot.py": "import app.models\n",
                   "app/models.py": "x = 1\ny = 2\nimport tuner\n"})
    result = service.run(activate() + """
try:
    import app.boot
except importwall.ForbiddenImportError as error:
    print(error.importer)
    for frame in error.chain:
        print(frame.module, frame.line, frame.function)
""")
    assert result.stdout.splitlines() == [
        "app.models", "__main__ 4 None", "app.boot 1 None", "app.models 3 None"]


def test_importer_exception_lets_the_library_in_but_not_first_party_code(service) -> None:
    result = service.run(activate() + """
import trainlib.linear_model
print("library import ok:", trainlib.linear_model.fit([1, 2]))
try:
    import app.handlers
    app.handlers.handle([1, 2])
except importwall.ForbiddenImportError as error:
    print("first-party blocked:", error.importer)
""")
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines() == [
        "library import ok: ([1], [2])", "first-party blocked: app.handlers"]


def test_optional_dependency_falls_back_as_if_absent(service) -> None:
    result = service.run(activate() + """
try:
    import tuner
except ImportError as error:
    tuner = None
    print(type(error).__name__, isinstance(error, ModuleNotFoundError), error.name)
print("fallback:", tuner)
print([f.action for f in fw.findings])
""")
    assert result.stdout.splitlines() == [
        "ForbiddenImportError True tuner", "fallback: None", "['blocked']"]


def test_blocked_error_runtime_is_not_swallowed_by_except_importerror(service) -> None:
    service.policy(POLICY.replace("[imports]\n", '[imports]\nblocked_error = "runtime"\n'))
    result = service.run(activate() + """
try:
    import tuner
except ImportError:
    print("swallowed")
except RuntimeError as error:
    print("loud:", type(error).__name__, error.module)
""")
    assert result.stdout.strip() == "loud: ForbiddenImportRuntimeError tuner"


def test_warn_mode_warns_at_the_import_line_and_lets_the_import_proceed(service) -> None:
    service.write({"app/lazy.py": "def go():\n    import tuner\n    return tuner.VERSION\n"})
    result = service.run(activate("warn") + "import app.lazy\nprint('value', app.lazy.go())")
    assert result.returncode == 0, result.output
    assert "value 1" in result.stdout
    assert (f"{service.root / 'app' / 'lazy.py'}:2: ImportWallWarning: import of 'tuner' "
            "warned by app.lazy: forbidden by rule deny 'tuner' (tuning is training-only)"
            ) in result.stderr


def test_audit_mode_is_silent_and_records(service) -> None:
    result = service.run(activate("audit") + """
import tuner, app.handlers
app.handlers.handle([1, 2])
for f in fw.findings:
    print(f.subject, f.action, f.severity, f.importer)
""")
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        "tuner recorded error __main__",
        "trainlib.model_selection recorded error app.handlers",
    ]


def test_modules_imported_before_activation_are_reported(service) -> None:
    result = service.run("import tuner\n" + activate() + """
for f in fw.findings:
    print(f.subject, f.action, f.severity)
""")
    assert result.stdout.splitlines() == ["tuner preloaded warning"]


def test_the_error_survives_pickling_across_processes(service) -> None:
    result = service.run(activate() + """
import pickle
try:
    import app.handlers
    app.handlers.handle([1])
except importwall.ForbiddenImportError as error:
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error) and str(clone) == str(error)
    print(clone.module, clone.importer, clone.rule, [f.module for f in clone.chain])
    print(isinstance(clone, ModuleNotFoundError), clone.name)
""")
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines() == [
        "trainlib.model_selection app.handlers deny 'trainlib.model_selection' "
        "['__main__', 'app.handlers']",
        "True trainlib.model_selection",
    ]


def test_threads_importing_concurrently_are_all_blocked_and_recorded(service) -> None:
    service.write({f"tuner{i}.py": f"VALUE = {i}\n" for i in range(16)})
    service.policy(POLICY.replace('"tuner"', '"tuner*"'))
    result = service.run(activate() + """
import threading, importlib
barrier = threading.Barrier(16)
outcomes = []
def worker(i):
    barrier.wait()
    try:
        importlib.import_module(f"tuner{i}")
        outcomes.append("allowed")
    except importwall.ForbiddenImportError:
        outcomes.append("blocked")
threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
for t in threads: t.start()
for t in threads: t.join()
print(sorted(set(outcomes)), len(outcomes), len(fw.findings))
""")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "['blocked'] 16 16"


def test_the_finder_does_not_recurse_into_itself(service) -> None:
    # A sink that imports a denied module while the firewall is handling another one.
    result = service.run(activate() + """
fw.add_sink(lambda finding: __import__('trainlib.model_selection'))
try:
    import tuner
except importwall.ForbiddenImportError:
    print("blocked tuner")
print([f.subject for f in fw.findings])
""")
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines() == ["blocked tuner", "['tuner']"]


def test_deactivate_stops_blocking_and_activate_replaces(service) -> None:
    result = service.run(activate() + """
import sys
importwall.activate('policy.toml', mode='audit')
print(sum(isinstance(f, importwall.Firewall) for f in sys.meta_path))
old = importwall.deactivate()
import tuner
print(old.mode, importwall.active(), tuner.VERSION)
""")
    assert result.stdout.split() == ["1", "audit", "None", "1"]


def test_mode_precedence_argument_then_environment_then_policy(service) -> None:
    service.policy(POLICY.replace("version = 1\n", 'version = 1\nmode = "audit"\n'))
    code = "import importwall; print(importwall.activate('policy.toml'{}).mode)"
    assert service.run(code.format("")).stdout.strip() == "audit"
    env = {"IMPORTWALL_MODE": "warn"}
    assert service.run(code.format(""), env=env).stdout.strip() == "warn"
    assert service.run(code.format(", mode='enforce'"), env=env).stdout.strip() == "enforce"
    bad = service.run(code.format(""), env={"IMPORTWALL_MODE": "block"})
    assert "IMPORTWALL_MODE is 'block'; use one of enforce, warn, audit" in bad.stderr


def test_audit_records_the_leak_not_every_submodule_it_drags_in(service) -> None:
    service.write({
        "tuner/__init__.py": "from tuner import samplers, pruners\n"
                             "import trainlib.model_selection\n",
        "tuner/samplers.py": "def sample():\n    from tuner import storage\n    return 1\n",
        "tuner/pruners.py": "",
        "tuner/storage.py": "",
        "app/search.py": "def run():\n    import tuner\n    return tuner.samplers.sample()\n",
    })
    result = service.run(activate("audit") + """
import app.search
app.search.run()
print([(f.subject, f.importer) for f in fw.findings])
""")
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "[('tuner', 'app.search')]"
    enforce = service.run(activate("enforce") + """
try:
    import tuner.pruners
except importwall.ForbiddenImportError as error:
    print("blocked", error.module)
""")
    assert enforce.stdout.strip() == "blocked tuner"


def test_warn_mode_survives_warnings_turned_into_errors(service) -> None:
    # python -W error (or pytest's filterwarnings = error) must not turn warn mode into a
    # crash: the warning goes to stderr and importwall's trouble is recorded.
    result = service.run(["-W", "error", "-c", activate("warn") + """
import tuner
print("imported", tuner.VERSION)
print(sorted(f.code for f in fw.findings))
"""])
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines() == ["imported 1", "['import-warned', 'internal-error']"]
    assert "ImportWallWarning: import of 'tuner' warned by __main__" in result.stderr


def test_submodules_below_a_package_no_rule_reaches_pass_and_deeper_rules_still_block(
        project) -> None:
    """The finder lets a module through with one set lookup when no rule reaches below its
    package; a package with a deeper rule (a glob segment, ``*.name``) is judged in full."""
    project.write({
        "svc/__init__.py": "", "svc/api/__init__.py": "", "svc/api/handlers.py": "",
        "svc/api/secret.py": "", "svc/util/__init__.py": "", "svc/util/text.py": "",
        "svc/util/conftest.py": "", "svc/util/secret.py": "", "svc/conftest.py": "",
    })
    project.policy('version = 1\n[imports]\n'
                   'deny = ["svc.*.secret", "*.conftest"]\n')
    result = project.run(activate() + """
import svc.api.handlers, svc.util.text
for name in ("svc.api.secret", "svc.util.secret", "svc.conftest", "svc.util.conftest"):
    try:
        __import__(name)
    except importwall.ForbiddenImportError as error:
        print("BLOCKED", error.module)
    else:
        print("ALLOWED", name)
matcher = fw.matcher
print(sorted(name for name in matcher.allowed_below if name.startswith("svc")))
""")
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines() == [
        "BLOCKED svc.api.secret", "BLOCKED svc.util.secret", "BLOCKED svc.conftest",
        "ALLOWED svc.util.conftest",
        # not svc, svc.api, svc.util: "svc.*.secret" reaches below each
        "['svc.api.handlers', 'svc.util.conftest', 'svc.util.text']"]
