"""The audit report: findings from every process, combined, de-duplicated and sorted.

Record files (:mod:`importwall.runtime.records`) are combined by :func:`load_records`; findings
that are the same (same kind, code, subject, rule, importer and import chain) are counted
once, listing every pid and host that reported them, with how many processes reported
them (``count``) and how many import attempts they stand for in all (``hits``: an import
site run 12 times in each of 3 processes is one item seen 36 times in 3 processes).
Ordering is deterministic: most severe first, then kind, subject, code, importer and
chain; timestamps and pids are fields, never part of the ordering.

The JSON form (:meth:`Report.to_dict`) follows ``schemas/report-v1.schema.json``, shipped
in the package (:func:`schema_path`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from importwall.findings import SEVERITIES, SEVERITY_RANK, Finding, hit_count
from importwall.runtime.matcher import Decision
from importwall.runtime.record_reader import ProcessInfo, read_record_file, record_files

if TYPE_CHECKING:
    from importwall.policy import Policy

REPORT_SCHEMA_VERSION = 1
SCHEMA_FILE = "report-v1.schema.json"


def schema_path() -> str:
    """The JSON schema of :meth:`Report.to_dict`, shipped inside the package."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas", SCHEMA_FILE)


_Key = tuple[Any, ...]


def _identity(finding: Finding) -> _Key:
    chain = tuple((f.module, f.file, f.line, f.function or "") for f in finding.chain)
    return (finding.kind, finding.code, finding.subject, finding.rule or "",
            finding.importer or "", chain, finding.message)


def _order(item: ReportItem) -> _Key:
    finding = item.finding
    return (-SEVERITY_RANK[finding.severity], *_identity(finding))


@dataclass(frozen=True)
class ReportItem:
    """One distinct finding and every process that reported it."""

    finding: Finding
    """The first report of it (earliest timestamp)."""
    count: int
    """How many processes reported it (each reports a finding once)."""
    pids: tuple[int, ...]
    hosts: tuple[str, ...]
    hits: int = 0
    """Import attempts, summed over those processes (0: as many as ``count``)."""

    def __post_init__(self) -> None:
        if self.hits < self.count:
            object.__setattr__(self, "hits", self.count)

    @property
    def severity(self) -> str:
        return self.finding.severity

    @property
    def site(self) -> tuple[str, int] | None:
        """Where the import happened (the innermost chain frame), else the rule's
        ``file:line``; ``None`` when neither is known."""
        if self.finding.chain:
            frame = self.finding.chain[-1]
            return frame.file, frame.line
        return split_source(self.finding.source)

    def to_dict(self) -> dict[str, Any]:
        data = self.finding.to_dict()
        data.pop("pid")
        data.pop("host")
        data["first_seen"] = data.pop("timestamp")
        data.update(count=self.count, hits=self.hits, pids=list(self.pids),
                    hosts=list(self.hosts))
        return data


def split_source(source: str | None) -> tuple[str, int] | None:
    """``"file:line"`` -> ``(file, line)``."""
    if not source:
        return None
    path, _, line = source.rpartition(":")
    if path and line.isdigit():
        return path, int(line)
    return source, 1


@dataclass(frozen=True)
class Report:
    """Everything one audit found, ready for the format writers."""

    items: tuple[ReportItem, ...]
    processes: tuple[ProcessInfo, ...] = ()
    policy: str | None = None
    rules: tuple[str, ...] = ()
    """Labels of the policy's rules that were checked (JUnit lists passing ones too)."""
    generated: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, findings: Iterable[Finding], processes: Iterable[ProcessInfo] = (),
              *, policy: str | None = None, rules: Sequence[str] = (), generated: float = 0.0,
              metadata: dict[str, Any] | None = None) -> Report:
        groups: dict[_Key, list[Finding]] = {}
        for finding in findings:
            groups.setdefault(_identity(finding), []).append(finding)
        items = []
        for same in groups.values():
            same.sort(key=lambda f: (f.timestamp, f.host, f.pid))
            worst = max(same, key=lambda f: SEVERITY_RANK[f.severity])
            first = same[0] if same[0].severity == worst.severity else worst
            items.append(ReportItem(
                finding=first, count=len(same),
                pids=tuple(sorted({f.pid for f in same})),
                hosts=tuple(sorted({f.host for f in same})),
                hits=sum(f.hits for f in same)))
        items.sort(key=_order)
        unique_processes = {(p.host, p.pid, p.started): p for p in processes}
        return cls(
            items=tuple(items),
            processes=tuple(sorted(unique_processes.values(),
                                   key=lambda p: (p.host, p.pid, p.started))),
            policy=policy, rules=tuple(sorted(set(rules))), generated=generated,
            metadata=dict(metadata or {}))

    # -- questions the CLI asks

    def counts(self) -> dict[str, int]:
        """Distinct findings per severity, every severity present."""
        counts = dict.fromkeys(SEVERITIES, 0)
        for item in self.items:
            counts[item.severity] += 1
        return counts

    def fails(self, fail_on: str) -> bool:
        """Whether any finding is at or above ``fail_on``."""
        return any(item.finding.at_least(fail_on) for item in self.items)

    # -- the JSON form

    def to_dict(self) -> dict[str, Any]:
        from importwall._version import __version__

        return {
            "format": "importwall-report",
            "version": REPORT_SCHEMA_VERSION,
            "importwall": __version__,
            "generated": self.generated,
            "policy": self.policy,
            "summary": {"findings": len(self.items), "by_severity": self.counts(),
                        "processes": len(self.processes)},
            "rules": list(self.rules),
            "metadata": dict(sorted(self.metadata.items())),
            "findings": [item.to_dict() for item in self.items],
            "processes": [process.to_dict() for process in self.processes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Read back :meth:`to_dict` output (``importwall report`` accepts JSON reports)."""
        findings: list[Finding] = []
        for entry in data.get("findings") or ():
            pids = entry.get("pids") or [0]
            hosts = entry.get("hosts") or [""]
            base = {**entry, "timestamp": entry.get("first_seen", 0.0)}
            count = max(int(entry.get("count", 1)), 1)
            # The hits go to the first copy, one to each other: built again, the item
            # sums to the same (a report without hits: one a process).
            extra = max(hit_count(entry.get("hits", count)) - count, 0)
            for index in range(count):
                findings.append(Finding.from_dict(
                    {**base, "pid": pids[min(index, len(pids) - 1)],
                     "host": hosts[min(index, len(hosts) - 1)],
                     "hits": 1 + (extra if index == 0 else 0)}))
        processes = [ProcessInfo(**p) for p in data.get("processes") or ()]
        return cls.build(findings, processes, policy=data.get("policy"),
                         rules=data.get("rules") or (), generated=data.get("generated", 0.0),
                         metadata=data.get("metadata") or {})


# --------------------------------------------------------------------------- reading records


def load_records(data_dir: str, *, policy: str | None = None, rules: Sequence[str] = (),
                 generated: float = 0.0) -> Report:
    """Combine every record file in ``data_dir`` into one report.

    A line that cannot be read (a disk that filled up, an edited file) becomes an
    ``internal`` finding naming the file and line, so nothing is dropped silently.
    """
    findings: list[Finding] = []
    processes: list[ProcessInfo] = []
    for path in record_files(data_dir):
        read_record_file(path, findings, processes)
    if policy is None:
        policies = sorted({p.policy for p in processes if p.policy})
        policy = policies[0] if len(policies) == 1 else None
    return Report.build(findings, processes, policy=policy, rules=rules, generated=generated)


# --------------------------------------------------------------------------- naming rules


def rule_labels(policy: Policy) -> list[str]:
    """How the policy's import rules are named in findings (``deny 'optuna'``): a JUnit
    report lists them all, passing or not. The environment gate's rules show up with
    their findings."""
    labels: list[str] = []
    for via, rules in (("deny", policy.imports.deny),
                       ("deny_distributions", policy.imports.deny_distributions)):
        labels.extend(Decision("deny", rule, via).label for rule in rules)
    return labels


def rule_id(item: ReportItem) -> str:
    """The policy rule that decided the finding, else its code: one SARIF rule (and one
    JUnit test case) per policy rule."""
    return item.finding.rule or item.finding.code
