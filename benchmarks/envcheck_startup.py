"""What check_at_startup costs at interpreter start, in fresh interpreters.

    python benchmarks/envcheck_startup.py [RUNS]

Prints the median wall time of ``python -c pass`` started through importwall's
``sitecustomize`` with: no policy, a policy without ``check_at_startup``, one with only
``[environment]`` checks, and one with every section (``nvidia-smi`` runs if it is on
PATH). Audit mode, so that findings on the benchmarking machine do not stop the runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STARTUP = REPO / "importwall" / "_startup"

POLICIES = {
    "no check_at_startup": '[environment]\ndeny = ["WANDB_*"]\n',
    "[environment] only": 'check_at_startup = true\n[environment]\ndeny = ["WANDB_*"]\n'
                          'deny_hosts = ["*.internal"]\ndeny_networks = ["10.0.0.0/8"]\n',
    "every section": 'check_at_startup = true\n[environment]\ndeny = ["WANDB_*"]\n'
                     '[gpu]\ndeny_models = ["A100*"]\n[resources]\nmax_cpus = 64\n'
                     'deny_networks = ["10.0.0.0/8"]\ndeny_mounts = ["/mnt/warehouse"]\n'
                     '[distributions]\ndeny = ["optuna"]\n',
}


def _time_ms(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    base = {k: v for k, v in os.environ.items() if not k.startswith(("IMPORTWALL_", "PYTHON"))}
    base["PYTHONPATH"] = f"{STARTUP}{os.pathsep}{REPO}"
    base["IMPORTWALL_MODE"] = "audit"
    with tempfile.TemporaryDirectory() as folder:
        envs = {"no policy": base}
        for index, (name, body) in enumerate(POLICIES.items()):
            path = Path(folder) / f"policy{index}.toml"
            path.write_text("version = 1\n" + body)
            envs[name] = {**base, "IMPORTWALL_POLICY": str(path)}
        # Round-robin, so that load on a shared machine hits every variant alike.
        times: dict[str, list[float]] = {name: [] for name in envs}
        for _ in range(runs):
            for name, env in envs.items():
                times[name].append(_time_ms(env))
    for name, measured in times.items():
        print(f"{name:<22} {statistics.median(measured):7.1f} ms (median of {runs})")


if __name__ == "__main__":
    main()
