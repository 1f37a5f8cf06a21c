"""What a model file would import and call when loaded, read without loading it.

Pickle streams are read from their opcodes (:mod:`importwall.static.pickleops`), and every
global they reference is put in one of four classes by :mod:`importwall.static.classify`:
known-safe (nothing to report), training-only (a ``GridSearchCV`` pickled instead of its
``best_estimator_``, any class whose module the policy denies), dangerous (code execution,
processes, network, files, import machinery) and unknown (everything else; a warning
unless ``--strict`` or ``[models] unknown`` say otherwise).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from importwall.findings import KIND_MODEL, Finding
from importwall.policy import Policy
from importwall.static.classify import Classifier

if TYPE_CHECKING:  # the readers are imported when a file is read, not with the CLI
    from importwall.static.modelfiles import Note, Stream
    from importwall.static.pickleops import Reference

MODEL_SUFFIXES = (".pkl", ".pickle", ".joblib", ".jl", ".sav", ".dill", ".pt", ".pth",
                  ".bin", ".ckpt", ".npy", ".npz", ".keras", ".h5", ".hdf5",
                  ".safetensors", ".zip")
"""What a folder is searched for; a file named on the command line is read whatever its
name, by its first bytes."""

_CODES = {"dangerous": "model-dangerous-global", "training-only": "model-training-class",
          "unknown": "model-unknown-global"}


class ModelScanner:
    """Scans model files; ``policy`` (optional) adds the classes its ``[imports]`` deny as
    training-only and its ``[models] allow`` as known-safe; ``strict`` makes an unknown
    global an error."""

    def __init__(self, policy: Policy | None = None, *, strict: bool = False) -> None:
        self.classifier = Classifier(policy, strict=strict)

    def scan(self, paths: Sequence[str]) -> list[Finding]:
        findings: list[Finding] = []
        for path in model_files(paths):
            findings.extend(self.scan_file(path))
        return findings

    def scan_file(self, path: str) -> list[Finding]:
        from importwall.static.modelfiles import read_model_file

        return self.scan_streams(read_model_file(path))

    def scan_streams(self, streams: Iterable[Stream]) -> list[Finding]:
        """The findings of streams :func:`importwall.static.modelfiles.read_model_file`
        read."""
        findings: list[Finding] = []
        for stream in streams:
            where = _Where(stream.file, stream.member, stream.compression)
            for reference in stream.references.values():
                finding = self._classify(where, reference)
                if finding is not None:
                    findings.append(finding)
            for note in stream.notes:
                findings.append(self._note(where, note))
            if stream.error is not None:
                checked = ("the globals before that point were checked, what comes after "
                           "was not" if stream.references else "nothing in it was checked")
                findings.append(where.finding(
                    "model-unreadable", "error", where.label,
                    f"{where.label} ({stream.format}): cannot be followed to its end "
                    f"({stream.error}); {checked}, so do not load it unchecked", None,
                    fix="re-export the model from its source; a file cut short, corrupted "
                        "in transfer or in a format this scan does not read cannot be "
                        "vouched for"))
        return findings

    def _note(self, where: _Where, note: Note) -> Finding:
        severity = note.severity
        if note.code == "model-keras-custom-object":
            module, _, name = note.subject.rpartition(".")
            verdict = self.classifier.classify(module, name)
            if verdict.severity is None:
                severity = "info"  # a custom object the policy allows
            elif verdict.kind in ("dangerous", "training-only") or verdict.refused:
                severity = "error"
        return where.finding(note.code, severity, note.subject, f"{note.message}; {note.fix}",
                             None, fix=note.fix)

    def _classify(self, where: _Where, reference: Reference) -> Finding | None:
        target = reference.target
        label = where.label
        if isinstance(target, str):
            if target.startswith("<extension"):
                return where.finding(
                    "model-extension-code", "warning", target,
                    f"{label} uses copyreg extension {target[1:-1]}, which the loading "
                    "process maps to a global this scan cannot see", reference,
                    fix="re-save the model with a pickler that has no extension registry")
            return where.finding(
                "model-unresolved-global", "error", target,
                f"{label} computes the name of a global it imports{where.at(reference)}; "
                "a normal pickler never does that", reference,
                fix="do not load this file")
        if reference.fully_resolved:
            return None  # getattr(X, "name") with constants: X.name was recorded itself
        full = str(target)
        verdict = self.classifier.classify(target.module, target.name)
        if verdict.severity is None:
            return None
        via = f" (through {reference.via})" if reference.via else ""
        message = f"{label} references {full}{via}{where.at(reference)}, which {verdict.why}"
        if verdict.kind == "training-only":
            message = f"{label}{where.at(reference)} {verdict.why}: {full}"
        return where.finding(_CODES[verdict.kind], verdict.severity, full,
                             f"{message}; {verdict.fix}", reference, fix=verdict.fix,
                             model_class=verdict.kind, rule=verdict.rule,
                             reason=verdict.reason, source=verdict.source)


class _Where:
    """One pickle stream: the file, the archive member it is in, its compression."""

    def __init__(self, file: str, member: str | None, compression: str) -> None:
        self.file = file
        self.member = member
        self.compression = compression
        self.label = f"{file}!{member}" if member else file

    @staticmethod
    def at(reference: Reference | None) -> str:
        if reference is None or reference.offset is None:
            return ""
        return f" at byte {reference.offset}"

    def finding(self, code: str, severity: str, subject: str, message: str,
                reference: Reference | None, *, fix: str, model_class: str | None = None,
                rule: str | None = None, reason: str | None = None,
                source: str | None = None) -> Finding:
        details: dict[str, Any] = {"file": self.label, "path": self.file,
                                   "member": self.member,
                                   "compression": self.compression or None, "fix": fix}
        if model_class is not None:
            details["class"] = model_class
        if reference is not None:
            details.update(offset=reference.offset, count=reference.count)
            if reference.via:
                details["via"] = reference.via
        return Finding(kind=KIND_MODEL, code=code, severity=severity, subject=subject,
                       message=message, details=details, rule=rule, reason=reason,
                       source=source, pid=0)  # read, not run


def model_files(paths: Sequence[str]) -> Iterator[str]:
    for path in paths:
        if not os.path.isdir(path):
            yield path
            continue
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(MODEL_SUFFIXES):
                    yield os.path.join(root, name)
