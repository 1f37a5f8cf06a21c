"""The importer is the code that asked, on the real libraries: scikit-learn's PEP 562
``__getattr__``, a ``lazy_loader`` package, and loading a pickled model whose class lives
in a denied module (``GridSearchCV``, ``TunedThresholdClassifierCV`` in
``sklearn.model_selection``) through ``pickle.load`` and ``joblib.load``, allowed by an
exception that names the serving module that loads it (docs/packs.md, "Loading a model").

One venv with scikit-learn and lazy_loader, cached between runs. Marked ``slow``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import REPO, run_python, venv_with_packages, write_files

pytestmark = pytest.mark.slow

TRAIN = """
import joblib, pickle
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, TunedThresholdClassifierCV

X, y = load_breast_cancer(return_X_y=True)
search = GridSearchCV(LogisticRegression(max_iter=50), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
tuned = TunedThresholdClassifierCV(LogisticRegression(max_iter=50), cv=2).fit(X, y)
for name, model in (("search", search), ("tuned", tuned)):
    pickle.dump(model, open(f"models/{name}.pkl", "wb"))
    joblib.dump(model, f"models/{name}.joblib")
open("models/row.json", "w").write(__import__("json").dumps(X[:1].tolist()))
"""

FILES = {
    "app/__init__.py": "",
    # The serving module that loads the models: the exception names it.
    "app/loading.py": """\
import json
import pickle

import joblib

ROW = json.load(open("models/row.json"))


def load(name, how):
    if how == "pickle":
        with open(f"models/{name}.pkl", "rb") as handle:
            return pickle.load(handle)
    return joblib.load(f"models/{name}.joblib")


def predictions():
    return [int(load(name, how).predict(ROW)[0])
            for name in ("search", "tuned") for how in ("pickle", "joblib")]
""",
    "app/handlers.py": """\
def lazy_attribute():
    from sklearn import model_selection
    return model_selection


def lazy_datasets():
    import sklearn
    return sklearn.datasets


def split():
    from sklearn.model_selection import train_test_split
    return train_test_split


def lazy_package():
    import lazypkg
    return lazypkg.training
""",
    "lazypkg/__init__.py": """\
import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submodules=["training"])
""",
    "lazypkg/training.py": "",
    "lazypkg/model.py": "from lazypkg import training  # the package's own use\n",
    "check.py": """\
import json, os, sys
import importwall

fw = importwall.active()
result = {"mode": fw.mode}
if sys.argv[1] == "serve":
    import app.loading
    result["predictions"] = app.loading.predictions()
    import sklearn.linear_model, lazypkg.model  # the libraries' own (lazy) use
import app.handlers
for name in sys.argv[2:]:
    try:
        getattr(app.handlers, name)()
    except ImportError:
        pass
result["findings"] = [
    [f.code, f.subject, f.importer, f.chain[-1].module, f.chain[-1].line,
     f.chain[-1].function] for f in fw.findings]
print(json.dumps(result))
""",
    "loading.toml": """\
version = 1
extends = ["sklearn"]

[imports]
deny = [{ module = "lazypkg.training", reason = "training-only" }]

[[imports.exceptions]]
module = "lazypkg.training"
importer = "lazypkg"
reason = "the package's own modules use it"

[[imports.exceptions]]
module = "sklearn.model_selection"
importer = "app.loading"
reason = "the served models are a GridSearchCV and a TunedThresholdClassifierCV"
""",
}


@pytest.fixture(scope="module")
def sklearn_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return venv_with_packages(tmp_path_factory.mktemp("skl-venv"),
                              ["scikit-learn", "lazy_loader", "-e", str(REPO)])


@pytest.fixture(scope="module")
def served(sklearn_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("served")
    (root / "models").mkdir()
    write_files(root, {"train.py": TRAIN, **FILES})
    trained = run_python(["train.py"], cwd=root, python=sklearn_python, timeout=300)
    assert trained.returncode == 0, trained.output
    return root


def check(python: Path, root: Path, policy: str, mode: str, *argv: str) -> dict:
    result = run_python(["-m", "importwall", "run", "--policy", policy, "--mode", mode, "--",
                         str(python), "check.py", *argv],
                        cwd=root, python=python, pythonpath=[root], timeout=300)
    assert result.returncode == 0, result.output
    decoded: dict = json.loads(result.stdout.strip().splitlines()[-1])
    return decoded


HANDLER_FINDINGS = [
    ["sklearn.model_selection", "app.handlers", "app.handlers", 2, "lazy_attribute"],
    ["sklearn.datasets", "app.handlers", "app.handlers", 8, "lazy_datasets"],
    ["lazypkg.training", "app.handlers", "app.handlers", 18, "lazy_package"],
]


@pytest.mark.parametrize("mode", ["enforce", "audit"])
def test_lazy_attributes_are_charged_to_the_first_party_line(sklearn_python, served,
                                                             mode) -> None:
    # Before anything loaded them: sklearn's and lazy_loader's __getattr__ make the import,
    # and the libraries' own exceptions must not let first-party code through.
    outcome = check(sklearn_python, served, "loading.toml", mode, "handlers",
                    "lazy_attribute", "lazy_datasets", "lazy_package")
    code = {"enforce": "import-blocked", "audit": "import-recorded"}[mode]
    assert outcome["findings"] == [[code, *row] for row in HANDLER_FINDINGS]


def test_a_model_loads_through_an_exception_for_the_loading_module(sklearn_python,
                                                                  served) -> None:
    outcome = check(sklearn_python, served, "loading.toml", "enforce", "serve",
                    "lazy_attribute", "split")
    assert outcome["predictions"] == [0, 0, 0, 0]
    # Loading needed no finding; the handlers' imports are still blocked, at their lines,
    # although the loaded models pulled sklearn.model_selection in.
    assert outcome["findings"] == [
        ["import-blocked", *HANDLER_FINDINGS[0]],
        ["import-blocked", "sklearn.model_selection", "app.handlers", "app.handlers", 12,
         "split"],
    ]


def test_without_the_exception_the_loading_module_is_the_importer(sklearn_python,
                                                                  served) -> None:
    outcome = check(sklearn_python, served, "sklearn", "audit", "serve")
    assert outcome["predictions"] == [0, 0, 0, 0]
    sites = {(code, subject, importer, line, function)
             for code, subject, importer, _, line, function in outcome["findings"]}
    # The unpickler (C pickle, joblib's Python one) is looked through to app.loading.
    assert sites == {
        ("import-recorded", "sklearn.model_selection", "app.loading", 12, "load"),
        ("import-recorded", "sklearn.model_selection", "app.loading", 13, "load"),
    }
