"""Strict mode: the audit hook keeps enforcing when the meta-path finder is gone round.

Each test starts a fresh interpreter from the source tree, activates a strict (or, as a
control, a non-strict) policy, tampers with the import system, and reports what happened.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from importwall.runtime.propagate import STARTUP_DIR

SERVICE = {
    "svc/__init__.py": "",
    "svc/training.py": "print('TRAINING CODE RAN')\n",
    "svc/lib/__init__.py": "",
    "svc/lib/helpers.py": "import svc.training\n",
    "base.toml": """
        version = 1
        [imports]
        deny = [{ module = "svc.training", reason = "training only" }]
        exceptions = [{ module = "svc.training", importer = "svc.lib.*" }]
        """,
    "strict.toml": 'version = 1\nstrict = true\nextends = ["./base.toml"]\n',
}

PRELUDE = """
import importlib, importlib.util, sys
import importwall
from importwall.runtime.finder import Firewall

def attempt(label, action):
    try:
        action()
        print(label + ": imported")
    except ModuleNotFoundError as error:
        print(label + ": " + type(error).__name__)
    sys.modules.pop("svc.training", None)

def without_firewall():
    return [f for f in sys.meta_path if not isinstance(f, Firewall)]
"""

TAMPERING = {
    "meta_path.clear": "keep = without_firewall(); sys.meta_path.clear(); "
                       "sys.meta_path.extend(keep)",
    "meta_path reordered": "sys.meta_path.sort(key=lambda f: isinstance(f, Firewall))",
    "deactivate()": "importwall.deactivate()",
}

VECTORS = {
    "import statement": "import svc.training",
    "importlib.import_module": "importlib.import_module('svc.training')",
    "spec_from_file_location": (
        "spec = importlib.util.spec_from_file_location('renamed', 'svc/training.py'); "
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))"),
}


def _script(policy: str, mode: str, tamper: str, vector: str) -> str:
    return (PRELUDE + f"importwall.activate({policy!r}, mode={mode!r})\n{tamper}\n"
            f"def action():\n    {vector}\n"
            "attempt('result', action)\n")


@pytest.fixture
def service(project):
    project.write(SERVICE)
    return project


@pytest.mark.parametrize("vector", VECTORS)
@pytest.mark.parametrize("tamper", TAMPERING)
def test_strict_mode_blocks_after_tampering(service, tamper: str, vector: str) -> None:
    result = service.run(_script("strict.toml", "enforce", TAMPERING[tamper], VECTORS[vector]))
    assert result.stdout.splitlines() == ["result: ForbiddenImportError"], result.output


@pytest.mark.parametrize("tamper", ["meta_path.clear", "deactivate()"])
def test_without_strict_the_same_tampering_gets_through(service, tamper: str) -> None:
    result = service.run(_script("base.toml", "enforce", TAMPERING[tamper],
                                 VECTORS["import statement"]))
    assert result.stdout.splitlines()[-1] == "result: imported", result.output


def test_strict_mode_blocks_reloading_a_module_imported_before_activation(service) -> None:
    result = service.run(PRELUDE + """
import svc.training
importwall.activate("strict.toml")
attempt("reload", lambda: importlib.reload(sys.modules["svc.training"]))
""")
    assert result.stdout.splitlines()[-1] == "reload: ForbiddenImportError", result.output
    assert result.stdout.count("TRAINING CODE RAN") == 1


def test_strict_mode_keeps_importer_exceptions(service) -> None:
    result = service.run(PRELUDE + """
importwall.activate("strict.toml")
sys.meta_path[:] = without_firewall()
attempt("through the excepted importer", lambda: __import__("svc.lib.helpers"))
attempt("directly", lambda: __import__("svc.training"))
""")
    assert result.stdout.splitlines() == [
        "TRAINING CODE RAN", "through the excepted importer: imported",
        "directly: ForbiddenImportError"], result.output


def test_strict_mode_names_the_import_site(service) -> None:
    script = PRELUDE + """
importwall.activate("strict.toml")
sys.meta_path[:] = without_firewall()
try:
    import svc.training
except ImportError as error:
    print(error.importer, error.chain[-1].line)
"""
    line = script.splitlines().index("    import svc.training") + 1
    result = service.run(script)
    assert result.stdout.strip() == f"__main__ {line}", result.output


def test_strict_warn_mode_reports_each_module_once(service) -> None:
    result = service.run(PRELUDE + """
import warnings
warnings.simplefilter("ignore")
firewall = importwall.activate("strict.toml", mode="warn")
sys.meta_path.sort(key=lambda f: isinstance(f, Firewall))
import svc.training
importlib.reload(svc.training)
print([f.subject for f in firewall.findings])
""")
    assert result.stdout.splitlines()[-1] == "['svc.training']", result.output


def test_strict_mode_from_the_environment(service) -> None:
    result = service.run(
        ["-c", PRELUDE + "sys.meta_path[:] = without_firewall()\n"
                         "attempt('result', lambda: __import__('svc.training'))\n"],
        env={"IMPORTWALL_POLICY": "strict.toml"}, pythonpath=[Path(STARTUP_DIR), service.root])
    assert result.stdout.splitlines()[-1] == "result: ForbiddenImportError", result.output


# --------------------------------------------------------------------------- fail closed

BROKEN_SYS_PATH = """
class Broken(list):
    def __iter__(self):
        raise RuntimeError("a sys.path no one can read")
    def __len__(self):
        raise RuntimeError("a sys.path no one can read")
code = compile("print('DENIED FILE RAN')", os.path.abspath("svc/training.py"), "exec")
sys.path = Broken(sys.path)
try:
    exec(code, {"__name__": "renamed"})
    print("exec: ran")
except ModuleNotFoundError as error:
    print("exec:", type(error).__name__, error.rule)
"""


@pytest.mark.parametrize("mode", ["enforce", "warn", "audit"])
def test_an_exception_inside_the_strict_hook_fails_closed_in_enforce_only(
        service, mode: str) -> None:
    result = service.run(PRELUDE + f"""
import os, warnings
warnings.simplefilter("ignore")
firewall = importwall.activate("strict.toml", mode={mode!r})
""" + BROKEN_SYS_PATH + """
sys.path = list(sys.path.__class__.__mro__[1].__iter__(sys.path))
internal = [f.message for f in firewall.findings if f.code == "internal-error"]
print(len(internal), internal[0] if internal else "")
""")
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.output
    if mode == "enforce":
        assert lines[0] == "exec: ForbiddenImportError fail-closed", result.output
        assert "DENIED FILE RAN" not in result.stdout
    else:
        assert lines[:2] == ["DENIED FILE RAN", "exec: ran"], result.output
    count, message = lines[-1].split(" ", 1)
    assert int(count) == 1, result.output
    assert "RuntimeError: a sys.path no one can read" in message
    assert ("blocked: enforce mode fails closed" in message) == (mode == "enforce")


@pytest.mark.parametrize("mode", ["enforce", "warn"])
def test_an_exception_inside_the_finder_fails_closed_in_enforce_only(
        service, mode: str) -> None:
    """The finder's own judging entry points (not strict): a bug there blocks in enforce,
    and never breaks the host in warn."""
    result = service.run(PRELUDE + f"""
import warnings
warnings.simplefilter("ignore")
import importwall.runtime.chain as chain
firewall = importwall.activate("base.toml", mode={mode!r})
def broken(*args, **kwargs):
    raise LookupError("a bug in finding the importer")
chain.locate = broken
attempt("result", lambda: __import__("svc.training"))
print([f.code for f in firewall.findings])
""")
    assert result.returncode == 0, result.output
    lines = result.stdout.splitlines()
    if mode == "enforce":
        assert lines == ["result: ForbiddenImportError", "['internal-error']"], result.output
    else:
        assert lines == ["TRAINING CODE RAN", "result: imported", "['internal-error']"], \
            result.output


# --------------------------------------------------------------------------- cannot be weakened


def test_a_later_strict_activation_only_adds_rules_and_never_weakens_the_mode(
        service) -> None:
    service.write({"svc/tuning.py": "print('TUNING CODE RAN')\n",
                   "more.toml": 'version = 1\nstrict = true\n'
                                '[imports]\ndeny = ["svc.tuning"]\n'})
    result = service.run(PRELUDE + """
import warnings
warnings.simplefilter("ignore")
importwall.activate("strict.toml", mode="enforce")
later = importwall.activate("more.toml", mode="audit")
attempt("first policy's rule", lambda: __import__("svc.training"))
attempt("second policy's rule", lambda: __import__("svc.tuning"))
importwall.activate("strict.toml", mode="audit")
attempt("first policy again, in audit mode", lambda: __import__("svc.training"))
print(sorted(f.subject for f in later.findings if f.kind == "import"))
""")
    assert result.stdout.splitlines() == [
        "first policy's rule: ForbiddenImportError",
        "TUNING CODE RAN", "second policy's rule: imported",
        "first policy again, in audit mode: ForbiddenImportError",
        "['svc.tuning']"], result.output


def test_strict_warn_mode_still_reports_when_the_finder_is_talked_out_of_it(service) -> None:
    result = service.run(PRELUDE + """
import warnings
warnings.simplefilter("ignore")
firewall = importwall.activate("strict.toml", mode="warn")
firewall._busy.active = True
import svc.training
print([f.subject for f in firewall.findings if f.kind == "import"])
""")
    assert result.stdout.splitlines()[-1] == "['svc.training']", result.output


def test_patched_importwall_code_is_reported_once_in_warn_mode(service) -> None:
    result = service.run(PRELUDE + """
import warnings
warnings.simplefilter("ignore")
firewall = importwall.activate("strict.toml", mode="warn")
Firewall._judge = lambda *args, **kwargs: None
import json.tool, svc.training
print([f.code for f in firewall.findings])
""")
    assert result.returncode == 0, result.output
    codes = result.stdout.splitlines()[-1]
    assert codes.count("internal-error") == 1, result.output


def test_a_folder_put_on_sys_path_after_activation_is_located_too(service, tmp_path) -> None:
    """The denied package is only findable after strict mode started; once the hook has
    seen the folder on sys.path, taking it off again does not hide the file."""
    late = tmp_path / "late"
    (late / "latepkg").mkdir(parents=True)
    (late / "latepkg" / "__init__.py").write_text("print('LATE CODE RAN')\n")
    service.write({"late.toml": 'version = 1\nstrict = true\n'
                                '[imports]\ndeny = ["latepkg"]\n'})
    init = str(late / "latepkg" / "__init__.py")
    result = service.run(PRELUDE + f"""
importwall.activate("late.toml")
sys.path.append({str(late)!r})
import json.decoder  # any module executed: the hook sees the new folder
sys.path.remove({str(late)!r})
def load():
    spec = importlib.util.spec_from_file_location("renamed", {init!r})
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
attempt("by file", load)
""")
    assert result.stdout.splitlines() == ["by file: ForbiddenImportError"], result.output


def test_deny_distributions_files_are_known_by_where_they_are_installed(service,
                                                                        tmp_path) -> None:
    site = tmp_path / "site"
    (site / "fakemod").mkdir(parents=True)
    (site / "fakemod" / "__init__.py").write_text("print('DISTRIBUTION CODE RAN')\n")
    info = site / "fake_dist-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Name: fake-dist\nVersion: 1.0\n")
    (info / "RECORD").write_text("fakemod/__init__.py,,\nfake_dist-1.0.dist-info/RECORD,,\n")
    service.write({"dist.toml": 'version = 1\nstrict = true\n'
                                '[imports]\ndeny_distributions = ["fake-dist"]\n'})
    link = tmp_path / "elsewhere.py"
    link.symlink_to(site / "fakemod" / "__init__.py")
    result = service.run(PRELUDE + f"""
importwall.activate("dist.toml")
def load():
    spec = importlib.util.spec_from_file_location("innocent", {str(link)!r})
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
attempt("through a symlink", load)
""", pythonpath=[service.root, site])
    assert result.stdout.splitlines() == ["through a symlink: ForbiddenImportError"], \
        result.output
