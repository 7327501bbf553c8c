#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_vault_trace.sh - every rendered image that leaves the vault carries an invisible mark
# naming its access, and `dcmvault trace --vault` goes from a leaked picture back to the audit
# entry with its inclusion proof.  A technologist views a radiograph; the PNG is re-saved as a
# JPEG of quality 50 and cropped (ImageMagick); the privacy officer's trace names the view entry
# (user, purpose), the proof checks with `audit check-proof` and with an independent Python
# verifier (hashlib); the view's log shows the "watermark" entry and the trace itself.  An
# exported DICOM file (only its pixel values changed), rendered by DCMTK, cropped and re-saved as
# JPEG 50, traces to the export entry; export --original is the archival bytes.  A print
# (page image pulled out of the PDF with pdfimages) and a share are traced to their entries;
# with --study (or the study found by a perceptual hash over the vault) the informed mode finds
# a view blind decoding cannot read under heavy noise;
# an unmarked render of the same file gives nothing, blind or informed; a technologist may not
# trace.
source "$(dirname "$0")/lib.sh"
if [ ! -x "$DV" ]; then
  fail "no binary at $DV (make build/asan/dcmvault)"
  done_testing
fi
for t in convert pdfimages oathtool; do
  if ! command -v $t >/dev/null 2>&1; then
    skip "vault trace" "$t is not installed (bash scripts/deps.sh)"
    done_testing
  fi
done
source "$(dirname "$0")/vault_access.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
cd "$TMP" || exit 1
PY=$ROOT/tests/integration/py/audit_tool.py
V=$TMP/v
export DCMVAULT_DIR=$V
GEN=$ROOT/build/dcmvault
[ -x "$GEN" ] || GEN=$DV_BIN
"$GEN" demo --out demo --seed 11 --size 1024 >/dev/null 2>&1
IN=demo/cr_0001.dcm
check "a synthetic 1024x1024 radiograph" test -f "$IN"
tag_of() { dcmdump +P "$2" "$1" 2>/dev/null | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1; }
STUDY=$(tag_of "$IN" 0020,000d)
SOP=$(tag_of "$IN" 0008,0018)

"$DV_BIN" init "$V" >init.out 2>&1
check "a vault with an administrator and a technologist" access_setup "$V" init.out
access_users "$V" po:privacy-officer
as tech import "$IN" >/dev/null 2>&1
check "the technologist imports it" test $? -eq 0
events() { "$DV_BIN" audit show --log "$V/audit" --json 2>/dev/null; }

# ---- view -> JPEG 50 + crop -> trace ---------------------------------------------------------------
as tech view --study "$STUDY" -o v >/dev/null 2>&1
check "the technologist views it" test -f v/view-0001.png
convert v/view-0001.png -crop 70%x70%+100+80 +repage -quality 50 leak.jpg
check "the leak: cropped to 70% and re-saved as JPEG 50" test -s leak.jpg
as po trace leak.jpg --vault "$V" --proof-out proof.txt --checkpoint-out cp.txt >t.out 2>&1
check "the privacy officer's trace finds the mark (exit 0)" test $? -eq 0
check "... names the view entry: the technologist, for treatment" \
  grep -q '^audit entry .*view.*tech.*TREAT' t.out
seq=$(sed -n 's/^event \([0-9]*\)$/\1/p' t.out)
events >ev.json
check "... entry $seq of the log is the technologist's view of the study" \
  python3 -c '
import json, sys
e = [json.loads(l) for l in open(sys.argv[1])]
r = [x for x in e if x["seq"] == int(sys.argv[2])][0]
sys.exit(0 if r["action"] == "view" and r["actor"] == "tech" and r["objects"] else 1)' ev.json "$seq"
check "... and a watermark entry says which entry the marks carry" \
  grep -q "\"action\":\"watermark\".*\"actor\":\"tech\".*mark of entry $seq" ev.json
check "... and the trace itself is on the log" grep -q "\"detail\":\"trace: mark of entry $seq found" ev.json
as po audit check-proof --pubkey "$V/audit.vkey" --checkpoint cp.txt proof.txt >cpf.out 2>&1
check "the proof checks with audit check-proof" grep -q '^OK' cpf.out
check "... and with an independent verifier (hashlib)" python3 "$PY" inclusion proof.txt cp.txt
check "the false-positive probability is printed and below 1e-9" \
  python3 -c 'import re,sys; m=re.search(r"false-positive probability ([0-9.e+-]+)", open(sys.argv[1]).read()); sys.exit(0 if m and float(m.group(1)) < 1e-9 else 1)' t.out

# ---- the informed mode: too much noise for blind decoding, but one study's entries are few ------
seq_view=$seq
helped=0 wrong=0 viaphash=0
for L in 2.5 3 3.5 4; do
  convert -seed 7 v/view-0001.png -attenuate $L +noise Gaussian -quality 60 noisy$L.jpg
  as po trace noisy$L.jpg --vault "$V" --study "$STUDY" >ni$L.out 2>&1
  i=$?
  as po trace noisy$L.jpg --vault "$V" >np$L.out 2>&1
  p=$?
  echo "# noise $L: with --study exit $i, without exit $p$(grep -q 'informed mode' ni$L.out && echo ', blind decoding failed')"
  if [ "$i" -eq 0 ] && grep -q 'informed mode' ni$L.out; then helped=$((helped + 1)); fi
  if [ "$p" -eq 0 ] && grep -q '^perceptual search: ' np$L.out; then viaphash=$((viaphash + 1)); fi
  for o in ni$L.out np$L.out; do
    if grep -q '^event ' $o && ! grep -q "^event $seq_view$" $o; then wrong=$((wrong + 1)); fi
  done
done
check "with --study, noise that defeats blind decoding still names the view ($helped of 4 levels)" \
  test "$helped" -ge 1
check "without --study, the perceptual search finds the study for it ($viaphash of 4 levels)" \
  test "$viaphash" -ge 1
check "... and neither ever names another entry" test "$wrong" -eq 0

# ---- nothing in an unmarked picture; only the privacy officer traces ------------------------------
"$DV_BIN" render "$IN" -o clean.png >/dev/null 2>&1
as po trace clean.png --vault "$V" >c.out 2>&1
check "an unmarked render of the same file: no mark (exit 1)" test $? -eq 1
as po trace clean.png --vault "$V" --study "$STUDY" >ci.out 2>&1
check "... nor with the informed mode (exit 1)" test $? -eq 1
as tech trace leak.jpg --vault "$V" >tt.out 2>&1
check "the technologist may not trace (exit 4)" test $? -eq 4

# ---- the issue's end to end: an exported DICOM file, re-saved as JPEG 50 and cropped ------------
as tech export --study "$STUDY" -o ex >ex.out 2>&1
check "the technologist exports the study (exit 0)" test $? -eq 0
EXF=ex/$SOP.dcm
check "... a DICOM file dcmdump reads" bash -c "dcmdump -q '$EXF' >/dev/null"
dcmdump +L "$IN" 2>/dev/null | grep -v 'PixelData' >in.dump
dcmdump +L "$EXF" 2>/dev/null | grep -v 'PixelData' >ex.dump
check "... with every element but the pixel data unchanged" cmp -s in.dump ex.dump
check "... and marked: not the archival bytes" bash -c "! cmp -s '$IN' '$EXF'"
dcmj2pnm --write-png "$EXF" ex.png >/dev/null 2>&1
convert ex.png -crop 60%x60%+150+120 +repage -quality 50 ex_leak.jpg
as po trace ex_leak.jpg --vault "$V" --proof-out eproof.txt --checkpoint-out ecp.txt >te.out 2>&1
check "DCMTK's render of the export, cropped and re-saved as JPEG 50, traces (exit 0)" test $? -eq 0
check "... to the technologist's export entry" grep -q '^audit entry .*export.*tech.*TREAT' te.out
check "... and the proof verifies (independent verifier)" python3 "$PY" inclusion eproof.txt ecp.txt
as tech export --study "$STUDY" --original -o orig >/dev/null 2>&1
check "export --original gives the archival bytes" cmp -s "$IN" "orig/$SOP.dcm"
events >ev2.json
check "... and its audit entry says so" grep -q '"action":"export".*"detail":"original: the archival bytes, unmarked"' ev2.json

# ---- print and share -----------------------------------------------------------------------------
as tech print --study "$STUDY" -o film.pdf >p.out 2>&1
check "the technologist prints the study" test -s film.pdf
pdfimages -j film.pdf page >/dev/null 2>&1
as po trace page-000.jpg --vault "$V" >tp.out 2>&1
check "the page image pulled out of the PDF traces to the print entry" \
  grep -q '^audit entry .*print.*tech' tp.out
as tech share --instance "$SOP" -o case.png --pixels rules >/dev/null 2>&1
check "the technologist shares the image" test -s case.png
convert case.png -resize 60% case_small.png
as po trace case_small.png --vault "$V" >ts.out 2>&1
check "the shared picture, shrunk to 60%, traces to the share entry (teaching)" \
  grep -q '^audit entry .*share.*tech.*TRAIN' ts.out
done_testing
