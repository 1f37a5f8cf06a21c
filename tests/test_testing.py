"""``importwall.testing.assert_clean``: a serving entry point, imported in a fresh
interpreter under a policy, on a sample package with clean and dirty entry points."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from helpers import run_python

from importwall.errors import PolicyError
from importwall.testing import assert_clean

SERVICE = {
    "shop/__init__.py": "",
    "shop/model.py": """
        def predict(request):
            return 42
    """,
    "shop/training.py": """
        def explain(request):
            return "feature importances from the training split"
    """,
    "shop/serve.py": """
        from shop import model


        class App:
            def warmup(self):
                return model.predict({})

            def warmup_with_explanations(self):
                from shop import training  # lazy: only seen when the warm-up runs
                return training.explain({})


        app = App()
    """,
    "shop/leaky.py": """
        from shop.training import explain


        def warmup():
            return explain({})
    """,
    "shop/broken.py": """
        raise RuntimeError("the model file is missing")
    """,
    "policy.toml": """
        version = 1
        [imports]
        deny = [
            { module = "shop.training", reason = "training code stays out of serving" },
            { module = "json.tool", severity = "warning" },
        ]
    """,
}


@pytest.fixture
def shop(project) -> Path:
    project.write(SERVICE)
    return Path(project.root)


def test_a_clean_entry_point_passes(shop: Path) -> None:
    result = assert_clean("shop.serve:app", shop / "policy.toml", call="warmup",
                          pythonpath=[shop])
    assert result.findings == ()
    assert result.target == "shop.serve:app"
    assert result.policy == str(shop / "policy.toml")


def test_a_lazy_import_on_the_warmup_path_fails_with_its_chain(shop: Path) -> None:
    with pytest.raises(AssertionError) as failure:
        assert_clean("shop.serve:app", shop / "policy.toml",
                     call="warmup_with_explanations", pythonpath=[shop])
    message = str(failure.value)
    assert "shop.serve:app is not clean under policy" in message
    assert "import of 'shop.training' is forbidden by rule deny 'shop.training'" in message
    assert "reason: training code stays out of serving" in message
    assert f"{shop / 'shop' / 'serve.py'}:9 in warmup_with_explanations()" in message


def test_a_module_level_import_fails_even_when_this_process_has_it(shop: Path) -> None:
    # The child starts with a clean sys.modules: what this process already imported
    # cannot hide a leak.
    sys.path.insert(0, str(shop))
    try:
        importlib.import_module("shop.training")

        with pytest.raises(AssertionError) as failure:
            assert_clean("shop.leaky", shop / "policy.toml", call="warmup", pythonpath=[shop])
    finally:
        sys.path.remove(str(shop))
        for name in [n for n in sys.modules if n == "shop" or n.startswith("shop.")]:
            del sys.modules[name]
    message = str(failure.value)
    assert "imported by: shop.leaky" in message
    assert f"{shop / 'shop' / 'leaky.py'}:1" in message


def test_findings_below_fail_on_are_returned_not_raised(shop: Path) -> None:
    (shop / "shop" / "pretty.py").write_text("import json.tool\n", encoding="utf-8")
    result = assert_clean("shop.pretty", shop / "policy.toml", fail_on="error",
                          pythonpath=[shop])
    [finding] = result.findings
    assert (finding.subject, finding.severity, finding.importer) == (
        "json.tool", "warning", "shop.pretty")
    with pytest.raises(AssertionError, match=r"json\.tool"):
        assert_clean("shop.pretty", shop / "policy.toml", pythonpath=[shop])


def test_an_entry_point_that_cannot_start_is_reported(shop: Path) -> None:
    with pytest.raises(AssertionError) as failure:
        assert_clean("shop.broken", shop / "policy.toml", pythonpath=[shop])
    assert "could not import or call shop.broken" in str(failure.value)
    assert "RuntimeError: the model file is missing" in str(failure.value)


def test_a_broken_policy_fails_in_the_test_process(shop: Path) -> None:
    (shop / "bad.toml").write_text("version = 1\n[imports]\ndeny = 3\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"bad\.toml:3"):
        assert_clean("shop.serve", shop / "bad.toml", pythonpath=[shop])


def test_the_probe_explains_its_usage() -> None:
    result = run_python(["-m", "importwall.runtime.probe", "shop.serve"])
    assert result.returncode == 2
    usage = "usage: python -m importwall.runtime.probe MODULE[:ATTRIBUTE] --out FILE"
    assert usage in result.stderr
