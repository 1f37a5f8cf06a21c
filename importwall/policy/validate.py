"""Reading a policy from source: parse the TOML, follow ``extends``, validate every key
against :data:`~importwall.policy.schema.SCHEMA`, normalize and merge.

Every problem in every file is collected (``file:line: key: message``) for one
:class:`~importwall.errors.PolicyError`; unknown keys become warnings, with a "did you
mean" where a known key is close. :func:`importwall.policy.loader.load_policy` is the entry
point; it imports this module only when a policy is not in the compiled-policy cache (or
cannot be found, to word the error), so a process that starts from the cache loads neither
this module nor the schema's table.

Standard library only: this module is on the start-up path of a process whose policy is
not cached yet.
"""

from __future__ import annotations

import os
import stat

from importwall.findings import SEVERITIES
from importwall.policy.model import ImportRules, Policy
from importwall.policy.packs import (
    PYPROJECT,
    PYPROJECT_TABLE,
    looks_like_pack_name,
    pack_names,
    resolve_reference,
)
from importwall.policy.rules import ImportException, Rule, new_rule
from importwall.policy.schema import (
    MERGED_BY_CONCATENATION,
    POLICY_VERSION,
    RULE_KEYS,
    SCHEMA,
    Field,
)

TYPE_CHECKING = False  # typing and collections.abc are not imported at interpreter start
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from importwall.policy.locate import Locator


def _close_matches(word: str, candidates: Sequence[str]) -> list[str]:
    """The closest candidate, for "did you mean" hints. A known key with a word added
    (``deny_vars``, ``deny_list`` for ``deny``) is the likeliest slip, whatever difflib
    thinks of a longer key that shares more letters (``deny_networks``). difflib is
    imported only when a policy has a problem: valid policies load on the start-up path
    without it."""
    prefixes = [c for c in candidates if word.startswith(c + "_")]
    if prefixes:
        return [max(prefixes, key=len)]
    import difflib

    return difflib.get_close_matches(word, candidates, n=1)


def _no_such_policy(reference: str) -> str:
    packs = pack_names()
    hint = ""
    close = _close_matches(reference, packs)
    if close:
        hint = f"; did you mean the shipped pack {close[0]!r}?"
    elif packs:
        hint = f"; shipped packs: {', '.join(packs)}"
    return f"{reference}:1: policy: no such file or shipped pack{hint}"



def _unusable_path(reference: str, base_dir: str) -> str | None:
    """Why the path ``reference`` names is no policy file that could be read: a folder, a
    FIFO or another file that is not a regular one, or a folder on the way that this user
    may not enter. ``None`` when there is simply nothing there."""
    candidate = os.path.abspath(os.path.join(base_dir, os.path.expanduser(reference)))
    try:
        mode = os.stat(candidate).st_mode
    except PermissionError:
        return _closed_folder(candidate)
    except (OSError, ValueError):
        return None
    if stat.S_ISDIR(mode):
        inside = [name for name in ("importwall.toml", PYPROJECT)
                  if os.path.isfile(os.path.join(candidate, name))]
        hint = (f"; did you mean {os.path.join(reference, inside[0])!r}?" if inside
                else "; name the policy file in it")
        return f"{candidate!r} is a folder, not a policy file{hint}"
    if stat.S_ISFIFO(mode):
        return (f"{candidate!r} is a FIFO (a named pipe), not a file: reading it would wait "
                "for a writer, holding up the process; write the policy to a regular file")
    if not stat.S_ISREG(mode):
        return (f"{candidate!r} is not a regular file (a socket or a device); name a "
                "policy file")
    return None


def _closed_folder(candidate: str) -> str:
    """The message for a path behind a folder this user may not enter (no search, ``x``,
    permission)."""
    folder = os.path.dirname(candidate)
    ancestors = []
    while True:
        ancestors.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    closed = next((a for a in reversed(ancestors) if not os.access(a, os.X_OK)),
                  os.path.dirname(candidate))
    user = f"uid {os.geteuid()}" if hasattr(os, "geteuid") else "this user"
    return (f"cannot reach {candidate!r}: the folder {closed!r} does not let {user} in "
            "(permission denied); give that user search permission on it (chmod +x), or "
            "put the policy where the process can read it")


def _read_text(path: str) -> tuple[str | None, str | None]:
    """(the file's text, None), or (None, the problem): as ``open(path, encoding="utf-8")``
    would read it, with a message naming the line of a byte that is not UTF-8."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        return None, f"{path}:1: policy: cannot read the file: {error}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        byte = data[error.start]
        return None, (f"{path}:{line}: policy: byte 0x{byte:02x} at column {column} is not "
                      "UTF-8 (a TOML file is UTF-8); save it as UTF-8")
    if "\r" in text:  # universal newlines, as text mode reads them
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, None


# Normalized values per section: {section: {key: value}} with only the keys a file set.
_Sections = dict[str, dict[str, "Any"]]


class _Loader:
    """Loads one policy and its bases depth-first, collecting problems instead of stopping."""

    def __init__(self, loads: Callable[[str], dict[str, Any]] | None = None) -> None:
        self.loads = loads
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.files: list[str] = []

    def load(self, path: str, chain: tuple[str, ...]) -> _Sections:
        # The TOML reader and the line locator are imported only when a policy is read from
        # source: a policy from the compiled cache needs neither (nor re, nor typing).
        from importwall.policy import toml as _toml
        from importwall.policy.locate import Locator

        text, problem = _read_text(path)
        if text is None:
            self.problems.append(problem or f"{path}:1: policy: cannot read the file")
            return {}
        try:
            document = (self.loads or _toml.loads)(text)
        except _toml.TOMLDecodeError as error:
            self.problems.append(_decode_problem(path, error))
            return {}
        except RecursionError:
            # The TOML readers recurse once per nested array or inline table.
            self.problems.append(f"{path}:1: toml: values are nested too deeply to read; "
                                 "a policy needs at most a few levels")
            return {}
        prefix: tuple[str, ...] = ()
        if os.path.basename(path) == PYPROJECT:
            prefix = PYPROJECT_TABLE
            tool = document.get("tool")  # may be any value: `tool = 1` is valid TOML
            document = tool.get("importwall") if isinstance(tool, dict) else None
            if not isinstance(document, dict):
                self.problems.append(f"{path}:1: tool.importwall: no [tool.importwall] table; "
                                     "add one with the keys of a policy file (version = 1, "
                                     "[tool.importwall.imports] ...)")
                return {}
        locator = Locator(text, prefix)
        checker = _FileChecker(path, locator, precedence=0, problems=self.problems,
                               warnings=self.warnings)
        merged: _Sections = {}
        for reference, line in checker.extends(document):
            base = resolve_reference(reference, os.path.dirname(path))
            if base is None:
                unusable = _unusable_path(reference, os.path.dirname(path))
                self.problems.append(
                    f"{path}:{line}: extends: {unusable or _missing_base(reference)}")
                continue
            if base in chain or base == path:
                cycle = " -> ".join([*chain, path, base])
                self.problems.append(f"{path}:{line}: extends: circular extends: {cycle}")
                continue
            if base in self.files:
                continue  # a diamond: the base is already part of the merge
            merged = _merge(merged, self.load(base, (*chain, path)))
        checker.precedence = len(self.files)
        self.files.append(path)
        return _merge(merged, checker.check(document))


def _missing_base(reference: str) -> str:
    if looks_like_pack_name(reference):
        packs = pack_names()
        close = _close_matches(reference, packs)
        suggestion = f"; did you mean {close[0]!r}?" if close else ""
        return (f"no shipped pack named {reference!r}{suggestion} "
                f"(shipped: {', '.join(packs) or 'none'}; a file path must end in .toml "
                "or contain a /)")
    return f"no such file {reference!r} (relative paths are resolved from this file's folder)"


def _decode_problem(path: str, error: Exception) -> str:
    message = str(error)
    line = getattr(error, "lineno", None)
    if line is None and "(at line " in message:
        try:
            line = int(message.rsplit("(at line ", 1)[1].split(",")[0])
        except ValueError:
            line = None
    message = message.split(" (at line ")[0]
    return f"{path}:{line or 1}: toml: {message}"


def _merge(base: _Sections, override: _Sections) -> _Sections:
    """Lists (rules, exceptions, names) accumulate; single values are replaced."""
    merged = {name: dict(values) for name, values in base.items()}
    for section, values in override.items():
        target = merged.setdefault(section, {})
        for key, value in values.items():
            kind = SCHEMA[section][key].kind
            if kind in MERGED_BY_CONCATENATION and key in target:
                target[key] = (*target[key], *value)
            else:
                target[key] = value
    return merged


class _FileChecker:
    """Validates and normalizes one file's document against :data:`SCHEMA`."""

    def __init__(self, path: str, locator: Locator, precedence: int, problems: list[str],
                 warnings: list[str]) -> None:
        self.path = path
        self.locator = locator
        self.precedence = precedence
        self.problems = problems
        self.warnings = warnings

    # -- reporting

    def _where(self, path: tuple[str, ...], value: str | None = None) -> str:
        return f"{self.path}:{self.locator.line(path, value)}"

    def problem(self, path: tuple[str, ...], message: str, value: str | None = None) -> None:
        self.problems.append(f"{self._where(path, value)}: {_dotted(path)}: {message}")

    def _unknown(self, path: tuple[str, ...], known: Sequence[str], what: str) -> None:
        close = _close_matches(path[-1], known)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
        self.warnings.append(f"{self._where(path)}: {_dotted(path)}: unknown {what}{hint}")

    # -- document

    def extends(self, document: Mapping[str, Any]) -> list[tuple[str, int]]:
        value = document.get("extends", [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(("extends",), "must be a list of pack names or relative paths, "
                         'e.g. extends = ["serving-base", "./team.toml"]')
            return []
        return [(v, self.locator.line(("extends",), v)) for v in value]

    def check(self, document: Mapping[str, Any]) -> _Sections:
        out: _Sections = {}
        version = document.get("version")
        if version is None:
            place = ("the [tool.importwall] table" if os.path.basename(self.path) == PYPROJECT
                     else "the file")
            self.problems.append(f"{self._where(())}: version: missing; add `version = "
                                 f"{POLICY_VERSION}` at the top of {place}")
        elif version != POLICY_VERSION or isinstance(version, bool):
            self.problem(("version",), f"unsupported version {version!r}; this importwall "
                         f"reads version = {POLICY_VERSION}")
        top = {k: v for k, v in document.items() if not isinstance(v, dict)}
        top.pop("version", None)
        out[""] = self._check_table((), top, SCHEMA[""], skip=("version", "extends"))
        if "extends" in document:
            out[""]["extends"] = tuple(ref for ref, _ in self.extends(document))
        for name, table in document.items():
            if not isinstance(table, dict):
                continue
            if name not in SCHEMA or name == "":
                self._unknown((name,), [k for k in SCHEMA if k], "section")
                continue
            out[name] = self._check_table((name,), table, SCHEMA[name])
        return {k: v for k, v in out.items() if v}

    def _check_table(self, where: tuple[str, ...], table: Mapping[str, Any],
                     schema: Mapping[str, Field], skip: Sequence[str] = ()) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, raw in table.items():
            if key in skip:
                continue
            path = (*where, key)
            spec = schema.get(key)
            if spec is None:
                self._unknown(path, list(schema), "key")
                continue
            normalized = self._check_value(path, raw, spec)
            if normalized is not _INVALID:
                values[key] = normalized
        return values

    def _check_value(self, path: tuple[str, ...], raw: Any, spec: Field) -> Any:
        kind = spec.kind
        if kind == "bool":
            return raw if isinstance(raw, bool) else self._wrong(path, "true or false")
        if kind == "int":
            if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
                return raw
            return self._wrong(path, "a whole number >= 0")
        if kind == "number":
            if isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw >= 0:
                return raw
            return self._wrong(path, "a number >= 0")
        if kind == "str":
            return raw if isinstance(raw, str) and raw else self._wrong(path, "a non-empty string")
        if kind == "path":  # relative to the file that wrote it, wherever it is extended from
            if not isinstance(raw, str) or not raw:
                return self._wrong(path, "a non-empty string: a file path, relative to this "
                                   "policy file")
            return os.path.normpath(os.path.join(os.path.dirname(self.path),
                                                 os.path.expanduser(raw)))
        if kind == "choice":
            if isinstance(raw, str) and raw in spec.choices:
                return raw
            close = _close_matches(str(raw), spec.choices)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return self._wrong(path, f"one of {', '.join(map(repr, spec.choices))}{hint}")
        if kind == "choices":  # one choice, or a list of them
            values = [raw] if isinstance(raw, str) else raw
            if isinstance(values, list) and values and all(v in spec.choices for v in values):
                return tuple(dict.fromkeys(values))
            wrong = next((v for v in values if v not in spec.choices), raw) if isinstance(
                values, list) else raw
            close = _close_matches(str(wrong), spec.choices)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return self._wrong(path, f"one of {', '.join(map(repr, spec.choices))}, or a "
                               f"list of them{hint}")
        if kind == "strings":
            if isinstance(raw, list) and all(isinstance(v, str) and v for v in raw):
                return tuple(raw)
            return self._wrong(path, "a list of non-empty strings")
        if kind == "rules":
            return self._check_rules(path, raw, spec)
        if kind == "exceptions":
            return self._check_exceptions(path, raw)
        raise AssertionError(f"unknown field kind {kind!r}")  # pragma: no cover

    def _wrong(self, path: tuple[str, ...], expected: str) -> object:
        self.problem(path, f"must be {expected}")
        return _INVALID

    def _check_rules(self, path: tuple[str, ...], raw: Any, spec: Field) -> Any:
        if not isinstance(raw, list):
            return self._wrong(path, f'a list of patterns or tables like {{ {spec.pattern_key} '
                               '= "...", reason = "..." }')
        pattern_key, extra_keys = spec.pattern_key, spec.extra_keys
        known = (pattern_key, *RULE_KEYS, *extra_keys)
        known_keys = frozenset(known)
        # Each item's line, for every item at once (one look-up of the key, then one of each
        # pattern's literal): the rule's source, and where its problems are reported.
        patterns = [item if isinstance(item, str)
                    else item.get(pattern_key) if isinstance(item, dict) else None
                    for item in raw]
        lines = self.locator.value_lines(
            path, [pattern if isinstance(pattern, str) else None for pattern in patterns])
        file, precedence = self.path, self.precedence
        plain = (_plain_matcher() if pattern_key in _MODULE_KEYS
                 else lambda pattern: not _pattern_problem(pattern, pattern_key))
        wheres: dict[int, str] = {}
        rules: list[Rule] = []
        for index, item in enumerate(raw):
            line = lines[index]
            where = wheres.get(line)
            if where is None:
                where = wheres[line] = f"{file}:{line}"
            pattern = patterns[index]
            # The common items, checked in a few steps: a bare pattern, or a table with a
            # valid pattern, no key but the known ones, a string reason and a known
            # severity. Anything else is worded by the full checks below.
            if isinstance(item, dict):
                reason = item.get("reason")
                severity = item.get("severity", "error")
                if (isinstance(pattern, str) and item.keys() <= known_keys
                        and (reason is None or isinstance(reason, str))
                        and severity in SEVERITIES and plain(pattern)):
                    rules.append(new_rule(
                        pattern.strip(), reason, severity, where, precedence,
                        {key: item[key] for key in extra_keys if key in item}
                        if extra_keys else {}))
                    continue
            elif isinstance(item, str):
                if plain(item):
                    rules.append(new_rule(item.strip(), None, "error", where, precedence, {}))
                    continue
                item = {pattern_key: item}
            item_path = (*path, f"[{index}]")
            if not isinstance(item, dict):
                self.problem(item_path, "each entry must be a string or a table")
                continue
            if not isinstance(pattern, str) or not pattern.strip():
                self.problems.append(f"{where}: {_dotted(item_path)}: needs a non-empty "
                                     f"{pattern_key!r}")
                continue
            bad = _pattern_problem(pattern, pattern_key)
            if bad:
                self.problems.append(f"{where}: {_dotted(item_path)}: {bad}")
                continue
            extra = {}
            for key, value in item.items():
                if key not in known:
                    close = _close_matches(key, known)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    self.warnings.append(f"{where}: {_dotted(item_path)}.{key}: unknown key"
                                         f"{hint}")
                elif key in extra_keys:
                    extra[key] = value
            reason = item.get("reason")
            severity = item.get("severity", "error")
            if reason is not None and not isinstance(reason, str):
                self.problems.append(f"{where}: {_dotted(item_path)}.reason: must be a string")
                continue
            if severity not in SEVERITIES:
                self.problems.append(f"{where}: {_dotted(item_path)}.severity: must be one of "
                                     f"{', '.join(SEVERITIES)}")
                continue
            rules.append(Rule(pattern.strip(), reason, severity, where, precedence, extra))
        return tuple(rules)

    def _check_exceptions(self, path: tuple[str, ...], raw: Any) -> Any:
        if not isinstance(raw, list):
            return self._wrong(path, "a list of tables: [[imports.exceptions]] with module, "
                               "importer and reason")
        found: list[ImportException] = []
        for index, item in enumerate(raw):
            item_path = (*path, str(index))
            shown = (*path, f"[{index}]")
            if not isinstance(item, dict):
                self.problem(shown, "each exception must be a table with module and importer")
                continue
            where = self._where(item_path, item.get("module"))
            ok = True
            for key in ("module", "importer"):
                value = item.get(key)
                bad = _pattern_problem(value, key) if isinstance(value, str) and value else (
                    f"needs a non-empty {key!r}")
                if bad:
                    self.problems.append(f"{where}: {_dotted(shown)}.{key}: {bad}")
                    ok = False
            reason = item.get("reason")
            if reason is not None and not isinstance(reason, str):
                self.problems.append(f"{where}: {_dotted(shown)}.reason: must be a string")
                ok = False
            for key in item:
                if key not in ("module", "importer", "reason"):
                    close = _close_matches(key, ("module", "importer", "reason"))
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    self.warnings.append(f"{where}: {_dotted(shown)}.{key}: unknown key{hint}")
            if ok:
                found.append(ImportException(item["module"], item["importer"], reason, where))
        return tuple(found)


_INVALID = object()
_MODULE_KEYS = ("module", "importer")


_plain_match: Callable[[str], object] | None = None


def _plain_matcher() -> Callable[[str], object]:
    """Whether a module pattern is one that :func:`_pattern_problem` accepts, told in one
    regex match: dotted segments of letters, digits, ``_`` and the globs (``\\w`` is
    ``str.isalnum()`` or ``_``, character by character), inside optional whitespace
    (``\\s`` is what ``str.strip()`` strips). A pattern it refuses is worded by
    :func:`_pattern_problem`."""
    global _plain_match
    if _plain_match is None:
        import re  # imported already by the line locator, which reading from source needs

        _plain_match = re.compile(r"\s*[\w*?]+(?:\.[\w*?]+)*\s*").fullmatch
    return _plain_match


def _pattern_problem(pattern: Any, key: str) -> str | None:
    """Module patterns are dotted names whose segments may hold ``*`` globs; networks are
    CIDRs; mount paths are absolute."""
    if key == "network":
        return _network_problem(pattern)
    if key == "path":
        if isinstance(pattern, str) and pattern.strip().startswith("/"):
            return None
        return f"{pattern!r} is not an absolute path; write it like '/mnt/warehouse'"
    if key not in ("module", "importer"):
        return None
    if not isinstance(pattern, str):
        return f"{key} must be a string"
    segments = pattern.strip().split(".")
    if any(not segment for segment in segments):
        return f"{pattern!r} is not a dotted module name (empty segment)"
    for segment in segments:
        # Letters, digits, '_' and the globs: what is left without '_*?' is alphanumeric.
        bare = segment.replace("_", "").replace("*", "").replace("?", "")
        if bare and not bare.isalnum():
            return (f"{pattern!r} is not a module pattern: use dotted names with '*' globs, "
                    "e.g. 'sklearn.model_selection' or 'jupyter*'")
    return None


def _network_problem(pattern: Any) -> str | None:
    import ipaddress  # only policies that name networks pay for it

    try:
        ipaddress.ip_network(str(pattern).strip(), strict=False)
    except ValueError:
        return (f"{pattern!r} is not a network; write a CIDR like '10.0.0.0/8' or "
                "'fd00::/8', or a single address")
    return None


def _dotted(path: Sequence[str]) -> str:
    out = ""
    for part in path:
        if part.startswith("["):
            out += part
        elif part.isdigit():
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "policy"


def _build(path: str, files: Sequence[str], sections: _Sections,
           warnings_: Sequence[str]) -> Policy:
    top = sections.pop("", {})
    imports = sections.pop("imports", {})
    return Policy(
        path=path,
        files=tuple(files),
        mode=top.get("mode"),
        strict=bool(top.get("strict", False)),
        check_at_startup=bool(top.get("check_at_startup", False)),
        imports=ImportRules(
            deny=imports.get("deny", ()),
            allow=imports.get("allow", ()),
            deny_distributions=imports.get("deny_distributions", ()),
            exceptions=imports.get("exceptions", ()),
            blocked_error=imports.get("blocked_error", "module-not-found"),
        ),
        sections=sections,
        warnings=tuple(warnings_),
    )


# --------------------------------------------------------------------------- the cache
# A loaded policy as plain tuples, dicts and strings (what marshal holds), and back.


