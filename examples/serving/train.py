"""Train the iris pipeline and write it where the server loads it: ``model.joblib``.

Training code: it splits the data and searches hyper-parameters, which is exactly what the
server must not do. Run it without importwall: ``python examples/serving/train.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent


def train(output: Path) -> float:
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                        stratify=y)
    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
                          {"logisticregression__C": [0.1, 1.0, 10.0]}, cv=3)
    search.fit(X_train, y_train)
    # Ship the fitted pipeline, not the search object: the server needs only predict.
    joblib.dump(search.best_estimator_, output)
    return float(search.score(X_test, y_test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=HERE / "model.joblib")
    args = parser.parse_args()
    accuracy = train(args.output)
    print(f"wrote {args.output} (held-out accuracy {accuracy:.3f})")


if __name__ == "__main__":
    main()
