"""``importwall scan``: static reachability from serving entry points to denied modules."""

from __future__ import annotations

import ast
import json
import marshal
import os
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import run_python

from importwall.errors import ScanError
from importwall.policy import load_policy
from importwall.static.importsites import CACHE_FORMAT, SiteCache, parse_imports
from importwall.static.scan import Scanner

SERVICE = {
    "serve.py": """
        from svc.app import handle
        print("started")
    """,
    "svc/__init__.py": "",
    "svc/app.py": """
        from typing import TYPE_CHECKING

        from . import model
        from .util import helpers

        if TYPE_CHECKING:
            import optuna
            from svc.training import tune as _tune_type
        else:
            import json


        def handle(payload):
            if payload.get("tune"):
                from .training import tune
                return tune(payload)
            return model.predict(payload)
    """,
    "svc/model.py": """
        def predict(payload):
            return 1
    """,
    "svc/util/__init__.py": "",
    "svc/util/helpers.py": """
        from ..metrics import summarize
    """,
    "svc/metrics.py": """
        def summarize(values):
            import matplotlib.pyplot
            return sum(values)
    """,
    "svc/training.py": """
        def tune(payload):
            return 0
    """,
}

POLICY = """
    version = 1
    mode = "enforce"

    [imports]
    deny = [
        { module = "svc.training", reason = "training code stays out of the server" },
        "optuna",
        "matplotlib",
    ]
"""


@pytest.fixture
def service(project):
    project.write(SERVICE)
    project.policy(POLICY)
    return project


def _scan(project, *entrypoints: str, **options) -> list:
    scanner = Scanner(load_policy(project.root / "policy.toml"), [str(project.root)],
                      **options)
    return scanner.scan(list(entrypoints)).findings


def test_a_lazy_training_import_is_found_by_scan_but_not_by_a_startup_run(service):
    root = service.root
    startup = run_python(["-m", "importwall", "run", "--policy", "policy.toml", "--",
                          sys.executable, "serve.py"], cwd=root, pythonpath=[root])
    assert startup.returncode == 0, startup.output
    assert "started" in startup.stdout
    assert "svc.training" not in startup.output

    # The same firewall blocks it as soon as a request takes the lazy branch.
    request = run_python(["-m", "importwall", "run", "--policy", "policy.toml", "--",
                          sys.executable, "-c",
                          "from svc.app import handle; handle({'tune': True})"],
                         cwd=root, pythonpath=[root])
    assert request.returncode != 0
    assert "svc.training" in request.stderr

    findings = _scan(service, str(root / "serve.py"))
    training = [f for f in findings if f.subject == "svc.training"]
    assert len(training) == 1
    finding = training[0]
    assert finding.kind == "scan" and finding.code == "scan-forbidden-import"
    assert finding.reason == "training code stays out of the server"
    assert finding.source.endswith("policy.toml:6")
    assert finding.details["lazy"] is True
    assert [(f.module, Path(f.file).name, f.line, f.function) for f in finding.chain] == [
        ("serve", "serve.py", 1, None),
        ("svc.app", "app.py", 15, "handle"),
    ]
    assert "inside handle()" in finding.message


def test_type_checking_blocks_are_skipped_but_their_else_branch_is_not(service):
    findings = _scan(service, "svc.app")
    subjects = {f.subject for f in findings}
    assert "optuna" not in subjects
    assert [f.chain[-1].line for f in findings if f.subject == "svc.training"] == [15]
    sites = parse_imports((service.root / "svc/app.py").read_bytes(), "app.py")
    assert "json" in {site.module for site in sites}


def test_relative_imports_are_resolved_through_packages(service):
    findings = _scan(service, "svc.app")
    plotting = [f for f in findings if f.subject == "matplotlib"]
    assert len(plotting) == 1
    chain = [(f.module, f.line, f.function) for f in plotting[0].chain]
    assert chain == [("svc.app", 4, None), ("svc.util.helpers", 1, None),
                     ("svc.metrics", 2, "summarize")]
    # matplotlib is not installed: the policy still decides it, by name.
    assert plotting[0].details["installed"] is False


def test_an_importer_exception_allows_the_import_there_only(project):
    project.write({
        "svc/__init__.py": "",
        "svc/admin.py": "from svc import training\n",
        "svc/api.py": "import svc.admin\nimport svc.training\n",
        "svc/training.py": "",
    })
    project.policy("""
        version = 1
        [imports]
        deny = ["svc.training"]
        [[imports.exceptions]]
        module = "svc.training"
        importer = "svc.admin"
    """)
    findings = _scan(project, "svc.api")
    assert [(f.importer, f.chain[-1].line) for f in findings] == [("svc.api", 2)]


def test_dynamic_imports_with_literal_names_are_followed(project):
    project.write({
        "app.py": """
            import importlib

            def load():
                return importlib.import_module("optuna")
        """,
    })
    project.policy('version = 1\n[imports]\ndeny = ["optuna"]\n')
    findings = _scan(project, str(project.root / "app.py"))
    assert [(f.subject, f.chain[-1].function) for f in findings] == [("optuna", "load")]


def test_third_party_code_is_followed_only_when_asked(project):
    site = project.root / "env" / "lib" / "site-packages"
    project.write({
        "env/lib/site-packages/vendorlib/__init__.py": "from vendorlib import tuning\n",
        "env/lib/site-packages/vendorlib/tuning.py": "import optuna\n",
        "app.py": "import vendorlib\n",
    })
    project.policy('version = 1\n[imports]\ndeny = ["optuna"]\n')
    policy = load_policy(project.root / "policy.toml")
    path = [str(project.root), str(site)]
    assert Scanner(policy, path).scan(["app"]).findings == []
    found = Scanner(policy, path, follow_third_party=True).scan(["app"]).findings
    assert [[frame.module for frame in f.chain] for f in found] == [
        ["app", "vendorlib", "vendorlib.tuning"]]


def test_a_second_scan_reuses_the_cache_until_a_file_changes(service, tmp_path):
    cache_dir = str(tmp_path / "cache")
    policy = load_policy(service.root / "policy.toml")

    def scan():
        return Scanner(policy, [str(service.root)], cache_dir=cache_dir).scan(["svc.app"])

    first = scan()
    assert first.parsed == first.modules > 3 and first.reused == 0
    second = scan()
    assert (second.parsed, second.reused) == (0, first.modules)
    assert [f.to_dict()["chain"] for f in second.findings] == \
        [f.to_dict()["chain"] for f in first.findings]

    # A touched but unchanged file is recognized by its hash, not parsed again.
    metrics = service.root / "svc" / "metrics.py"
    stat = metrics.stat()
    os.utime(metrics, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert scan().parsed == 0

    metrics.write_text("def summarize(values):\n    return sum(values)\n")
    third = scan()
    assert third.parsed == 1
    assert "matplotlib" not in {f.subject for f in third.findings}


def test_a_corrupt_cache_is_ignored(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("import os\n")
    cache_path = tmp_path / "cache.marshal"
    cache_path.write_bytes(b"{not marshal\xff")
    cache = SiteCache(str(cache_path))
    assert [site.module for site in cache.sites(str(source))] == ["os"]
    cache.save()
    assert marshal.loads(cache_path.read_bytes())["format"] == CACHE_FORMAT


def test_a_cache_others_may_write_is_ignored(tmp_path):
    # The parse cache decides what the scan sees: one that another user could have edited
    # (to hide an import) is not read.
    source = tmp_path / "mod.py"
    source.write_text("import optuna\n")
    cache_path = tmp_path / "cache.marshal"
    cache = SiteCache(str(cache_path))
    cache.sites(str(source))
    cache.save()
    data = marshal.loads(cache_path.read_bytes())
    data["files"][str(source)]["sites"] = []  # "this file imports nothing"
    cache_path.write_bytes(marshal.dumps(data))
    assert SiteCache(str(cache_path)).sites(str(source)) == []  # our own file: trusted
    cache_path.chmod(0o666)
    assert [site.module for site in SiteCache(str(cache_path)).sites(str(source))] == ["optuna"]


def test_a_file_that_does_not_parse_is_a_warning_not_a_crash(project):
    project.write({"app.py": "import broken\n", "broken.py": "def (:\n"})
    project.policy('version = 1\n[imports]\ndeny = ["optuna"]\n')
    findings = _scan(project, "app")
    assert [(f.code, f.severity, f.subject) for f in findings] == [
        ("scan-syntax-error", "warning", "broken")]


def test_an_unknown_entry_point_is_a_clear_error(service):
    with pytest.raises(ScanError, match=r"cannot find module 'svc\.nothing'"):
        _scan(service, "svc.nothing")
    with pytest.raises(ScanError, match="no such file"):
        _scan(service, "svc/nothing.py")


def test_the_command_prints_chains_and_json(service):
    root = service.root
    text = run_python(["-m", "importwall", "scan", "serve.py", "--policy", "policy.toml",
                       "--no-cache"], cwd=root, pythonpath=[root])
    assert text.returncode == 1, text.output
    assert "svc.app  (svc/app.py:15, in handle())" in text.stdout
    assert "2 errors, 0 warnings" in text.stdout
    assert "scanned 7 module(s) from serve (7 parsed, 0 from cache)" in text.stderr

    as_json = run_python(["-m", "importwall", "scan", "svc.app", "--policy", "policy.toml",
                          "--format", "json", "--cache-dir", str(root / ".cache")],
                         cwd=root, pythonpath=[root])
    assert as_json.returncode == 1, as_json.output
    data = json.loads(as_json.stdout)
    findings = data["findings"]
    assert sorted(f["subject"] for f in findings) == ["matplotlib", "svc.training"]
    assert all(f["kind"] == "scan" for f in findings)
    assert list((root / ".cache").glob("scan-*.marshal"))

    missing = run_python(["-m", "importwall", "scan", "svc.nothing", "--policy",
                          "policy.toml"], cwd=root, pythonpath=[root])
    assert missing.returncode == 2
    assert "cannot find module 'svc.nothing'" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_damaged_cache_entry_is_parsed_again(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("import os\n")
    cache_path = tmp_path / "cache.marshal"
    cache = SiteCache(str(cache_path))
    cache.sites(str(source))
    cache.save()
    data = marshal.loads(cache_path.read_bytes())
    data["files"][str(source)]["sites"] = [["not", "a", "site", None, None, None]]
    cache_path.write_bytes(marshal.dumps(data))
    again = SiteCache(str(cache_path))
    assert [site.module for site in again.sites(str(source))] == ["os"]
    assert (again.stats.parsed, again.stats.reused) == (1, 0)


def test_the_progress_bar_appears_only_for_a_large_tree():
    from importwall.cli.commands import scan as scan_module

    bar = scan_module._ProgressBar()
    bar(10, 50)
    assert bar._bar is None
    bar(10, scan_module._PROGRESS_THRESHOLD)
    try:
        assert bar._bar is not None
        assert bar._bar.console.stderr
    finally:
        bar.close()


def test_namespace_packages_are_followed_without_importing_anything(project):
    project.write({
        "pkg/__init__.py": "from pkg.plugins import extra\n",
        "pkg/plugins/extra.py": "from nsroot import tuning\n",  # pkg.plugins: no __init__
        "a/nsroot/serving.py": "",
        "b/nsroot/tuning.py": "import optuna\n",  # nsroot spans two folders
    })
    project.policy('version = 1\n[imports]\ndeny = ["optuna"]\n')
    policy = load_policy(project.root / "policy.toml")
    path = [str(project.root), str(project.root / "a"), str(project.root / "b")]
    scanner = Scanner(policy, path, first_party=[str(project.root)])
    findings = scanner.scan(["pkg"]).findings
    assert [[frame.module for frame in f.chain] for f in findings] == [
        ["pkg", "pkg.plugins.extra", "nsroot.tuning"]]
    assert "pkg" not in sys.modules and "nsroot" not in sys.modules


def test_a_real_installed_package_is_followed_with_follow_third_party(project):
    """rich (an importwall dependency) imports pygments at module level in rich.syntax."""
    pytest.importorskip("rich")
    project.write({"app.py": "import rich.syntax\n"})
    project.policy('version = 1\n[imports]\ndeny = ["pygments"]\n')
    policy = load_policy(project.root / "policy.toml")
    path = [str(project.root), *sys.path]
    assert Scanner(policy, path).scan(["app"]).findings == []
    findings = Scanner(policy, path, follow_third_party=True).scan(["app"]).findings
    assert findings
    assert {f.importer for f in findings} >= {"rich.syntax"}
    direct = [f for f in findings if f.importer == "rich.syntax"]
    assert [frame.module for frame in direct[0].chain] == ["app", "rich.syntax"]
    assert all(Path(f.chain[-1].file).name == "syntax.py" for f in direct)


def test_every_entry_point_makes_its_own_folder_first_party(project):
    project.write({
        "one/svc_a.py": "import optuna\n",
        "two/svc_b.py": "def handler():\n    import optuna\n",
    })
    project.policy('version = 1\n[imports]\ndeny = ["optuna"]\n')
    policy = load_policy(project.root / "policy.toml")
    path = [str(project.root / "one"), str(project.root / "two")]
    findings = Scanner(policy, path).scan(["svc_a", "svc_b"]).findings
    assert sorted(str(f.importer) for f in findings) == ["svc_a", "svc_b"]


def test_a_relative_import_beyond_the_top_level_package_is_a_warning(project):
    project.write({
        "serve.py": "from .helpers import load\n",
        "pkg/__init__.py": "from .. import elsewhere\n",
    })
    project.policy('version = 1\n[imports]\ndeny = ["helpers"]\n')
    findings = _scan(project, "serve", "pkg")
    assert sorted((f.code, f.subject) for f in findings) == [
        ("scan-bad-relative-import", "pkg"), ("scan-bad-relative-import", "serve")]


def test_a_denied_package_hides_its_submodules_but_not_its_siblings(project):
    project.write({
        "app.py": "from lib import tuning, serving\nimport lib.tuning.deep\n",
        "lib/__init__.py": "",
        "lib/tuning/__init__.py": "",
        "lib/tuning/deep.py": "import optuna\n",
        "lib/serving.py": "import mlflow\n",
    })
    project.policy('version = 1\n[imports]\ndeny = ["lib.tuning", "mlflow", "optuna"]\n')
    findings = _scan(project, "app")
    assert sorted((f.subject, f.importer) for f in findings) == [
        ("lib.tuning", "app"), ("lib.tuning", "app"), ("mlflow", "lib.serving")]


def test_the_statement_walk_finds_what_a_full_visit_finds():
    # parse_imports walks statement lists only (unless a dynamic importer is named); every
    # place an import statement can stand must still be reached, with its function.
    from importwall.static.importsites import _Collector

    # ``except*`` is 3.11 syntax; on 3.10 the same try statement uses a plain ``except``
    star = "*" if sys.version_info >= (3, 11) else ""
    source = textwrap.dedent(f'''
        import a
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            import hidden
        elif a:
            import b
        else:
            from . import c
        try:
            import d
        except ImportError:
            import e
        else:
            import f
        finally:
            import g
        with open("x") as handle:
            import h
        for item in []:
            import i
        else:
            import j
        while False:
            import k
        match a:
            case 1:
                import l
        class Outer:
            import m
            def method(self):
                import n
                class Inner:
                    import o
                async def inner():
                    async with x:
                        import p
        def top():
            try:
                import q
            except{star} ValueError:
                import r
    ''').encode()
    collector = _Collector()
    collector.visit(ast.parse(source))
    expected = sorted(collector.sites, key=lambda site: site.line)
    assert parse_imports(source, "x.py") == expected
    assert {site.module: site.function for site in expected} == {
        "a": None, "typing": None, "b": None, "": None, "d": None, "e": None, "f": None,
        "g": None, "h": None, "i": None, "j": None, "k": None, "l": None, "m": None,
        "n": "Outer.method", "o": "Outer.method.Inner", "p": "Outer.method.inner",
        "q": "top", "r": "top"}
