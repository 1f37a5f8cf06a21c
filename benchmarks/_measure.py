"""What every benchmark shares: fresh interpreters run interleaved, instruction counts,
throw-away virtual environments, and one row format for the results.

Wall time on a shared machine drifts; every comparison here runs its sides in the same
rounds, in a random order within each round, so drift hits every side alike, and reports
the median with the interquartile range. Where even that is too noisy, ``valgrind
--tool=callgrind`` counts instructions, which do not depend on load.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".benchmarks"
"""Virtual environments the benchmarks build and keep between runs (git-ignored)."""

K = TypeVar("K")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without IMPORTWALL_* and PYTHON* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPORTWALL_", "PYTHON"))}
    env.update(extra)
    return env


@dataclass(frozen=True)
class Samples:
    """Measurements of one side, in the unit the benchmark reports."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> float:
        """Interquartile range: robust against the odd slow run on a busy machine."""
        if len(self.values) < 4:
            return max(self.values) - min(self.values)
        quartiles = statistics.quantiles(self.values, n=4)
        return quartiles[2] - quartiles[0]


@dataclass(frozen=True)
class Row:
    """One printed result line: ``label`` is stable (the smoke test looks for it)."""

    label: str
    value: str
    detail: str = ""
    target: str = ""
    met: bool | None = None

    def render(self) -> str:
        verdict = {True: "ok", False: "OVER", None: ""}[self.met]
        target = f"target {self.target}" if self.target else ""
        return f"  {self.label:<52} {self.value:>14}  {self.detail:<34} {target:<18} {verdict}"


def interleaved(sides: Mapping[K, Callable[[], float]], rounds: int,
                warmup: int = 1) -> dict[K, Samples]:
    """Call every side once per round, in a new random order each round."""
    for _ in range(warmup):
        for measure in sides.values():
            measure()
    values: dict[K, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        order = list(sides)
        random.shuffle(order)
        for name in order:
            values[name].append(sides[name]())
    return {name: Samples(tuple(found)) for name, found in values.items()}


def wall_seconds(argv: Sequence[str], env: Mapping[str, str],
                 ok: Sequence[int] = (0,)) -> float:
    """Seconds a fresh process takes from start to exit (its exit status one of ``ok``)."""
    began = time.perf_counter()
    done = subprocess.run(list(argv), env=dict(env), stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - began
    if done.returncode not in ok:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}:\n{done.stderr}")
    return elapsed


def cpu_seconds(argv: Sequence[str], env: Mapping[str, str]) -> float:
    """CPU seconds (user + system) a fresh process used: unlike wall time, it does not
    count the time the process waited for a core on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(list(argv), env=dict(env), stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}:\n{done.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def reported_seconds(argv: Sequence[str], env: Mapping[str, str]) -> float:
    """A fresh process that prints the seconds its timed section took, as its last line."""
    done = subprocess.run(list(argv), env=dict(env), check=False, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({done.returncode}):\n{done.stderr}")
    return float(done.stdout.split()[-1])


PRINT_PEAK_RSS = ("for line in open('/proc/self/status'):\n"
                  "    line.startswith('VmHWM:') and print(line.split()[1])\n")
"""Code that prints the process's own peak resident memory in KiB (Linux). The child must
read it itself: a child's ``ru_maxrss`` includes the parent's pages it held between fork
and exec, which hides anything smaller than the parent."""


def peak_rss_kib(argv: Sequence[str], env: Mapping[str, str]) -> float:
    """A fresh process that ends with :data:`PRINT_PEAK_RSS`: its peak RSS, in KiB."""
    return reported_seconds(argv, env)


def have_valgrind() -> bool:
    return shutil.which("valgrind") is not None


def instructions(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Instructions a process executes, counted by ``valgrind --tool=callgrind``."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv],
            env=dict(env), stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"valgrind run failed ({done.returncode}):\n{done.stderr}")
        for line in out.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no instruction total")


def source_venv(root: Path, packages: Sequence[str] = ()) -> Path:
    """A virtual environment at ``root`` in which this source tree's importwall is
    importable (through a ``.pth``), with ``packages`` pip-installed; reused when it is
    already there. Returns its python."""
    python = root / "bin" / "python"
    marker = root / ".benchmark-packages"
    wanted = "\n".join(sorted(packages))
    if python.exists() and (not packages or (marker.exists() and marker.read_text() == wanted)):
        return python
    args = [sys.executable, "-m", "venv", str(root)]
    if not packages:
        args.insert(3, "--without-pip")
    subprocess.run(args, check=True)
    if packages:
        print(f"  (installing {', '.join(packages)} into {root}; once)", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
        marker.write_text(wanted)
    (purelib(python) / "_importwall_source.pth").write_text(f"{REPO}\n")
    _copy_toml_backport(purelib(python))
    return python


def _copy_toml_backport(site: Path) -> None:
    """Python 3.10 has no ``tomllib``: importwall reads TOML with the ``tomli`` backport, which
    a venv without pip lacks. Copy the one this interpreter runs with, so the firewall starts
    there as it does in an installed venv."""
    if sys.version_info >= (3, 11) or (site / "tomli").exists():
        return
    import tomli  # type: ignore[import-not-found, unused-ignore]

    shutil.copytree(Path(tomli.__file__).parent, site / "tomli")


TOOLS_PACKAGES = ("tach", "coverage")
"""The tools the benchmarks compare against, kept in a venv of their own: tach registers
a pytest plugin, which must not land in the venv that runs the project's tests."""


def tools_venv(build: bool) -> Path | None:
    """The python of ``.benchmarks/venv-tools`` (tach, coverage.py), built when ``build``
    and missing; ``None`` when it is not there."""
    root = CACHE / "venv-tools"
    if build or (root / ".benchmark-packages").exists():
        return source_venv(root, TOOLS_PACKAGES)
    return None


def purelib(python: Path) -> Path:
    return Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True).stdout.strip())


def ratio_row(label: str, side: Samples, base: Samples, unit: str, scale: float,
              limit: float, digits: int = 2) -> Row:
    """``side`` against ``base``: median and spread in ``unit``, the ratio, and whether
    the overhead stays under ``limit`` (a fraction: 0.02 for 2%)."""
    ratio = side.median / base.median
    return Row(label, f"{side.median * scale:.{digits}f} {unit}",
               f"IQR {side.spread * scale:.{digits}f}, ratio {ratio:.3f}",
               f"<= +{limit:.1%}", ratio - 1 <= limit)


def count_row(label: str, side: int, base: int, limit: float) -> Row:
    ratio = side / base
    return Row(label, f"{side / 1e6:.1f} M instr", f"ratio {ratio:.4f}",
               f"<= +{limit:.1%}", ratio - 1 <= limit)
