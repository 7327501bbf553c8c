#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_access.sh - the cost of least privilege: access_decide decisions per second, what the
# find filter adds per result row, and what the gate adds to each vault request (session check,
# grants, export usage, decision, access-log write), set against the time of a `dcmvault find`
# and `dcmvault export` of one study (CT_small from the test corpus) measured here.
# Target (reported, not enforced): the gate adds < 5% to find and export.  The driver
# bench/bench_access.c is compiled against build/libdcmvault.a.  Exits 0 unless the benchmark
# itself cannot run.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

N=${BENCH_ACCESS_N:-1000000}
LIB=$ROOT/build/libdcmvault.a
DRIVER=$WORK/bench_access
PKGS="libsodium sqlite3 zlib libjpeg libopenjp2 charls libpng16 inih libcrypto freetype2 liboath"

if [ ! -f "$LIB" ]; then
  echo "bench_access: $LIB is missing (make build/libdcmvault.a)"
  exit 1
fi
if [ ! -x "$DRIVER" ] || [ "$ROOT/bench/bench_access.c" -nt "$DRIVER" ] || [ "$LIB" -nt "$DRIVER" ]; then
  # shellcheck disable=SC2086 # PKGS is a word list
  if ! cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I"$ROOT/src" \
    "$ROOT/bench/bench_access.c" "$LIB" $(pkg-config --cflags --libs $PKGS) -lm -lpthread \
    -o "$DRIVER" 2>"$WORK/bench_access.build.err"; then
    echo "bench_access: the driver does not build:"
    head -n 5 "$WORK/bench_access.build.err"
    exit 1
  fi
fi
if ! out=$("$DRIVER" "$N" "$WORK"); then
  echo "bench_access: the driver failed"
  exit 1
fi
decide=$(awk '$1 == "decide" { print $2 }' <<<"$out")
row=$(awk '$1 == "row" { print $2 }' <<<"$out")
gate=$(awk '$1 == "gate" { print $2 }' <<<"$out")
echo "bench_access: access_decide $decide decisions/s; find filter $row ns per row;" \
  "gate $gate us per request (median of 5)"

CT=${TESTDATA:+$TESTDATA/pydicom/CT_small.dcm}
if [ -z "$CT" ] || [ ! -f "$CT" ] || [ ! -x "$DVBIN" ]; then
  echo "bench_access: no corpus or binary: find/export times not measured"
  exit 0
fi
V=$WORK/access-vault
rm -rf "$V" "$V.kek" "$WORK/access-out"
"$DVBIN" init "$V" >/dev/null 2>&1 && DCMVAULT_DIR=$V "$DVBIN" import "$CT" >/dev/null 2>&1
uid=$(DCMVAULT_DIR=$V "$DVBIN" find --level study --json 2>/dev/null |
  sed -n 's/.*"StudyInstanceUID": *"\([^"]*\)".*/\1/p' | head -n 1)
fsecs=() esecs=()
for _ in $(seq 1 "$REPS"); do
  measure env DCMVAULT_DIR="$V" "$DVBIN" find --level study
  fsecs+=("$M_SECS")
  rm -rf "$WORK/access-out"
  measure env DCMVAULT_DIR="$V" "$DVBIN" export --study "$uid" -o "$WORK/access-out"
  esecs+=("$M_SECS")
done
fmed=$(printf '%s\n' "${fsecs[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
emed=$(printf '%s\n' "${esecs[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
awk -v g="$gate" -v f="$fmed" -v e="$emed" 'BEGIN {
  printf "bench_access: find %.1f ms, export %.1f ms (one study, whole command); the gate adds %.2f%% / %.2f%% (target < 5%%)\n",
    f * 1000, e * 1000, g / (f * 1e6) * 100, g / (e * 1e6) * 100 }'
rm -rf "$V" "$V.kek" "$WORK/access-out"
exit 0
