"""``importwall.models.safe_load``: a real loader (pickle, joblib, torch.load, numpy)
whose ``find_class`` refuses what ``importwall scan-model`` flags."""

from __future__ import annotations

import io
import json
import pickle
import textwrap
from collections import OrderedDict
from pathlib import Path

import pytest
from helpers import run_python, venv_with_packages, write_files
from model_corpus import (
    BENIGN_PACKAGES,
    HEAVY_PACKAGES,
    PAYLOADS,
    dumps,
    write_corpus,
    write_format_corpus,
)

from importwall.errors import UnsafeModelError
from importwall.models import _Guard, safe_load
from importwall.static.classify import Classifier

SENTINEL = Path("/tmp/importwall-corpus-pwned")


class TeamModel:
    """A team's own class."""

    def __init__(self, weights: list[float]) -> None:
        self.weights = weights


def test_a_clean_pickle_loads(tmp_path):
    path = tmp_path / "model.pkl"
    value = {"weights": [0.5, 1.5], "order": OrderedDict(a=1), "ids": {1, 2}}
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        assert safe_load(path) == value


def test_every_malicious_pickle_is_refused_before_anything_runs(tmp_path):
    for path in write_corpus(tmp_path / "corpus"):
        if path.name.startswith("extension-code"):
            continue  # a warning in the scan; its load fails on the unknown code anyway
        with pytest.raises(UnsafeModelError) as caught:
            safe_load(path)
        assert caught.value.path == str(path) and caught.value.findings
        assert "importwall refused to load" in str(caught.value)
    for path in write_format_corpus(tmp_path / "formats"):
        with pytest.raises(UnsafeModelError):
            safe_load(path)
    assert not SENTINEL.exists()


@pytest.mark.parametrize("name", sorted(n for n in PAYLOADS if n != "unlisted-function"))
def test_the_restricted_find_class_refuses_what_the_scan_flags(name):
    """Past the scan (a file changed after it was scanned), the unpickler itself refuses:
    it never imports a dangerous global."""
    payload, _ = PAYLOADS[name]
    guard = _Guard(Classifier(strict=False), "in-memory")
    with pytest.raises(UnsafeModelError) as caught:
        guard.unpickler(io.BytesIO(dumps(payload, 4))).load()
    assert caught.value.subject
    assert not SENTINEL.exists()


def test_a_teams_class_needs_the_policy_or_strict_false(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(TeamModel([1.0])))
    with pytest.raises(UnsafeModelError) as caught:
        safe_load(path)
    assert caught.value.subject == f"{__name__}.TeamModel"
    assert "[models] allow" in str(caught.value)
    assert safe_load(path, strict=False).weights == [1.0]
    policy = write_files(tmp_path, {"policy.toml": f"""
        version = 1
        [models]
        allow = ["{__name__}.TeamModel"]
    """}) / "policy.toml"
    assert safe_load(path, policy=str(policy)).weights == [1.0]


def test_the_error_survives_pickling(tmp_path):
    error = UnsafeModelError("m.pkl", "refused", (), "os.system")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, str(copy), copy.subject, copy.code) == (
        "m.pkl", "refused", "os.system", "unsafe-model")


# --------------------------------------------------------------------------- real loaders

_LOAD_REAL = """
import json, pickle, sys
from pathlib import Path
import joblib, numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from importwall.models import safe_load, UnsafeModelError

out = Path(sys.argv[1])
rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3)); y = (X[:, 0] > 0).astype(int)
model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
expected = model.predict(X).tolist()
results = {}
for name, save in {
        "model.pkl": lambda p: p.write_bytes(pickle.dumps(model, protocol=5)),
        "model.joblib": lambda p: joblib.dump(model, p),
        "model.gz.joblib": lambda p: joblib.dump(model, p, compress=("gzip", 3)),
        "objects.npy": lambda p: np.save(p, np.array([1, "a", None], dtype=object)),
        "numeric.npy": lambda p: np.save(p, np.arange(6.0))}.items():
    path = out / name
    save(path)
    loaded = safe_load(path)
    if hasattr(loaded, "predict"):
        results[name] = loaded.predict(X).tolist() == expected
    else:
        results[name] = np.array_equal(loaded, np.load(path, allow_pickle=True))
evil = out / "evil.joblib"
evil.write_bytes(bytes.fromhex(sys.argv[2]))
try:
    safe_load(evil)
except UnsafeModelError as error:
    results["evil"] = error.subject
print(json.dumps(results))
"""


@pytest.mark.slow
def test_real_joblib_pickle_and_npy_files_load_and_a_payload_is_refused(tmp_path_factory):
    python = venv_with_packages(tmp_path_factory.mktemp("benign-venv"), BENIGN_PACKAGES)
    import gzip

    evil = gzip.compress(dumps(PAYLOADS["subprocess-popen"][0], 4)).hex()
    made = run_python(["-c", textwrap.dedent(_LOAD_REAL), str(tmp_path_factory.mktemp("m")),
                       evil], python=python, timeout=300)
    assert made.returncode == 0, made.output
    assert json.loads(made.stdout) == {
        "model.pkl": True, "model.joblib": True, "model.gz.joblib": True,
        "objects.npy": True, "numeric.npy": True, "evil": "subprocess.Popen"}


_LOAD_TORCH = """
import io, json, pickle, sys, zipfile
from pathlib import Path
import torch
from importwall.models import safe_load, UnsafeModelError

out = Path(sys.argv[1])
net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
results = {}
for name, legacy in (("zip.pt", False), ("legacy.pt", True)):
    torch.save(net.state_dict(), out / name, _use_new_zipfile_serialization=not legacy)
    loaded = safe_load(out / name)
    results[name] = all(torch.equal(loaded[k], v) for k, v in net.state_dict().items())
(out / "plain.pkl").write_bytes(pickle.dumps(net.state_dict(), protocol=4))
loaded = safe_load(out / "plain.pkl")
results["plain.pkl"] = torch.equal(loaded["0.weight"], net.state_dict()["0.weight"])
torch.save(net, out / "module.pt")  # a whole module: torch.nn classes are known-safe
results["module.pt"] = isinstance(safe_load(out / "module.pt"), torch.nn.Sequential)
evil = out / "evil.pt"
with zipfile.ZipFile(out / "module.pt") as source, zipfile.ZipFile(evil, "w") as target:
    for info in source.infolist():
        data = source.read(info)
        if info.filename.endswith("data.pkl"):
            data = bytes.fromhex(sys.argv[2])
        target.writestr(info, data)
try:
    safe_load(evil)
except UnsafeModelError as error:
    results["evil.pt"] = error.subject
print(json.dumps(results))
"""


@pytest.mark.slow
@pytest.mark.heavy
def test_torch_files_load_through_the_restricted_unpickler(tmp_path_factory):
    python = venv_with_packages(tmp_path_factory.mktemp("heavy-venv"), HEAVY_PACKAGES)
    evil = dumps(PAYLOADS["runpy-run-code"][0], 2).hex()
    made = run_python(["-c", textwrap.dedent(_LOAD_TORCH), str(tmp_path_factory.mktemp("t")),
                       evil], python=python, timeout=300)
    assert made.returncode == 0, made.output
    assert json.loads(made.stdout) == {"zip.pt": True, "legacy.pt": True, "plain.pkl": True,
                                       "module.pt": True, "evil.pt": "runpy._run_code"}
