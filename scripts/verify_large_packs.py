"""Verify the packs whose libraries are too large for the test suite, on the real libraries.

Run it with the interpreter of an environment that has the libraries installed::

    python -m venv /tmp/large && /tmp/large/bin/pip install torch==2.13.0 transformers \
        accelerate catboost tensorflow-cpu
    /tmp/large/bin/python scripts/verify_large_packs.py --output benchmarks/verify_large_packs.txt

For each scenario whose libraries are importable, in fresh interpreters:

1. ``prepare`` builds a tiny model on disk, without the firewall (that is training);
2. the serving code runs under the pack in ``audit`` mode with the pack's exceptions removed:
   the denied modules the libraries import themselves, and who imports them, are the
   evidence the exceptions are written from;
3. the serving code runs under the full pack in ``enforce`` mode and must succeed;
4. each first-party training import must then be blocked, importer ``serving``.

Everything is written to the output (default: stdout). Exit status 1 when a check fails.
Scenarios whose libraries are missing are listed as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIRST_PARTY = "serving"


@dataclass(frozen=True)
class Scenario:
    name: str
    pack: str
    requires: tuple[str, ...]  # distributions (`a|b`: either), for versions and skipping
    prepare: str
    serve: str
    first_party: tuple[str, ...]


SCENARIOS = (
    Scenario(
        name="pytorch: load a state dict and a TorchScript module, predict",
        pack="pytorch",
        requires=("torch",),
        prepare="""
            import torch
            from torch import nn
            net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
            torch.save(net.state_dict(), "net.pt")
            torch.jit.save(torch.jit.script(net), "net.jit")
        """,
        serve="""
            import torch
            from torch import nn
            model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
            model.load_state_dict(torch.load("net.pt", weights_only=True))
            model.eval()
            with torch.inference_mode():
                assert model(torch.ones(1, 4)).shape == (1, 2)
                assert torch.jit.load("net.jit")(torch.ones(1, 4)).shape == (1, 2)
        """,
        first_party=(
            "import torch.optim",
            "from torch import optim",
            "from torch.utils.data import DataLoader",
            "import torch.distributed as dist",
            "import torch.testing",
        ),
    ),
    Scenario(
        name="huggingface: from_pretrained (accelerate installed), predict",
        pack="huggingface",
        requires=("torch", "transformers", "accelerate"),
        prepare="""
            from transformers import BertConfig, BertForSequenceClassification
            config = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=32, num_labels=2)
            BertForSequenceClassification(config).save_pretrained("tiny-bert")
        """,
        serve="""
            import sys
            import torch
            from transformers import AutoModelForSequenceClassification
            model = AutoModelForSequenceClassification.from_pretrained("tiny-bert")
            model.eval()
            with torch.inference_mode():
                logits = model(input_ids=torch.tensor([[1, 2, 3]])).logits
            assert logits.shape == (1, 2)
            assert "accelerate" in sys.modules, "from_pretrained did not load accelerate"
        """,
        first_party=(
            "from transformers import Trainer",
            "from transformers.training_args import TrainingArguments",
            "import accelerate",
            "from torch.utils.data import DataLoader",
            "import torch.optim",
        ),
    ),
    Scenario(
        name="catboost: load a model file, predict",
        pack="xgboost-lightgbm-catboost",
        requires=("catboost",),
        prepare="""
            import numpy as np
            from catboost import CatBoostClassifier
            X = np.random.RandomState(0).rand(60, 4)
            CatBoostClassifier(iterations=5, verbose=False, allow_writing_files=False).fit(
                X, (X[:, 0] > 0.5).astype(int)).save_model("model.cbm")
        """,
        serve="""
            from catboost import CatBoostClassifier
            model = CatBoostClassifier()
            model.load_model("model.cbm")
            assert list(model.predict([[0.9, 0.1, 0.1, 0.1]])) == [1]
        """,
        first_party=("import catboost.datasets", "from catboost.eval import evaluation_result"),
    ),
    Scenario(
        name="tensorflow-keras: load a .keras model, predict",
        pack="tensorflow-keras",
        requires=("tensorflow|tensorflow-cpu",),
        prepare="""
            import numpy as np
            import tensorflow as tf
            model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2)])
            model.compile(optimizer="adam", loss="mse")
            model.fit(np.ones((8, 4)), np.ones((8, 2)), epochs=1, verbose=0)
            model.save("model.keras")
        """,
        serve="""
            import numpy as np
            import tensorflow as tf
            model = tf.keras.models.load_model("model.keras")
            assert model.predict(np.ones((1, 4)), verbose=0).shape == (1, 2)
        """,
        first_party=(
            "from keras.callbacks import EarlyStopping",
            "from tensorflow.keras.callbacks import TensorBoard",
            "from keras.datasets import mnist",
            "import keras.optimizers",
            "import tensorflow_datasets",
            "import tensorboard",
        ),
    ),
)

# Runs in the child: the pack (without exceptions in audit mode), serving code as module
# `serving`, then each first-party statement; prints the findings and outcomes as JSON.
CHILD = """
import dataclasses, json, sys, traceback
import importwall
from importwall.policy import load_policy

pack, mode, serve, statements = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
policy = load_policy(pack)
if mode == "audit":
    policy = dataclasses.replace(
        policy, imports=dataclasses.replace(policy.imports, exceptions=()))
firewall = importwall.activate(policy, mode=mode)
out = {"serve": "ok", "statements": {}}
try:
    exec(compile(serve, "serving.py", "exec"), {"__name__": "serving"})
except BaseException:
    out["serve"] = traceback.format_exc(limit=-3)
serving_findings = [f.to_dict() for f in firewall.findings]
for statement in statements:
    try:
        exec(compile(statement, "serving.py", "exec"), {"__name__": "serving"})
        out["statements"][statement] = None
    except ModuleNotFoundError as error:
        cause = error  # a library may wrap the block (transformers' lazy module does)
        while cause is not None and not isinstance(cause, importwall.ForbiddenImportError):
            cause = cause.__cause__ or cause.__context__
        out["statements"][statement] = {
            "error": type(error).__name__ + (f" from {type(cause).__name__}"
                                             if cause is not None and cause is not error else ""),
            "module": getattr(cause, "module", None),
            "importer": getattr(cause, "importer", None)}
out["serving_findings"] = serving_findings
print("\\0" + json.dumps(out))
"""


def _installed(requires: tuple[str, ...]) -> dict[str, str] | None:
    """Installed versions of ``requires`` (``a|b``: either distribution), or ``None``."""
    versions = {}
    for alternatives in requires:
        for name in alternatives.split("|"):
            try:
                versions[name] = metadata.version(name)
                break
            except metadata.PackageNotFoundError:
                continue
        else:
            return None
    return versions


def _python(code: str, args: list[str], cwd: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPORTWALL_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=600, check=False)
    _, _, payload = proc.stdout.rpartition("\0")
    if proc.returncode != 0 or not payload:
        return {"crashed": f"exit {proc.returncode}\n{proc.stderr[-3000:]}"}
    result: dict[str, object] = json.loads(payload)
    return result


def _importers(findings: list[dict[str, object]]) -> list[str]:
    """``rule <- importer`` for the imports libraries made, leaving out a denied package
    importing its own submodules."""
    pairs = set()
    for finding in findings:
        importer = str(finding.get("importer"))
        pattern = str(finding["rule"]).split("'")[1]
        if importer in (FIRST_PARTY, pattern) or importer.startswith(pattern + "."):
            continue
        pairs.add(f"{finding['rule']} <- {importer}")
    return sorted(pairs)


def verify(scenario: Scenario, lines: list[str]) -> bool:
    """Run one scenario; append what was checked to ``lines``; True when every check held."""
    lines.append(f"## {scenario.name}")
    lines.append(f"pack: {scenario.pack}")
    versions = _installed(scenario.requires)
    if versions is None:
        lines += [f"skipped: needs {', '.join(scenario.requires)} installed", ""]
        return True
    lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    ok = True
    with tempfile.TemporaryDirectory() as workdir:
        prepared = _python(textwrap.dedent(scenario.prepare) + "\nprint('\\0{}')", [], workdir)
        if "crashed" in prepared:
            lines += ["FAIL prepare crashed:", str(prepared["crashed"]), ""]
            return False
        serve = textwrap.dedent(scenario.serve)
        statements = json.dumps(list(scenario.first_party))
        audit = _python(CHILD, [scenario.pack, "audit", serve, statements], workdir)
        enforce = _python(CHILD, [scenario.pack, "enforce", serve, statements], workdir)
    for label, run in (("audit", audit), ("enforce", enforce)):
        if "crashed" in run:
            lines += [f"FAIL {label} run crashed:", str(run["crashed"]), ""]
            return False
    lines.append("evidence: denied modules the libraries import themselves (audit mode, pack "
                 "without its exceptions), rule <- direct importer:")
    lines += [f"    {pair}" for pair in _importers(audit["serving_findings"])] or ["    (none)"]
    if enforce["serve"] != "ok":
        ok = False
        lines += ["FAIL serving under enforce:", textwrap.indent(str(enforce["serve"]), "    ")]
    else:
        lines.append("ok   serving code runs under enforce")
    leftover = _importers(enforce["serving_findings"])
    lines.append("findings left under enforce (blocked optional-dependency probes or "
                 "imports, the library falls back):")
    lines += [f"    {pair}" for pair in leftover] or ["    (none)"]
    for statement, outcome in enforce["statements"].items():
        if outcome is None:
            ok = False
            lines.append(f"FAIL first-party `{statement}` was not blocked")
        elif outcome["module"] is None:  # failed, but not because importwall blocked it
            ok = False
            lines.append(f"FAIL first-party `{statement}` failed with {outcome['error']}, "
                         "not a block")
        else:
            lines.append(f"ok   first-party `{statement}` blocked: {outcome['error']} for "
                         f"{outcome['module']}, direct importer {outcome['importer']}")
    lines.append("")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", "-o", help="write the record here (default: stdout)")
    parser.add_argument("--pack", action="append", help="only the scenarios of this pack")
    args = parser.parse_args(argv)
    lines = ["# importwall: large packs verified on the real libraries",
             f"python {platform.python_version()} on {platform.system()} {platform.machine()}",
             f"command: python scripts/verify_large_packs.py {' '.join(argv or sys.argv[1:])}",
             ""]
    ok = True
    for scenario in SCENARIOS:
        if args.pack and scenario.pack not in args.pack:
            continue
        ok = verify(scenario, lines) and ok
    lines.append("result: " + ("every check held" if ok else "FAILED"))
    text = "\n".join(lines) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
