#!/bin/sh
# A short, bounded atheris run of each harness (default 60 seconds each).
#   fuzz/run.sh [SECONDS]
# Needs atheris (`pip install atheris`; wheels exist for CPython 3.11 on Linux). Not part of
# the pytest suite. Crashes are saved under fuzz/artifacts/ as crash-*; the corpus grows in
# fuzz/corpus/<harness>/ (both git-ignored).
set -eu
seconds="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python}"
cd "$here/.."
status=0
for harness in policy records pickleops; do
    mkdir -p "fuzz/corpus/$harness" fuzz/artifacts
    echo "== fuzz_$harness: ${seconds}s"
    PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" "$python" "fuzz/fuzz_$harness.py" \
        "fuzz/corpus/$harness" "fuzz/seeds/$harness" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix=fuzz/artifacts/ || status=1
done
exit "$status"
