"""What a large policy costs: load + validate + compile, from source and from the cache,
and ``importwall check``, at 1,000 to 100,000 rules.

Organisations generate policies with thousands of rules. The policy here is written the way
a person (or a generator) writes one: ``deny`` and ``allow`` as multi-line arrays of
``{ module = "...", reason = "..." }`` tables, plus importer-aware exceptions, in a file
that extends the shipped ``serving-base`` pack. Every figure is a fresh interpreter:

* ``from source``: ``load_policy`` then ``Matcher.from_policy``, timed inside the child
  (importwall already imported), with no compiled-policy cache, read by the standard TOML
  reader (``tomllib``: what the start-up hook uses on a cache miss) and, where the ``fast``
  extra is installed, by toml-rs (``importwall.policy.fasttoml``: what the command line
  uses);
* ``compile only``: ``Matcher.from_policy`` of the loaded policy (what ``activate()`` of a
  prebuilt :class:`Policy` pays);
* ``from cache``: the same load when the compiled-policy cache holds it (a first run fills
  it; see ``importwall/policy/cache.py``);
* ``importwall check``: the whole command, wall time from start to exit, without the
  cache, with the fast reader (where installed) and without it (``toml_rs`` made
  unimportable), and with the cache warm (a second ``check`` of an unchanged policy).

A run that takes longer than ``--timeout`` seconds is stopped and shown as ``> N s``.
Targets (issue 19): 10,000 rules <= 50 ms and 100,000 <= 0.5 s from source, ~1 ms from
the cache, ``importwall check`` on 100,000 rules <= 2 s.

    python benchmarks/large_policy.py [--sizes 1000,10000,100000] [--rounds 5] [--timeout 60]
    python benchmarks/large_policy.py --instructions 1000,10000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import REPO, Row, Samples, clean_env, have_valgrind, instructions

SIZES = (1000, 10000, 100000)
FROM_SOURCE_LIMIT_S = {10000: 0.05, 100000: 0.5}
FROM_CACHE_LIMIT_S = 0.005  # "~1 ms": reported against 5 ms, the rest is noise on a busy box
CHECK_LIMIT_S = {100000: 2.0}

T = TypeVar("T")

CHILD = """\
import os, sys, time
from importwall.policy import fasttoml, load_policy
from importwall.runtime.matcher import Matcher
loads = fasttoml.loads if sys.argv[2] == "fast" else None
if loads is not None:
    fasttoml.fast_reader()  # imported before the clock starts, as importwall is
if sys.argv[3:] == ["imports-only"]:  # the baseline of an instruction count
    sys.exit()
began = time.perf_counter()
policy = load_policy(sys.argv[1], loads=loads)
loaded = time.perf_counter()
Matcher.from_policy(policy)
done = time.perf_counter()
print(loaded - began, done - loaded, done - began)
"""


# `importwall check` without the fast reader: toml_rs made unimportable, as where the extra
# is not installed.
CHECK_STANDARD = ("import sys; sys.modules['toml_rs'] = None; "
                  "from importwall.cli.main import main; sys.exit(main())")


def _has_fast_reader() -> bool:
    try:
        import toml_rs  # noqa: F401
    except ImportError:
        return False
    return True


def write_policy(folder: Path, rules: int) -> Path:
    """A policy of ``rules`` deny/allow rules (9 in 10 deny) and one exception per 100
    rules, each a table with a reason, on its own line."""
    lines = ['version = 1', 'extends = ["serving-base"]', '', '[imports]', 'deny = [']
    allow = []
    for index in range(rules):
        top = f"corp{index % 997}"
        pattern = (f"{top}.training.job{index}" if index % 7 else f"{top}.notebooks{index}*")
        entry = (f'    {{ module = "{pattern}", reason = "generated rule {index}: '
                 f'training-only code of team {index % 53}" }},')
        if index % 10 == 9:
            allow.append(entry.replace(".training.", ".serving."))
        else:
            lines.append(entry)
    lines += [']', 'allow = [', *allow, ']', '']
    for index in range(0, rules, 100):
        lines += ['[[imports.exceptions]]', f'module = "corp{index % 997}.training.job{index}"',
                  f'importer = "corp{index % 997}.*"',
                  f'reason = "the team\'s own pipeline imports it ({index})"', '']
    path = folder / f"policy-{rules}.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    aged = time.time() - 60  # the cache skips files modified in the last seconds (racy)
    os.utime(path, (aged, aged))
    return path


def _run(argv: Sequence[str], env: dict[str, str], timeout: float) -> tuple[float, str] | None:
    """Wall seconds and stdout of one fresh process, or ``None`` when it ran past
    ``timeout`` (stopped)."""
    began = time.perf_counter()
    try:
        done = subprocess.run(list(argv), env=env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed ({done.returncode}):\n{done.stderr}")
    return time.perf_counter() - began, done.stdout


def _child(argv: Sequence[str], env: dict[str, str], timeout: float) -> list[float] | None:
    """The child's own timings: load, compile, both."""
    ran = _run(argv, env, timeout)
    return None if ran is None else [float(value) for value in ran[1].split()[-3:]]


def _wall(argv: Sequence[str], env: dict[str, str], timeout: float) -> float | None:
    ran = _run(argv, env, timeout)
    return None if ran is None else ran[0]


def _repeat(run: Callable[[], T | None], rounds: int) -> list[T] | None:
    """``rounds`` results of ``run``, or ``None`` as soon as one run is stopped."""
    results = []
    for _ in range(rounds):
        found = run()
        if found is None:
            return None
        results.append(found)
    return results


def _seconds_row(label: str, samples: list[float] | None, timeout: float,
                 limit: float | None, detail: str = "") -> Row:
    target = f"<= {_human(limit)}" if limit is not None else ""
    if samples is None:
        return Row(label, f"> {timeout:.0f} s", "stopped (timeout)", target,
                   False if limit is not None else None)
    value = Samples(tuple(samples))
    shown = f"IQR {_human(value.spread)}, {len(samples)} runs" + (f", {detail}" if detail else "")
    return Row(label, _human(value.median), shown, target,
               None if limit is None else value.median <= limit)


def _human(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def measure(sizes: Sequence[int], rounds: int, timeout: float) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="importwall-policy-") as folder:
        cache_dir = Path(folder) / "cache"
        # Without the cache: what parsing and validating costs. With it: the start-up path.
        uncached = clean_env(PYTHONPATH=str(REPO), IMPORTWALL_POLICY_CACHE="off")
        cached = clean_env(PYTHONPATH=str(REPO), IMPORTWALL_POLICY_CACHE=str(cache_dir))
        readers = ["standard", "fast"] if _has_fast_reader() else ["standard"]
        for size in sizes:
            path = write_policy(Path(folder), size)
            label = f"policy {size:>6} rules"
            lines = sum(1 for _ in path.open(encoding="utf-8"))
            load: list[float] | None = None
            for reader in readers:
                argv = [sys.executable, "-c", CHILD, str(path), reader]
                found = _repeat(partial(_child, argv, uncached, timeout), rounds)
                load = None if found is None else [times[2] for times in found]
                shown = "tomllib" if reader == "standard" else "toml-rs"
                rows.append(_seconds_row(f"{label}: from source, {shown}", load,
                                         timeout, FROM_SOURCE_LIMIT_S.get(size),
                                         f"{lines} lines"))
                if found is not None and reader == readers[-1]:
                    rows.append(_seconds_row(f"{label}: compile only (prebuilt Policy)",
                                             [times[1] for times in found], timeout, None))
            argv = [sys.executable, "-c", CHILD, str(path), readers[-1]]
            from_cache = None
            if load is not None and _child(argv, cached, timeout) is not None:  # fills it
                found = _repeat(partial(_child, argv, cached, timeout), rounds)
                from_cache = None if found is None else [times[2] for times in found]
            rows.append(_seconds_row(f"{label}: load+compile, from cache", from_cache,
                                     timeout, FROM_CACHE_LIMIT_S))
            checks = [("toml-rs" if _has_fast_reader() else "tomllib",
                       [sys.executable, "-m", "importwall", "check", str(path)], uncached)]
            if _has_fast_reader():
                checks.append(("tomllib", [sys.executable, "-c", CHECK_STANDARD, "check",
                                           str(path)], uncached))
            checks.append(("cache warm", checks[0][1], cached))  # filled by the loads above
            for how, check, env in checks:
                walls = _repeat(partial(_wall, check, env, timeout), rounds)
                rows.append(_seconds_row(f"{label}: check, {how} (wall)", walls,
                                         timeout, CHECK_LIMIT_S.get(size)))
            if os.environ.get("IMPORTWALL_BENCH_KEEP"):
                print(f"  (kept {path})")
    return rows


def measure_instructions(sizes: Sequence[int]) -> list[Row]:
    """Instructions of load + validate + compile from source (callgrind: the child's count
    less the same child stopped before loading), each reader: what wall time on a busy
    machine cannot tell apart."""
    if not have_valgrind():
        return [Row("policy instructions", "skipped", "valgrind is not installed", "", None)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="importwall-policy-") as folder:
        env = clean_env(PYTHONPATH=str(REPO), IMPORTWALL_POLICY_CACHE="off",
                        PYTHONHASHSEED="0")
        for size in sizes:
            path = write_policy(Path(folder), size)
            for reader in ["standard", "fast"] if _has_fast_reader() else ["standard"]:
                argv = [sys.executable, "-c", CHILD, str(path), reader]
                spent = instructions(argv, env) - instructions([*argv, "imports-only"], env)
                shown = "tomllib" if reader == "standard" else "toml-rs"
                rows.append(Row(f"policy {size:>6} rules: from source, {shown}",
                                f"{spent / 1e6:.0f} M", "instructions (callgrind)", "", None))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds after which one run is stopped")
    parser.add_argument("--instructions", metavar="SIZES",
                        help="instead, count the instructions of loading from source at these "
                             "sizes (callgrind; 10000 takes about a minute)")
    args = parser.parse_args()
    if args.instructions:
        for row in measure_instructions([int(s) for s in args.instructions.split(",")]):
            print(row.render(), flush=True)
        return
    for row in measure([int(s) for s in args.sizes.split(",")], args.rounds, args.timeout):
        print(row.render(), flush=True)


if __name__ == "__main__":
    main()
