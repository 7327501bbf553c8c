#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_trace_index.sh - trace's perceptual search reads the sealed hash index (schema 4) instead
# of decrypting every stored image.  Three synthetic studies (demo radiographs and CT series of
# three seeds) are imported: every image instance gets one sealed hash row (48 bytes: no clear
# 8-byte hash, and the same file imported into a second vault shares no 8-byte run with any of
# them).  A view of one radiograph, degraded until blind decoding fails (a phone photo, or heavy
# noise), is traced without --study: every stored image is compared from the sealed index and
# the view entry is named.  A shredded study's hashes are gone with its rows.  An index turned
# back into version 3 is migrated when opened; its images have no hash rows and trace falls
# back to decrypting them (0 from the sealed index) and still finds the view.
source "$(dirname "$0")/lib.sh"
if [ ! -x "$DV" ]; then
  fail "no binary at $DV (make build/asan/dcmvault)"
  done_testing
fi
for t in convert oathtool dcmdump; do
  if ! command -v $t >/dev/null 2>&1; then
    skip "trace with the sealed hash index" "$t is not installed (bash scripts/deps.sh)"
    done_testing
  fi
done
source "$(dirname "$0")/vault_access.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
cd "$TMP" || exit 1
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PHOTO=$ROOT/tests/integration/py/photo.py
V=$TMP/v
export DCMVAULT_DIR=$V
GEN=$ROOT/build/dcmvault
[ -x "$GEN" ] || GEN=$DV_BIN
for s in 41 42 43; do
  "$GEN" demo --out d$s --seed $s --size 512 >/dev/null 2>&1
done
N=$(ls d41/*.dcm d42/*.dcm d43/*.dcm 2>/dev/null | wc -l)
check "three synthetic studies of radiographs and CT slices ($N files)" test "$N" -ge 6
tag_of() { dcmdump +P "$2" "$1" 2>/dev/null | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1; }
STUDY=$(tag_of d42/cr_0001.dcm 0020,000d)
S43=$(tag_of d43/cr_0001.dcm 0020,000d)
N43=$(ls d43/*.dcm | wc -l) # the radiograph and the CT series are one study

# sql DB QUERY: the first column of each row (blobs as hex), through python3's sqlite3 module
sql() {
  "$PY" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for r in db.execute(sys.argv[2]):
    v = r[0]
    print(v.hex() if isinstance(v, bytes) else v)' "$@"
}

"$DV_BIN" init "$V" >init.out 2>&1
check "a vault with an administrator and a technologist" access_setup "$V" init.out
access_users "$V" po:privacy-officer
as tech import d41/*.dcm d42/*.dcm d43/*.dcm >imp.out 2>&1
check "the technologist imports the $N files" test $? -eq 0
IDX=$V/index.sqlite

# ---- the index: one sealed hash per image, nothing in the clear --------------------------------
check "the index is at schema version 4" \
  test "$(sql "$IDX" "SELECT value FROM meta WHERE key = 'index.schema_version'")" = 4
check "one hash row per image instance ($N)" \
  test "$(sql "$IDX" 'SELECT count(*) FROM image_hash')" -eq "$N"
check "... each for an instance of the index" \
  test "$(sql "$IDX" 'SELECT count(*) FROM image_hash h JOIN instance i ON i.id = h.instance_id')" \
  -eq "$N"
check "... every value sealed: 48 bytes (nonce, 8 bytes of ciphertext, tag), not a clear 8" \
  test "$(sql "$IDX" 'SELECT DISTINCT length(sealed) FROM image_hash')" = 48
check "... and no two alike (random nonces)" \
  test "$(sql "$IDX" 'SELECT count(DISTINCT sealed) FROM image_hash')" -eq "$N"
V2=$TMP/v2
"$DV_BIN" init "$V2" >init2.out 2>&1
check "a second vault" access_setup "$V2" init2.out
as tech import --vault "$V2" d41/cr_0001.dcm >/dev/null 2>&1
check "... imports one of the same radiographs" \
  test "$(sql "$V2/index.sqlite" 'SELECT count(*) FROM image_hash')" -eq 1
sql "$IDX" 'SELECT sealed FROM image_hash' >sealed1.hex
sql "$V2/index.sqlite" 'SELECT sealed FROM image_hash' >sealed2.hex
check "... its sealed hash shares no 8-byte run with any of the first vault's" \
  "$PY" -c 'import sys
a = [bytes.fromhex(l.strip()) for l in open(sys.argv[1]) if l.strip()]
b = bytes.fromhex(open(sys.argv[2]).read().strip())
runs = {b[i:i + 8] for i in range(len(b) - 7)}
sys.exit(1 if any(x[i:i + 8] in runs for x in a for i in range(len(x) - 7)) else 0)' \
  sealed1.hex sealed2.hex

# ---- trace without --study: every image compared from the sealed index --------------------------
as tech view --study "$STUDY" -o v >/dev/null 2>&1
check "the technologist views seed 42's radiograph" test -f v/view-0001.png
VIEW=$("$DV_BIN" audit show --log "$V/audit" --json 2>/dev/null | "$PY" -c 'import json, sys
n = ""
for line in sys.stdin:
    e = json.loads(line)
    if e.get("action") == "view": n = e["seq"]
print(n)')
check "the view's audit entry is known ($VIEW)" test -n "$VIEW"
# leaks that blind decoding cannot read: noise (the first level that defeats it and still leaves
# the informed mode enough wins), then phone photos (numpy, PIL)
leaks=""
for L in 1.5 2 2.5 3; do
  convert -seed 7 v/view-0001.png -attenuate $L +noise Gaussian -quality 60 noisy$L.jpg
  leaks="$leaks noisy$L.jpg"
done
if "$PY" -c 'import numpy, PIL' 2>/dev/null; then
  for q in 1 2; do
    "$PY" "$PHOTO" v/view-0001.png photo$q.jpg --keystone 1.6 --rotate 4 --scale 0.6 \
      --blur 1 --gamma 0.8 --noise 16 --quality 40 --seed $q && leaks="$leaks photo$q.jpg"
  done
fi
FOUND=""
for leak in $leaks; do
  as po trace "$leak" --vault "$V" >t.out 2>&1
  rc=$?
  grep '^perceptual search' t.out | sed "s/^/# $leak: /"
  if [ $rc -eq 0 ] && grep -q '^perceptual search' t.out && grep -q "^event $VIEW\$" t.out; then
    FOUND=$leak
    cp t.out found.out
    break
  fi
done
check "a degraded view, traced without --study, names the view entry ($FOUND)" test -n "$FOUND"
check "... every image compared, all $N from the sealed index" \
  grep -q "^perceptual search: $N stored images compared ($N from the sealed index)" found.out

# ---- shred: the study's hashes go with its rows -------------------------------------------------
"$DV" shred --study "$S43" --reason "test: duplicate acquisition" >shred.out 2>&1
check "the administrator shreds seed 43's study" test $? -eq 0
LEFT=$((N - N43))
check "... its $N43 hash rows are gone ($LEFT left)" \
  test "$(sql "$IDX" 'SELECT count(*) FROM image_hash')" -eq "$LEFT"
check "... and no hash row names a missing instance" \
  test "$(sql "$IDX" 'SELECT count(*) FROM image_hash WHERE instance_id NOT IN
    (SELECT id FROM instance)')" -eq 0
as po trace "$FOUND" --vault "$V" >t2.out 2>&1
check "trace again: the same entry, $LEFT images from the sealed index" \
  bash -c "grep -q '^event $VIEW\$' t2.out &&
    grep -q '^perceptual search: $LEFT stored images compared ($LEFT from the sealed index)' t2.out"

# ---- a version-3 index: migrated on open, no hashes, trace decrypts instead ---------------------
"$PY" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("DROP TABLE image_hash; UPDATE meta SET value = 3"
                 " WHERE key = \"index.schema_version\";")
db.close()' "$IDX"
check "the index turned back into version 3 (no hash table)" \
  test "$(sql "$IDX" "SELECT count(*) FROM sqlite_schema WHERE name = 'image_hash'")" -eq 0
as po trace "$FOUND" --vault "$V" >t3.out 2>&1
check "trace on it: the same entry" grep -q "^event $VIEW\$" t3.out
check "... all $LEFT images compared by decrypting them, 0 from the sealed index" \
  grep -q "^perceptual search: $LEFT stored images compared (0 from the sealed index)" t3.out
check "... and the index was migrated to version 4 (an empty hash table, no backfill)" \
  test "$(sql "$IDX" "SELECT value FROM meta WHERE key = 'index.schema_version'")|$(sql "$IDX" \
    'SELECT count(*) FROM image_hash')" = "4|0"
as tech import d42/cr_0001.dcm >/dev/null 2>&1
check "a re-import of a stored file is a duplicate and adds no hash" \
  test "$(sql "$IDX" 'SELECT count(*) FROM image_hash')" -eq 0
as tech import --replace d42/cr_0001.dcm >/dev/null 2>&1
check "import --replace stores it again with a hash row" \
  test "$(sql "$IDX" 'SELECT count(*) FROM image_hash')" -eq 1
as po trace "$FOUND" --vault "$V" >t4.out 2>&1
check "... and trace compares that one from the sealed index" \
  bash -c "grep -q '^event $VIEW\$' t4.out &&
    grep -q '^perceptual search: $LEFT stored images compared (1 from the sealed index)' t4.out"
done_testing
