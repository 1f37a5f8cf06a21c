"""What a pickled model would import and call, read from its
opcodes without unpickling it (:mod:`importwall.static.pickleops`).

It reports training-only classes (a whole ``GridSearchCV`` pickled instead of its
``best_estimator_``, a cross-validation splitter, any class whose module the policy denies)
and globals that execute code (``os.system``, ``builtins.eval``, ``subprocess.*``, ...).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from importwall.findings import KIND_MODEL, Finding
from importwall.policy import Policy
from importwall.runtime.matcher import Matcher, PatternTrie

if TYPE_CHECKING:  # the opcode reader is imported when a file is read, not with the CLI
    from importwall.static.pickleops import Global, Reference

# --------------------------------------------------------------------------- what is risky

_RUNS_CODE = "runs code when the file is unpickled"
_SHELL = "runs a shell command or a program when the file is unpickled"
_EXECUTES: dict[str, tuple[str, str]] = {
    # pattern: (severity, why)
    "os": ("error", "reaches the operating system (os.system, os.exec*, os.remove, ...) "
           "when the file is unpickled"),
    "posix": ("error", _SHELL),
    "nt": ("error", _SHELL),
    "subprocess": ("error", _SHELL),
    "pty": ("error", _SHELL),
    "asyncio.subprocess": ("error", _SHELL),
    "platform.popen": ("error", _SHELL),
    "runpy": ("error", _RUNS_CODE),
    "code": ("error", _RUNS_CODE),
    "codeop": ("error", _RUNS_CODE),
    "ctypes": ("error", "calls native code when the file is unpickled"),
    "importlib": ("error", "imports arbitrary modules when the file is unpickled"),
    "pickle": ("error", "unpickles a nested payload that this scan cannot see"),
    "_pickle": ("error", "unpickles a nested payload that this scan cannot see"),
    "marshal": ("error", "loads code objects when the file is unpickled"),
    "types.CodeType": ("error", _RUNS_CODE),
    "types.FunctionType": ("error", _RUNS_CODE),
    "shutil": ("error", "changes files when the file is unpickled"),
    "socket": ("error", "opens network connections when the file is unpickled"),
    "webbrowser": ("error", _SHELL),
    "sys": ("error", "changes the interpreter when the file is unpickled"),
    "pdb": ("error", _RUNS_CODE),
    "timeit": ("error", _RUNS_CODE),
    "builtins.eval": ("error", _RUNS_CODE),
    "builtins.exec": ("error", _RUNS_CODE),
    "builtins.compile": ("error", _RUNS_CODE),
    "builtins.__import__": ("error", "imports arbitrary modules when the file is unpickled"),
    "builtins.open": ("error", "opens files when the file is unpickled"),
    "builtins.breakpoint": ("error", _RUNS_CODE),
    "builtins.setattr": ("error", "rewrites attributes of live objects when unpickled"),
    "builtins.delattr": ("error", "rewrites attributes of live objects when unpickled"),
    "builtins.globals": ("error", _RUNS_CODE),
    "builtins.getattr": ("warning", "can fetch any attribute (getattr(os, 'system')) when "
                         "the file is unpickled; pickled bound methods use it too"),
    "operator.attrgetter": ("warning", "can fetch any attribute when the file is unpickled"),
    "operator.methodcaller": ("warning", "can call any method when the file is unpickled"),
}
for _name in ("eval", "exec", "compile", "__import__", "open", "getattr", "setattr",
              "execfile", "apply", "input"):
    _EXECUTES.setdefault(f"__builtin__.{_name}", ("error", _RUNS_CODE))
_HARMLESS_OS = re.compile(r".*_result|terminal_size|_make_stat_result|_exit_status")

_TRAINING_ONLY: dict[str, str] = {
    "sklearn.model_selection": "cross-validation splitters and hyper-parameter searches are "
                               "training-only",
    "optuna": "hyper-parameter tuning is training-only",
    "hyperopt": "hyper-parameter tuning is training-only",
    "skopt": "hyper-parameter search is training-only",
    "ray.tune": "hyper-parameter tuning is training-only",
    "keras_tuner": "hyper-parameter tuning is training-only",
}
_SEARCH_CLASSES = re.compile(r".*SearchCV")


def _trie(table: dict[str, Any]) -> PatternTrie[str]:
    trie: PatternTrie[str] = PatternTrie()
    for pattern in table:
        trie.add(pattern, pattern)
    return trie


_EXECUTES_TRIE = _trie(_EXECUTES)
_TRAINING_TRIE = _trie(_TRAINING_ONLY)


def _most_specific(trie: PatternTrie[str], name: str) -> str | None:
    found = trie.matches(name)
    return max(found, key=lambda p: p.count(".")) if found else None


MODEL_SUFFIXES = (".pkl", ".pickle", ".joblib", ".jl", ".sav", ".dill", ".pt", ".pth")


class ModelScanner:
    """Scans model files; ``policy`` (optional) adds the classes its ``[imports]`` deny."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.matcher = Matcher.from_policy(policy) if policy is not None else None

    def scan(self, paths: Sequence[str]) -> list[Finding]:
        findings: list[Finding] = []
        for path in model_files(paths):
            findings.extend(self.scan_file(path))
        return findings

    def scan_file(self, path: str) -> list[Finding]:
        from importwall.static.pickleops import read_model_file

        findings: list[Finding] = []
        for label, compression, references, error in read_model_file(path):
            for reference in references.values():
                finding = self._classify(label, compression, reference)
                if finding is not None:
                    findings.append(finding)
            if error is not None:
                findings.append(_finding(
                    "model-unreadable", "error", label, label,
                    f"{label}: cannot follow the pickle to its end ({error}); what comes "
                    "after this point was not checked, so do not load it unchecked",
                    label, compression, None))
        return findings

    def _classify(self, label: str, compression: str,
                  reference: Reference) -> Finding | None:
        target = reference.target
        if isinstance(target, str):
            if target.startswith("<extension"):
                return _finding("model-extension-code", "warning", target, label,
                                f"{label} uses copyreg extension {target[1:-1]}, which "
                                "the loading process maps to a global this scan cannot "
                                "see", label, compression, reference)
            return _finding("model-unresolved-global", "error", target, label,
                            f"{label} computes the name of a global it imports; a normal "
                            "pickler never does that", label, compression, reference)
        full = str(target)
        executes = _most_specific(_EXECUTES_TRIE, full)
        harmless_os = target.module in ("os", "posix", "nt") and \
            _HARMLESS_OS.fullmatch(target.name) is not None
        if executes is not None and not harmless_os:
            severity, why = _EXECUTES[executes]
            return _finding("model-executes-code", severity, full, label,
                            f"{label} references {full}, which {why}", label, compression,
                            reference, rule=f"built-in {executes!r}")
        return self._training_only(target, label, compression, reference)

    def _training_only(self, target: Global, label: str, compression: str,
                       reference: Reference) -> Finding | None:
        decision = self.matcher.decide(target.module) if self.matcher else None
        denied = decision is not None and decision.denied
        built_in = _most_specific(_TRAINING_TRIE, target.module)
        if not denied and built_in is None:
            return None
        full = str(target)
        if _SEARCH_CLASSES.fullmatch(target.name):
            message = (f"{label} holds a whole {target.name} (the search, its splitter and "
                       f"every candidate's results) instead of the model it found; save "
                       f"search.best_estimator_ instead")
        else:
            message = f"{label} references {full}, which is training-only"
        if denied and decision is not None:
            return _finding("model-training-class", decision.rule.severity, full, label,
                            message, label, compression, reference, rule=decision.label,
                            reason=decision.rule.reason, source=decision.rule.source)
        assert built_in is not None
        return _finding("model-training-class", "error", full, label, message, label,
                        compression, reference, rule=f"built-in {built_in!r}",
                        reason=_TRAINING_ONLY[built_in])


def _finding(code: str, severity: str, subject: str, label: str, message: str, file: str,
             compression: str, reference: Reference | None, **extra: Any) -> Finding:
    details: dict[str, Any] = {"file": file, "compression": compression or None}
    if reference is not None:
        details.update(offset=reference.offset, count=reference.count)
    return Finding(kind=KIND_MODEL, code=code, severity=severity, subject=subject,
                   message=message, details=details, pid=0, **extra)  # read, not run


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
