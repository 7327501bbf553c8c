#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_index.sh - the index (SQLite backend): insert rate and lookup latency on BENCH_INDEX_N
# instances (default 100,000: 1,000 patients x 2 studies x 2 series x 25 instances).
#   1. inserts, imported as the vault does (a savepoint per file, 1,000 files per transaction);
#   2. one-file imports in their own durable transaction (WAL, synchronous=FULL: an fsync each);
#   3. lookups by every blind index: SOPInstanceUID, PatientID, a family name token, three
#      study months with a modality, StudyInstanceUID (median and p99 over 2,000 lookups).
# Compiles bench/bench_index.c against build/libdcmvault.a.  Targets (reported, not enforced):
# >= 10,000 instances/s batched and a median lookup under 1 ms.  The database lives in
# build/bench/index/ and is removed afterwards.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

N=${BENCH_INDEX_N:-100000}
LIB=$ROOT/build/libdcmvault.a
DRIVER=$WORK/bench_index
DBDIR=$WORK/index

# bring the library up to date (make bench has built it; this is for a direct run)
if ! make -s -C "$ROOT" build/libdcmvault.a >/dev/null 2>&1 && [ ! -f "$LIB" ]; then
  echo "bench_index: $LIB is missing and could not be built (make build/libdcmvault.a)"
  exit 1
fi
# shellcheck disable=SC2046 # pkg-config output is a word list
if ! ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Isrc -Ibuild/gen bench/bench_index.c "$LIB" \
  $(pkg-config --libs libsodium sqlite3 zlib libjpeg libopenjp2 charls libpng16 inih libcrypto \
    freetype2) -lm -lpthread -o "$DRIVER" 2>"$WORK/last.err"; then
  echo "bench_index: the driver does not compile: $(first_err)"
  exit 1
fi

rm -rf "$DBDIR"
mkdir -p "$DBDIR"
echo "bench_index: $N instances, SQLite $(pkg-config --modversion sqlite3), $DBDIR"
"$DRIVER" "$DBDIR/index.db" "$N"
rc=$?
if [ -f "$DBDIR/index.db" ]; then
  echo "  database size: $(mb "$(stat -c %s "$DBDIR/index.db")") MB" \
    "($(awk -v b="$(stat -c %s "$DBDIR/index.db")" -v n="$N" 'BEGIN { printf "%.0f", b / n }') bytes/instance)"
fi
echo "  targets: >= 10000 instances/s batched; median lookup < 1000 us"
rm -rf "$DBDIR"
exit "$rc"
