"""Find the line a TOML key or value was written on.

``tomllib`` returns plain dicts without positions, yet every policy error must name its
line. This is a line scanner, not a parser: it tracks table headers and ``key =`` lines,
which is all that the policy format needs to point a person at the right place.
"""

from __future__ import annotations

import re

# The header's name is taken greedily and stripped afterwards: a lazy name followed by
# optional whitespace backtracks cubically on a long line that is not a header (such as a
# line of a multi-line string), which turned a valid policy into a hang.
_HEADER = re.compile(r"^\s*(\[\[?)([^\]]*)\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-.]+)\s*=""")

Path = tuple[str, ...]


def _split_key(raw: str) -> Path:
    parts = []
    for part in re.findall(r"""("[^"]*"|'[^']*'|[^.\s]+)""", raw):
        parts.append(part[1:-1] if part[:1] in "\"'" else part)
    return tuple(parts)


class Locator:
    """Maps key paths (``("imports", "deny")``, ``("imports", "exceptions", "0", "module")``)
    to 1-based line numbers in one TOML text."""

    def __init__(self, text: str, prefix: Path = ()) -> None:
        self._prefix = prefix
        self._lines = text.splitlines()
        self._keys: dict[Path, int] = {}
        self._array_tables: dict[Path, int] = {}
        table: Path = ()
        for number, line in enumerate(self._lines, start=1):
            header = _HEADER.match(line)
            if header and header.group(2).strip():
                path = _split_key(header.group(2).strip())
                if header.group(1) == "[[":
                    index = self._array_tables.get(path, 0)
                    self._array_tables[path] = index + 1
                    self._keys.setdefault(path, number)
                    path = (*path, str(index))
                table = path
                self._keys.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                self._keys.setdefault((*table, *_split_key(key.group(1))), number)

    def line(self, path: Path, value: str | None = None) -> int:
        """The line of the longest known prefix of ``path``; with ``value``, the first line
        at or after it where that string literal appears (an item of a multi-line array).
        Paths are relative to ``prefix`` (``("tool", "importwall")`` in pyproject.toml)."""
        path = (*self._prefix, *path)
        for end in range(len(path), 0, -1):
            found = self._keys.get(path[:end])
            if found is not None:
                break
        else:
            return 1
        if value is not None:
            needles = (f'"{value}"', f"'{value}'")
            for number in range(found, len(self._lines) + 1):
                text = self._lines[number - 1]
                if any(needle in text for needle in needles):
                    return number
        return found
