"""The tree is the architecture: the import-linter contracts in pyproject.toml hold the
layers; these tests hold what the contracts cannot say."""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from pathlib import Path

import grimp
import pytest
from helpers import REPO

import importwall
import importwall.errors
from importwall.policy import load_policy, pack_names, packs_dir
from importwall.policy.schema import CHECK_SECTIONS, SCHEMA
from importwall.policy.sections import SECTION_TYPES


def _every_module() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(importwall.__path__, "importwall."):
        if info.name == "importwall.__main__":
            continue  # running it is `python -m importwall`
        names.append(info.name)
    return names


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_inside_the_package_type_checking_imports_included() -> None:
    assert _cycles(grimp.build_graph("importwall")) == []


def test_every_coded_error_is_defined_in_errors_py_and_documented() -> None:
    for name in _every_module():
        importlib.import_module(name)
    coded: list[type[importwall.ImportWallError]] = []
    pending: list[type[importwall.ImportWallError]] = [importwall.ImportWallError]
    while pending:
        cls = pending.pop()
        coded.append(cls)
        pending.extend(cls.__subclasses__())
    outside = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in coded
                     if cls.__module__ != "importwall.errors")
    assert outside == [], "error classes belong in importwall/errors.py"
    anchors = set(re.findall(r"^## ([a-z-]+)$", (REPO / "docs/errors.md").read_text(),
                             re.MULTILINE))
    codes = {cls.code for cls in coded}
    assert codes - anchors == set(), "each code needs its `## code` section in docs/errors.md"
    assert anchors - codes == set(), "docs/errors.md documents a code no error has"


@pytest.mark.parametrize("name", CHECK_SECTIONS)
def test_each_typed_section_has_exactly_the_schema_keys(name: str) -> None:
    assert set(SECTION_TYPES[name].__annotations__) == set(SCHEMA[name])


def test_the_packs_live_at_the_top_of_the_project_and_load_from_the_source_tree() -> None:
    assert not (REPO / "importwall" / "policies").exists()
    assert Path(importwall.__file__).is_relative_to(REPO)  # the editable install
    assert Path(packs_dir()) == REPO / "policies"
    shipped = sorted(path.stem for path in (REPO / "policies").glob("*.toml"))
    assert pack_names() == shipped and shipped
    for name in shipped:
        assert load_policy(name).path == str(REPO / "policies" / f"{name}.toml")


def test_the_version_is_written_once() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert not re.search(r'^version = "', pyproject, re.MULTILINE)
    from importwall._version import __version__

    assert importwall.__version__ == __version__


def test_the_start_up_hook_imports_nothing_of_the_cli_report_or_static_layers() -> None:
    # What the contracts say for imports in the code, checked on a real start-up.
    import subprocess

    from helpers import clean_env

    program = ("import sys, importwall, importwall._bootstrap as b; b.startup(); "
               "assert importwall.active() is not None; "
               "print(sorted(m for m in sys.modules if m.startswith(('importwall.cli', "
               "'importwall.report', 'importwall.static', 'importwall.envcheck', "
               "'importwall.audit', 'importwall.inject', 'rich', 'psutil', "
               "'importlib_metadata'))))")
    env = clean_env({"IMPORTWALL_POLICY": "serving-base"})
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stderr
