"""What recording findings to a data dir costs.

    python benchmarks/records_write.py [RUNS]

1. Interpreter start through importwall's ``sitecustomize`` (audit mode, a policy that
   denies a module the program imports), with and without ``IMPORTWALL_DATA_DIR``:
   the median wall time of ``python -c "import json"`` (``json`` is denied).
2. In-process: microseconds per finding appended by ``RecordWriter``.
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
sys.path.insert(0, str(REPO))

from importwall.findings import Finding, Frame  # noqa: E402
from importwall.runtime.records import RecordWriter  # noqa: E402

POLICY = 'version = 1\nmode = "audit"\n[imports]\ndeny = ["json"]\n'


def _start_ms(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import json"], env=env, check=True)
    return (time.perf_counter() - started) * 1000


def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        policy = Path(folder) / "policy.toml"
        policy.write_text(POLICY)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("IMPORTWALL_",
                                                                          "PYTHON"))}
        base["PYTHONPATH"] = os.pathsep.join([str(REPO / "importwall" / "_startup"),
                                              str(REPO)])
        cases = {
            "no policy": base,
            "policy, no data dir": {**base, "IMPORTWALL_POLICY": str(policy)},
            "policy + data dir": {**base, "IMPORTWALL_POLICY": str(policy),
                                  "IMPORTWALL_DATA_DIR": str(Path(folder) / "data")},
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(runs):  # round-robin, so drift hits every case alike
            for name, env in cases.items():
                times[name].append(_start_ms(env))
        for name, values in times.items():
            print(f"start-up, {name:<22} median {statistics.median(values):6.1f} ms "
                  f"({runs} runs)")

        writer = RecordWriter(str(Path(folder) / "bench"))
        finding = Finding(kind="import", code="import-recorded", severity="error",
                          subject="json", message="import of 'json' recorded",
                          chain=(Frame("app", "/srv/app.py", 3, "handle"),))
        count = 20000
        started = time.perf_counter()
        for _ in range(count):
            writer(finding)
        elapsed = time.perf_counter() - started
        writer.close()
        print(f"RecordWriter: {elapsed / count * 1e6:.1f} us per finding ({count} findings)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
