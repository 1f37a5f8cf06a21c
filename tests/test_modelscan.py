"""``importwall scan-model``: pickled models read from their opcodes, never unpickled."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from helpers import run_python, venv_with_packages, write_files

from importwall.policy import load_policy
from importwall.static.modelfiles import references_of
from importwall.static.modelscan import ModelScanner
from importwall.static.pickleops import Global


class _Shell:
    """What an attacker pickles: unpickling it runs a shell command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Evaluates:
    def __reduce__(self):
        return (eval, ("1 + 1",))


def _globals(path: Path) -> set[str]:
    references = references_of(str(path))
    return {key for key, ref in references.items() if isinstance(ref.target, Global)}


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_pickle_that_runs_a_shell_command_is_caught_without_running_it(tmp_path, protocol):
    sentinel = tmp_path / "pwned"
    model = tmp_path / "model.pkl"
    model.write_bytes(pickle.dumps({"weights": [1.0, 2.0], "hook": _Shell(f"touch {sentinel}")},
                                   protocol=protocol))
    findings = ModelScanner().scan([str(model)])
    assert not sentinel.exists()
    system = f"{os.system.__module__}.system"  # posix.system, or nt.system on Windows
    assert [(f.kind, f.code, f.severity, f.subject) for f in findings] == [
        ("model", "model-dangerous-global", "error", system)]
    assert findings[0].details["file"] == str(model)
    assert "shell command" in findings[0].message


def test_memoized_stack_global_operands_are_resolved(tmp_path):
    """Protocol 4 takes STACK_GLOBAL's module and name from the memo: follow it exactly."""
    def text(value: str) -> bytes:
        return b"\x8c" + bytes([len(value)]) + value.encode()

    payload = (b"\x80\x04" + text("builtins") + b"\x94" + text("len") + b"\x94"
               + b"0" + b"0"  # POP both: the names live on in the memo only
               + text("eval") + b"\x94" + b"0"
               + b"h\x00h\x02\x93" + text("1 + 1") + b"\x85R.")
    model = tmp_path / "crafted.pkl"
    model.write_bytes(payload)
    assert _globals(model) == {"builtins.eval"}
    assert [f.subject for f in ModelScanner().scan([str(model)])] == ["builtins.eval"]


def test_every_pickle_in_a_file_is_read(tmp_path):
    model = tmp_path / "two.pkl"
    model.write_bytes(pickle.dumps([1, 2, 3]) + pickle.dumps(_Evaluates(), protocol=2))
    # Protocols 0-2 write Python 2 names, which the loader maps back to builtins.
    assert [f.subject for f in ModelScanner().scan([str(model)])] == ["__builtin__.eval"]


def test_a_zip_archive_is_scanned_member_by_member(tmp_path):
    archive = tmp_path / "model.pt"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("model/data.pkl", pickle.dumps(_Shell("true"), protocol=2))
        out.writestr("model/version", "3\n")
    findings = ModelScanner().scan([str(archive)])
    assert [f.details["file"] for f in findings] == [f"{archive}!model/data.pkl"]


def test_a_truncated_or_foreign_file_is_reported_not_trusted(tmp_path):
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(pickle.dumps(_Shell("true"), protocol=4)[:-6])
    foreign = tmp_path / "notes.pkl"
    foreign.write_bytes(b"\xff\xfe not a pickle")
    findings = ModelScanner().scan([str(truncated), str(foreign)])
    assert sorted((Path(f.details["file"]).name, f.code) for f in findings) == [
        ("notes.pkl", "model-unreadable"),
        ("truncated.pkl", "model-dangerous-global"),
        ("truncated.pkl", "model-unreadable"),
    ]


def test_a_policy_denied_module_is_reported_with_its_rule(tmp_path):
    policy = write_files(tmp_path, {"policy.toml": """
        version = 1
        [imports]
        deny = [{ module = "fractions", reason = "no exact arithmetic in the server" }]
    """}) / "policy.toml"
    from fractions import Fraction

    model = tmp_path / "model.pkl"
    model.write_bytes(pickle.dumps({"ratio": Fraction(1, 3)}))
    findings = ModelScanner(load_policy(policy)).scan([str(model)])
    assert [(f.code, f.subject, f.rule, f.reason) for f in findings] == [
        ("model-training-class", "fractions.Fraction", "deny 'fractions'",
         "no exact arithmetic in the server")]
    assert findings[0].source == f"{policy}:3"
    assert ModelScanner().scan([str(model)]) == []


def test_the_command_exits_1_and_never_unpickles(tmp_path):
    sentinel = tmp_path / "pwned"
    model = tmp_path / "models" / "evil.joblib"
    model.parent.mkdir()
    model.write_bytes(pickle.dumps(_Shell(f"touch {sentinel}"), protocol=4))
    clean = tmp_path / "models" / "clean.pkl"
    clean.write_bytes(pickle.dumps({"weights": [0.5]}))
    result = run_python(["-m", "importwall", "scan-model", str(tmp_path / "models"),
                         "--format", "json"])
    assert result.returncode == 1, result.output
    assert not sentinel.exists()
    data = json.loads(result.stdout)
    assert [(item["code"], Path(item["details"]["file"]).name) for item in data["findings"]] \
        == [("model-dangerous-global", "evil.joblib")]
    assert data["metadata"]["command"] == "scan-model"
    missing = run_python(["-m", "importwall", "scan-model", str(tmp_path / "nope.pkl")])
    assert missing.returncode == 2
    assert "no such file or folder" in missing.stderr and "Traceback" not in missing.stderr
    text = run_python(["-m", "importwall", "scan-model", str(clean)])
    assert text.returncode == 0, text.output
    assert "No findings." in text.stdout
    assert "scanned 1 model file(s)" in text.stderr


# --------------------------------------------------------------------------- real models

_MAKE_MODELS = """
import json, pickle, sys
from pathlib import Path

import joblib
import joblib.numpy_pickle as numpy_pickle
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

out = Path(sys.argv[1])
X, y = make_classification(n_samples=60, n_features=4, random_state=0)
search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()),
                      {"logisticregression__C": [0.1, 1.0]}, cv=StratifiedKFold(3))
search.fit(X, y)
models = {"search": search, "best": search.best_estimator_}
arrays = {
    "fortran": np.arange(12.0).reshape(3, 4).T, "text": np.array(["abc", "de"]),
    "objects": np.array([1, "x", None], dtype=object), "scalar": np.zeros((), np.int16),
    "record": np.zeros(3, dtype=[("a", "i4"), ("b", "f8")]), "model": search.best_estimator_,
    "when": np.array(["2020-01-01"], dtype="datetime64[ns]"), "complex": np.ones(2, "c16"),
}
written = []
for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
    for name, model in models.items():
        path = out / f"{name}-p{protocol}.pkl"
        path.write_bytes(pickle.dumps(model, protocol=protocol))
        written.append(path)
    path = out / f"arrays-p{protocol}.joblib"
    joblib.dump(arrays, path, protocol=protocol)
    written.append(path)
for compress in (None, "zlib", "gzip", "bz2", "lzma", "xz"):
    for name, model in models.items():
        path = out / f"{name}.{compress or 'raw'}.joblib"
        joblib.dump(model, path, compress=(compress, 3) if compress else 0)
        written.append(path)

class Recorder(pickle.Unpickler):
    def find_class(self, module, name):
        self.seen.add(f"{module}.{name}")
        return super().find_class(module, name)

def loaded_globals(path):
    seen = set()
    if path.suffix == ".pkl":
        with open(path, "rb") as handle:
            recorder = Recorder(handle)
            recorder.seen = seen
            recorder.load()
        return seen
    original = numpy_pickle.NumpyUnpickler.find_class
    def spy(self, module, name):
        seen.add(f"{module}.{name}")
        return original(self, module, name)
    numpy_pickle.NumpyUnpickler.find_class = spy
    try:
        joblib.load(path)
    finally:
        numpy_pickle.NumpyUnpickler.find_class = original
    return seen

print(json.dumps({p.name: sorted(loaded_globals(p)) for p in written}))
"""

@pytest.fixture(scope="session")
def sklearn_python(tmp_path_factory) -> str:
    """An interpreter with scikit-learn and joblib: this one if it has them, else a
    session-scoped venv they are installed into."""
    probe = subprocess.run([sys.executable, "-c", "import sklearn, joblib"],
                           capture_output=True)
    if probe.returncode == 0:
        return sys.executable
    python = venv_with_packages(tmp_path_factory.mktemp("sklearn-venv"),
                                ["scikit-learn", "joblib"])
    return str(python)


@pytest.fixture(scope="session")
def real_models(sklearn_python, tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    folder = tmp_path_factory.mktemp("models")
    made = run_python(["-c", textwrap.dedent(_MAKE_MODELS), str(folder)],
                      python=sklearn_python, timeout=300)
    assert made.returncode == 0, made.output
    return folder, json.loads(made.stdout)


@pytest.mark.slow
def test_the_scan_sees_exactly_the_globals_the_real_loader_imports(real_models):
    folder, loaded = real_models
    assert len(loaded) == 30
    for name, expected in loaded.items():
        assert _globals(folder / name) == set(expected), name


@pytest.mark.slow
def test_a_pickled_grid_search_is_flagged_and_its_best_estimator_is_clean(real_models):
    folder, loaded = real_models
    scanner = ModelScanner()
    for name in loaded:
        findings = scanner.scan_file(str(folder / name))
        if name.startswith("search"):
            assert sorted(f.subject.rsplit(".", 1)[1] for f in findings) == [
                "GridSearchCV", "StratifiedKFold"], name
            search = next(f for f in findings if f.subject.endswith("GridSearchCV"))
            assert search.code == "model-training-class" and search.severity == "error"
            assert "best_estimator_" in search.message
        else:
            assert findings == [], (name, [f.message for f in findings])


@pytest.mark.slow
def test_compressed_joblib_files_are_read_through(real_models):
    folder, _ = real_models
    compressions = {}
    for compress in ("zlib", "gzip", "bz2", "lzma", "xz"):
        findings = ModelScanner().scan_file(str(folder / f"search.{compress}.joblib"))
        assert len(findings) == 2, compress
        compressions[compress] = findings[0].details["compression"]
    assert compressions == {"zlib": "zlib", "gzip": "gzip", "bz2": "bz2", "lzma": "lzma",
                            "xz": "lzma"}


@pytest.mark.slow
def test_a_policy_can_deny_a_class_the_best_estimator_uses(real_models, tmp_path):
    folder, _ = real_models
    policy = write_files(tmp_path, {"policy.toml": """
        version = 1
        [imports]
        deny = [{ module = "sklearn.preprocessing", severity = "warning" }]
    """}) / "policy.toml"
    findings = ModelScanner(load_policy(policy)).scan_file(str(folder / "best.gzip.joblib"))
    assert [(f.subject, f.severity) for f in findings] == [
        ("sklearn.preprocessing._data.StandardScaler", "warning")]


class _TeamModel:
    """A team's own class: unknown to the shipped list until the policy allows it."""


def test_a_teams_own_class_is_unknown_until_the_policy_allows_it(tmp_path):
    model = tmp_path / "model.pkl"
    model.write_bytes(pickle.dumps(_TeamModel(), protocol=4))
    full = f"{__name__}._TeamModel"
    [finding] = ModelScanner().scan_file(str(model))
    assert (finding.code, finding.severity, finding.subject) == (
        "model-unknown-global", "warning", full)
    assert f'[models] allow = ["{full}"]' in finding.details["fix"]
    assert [f.severity for f in ModelScanner(strict=True).scan_file(str(model))] == ["error"]
    policy = write_files(tmp_path, {"allow.toml": f"""
        version = 1
        [models]
        allow = [{{ global = "{__name__}.*", reason = "our own model classes" }}]
    """, "errors.toml": """
        version = 1
        [models]
        unknown = "error"
    """, "dangerous.toml": """
        version = 1
        [models]
        allow = ["os"]
    """})
    assert ModelScanner(load_policy(policy / "allow.toml"), strict=True).scan_file(
        str(model)) == []
    assert [f.severity for f in ModelScanner(load_policy(policy / "errors.toml")).scan_file(
        str(model))] == ["error"]
    # A dangerous global stays dangerous whatever the policy allows.
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(_Shell("true")))
    assert [f.code for f in ModelScanner(load_policy(policy / "dangerous.toml")).scan_file(
        str(evil))] == ["model-dangerous-global"]


def test_scan_model_strict_makes_unknown_globals_fail(tmp_path):
    model = tmp_path / "model.pkl"
    model.write_bytes(b"\x80\x04\x8c\x07xml.dom\x94\x8c\x07minidom\x94\x93.")
    default = run_python(["-m", "importwall", "scan-model", str(model)])
    assert default.returncode == 0, default.output
    assert "model-unknown-global" in default.stdout
    strict = run_python(["-m", "importwall", "scan-model", "--strict", str(model)])
    assert strict.returncode == 1, strict.output


def test_sarif_locates_model_findings_at_the_file_and_byte(tmp_path):
    import pickletools

    model = tmp_path / "evil.pkl"
    model.write_bytes(pickle.dumps(_Shell("true"), protocol=4))
    stack_global = next(at for op, _, at in pickletools.genops(model.read_bytes())
                        if op.name == "STACK_GLOBAL")
    archive = tmp_path / "evil.pt"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("archive/data.pkl", pickle.dumps(_Shell("true"), protocol=2))
    result = run_python(["-m", "importwall", "scan-model", str(model), str(archive),
                         "-f", "sarif"])
    assert result.returncode == 1, result.output
    run = json.loads(result.stdout)["runs"][0]
    located = {}
    for item in run["results"]:
        physical = item["locations"][0]["physicalLocation"]
        located[Path(physical["artifactLocation"]["uri"]).name] = (
            physical.get("region"), item["properties"].get("member"),
            item["properties"]["class"], item["properties"]["code"])
    assert located == {
        "evil.pkl": ({"byteOffset": stack_global}, None, "dangerous", "model-dangerous-global"),
        "evil.pt": (None, "archive/data.pkl", "dangerous", "model-dangerous-global")}
    assert all("do not load" in item["properties"]["fix"] for item in run["results"])
