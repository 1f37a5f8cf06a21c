"""Policy files: load, compose with ``extends``, validate, normalize.

A policy is TOML with ``version = 1``. Every problem in every file is collected and raised
together as one :class:`~importwall.errors.PolicyError`, each as ``file:line: key: message``.
Unknown keys are not errors: they warn (:class:`PolicyWarning`), with a suggestion when a
known key is close.

This module is the front: it finds the file, answers from the compiled-policy cache
(:mod:`importwall.policy.cache`) when it can, and otherwise hands the file to
:mod:`importwall.policy.validate`, imported only then, with the schema's table and the TOML
reader: a process that starts from the cache loads none of them.

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

import gc
import os

from importwall.policy import cache as _cache
from importwall.policy.model import Policy, PolicyWarning
from importwall.policy.model import policy_from_data as policy_from_data
from importwall.policy.packs import PYPROJECT as PYPROJECT
from importwall.policy.packs import resolve_reference
from importwall.policy.rules import Rule

TYPE_CHECKING = False  # typing and collections.abc are not imported at interpreter start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any



def load_policy(path: str | os.PathLike[str], *, warn: bool = True,
                loads: Callable[[str], dict[str, Any]] | None = None) -> Policy:
    """Load, validate and merge the policy at ``path`` (a file, or a shipped pack's name).

    Raises :class:`PolicyError` listing every problem found in every file. Unknown keys
    are :class:`PolicyWarning` warnings pointing at the caller outside importwall; with
    ``warn=False`` they are only kept in :attr:`Policy.warnings`, for a caller that says
    them its own way (the start-up hook, the command line).

    ``loads`` reads TOML for a policy not in the compiled-policy cache: the standard reader
    (``tomllib``) unless given. The command line passes
    :func:`importwall.policy.fasttoml.loads`, which reads with toml-rs where the ``fast``
    extra installed it and gives the same values and the same errors.
    """
    # A large policy is hundreds of thousands of small containers that form no cycles;
    # the collector's full passes over them made loading grow faster than the file.
    collecting = gc.isenabled()
    gc.disable()
    try:
        policy = _load_policy(path, loads)
    finally:
        if collecting:
            gc.enable()
    if warn and policy.warnings:
        import warnings  # only for a policy that has something to say

        level = _caller_stacklevel()
        for message in policy.warnings:
            warnings.warn(message, PolicyWarning, stacklevel=level)
    return policy


def _load_policy(path: str | os.PathLike[str],
                 loads: Callable[[str], dict[str, Any]] | None) -> Policy:
    reference = os.fspath(path)
    target = resolve_reference(reference, base_dir=os.getcwd())
    if target is None:
        from importwall.errors import PolicyError
        from importwall.policy import validate  # to word the problem

        unusable = validate._unusable_path(reference, os.getcwd())
        raise PolicyError([f"{reference}:1: policy: {unusable}" if unusable
                           else validate._no_such_policy(reference)])
    policy = _cache.read(target, _cache.cached_policy)
    if policy is None:
        # Read from source: the TOML reader, the schema and the checks, which a process
        # that starts from the compiled-policy cache never imports.
        from importwall.policy import validate

        loader = validate._Loader(loads)
        raw_sections = loader.load(target, chain=())
        if loader.problems:
            from importwall.errors import PolicyError  # not imported from the cache

            raise PolicyError(loader.problems, loader.warnings)
        policy = validate._build(target, loader.files, raw_sections, loader.warnings)
        data = policy_to_data(policy) if _cache.cache_dir() is not None else None
        if data is not None and _cache.write(target, policy.files, (data, None)):
            _cache.attach(policy, target, data, None)  # the matcher adds its compiled tries
    return policy


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _caller_stacklevel() -> int:
    """The ``stacklevel`` (as seen from :func:`load_policy`) of the first frame outside
    importwall, so that a warning names the user's ``activate(...)`` or
    ``load_policy(...)`` line, not importwall's own."""
    import sys

    level, frame = 1, sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        level += 1
        frame = frame.f_back
    return level



def _rule_data(rule: Rule) -> tuple[Any, ...]:
    return (rule.pattern, rule.reason, rule.severity, rule.source, rule.precedence,
            dict(rule.extra))


def policy_to_data(policy: Policy) -> tuple[Any, ...]:
    """``policy`` as marshal-able data (:mod:`importwall.policy.cache`)."""
    imports = policy.imports
    sections = {
        name: {key: ("rules", tuple(_rule_data(rule) for rule in value))
               if isinstance(value, tuple) and value and isinstance(value[0], Rule)
               else ("value", value)
               for key, value in values.items()}
        for name, values in policy.sections.items()}
    return (policy.path, policy.files, policy.mode, policy.strict, policy.check_at_startup,
            (tuple(_rule_data(rule) for rule in imports.deny),
             tuple(_rule_data(rule) for rule in imports.allow),
             tuple(_rule_data(rule) for rule in imports.deny_distributions),
             tuple((e.module, e.importer, e.reason, e.source) for e in imports.exceptions),
             imports.blocked_error),
            sections, policy.warnings)
