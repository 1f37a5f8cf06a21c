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
