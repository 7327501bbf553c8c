#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_vault_crash.sh - kill -9 at random points during a 1,000-file import, several times:
# after each kill `check` passes (after `check --repair` removed what the kill left: objects of
# an uncommitted batch, temporary files), and every file the import reported as imported
# before the kill (--verbose prints a file only once its batch is committed) exports intact.
# A last import without a kill completes the set; check is clean, no orphan remains.
source "$(dirname "$0")/lib.sh"
need_testdata "vault crash"
if [ ! -x "$DV" ]; then
  fail "no binary at $DV (make build/asan/dcmvault)"
  done_testing
fi
source "$(dirname "$0")/vault_access.sh"
access_need "vault crash"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
SRC=$TESTDATA/orthanc-tests/HierarchicalAnonymization/2019-03-28/CR000000.dcm
UIDP=1.2.276.0.7230010.3.1
UIDS=665618.6496.1546453790
N=1000
if [ ! -f "$SRC" ]; then
  skip "vault crash" "$SRC is absent"
  done_testing
fi
python3 "$(dirname "$0")/py/gen_instances.py" "$SRC" "$TMP/gen" "$N" "$UIDP.4.$UIDS.314808" \
  "$UIDP.2.$UIDS.314806" "$UIDP.3.$UIDS.314807" 100
check "generated $N distinct instances in 10 studies" test "$(ls "$TMP/gen" | wc -l)" -eq "$N"

# verify_reported FILE: every "imported PATH" line of FILE exports byte for byte
verify_reported() {
  local out=$1 bad=0 n=0 path f i sop
  rm -rf "$TMP/exp"
  for s in $(seq 0 9); do
    "$DV" export --original --study "$UIDP.2.$UIDS.$((100000 + s))" -o "$TMP/exp" >/dev/null 2>&1
  done
  while IFS= read -r path; do
    f=$(basename "$path" .dcm)
    i=$((10#${f#f}))
    sop=$UIDP.4.$UIDS.$((100000 + i))
    n=$((n + 1))
    cmp -s "$path" "$TMP/exp/$sop.dcm" || bad=$((bad + 1))
  done < <(sed -n 's/^imported //p' "$out")
  echo "# $n reported imported, $bad not exported intact"
  [ "$bad" -eq 0 ]
}

total_reported=0
for round in 1 2 3 4; do
  # a fresh vault each round, so each kill lands somewhere in a 1,000-file import
  V=$TMP/vault.$round
  export DCMVAULT_DIR=$V
  "$DV" init "$V" >"$TMP/init.$round" 2>&1
  access_setup "$V" "$TMP/init.$round" || fail "round $round: log in"
  delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.05 + (r % 1200) / 1000 }')
  "$DV" import --verbose "$TMP/gen" >"$TMP/out.$round" 2>/dev/null &
  pid=$!
  sleep "$delay"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rep=$(grep -c '^imported ' "$TMP/out.$round")
  total_reported=$((total_reported + rep))
  echo "# round $round: killed after ${delay}s; $rep files reported imported;" \
    "$(find "$V/objects" -type f | wc -l) objects, $(ls -A "$V/tmp" | wc -l) tmp files"
  "$DV" check >"$TMP/check.$round" 2>&1
  crc=$?
  if [ "$crc" -ne 0 ]; then
    grep -E '^problem: (object|record)' "$TMP/check.$round" | sed 's/^/# /' | head -5
    bad=$(grep -cE '^problem: (object|record)' "$TMP/check.$round")
    check "round $round: the kill left only orphans or temporary files" test "$bad" -eq 0
    "$DV" check --repair >/dev/null 2>&1
  fi
  check "round $round: check passes (after --repair when the kill left orphans)" "$DV" check
  check "round $round: every file reported imported exports intact" verify_reported "$TMP/out.$round"
  # restart: the same import again completes the set
  "$DV" import --verbose "$TMP/gen" >"$TMP/out.$round.b" 2>&1
  check "round $round: the restarted import completes" test $? -eq 0
  "$DV" check >"$TMP/check.$round.b" 2>&1
  check "round $round: then check is clean with $N instances and no orphans" \
    grep -q "$N instances,.*" "$TMP/check.$round.b"
  check "round $round: $N objects in the store" \
    test "$(find "$V/objects" -type f | wc -l)" -eq "$N"
done
echo "# $total_reported files reported imported across the killed rounds"

all=$TMP/out.all
ls "$TMP/gen"/*.dcm | sed 's/^/imported /' >"$all"
check "all $N files export intact from the last vault" verify_reported "$all"

done_testing
