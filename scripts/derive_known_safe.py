"""Derive ``importwall/static/known_safe_globals.json``: the globals that real models of
scikit-learn, numpy, scipy.sparse, pandas, LightGBM, XGBoost, CatBoost, PyTorch and the
standard library's containers reference when they are pickled.

Nothing is guessed: each interpreter named with ``--python`` builds real models of every
library it has, pickles each at protocols 0 to 5 (and ``torch.save`` for PyTorch), loads
every pickle back through an unpickler whose ``find_class`` records what it is asked for,
and prints that list. The lists of all interpreters are merged, checked against the
curated dangerous list and the built-in training-only modules (neither may appear), and
written with the library versions they came from.

    python scripts/derive_known_safe.py --python /venvs/sklearn/bin/python \\
        --python /venvs/torch/bin/python  [--output importwall/static/known_safe_globals.json]

Re-run it when a supported library changes what it pickles; the diff is the review.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "importwall" / "static" / "known_safe_globals.json"

VETTED = (
    # What every pickle of a plain object may name, whichever library wrote it.
    "builtins.object", "__builtin__.object", "copyreg._reconstructor", "copyreg.__newobj__",
    "copyreg.__newobj_ex__", "builtins.tuple", "builtins.dict", "builtins.int",
    "builtins.float", "builtins.bool", "builtins.str", "builtins.bytes", "__builtin__.tuple",
    "__builtin__.dict", "__builtin__.int", "__builtin__.float", "__builtin__.bool",
    "__builtin__.unicode", "__builtin__.long", "__builtin__.str",
    "builtins.Ellipsis", "builtins.NotImplemented",
)

# Runs inside each interpreter: standard library and the model libraries only.
_PROBE = r'''
import collections, datetime, decimal, fractions, io, json, pickle, sys, types, uuid
import warnings
warnings.simplefilter("ignore")

seen = {}
versions = {}

class Recorder(pickle.Unpickler):
    bucket = None
    def find_class(self, module, name):
        self.bucket.add(f"{module}.{name}")
        return super().find_class(module, name)

def record(library, value):
    bucket = seen.setdefault(library, set())
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps(value, protocol=protocol)
        recorder = Recorder(io.BytesIO(data))
        recorder.bucket = bucket
        recorder.load()

def guarded(library, build):
    try:
        values = build()
    except ImportError:
        return
    for value in values:
        record(library, value)

def stdlib():
    versions["python"] = sys.version.split()[0]
    return [
        {1, 2}, frozenset({3}), complex(1, 2), bytearray(b"ab"), slice(1, 5, 2), range(3),
        collections.OrderedDict(a=1), collections.defaultdict(list, a=[1]),
        collections.Counter("abca"), collections.deque([1, 2]),
        datetime.datetime(2020, 1, 2, 3, 4, 5), datetime.date(2020, 1, 2),
        datetime.time(1, 2), datetime.timedelta(days=1),
        datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
        decimal.Decimal("1.5"), fractions.Fraction(1, 3), uuid.UUID(int=5),
        types.SimpleNamespace(a=1),
    ]

def numpy_values():
    import numpy as np
    versions["numpy"] = np.__version__
    values = [np.dtype(code) for code in "?bBhHiIlLqQefdgFDGSUVOMm"]
    values += [np.zeros(3, dtype=code) for code in "?bBhHiIlLqQefdgFDG"]
    values += [np.array(["ab", "c"]), np.array([b"ab"]), np.array([1, "x", None], object),
               np.zeros(2, dtype=[("a", "i4"), ("b", "f8", (2,))]),
               np.array(["2020-01-01"], "datetime64[ns]"), np.array([1], "timedelta64[s]"),
               np.arange(6.0).reshape(2, 3).T, np.float64(1.5), np.int32(3), np.bool_(True),
               np.str_("x"), np.datetime64("2020-01-01"), np.ma.masked_array([1, 2], [0, 1]),
               np.random.RandomState(0), np.random.default_rng(0)]
    # Every ufunc (np.log1p in a FunctionTransformer): pure arithmetic, pickled by name.
    values += [value for value in vars(np).values() if isinstance(value, np.ufunc)]
    for generator in ("PCG64", "MT19937", "Philox", "SFC64", "PCG64DXSM"):
        values.append(np.random.Generator(getattr(np.random, generator)(0)))
    return values

def scipy_values():
    import numpy as np
    import scipy
    import scipy.sparse as sparse
    versions["scipy"] = scipy.__version__
    dense = np.eye(4)
    values = []
    for kind in ("csr", "csc", "coo", "lil", "dok", "bsr", "dia"):
        values.append(getattr(sparse, f"{kind}_matrix")(dense))
        if hasattr(sparse, f"{kind}_array"):
            values.append(getattr(sparse, f"{kind}_array")(dense))
    return values

def pandas_values():
    import numpy as np
    import pandas as pd
    versions["pandas"] = pd.__version__
    frame = pd.DataFrame({
        "f": [1.5, 2.5, 3.5], "i": [1, 2, 3], "s": ["a", "b", "c"],
        "c": pd.Categorical(["x", "y", "x"]), "t": pd.date_range("2020", periods=3),
        "tz": pd.date_range("2020", periods=3, tz="UTC"), "d": pd.to_timedelta([1, 2, 3], "s"),
        "n": pd.array([1, None, 3], dtype="Int64"), "b": pd.array([True, None, False]),
        "str": pd.array(["a", None, "c"], dtype="string"), "o": [1, "x", None]})
    return [
        frame, frame["f"], frame.set_index(["i", "s"]), pd.Index([1, 2]), pd.RangeIndex(3),
        pd.Timestamp("2020-01-01"), pd.Timedelta("1D"), pd.Period("2020-01", "M"),
        pd.Interval(0, 1), pd.interval_range(0, 3), pd.period_range("2020", periods=2, freq="M"),
        pd.Series(pd.arrays.SparseArray([0, 0, 1])), pd.CategoricalDtype(["a", "b"]),
        pd.Series([1.0, np.nan], dtype="Float64"), pd.NA, pd.NaT,
    ]

def data(n_features=5):
    from sklearn.datasets import make_classification
    return make_classification(n_samples=80, n_features=n_features, n_informative=3,
                               random_state=0)

def sklearn_values():
    import numpy as np
    import sklearn
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
    from sklearn.utils import all_estimators
    versions["scikit-learn"] = sklearn.__version__
    X, y = data()
    X = np.abs(X)  # some estimators want non-negative input
    values = []
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.metrics import check_scoring, get_scorer, get_scorer_names
    for name, cls in all_estimators():
        if cls.__module__.startswith("sklearn.model_selection"):
            continue  # training-only, never known-safe
        inner = LogisticRegression if "Classif" in name else LinearRegression
        for make in (lambda: cls(), lambda: cls(inner()),
                     lambda: cls([("a", inner()), ("b", inner())])):
            try:
                model = make()
                model.fit(X, y)
            except Exception:
                continue
            values.append(model)
            break
    # What fitted searches and estimators keep as their scorer_ (and CV results).
    values += [get_scorer(name) for name in get_scorer_names()]
    values.append(check_scoring(LogisticRegression()))
    texts = ["a cat sat", "a dog ran", "the cat ran", "a dog sat"]
    values += [
        CountVectorizer().fit(texts), TfidfVectorizer().fit(texts),
        make_pipeline(StandardScaler(), FunctionTransformer(np.log1p)).fit(X, y),
        make_union(StandardScaler(), OneHotEncoder(handle_unknown="ignore")).fit(X, y),
        ColumnTransformer([("s", StandardScaler(), [0, 1]), ("o", "passthrough", [2])])
        .fit(X, y),
    ]
    return values

def joblib_values():
    import numpy as np
    import joblib
    import joblib.numpy_pickle as numpy_pickle
    versions["joblib"] = joblib.__version__
    bucket = seen.setdefault("joblib", set())
    original = numpy_pickle.NumpyUnpickler.find_class
    def spy(self, module, name):
        bucket.add(f"{module}.{name}")
        return original(self, module, name)
    numpy_pickle.NumpyUnpickler.find_class = spy
    try:
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            buffer = io.BytesIO()
            joblib.dump({"a": np.arange(3.0), "o": np.array([1, None], object),
                         "r": np.zeros(2, [("x", "i4")])}, buffer, protocol=protocol)
            buffer.seek(0)
            joblib.load(buffer)
    finally:
        numpy_pickle.NumpyUnpickler.find_class = original
    return []

def serializers():
    """cloudpickle and dill write their own helpers into plain data pickles (dill wraps
    numpy arrays in dill._dill._create_array): record them as dill.dumps writes them."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = data()
    values = [make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
              {"a": np.arange(3.0), "o": np.array([1, None], object)}]
    for name in ("cloudpickle", "dill"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        versions[name] = module.__version__
        bucket = seen.setdefault(name, set())
        for value in values:
            for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
                recorder = Recorder(io.BytesIO(module.dumps(value, protocol=protocol)))
                recorder.bucket = bucket
                recorder.load()
    return []

def lightgbm_values():
    import lightgbm as lgb
    versions["lightgbm"] = lgb.__version__
    X, y = data()
    classifier = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    regressor = lgb.LGBMRegressor(n_estimators=5, verbose=-1).fit(X, y)
    ranker = lgb.LGBMRanker(n_estimators=5, verbose=-1).fit(X, y, group=[40, 40])
    booster = lgb.train({"verbose": -1}, lgb.Dataset(X, y), num_boost_round=3)
    return [classifier, regressor, ranker, booster]

def xgboost_values():
    import xgboost as xgb
    versions["xgboost"] = xgb.__version__
    X, y = data()
    return [xgb.XGBClassifier(n_estimators=5).fit(X, y),
            xgb.XGBRegressor(n_estimators=5).fit(X, y),
            xgb.XGBRanker(n_estimators=5).fit(X, y, qid=[0] * 40 + [1] * 40),
            xgb.train({}, xgb.DMatrix(X, y), num_boost_round=3)]

def catboost_values():
    import catboost
    versions["catboost"] = catboost.__version__
    X, y = data()
    return [catboost.CatBoostClassifier(iterations=5, verbose=0, allow_writing_files=False)
            .fit(X, y),
            catboost.CatBoostRegressor(iterations=5, verbose=0, allow_writing_files=False)
            .fit(X, y)]

def torch_values():
    import torch
    versions["torch"] = torch.__version__.split("+")[0]
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
                                torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(3),
                                torch.nn.Dropout(), torch.nn.LayerNorm(3),
                                torch.nn.Embedding(4, 3), torch.nn.LSTM(3, 3))
    model[4](torch.zeros(1, 2 * 6 * 6))  # materialize the lazy layer
    optimizer = torch.optim.Adam(model.parameters())
    optimizer.zero_grad()
    tensors = {f"t{dtype}": torch.zeros(2, dtype=dtype) for dtype in (
        torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64,
        torch.int32, torch.int8, torch.uint8, torch.bool, torch.complex64)}
    values = [model.state_dict(), optimizer.state_dict(), tensors,
              torch.nn.Parameter(torch.ones(2)), torch.Size([2, 3]), torch.device("cpu"),
              torch.float32]
    # torch.save writes a zip whose data.pkl names storages by persistent id: record its
    # globals through torch.load's own unpickler.
    bucket = seen.setdefault("torch", set())
    recording = types.ModuleType("recording_pickle")
    recording.__dict__.update(pickle.__dict__)
    class TorchRecorder(pickle.Unpickler):
        def find_class(self, module, name):
            bucket.add(f"{module}.{name}")
            return super().find_class(module, name)
    recording.Unpickler = TorchRecorder
    # torch.load maps the storage types its persistent ids name (torch.FloatStorage, ...)
    # without asking find_class: record them as the zip's data.pkl names them.
    bucket.update(f"torch.{name}" for name, value in vars(torch).items()
                  if name.endswith("Storage") and isinstance(value, type))
    for value in values + [model]:
        for legacy in (False, True):
            buffer = io.BytesIO()
            torch.save(value, buffer, _use_new_zipfile_serialization=not legacy)
            buffer.seek(0)
            torch.load(buffer, pickle_module=recording, weights_only=False)
    return [v for v in values if not isinstance(v, dict)]

guarded("python", stdlib)
guarded("numpy", numpy_values)
guarded("scipy", scipy_values)
guarded("pandas", pandas_values)
guarded("sklearn", sklearn_values)
guarded("joblib", joblib_values)
guarded("serializers", serializers)
guarded("lightgbm", lightgbm_values)
guarded("xgboost", xgboost_values)
guarded("catboost", catboost_values)
guarded("torch", torch_values)
print(json.dumps({"versions": versions,
                  "globals": {k: sorted(v) for k, v in seen.items()}}))
'''


def probe(python: str) -> dict[str, dict[str, object]]:
    result = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True,
                            timeout=1800, check=False)
    if result.returncode != 0:
        sys.exit(f"derive_known_safe: {python} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", action="append", required=True,
                        help="an interpreter with some of the libraries (repeatable)")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from importwall.static.classify import built_in_training_only
    from importwall.static.dangerous import dangerous_reason

    versions: dict[str, object] = {}
    merged: dict[str, set[str]] = {}
    for python in args.python:
        found = probe(python)
        versions.update(found["versions"])
        for library, names in found["globals"].items():
            merged.setdefault(library, set()).update(names)  # type: ignore[arg-type]
    # A global the libraries pickle through a computed import (numpy's ufunc helper) is
    # handled by the resolver in the scan, not trusted here; training-only and dangerous
    # globals never enter the list.
    # numpy 2 writes numpy._core names; files saved with numpy 1 say numpy.core (numpy 2
    # still loads them through its numpy.core shim), and pickles of protocols 3 and later
    # name copyreg rather than copy_reg.
    for library, names in merged.items():
        names.update([name.replace("numpy._core.", "numpy.core.", 1) for name in names
                      if name.startswith("numpy._core.")])
        names.update([name.replace("copy_reg.", "copyreg.", 1) for name in names
                      if name.startswith("copy_reg.")])
        if library == "python":
            names.update(VETTED)
    refused = sorted(name for names in merged.values() for name in names
                     if dangerous_reason(*name.rsplit(".", 1)) is not None
                     or built_in_training_only(name))
    for names in merged.values():
        names.difference_update(refused)
    output = {
        "about": "Globals that real models of these libraries reference when pickled; "
                 "written by scripts/derive_known_safe.py, do not edit by hand.",
        "versions": dict(sorted(versions.items())),
        "refused": refused,
        "globals": {library: sorted(names) for library, names in sorted(merged.items())},
    }
    Path(args.output).write_text(json.dumps(output, indent=1) + "\n", encoding="utf-8")
    total = sum(len(names) for names in merged.values())
    print(f"wrote {total} globals from {', '.join(sorted(versions))} to {args.output}"
          f"{'; refused ' + ', '.join(refused) if refused else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
