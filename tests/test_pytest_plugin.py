"""The pytest plugin, pinned with pytester: every run is a fresh ``pytest`` subprocess so the
plugin loads through its ``pytest11`` entry point exactly as in a user's project."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest

from importwall.report import schema_path

pytest_plugins = ["pytester"]

SERVICE = {
    "myservice/__init__.py": "",
    "myservice/model.py": """
        def predict(request):
            return 42
    """,
    "myservice/training.py": """
        def explain(request):
            return "feature importances from the training split"
    """,
    "myservice/app.py": """
        from myservice import model


        def handle(request):
            if request.get("explain"):
                from myservice import training  # the leak: training code on a request path
                return training.explain(request)
            return model.predict(request)


        def handle_optional(request):
            try:
                from myservice import training
            except ImportError:  # optional extra: quietly falls back
                return None
            return training.explain(request)
    """,
    "policy.toml": """
        version = 1
        [imports]
        deny = [
            { module = "myservice.training", reason = "training code stays out of serving" },
        ]
    """,
    "strict.toml": """
        version = 1
        [imports]
        deny = [{ module = "myservice", reason = "strict: no service code at all" }]
    """,
}


@pytest.fixture
def service(pytester: pytest.Pytester) -> pytest.Pytester:
    for path, source in SERVICE.items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return pytester


def write_tests(pytester: pytest.Pytester, source: str, name: str = "test_serving") -> None:
    pytester.makepyfile(**{name: textwrap.dedent(source)})


TESTS = """
    from myservice.app import handle

    def test_predict():
        assert handle({}) == 42

    def test_explain():
        assert handle({"explain": True})
"""


def test_plugin_is_inert_unless_asked(service: pytest.Pytester) -> None:
    write_tests(service, """
        import sys

        def test_nothing_is_active(pytestconfig):
            assert pytestconfig.pluginmanager.has_plugin("importwall")
            assert not [f for f in sys.meta_path if type(f).__name__ == "Firewall"]
            assert "importwall.testing" not in sys.modules
            assert not {"rich", "psutil"} & set(sys.modules)

        def test_training_import_is_fine():
            from myservice import training
            assert training.explain({})
    """)
    result = service.runpytest_subprocess()
    result.assert_outcomes(passed=2)
    assert "= importwall =" not in result.stdout.str()


def test_enforce_fails_the_test_with_rule_and_chain(service: pytest.Pytester) -> None:
    write_tests(service, TESTS)
    result = service.runpytest_subprocess("--importwall=policy.toml")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*importwall: test test_serving.py::test_explain imported 1 module(s) that policy "
        "*policy.toml forbids (enforce mode)*",
        "*import of 'myservice.training' is forbidden by rule deny 'myservice.training' "
        "(*policy.toml:4)*",
        "*reason: training code stays out of serving*",
        "*imported by: myservice.app*",
        "*myservice.app*app.py:6 in handle()*",
        "*-> myservice.training*",
    ])
    # pytest's own frames are trimmed from the chain
    assert "__main__" not in result.stdout.str()


def test_a_swallowed_block_still_fails_the_test(service: pytest.Pytester) -> None:
    write_tests(service, """
        from myservice.app import handle_optional

        def test_optional_path():
            assert handle_optional({}) is None
    """)
    result = service.runpytest_subprocess("--importwall=policy.toml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*myservice.app*in handle_optional()*"])


def test_audit_mode_reports_without_failing(service: pytest.Pytester) -> None:
    write_tests(service, TESTS)
    report = service.path / "out" / "importwall.json"
    result = service.runpytest_subprocess("--importwall=policy.toml", "--importwall-mode=audit",
                                          f"--importwall-report={report}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([
        "*= importwall =*",
        "ERROR test_serving.py::test_explain: recorded 'myservice.training' by rule "
        "deny 'myservice.training' (*policy.toml:4)",
        "    chain: myservice.app -> myservice.training",
        "1 forbidden import(s)",
        f"importwall report written to {report}",
    ])
    document = json.loads(report.read_text(encoding="utf-8"))
    # The standard report every importwall command writes, not a pytest-only shape.
    jsonschema.validate(document, json.loads(Path(schema_path()).read_text(encoding="utf-8")))
    assert (document["format"], document["version"]) == ("importwall-report", 1)
    assert document["policy"] == str(service.path / "policy.toml")
    assert document["rules"] == ["deny 'myservice.training'"]
    assert document["metadata"]["runner"] == "pytest"
    assert document["summary"]["by_severity"] == {"error": 1, "warning": 0, "info": 0}
    [finding] = document["findings"]
    assert finding["subject"] == "myservice.training"
    assert finding["action"] == "recorded"
    assert finding["message"].endswith("(in call of test_serving.py::test_explain)")
    assert finding["details"] == {"mode": "audit", "phase": "call",
                                  "test": "test_serving.py::test_explain"}
    assert [frame["module"] for frame in finding["chain"]] == ["myservice.app"]


def test_report_in_other_formats(service: pytest.Pytester) -> None:
    write_tests(service, TESTS)
    report = service.path / "importwall.sarif"
    result = service.runpytest_subprocess("--importwall=policy.toml", "--importwall-mode=audit",
                                          f"--importwall-report={report}",
                                          "--importwall-report-format=sarif")
    result.assert_outcomes(passed=2)
    sarif = json.loads(report.read_text(encoding="utf-8"))
    [run] = sarif["runs"]
    [found] = run["results"]
    assert "test_serving.py::test_explain" in found["message"]["text"]

    junit = service.path / "importwall.xml"
    result = service.runpytest_subprocess("--importwall=policy.toml", "--importwall-mode=audit",
                                          f"--importwall-report={junit}",
                                          "--importwall-report-format=junit")
    result.assert_outcomes(passed=2)
    failures = ElementTree.parse(junit).getroot().iter("failure")
    assert any("myservice.training" in (f.get("message") or "") for f in failures)

    unknown = service.runpytest_subprocess("--importwall=policy.toml",
                                           f"--importwall-report={report}",
                                           "--importwall-report-format=pdf")
    assert unknown.ret == pytest.ExitCode.USAGE_ERROR
    unknown.stderr.fnmatch_lines(["*unknown report format 'pdf'; use one of text, json*"])


def test_an_unwritable_report_is_a_readable_error(service: pytest.Pytester) -> None:
    write_tests(service, TESTS)
    (service.path / "taken").write_text("a file, not a folder", encoding="utf-8")
    result = service.runpytest_subprocess("--importwall=policy.toml", "--importwall-mode=audit",
                                          "--importwall-report=taken/importwall.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["importwall: cannot write the report to "
                                 "'taken/importwall.json': *"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_warn_mode_warns_and_passes(service: pytest.Pytester) -> None:
    write_tests(service, TESTS)
    result = service.runpytest_subprocess("--importwall=policy.toml", "--importwall-mode=warn")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines([
        "*app.py:6: ImportWallWarning: import of 'myservice.training' warned by myservice.app*",
        "ERROR test_serving.py::test_explain: warned 'myservice.training' *",
    ])


def test_fixture_setup_is_guarded_and_conftest_imports_count(service: pytest.Pytester) -> None:
    service.makeconftest("""
        import pytest

        @pytest.fixture
        def explainer():
            from myservice import training
            return training
    """)
    write_tests(service, """
        def test_uses_explainer(explainer):
            pass
    """)
    result = service.runpytest_subprocess("--importwall=policy.toml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_uses_explainer*",
        "*imported by: conftest*",
        "*conftest.py:5 in explainer()*",
    ])


def test_ini_settings_and_cli_precedence(service: pytest.Pytester) -> None:
    write_tests(service, TESTS)
    service.makeini("""
        [pytest]
        importwall_policy = policy.toml
        importwall_mode = audit
    """)
    # the ini alone turns the plugin on, in the ini's mode
    service.runpytest_subprocess().assert_outcomes(passed=2)
    # the command line mode beats the ini
    service.runpytest_subprocess("--importwall-mode=enforce").assert_outcomes(
        passed=1, failed=1)
    # the command line policy beats the ini policy
    strict = service.runpytest_subprocess("--importwall=strict.toml",
                                          "--importwall-mode=enforce")
    strict.assert_outcomes(errors=1)
    strict.stdout.fnmatch_lines(["*forbidden by rule deny 'myservice'*strict.toml*"])


def test_markers_relax_tighten_and_replace(service: pytest.Pytester) -> None:
    write_tests(service, """
        import pytest
        from myservice.app import handle

        @pytest.mark.importwall(allow=["myservice.training"])
        def test_allowed_here():
            assert handle({"explain": True})

        @pytest.mark.importwall(deny="json.tool")
        def test_denied_here():
            import json.tool

        @pytest.mark.importwall(mode="audit")
        def test_audited_here():
            assert handle({"explain": True})

        @pytest.mark.importwall(policy="strict.toml", allow="myservice.model")
        def test_replaced_policy():
            import myservice.training

        @pytest.mark.importwall(deny="myservice.model")
        class TestClassMarker:
            @pytest.mark.importwall(allow="myservice.model")
            def test_closest_marker_wins(self):
                import myservice.model
    """)
    result = service.runpytest_subprocess("--importwall=policy.toml", "-rA")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines([
        "PASSED test_serving.py::test_allowed_here",
        "PASSED test_serving.py::test_audited_here",
        "PASSED test_serving.py::TestClassMarker::test_closest_marker_wins",
        "FAILED test_serving.py::test_denied_here - Failed: importwall: *",
        "FAILED test_serving.py::test_replaced_policy - Failed: importwall: *",
    ])
    result.stdout.fnmatch_lines([
        "*forbidden by rule deny 'json.tool' (@pytest.mark.importwall on "
        "test_serving.py::test_denied_here)*",
        "*forbidden by rule deny 'myservice' (*strict.toml:3)*",
    ])


def test_a_marker_alone_activates_the_plugin(service: pytest.Pytester) -> None:
    write_tests(service, """
        import pytest

        @pytest.mark.importwall("policy.toml")
        def test_guarded():
            import myservice.training

        def test_unguarded():
            import myservice.training
    """)
    result = service.runpytest_subprocess("-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_serving.py::test_guarded - Failed: importwall: *"])


def test_collection_time_imports_are_charged_to_the_test_module(
        service: pytest.Pytester) -> None:
    write_tests(service, """
        from myservice import training

        def test_never_runs():
            pass
    """, name="test_leaky")
    write_tests(service, """
        import pytest
        from myservice import training

        pytestmark = pytest.mark.importwall(allow=["myservice.training"])

        def test_training_suite():
            assert training.explain({})
    """, name="test_training_suite")
    result = service.runpytest_subprocess("--importwall=policy.toml",
                                          "--continue-on-collection-errors")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR collecting test_leaky.py*",
        "*importwall: test module test_leaky.py imported 1 module(s)*",
        "*imported by: test_leaky*",
        "*test_leaky*test_leaky.py:1*",
        "*-> myservice.training*",
    ])


def test_imports_by_pytest_plugins_do_not_count(service: pytest.Pytester) -> None:
    service.makepyfile(serving_helpers="""
        import pytest

        @pytest.fixture
        def pretty():
            import json.tool  # a plugin's lazy import, not the code under test
            return json.tool
    """)
    write_tests(service, """
        def test_uses_the_plugin_fixture(pretty):
            assert pretty
    """)
    service.makefile(".toml", deny_json_tool="""
        version = 1
        [imports]
        deny = ["json.tool"]
    """)
    result = service.runpytest_subprocess("-p", "serving_helpers",
                                          "--importwall=deny_json_tool.toml")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["no forbidden imports"])


def test_a_policy_that_denies_pytest_itself_leaves_tests_alone(
        service: pytest.Pytester) -> None:
    # A serving policy rightly denies test tools; the test process always has them.
    service.makefile(".toml", no_test_tools="""
        version = 1
        [imports]
        deny = ["pytest", "_pytest", "pluggy", "myservice.training"]
    """)
    write_tests(service, """
        import pytest
        import _pytest.pytester

        def test_uses_pytest(tmp_path):
            assert pytest.approx(1.0) == 1.0

        def test_still_guarded():
            import myservice.training
    """)
    result = service.runpytest_subprocess("--importwall=no_test_tools.toml", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_serving.py::test_still_guarded - *"])


def test_xdist_workers_findings_reach_the_controller(service: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    write_tests(service, """
        import pytest
        from myservice.app import handle

        @pytest.mark.parametrize("n", range(4))
        def test_explain(n):
            assert handle({"explain": True})
    """)
    report = service.path / "importwall.json"
    result = service.runpytest_subprocess("-n", "2", "--importwall=policy.toml",
                                          "--importwall-mode=audit",
                                          f"--importwall-report={report}")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["4 forbidden import(s)"])
    findings = json.loads(report.read_text(encoding="utf-8"))["findings"]
    assert sorted(f["details"]["test"] for f in findings) == [
        f"test_serving.py::test_explain[{n}]" for n in range(4)]
    assert len({pid for f in findings for pid in f["pids"]}) == 2  # both workers contributed
    assert all([fr["module"] for fr in f["chain"]] == ["myservice.app"] for f in findings)

    enforced = service.runpytest_subprocess("-n", "2", "--importwall=policy.toml")
    enforced.assert_outcomes(failed=4)
    enforced.stdout.fnmatch_lines(["*-> myservice.training*", "4 forbidden import(s)"])


def test_bad_settings_are_usage_errors(service: pytest.Pytester) -> None:
    write_tests(service, """
        import pytest

        @pytest.mark.importwall(allow=3)
        def test_bad_marker():
            pass
    """)
    missing = service.runpytest_subprocess("--importwall=nope.toml")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["*importwall: invalid policy: nope.toml:1: policy: no such "
                                  "file or shipped pack*"])
    bad_marker = service.runpytest_subprocess("--importwall=policy.toml")
    bad_marker.stdout.fnmatch_lines(["*@pytest.mark.importwall on test_serving.py::"
                                     "test_bad_marker: allow= must be a module pattern*"])
    bare = service.runpytest_subprocess("--importwall")
    assert bare.ret == pytest.ExitCode.USAGE_ERROR
    bare.stderr.fnmatch_lines(["*--importwall needs a policy*"])


def test_assert_clean_fixture(service: pytest.Pytester) -> None:
    write_tests(service, """
        import pytest

        def test_clean(importwall_assert_clean):
            result = importwall_assert_clean("myservice.app:handle")
            assert result.findings == ()

        def test_dirty(importwall_assert_clean):
            with pytest.raises(AssertionError, match="myservice.training"):
                importwall_assert_clean("myservice.training")
    """)
    result = service.runpytest_subprocess("--importwall=policy.toml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_importorskip_of_a_denied_module_fails_the_test(service: pytest.Pytester) -> None:
    # importorskip would turn the firewall's ModuleNotFoundError into a skip; the import is
    # charged to the test that asked for it, not to pytest's helper.
    write_tests(service, """
        import pytest

        def test_optional_training():
            training = pytest.importorskip("myservice.training")
            assert training.explain({})

        def test_patched_training(monkeypatch):
            monkeypatch.setattr("myservice.training.explain", lambda request: "patched")
    """)
    result = service.runpytest_subprocess("--importwall=policy.toml")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*importwall: test test_serving.py::test_optional_training imported 1 module(s)*",
        "*imported by: test_serving*",
        "*test_serving*test_serving.py:4 in test_optional_training()*",
        "(the blocked import would otherwise have skipped the test)",
        "*importwall: test test_serving.py::test_patched_training imported 1 module(s)*",
        "*test_serving*test_serving.py:8 in test_patched_training()*",
    ])
    assert "the test then raised" not in result.stdout.str()


def test_module_level_importorskip_fails_the_module(service: pytest.Pytester) -> None:
    write_tests(service, """
        import pytest

        training = pytest.importorskip("myservice.training")

        def test_never_runs():
            pass
    """)
    result = service.runpytest_subprocess("--importwall=policy.toml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        "*importwall: test module test_serving.py imported 1 module(s)*",
        "*imported by: test_serving*",
    ])


def test_a_denied_module_loaded_by_an_earlier_test_is_charged_to_every_later_one(
        service: pytest.Pytester) -> None:
    # The plugin keeps, per policy, which loaded modules it denies, and brings that up to
    # date as modules load: each test between the imports must still be charged.
    write_tests(service, """
        import pytest

        @pytest.mark.importwall(allow=["myservice.training", "json.tool"])
        def test_1_loads_them_where_allowed():
            import myservice.training
            import json.tool

        def test_2_imports_the_loaded_module():
            import myservice.training

        def test_3_loads_nothing_new():
            pass

        def test_4_imports_it_again():
            from myservice import training

        @pytest.mark.importwall(deny="json.tool")
        def test_5_another_policy_sees_an_earlier_load():
            import json.tool
    """)
    result = service.runpytest_subprocess("--importwall=policy.toml", "-rA")
    result.assert_outcomes(passed=2, failed=3)  # tests 1 and 3 pass
    result.stdout.fnmatch_lines([
        "FAILED test_serving.py::test_2_imports_the_loaded_module - Failed: *",
        "FAILED test_serving.py::test_4_imports_it_again - Failed: *",
        "FAILED test_serving.py::test_5_another_policy_sees_an_earlier_load - *",
    ])
