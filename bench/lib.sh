# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# lib.sh - shared helpers for bench/bench_*.sh.  Source it; it sets:
#   ROOT      the repository root (and cd's there)
#   DVBIN     the dcmvault binary under test (build/dcmvault, the optimised build)
#   TESTDATA  ../shared/testdata/dicom beside the repository ("" when absent)
#   REPS      repetitions per measurement (BENCH_REPS, default 3); the median is reported
#   WORK      build/bench, kept between runs (generated inputs are cached there)
# Benchmarks measure and print; they never fail on speed.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
DVBIN=${DVBIN:-$ROOT/build/dcmvault}
TESTDATA=${BENCH_TESTDATA:-$ROOT/../shared/testdata/dicom}
[ -d "$TESTDATA" ] || TESTDATA=""
REPS=${BENCH_REPS:-3}
WORK=$ROOT/build/bench
mkdir -p "$WORK"
TIME_BIN=/usr/bin/time
[ -x "$TIME_BIN" ] || TIME_BIN=""

# now: wall-clock seconds with microseconds
now() { echo "${EPOCHREALTIME/,/.}"; }

# measure CMD...: runs CMD once (stdout to /dev/null, stderr to $WORK/last.err) and sets
# M_SECS (wall seconds), M_RSS_KB (peak resident set in KiB, "" without /usr/bin/time) and
# M_RC (exit status).
measure() {
  local t0 t1
  t0=$(now)
  if [ -n "$TIME_BIN" ]; then
    "$TIME_BIN" -v -o "$WORK/last.time" "$@" >/dev/null 2>"$WORK/last.err"
    M_RC=$?
  else
    "$@" >/dev/null 2>"$WORK/last.err"
    M_RC=$?
  fi
  t1=$(now)
  M_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
  M_RSS_KB=""
  if [ -n "$TIME_BIN" ]; then
    M_RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/last.time")
    # /usr/bin/time reports "Command exited with non-zero status N" itself; keep our M_RC
  fi
}

# median NUMBERS...: the median (the lower middle one for an even count)
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# max_of NUMBERS...: the largest
max_of() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# bench_cmd LABEL BYTES CMD...: REPS timed runs of CMD after one warm-up run; sets B_SECS
# (median seconds), B_MBS (MB/s, MB = 10^6 bytes), B_RSS_MB (largest peak RSS, MB) and
# B_RC (exit status of the warm-up run; when it is non-zero nothing is timed).
bench_cmd() {
  local label=$1 bytes=$2 i secs=() rss=()
  shift 2
  measure "$@"
  B_RC=$M_RC
  B_SECS="" B_MBS="" B_RSS_MB=""
  if [ "$B_RC" -ne 0 ]; then
    return 0
  fi
  for ((i = 0; i < REPS; i++)); do
    measure "$@"
    secs+=("$M_SECS")
    [ -n "$M_RSS_KB" ] && rss+=("$M_RSS_KB")
  done
  B_SECS=$(median "${secs[@]}")
  B_MBS=$(awk -v b="$bytes" -v s="$B_SECS" 'BEGIN { printf "%.1f", (s > 0 ? b / s / 1e6 : 0) }')
  if [ "${#rss[@]}" -gt 0 ]; then
    B_RSS_MB=$(awk -v k="$(max_of "${rss[@]}")" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }')
  fi
  : "$label"
}

# table_head: the column titles of a result table
table_head() { printf '  %-24s %10s %10s %14s\n' tool seconds MB/s "peak RSS MB"; }
# table_row TOOL: one row from the last bench_cmd (or "failed" when it did not run)
table_row() {
  if [ "$B_RC" -ne 0 ]; then
    printf '  %-24s %10s %10s %14s\n' "$1" failed - -
  else
    printf '  %-24s %10.3f %10.1f %14s\n' "$1" "$B_SECS" "$B_MBS" "${B_RSS_MB:-n/a}"
  fi
}
# ratio A B: A / B with two decimals, "-" when either is empty or B is 0
ratio() {
  if [ -z "$1" ] || [ -z "$2" ]; then
    echo "-"
    return
  fi
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}
# mb BYTES: bytes as MB (10^6) with one decimal
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
# first_err: the first line of the last command's stderr, for a failure note
first_err() { head -n 1 "$WORK/last.err" 2>/dev/null | cut -c1-160; }
