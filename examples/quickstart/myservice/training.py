"""Training-only code: splitting, cross-validation, evaluation."""


def cross_validate(features: list[float]) -> float:
    return sum(features) / len(features)


def feature_importance(features: list[float]) -> list[float]:
    total = sum(abs(x) for x in features) or 1.0
    return [abs(x) / total for x in features]
