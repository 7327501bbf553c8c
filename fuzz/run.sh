#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh - runs every libFuzzer target in build/fuzz/ for SECONDS each (`make fuzz`).
#
#   fuzz/run.sh SECONDS [TARGET...]     TARGET: fuzz_parse or parse (default: every target)
#
# Each target fuzz_NAME starts from a scratch corpus build/fuzz-corpus/NAME, seeded with a
# copy of fuzz/corpus/NAME/ (the committed seeds are never written to).  The scratch corpus is
# emptied first unless FUZZ_KEEP_CORPUS=1, which lets long runs build on earlier ones.
# Crash, leak, timeout and out-of-memory inputs go to build/fuzz-artifacts/NAME-*.
# Output is TAP (ok / not ok per target, then 1..N); exits non-zero when any target failed,
# naming the artifact.  Reproduce one with: build/fuzz/fuzz_NAME ARTIFACT
set -u
cd "$(dirname "$0")/.." || exit 2

usage() {
  echo "usage: fuzz/run.sh SECONDS [TARGET...]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
secs=$1
shift
case $secs in
'' | *[!0-9]*) usage ;;
esac
[ "$secs" -gt 0 ] || usage

BIN_DIR=build/fuzz
CORPUS_DIR=build/fuzz-corpus
ART_DIR=build/fuzz-artifacts
LOG_DIR=build/fuzz-logs
mkdir -p "$CORPUS_DIR" "$ART_DIR" "$LOG_DIR"

targets=()
if [ $# -gt 0 ]; then
  for t in "$@"; do
    t=${t#fuzz_}
    targets+=("$BIN_DIR/fuzz_$t")
  done
else
  for t in "$BIN_DIR"/fuzz_*; do
    [ -x "$t" ] && [ -f "$t" ] && targets+=("$t")
  done
fi

if [ "${#targets[@]}" -eq 0 ]; then
  echo "1..0 # SKIP no fuzz targets in $BIN_DIR (build them with: make fuzz-build)"
  exit 0
fi

# seed NAME: (re)creates the scratch corpus of NAME from the committed seeds
seed() {
  local name=$1 work=$CORPUS_DIR/$1
  if [ "${FUZZ_KEEP_CORPUS:-0}" != 1 ]; then
    rm -rf "$work"
  fi
  mkdir -p "$work"
  if [ -d "fuzz/corpus/$name" ]; then
    find "fuzz/corpus/$name" -maxdepth 1 -type f -exec cp -f {} "$work/" \;
  else
    echo "# fuzz_$name: no seeds in fuzz/corpus/$name, starting from an empty corpus"
  fi
}

# stat_of LOG KEY: the last value libFuzzer printed for stat::KEY (empty when absent)
stat_of() { grep -E "^stat::$2:" "$1" | tail -n 1 | awk '{print $2}'; }

n=0
failed=0
for bin in "${targets[@]}"; do
  n=$((n + 1))
  base=$(basename "$bin")
  name=${base#fuzz_}
  log=$LOG_DIR/$name.log
  if [ ! -x "$bin" ]; then
    echo "not ok $n - $base: $bin is missing (make $bin)"
    failed=$((failed + 1))
    continue
  fi
  seed "$name"
  marker=$LOG_DIR/$name.start
  : >"$marker"
  "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$ART_DIR/$name-" "$CORPUS_DIR/$name" >"$log" 2>&1
  rc=$?
  runs=$(stat_of "$log" number_of_executed_units)
  peak=$(stat_of "$log" peak_rss_mb)
  files=$(find "$CORPUS_DIR/$name" -type f | wc -l)
  artifacts=$(grep -oE 'Test unit written to [^ ]+' "$log" | awk '{print $5}')
  if [ -z "$artifacts" ]; then
    artifacts=$(find "$ART_DIR" -maxdepth 1 -type f -name "$name-*" -newer "$marker")
  fi
  if [ "$rc" -eq 0 ]; then
    echo "ok $n - $base ${secs}s, ${runs:-?} runs, corpus $files files, peak ${peak:-?} MB"
  else
    failed=$((failed + 1))
    echo "not ok $n - $base exited with status $rc (log: $log)"
    for a in $artifacts; do
      echo "# artifact: $a   (reproduce: $bin $a)"
    done
    [ -n "$artifacts" ] || echo "# no artifact was written; see $log"
    # the sanitizer's verdict and the top of the first stack; the full report is in the log
    grep -E '^(==[0-9]+==ERROR|SUMMARY:|.*runtime error:|==[0-9]+== ERROR: libFuzzer)' "$log" |
      head -n 4 | sed 's/^/# /'
    grep -E '^    #[0-9]+ ' "$log" | head -n 8 | sed 's/ (BuildId: [0-9a-f]*)//; s/^/# /'
  fi
done
echo "1..$n"
if [ "$failed" -ne 0 ]; then
  echo "# $failed of $n fuzz target(s) failed"
  exit 1
fi
exit 0
