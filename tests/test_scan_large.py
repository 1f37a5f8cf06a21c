"""``importwall scan`` on large files and large trees: a large file's import sites read from
the parts of it that can import (importsites._regions), and a large tree's files parsed in
worker processes, give the same answers as a whole-file parse in one process."""

from __future__ import annotations

import json
import os
import sys
import textwrap

import pytest
from helpers import run_python

from importwall.policy import load_policy
from importwall.static import importsites
from importwall.static.importsites import SiteCache, parse_imports
from importwall.static.scan import Scanner

FILLER = "".join(
    f"\n    def method_{i}(self, value):\n        '''Doc.\n\n        >>> import numpy\n"
    f"        '''\n        total = [v for v in value]\n        return total  # {i}\n"
    for i in range(60))
"""A class body's worth of methods without an import (a doctest's is not one)."""

LARGE = textwrap.dedent('''
    """A large module.

    Examples at column 0 and at a body's indentation are strings, not imports:

    import in_docstring
    def fake():
        import in_docstring_body
    """
    from __future__ import annotations

    import os
    from typing import TYPE_CHECKING

    if TYPE_CHECKING:
        import hidden

    TEMPLATE = \'\'\'
    import in_other_quotes
    """
    \'\'\'


    @decorator(
        "argument",
    )
    def small():
        import in_small


    @decorator
    class Big(Base):
        """Its docstring mentions a code sample:

            def sample():
                import in_class_docstring
        """
        import class_level
    {filler}
        def lazy(self):
            names = [
                name
                for name in self.names
            ]
            try:
                import lazy_in_try
            except ImportError:
                return None
            if names: import after_colon
            x = 1; import after_semicolon

        @property
        async def prop(self):
            from . import relative
            def inner():
                return __import__("dynamic")
            class Nested:
                def deep(self):
                    import very_deep
            return inner

        class Inner:
            def method(self):
                import in_inner
    {filler}

    def function(values):
        """Doc."""
        total = 0
        for value in values:
            total += value
    {statements}
        from \\
            continued import name
        return total


    x = [
    1,
    ]
''').format(filler=FILLER, statements="".join(f"    total += {i}\n" for i in range(600)))


def _whole(source: bytes) -> list:
    """What a whole-file parse finds (importsites' own reference path)."""
    return importsites._sorted(importsites._parse(source, "big.py"))


def test_a_large_file_is_read_from_its_regions_with_the_same_answer():
    source = LARGE.encode()
    assert len(source) > importsites._REGIONS_FROM
    regions = importsites._regions(source)
    assert regions is not None
    assert sum(end - start for start, end, _ in regions) < len(source) / 4  # most skipped
    expected = _whole(source)
    assert parse_imports(source, "big.py") == expected
    functions = {site.module: site.function for site in expected}
    assert functions == {
        "__future__": None, "os": None, "typing": None, "in_small": "small",
        "class_level": None,
        "lazy_in_try": "Big.lazy", "after_colon": "Big.lazy", "after_semicolon": "Big.lazy",
        "": "Big.prop", "dynamic": "Big.prop.inner", "very_deep": "Big.prop.Nested.deep",
        "in_inner": "Big.Inner.method", "continued": "function"}


@pytest.mark.parametrize("change", [
    # a region that does not parse alone: the whole file is parsed and says why
    ("    def lazy(self):", "    def lazy(self:"),
    # quotes the region finder cannot read: the whole file is parsed
    ("TEMPLATE = '''", "# a stray ''' in a comment\nTEMPLATE = '''"),
    ('    x = 1; import after_semicolon', '    x = "\\"""; import after_semicolon'),
    # -*- coding: latin-1 -*- (a region would lose it)
    ('"""A large module.', '# -*- coding: latin-1 -*-\n"""A large module. \xe9'),
])
def test_a_large_file_the_regions_cannot_read_is_parsed_whole(change):
    old, new = change
    text = LARGE.replace(old, new, 1)
    source = text.encode("latin-1" if "latin-1" in new else "utf-8")
    try:
        expected = _whole(source)
    except SyntaxError as error:
        with pytest.raises(SyntaxError) as raised:
            parse_imports(source, "big.py")
        assert (raised.value.lineno, raised.value.msg) == (error.lineno, error.msg)
    else:
        assert parse_imports(source, "big.py") == expected


def test_regions_find_what_a_whole_parse_finds_in_the_standard_library():
    folder = os.path.dirname(os.__file__)
    checked = 0
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not name.endswith(".py"):
            continue
        with open(path, "rb") as handle:
            source = handle.read()
        if len(source) < importsites._REGIONS_FROM:
            continue
        checked += 1
        try:
            expected = _whole(source)
        except (SyntaxError, ValueError):
            continue
        assert parse_imports(source, path) == expected, path
    assert checked > 50


def _tree(root, modules: int) -> None:
    """``app`` imports ``pkg.m0``..; each module imports two later ones, one lazily, every
    tenth the denied ``training``; one file does not parse."""
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "training.py").write_text("")
    (root / "app.py").write_text("".join(f"import pkg.m{i}\n" for i in range(0, modules, 7)))
    for i in range(modules):
        lines = [f"import pkg.m{(i * 3 + 1) % modules}", "", "def handler():",
                 f"    from pkg import m{(i * 5 + 2) % modules}"]
        if i % 10 == 9:
            lines.append("    import training")
        (root / "pkg" / f"m{i}.py").write_text("\n".join(lines) + "\n")
    (root / "pkg" / "m3.py").write_text("def broken(:\n    import training\n")
    (root / "policy.toml").write_text('version = 1\n[imports]\ndeny = ["training"]\n')


@pytest.mark.skipif(sys.platform != "linux", reason="workers fork on Linux only")
def test_workers_give_the_same_findings_in_the_same_order(tmp_path):
    _tree(tmp_path, 400)
    policy = load_policy(tmp_path / "policy.toml")

    def scan(workers: int, cache_dir: str | None = None):
        scanner = Scanner(policy, [str(tmp_path)], workers=workers, cache_dir=cache_dir)
        return scanner.scan(["app"])

    serial, parallel = scan(0), scan(2)
    assert [(f.code, f.subject, f.chain) for f in parallel.findings] == \
        [(f.code, f.subject, f.chain) for f in serial.findings]
    assert any(f.code == "scan-syntax-error" for f in parallel.findings)
    assert sum(f.code == "scan-forbidden-import" for f in parallel.findings) >= 30
    assert (parallel.modules, parallel.parsed) == (serial.modules, serial.parsed)
    # the cache the workers filled answers the next scan, in one process or several
    cache = str(tmp_path / "cache")
    first = scan(2, cache)
    again = scan(2, cache)
    # (the file that does not parse counts as parsed; the second scan is the kept answer)
    assert (first.parsed, again.parsed, again.reused) == (first.modules + 1, 0, first.modules)
    assert [f.chain for f in again.findings] == [f.chain for f in serial.findings]


@pytest.mark.skipif(sys.platform != "linux", reason="workers fork on Linux only")
def test_prefetch_leaves_unreadable_and_fresh_files_to_sites(tmp_path):
    files = []
    for i in range(importsites._PARALLEL_FROM + 5):
        path = tmp_path / f"m{i}.py"
        path.write_text(f"import dep{i}\n")
        files.append(str(path))
    cache = SiteCache(None, workers=2)
    try:
        cache.sites(files[0])  # known and unchanged: not sent to a worker
        os.remove(files[1])
        cache.prefetch(files)
        assert files[0] not in cache._parsing and files[1] not in cache._parsing
        assert files[2] in cache._parsing
        assert [site.module for f in files[2:] for site in cache.sites(f)] == \
            [f"dep{i}" for i in range(2, len(files))]
        with pytest.raises(OSError):
            cache.sites(files[1])
    finally:
        cache.close()
    assert cache.stats.parsed == len(files) - 1


def test_the_command_takes_a_number_of_jobs(tmp_path):
    _tree(tmp_path, 200)
    outputs = []
    for jobs in ("1", "2"):
        done = run_python(["-m", "importwall", "scan", "app", "--policy", "policy.toml",
                           "--no-cache", "--format", "json", "--jobs", jobs],
                          cwd=tmp_path, pythonpath=[tmp_path])
        assert done.returncode == 1, done.output
        outputs.append([(f["code"], f["subject"], f["chain"])
                        for f in json.loads(done.stdout)["findings"]])
    assert outputs[0] == outputs[1] and len(outputs[0]) > 10
    wrong = run_python(["-m", "importwall", "scan", "app", "--policy", "policy.toml", "-j",
                        "0"], cwd=tmp_path, pythonpath=[tmp_path])
    assert wrong.returncode == 2
    assert "expected a number of processes" in wrong.stderr


def test_a_kept_answer_is_used_only_while_nothing_it_depends_on_changed(tmp_path):
    _tree(tmp_path, 80)
    cache = str(tmp_path / "cache")

    def scan(policy_text: str | None = None):
        if policy_text is not None:
            (tmp_path / "policy.toml").write_text(policy_text)
        scanner = Scanner(load_policy(tmp_path / "policy.toml"), [str(tmp_path)],
                          workers=0, cache_dir=cache)
        return scanner.scan(["app"])

    def subjects(result):
        return sorted((f.code, f.subject, f.chain[-1].line) for f in result.findings)

    first = scan()
    kept = scan()
    assert (kept.parsed, kept.reused, kept.modules) == (0, first.modules, first.modules)
    assert subjects(kept) == subjects(first)

    # a file the walk read changes: a new denied import is found
    module = tmp_path / "pkg" / "m0.py"
    module.write_text(module.read_text() + "import optuna\n")
    os.utime(module, ns=(1, 1))
    changed = scan('version = 1\n[imports]\ndeny = ["training", "optuna"]\n')
    assert ("scan-forbidden-import", "optuna", 5) in subjects(changed)
    # a module appears where an import looked for one (its folder changes)
    (tmp_path / "pkg" / "m3.py").write_text("import training\n")  # it parses now
    fixed = scan()
    assert not any(f.code == "scan-syntax-error" for f in fixed.findings)
    assert len(fixed.findings) != len(changed.findings) or subjects(fixed) != subjects(changed)
    # the policy changes: the answer is worked out again
    other = scan('version = 1\n[imports]\ndeny = ["optuna"]\n')
    assert subjects(other) == [("scan-forbidden-import", "optuna", 5)]
    assert scan().parsed == 0 and subjects(scan()) == subjects(other)
