#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh - runs every bench/bench_*.sh and prints what each measured (`make bench`, which
# builds build/dcmvault first).  Benchmarks report numbers and targets; they never fail on
# speed.  Exits non-zero only when a benchmark script itself could not run.
# The combined output is also kept in build/bench/results.txt.
#
#   bench/run.sh [NAME...]     NAME: parse or bench_parse (default: every bench_*.sh)
# Environment: BENCH_REPS (runs per measurement, default 3), BENCH_LARGE_MB (size of the
# large synthetic file, default 1024), BENCH_TESTDATA (corpus folder).
set -u
cd "$(dirname "$0")/.." || exit 2
mkdir -p build/bench
out=build/bench/results.txt

scripts=()
if [ $# -gt 0 ]; then
  for n in "$@"; do
    n=${n#bench_}
    scripts+=("bench/bench_${n%.sh}.sh")
  done
else
  for s in bench/bench_*.sh; do
    [ -f "$s" ] && scripts+=("$s")
  done
fi

broken=0
{
  echo "# dcmvault benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores," \
    "$(uname -m), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  for s in "${scripts[@]}"; do
    echo
    if [ ! -f "$s" ]; then
      echo "bench: $s does not exist"
      broken=$((broken + 1))
      continue
    fi
    bash "$s"
    rc=$?
    if [ "$rc" -ne 0 ]; then
      echo "bench: $s could not run (exit $rc)"
      broken=$((broken + 1))
    fi
  done
  echo
  echo "bench: ${#scripts[@]} benchmark(s) run, $broken could not run"
  [ "$broken" -eq 0 ]
} 2>&1 | tee "$out"
exit "${PIPESTATUS[0]}"
