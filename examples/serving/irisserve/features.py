"""The inference path that training and serving share: feature names and their order."""

from __future__ import annotations

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
CLASSES = ("setosa", "versicolor", "virginica")


def to_row(measurements: dict[str, float]) -> list[float]:
    """One model input row, in the order the model was trained on."""
    return [float(measurements[name]) for name in FEATURES]
