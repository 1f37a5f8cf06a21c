"""Which of four classes a global referenced by a model file belongs to.

- **dangerous**: code execution, processes, network, files, import machinery, nested
  payloads (:mod:`importwall.static.dangerous`, a curated list with a reason per entry).
  Always an error; neither the known-safe list nor the policy can allow it.
- **training-only**: a class of a module the policy's ``[imports]`` deny (a
  ``GridSearchCV``, a CV splitter), or of the built-in training-only modules.
- **known-safe**: the globals real models of scikit-learn, numpy, scipy.sparse, pandas,
  LightGBM, XGBoost, CatBoost, PyTorch and the standard library's containers reference
  (``known_safe_globals.json``, written by ``scripts/derive_known_safe.py``), and what the
  policy's ``[models] allow`` adds.
- **unknown**: everything else. A warning by default (``[models] unknown`` sets the
  severity; ``--strict`` makes it an error).

The same :class:`Classifier` decides for ``importwall scan-model`` and for
:func:`importwall.models.safe_load`, so what the scan flags is what the loader refuses.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from importwall.policy import Policy
from importwall.runtime.matcher import Matcher, PatternTrie
from importwall.static.dangerous import DANGEROUS, dangerous_pattern

if TYPE_CHECKING:
    from importwall.policy.rules import Rule
    from importwall.policy.sections import ModelsSection

KNOWN_SAFE = "known-safe"
TRAINING_ONLY = "training-only"
DANGEROUS_CLASS = "dangerous"
UNKNOWN = "unknown"
CLASSES = (KNOWN_SAFE, TRAINING_ONLY, DANGEROUS_CLASS, UNKNOWN)

KNOWN_SAFE_FILE = Path(__file__).with_name("known_safe_globals.json")

_TRAINING_ONLY: dict[str, str] = {
    "sklearn.model_selection": "cross-validation splitters and hyper-parameter searches are "
                               "training-only",
    "optuna": "hyper-parameter tuning is training-only",
    "hyperopt": "hyper-parameter tuning is training-only",
    "skopt": "hyper-parameter search is training-only",
    "ray.tune": "hyper-parameter tuning is training-only",
    "keras_tuner": "hyper-parameter tuning is training-only",
}
_TRAINING_TRIE: PatternTrie[str] = PatternTrie()
for _pattern in _TRAINING_ONLY:
    _TRAINING_TRIE.add(_pattern, _pattern)
_SEARCH_CLASSES = re.compile(r".*SearchCV")


def built_in_training_only(name: str) -> str | None:
    """The built-in training-only module pattern covering global ``name``, if any."""
    found = _TRAINING_TRIE.matches(name)
    return max(found, key=lambda p: p.count(".")) if found else None


@functools.lru_cache(maxsize=1)
def known_safe_globals() -> frozenset[str]:
    """The shipped list of known-safe globals (``module.name``)."""
    data = json.loads(KNOWN_SAFE_FILE.read_text(encoding="utf-8"))
    return frozenset(name for names in data["globals"].values() for name in names)


@dataclass(frozen=True)
class Verdict:
    """What one global is, why, what decided it and how to fix a model that uses it."""

    kind: str
    severity: str | None  # None: nothing to report (known-safe)
    why: str
    rule: str
    fix: str
    reason: str | None = None
    source: str | None = None

    @property
    def refused(self) -> bool:
        """Whether a loader applying the policy refuses it (an error)."""
        return self.severity == "error"


class Classifier:
    """Decides the class of each global; ``policy`` (optional) adds its ``[imports]``
    denies as training-only and its ``[models] allow`` as known-safe."""

    def __init__(self, policy: Policy | None = None, *, strict: bool = False) -> None:
        self.matcher = Matcher.from_policy(policy) if policy is not None else None
        models: ModelsSection = policy.section("models") if policy is not None else {}
        self.allowed: PatternTrie[Rule] = PatternTrie()
        for rule in models.get("allow", ()):
            self.allowed.add(rule.pattern, rule)
        self.unknown_severity = "error" if strict else models.get("unknown", "warning")
        self.known = known_safe_globals()
        self._cache: dict[tuple[str, str], Verdict] = {}

    def classify(self, module: str, name: str) -> Verdict:
        key = (module, name)
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = self._cache[key] = self._classify(module, name)
        return verdict

    def _classify(self, module: str, name: str) -> Verdict:
        full = f"{module}.{name}"
        pattern = dangerous_pattern(module, name)
        if pattern is not None:
            return Verdict(DANGEROUS_CLASS, "error", DANGEROUS[pattern],
                           f"dangerous {pattern!r}",
                           "do not load this file; rebuild the model from code you trust, "
                           "or save its weights in a format that holds no code "
                           "(safetensors, ONNX, the library's own JSON/text format)")
        training = self._training_only(module, name, full)
        if training is not None:
            return training
        if full in self.known:
            return Verdict(KNOWN_SAFE, None, "known-safe", "known-safe list", "")
        allowed = self.allowed.matches(full)
        if allowed:
            rule = max(allowed, key=lambda r: r.pattern.count("."))
            return Verdict(KNOWN_SAFE, None, "allowed by the policy", f"allow {rule.pattern!r}",
                           "", reason=rule.reason, source=rule.source)
        return Verdict(UNKNOWN, self.unknown_severity,
                       "is neither on the known-safe list nor allowed by the policy",
                       "known-safe list",
                       f"if {full} is your own class or one you trust, add it to the "
                       f"policy: [models] allow = [\"{full}\"]")

    def _training_only(self, module: str, name: str, full: str) -> Verdict | None:
        decision = self.matcher.decide(module) if self.matcher else None
        denied = decision is not None and decision.denied
        built_in = built_in_training_only(module)
        if not denied and built_in is None:
            return None
        if _SEARCH_CLASSES.fullmatch(name):
            why = (f"holds a whole {name} (the search, its splitter and every candidate's "
                   f"results) instead of the model it found")
            fix = "save search.best_estimator_ instead"
        else:
            why = "is training-only"
            fix = (f"save the fitted model without its {module} parts, or allow the module "
                   "in the serving policy if serving really needs it")
        if denied and decision is not None:
            return Verdict(TRAINING_ONLY, decision.rule.severity, why, decision.label, fix,
                           reason=decision.rule.reason, source=decision.rule.source)
        assert built_in is not None
        return Verdict(TRAINING_ONLY, "error", why, f"built-in {built_in!r}", fix,
                       reason=_TRAINING_ONLY[built_in])
