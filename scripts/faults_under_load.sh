#!/bin/bash
# Run tests/test_faults.py N times (default 10) beside a CPU hog and a disk hog (issue 16):
#   bash scripts/faults_under_load.sh [N]
# Prints one line per run; exits non-zero if any run failed.
set -u
cd "$(dirname "$0")/.."
runs=${1:-10}
( while true; do dd if=/dev/zero of="${TMPDIR:-/tmp}/ganzoo-diskhog" bs=1M count=256 conv=fsync status=none; done ) &
disk=$!
( while true; do :; done ) &
cpu=$!
trap 'kill $disk $cpu 2>/dev/null; rm -f "${TMPDIR:-/tmp}/ganzoo-diskhog"' EXIT
failed=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  if python -m pytest -q -p no:cacheprovider tests/test_faults.py > /dev/null 2>&1; then result=passed; else result=FAILED; failed=1; fi
  echo "run $i: $result in $(( $(date +%s) - start )) s"
done
exit $failed
