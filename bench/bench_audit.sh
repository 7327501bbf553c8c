#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_audit.sh - the audit log: durable appends per second with group commit (T threads x M
# events through audit_append, each acknowledged only after fdatasync), `dcmvault audit verify`
# time for 1,000,000 entries (the tree recomputed from every entry, every tile hash and
# checkpoint checked), and proof sizes at that size.  Targets (reported, not enforced):
# >= 100,000 appends/s, verify < 3 s.  The driver bench/bench_audit.c is compiled against
# build/libdcmvault.a.  BENCH_AUDIT_N: entries of the verify log (default 1000000).
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

N=${BENCH_AUDIT_N:-1000000}
LIB=$ROOT/build/libdcmvault.a
DRIVER=$WORK/bench_audit
if [ ! -f "$LIB" ] || [ ! -x "$DVBIN" ]; then
  echo "bench_audit: build/libdcmvault.a or build/dcmvault is missing (make build/dcmvault build/libdcmvault.a)"
  exit 1
fi
if [ ! -x "$DRIVER" ] || [ "$ROOT/bench/bench_audit.c" -nt "$DRIVER" ] || [ "$LIB" -nt "$DRIVER" ]; then
  # shellcheck disable=SC2046 # pkg-config output is a word list
  if ! cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I"$ROOT/src" "$ROOT/bench/bench_audit.c" \
    "$LIB" $(pkg-config --cflags --libs libsodium libssl libcrypto) -lpthread -o "$DRIVER" \
    2>"$WORK/bench_audit.build.err"; then
    echo "bench_audit: the driver does not build:"
    head -n 5 "$WORK/bench_audit.build.err"
    exit 1
  fi
fi

echo "bench_audit: durable appends/s with group commit (fdatasync per batch), $(nproc) cores," \
  "load average $(cut -d' ' -f1 /proc/loadavg); target >= 100000/s"
# Each run writes a new folder; the folders are removed only after the last run.  (Removing
# thousands of files just before a run makes ext4 scan past the recently freed inodes on every
# file the run creates, in the committer's path: a cost of the benchmark, not of the log.)
rm -rf "$WORK"/audit_append.*
for t in 16 64 256; do
  out=$("$DRIVER" "$WORK/audit_append.$t" "$t" $((200000 / t)))
  echo "  $out (load average $(cut -d' ' -f1 /proc/loadavg))"
done
rm -rf "$WORK"/audit_append.*

L=$WORK/audit_$N
if [ ! -f "$L/checkpoint" ] || [ "$(sed -n 2p "$L/checkpoint")" != "$N" ]; then
  rm -rf "$L" "$L.vkey"
  echo "bench_audit: building a log of $N entries (cached in $L)"
  "$DRIVER" "$L" 250 $((N / 250)) 100000 >/dev/null || { echo "bench_audit: could not build"; exit 1; }
fi
if [ -f "$L.vkey" ]; then
  times=()
  for ((i = 0; i < REPS; i++)); do
    measure "$DVBIN" audit verify --log "$L" --pubkey "$L.vkey"
    [ "$M_RC" -eq 0 ] || { echo "bench_audit: verify failed: $(head -c 200 "$WORK/last.err")"; break; }
    times+=("$M_SECS")
  done
  [ "${#times[@]}" -gt 0 ] && echo "  verify $N entries: $(median "${times[@]}") s median of ${#times[@]}, peak RSS ${M_RSS_KB:-?} KiB; target < 3 s"
fi
"$DVBIN" audit checkpoint --log "$L" >"$WORK/audit_cp"
for e in 0 $((N / 2)) $((N - 1)); do
  "$DVBIN" audit prove --log "$L" --entry "$e" >"$WORK/audit_proof"
  echo "  inclusion proof of entry $e in $N: $(grep -c '^hash ' "$WORK/audit_proof") hashes," \
    "$(grep -v '^entry ' "$WORK/audit_proof" | wc -c) bytes of text"
done
