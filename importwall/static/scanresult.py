"""A whole scan's answer, kept so that a second scan of an unchanged tree with the same
policy and options reads nothing but file and folder status.

The answer depends on the policy's import rules and files, the entry points, search path
and options, every source file the walk read, and every folder the source finder listed
(a file added or removed changes its folder's mtime). All are recorded: their status taken
before they were read, and checked again before the answer is used; any difference, or a
result file another user owns or others may write, and the scan walks the tree again
(from the per-file parse cache).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import time
from collections.abc import Mapping, Sequence

from importwall._version import __version__
from importwall.findings import Finding
from importwall.policy import Policy
from importwall.policy.cache import owned_by_user

RESULT_FORMAT = 1



def result_key(policy: Policy, names: Sequence[str], search_path: Sequence[str],
               first_party: Sequence[str], follow_third_party: bool) -> str | None:
    """What the answer is an answer to; ``None`` when the policy cannot be keyed."""
    try:
        rules = marshal.dumps(policy.to_dict()["imports"])
        return hashlib.sha256(marshal.dumps((
            RESULT_FORMAT, __version__, sys.version, list(names), list(search_path),
            sorted(first_party), follow_third_party, rules))).hexdigest()
    except (ValueError, KeyError, TypeError):
        return None


def file_status(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def load(path: str, key: str) -> tuple[list[Finding], int] | None:
    """The findings and module count kept for ``key``, or ``None`` when there are none or
    anything they depend on changed."""
    try:
        with open(path, "rb") as handle:
            if not owned_by_user(os.fstat(handle.fileno())):
                return None
            data = marshal.loads(handle.read())
        if not isinstance(data, dict) or data.get("format") != RESULT_FORMAT or \
                data.get("key") != key:
            return None
        files, folders = data["files"], data["folders"]
        for file, status in files.items():
            if file_status(file) != (tuple(status) if status is not None else None):
                return None
        for folder, mtime in folders.items():
            if _folder_mtime(folder) != mtime:
                return None
        now = time.time()
        findings = [Finding.from_dict({**item, "timestamp": now}) for item in data["findings"]]
        return findings, int(data["modules"])
    except (OSError, ValueError, EOFError, TypeError, KeyError, AttributeError):
        return None


def save(path: str, key: str, findings: Sequence[Finding], modules: int,
         files: Mapping[str, tuple[int, int] | None], folders: Mapping[str, int | None]
         ) -> None:
    """Write the answer atomically; one that cannot be written is skipped."""
    import tempfile

    try:
        data = marshal.dumps({"format": RESULT_FORMAT, "key": key, "modules": modules,
                              "files": dict(files), "folders": dict(folders),
                              "findings": [finding.to_dict() for finding in findings]})
        folder = os.path.dirname(path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".scan-", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except (OSError, ValueError):
        return


def _folder_mtime(folder: str) -> int | None:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return None
