"""Inference: the part serving and training share."""


def predict(features: list[float]) -> float:
    weights = [0.5, -0.25, 1.0]
    return sum(w * x for w, x in zip(weights, features))
