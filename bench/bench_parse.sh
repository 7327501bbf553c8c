#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_parse.sh - parse throughput of `dcmvault dump` against DCMTK's `dcmdump`, on the same
# files in the same run:
#   1. the test corpus (../shared/testdata/dicom without malformed/), every file in one call;
#   2. one large synthetic file (BENCH_LARGE_MB, default 1024 MB: explicit VR LE, 16-bit
#      frames in one OW PixelData), plus a 16 MB one to show whether memory stays flat;
#   3. one synthetic file of many small elements (BENCH_ITEMS items of a sequence, default
#      150,000: about 900,000 elements, under the parser's default limit of 1,000,000).
# Prints MB/s (MB = 10^6 bytes, median of BENCH_REPS runs after a warm-up), peak RSS and the
# ratio.  Targets (reported, not enforced): >= 5x dcmdump's MB/s on the large file, and a
# peak RSS that does not grow with the file.  Exits 0 unless the benchmark itself cannot run.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

LARGE_MB=${BENCH_LARGE_MB:-1024}
ITEMS=${BENCH_ITEMS:-150000}
SMALL_MB=16
TARGET_RATIO=5

if ! command -v dcmdump >/dev/null 2>&1; then
  echo "bench_parse: dcmdump is not installed (bash scripts/deps.sh); nothing to compare"
  exit 1
fi
if [ ! -x "$DVBIN" ]; then
  echo "bench_parse: $DVBIN is missing (make build/dcmvault)"
  exit 1
fi

# corpus_list: the corpus files (malformed/ aside) that dcmdump reads, one absolute path a line
corpus_list() {
  local f all
  all=$(cd "$TESTDATA" && find . -type f ! -path './malformed/*' ! -name MANIFEST.tsv \
    ! -name 'README*' ! -name '*.txt' ! -name '*.json' | sed "s|^\./|$TESTDATA/|" | sort)
  mapfile -t files <<<"$all"
  if dcmdump -q "${files[@]}" >/dev/null 2>&1; then
    printf '%s\n' "${files[@]}"
    return
  fi
  for f in "${files[@]}"; do
    dcmdump -q "$f" >/dev/null 2>&1 && echo "$f"
  done
}

# dv_failure_note FILES...: after a failed batch, tells on how many files dcmvault dump fails
dv_failure_note() {
  local f bad=0 first=""
  for f in "$@"; do
    if ! "$DVBIN" dump "$f" >/dev/null 2>&1; then
      bad=$((bad + 1))
      [ -n "$first" ] || first=$f
    fi
  done
  echo "  note: dcmvault dump failed on $bad of $# files${first:+ (first: ${first#"$TESTDATA"/})}"
}

bench_corpus() {
  local files bytes dv_mbs dv_rc
  if [ -z "$TESTDATA" ]; then
    echo "== corpus: skipped, ../shared/testdata/dicom is absent"
    return
  fi
  mapfile -t files < <(corpus_list)
  bytes=$(stat -c %s "${files[@]}" | awk '{ s += $1 } END { print s + 0 }')
  echo "== corpus: ${#files[@]} files, $(mb "$bytes") MB (malformed/ excluded), median of $REPS"
  table_head
  bench_cmd dcmvault "$bytes" "$DVBIN" dump "${files[@]}"
  dv_mbs=$B_MBS dv_rc=$B_RC
  if [ "$dv_rc" -ne 0 ]; then
    echo "  dcmvault dump failed (exit $dv_rc): $(first_err)"
  fi
  table_row "dcmvault dump"
  bench_cmd dcmdump "$bytes" dcmdump "${files[@]}"
  table_row "dcmdump"
  echo "  ratio dcmvault/dcmdump MB/s: $(ratio "$dv_mbs" "$B_MBS")x"
  if [ "$dv_rc" -ne 0 ]; then
    dv_failure_note "${files[@]}"
  fi
}

# large_file MB: the path of a cached synthetic file of about MB megabytes (made when missing)
large_file() {
  local f=$WORK/large-$1MB.dcm
  if [ ! -f "$f" ] || [ "$ROOT/bench/gen_large.py" -nt "$f" ]; then
    python3 "$ROOT/bench/gen_large.py" "$f" "$1" || return 1
  fi
  echo "$f"
}

bench_large() {
  local big small bytes sbytes dv_mbs dv_rc dv_rss small_rss avail_mb
  avail_mb=$(df -Pm "$WORK" | awk 'NR == 2 { print $4 }')
  if [ "${avail_mb:-0}" -lt $((LARGE_MB * 12 / 10 + SMALL_MB)) ]; then
    echo "== large file: skipped, only ${avail_mb} MB free in $WORK for a $LARGE_MB MB file"
    return
  fi
  big=$(large_file "$LARGE_MB") || {
    echo "== large file: could not generate it"
    return 1
  }
  small=$(large_file "$SMALL_MB") || return 1
  bytes=$(stat -c %s "$big")
  sbytes=$(stat -c %s "$small")
  cat "$big" "$small" >/dev/null # page cache: measure parsing, not the disk
  echo "== large file: $(mb "$bytes") MB, explicit VR LE, one OW PixelData, median of $REPS"
  table_head
  bench_cmd dcmvault "$bytes" "$DVBIN" dump "$big"
  dv_mbs=$B_MBS dv_rc=$B_RC dv_rss=$B_RSS_MB
  if [ "$dv_rc" -ne 0 ]; then
    echo "  dcmvault dump failed (exit $dv_rc): $(first_err)"
  fi
  table_row "dcmvault dump"
  bench_cmd dcmdump "$bytes" dcmdump "$big"
  table_row "dcmdump"
  echo "  ratio dcmvault/dcmdump MB/s: $(ratio "$dv_mbs" "$B_MBS")x (target >= ${TARGET_RATIO}x)"
  # for context only: dcmdump told not to load long values (closer to what a streaming
  # dump has to read); the target above is against plain dcmdump
  bench_cmd dcmdump-M "$bytes" dcmdump -M "$big"
  table_row "dcmdump -M (context)"
  if [ "$dv_rc" -eq 0 ]; then
    bench_cmd dcmvault "$sbytes" "$DVBIN" dump "$small"
    small_rss=$B_RSS_MB
    echo "  memory: dcmvault peak RSS ${small_rss:-n/a} MB on $(mb "$sbytes") MB," \
      "${dv_rss:-n/a} MB on $(mb "$bytes") MB (target: flat)"
  fi
}

bench_items() {
  local f=$WORK/items-$ITEMS.dcm bytes dv_mbs dv_rc
  if [ ! -f "$f" ] || [ "$ROOT/bench/gen_large.py" -nt "$f" ]; then
    python3 "$ROOT/bench/gen_large.py" --items "$ITEMS" "$f" || {
      echo "== many elements: could not generate the file"
      return 1
    }
  fi
  bytes=$(stat -c %s "$f")
  echo "== many elements: $(mb "$bytes") MB, $ITEMS sequence items of 4 elements," \
    "median of $REPS"
  table_head
  bench_cmd dcmvault "$bytes" "$DVBIN" dump "$f"
  dv_mbs=$B_MBS dv_rc=$B_RC
  if [ "$dv_rc" -ne 0 ]; then
    echo "  dcmvault dump failed (exit $dv_rc): $(first_err)"
  fi
  table_row "dcmvault dump"
  bench_cmd dcmdump "$bytes" dcmdump "$f"
  table_row "dcmdump"
  echo "  ratio dcmvault/dcmdump MB/s: $(ratio "$dv_mbs" "$B_MBS")x"
}

dcmdump_version=$(dcmdump --version 2>/dev/null | head -n 1 | tr -d '$' | sed 's/^ *//; s/ *$//')
echo "bench_parse: $(basename "$DVBIN") dump vs ${dcmdump_version:-dcmdump}"
[ -n "$TIME_BIN" ] || echo "  (no /usr/bin/time: peak RSS not measured; bash scripts/deps.sh)"
bench_corpus
bench_large
bench_items
