"""What ``importwall init`` writes: a commented starter policy for a project.

It looks at the distributions installed on the search path and at the project's
``pyproject.toml`` dependencies, picks ``serving-base`` and the pack of each framework it
finds, and, given a serving entry point, guesses which first-party modules are training
code by their names. The policy starts in ``audit`` mode: it records, it never blocks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from importwall.policy.packs import pack_names
from importwall.runtime.distributions import normalize

FRAMEWORK_PACKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sklearn", ("scikit-learn",)),
    ("xgboost-lightgbm-catboost", ("xgboost", "xgboost-cpu", "lightgbm", "catboost")),
    ("pytorch", ("torch",)),
    ("huggingface", ("transformers",)),
    ("tensorflow-keras", ("tensorflow", "tensorflow-cpu", "keras", "tf-keras")),
    ("mlflow", ("mlflow", "mlflow-skinny")),
)
"""Shipped pack -> the distributions (normalized names) whose presence calls for it.
Every shipped pack but ``serving-base`` is here (a test keeps them in step)."""

BASE_PACK = "serving-base"
TRAINING_NAMES = ("train", "training", "trainer", "tune", "tuning", "experiment",
                  "experiments", "evaluate", "evaluation", "notebook", "notebooks")
"""First-party module names that look like training code."""

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Evidence:
    """Why a pack was chosen: a distribution, where it was seen, and its version."""

    distribution: str
    installed: str | None  # the version, when installed
    declared: bool  # listed in pyproject.toml's dependencies


@dataclass
class Survey:
    """What ``init`` found in a project."""

    packs: dict[str, list[Evidence]] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    training_modules: list[str] = field(default_factory=list)
    entrypoint: str | None = None


def project_dependencies(pyproject: str) -> list[str]:
    """The normalized names in ``[project] dependencies`` and its optional dependencies
    (an unreadable or absent file: none)."""
    from importwall.policy import toml

    try:
        with open(pyproject, encoding="utf-8") as handle:
            document = toml.loads(handle.read())
    except (OSError, UnicodeDecodeError, toml.TOMLDecodeError):
        return []
    project = document.get("project", {})
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    names = []
    for requirement in requirements:
        match = _REQUIREMENT_NAME.match(str(requirement))
        if match and normalize(match.group(1)) not in names:
            names.append(normalize(match.group(1)))
    return names


def survey(project_dir: str, search_path: Sequence[str],
           entrypoint: str | None = None) -> Survey:
    """The packs a project needs, with the evidence for each, and the first-party
    training modules beside ``entrypoint`` (``MOD[:ATTR]``)."""
    from importwall.static.metadata import installed_distributions

    wanted = {dist for _, dists in FRAMEWORK_PACKS for dist in dists}
    installed = installed_distributions(search_path, keep=lambda name: name in wanted)
    declared = project_dependencies(os.path.join(project_dir, "pyproject.toml"))
    found = Survey(dependencies=declared, entrypoint=entrypoint)
    for pack, distributions in FRAMEWORK_PACKS:
        evidence = [Evidence(dist, installed.get(dist), dist in declared)
                    for dist in distributions if dist in installed or dist in declared]
        if evidence:
            found.packs[pack] = evidence
    if entrypoint:
        found.training_modules = training_modules(entrypoint.partition(":")[0], search_path)
    return found


def training_modules(module: str, search_path: Iterable[str]) -> list[str]:
    """Modules of ``module``'s top-level package whose last name looks like training
    code (``myservice.training``, ``myservice.tuning``), found on ``search_path``."""
    top = module.split(".")[0]
    for folder in search_path:
        package = os.path.join(folder, top)
        if os.path.isfile(os.path.join(package, "__init__.py")):
            return sorted(_training_modules_under(package, top))
    return []


def _training_modules_under(package: str, prefix: str) -> Iterable[str]:
    for entry in sorted(os.listdir(package)):
        name, ext = os.path.splitext(entry)
        path = os.path.join(package, entry)
        is_package = os.path.isfile(os.path.join(path, "__init__.py"))
        if not (ext == ".py" and name != "__init__") and not is_package:
            continue
        if name in TRAINING_NAMES or name.startswith(("train_", "tune_")):
            yield f"{prefix}.{name}"
        elif is_package:
            yield from _training_modules_under(path, f"{prefix}.{name}")


def starter_policy(found: Survey, *, table: str | None = None) -> str:
    """The commented policy text: a file's, or with ``table`` (``tool.importwall``) the
    tables for ``pyproject.toml``."""
    prefix = f"{table}." if table else ""
    lines = [
        "# importwall policy, started by `importwall init`: read it, then audit (below).",
        "# Every key is described in importwall's docs (packs.md, environment.md).",
    ]
    if table:
        lines.append(f"[{table}]")
    lines += ["version = 1", ""]
    lines += _extends(found)
    lines += [
        "",
        "# audit: imports proceed and every forbidden one is recorded, with the line that",
        "# made it. When the report is clean, change this to \"enforce\" (or run with",
        "# --mode enforce, or IMPORTWALL_MODE=enforce) and forbidden imports fail.",
        'mode = "audit"',
        "",
        "# Check the environment (training credentials, GPUs, limits, installed training",
        "# distributions) when the firewall starts; in enforce mode an error stops the",
        "# process before it serves.",
        "# check_at_startup = true",
        "",
        f"[{prefix}imports]",
    ]
    lines += _first_party(found)
    lines += [
        "",
        f"[{prefix}report]",
        "# Where every process writes its findings (`importwall report --data-dir` combines",
        "# them); relative to this file.",
        '# data_dir = "importwall-records"',
    ]
    return "\n".join(lines) + "\n"


def _extends(found: Survey) -> list[str]:
    lines = ["# serving-base: hyper-parameter tuning, experiment tracking, notebooks, plotting,",
             "# warehouse clients, training-job variables and training-class GPUs. A framework",
             "# pack adds that framework's training modules and the exceptions its own",
             "# internals need.",
             "extends = [",
             f'    "{BASE_PACK}",']
    for pack, evidence in found.packs.items():
        why = "; ".join(_said(e) for e in evidence)
        lines.append(f'    "{pack}",{" " * max(1, 28 - len(pack))}# {why}')
    lines.append("]")
    missing = [pack for pack, _ in FRAMEWORK_PACKS if pack not in found.packs]
    if missing:
        lines.append(f"# Other packs: {', '.join(missing)}.")
    return lines


def _said(evidence: Evidence) -> str:
    where = []
    if evidence.installed is not None:
        where.append(f"{evidence.distribution} {evidence.installed} is installed")
    if evidence.declared:
        where.append(f"{evidence.distribution} is a dependency in pyproject.toml"
                     if evidence.installed is None else "and a dependency in pyproject.toml")
    return " ".join(where)


def _first_party(found: Survey) -> list[str]:
    if found.training_modules:
        lines = [f"# Beside {found.entrypoint}, these look like training code by their names:",
                 "# keep what is right, remove what is not.",
                 "deny = ["]
        lines += [f'    {{ module = "{module}", reason = "training code stays out of the '
                  f'server (guessed by importwall init)" }},'
                  for module in found.training_modules]
        return [*lines, "]"]
    return ["# Your own training code, kept out of the server:",
            "# deny = [",
            '#     { module = "myservice.training", reason = "training code stays out of the '
            'server" },',
            "# ]"]


def without_table(text: str, table: str) -> str:
    """``text`` (a ``pyproject.toml``) with ``[table]`` and its sub-tables removed, for
    ``init --force``; everything else is kept as it was written."""
    kept: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        header = line.strip()
        if header.startswith("["):
            name = header.strip("[]").strip()
            inside = name == table or name.startswith(table + ".")
        if not inside:
            kept.append(line)
    return "".join(kept)


def packs_in_step() -> set[str]:
    """Shipped packs that :data:`FRAMEWORK_PACKS` does not name (none, when in step)."""
    return set(pack_names()) - {BASE_PACK} - {pack for pack, _ in FRAMEWORK_PACKS}
