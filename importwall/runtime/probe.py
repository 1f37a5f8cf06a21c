"""Import a serving entry point in this interpreter and write down what the firewall saw.

    python -m importwall.runtime.probe package.module[:attribute] --out FILE [--call NAME]

Run by :func:`importwall.testing.assert_clean` in a fresh interpreter with
``IMPORTWALL_POLICY`` and ``IMPORTWALL_MODE=audit`` set. The firewall is started by the
normal start-up hook before the entry point is imported, exactly as in a server. ``FILE``
receives one JSON object: ``version``, ``target``, ``active`` (whether the firewall ran),
``findings`` and ``error`` (a traceback when the entry point could not be imported or
called).

Standard library only, and deliberately small: everything it imports is in
``sys.modules`` before the entry point is, so it parses its arguments by hand rather
than loading ``argparse``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from typing import Any

PROBE_VERSION = 1
EXIT_OK = 0
EXIT_TARGET_FAILED = 3
EXIT_USAGE = 2

_USAGE = "usage: python -m importwall.runtime.probe MODULE[:ATTRIBUTE] --out FILE [--call NAME]"


def parse(argv: list[str]) -> tuple[str, str, str | None]:
    """``(target, out, call)`` from the command line; ``ValueError`` with the usage line."""
    options: dict[str, str] = {}
    positional: list[str] = []
    words = iter(argv)
    for word in words:
        if word in ("--out", "--call"):
            value = next(words, None)
            if value is None:
                raise ValueError(f"{word} needs a value\n{_USAGE}")
            options[word] = value
        elif word.startswith("-"):
            raise ValueError(f"unknown option {word}\n{_USAGE}")
        else:
            positional.append(word)
    if len(positional) != 1 or "--out" not in options:
        raise ValueError(_USAGE)
    return positional[0], options["--out"], options.get("--call")


def load(target: str) -> Any:
    """The module, or the attribute named after ``:``."""
    module_name, _, attribute = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attribute.split(".")):
        obj = getattr(obj, part)
    return obj


def probe(target: str, call: str | None) -> dict[str, Any]:
    from importwall._bootstrap import startup
    from importwall.runtime.api import active

    startup()  # a no-op when a .pth or sitecustomize already started the firewall
    error = None
    try:
        obj = load(target)
        if call:
            getattr(obj, call)()
    except BaseException:  # the parent shows the traceback
        error = traceback.format_exc()
    firewall = active()
    findings = list(firewall.findings) if firewall is not None else []
    return {
        "version": PROBE_VERSION,
        "target": target,
        "active": firewall is not None,
        "findings": [finding.to_dict() for finding in findings],
        "error": error,
    }


def main(argv: list[str] | None = None) -> int:
    try:
        target, out, call = parse(sys.argv[1:] if argv is None else argv)
    except ValueError as problem:
        sys.stderr.write(f"{problem}\n")
        return EXIT_USAGE
    outcome = probe(target, call)
    partial = out + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(outcome, handle, default=str)
    os.replace(partial, out)
    return EXIT_TARGET_FAILED if outcome["error"] else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
