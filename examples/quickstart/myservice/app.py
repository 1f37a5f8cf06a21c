"""The request handler."""

from myservice.model import predict


def handle_request(payload: dict) -> dict:
    features = payload["x"]
    if payload.get("explain"):
        # A lazy import of evaluation code: it only runs on some requests, which is how
        # training code slips into production unnoticed.
        from myservice.training import feature_importance

        return {"y": predict(features), "importance": feature_importance(features)}
    from myservice.training import cross_validate  # the deliberate mistake

    return {"y": predict(features), "cv": cross_validate(features)}
