"""Shared test helpers: fresh interpreters, throw-away packages, virtual environments.

Imported by test modules as ``from helpers import ...`` (pytest puts ``tests/`` on
``sys.path``); fixtures are in ``conftest.py``.

Start-up behaviour is only ever tested in a fresh subprocess (``sys.executable``), never by
activating the firewall inside the pytest process, so every test sees a real interpreter
start and a clean ``sys.modules``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
STARTUP_DIR = REPO / "importwall" / "_startup"
"""What ``importwall run`` puts on PYTHONPATH: the start-up hook, from the source tree."""
IMPORTWALL_ENV = ("IMPORTWALL_POLICY", "IMPORTWALL_MODE", "IMPORTWALL_DATA_DIR")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def clean_env(extra: Mapping[str, str] | None = None, pythonpath: list[Path] | None = None
              ) -> dict[str, str]:
    """The current environment without any IMPORTWALL_* or PYTHON* settings, plus ``extra``.

    ``pythonpath`` folders go first on PYTHONPATH, followed by the repository root so the
    source tree's importwall is importable even when it is not installed.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IMPORTWALL_", "PYTHON", "COV_"))}
    paths = [str(p) for p in (pythonpath or [])] + [str(REPO)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


def run_python(args: list[str] | str, *, cwd: Path | None = None,
               env: Mapping[str, str] | None = None, pythonpath: list[Path] | None = None,
               python: str | Path = sys.executable, timeout: float = 60) -> Result:
    """Run a fresh interpreter. ``args`` as a string is a ``-c`` program (dedented)."""
    argv = ["-c", textwrap.dedent(args)] if isinstance(args, str) else list(args)
    proc = subprocess.run(
        [str(python), *argv], cwd=cwd, env=clean_env(env, pythonpath), capture_output=True,
        text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def write_files(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``{relative path: source}`` under ``root`` (dedented); return ``root``."""
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return root


PIP_UNREACHABLE = ("NewConnectionError", "Max retries exceeded", "Temporary failure in name",
                   "Network is unreachable", "No matching distribution found",
                   "Could not find a version that satisfies")
"""What pip prints when the package registry cannot be reached."""

CACHE_ENV = "IMPORTWALL_TESTS_CACHE"
"""Where the test venvs are cached (default ``~/.cache/importwall-tests``; ``$XDG_CACHE_HOME``
is honoured). Delete the folder to rebuild every venv."""
_CACHE_FORMAT = 1
_COMPLETE = ".importwall-test-venv.json"
"""Written last into a cached venv: its presence means the build finished."""


def venv_with_packages(folder: Path, packages: Sequence[str], timeout: float = 900) -> Path:
    """A virtual environment in ``folder`` with ``packages`` (pip arguments) installed; its
    interpreter.

    The packages are installed once per machine into a cached venv (see
    :func:`venv_cache_dir`), keyed by the Python, the requirements and, when ``packages``
    install this repository (``"-e", str(REPO)`` or ``str(REPO)``), importwall's own
    dependencies; the venv in ``folder`` is a hard-linked copy of it (a plain copy across
    file systems), so a test may install into it and remove from it freely (pip and Python
    replace files rather than rewrite them), but must not rewrite a file of it in place,
    which would change the cache's copy too. The repository itself is installed into
    the copy again (``--no-deps --no-build-isolation``, seconds, offline), so the cache is
    shared by every clone on the machine. Two pytest-xdist workers asking for the same venv
    build it once: the second waits on a lock and copies it.

    Skips the test, with pip's last line, when the registry cannot be reached for a venv
    that is not cached yet; fails it on any other install error.
    """
    requirements, own = _split_own_install(packages)
    key = _cache_key(requirements, own)
    root = venv_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    cached = root / key
    with _locked(root / f"{key}.lock", exclusive=True):
        if not (cached / _COMPLETE).is_file():
            _build_cached(cached, requirements, own, key, timeout)
    with _locked(root / f"{key}.lock", exclusive=False):
        _copy_venv(cached, folder)
    python = _venv_python(folder)
    if own and not _installed_from_here(folder, editable="-e" in own):
        _install_own(python, own, timeout)
    return python


def venv_cache_dir() -> Path:
    """``$IMPORTWALL_TESTS_CACHE/venvs``, else ``~/.cache/importwall-tests/venvs``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit) / "venvs"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "importwall-tests" / "venvs"


def _venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _split_own_install(packages: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the requirements, the arguments that install this repository), the latter with the
    repository's path written as ``REPO`` (``["-e", "REPO[test]"]``), so that every clone
    shares the cache."""
    requirements: list[str] = []
    own: list[str] = []
    items = list(packages)
    index = 0
    while index < len(items):
        word = items[index]
        editable = word in ("-e", "--editable") and index + 1 < len(items)
        target = items[index + 1] if editable else word
        extras = _repo_extras(target)
        if extras is not None:
            own += ["-e", f"REPO{extras}"] if editable else [f"REPO{extras}"]
            index += 2 if editable else 1
            continue
        requirements.append(word)
        index += 1
    return requirements, own


def _repo_extras(word: str) -> str | None:
    """``"[test]"`` for ``/path/to/repo[test]``, ``""`` for the repository, else ``None``."""
    path, bracket, rest = word.partition("[")
    if not path or path.startswith("-"):
        return None
    try:
        if Path(path).resolve() != REPO:
            return None
    except OSError:
        return None
    return bracket + rest


def _own_install_inputs() -> dict[str, Any]:
    """What installing this repository brings into a venv: its dependencies (all extras
    included, whichever are asked for) and its build backend."""
    from importwall.policy.toml import loads

    pyproject = loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject.get("project", {})
    return {"dependencies": project.get("dependencies", []),
            "optional": project.get("optional-dependencies", {}),
            "build": pyproject.get("build-system", {}).get("requires", [])}


def _cache_key(requirements: Sequence[str], own: Sequence[str]) -> str:
    import hashlib
    import json
    import platform

    inputs = {"format": _CACHE_FORMAT,
              "python": [sys.implementation.name, platform.python_version(),
                         os.path.realpath(sys.base_prefix), platform.machine()],
              "requirements": list(requirements), "own": list(own),
              "own_inputs": _own_install_inputs() if own else None}
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    return f"py{platform.python_version()}-{digest}"


@contextlib.contextmanager
def _locked(path: Path, exclusive: bool) -> Iterator[None]:
    """An advisory ``flock`` on ``path``: exclusive to build a cached venv, shared to copy
    it. (Where ``fcntl`` does not exist, no lock: one worker at a time is assumed.)"""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield


def _pip_install(python: Path, arguments: Sequence[str], timeout: float, what: str) -> None:
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *arguments],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        if any(marker in output for marker in PIP_UNREACHABLE):
            pytest.skip(f"the package registry is unreachable, so {what} could not be "
                        f"installed: {output.strip().splitlines()[-1]}")
        pytest.fail(f"pip install {what} failed:\n{output[-3000:]}")


def _build_cached(cached: Path, requirements: Sequence[str], own: Sequence[str], key: str,
                  timeout: float) -> None:
    """Build the cached venv in place (venvs are not relocatable), then mark it complete;
    a build that did not finish is removed and started again."""
    import json
    import shutil

    shutil.rmtree(cached, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(cached)], check=True, timeout=300)
    # The copies install the repository without build isolation: the cache holds the build
    # backend (and `editables`, which hatchling's editable wheels of force-included
    # folders need).
    build: list[str] = []
    if own:
        build += _own_install_inputs()["build"]
        build += ["editables"] if "-e" in own else []
    what = " ".join([*requirements, *own])
    try:
        _pip_install(_venv_python(cached), [*requirements, *_with_repo(own), *build], timeout,
                     what)
    except BaseException:
        shutil.rmtree(cached, ignore_errors=True)
        raise
    marker = cached / (_COMPLETE + ".tmp")
    marker.write_text(json.dumps({"key": key, "requirements": list(requirements),
                                  "own": list(own)}, indent=2), encoding="utf-8")
    os.replace(marker, cached / _COMPLETE)


def _copy_venv(cached: Path, folder: Path) -> None:
    """Hard-link every file of ``cached`` into ``folder`` (copy where links fail), then
    point the scripts in ``bin/`` at the copy."""
    import shutil

    def link(source: str, target: str) -> None:
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)

    shutil.copytree(cached, folder, symlinks=True, dirs_exist_ok=True, copy_function=link,
                    ignore=shutil.ignore_patterns(_COMPLETE))
    old, new = os.fsencode(cached), os.fsencode(folder)
    bin_dir = _venv_python(folder).parent
    for script in bin_dir.iterdir():
        if script.is_symlink() or not script.is_file() or script.stat().st_size > 1 << 20:
            continue
        data = script.read_bytes()
        if old in data:  # written anew: the cache's inode must not change
            replacement = script.with_name(script.name + ".importwall-tmp")
            replacement.write_bytes(data.replace(old, new))
            shutil.copymode(script, replacement)
            os.replace(replacement, script)


def _installed_from_here(folder: Path, editable: bool) -> bool:
    """Whether the venv's importwall is this clone's (the cache was built from it)."""
    import json

    for found in folder.glob("lib*/python*/site-packages/importwall-*.dist-info/direct_url.json"):
        try:
            url = json.loads(found.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return (url.get("url") == REPO.as_uri()
                and bool(url.get("dir_info", {}).get("editable")) == editable)
    return False


def _install_own(python: Path, own: Sequence[str], timeout: float) -> None:
    """Install this repository into the copy as asked, without touching its dependencies
    (the cache has them) or the registry: the copy then runs this clone's code."""
    _pip_install(python, ["--no-deps", "--no-build-isolation", "--no-index", *_with_repo(own)],
                 timeout, " ".join(_with_repo(own)))


def _with_repo(own: Sequence[str]) -> list[str]:
    """``own`` with ``REPO`` written as this clone's path again."""
    return [str(REPO) + word[len("REPO"):] if word.startswith("REPO") else word
            for word in own]


_LOOPBACK_ONLY = ["unshare", "-n", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']


def loopback_only(argv: Sequence[str]) -> list[str]:
    """``argv`` run in a network namespace of its own that has nothing but loopback.

    For servers that bind every interface or reach out on their own whatever they are told
    (Ray's gRPC servers bind ``*``; its core probes 8.8.8.8:53 for its address and its
    dashboard probes cloud metadata): inside, every listener is 127.0.0.1 and nothing
    leaves the machine. Skips the test, saying why, where the namespace cannot be made
    (``unshare -n`` needs root or an unprivileged user namespace)."""
    probe = subprocess.run([*_LOOPBACK_ONLY, "true"], capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
    if probe.returncode != 0:
        pytest.skip("needs a network namespace with only loopback (unshare -n), so that "
                    "the servers it starts cannot listen on or reach other addresses: "
                    f"{(probe.stderr.strip() or 'unshare failed').splitlines()[-1]}")
    return [*_LOOPBACK_ONLY, *argv]
