"""``[distributions] deny``: training-only distributions installed in the serving
environment, imported or not (they are one ``import`` away, and they widen the image).

Reads distribution metadata with ``importlib_metadata``, imported only when this check
runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from importwall.distributions import normalize
from importwall.envcheck.rules import label, matching_rule
from importwall.findings import KIND_DISTRIBUTION, Finding
from importwall.policy import Rule


def installed_distributions(search_path: Iterable[str] | None = None,
                            keep: Callable[[str], bool] | None = None) -> dict[str, str]:
    """Normalized name -> version of the distributions on ``search_path`` (``sys.path``)
    whose name ``keep`` accepts (default: all); the first one on the path wins, as for
    imports."""
    import sys

    try:
        import importlib_metadata
    except ImportError:  # an interpreter without importwall's dependencies
        import importlib.metadata as importlib_metadata  # type: ignore[no-redef]

    found: dict[str, str] = {}
    path = list(sys.path if search_path is None else search_path)
    for dist in importlib_metadata.distributions(path=path):
        # The name from the folder (``_normalized_name``) costs no METADATA parsing, which
        # is most of this check's time in a large environment; versions are read only for
        # the distributions kept.
        name = getattr(dist, "_normalized_name", None) or _metadata_name(dist)
        if not name:
            continue
        name = normalize(name)
        if name not in found and (keep is None or keep(name)):
            found[name] = dist.version or ""
    return found


def _metadata_name(dist: Any) -> str | None:
    metadata = dist.metadata
    name = metadata["Name"] if metadata else None
    return str(name) if name else None


def denied(section: Mapping[str, Any]) -> list[Rule]:
    """The ``deny`` rules with their patterns normalized like distribution names."""
    rules: Sequence[Rule] = section.get("deny", ())
    return [Rule(normalize(r.pattern), r.reason, r.severity, r.source, r.precedence)
            for r in rules]


def check_distributions(section: Mapping[str, Any], installed: Mapping[str, str]
                        ) -> list[Finding]:
    normalized = denied(section)
    findings = []
    for name in sorted(installed):
        rule = matching_rule(normalized, [name])
        if rule is None:
            continue
        version = installed[name]
        findings.append(Finding(
            kind=KIND_DISTRIBUTION, code="distribution-installed", severity=rule.severity,
            subject=name, rule=label(rule), reason=rule.reason, source=rule.source,
            message=f"distribution {name} {version} is installed in this environment: "
                    f"forbidden by rule {label(rule)}",
            details={"distribution": name, "version": version}))
    return findings
