"""Start-up injection, tested the way users get it: the built wheel installed in a fresh
virtual environment, and a serving script run by that environment's interpreter.

One venv is built per test session (wheel built once, importwall installed with
``--no-index`` so only its dependencies come from the registry); each test installs the
route it tests and removes it again, leaving the venv clean for the next.
"""

from __future__ import annotations

import email.parser
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import REPO, Result, clean_env, venv_with_packages, write_files

from importwall.policy.json_schema import IN_WHEEL, policy_json_schema_text

pytestmark = pytest.mark.venv

SERVICE = {
    "svc/__init__.py": "",
    "svc/model.py": "def predict(x):\n    return sum(x)\n",
    "svc/training.py": "print('TRAINING CODE RAN')\n",
    "policy.toml": """
        version = 1
        [imports]
        deny = [{ module = "svc.training", reason = "training code stays out of serving" }]
        """,
    "strict.toml": """
        version = 1
        strict = true
        extends = ["./policy.toml"]
        """,
    # A serving script; each scenario prints one line per process: who and what happened
    # when it imported the denied module.
    "serve.py": """
        import multiprocessing
        import os
        import subprocess
        import sys

        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under -I

        PROBE = (
            "import sys\\n"
            "try:\\n"
            "    import svc.training\\n"
            "    print(sys.argv[1] + ': imported')\\n"
            "except ModuleNotFoundError as error:\\n"
            "    print(sys.argv[1] + ': ' + type(error).__name__)\\n"
        )


        def probe(who):
            try:
                import svc.training  # noqa: F401
                return f"{who}: imported"
            except ModuleNotFoundError as error:
                return f"{who}: {type(error).__name__}"


        def in_pool(method):
            with multiprocessing.get_context(method).Pool(1) as pool:
                return pool.apply(probe, (method,))


        if __name__ == "__main__":
            sys.stdout.reconfigure(line_buffering=True)  # children share the pipe
            scenario = sys.argv[1]
            if scenario == "serve":
                import svc.model
                import svc.training  # the mistake: training code in the server
                print("served", svc.model.predict([1, 2]))
            elif scenario == "probe":
                print(probe("main"))
            elif scenario == "children":
                print(probe("main"))
                for method in ("spawn", "forkserver", "fork"):
                    print(in_pool(method))
                # a child that starts a grandchild, both plain interpreters
                subprocess.run([sys.executable, "-c",
                                "import subprocess, sys; subprocess.run([sys.executable, "
                                "'-c', sys.argv[1], 'grandchild'], check=True)", PROBE],
                               check=True)
            elif scenario == "clear-meta-path":
                from importwall.runtime.finder import Firewall
                others = [f for f in sys.meta_path if not isinstance(f, Firewall)]
                sys.meta_path.clear()
                sys.meta_path.extend(others)
                print(probe("after clear"))
            sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
        """,
}


@dataclass
class Venv:
    root: Path
    python: Path
    site_packages: Path

    def bin(self, name: str) -> Path:
        return self.python.parent / name

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A clean environment: no IMPORTWALL_* or PYTHON* settings, and nothing that
        points at the source tree, so only the installed package can be found."""
        env = clean_env()
        del env["PYTHONPATH"]
        env.update(extra or {})
        return env

    def run(self, argv: list[str], *, cwd: Path, env: Mapping[str, str] | None = None,
            stdin: str | None = None) -> Result:
        proc = subprocess.run(argv, cwd=cwd, env=self.env(env), capture_output=True,
                              text=True, timeout=120, input=stdin,
                              stdin=None if stdin is not None else subprocess.DEVNULL)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def importwall(self, *args: str, cwd: Path) -> Result:
        return self.run([str(self.bin("importwall")), *args], cwd=cwd)


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", "-q",
                           *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = _pip(Path(sys.executable), "wheel", "--no-deps", "-w", str(out), str(REPO))
    if build.returncode != 0:
        pytest.skip(f"cannot build the importwall wheel (build backend unreachable?): "
                    f"{build.stderr.strip().splitlines()[-1:]}")
    (built,) = out.glob("importwall-*.whl")
    return built


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Venv:
    root = tmp_path_factory.mktemp("venv") / "serving"
    with zipfile.ZipFile(wheel) as archive:
        meta_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(meta_name).decode())
    dependencies = [d for d in metadata.get_all("Requires-Dist") or [] if "extra ==" not in d]
    # The dependencies come from the cache of test venvs; the wheel is installed fresh.
    python = venv_with_packages(root, dependencies)
    own = _pip(python, "install", "--no-index", "--find-links", str(wheel.parent),
               "--no-deps", "importwall")
    assert own.returncode == 0, own.stderr
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True).stdout.strip()
    return Venv(root, python, Path(purelib))


@pytest.fixture
def service(tmp_path: Path) -> Path:
    return write_files(tmp_path / "service", SERVICE)


@pytest.fixture
def pth(venv: Venv, service: Path) -> Iterator[Path]:
    result = venv.importwall("install", "--venv", str(venv.root), cwd=service)
    assert result.returncode == 0, result.output
    yield venv.site_packages / "importwall.pth"
    venv.importwall("uninstall", "--venv", str(venv.root), cwd=service)


def _policy_env(service: Path, name: str = "policy.toml") -> dict[str, str]:
    return {"IMPORTWALL_POLICY": str(service / name)}


# --------------------------------------------------------------------------- .pth


def test_the_tests_use_the_installed_wheel_not_the_source_tree(venv: Venv, service: Path
                                                               ) -> None:
    result = venv.run([str(venv.python), "-c", "import importwall; print(importwall.__file__)"],
                      cwd=service)
    assert Path(result.stdout.strip()).is_relative_to(venv.site_packages)


def test_the_wheel_carries_the_packs_the_schema_and_the_type_marker(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    packs = sorted(path.name for path in (REPO / "policies").glob("*.toml"))
    assert sorted(n.rsplit("/", 1)[1] for n in names
                  if n.startswith("importwall/policies/")) == packs
    assert "importwall/report/schemas/report-v1.schema.json" in names
    assert "importwall/py.typed" in names
    assert not any(n.startswith(("policies/", "tests/")) for n in names)
    # The policy's JSON Schema, generated at build time from the loader's table.
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read(IN_WHEEL).decode("utf-8")
    assert shipped == policy_json_schema_text()


def test_every_shipped_pack_loads_from_the_installed_wheel(venv: Venv, service: Path) -> None:
    result = venv.run([str(venv.python), "-c", (
        "from importwall.policy import load_policy, pack_names, packs_dir\n"
        "print(packs_dir())\n"
        "for name in pack_names():\n"
        "    print(name, len(load_policy(name).imports.deny))\n")], cwd=service)
    assert result.returncode == 0, result.output
    folder, *loaded = result.stdout.splitlines()
    assert Path(folder) == venv.site_packages / "importwall" / "policies"
    shipped = sorted(path.stem for path in (REPO / "policies").glob("*.toml"))
    assert [line.split()[0] for line in loaded] == shipped
    assert all(int(line.split()[1]) > 0 for line in loaded)


def test_pth_install_writes_one_defensive_line(venv: Venv, pth: Path) -> None:
    lines = pth.read_text().splitlines()
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("import os;")
    # the environment is checked before the package is imported
    assert line.index("IMPORTWALL_POLICY") < line.index("importwall._bootstrap")


def test_pth_blocks_a_denied_import_in_a_serving_script(venv: Venv, pth: Path,
                                                        service: Path) -> None:
    result = venv.run([str(venv.python), "serve.py", "serve"], cwd=service,
                      env=_policy_env(service))
    assert result.returncode == 1
    assert "ForbiddenImportError" in result.stderr
    assert "svc.training" in result.stderr
    assert "TRAINING CODE RAN" not in result.output


def test_pth_covers_multiprocessing_and_subprocess_children(venv: Venv, pth: Path,
                                                            service: Path) -> None:
    result = venv.run([str(venv.python), "serve.py", "children"], cwd=service,
                      env={"IMPORTWALL_POLICY": "policy.toml"})  # relative: made absolute
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines() == [
        "main: ForbiddenImportError",
        "spawn: ForbiddenImportError",
        "forkserver: ForbiddenImportError",
        "fork: ForbiddenImportError",
        "grandchild: ForbiddenImportError",
    ]


def test_disabled_pth_changes_nothing(venv: Venv, pth: Path, service: Path) -> None:
    served = venv.run([str(venv.python), "serve.py", "serve"], cwd=service)
    assert served.returncode == 0, served.output
    assert "TRAINING CODE RAN" in served.stdout
    loaded = venv.run([str(venv.python), "-c",
                       "import sys; print(sorted(m for m in sys.modules if 'importwall' in m))"],
                      cwd=service)
    assert loaded.stdout.strip() == "[]"


def test_pth_is_safe_twice_on_the_path(venv: Venv, pth: Path, service: Path) -> None:
    # The same site-packages added again, so the .pth line runs a second time.
    code = ("import site, sys, sysconfig; site.addsitedir(sysconfig.get_path('purelib'));"
            "import importwall; print(sum(isinstance(f, importwall.Firewall) "
            "for f in sys.meta_path))")
    result = venv.run([str(venv.python), "-c", code], cwd=service, env=_policy_env(service))
    assert result.stdout.strip() == "1", result.output


def test_uninstall_removes_the_pth(venv: Venv, pth: Path, service: Path) -> None:
    result = venv.importwall("uninstall", "--venv", str(venv.root), cwd=service)
    assert result.returncode == 0
    assert f"importwall: removed {pth}" in result.stderr  # a note, on stderr
    assert not pth.exists()
    served = venv.run([str(venv.python), "serve.py", "probe"], cwd=service,
                      env=_policy_env(service))
    assert served.stdout.splitlines()[-1] == "main: imported"


def test_strict_mode_survives_meta_path_clear(venv: Venv, pth: Path, service: Path) -> None:
    strict = venv.run([str(venv.python), "serve.py", "clear-meta-path"], cwd=service,
                      env=_policy_env(service, "strict.toml"))
    assert strict.stdout.strip() == "after clear: ForbiddenImportError", strict.output
    loose = venv.run([str(venv.python), "serve.py", "clear-meta-path"], cwd=service,
                     env=_policy_env(service))
    assert loose.stdout.splitlines()[-1] == "after clear: imported", loose.output


@pytest.mark.parametrize(("flag", "guarded"), [("-E", True), ("-I", True), ("-S", False)])
def test_interpreter_flags_with_the_pth(venv: Venv, pth: Path, service: Path, flag: str,
                                        guarded: bool) -> None:
    # -E and -I ignore PYTHON* variables, not IMPORTWALL_POLICY, and still read the
    # environment's site-packages; -S skips site, so no .pth runs at all.
    result = venv.run([str(venv.python), flag, "serve.py", "probe"], cwd=service,
                      env=_policy_env(service))
    expected = "ForbiddenImportError" if guarded else "imported"
    assert result.stdout.splitlines()[-1] == f"main: {expected}", result.output


def test_enforce_fails_closed_on_a_broken_policy(venv: Venv, pth: Path, service: Path) -> None:
    result = venv.run([str(venv.python), "serve.py", "serve"], cwd=service,
                      env={"IMPORTWALL_POLICY": str(service / "missing.toml")})
    assert result.returncode == 2
    assert "refusing to start" in result.stderr
    assert "TRAINING CODE RAN" not in result.output


# --------------------------------------------------------------------------- sitecustomize

ORIGINAL_SITECUSTOMIZE = "import sys\nsys.stderr.write('original sitecustomize ran\\n')\n"


@pytest.fixture
def sitecustomize(venv: Venv, service: Path) -> Iterator[Path]:
    original = venv.site_packages / "sitecustomize.py"
    original.write_text(ORIGINAL_SITECUSTOMIZE)
    try:
        result = venv.importwall("install", "--venv", str(venv.root), "--sitecustomize",
                                 cwd=service)
        assert result.returncode == 0, result.output
        yield original
    finally:
        venv.importwall("uninstall", "--venv", str(venv.root), cwd=service)
        original.unlink(missing_ok=True)


def test_sitecustomize_blocks_and_chains_to_the_original(venv: Venv, sitecustomize: Path,
                                                         service: Path) -> None:
    assert not (venv.site_packages / "importwall.pth").exists()
    result = venv.run([str(venv.python), "serve.py", "children"], cwd=service,
                      env=_policy_env(service))
    assert result.returncode == 0, result.output
    assert set(result.stdout.splitlines()) == {
        "main: ForbiddenImportError", "spawn: ForbiddenImportError",
        "forkserver: ForbiddenImportError", "fork: ForbiddenImportError",
        "grandchild: ForbiddenImportError"}
    assert "original sitecustomize ran" in result.stderr


def test_disabled_sitecustomize_still_runs_the_original(venv: Venv, sitecustomize: Path,
                                                        service: Path) -> None:
    result = venv.run([str(venv.python), "-c",
                       "import sys; print(sorted(m for m in sys.modules if 'importwall' in m))"],
                      cwd=service)
    assert result.stdout.strip() == "[]"
    assert result.stderr == "original sitecustomize ran\n"


def test_uninstall_restores_the_original_sitecustomize(venv: Venv, sitecustomize: Path,
                                                       service: Path) -> None:
    assert sitecustomize.read_text() != ORIGINAL_SITECUSTOMIZE
    result = venv.importwall("uninstall", "--venv", str(venv.root), cwd=service)
    assert "restored the original" in result.stderr, result.output
    assert sitecustomize.read_text() == ORIGINAL_SITECUSTOMIZE
    assert not (venv.site_packages / "importwall-saved-sitecustomize").exists()


# --------------------------------------------------------------------------- importwall run


def test_run_covers_every_python_child_and_exits_with_its_status(venv: Venv,
                                                                  service: Path) -> None:
    assert not (venv.site_packages / "importwall.pth").exists()
    result = venv.run([str(venv.bin("importwall")), "run", "--policy", "policy.toml", "--",
                       "python", "serve.py", "children", "7"], cwd=service,
                      env={"PATH": f"{venv.python.parent}{os.pathsep}{os.environ['PATH']}"})
    assert result.returncode == 7, result.output
    assert result.stdout.splitlines() == [
        "main: ForbiddenImportError",
        "spawn: ForbiddenImportError",
        "forkserver: ForbiddenImportError",
        "fork: ForbiddenImportError",
        "grandchild: ForbiddenImportError",
    ]


def test_run_blocks_a_serving_script(venv: Venv, service: Path) -> None:
    result = venv.run([str(venv.bin("importwall")), "run", "--policy", "policy.toml",
                       "--mode", "enforce", "--", str(venv.python), "serve.py", "serve"],
                      cwd=service)
    assert result.returncode == 1
    assert "ForbiddenImportError" in result.stderr
    assert "TRAINING CODE RAN" not in result.output


def test_run_cannot_reach_an_interpreter_started_with_E(venv: Venv, service: Path) -> None:
    # -E ignores PYTHONPATH, which is how `run` reaches a child without an installed .pth.
    result = venv.run([str(venv.bin("importwall")), "run", "--policy", "policy.toml", "--",
                       str(venv.python), "-E", "serve.py", "probe"], cwd=service)
    assert result.stdout.splitlines()[-1] == "main: imported", result.output


# --------------------------------------------------------------------------- PYTHONSTARTUP


def test_startup_file_guards_an_interactive_shell(venv: Venv, service: Path) -> None:
    printed = venv.importwall("startup-file", cwd=service)
    startup = Path(printed.stdout.strip())
    assert startup.is_relative_to(venv.site_packages) and startup.is_file()
    result = venv.run([str(venv.python), "-i", "-q"], cwd=service, stdin="import svc.training\n",
                      env={**_policy_env(service), "PYTHONSTARTUP": str(startup)})
    assert "importwall: firewall active" in result.stderr
    assert "ForbiddenImportError" in result.stderr
    assert "TRAINING CODE RAN" not in result.output


def test_startup_file_says_when_the_shell_is_not_guarded(venv: Venv, service: Path) -> None:
    startup = venv.importwall("startup-file", cwd=service).stdout.strip()
    result = venv.run([str(venv.python), "-i", "-q"], cwd=service, stdin="import svc.training\n",
                      env={"PYTHONSTARTUP": startup})
    assert "IMPORTWALL_POLICY is not set" in result.stderr
    assert "TRAINING CODE RAN" in result.stdout


# --------------------------------------------------------------------------- bad input


def test_install_into_a_folder_that_is_not_a_venv(venv: Venv, tmp_path: Path) -> None:
    result = venv.importwall("install", "--venv", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "no Python interpreter" in result.stderr
    assert "Traceback" not in result.stderr
