"""The shipped packs on the real libraries: a serving flow passes under ``enforce``, and
first-party training imports are blocked with the chain that names the handler.

One virtual environment with scikit-learn, LightGBM, XGBoost, pandas, FastAPI, MLflow
(skinny) and Optuna is built once per session and shared; the transformers tests have one of
their own (torch's CPU build, transformers, accelerate, MLflow skinny). Skipped when the
package registry cannot be reached. Marked ``slow`` and ``heavy``: the default run leaves
it out, and ``pytest -m heavy`` (a CI step of its own) runs it; the venvs are cached between
runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import (
    REPO,
    Result,
    clean_env,
    loopback_only,
    run_python,
    venv_with_packages,
    write_files,
)

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

LIBRARIES = ("scikit-learn", "lightgbm", "xgboost-cpu", "pandas", "fastapi", "httpx",
             "uvicorn", "mlflow-skinny", "optuna", "skops")

TRAIN = """
    import pickle
    import joblib, lightgbm, mlflow.sklearn, xgboost
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    pickle.dump(pipeline, open("models/pipeline.pkl", "wb"))
    joblib.dump(pipeline, "models/pipeline.joblib")
    lgbm = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    pickle.dump(lgbm, open("models/lgbm.pkl", "wb"))
    lgbm.booster_.save_model("models/lgbm.txt")
    xgb = xgboost.XGBClassifier(n_estimators=5).fit(X, y)
    pickle.dump(xgb, open("models/xgb.pkl", "wb"))
    xgb.save_model("models/xgb.json")
    mlflow.sklearn.save_model(pipeline, "models/mlflow", serialization_format="cloudpickle")
    # For the stock `mlflow models serve`: MLflow's own formats of each flavour.
    import mlflow.lightgbm, mlflow.pyfunc, mlflow.xgboost
    import first_party_model
    mlflow.sklearn.save_model(pipeline, "models/mlflow-skops", serialization_format="skops")
    mlflow.lightgbm.save_model(lgbm, "models/mlflow-lightgbm")
    mlflow.xgboost.save_model(xgb, "models/mlflow-xgboost")
    mlflow.pyfunc.save_model("models/mlflow-first-party", python_model=first_party_model.Leaky(),
                             code_paths=["first_party_model.py"])
"""

SERVING = {
    # A first-party pyfunc model whose predict() reaches for training code per request.
    "first_party_model.py": """
        import mlflow.pyfunc

        class Leaky(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                from sklearn.model_selection import train_test_split
                return [len(train_test_split(list(range(4))))]
    """,
    # Runs (in a loopback-only namespace) the stock `mlflow models serve` through
    # `importwall run` in enforce (policy: argv[3], default stock.toml), POSTs one request
    # (argv[4], default one iris row), stops the server; prints status and body.
    "stock_serve.py": """
        import json, os, signal, socket, subprocess, sys, time, urllib.error, urllib.request

        model, data_dir = sys.argv[1], sys.argv[2]
        policy = sys.argv[3] if len(sys.argv) > 3 else "stock.toml"
        body = (sys.argv[4] if len(sys.argv) > 4
                else json.dumps({"inputs": [[6.1, 2.8, 4.7, 1.2]]})).encode()
        bin_dir = os.path.dirname(sys.executable)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [os.path.join(bin_dir, "importwall"), "run", "--policy", policy,
             "--mode", "enforce", "--data-dir", data_dir, "--",
             os.path.join(bin_dir, "mlflow"), "models", "serve", "--env-manager", "local",
             "-m", model, "-h", "127.0.0.1", "-p", str(port)],
            # mlflow starts `uvicorn` by name: the venv's bin first, as when it is activated
            env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        answer = None
        for _ in range(120):  # the server's start-up, bounded
            time.sleep(1)
            if server.poll() is not None:
                break
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/invocations", data=body,
                headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = [response.status, json.loads(response.read())]
            except urllib.error.HTTPError as error:
                answer = [error.code, error.read().decode("utf-8", "replace")[-8000:]]
            except OSError:
                continue
            break
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        try:
            _, errors = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            _, errors = server.communicate()
        print(json.dumps({"answer": answer, "stderr": errors.decode("utf-8", "replace")[-3000:]}))
    """,
    "stock.toml": """
        version = 1
        extends = ["xgboost-lightgbm-catboost", "mlflow"]
    """,
    # Serving flows: load what training wrote, predict. Each returns the predicted classes.
    "serve_sklearn.py": """
        import pickle
        import joblib

        ROW = [[6.1, 2.8, 4.7, 1.2]]

        def predict():
            with open("models/pipeline.pkl", "rb") as handle:
                unpickled = pickle.load(handle)
            loaded = joblib.load("models/pipeline.joblib")
            return [int(unpickled.predict(ROW)[0]), int(loaded.predict_proba(ROW).argmax())]
    """,
    "serve_boosting.py": """
        import pickle
        import lightgbm, numpy, xgboost

        ROW = [[6.1, 2.8, 4.7, 1.2]]

        def predict():
            with open("models/lgbm.pkl", "rb") as handle:
                lgbm = pickle.load(handle)
            with open("models/xgb.pkl", "rb") as handle:
                xgb = pickle.load(handle)
            booster = xgboost.Booster()
            booster.load_model("models/xgb.json")
            native = booster.predict(xgboost.DMatrix(numpy.array(ROW)))
            text = lightgbm.Booster(model_file="models/lgbm.txt").predict(ROW)
            return [int(lgbm.predict(ROW)[0]), int(xgb.predict(ROW)[0]),
                    int(native[0].argmax()), int(text[0].argmax())]
    """,
    "serve_mlflow.py": """
        import mlflow.pyfunc
        import pandas

        def predict():
            model = mlflow.pyfunc.load_model("models/mlflow")
            return [int(model.predict(pandas.DataFrame([[6.1, 2.8, 4.7, 1.2]]))[0])]
    """,
    # First-party request handlers that reach for training code.
    "handlers.py": """
        def split():
            from sklearn.model_selection import train_test_split
            return train_test_split

        def search():
            import sklearn.model_selection._search
            return sklearn

        def datasets():
            from sklearn.datasets import load_iris
            return load_iris

        def tune():
            import optuna
            return optuna

        def xgboost_dask():
            import xgboost.dask
            return xgboost

        def tracking():
            from mlflow.tracking import MlflowClient
            return MlflowClient

        def evaluation():
            import mlflow.models.evaluation
            return mlflow
    """,
    "check.py": """
        import importlib, json, os, sys
        import importwall

        serving = importlib.import_module("serve_" + sys.argv[1])
        result = {"prediction": serving.predict(), "blocked": {}}
        loaded = [(f.subject, f.importer) for f in importwall.active().findings]
        import handlers
        for name in sys.argv[2:]:
            try:
                getattr(handlers, name)()
                result["blocked"][name] = None
            except importwall.ForbiddenImportError as error:
                site = error.chain[-1]
                result["blocked"][name] = {
                    "module": error.module, "importer": error.importer,
                    "site": [site.module, os.path.basename(site.file), site.line,
                             site.function]}
        result["findings_while_serving"] = loaded
        print(json.dumps(result))
    """,
    "trap.py": """
        import json
        import importwall

        try:
            import serve_boosting
            serve_boosting.predict()
            outcome = "served"
        except Exception as error:
            outcome = repr(error)
        findings = [(f.subject, f.importer, f.action) for f in importwall.active().findings]
        print(json.dumps({"outcome": outcome, "findings": findings}))
    """,
}


@pytest.fixture(scope="session")
def ml_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the ML libraries and this importwall (editable) installed."""
    return venv_with_packages(tmp_path_factory.mktemp("ml-venv"),
                              [*LIBRARIES, "-e", str(REPO)])


@pytest.fixture(scope="session")
def served(ml_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with trained models (written without the firewall) and the serving code."""
    root = tmp_path_factory.mktemp("served")
    (root / "models").mkdir()
    write_files(root, {"train_models.py": TRAIN, **SERVING})
    trained = run_python(["train_models.py"], cwd=root, python=ml_python, timeout=300)
    assert trained.returncode == 0, trained.output
    return root


def _serve_stock(ml_python: Path, root: Path, model: str, data_dir: Path,
                 *request: str, env: dict[str, str] | None = None) -> tuple[dict, dict]:
    """``mlflow models serve`` of ``models/<model>`` under the shipped packs in enforce: the
    server's answer to one request, and the report of every process it started. ``request``:
    the policy file and the JSON body, when not stock.toml and one iris row."""
    done = subprocess.run(loopback_only([str(ml_python), "stock_serve.py", f"models/{model}",
                                         str(data_dir), *request]),
                          cwd=root, env=clean_env(env, [root]), capture_output=True,
                          text=True, timeout=400, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    served: dict = json.loads(done.stdout.strip().splitlines()[-1])
    report = run_python(["-m", "importwall", "report", "--data-dir", str(data_dir),
                         "--format", "json"], cwd=root, python=ml_python, timeout=120)
    decoded: dict = json.loads(report.stdout)
    decoded["exit"] = report.returncode
    return served, decoded


@pytest.mark.parametrize("model", ["mlflow-skops", "mlflow-lightgbm", "mlflow-xgboost"])
def test_the_stock_mlflow_server_serves_under_the_shipped_packs_in_enforce(
        ml_python: Path, served: Path, tmp_path: Path, model: str) -> None:
    # skops lists the types it trusts with sklearn.utils.discovery.all_estimators(), which
    # walks (pkgutil) and imports sklearn.datasets, .inspection and .experimental; the mlflow
    # command imports mlflow.server; mlflow and sklearn probe pyspark and dask, not installed.
    answer, report = _serve_stock(ml_python, served, model, tmp_path / "data")
    assert answer["answer"] == [200, {"predictions": [1]}], answer["stderr"]
    errors = [(f["subject"], f["importer"]) for f in report["findings"]
              if f["severity"] == "error"]
    assert errors == []
    assert report["exit"] == 0
    absent = {f["subject"] for f in report["findings"] if f["code"] == "import-absent"}
    assert "pyspark" in absent  # mlflow's optional-import probes: info, not errors
    assert len(report["processes"]) >= 2  # the mlflow command and its uvicorn server


def test_the_stock_mlflow_server_blocks_a_first_party_models_training_import(
        ml_python: Path, served: Path, tmp_path: Path) -> None:
    answer, report = _serve_stock(ml_python, served, "mlflow-first-party", tmp_path / "data")
    status, body = answer["answer"]
    assert status >= 400 and "sklearn.model_selection" in body, answer
    _assert_only_blocked_in_predict(report, "sklearn.model_selection",
                                    served / "first_party_model.py", "sklearn.model_selection")


def _assert_only_blocked_in_predict(report: dict, module: str, source: Path, statement: str
                                    ) -> None:
    """The report's one error: ``module`` blocked, imported by the first-party model in
    ``source``, the chain ending at its ``statement`` line in ``predict``; audit exits 1."""
    [blocked] = [f for f in report["findings"] if f["severity"] == "error"]
    assert (blocked["subject"], blocked["importer"]) == (module, source.stem)
    site = blocked["chain"][-1]
    lines = source.read_text(encoding="utf-8").splitlines()
    assert (os.path.basename(site["file"]), site["line"], site["function"]) == (
        source.name, next(n for n, line in enumerate(lines, 1) if statement in line),
        "predict")
    assert report["exit"] == 1


def _serve(ml_python: Path, root: Path, policy: str, flow: str, *handlers: str) -> dict:
    result = run_python(["-m", "importwall", "run", "--policy", policy, "--",
                         str(ml_python), "check.py", flow, *handlers],
                        cwd=root, python=ml_python, pythonpath=[root], timeout=300)
    assert result.returncode == 0, result.output
    decoded: dict = json.loads(result.stdout.strip().splitlines()[-1])
    return decoded


def _line_of(root: Path, text: str) -> int:
    lines = (root / "handlers.py").read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def _assert_blocked(root: Path, outcome: dict, handler: str, module: str, statement: str
                    ) -> None:
    assert outcome["blocked"][handler] == {
        "module": module, "importer": "handlers",
        "site": ["handlers", "handlers.py", _line_of(root, statement), handler]}


def test_sklearn_pack_serves_a_pickled_pipeline_and_blocks_training_imports(
        ml_python: Path, served: Path) -> None:
    outcome = _serve(ml_python, served, "sklearn", "sklearn", "split", "search", "datasets",
                     "tune")
    assert outcome["prediction"] == [1, 1]
    # Unpickling loaded sklearn.model_selection through sklearn's own modules: no finding.
    assert outcome["findings_while_serving"] == []
    _assert_blocked(served, outcome, "split", "sklearn.model_selection",
                    "from sklearn.model_selection import")
    _assert_blocked(served, outcome, "search", "sklearn.model_selection._search",
                    "import sklearn.model_selection._search")
    _assert_blocked(served, outcome, "datasets", "sklearn.datasets", "from sklearn.datasets")
    _assert_blocked(served, outcome, "tune", "optuna", "import optuna")


def test_boosting_pack_serves_lightgbm_and_xgboost_with_sklearn_installed(
        ml_python: Path, served: Path) -> None:
    outcome = _serve(ml_python, served, "xgboost-lightgbm-catboost", "boosting", "split",
                     "xgboost_dask")
    assert outcome["prediction"] == [1, 1, 1, 1]
    assert outcome["findings_while_serving"] == []
    _assert_blocked(served, outcome, "split", "sklearn.model_selection",
                    "from sklearn.model_selection import")
    _assert_blocked(served, outcome, "xgboost_dask", "xgboost.dask", "import xgboost.dask")


def test_without_the_boosting_exceptions_lightgbm_and_xgboost_are_blocked(
        ml_python: Path, served: Path) -> None:
    # The trap the pack handles: `import lightgbm` and `import xgboost` import
    # sklearn.model_selection when sklearn is installed. Under the sklearn pack alone they
    # are blocked (and lightgbm's scikit-learn wrapper then fails at predict time).
    result = run_python(["-m", "importwall", "run", "--policy", "sklearn", "--",
                         str(ml_python), "trap.py"],
                        cwd=served, python=ml_python, pythonpath=[served], timeout=300)
    assert result.returncode == 0, result.output
    trap = json.loads(result.stdout.strip().splitlines()[-1])
    blocked = [(subject, importer) for subject, importer, action in trap["findings"]
               if action == "blocked"]
    assert ("sklearn.model_selection", "lightgbm.compat") in blocked, trap
    assert ("sklearn.model_selection", "xgboost.compat") in blocked, trap


def test_mlflow_pack_serves_a_pyfunc_model_and_blocks_tracking(
        ml_python: Path, served: Path) -> None:
    outcome = _serve(ml_python, served, "mlflow", "mlflow", "tracking", "evaluation",
                     "split")
    assert outcome["prediction"] == [1]
    # mlflow probes pyspark as an optional dependency; serving-base blocks it and mlflow
    # carries on without it. Nothing else of mlflow's own imports is a finding.
    assert {subject for subject, _ in outcome["findings_while_serving"]} <= {"pyspark"}
    _assert_blocked(served, outcome, "tracking", "mlflow.tracking", "from mlflow.tracking")
    _assert_blocked(served, outcome, "evaluation", "mlflow.models.evaluation",
                    "import mlflow.models.evaluation")
    # The mlflow pack does not deny sklearn's training modules: that is the sklearn pack's job.
    assert outcome["blocked"]["split"] is None


def test_serving_example_predicts_and_blocks_the_handlers_training_import(
        ml_python: Path, tmp_path: Path) -> None:
    example = REPO / "examples" / "serving"
    env = {"IRIS_MODEL": str(tmp_path / "model.joblib")}
    trained = run_python([str(example / "train.py"), "--output", env["IRIS_MODEL"]],
                         python=ml_python, timeout=300)
    assert trained.returncode == 0, trained.output
    result: Result = run_python(
        ["-m", "importwall", "run", "--policy", str(example / "importwall.toml"), "--",
         str(ml_python), str(example / "smoke.py")],
        python=ml_python, env=env, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.output
    assert "POST /predict -> 200 {'class': 'versicolor'" in result.stdout
    app = (example / "irisserve" / "app.py").read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(app, 1) if "from sklearn.datasets import" in text)
    assert "GET /explain -> failed: importwall: import of 'sklearn.datasets' is forbidden" \
        in result.stdout
    assert f"irisserve{os.sep}app.py:{line} in explain()" in result.stdout


def test_readme_main_job_audits_the_serving_example(ml_python: Path, tmp_path: Path) -> None:
    """The README's first command: `importwall audit ... -- python examples/serving/smoke.py`
    reports exactly the handler's two training imports, with their chain, and exits 1."""
    example = REPO / "examples" / "serving"
    env = {"IRIS_MODEL": str(tmp_path / "model.joblib")}
    trained = run_python([str(example / "train.py"), "--output", env["IRIS_MODEL"]],
                         python=ml_python, timeout=300)
    assert trained.returncode == 0, trained.output
    report = tmp_path / "report.json"
    result = run_python(
        ["-m", "importwall", "audit", "--policy", str(example / "importwall.toml"),
         "--format", "json", "-o", str(report), "--", str(ml_python),
         str(example / "smoke.py")], python=ml_python, env=env, cwd=REPO, timeout=300)
    assert result.returncode == 1, result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    imports = [f for f in data["findings"] if f["kind"] == "import"]
    assert sorted(f["subject"] for f in imports) == ["sklearn.datasets", "sklearn.inspection"]
    for finding in imports:
        assert finding["importer"] == "irisserve.app"
        assert finding["chain"][-1]["function"] == "explain"


# The transformers tier: a venv of its own, so the tier above does not carry torch (about
# 0.7 GB installed). torch is the CPU build, pinned by its local version: the registry's
# plain `torch` is the CUDA build, gigabytes. Where this Python has no CPU build of it to
# install, the tier is skipped.
TORCH_CPU = "torch==2.13.0+cpu"
TRANSFORMERS_LIBRARIES = (TORCH_CPU, "transformers", "accelerate", "mlflow-skinny", "pandas")

TRAIN_TRANSFORMERS = """
    import json
    import torch
    import mlflow.pyfunc, mlflow.transformers
    from transformers import (BertConfig, BertForSequenceClassification, BertTokenizerFast,
                              pipeline)
    import first_party_classifier

    # A tiny BERT made here, never downloaded: a word-level vocabulary, one layer.
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "good", "bad", "great",
             "awful", "movie", "film"]
    with open("vocab.txt", "w", encoding="utf-8") as handle:
        handle.write("\\n".join(words) + "\\n")
    tokenizer = BertTokenizerFast("vocab.txt")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(words), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=37,
                        id2label={0: "NEGATIVE", 1: "POSITIVE"},
                        label2id={"NEGATIVE": 0, "POSITIVE": 1})
    BertForSequenceClassification(config).eval().save_pretrained("models/tiny-bert")
    tokenizer.save_pretrained("models/tiny-bert")
    classifier = pipeline("text-classification", model="models/tiny-bert")
    with open("models/expected.json", "w", encoding="utf-8") as handle:
        json.dump(classifier(["a good movie", "an awful film"]), handle)
    requirements = ["transformers", "torch"]  # not inferred: that would load the model again
    mlflow.transformers.save_model(classifier, "models/mlflow-transformers",
                                   pip_requirements=requirements)
    mlflow.pyfunc.save_model("models/mlflow-transformers-first-party",
                             python_model=first_party_classifier.Feedback(),
                             artifacts={"bert": "models/tiny-bert"},
                             code_paths=["first_party_classifier.py"],
                             pip_requirements=requirements)
"""

SERVING_TRANSFORMERS = {
    # A first-party pyfunc model around the same pipeline whose predict() reaches for the
    # Trainer per request (a lazy attribute of transformers: its _LazyModule imports it).
    "first_party_classifier.py": """
        import mlflow.pyfunc
        import numpy

        class Feedback(mlflow.pyfunc.PythonModel):
            def load_context(self, context):
                from transformers import pipeline
                self.classifier = pipeline("text-classification",
                                           model=context.artifacts["bert"])

            def predict(self, context, model_input, params=None):
                texts = [str(text) for text in numpy.ravel(numpy.asarray(model_input))]
                labels = [answer["label"] for answer in self.classifier(texts)]
                from transformers import Trainer
                return labels if Trainer else []
    """,
    "stock-transformers.toml": """
        version = 1
        extends = ["huggingface", "mlflow"]
    """,
}

TEXTS = json.dumps({"inputs": ["a good movie", "an awful film"]})


def _offline(root: Path) -> dict[str, str]:
    """Nothing from the hub: transformers and huggingface_hub offline, their cache in ``root``."""
    return {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "HF_HOME": str(root / "hf-home")}


@pytest.fixture(scope="session")
def transformers_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with torch (CPU), transformers, accelerate, MLflow (skinny) and this importwall."""
    probe = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps",
                            "-q", "--disable-pip-version-check", TORCH_CPU],
                           capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    if probe.returncode != 0:
        pytest.skip(f"no {TORCH_CPU} (the CPU build) to install for this Python: "
                    f"{(probe.stdout + probe.stderr).strip().splitlines()[-1]}")
    return venv_with_packages(tmp_path_factory.mktemp("transformers-venv"),
                              [*TRANSFORMERS_LIBRARIES, "-e", str(REPO)])


@pytest.fixture(scope="session")
def transformers_served(transformers_python: Path,
                        tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT pipeline saved as an ``mlflow.transformers`` model and inside a first-party
    pyfunc model (written without the firewall), and the server's files."""
    root = tmp_path_factory.mktemp("transformers-served")
    (root / "models").mkdir()
    write_files(root, {"train_transformers.py": TRAIN_TRANSFORMERS,
                       "stock_serve.py": SERVING["stock_serve.py"], **SERVING_TRANSFORMERS})
    trained = run_python(["train_transformers.py"], cwd=root, python=transformers_python,
                         env=_offline(root), pythonpath=[root], timeout=600)
    assert trained.returncode == 0, trained.output
    return root


def test_the_stock_mlflow_server_serves_a_transformers_pipeline_under_the_shipped_packs(
        transformers_python: Path, transformers_served: Path, tmp_path: Path) -> None:
    root = transformers_served
    answer, report = _serve_stock(transformers_python, root, "mlflow-transformers",
                                  tmp_path / "data", "stock-transformers.toml", TEXTS,
                                  env=_offline(root))
    expected = json.loads((root / "models" / "expected.json").read_text(encoding="utf-8"))
    status, body = answer["answer"] or [None, None]
    assert status == 200, answer
    # The server's answer is the pipeline's own, as computed without the firewall.
    assert [(row["label"], pytest.approx(row["score"], rel=1e-4)) for row in expected] == [
        (row["label"], row["score"]) for row in body["predictions"]]
    # Loading and predicting imports accelerate (from transformers), torch.distributed (from
    # torch and transformers), torch.utils.data (from transformers.pipelines): the packs'
    # exceptions. mlflow's pyspark probes are import-absent, info.
    assert [(f["severity"], f["code"], f["subject"], f["importer"]) for f in report["findings"]
            if f["severity"] != "info"] == []
    assert report["exit"] == 0
    assert len(report["processes"]) >= 2  # the mlflow command and its uvicorn server


def test_the_stock_mlflow_server_blocks_a_transformers_models_trainer_import(
        transformers_python: Path, transformers_served: Path, tmp_path: Path) -> None:
    root = transformers_served
    answer, report = _serve_stock(transformers_python, root,
                                  "mlflow-transformers-first-party", tmp_path / "data",
                                  "stock-transformers.toml", TEXTS, env=_offline(root))
    status, body = answer["answer"]
    # transformers' _LazyModule answers with an error of its own ("Could not import module
    # 'Trainer'"); importwall's is its cause, in the stack trace the server sends back.
    assert status >= 400 and "import of 'transformers.trainer' is forbidden" in body, answer
    # The chain looks through transformers' _LazyModule to the first-party line.
    _assert_only_blocked_in_predict(report, "transformers.trainer",
                                    root / "first_party_classifier.py", "import Trainer")
