"""The compiled-policy cache: a loaded, validated and merged policy, kept with ``marshal``
so that the next process that asks for it skips reading TOML and validating.

Every serving worker, multiprocessing child and serverless cold start loads the same policy
at interpreter start; parsing and validating it (``tomllib``, the schema, line numbers) is
most of what activation costs, and grows with the policy. The cache holds the result.

* **Keyed by every source file**: the absolute path, size and modification time (ns) of
  each file the policy was merged from (``Policy.files``), the importwall version and the
  folder its shipped packs are read from, and the interpreter's marshal format. Any
  change, to any file of the ``extends`` chain, is a miss and the policy is loaded from
  source again (and the cache rewritten).
* **Owned by the user**: the folder is created ``0700`` and each file ``0600``; a cache
  file or folder that another user owns, or that others may write, is ignored and never
  written (so nobody else can hand this process a weaker policy).
* **Never in the way**: a missing, corrupt, stale, foreign or unwritable cache means the
  policy is parsed as if there were none; reading or writing it never raises. A file
  modified in the last two seconds is not cached (its mtime could change again within the
  same clock tick, unseen), and a policy with problems is never cached (they are reported
  from source every time).

Where: ``$IMPORTWALL_POLICY_CACHE`` (a folder; ``off`` turns the cache off), else
``policies/`` in the per-user cache folder (:func:`user_cache_dir`).

Standard library only: this module is on the start-up path, and imports next to nothing.
"""

from __future__ import annotations

import marshal
import os
import sys
import time

from importwall._version import __version__
from importwall.policy.packs import packs_dir
from importwall.settings import ENV_POLICY_CACHE

TYPE_CHECKING = False  # typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from importwall.policy.model import Policy

FORMAT = 1
# The folder the shipped packs an ``extends`` names are read from is part of the key, so two
# installs of one version (an editable checkout and a wheel, two checkouts) do not answer
# from each other's merged packs.
_TAG = ("importwall-policy-cache", FORMAT, __version__, sys.implementation.cache_tag,
        marshal.version, packs_dir())
OFF = ("off", "0", "no", "false", "")
RACY_SECONDS = 2.0
"""A source file modified this recently is not cached: see the module docstring."""


def user_cache_dir() -> str:
    """The per-user cache folder: ``$XDG_CACHE_HOME/importwall`` (``~/.cache``) on Linux,
    ``~/Library/Caches/importwall`` on macOS, ``%LOCALAPPDATA%\\importwall\\Cache`` on
    Windows."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
        return os.path.join(base, "importwall", "Cache")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Caches/importwall")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "importwall")


def cache_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> str | None:
    """The folder compiled policies are kept in, or ``None`` when the cache is off."""
    env = os.environ if environ is None else environ
    configured = env.get(ENV_POLICY_CACHE)
    if configured is not None:
        if configured.strip().lower() in OFF:
            return None
        return os.path.abspath(os.path.expanduser(configured))
    return os.path.join(user_cache_dir(), "policies")


def _entry_path(folder: str, target: str) -> str:
    """One file per policy asked for: its name readable, its path's checksum unique
    enough (the file holds the full key, checked on every read)."""
    stem = os.path.basename(target).replace(".", "-")[:40]
    return os.path.join(folder, f"{stem}-{_checksum(target):08x}.marshal")


def _checksum(text: str) -> int:
    """32 bits of the hash of the text's UTF-8 bytes taken as a tuple of ints, worked out
    in C: the same in every process (only ``str`` and ``bytes`` hashes are salted per
    process). ``zlib.crc32`` would do, but ``zlib`` is an extension module, and the
    pure-Python FNV-1a loop this replaces cost 0.23 M instructions a start."""
    return hash(tuple(text.encode("utf-8", "surrogatepass"))) & 0xFFFFFFFF


def owned_by_user(status: os.stat_result) -> bool:
    """Ours and writable by nobody else (no such check on Windows, which has no modes).
    The static scan's parse cache is held to the same rule."""
    if not hasattr(os, "getuid"):
        return True
    return status.st_uid == os.getuid() and not status.st_mode & 0o022


def _stamps(files: tuple[str, ...]) -> tuple[tuple[str, int, int], ...] | None:
    """(path, size, mtime ns) of each file, or ``None`` when one cannot be read."""
    stamps = []
    for name in files:
        try:
            status = os.stat(name)
        except OSError:
            return None
        stamps.append((name, status.st_size, status.st_mtime_ns))
    return tuple(stamps)


def read(target: str, build: Callable[[Any], Policy]) -> Policy | None:
    """The cached policy for the file ``target`` (absolute), or ``None`` on any miss.

    ``build`` turns the stored data back into a :class:`Policy` (the loader does it, see
    :func:`~importwall.policy.loader.policy_from_data`); a failure there is a miss too."""
    folder = cache_dir()
    if folder is None:
        return None
    path = _entry_path(folder, target)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(descriptor, "rb") as handle:
            status = os.fstat(handle.fileno())
            if not owned_by_user(status) or not owned_by_user(os.stat(folder)):
                return None
            stored = marshal.loads(handle.read())
        tag, key, data = stored
        if tag != _TAG or key[0] != target or _stamps(tuple(f for f, _, _ in key[1])) != key[1]:
            return None
        return build(data)
    except Exception:  # corrupt, truncated, foreign format: parse from source instead
        return None


def write(target: str, files: tuple[str, ...], data: Any) -> bool:
    """Keep ``data`` (marshal-able) for ``target``; ``False`` when it was not written (the
    cache off or unwritable, a folder that is not ours, a file modified too recently)."""
    folder = cache_dir()
    if folder is None:
        return False
    stamps = _stamps(files)
    if stamps is None:
        return False
    now_ns = time.time_ns()
    if any(now_ns - mtime < RACY_SECONDS * 1e9 for _, _, mtime in stamps):
        return False
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if not owned_by_user(os.stat(folder)):
            return False
        payload = marshal.dumps((_TAG, (target, stamps), data))
    except (OSError, ValueError):  # ValueError: data marshal cannot hold
        return False
    entry = _entry_path(folder, target)
    temporary = f"{entry}.{os.getpid()}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return False
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
        os.replace(temporary, entry)  # readers see the old file or the new one, never half
    except OSError:
        _remove(temporary)
        return False
    return True


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        return


# --------------------------------------------------------------------------- the matcher
# The compiled matcher (runtime/matcher.py) is kept in the same entry as the policy it was
# compiled from. The policy layer does not know what it holds: the loader hands a policy
# read from the cache its compiled data, and a policy it loaded from source the place to
# store it, both as private attributes of that Policy object (a copy made with
# ``dataclasses.replace`` has neither, so a changed policy is never paired with an old
# matcher).

_COMPILED = "_importwall_compiled"
_ENTRY = "_importwall_cache_entry"


def attach(policy: Policy, target: str, data: Any, compiled: Any) -> None:
    """Remember where ``policy`` is cached (with ``data``, the loader's marshal-able form
    of it), and its compiled matcher data if any."""
    object.__setattr__(policy, _ENTRY, (target, data))
    object.__setattr__(policy, _COMPILED, compiled)


def compiled_for(policy: Policy) -> Any:
    """The compiled matcher data cached with ``policy``, or ``None``."""
    return getattr(policy, "__dict__", {}).get(_COMPILED)


def store_compiled(policy: Policy, compiled: Any) -> bool:
    """Add ``compiled`` to ``policy``'s cache entry (once); ``False`` when the policy did
    not come through the cache (built in code, or changed with ``replace``)."""
    entry = getattr(policy, "__dict__", {}).get(_ENTRY)
    if entry is None:
        return False
    target, data = entry
    object.__setattr__(policy, _COMPILED, compiled)
    return write(target, policy.files, (data, compiled))
