"""``importwall audit`` on an environment with about 300 installed distributions.

Writes ``--dists`` small distributions (a module each, with a ``.dist-info`` holding
METADATA, RECORD and top_level.txt, as pip leaves them) into a folder put on
``PYTHONPATH`` beside the ones this interpreter already has, and times the whole
command, ``python -m importwall audit --policy POLICY`` (environment gate + installed
distributions), in fresh processes. A second side adds ``--entrypoint`` (one more
interpreter under the firewall) for scale. Target: <= 1 s.

    python benchmarks/audit_env.py [--dists 300] [--rounds 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import REPO, Row, clean_env, interleaved, wall_seconds

LIMIT_S = 1.0
POLICY = """\
version = 1
[imports]
deny = ["benchdist_7.training", "optuna"]
deny_distributions = ["optuna", "benchdist-1*"]
[environment]
deny = ["WANDB_*", "MLFLOW_TRACKING_*"]
[distributions]
deny = [{ distribution = "benchdist-13", reason = "training-only" }, "tensorboard*"]
"""


def write_distributions(site: Path, count: int) -> None:
    """``count`` installed-looking distributions ``benchdist-N`` in ``site``."""
    for index in range(count):
        name, module = f"benchdist-{index}", f"benchdist_{index}"
        package = site / module
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(f'"""Benchmark distribution {index}."""\n')
        info = site / f"{module}-1.{index}.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.{index}.0\n"
            f"Summary: benchmark distribution {index}\n")
        (info / "top_level.txt").write_text(f"{module}\n")
        (info / "INSTALLER").write_text("pip\n")
        (info / "RECORD").write_text(
            f"{module}/__init__.py,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n"
            f"{info.name}/top_level.txt,,\n{info.name}/INSTALLER,,\n")


def installed_count(env: dict[str, str]) -> int:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", "import importlib_metadata as m; "
         "print(len({d.metadata['Name'] for d in m.distributions()}))"],
        env=env, capture_output=True, text=True, check=True)
    return int(done.stdout)


def measure(dists: int, rounds: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder) / "site"
        write_distributions(site, dists)
        policy = Path(folder) / "policy.toml"
        policy.write_text(POLICY)
        env = clean_env(PYTHONPATH=f"{site}:{REPO}")
        total = installed_count(env)
        audit = [sys.executable, "-m", "importwall", "audit", "--policy", str(policy),
                 "--format", "json", "--output", str(Path(folder) / "report.json")]
        sides = {
            "audit": audit,
            "audit --entrypoint": [*audit, "--entrypoint", "benchdist_3"],
        }
        # Exit status 1 is expected: the policy denies some of the installed distributions.
        times = interleaved({side: (lambda argv=argv: wall_seconds(argv, env, ok=(0, 1)))
                             for side, argv in sides.items()}, rounds)
    rows = []
    for side, samples in times.items():
        rows.append(Row(f"importwall {side}, {total} distributions",
                        f"{samples.median * 1000:.0f} ms",
                        f"IQR {samples.spread * 1000:.0f}, {rounds} runs",
                        f"<= {LIMIT_S:.0f} s" if side == "audit" else "(scale)",
                        samples.median <= LIMIT_S if side == "audit" else None))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dists", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    for row in measure(args.dists, args.rounds):
        print(row.render())


if __name__ == "__main__":
    main()
