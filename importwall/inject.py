"""Start-up injection: what ``importwall install`` / ``uninstall`` / ``startup-file`` do.

Two ways into every Python process of an environment, with no change to its code:

* a one-line ``importwall.pth`` in site-packages (the default). ``site`` runs it at every
  interpreter start; it checks ``IMPORTWALL_POLICY`` before importing anything, so an
  environment where the variable is unset pays for one dictionary lookup;
* a ``sitecustomize.py`` (``--sitecustomize``), a copy of ``importwall/_startup/
  sitecustomize.py`` that runs any ``sitecustomize`` it displaces after starting the firewall.

The target is the running interpreter's site-packages, ``--user`` site-packages, or
``--venv PATH``, whose site-packages the venv's own interpreter names (``sysconfig``).
``startup-file`` prints the ``PYTHONSTARTUP`` script for interactive shells.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from importwall.errors import InstallError

PTH_NAME = "importwall.pth"
# site.py executes .pth lines that start with "import"; the environment is checked before
# the package is imported, so the disabled path costs next to nothing.
PTH_LINE = ("import os; os.environ.get('IMPORTWALL_POLICY') and "
            "__import__('importwall._bootstrap')._bootstrap.startup()\n")
SITECUSTOMIZE = "sitecustomize.py"
SITECUSTOMIZE_MARKER = ("# importwall: installed by `importwall install --sitecustomize`; "
                        "`importwall uninstall` removes it and restores the original.\n")
PACKAGE_DIR = Path(__file__).resolve().parent
STARTUP_SITECUSTOMIZE = PACKAGE_DIR / "_startup" / SITECUSTOMIZE
STARTUP_FILE = PACKAGE_DIR / "_pythonstartup.py"
SAVED_FOLDER = "importwall-saved-sitecustomize"  # the name _startup/sitecustomize.py reads

# Asked of the target interpreter: where its site-packages is and what it would import.
_PROBE = """\
import importlib.machinery, importlib.util, json, sys, sysconfig
# The path search, not sys.modules: importwall's sitecustomize puts the one it chains to there.
spec = importlib.machinery.PathFinder.find_spec("sitecustomize", sys.path)
print(json.dumps({
    "purelib": sysconfig.get_path("purelib"),
    "importwall": importlib.util.find_spec("importwall") is not None,
    "sitecustomize": spec.origin if spec is not None else None,
}))
"""



@dataclass(frozen=True)
class Target:
    """A site-packages folder and the interpreter that reads it at start-up."""

    site_packages: Path
    python: str
    label: str

    @property
    def pth(self) -> Path:
        return self.site_packages / PTH_NAME

    @property
    def sitecustomize(self) -> Path:
        return self.site_packages / SITECUSTOMIZE

    @property
    def saved_sitecustomize(self) -> Path:
        return self.site_packages / SAVED_FOLDER / SITECUSTOMIZE


# --------------------------------------------------------------------------- targets


def probe(python: str) -> dict[str, object]:
    """Ask ``python`` for its site-packages, whether it can import importwall, and which
    ``sitecustomize`` it would run. Runs with importwall switched off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPORTWALL_")}
    try:
        proc = subprocess.run([python, "-E", "-c", _PROBE], env=env, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
    except OSError as error:
        raise InstallError(f"importwall: cannot run {python}: {error}") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise InstallError(f"importwall: {python} failed to describe its site-packages "
                           f"(exit {proc.returncode}): {last}")
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def venv_interpreter(venv: Path) -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    for name in ("python.exe", "python") if os.name == "nt" else ("python", "python3"):
        candidate = venv / scripts / name
        if candidate.exists():
            return candidate
    raise InstallError(
        f"importwall: no Python interpreter in {venv / scripts}; --venv takes the folder of a "
        "virtual environment (the one that holds pyvenv.cfg)")


def resolve_target(user: bool, venv: str | None, *, need_package: bool = True) -> Target:
    if venv is not None:
        root = Path(venv).resolve()
        python = str(venv_interpreter(root))
        facts = probe(python)
        if need_package and not facts["importwall"]:
            raise InstallError(
                f"importwall: the package is not installed in {root}; install it there first "
                f"({python} -m pip install importwall), then run this command again")
        return Target(Path(str(facts["purelib"])), python, f"virtual environment {root}")
    if user:
        if not site.ENABLE_USER_SITE:
            raise InstallError(
                f"importwall: {sys.executable} does not read the user site-packages (it runs "
                "in a virtual environment, or with -s or PYTHONNOUSERSITE); use --venv PATH, "
                "or run `python -m importwall install --user` with the target interpreter")
        return Target(Path(site.getusersitepackages()), sys.executable, "user site-packages")
    import sysconfig

    return Target(Path(sysconfig.get_path("purelib")), sys.executable,
                  f"site-packages of {sys.executable}")


# --------------------------------------------------------------------------- actions


def install_pth(target: Target) -> Path:
    """Write the ``.pth`` line (again, if it is there already)."""
    target.site_packages.mkdir(parents=True, exist_ok=True)
    _write(target.pth, PTH_LINE)
    return target.pth


def install_sitecustomize(target: Target) -> Path:
    """Install importwall's ``sitecustomize``, keeping any existing one to chain to."""
    path = target.sitecustomize
    if (target.site_packages / "sitecustomize").is_dir():
        raise InstallError(
            f"importwall: {target.site_packages / 'sitecustomize'} is a package; importwall "
            "only chains to a sitecustomize.py module. Use the .pth route instead "
            "(importwall install without --sitecustomize)")
    target.site_packages.mkdir(parents=True, exist_ok=True)
    moved = False
    if path.exists() and not _ours(path):
        if target.saved_sitecustomize.exists():
            raise InstallError(
                f"importwall: both {path} and {target.saved_sitecustomize} exist; move one "
                "of them away, then install again")
        target.saved_sitecustomize.parent.mkdir(exist_ok=True)
        os.replace(path, target.saved_sitecustomize)
        moved = True
    _write(path, SITECUSTOMIZE_MARKER + STARTUP_SITECUSTOMIZE.read_text(encoding="utf-8"))
    origin = probe(target.python)["sitecustomize"]
    if origin is None or Path(str(origin)).resolve() != path.resolve():
        if moved:
            _remove_sitecustomize(target)
        else:
            path.unlink()
        raise InstallError(
            f"importwall: {target.python} would run the sitecustomize at {origin}, which "
            f"comes before {target.site_packages} on its sys.path, so importwall's would "
            "never run. Use the .pth route instead (importwall install without "
            "--sitecustomize)")
    return path


def uninstall(target: Target) -> list[str]:
    """Remove what importwall installed in ``target``; say what was done."""
    done = []
    if target.pth.exists():
        if "importwall._bootstrap" not in target.pth.read_text(encoding="utf-8"):
            raise InstallError(f"importwall: {target.pth} was not written by importwall; "
                               "left in place")
        target.pth.unlink()
        done.append(f"removed {target.pth}")
    if target.sitecustomize.exists() and _ours(target.sitecustomize):
        done.extend(_remove_sitecustomize(target))
    return done


def _remove_sitecustomize(target: Target) -> list[str]:
    target.sitecustomize.unlink()
    done = [f"removed {target.sitecustomize}"]
    saved = target.saved_sitecustomize
    if saved.exists():
        os.replace(saved, target.sitecustomize)
        shutil.rmtree(saved.parent, ignore_errors=True)
        done.append(f"restored the original {target.sitecustomize}")
    return done


def _ours(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as stream:
        return stream.readline() == SITECUSTOMIZE_MARKER


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".importwall-tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
