"""SARIF 2.1.0, for code-scanning tools: each finding is a result located at its import
site (the innermost frame of the import chain), with the whole chain as a code flow, so
the tool shows it on the line that did the import. Findings without a chain (environment,
distributions) are located at the policy rule that decided them; model findings at the
model file (and the byte offset of the opcode), with the archive member, class and fix
as properties."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
from typing import Any

from importwall.report.model import Report, ReportItem, rule_id
from importwall.report.writer import RenderOptions, display_path, stamp

FORMAT_VERSION = "1"
SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ROOT_ID = "SRCROOT"
_LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def render(report: Report, options: RenderOptions) -> str:
    from importwall._version import __version__

    rules: dict[str, dict[str, Any]] = {}
    results = []
    for item in report.items:
        identifier = rule_id(item)
        if identifier not in rules:
            rules[identifier] = _descriptor(item, identifier)
        results.append(_result(item, identifier, list(rules).index(identifier), options.root))
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "importwall", "version": __version__,
                            "semanticVersion": __version__.split(".dev")[0],
                            "rules": list(rules.values())}},
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {"importwall": stamp("sarif"), "policy": report.policy,
                       "processes": len(report.processes)},
    }
    if options.root:
        run["originalUriBaseIds"] = {ROOT_ID: {"uri": _directory_uri(options.root)}}
    document = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(document, indent=2) + "\n"


def _descriptor(item: ReportItem, identifier: str) -> dict[str, Any]:
    finding = item.finding
    descriptor: dict[str, Any] = {
        "id": identifier,
        "shortDescription": {"text": finding.reason or finding.message},
        "defaultConfiguration": {"level": _LEVELS[finding.severity]},
        "properties": {"kind": finding.kind, "code": finding.code},
    }
    if finding.source:
        descriptor["properties"]["source"] = finding.source
    return descriptor


def _result(item: ReportItem, identifier: str, index: int, root: str) -> dict[str, Any]:
    finding = item.finding
    text = finding.message + (f" ({finding.reason})" if finding.reason else "")
    result: dict[str, Any] = {
        "ruleId": identifier,
        "ruleIndex": index,
        "level": _LEVELS[finding.severity],
        "message": {"text": text},
        "partialFingerprints": {"importwall/v1": _fingerprint(item)},
        "properties": {"kind": finding.kind, "code": finding.code, "subject": finding.subject,
                       "action": finding.action, "importer": finding.importer,
                       "count": item.count, "hits": item.hits, "pids": list(item.pids),
                       "hosts": list(item.hosts)},
    }
    site = item.site
    location = _location(site[0], site[1], root) if site else None
    if finding.kind == "model" and finding.details.get("path"):
        location = _model_location(finding.details, root)
        result["properties"].update({key: finding.details[key] for key in (
            "member", "offset", "class", "fix", "via") if finding.details.get(key) is not None})
    if location is not None:
        result["locations"] = [location]
    flow = [step for step in (_flow_step(frame.file, frame.line, frame.module, root)
                              for frame in finding.chain) if step is not None]
    if flow:
        result["codeFlows"] = [{"threadFlows": [{"locations": flow}]}]
    return result


def _flow_step(file: str, line: int, module: str, root: str) -> dict[str, Any] | None:
    location = _location(file, line, root)
    if location is None:
        return None
    location["message"] = {"text": f"{module} imports"}
    return {"location": location}


def _location(file: str, line: int, root: str) -> dict[str, Any] | None:
    if not file or file.startswith("<"):
        return None  # frozen modules, exec'd strings: nowhere to point at
    relative = display_path(file, root)
    if relative != file or not os.path.isabs(file):
        artifact = {"uri": pathlib.PurePosixPath(relative).as_posix()}
        if relative != file:
            artifact["uriBaseId"] = ROOT_ID
    else:
        artifact = {"uri": pathlib.Path(file).as_uri()}
    return {"physicalLocation": {"artifactLocation": artifact,
                                 "region": {"startLine": max(int(line), 1)}}}


def _model_location(details: dict[str, Any], root: str) -> dict[str, Any] | None:
    """A model file, at the byte offset of the opcode when it is the file's own (inside an
    archive member, the member is a property: SARIF has no way to point inside it)."""
    location = _location(str(details["path"]), 1, root)
    if location is None:
        return None
    physical = location["physicalLocation"]
    offset = details.get("offset")
    if details.get("member") is None and isinstance(offset, int):
        physical["region"] = {"byteOffset": offset}
    else:
        del physical["region"]
    return location


def _directory_uri(root: str) -> str:
    uri = pathlib.Path(os.path.abspath(root)).as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _fingerprint(item: ReportItem) -> str:
    finding = item.finding
    parts = [finding.kind, finding.code, finding.subject, finding.rule or "",
             finding.importer or "", *(f"{f.module}:{f.line}" for f in finding.chain)]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]
