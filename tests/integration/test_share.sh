#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_share.sh - `dcmvault share`, the trainee's button.  A synthetic radiograph with the
# patient's Latin and Chinese name, ID and dates burned in becomes a PNG that pngcheck finds
# clean and without text chunks, and in which the real `tesseract` CLI reads none of those
# strings (while it does read the ID in the input: the check means something); a JPEG too.
# A photograph (a colour secondary capture made with ImageMagick and img2dcm) is refused
# without a reason and shared with one; an identifier in a value the profile keeps refuses the
# picture and writes nothing.  From the vault: gated as an export of de-identified data, on the
# audit log as "share" (DCM 110106 + SHARE) with the purpose TRAIN; a user without a care
# relationship gets nothing.
source "$(dirname "$0")/lib.sh"
if [ ! -x "$DV" ]; then
  fail "no binary at $DV (make build/asan/dcmvault)"
  done_testing
fi
for t in tesseract pngcheck dcmodify img2dcm convert djpeg; do
  if ! command -v $t >/dev/null 2>&1; then
    skip "share" "$t is not installed (bash scripts/deps.sh)"
    done_testing
  fi
done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
cd "$TMP" || exit 1
GEN=$ROOT/build/dcmvault # the demo generator: the plain build is faster when it exists
[ -x "$GEN" ] || GEN=$DV

tag_of() { dcmdump +U8 -s +P "$2" "$1" 2>/dev/null | head -1 | sed 's/^[^[]*\[\([^]]*\)\].*/\1/'; }
# what tesseract reads in a PNG: as is, its brightest and its darkest pixels; no spaces, upper case
read_png() {
  convert "$1" -threshold 92% -negate hi.png && convert "$1" -median 3 -threshold 2% lo.png
  for v in "$1" hi.png lo.png; do tesseract "$v" - -l eng+chi_sim --psm 11 2>/dev/null; done |
    tr -d ' \t\n' | tr 'a-z' 'A-Z'
}

"$GEN" demo --out demo --seed 5 --size 1536 >/dev/null 2>&1
IN=demo/cr_0001.dcm
check "the demo writes a synthetic radiograph" test -f "$IN"
PN=$(tag_of "$IN" 0010,0010)
ID=$(tag_of "$IN" 0010,0020)
LATIN=${PN%%=*}
FAMILY=${LATIN%%^*}
CJK=${PN#*=}
SD=$(tag_of "$IN" 0008,0020)
dcmj2pnm --write-png "$IN" in.png >/dev/null 2>&1
case $(read_png in.png) in
  *"$ID"*) ok "tesseract reads the patient ID in the input's render" ;;
  *) fail "tesseract does not read the ID in the input (the test would prove nothing)" ;;
esac

"$DV" share "$IN" -o case.png >share.out 2>&1
check "share FILE -o case.png (exit 0)" test $? -eq 0
check "... a valid PNG (pngcheck)" bash -c "pngcheck case.png | grep -q '^OK'"
check "... with no text, time or other ancillary chunk" bash -c \
  "pngcheck -v case.png | grep -o 'chunk [A-Za-z]*' | sort -u | tr '\n' ' ' | grep -qx 'chunk IDAT chunk IEND chunk IHDR '"
check "... mode 0600" test "$(stat -c %a case.png)" = 600
txt=$(read_png case.png)
left=""
for s in "$ID" "$FAMILY" "${CJK//^/}" "${SD:0:4}-${SD:4:2}-${SD:6:2}"; do
  [ -n "$s" ] && case $txt in *"$s"*) left="$left $s" ;; esac
done
check "tesseract reads none of the name, Chinese name, ID or study date in the picture" test -z "$left"
"$DV" share "$IN" -o case.jpg --window 2048,4096 >/dev/null 2>&1
check "a JPEG with a window" bash -c "djpeg -pnm case.jpg >/dev/null"

# ---- refusals ------------------------------------------------------------------------------------
cp "$IN" kept.dcm
dcmodify -nb -i "(0028,1055)=${LATIN//^/ }" kept.dcm >/dev/null 2>&1
"$DV" share kept.dcm -o kept.png --pixels rules >kept.out 2>&1
check "an identifier in a value the profile keeps: refused (exit 4)" test $? -eq 4
check "... nothing written" test ! -e kept.png
check "... the message names the tag, not the value" \
  bash -c "grep -q '(0028,1055)' kept.out && ! grep -qi '$FAMILY' kept.out"
convert -size 320x240 xc:'#c8a080' -fill black -draw 'circle 160,120 160,40' photo.jpg 2>/dev/null
img2dcm photo.jpg photo.dcm >/dev/null 2>&1
check "a colour secondary capture made by img2dcm" test -s photo.dcm
"$DV" share photo.dcm -o photo.png --pixels rules >ph.out 2>&1
check "a photograph without a reason: refused (exit 4)" test $? -eq 4
check "... saying a face may be visible" grep -q 'faces may be visible' ph.out
"$DV" share photo.dcm -o photo.png --pixels rules --photo-reason "dermatology teaching, consent on file" \
  >/dev/null 2>&1
check "... shared with a reason" test -s photo.png
"$DV" share "$IN" -o case.gif >/dev/null 2>&1
check "a .gif output: usage error (exit 2)" test $? -eq 2
"$DV" share -o x.png >/dev/null 2>&1
check "no input: usage error (exit 2)" test $? -eq 2

# ---- from the vault --------------------------------------------------------------------------------
if ! command -v oathtool >/dev/null 2>&1; then
  skip "share from the vault" "oathtool is not installed"
  done_testing
fi
source "$ROOT/tests/integration/vault_access.sh"
V=$TMP/v
export DCMVAULT_DIR=$V
"$DV_BIN" init "$V" >init.out 2>&1
check "a vault with an administrator and a technologist" access_setup "$V" init.out
access_users "$V" rad:radiologist
as tech import "$IN" >/dev/null 2>&1
SOP=$(tag_of "$IN" 0008,0018)
n0=$("$DV" audit show --log "$V/audit" --json 2>/dev/null | wc -l)
as tech share --instance "$SOP" -o v.png >vs.out 2>&1
check "the technologist shares the stored radiograph (exit 0)" test $? -eq 0
check "... a PNG" bash -c "pngcheck v.png | grep -q '^OK'"
txt=$(read_png v.png)
case $txt in *"$ID"*) fail "tesseract reads the ID in the vault's picture" ;;
  *) ok "tesseract does not read the ID in the vault's picture" ;; esac
"$DV" audit show --log "$V/audit" --json 2>/dev/null | tail -n +$((n0 + 1)) >ev.json
check "the audit log records share, for teaching (TRAIN)" \
  grep -q '"action":"share".*"purpose":"TRAIN".*"objects":\[{' ev.json
"$DV_BIN" audit export --log "$V/audit" --format dicom-xml --since 2000-01-01T00:00:00Z >ev.xml 2>/dev/null
check "share exports with type SHARE" grep -q '"SHARE"' ev.xml
as rad share --instance "$SOP" -o r.png >/dev/null 2>&1
check "a radiologist without a care relationship: refused (exit 4)" test $? -eq 4
check "... nothing written" test ! -e r.png
done_testing
