#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test: the cmocka unit tests (built with ASan+UBSan) and the integration scripts
# in tests/integration/.  Both speak TAP ("ok ...", "not ok ...", "# SKIP").  Prints one
# closing line "N passed, N failed, N skipped" and exits non-zero when anything failed.
set -u
cd "$(dirname "$0")/.."

unit_only=0
[ "${1:-}" = "--unit-only" ] && unit_only=1

passed=0 failed=0 skipped=0
log_dir=build/test-logs
mkdir -p "$log_dir"

# count NAME LOGFILE STATUS: adds the TAP results of one program to the totals
count() {
  local name=$1 log=$2 status=$3 p f s
  p=$(grep -cE '^ok ' "$log" | tr -d ' ')
  s=$(grep -cE '^ok .*# (SKIP|skip)' "$log" | tr -d ' ')
  f=$(grep -cE '^not ok ' "$log" | tr -d ' ')
  p=$((p - s))
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "not ok - $name exited with status $status without naming a failing test"
    f=1
  fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  printf '%-40s %3d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s"
  if [ "$f" -ne 0 ]; then
    grep -E '^not ok |^# ' "$log" | head -40
  fi
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CMOCKA_MESSAGE_OUTPUT=TAP

for t in build/asan/tests/test_*; do
  [ -x "$t" ] || continue
  name=unit/$(basename "$t")
  log=$log_dir/$(basename "$t").log
  "$t" >"$log" 2>&1
  count "$name" "$log" $?
done

if [ "$unit_only" -eq 0 ]; then
  for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    name=integration/$(basename "$t" .sh)
    log=$log_dir/$(basename "$t" .sh).log
    bash "$t" >"$log" 2>&1
    count "$name" "$log" $?
  done
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
