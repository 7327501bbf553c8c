#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_crypto.sh - sealed-object throughput: crypto_obj_seal / crypto_obj_open on one
# BENCH_CRYPTO_MB buffer (default 64 MiB, default chunk size) against the raw AEAD of the
# same algorithm over the same buffer in one call (libsodium for AES-256-GCM and
# XChaCha20-Poly1305; OpenSSL SM4-CTR + HMAC-SM3 for the SM4 suite).  Prints MB/s (MB = 10^6
# bytes, median of max(BENCH_REPS, 9) interleaved runs after a warm-up; 3 for SM4) and the ratio.
# Target (reported, not enforced): dcmvault >= 0.8x the raw AEAD speed.  The driver
# bench/bench_crypto.c is compiled against build/libdcmvault.a (built by `make bench`).
# Exits 0 unless the benchmark itself cannot run.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

MIB=${BENCH_CRYPTO_MB:-64}
TARGET_RATIO=0.8
CREPS=$((REPS > 9 ? REPS : 9))
LIB=$ROOT/build/libdcmvault.a
DRIVER=$WORK/bench_crypto

if [ ! -f "$LIB" ]; then
  echo "bench_crypto: $LIB is missing (make build/libdcmvault.a)"
  exit 1
fi
if [ ! -x "$DRIVER" ] || [ "$ROOT/bench/bench_crypto.c" -nt "$DRIVER" ] || [ "$LIB" -nt "$DRIVER" ]; then
  # shellcheck disable=SC2046 # pkg-config output is a word list
  if ! cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I"$ROOT/src" \
    "$ROOT/bench/bench_crypto.c" "$LIB" $(pkg-config --cflags --libs libsodium libcrypto) \
    -o "$DRIVER" 2>"$WORK/bench_crypto.build.err"; then
    echo "bench_crypto: the driver does not build:"
    head -n 5 "$WORK/bench_crypto.build.err"
    exit 1
  fi
fi

echo "bench_crypto: sealed objects vs the raw AEAD in one call, $MIB MiB buffer," \
  "default chunk (64 KiB), median of $CREPS (SM4: 3)"
if ! out=$("$DRIVER" "$MIB" "$CREPS"); then
  echo "bench_crypto: the driver failed"
  exit 1
fi
printf '  %-18s %-5s %14s %14s %8s\n' algorithm op "dcmvault MB/s" "raw AEAD MB/s" ratio
while read -r alg op dv raw; do
  case $op in
  seal | open)
    r=$(ratio "$dv" "$raw")
    printf '  %-18s %-5s %14s %14s %7sx\n' "$alg" "$op" "$dv" "$raw" "$r"
    ;;
  *) echo "  $alg $op" ;;
  esac
done <<<"$out"
echo "  target: dcmvault >= ${TARGET_RATIO}x the raw AEAD speed of the same algorithm"
