#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_vault_corpus.sh - the vault against the whole corpus (malformed/ aside):
#  (1) every file imports (DICOMDIRs are given as such: their referenced files are checked in
#      test_vault_basic); then no PatientName, PatientID, PatientBirthDate, AccessionNumber,
#      InstitutionName or ReferringPhysicianName value of the corpus appears in any byte under
#      the vault folder, nor under a vault whose import was killed (-wal, -shm, tmp/ kept);
#  (2) export returns every imported file byte for byte (and dcmdump reads each export);
#  (2b) an ordinary export marks every image: no study is refused (every layout leaves marked,
#      every frame decodes; a JPEG frame smaller than Rows x Columns renders as dcmj2pnm's),
#      dcmdump reads every marked copy, and
#      dciodvfy finds no error in one that the original does not have;
#  (3) one flipped byte in one object: export and check fail naming the instance id and the
#      object key; restoring the byte makes check pass again.
source "$(dirname "$0")/lib.sh"
need_testdata "vault corpus"
if [ ! -x "$DV" ]; then
  fail "no binary at $DV (make build/asan/dcmvault)"
  done_testing
fi
source "$(dirname "$0")/vault_access.sh"
access_need "vault corpus"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
PY=$(dirname "$0")/py
V=$TMP/vault
export DCMVAULT_DIR=$V

# the corpus, DICOMDIR files aside (they are directories of other files, not images)
corpus_files | grep -v '\(^\|/\)DICOMDIR[^/]*$' | sed "s|^|$TESTDATA/|" >"$TMP/list"
n_files=$(wc -l <"$TMP/list")

"$DV" init "$V" >"$TMP/init.out" 2>&1
check "init creates a vault" test -f "$V/dcmvault.conf" -a -f "$V.kek"
check "log in (administrator, technologist)" access_setup "$V" "$TMP/init.out"

# ---- (1) import everything ----------------------------------------------------------------
xargs -d '\n' "$DV" import --verbose <"$TMP/list" >"$TMP/import.out" 2>"$TMP/import.err"
rc=$?
imported=$(grep -c '^imported ' "$TMP/import.out")
dups=$(grep -c '^duplicate ' "$TMP/import.out")
rejected=$(grep -c '^dcmvault import: ' "$TMP/import.err")
echo "# corpus: $n_files files: imported $imported, duplicate SOP Instance UID $dups, rejected $rejected"
sed 's/^/# /' "$TMP/import.err" | head -20
if [ "$rc" -eq 0 ] && [ "$rejected" -eq 0 ] && [ $((imported + dups)) -eq "$n_files" ]; then
  ok "every corpus file is imported or a duplicate of one that is (exit 0)"
else
  fail "import: exit $rc, $imported + $dups of $n_files"
fi
# files rejected although dcmdump reads them: none may exist
bad=0
while IFS= read -r line; do
  f=${line#dcmvault import: }
  f=${f%%: *}
  if dcmdump -q "$f" >/dev/null 2>&1; then
    echo "# dcmdump reads it but import rejected it: $f"
    bad=$((bad + 1))
  fi
done <"$TMP/import.err"
check "no file that dcmdump reads is rejected" test "$bad" -eq 0

# a second vault whose import is killed mid-way: its -wal, -shm and tmp/ are scanned too
V2=$TMP/vault2
"$DV" init "$V2" >"$TMP/init2.out" 2>&1
check "log in to the second vault" access_setup "$V2" "$TMP/init2.out"
mapfile -t files <"$TMP/list"
"$DV" import --vault "$V2" "${files[@]}" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  [ -e "$V2/index.sqlite-wal" ] && [ -n "$(find "$V2/objects" -type f | head -n 1)" ] && break
  sleep 0.05
done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
echo "# killed vault: $(find "$V2" -type f | wc -l) files ($(ls "$V2" | tr '\n' ' '))"

python3 "$PY/phi_scan.py" "$TMP/list" "$DV" "$V" "$V2" >"$TMP/scan.out" 2>&1
scan_rc=$?
sed 's/^/# /' "$TMP/scan.out" | sed 's/^# # /# /' | head -40
check "no identifying value of the corpus in any byte under the vault folders" \
  test "$scan_rc" -eq 0 -a -n "$(grep '^hits: 0$' "$TMP/scan.out")"

# positive control: the same scan finds the values in a plain copy of the corpus files
mkdir -p "$TMP/plain"
head -n 20 "$TMP/list" | xargs -d '\n' cp -t "$TMP/plain" 2>/dev/null
python3 "$PY/phi_scan.py" "$TMP/list" "$DV" "$TMP/plain" >"$TMP/scan2.out" 2>&1
check "the scan does find identifying values in plain corpus files (control)" \
  test -z "$(grep '^hits: 0$' "$TMP/scan2.out")"

# ---- (2) export equals import --------------------------------------------------------------
"$DV" find --level study --json >"$TMP/studies.json"
python3 -c 'import json,sys; [print(r["StudyInstanceUID"]) for r in json.load(open(sys.argv[1]))]' \
  "$TMP/studies.json" >"$TMP/studies"
exp_fail=0
while IFS= read -r uid; do
  "$DV" export --original --study "$uid" -o "$TMP/out" >/dev/null 2>>"$TMP/export.err" || exp_fail=$((exp_fail + 1))
done <"$TMP/studies"
n_exp=$(find "$TMP/out" -type f | wc -l)
check "every study exports ($(wc -l <"$TMP/studies") studies, $n_exp files)" test "$exp_fail" -eq 0
check "one exported file per imported instance" test "$n_exp" -eq "$imported"
(cd "$TMP/out" && sha256sum -- *) | awk '{print $1}' | sort >"$TMP/exp.sha"
grep '^imported ' "$TMP/import.out" | sed 's/^imported //' | xargs -d '\n' sha256sum |
  awk '{print $1}' | sort >"$TMP/imp.sha"
check "exported files equal the imported files byte for byte" cmp -s "$TMP/exp.sha" "$TMP/imp.sha"

# ---- (2b) marked copies: what an ordinary export gives (the watermark in every image) ----------
"$DV" find --level instance --json >"$TMP/instances.json"
mk_fail=0 mk_refused=0
while IFS= read -r uid; do
  if ! "$DV" export --study "$uid" -o "$TMP/marked" >/dev/null 2>"$TMP/m.err"; then
    if grep -q 'cannot carry the watermark' "$TMP/m.err"; then
      mk_refused=$((mk_refused + 1))
      echo "# refused: $(head -c 300 "$TMP/m.err")"
    else
      mk_fail=$((mk_fail + 1))
      echo "# marked export of a study failed: $(head -c 200 "$TMP/m.err")"
    fi
  fi
done <"$TMP/studies"
n_mk=$(find "$TMP/marked" -type f 2>/dev/null | wc -l)
echo "# marked export: $n_mk files; $mk_refused studies refused, $mk_fail failed otherwise"
check "a marked export either succeeds or names the image the mark cannot carry" \
  test "$mk_fail" -eq 0
# no refusal at all: every layout leaves marked, and every frame decodes (JPEG frames smaller
# than Rows x Columns, as in fo-dicom/multiframe.dcm, are padded like DCMTK pads them)
check "every study of the corpus leaves marked: 0 refusals" test "$mk_refused" -eq 0
check "every instance leaves marked ($n_mk files of $imported)" test "$n_mk" -ge "$imported"
# the padding equals DCMTK's: frame 14 of fo-dicom/multiframe.dcm is a 55 x 240 JPEG in a
# 240 x 240 frame; dcmvault render and dcmj2pnm agree on every pixel
mf=$TESTDATA/fo-dicom/multiframe.dcm
if [ ! -f "$mf" ]; then
  skip "render of a short JPEG frame equals dcmj2pnm" "fo-dicom/multiframe.dcm is not in the corpus"
elif ! command -v compare >/dev/null 2>&1 || ! command -v dcmj2pnm >/dev/null 2>&1; then
  skip "render of a short JPEG frame equals dcmj2pnm" "ImageMagick compare or dcmj2pnm missing"
else
  "$DV_BIN" render "$mf" --frame 14 -o "$TMP/mf14.png" >/dev/null 2>"$TMP/mf.err"
  check "dcmvault render decodes frame 14 of fo-dicom/multiframe.dcm (a 55 x 240 JPEG)" \
    test -s "$TMP/mf14.png"
  dcmj2pnm +F 14 +on "$mf" "$TMP/mf14_dcmtk.png" >/dev/null 2>&1
  ae=$(compare -metric AE "$TMP/mf14.png" "$TMP/mf14_dcmtk.png" null: 2>&1)
  echo "# frame 14: pixels differing from dcmj2pnm: $ae"
  check "render of frame 14 equals dcmj2pnm +F 14 pixel for pixel" test "$ae" = 0
fi
mk_bad=0
for f in "$TMP"/marked/*.dcm; do dcmdump -q "$f" >/dev/null 2>&1 || mk_bad=$((mk_bad + 1)); done
check "dcmdump reads every marked file" test "$mk_bad" -eq 0
# dciodvfy: a marked copy has no error its original (the --original export of (2)) has not
command -v dciodvfy >/dev/null 2>&1 &&
  python3 - "$TMP/out" "$TMP/marked" >"$TMP/iod.out" 2>&1 <<'PY'
import os, re, subprocess, sys
def errors(path):
    p = subprocess.run(['dciodvfy', path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode('utf-8', 'replace').replace(path, '')
    lines = [l for l in out.splitlines() if l.startswith('Error')]
    unreadable = any('Tags out of order' in l or 'read failed' in l for l in lines)
    return unreadable, {re.sub(r'[0-9][0-9.]*', '#', re.sub(r'\s+', ' ', l)) for l in lines}
orig, marked = sys.argv[1], sys.argv[2]
new_errors = skipped = 0
for n in sorted(os.listdir(marked)):
    unread, before = errors(os.path.join(orig, n))
    if unread:
        skipped += 1
        print('# dciodvfy cannot read %s (skipped)' % n)
        continue
    new = errors(os.path.join(marked, n))[1] - before
    if new:
        new_errors += 1
        print('# new dciodvfy error in the marked copy of %s: %s' % (n, sorted(new)[:2]))
print('checked %d, skipped %d, with new errors %d' % (len(os.listdir(marked)) - skipped, skipped, new_errors))
PY
if command -v dciodvfy >/dev/null 2>&1; then
  sed 's/^/# /' "$TMP/iod.out" | sed 's/^# # /# /' | tail -12
  check "dciodvfy finds no error in a marked copy that its original does not have" \
    grep -q 'with new errors 0$' "$TMP/iod.out"
else
  skip "dciodvfy on the marked copies" "dciodvfy is not installed"
fi
modes=$(find "$TMP/out" -type f ! -perm 0600 | wc -l)
check "exported files are mode 0600" test "$modes" -eq 0
dd_fail=0
for f in "$TMP/out"/*; do
  dcmdump -q "$f" >/dev/null 2>&1 || dd_fail=$((dd_fail + 1))
done
while IFS= read -r f; do dcmdump -q "$f" >/dev/null 2>&1 || dd_fail=$((dd_fail - 1)); done \
  < <(grep '^imported ' "$TMP/import.out" | sed 's/^imported //')
check "dcmdump reads every export it read as an import" test "$dd_fail" -le 0

# ---- (3) tampering -------------------------------------------------------------------------
"$DV" find --level instance --json --limit 1 >"$TMP/one.json"
read -r sop key id < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]
print(r["SOPInstanceUID"], r["ObjectKey"], r["InstanceId"])' "$TMP/one.json")
obj=$V/objects/${key:0:2}/${key:2:2}/$key
check "the object file of instance $id is where the store says" test -f "$obj"
cp "$obj" "$TMP/obj.bak"
size=$(stat -c %s "$obj")
# a byte of the header, one in the middle of the chunks, the last byte of the final tag
for off in 9 $((size / 2)) $((size - 1)); do
  python3 -c 'import sys; p, i = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, "rb").read())
b[i] ^= 1
open(p, "wb").write(b)' "$obj" "$off"
  rm -rf "$TMP/tampered"
  "$DV" export --instance "$sop" -o "$TMP/tampered" >/dev/null 2>"$TMP/t.err"
  rc=$?
  check "byte $off of $size flipped: export fails (exit 4)" test "$rc" -eq 4
  check "byte $off: the export error names the instance id and object key" \
    grep -q "instance $id: object $key does not authenticate" "$TMP/t.err"
  check "byte $off: nothing was written for it" test -z "$(ls -A "$TMP/tampered" 2>/dev/null)"
  "$DV" check >"$TMP/c.out" 2>&1
  rc=$?
  check "byte $off: check fails (exit 1)" test "$rc" -eq 1
  check "byte $off: check names the instance id and object key" \
    grep -q "instance $id object $key" "$TMP/c.out"
  cp "$TMP/obj.bak" "$obj"
done
check "check passes once the object is restored" "$DV" check

done_testing
