"""The model server. Run it with uvicorn: ``uvicorn irisserve.app:app``.

``/explain`` is the deliberate mistake this example exists to show: evaluation code copied
from a notebook into a request handler. Under importwall it is stopped at its import, and the
error names the handler and the line.
"""

from __future__ import annotations

import os
from pathlib import Path

import joblib
from fastapi import FastAPI
from pydantic import BaseModel

from irisserve.features import CLASSES, FEATURES, to_row

MODEL_PATH = Path(os.environ.get("IRIS_MODEL", Path(__file__).resolve().parent.parent /
                                 "model.joblib"))

app = FastAPI(title="iris classifier")
# Unpickling the pipeline imports sklearn's estimator modules, and they import
# sklearn.model_selection themselves: the sklearn pack's exception lets exactly that through.
model = joblib.load(MODEL_PATH)


class Flower(BaseModel):
    sepal_length: float
    sepal_width: float
    petal_length: float
    petal_width: float


@app.post("/predict")
def predict(flower: Flower) -> dict[str, object]:
    row = to_row(flower.model_dump())
    probabilities = model.predict_proba([row])[0]
    best = int(probabilities.argmax())
    return {"class": CLASSES[best], "probability": round(float(probabilities[best]), 3)}


@app.get("/explain")
def explain() -> dict[str, float]:
    # The training import: permutation importance needs the training data and the
    # evaluation tooling, neither of which belongs in a server.
    from sklearn.datasets import load_iris
    from sklearn.inspection import permutation_importance

    data = load_iris()
    result = permutation_importance(model, data.data, data.target, n_repeats=3, random_state=0)
    scores = (round(float(v), 3) for v in result.importances_mean)
    return dict(zip(FEATURES, scores, strict=True))
