"""Find the line a TOML key or value was written on.

``tomllib`` returns plain dicts without positions, yet every policy error must name its
line. This is a line scanner, not a parser: it tracks table headers and ``key =`` lines,
which is all that the policy format needs to point a person at the right place.

Every line number is worked out in one pass over the text: the lines of each key, and,
built on the first question about a value, the lines each string literal appears on, so
that a policy of 100,000 rules is located in linear time (asking "the first line at or
after the key where this literal appears" once per rule, by scanning, was quadratic).
"""

from __future__ import annotations

import re
from bisect import bisect_left

# The header's name is taken greedily and stripped afterwards: a lazy name followed by
# optional whitespace backtracks cubically on a long line that is not a header (such as a
# line of a multi-line string), which turned a valid policy into a hang.
# One match per line tells a header (groups 1-2) from a key (group 3) from neither.
_HEADER_OR_KEY = re.compile(
    r"""\s*(?:(\[\[?)([^\]]*)\]\]?\s*(?:#.*)?$|("[^"]*"|'[^']*'|[A-Za-z0-9_\-.]+)\s*=)""")

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
        self._literals: tuple[dict[str, list[int]], ...] | None = None
        table: Path = ()
        match = _HEADER_OR_KEY.match
        for number, line in enumerate(self._lines, start=1):
            found = match(line)
            if found is None:
                continue
            bracket, name, key = found.groups()
            if key is not None:
                self._keys.setdefault((*table, *_split_key(key)), number)
            elif name.strip():  # a header (one with no name is no table)
                path = _split_key(name.strip())
                if bracket == "[[":
                    index = self._array_tables.get(path, 0)
                    self._array_tables[path] = index + 1
                    self._keys.setdefault(path, number)
                    path = (*path, str(index))
                table = path
                self._keys.setdefault(table, number)

    def line(self, path: Path, value: str | None = None) -> int:
        """The line of the longest known prefix of ``path``; with ``value``, the first line
        at or after it where that string literal appears (an item of a multi-line array).
        Paths are relative to ``prefix`` (``("tool", "importwall")`` in pyproject.toml)."""
        # An exception's module may be any TOML value: its text is what is looked for.
        return self.value_lines(path, [None if value is None else str(value)])[0]

    def value_lines(self, path: Path, values: list[str | None]) -> list[int]:
        """:meth:`line` of ``path`` with each of ``values``, in one call: a rules array of
        100,000 items finds its key once, not 100,000 times."""
        path = (*self._prefix, *path)
        for end in range(len(path), 0, -1):
            found = self._keys.get(path[:end])
            if found is not None:
                break
        else:
            return [1] * len(values)
        if all(value is None for value in values):
            return [found] * len(values)
        if self._literals is None:
            self._literals = _index_literals(self._lines)
        double, single = self._literals
        out = []
        for value in values:
            after = 0
            if value is not None:
                lines = double.get(value)
                if lines is not None and lines[-1] >= found:
                    after = lines[0] if lines[0] >= found else lines[bisect_left(lines, found)]
                lines = single.get(value)
                if lines is not None and lines[-1] >= found:
                    hit = lines[0] if lines[0] >= found else lines[bisect_left(lines, found)]
                    if not after or hit < after:
                        after = hit
            out.append(after or found)
        return out


def _index_literals(lines: list[str]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """What stands between each pair of ``"`` and each pair of ``'`` on each line, paired
    left to right (``"a", "b"`` holds ``a`` and ``b``) -> the lines it is on, ascending, one
    table per quote. A rule's pattern is always such a run; a value with the quote inside
    it is not a valid pattern, and its problem is reported at its key's line."""
    double: dict[str, list[int]] = {}
    single: dict[str, list[int]] = {}
    for number, line in enumerate(lines, start=1):
        for quote, index in (('"', double), ("'", single)):
            if quote not in line:
                continue
            parts = line.split(quote)
            for literal in parts[1:len(parts) - 1:2]:  # an unclosed last run is no literal
                found = index.get(literal)
                if found is None:
                    index[literal] = [number]
                elif found[-1] != number:
                    found.append(number)
    return double, single
