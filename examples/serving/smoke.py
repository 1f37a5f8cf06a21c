"""Send one request to each endpoint of the server, in-process, and exit.

``importwall run --policy examples/serving/importwall.toml -- python examples/serving/smoke.py``
shows the server predicting under the firewall and ``/explain`` stopped at its training
import, with the rule, the reason and the import chain. Exits 0 when ``/predict`` answers.
"""

from __future__ import annotations

import sys

from fastapi.testclient import TestClient
from irisserve.app import app


def main() -> int:
    client = TestClient(app)
    flower = {"sepal_length": 6.1, "sepal_width": 2.8, "petal_length": 4.7, "petal_width": 1.2}
    response = client.post("/predict", json=flower)
    print(f"POST /predict -> {response.status_code} {response.json()}")
    if response.status_code != 200:
        return 1
    try:
        response = client.get("/explain")
        print(f"GET /explain -> {response.status_code} {response.json()}")
    except ModuleNotFoundError as error:  # importwall's ForbiddenImportError is one
        print(f"GET /explain -> failed: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
