#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_trace_photo.sh - the informed mode with the original: a leak that blind detection cannot
# read (a phone photo in 1.6:1 perspective, turned, shrunk, defocused, gamma-shifted, noisy,
# JPEG 40 -- made here by tests/integration/py/photo.py with numpy and PIL) is registered to the
# stored original (features and a homography) and traced to the view that released it, with
# and without --study; a mirrored and quarter-turned copy, a small quarter-of-the-image cut-out
# and a photo of an exported file rendered by DCMTK with a narrow window are traced too; a photo
# of an unmarked render is registered and names nobody.  `trace --key-file K --original ORIG`
# does the same outside a vault, and refuses to name anything against another original.
source "$(dirname "$0")/lib.sh"
if [ ! -x "$DV" ]; then
  fail "no binary at $DV (make build/asan/dcmvault)"
  done_testing
fi
for t in convert oathtool dcmj2pnm; do
  if ! command -v $t >/dev/null 2>&1; then
    skip "trace from a photo" "$t is not installed (bash scripts/deps.sh)"
    done_testing
  fi
done
if ! /usr/bin/python3 -c 'import numpy, PIL' 2>/dev/null; then
  skip "trace from a photo" "python3-numpy / python3-pil missing (bash scripts/deps.sh)"
  done_testing
fi
source "$(dirname "$0")/vault_access.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
cd "$TMP" || exit 1
PHOTO=$ROOT/tests/integration/py/photo.py
V=$TMP/v
export DCMVAULT_DIR=$V
GEN=$ROOT/build/dcmvault
[ -x "$GEN" ] || GEN=$DV_BIN
"$GEN" demo --out demo --seed 23 --size 1024 >/dev/null 2>&1
IN=demo/cr_0001.dcm
check "a synthetic 1024x1024 radiograph" test -f "$IN"
tag_of() { dcmdump +P "$2" "$1" 2>/dev/null | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1; }
STUDY=$(tag_of "$IN" 0020,000d)

"$DV_BIN" init "$V" >init.out 2>&1
check "a vault with an administrator and a technologist" access_setup "$V" init.out
access_users "$V" po:privacy-officer
as tech import "$IN" demo/ct_0001.dcm >/dev/null 2>&1
check "the technologist imports the radiograph and a CT slice" test $? -eq 0
as tech view --study "$STUDY" -o v >/dev/null 2>&1
check "the technologist views the radiograph" test -f v/view-0001.png
view_seq() { # the newest entry of an action (audit show --json: one entry a line)
  "$DV_BIN" audit show --log "$V/audit" --json 2>/dev/null | /usr/bin/python3 -c 'import json,sys
n = ""
for line in sys.stdin:
    e = json.loads(line)
    if e.get("action") == sys.argv[1]: n = e["seq"]
print(n)' "$1"; }
VIEW=$(view_seq view)
check "the view's audit entry is known ($VIEW)" test -n "$VIEW"

# ---- the phone photo ----------------------------------------------------------------------------
/usr/bin/python3 "$PHOTO" v/view-0001.png photo.jpg --keystone 1.6 --rotate 4 --scale 0.6 \
  --blur 1 --gamma 0.8 --noise 16 --quality 40 --seed 3
check "a phone photo of the screen (1.6:1 keystone, noise 16, JPEG 40)" test -s photo.jpg
as po trace photo.jpg --vault "$V" --study "$STUDY" >t1.out 2>&1
rc=$?
sed 's/^/# /' t1.out | head -n 12
check "with --study: found (exit 0)" test $rc -eq 0
check "... blind decoding had found nothing" grep -q '^informed mode: blind decoding found nothing' t1.out
check "... the photo was registered to the stored original" grep -q '^registered to the original' t1.out
check "... and the mark names the view entry $VIEW" grep -q "^event $VIEW\$" t1.out
check "... of the technologist" grep -q '^audit entry .*view.*tech' t1.out
as po trace photo.jpg --vault "$V" >t2.out 2>&1
rc=$?
sed 's/^/# /' t2.out | grep -E 'perceptual|regist|^# event' | head -n 4
check "without --study (the perceptual search finds the original): found" test $rc -eq 0
check "... the same entry" grep -q "^event $VIEW\$" t2.out
as po trace photo.jpg --study "$STUDY" >t2b.out 2>&1
check "without --vault, the vault of DCMVAULT_DIR (as every vault command): the same entry" \
  grep -q "^event $VIEW\$" t2b.out

# ---- mirrored and turned; a small cut-out -------------------------------------------------------
convert v/view-0001.png -flop -rotate 90 -quality 70 flip.jpg
as po trace flip.jpg --vault "$V" --study "$STUDY" >t3.out 2>&1
rc=$?
check "a mirrored, quarter-turned copy: found (exit 0)" test $rc -eq 0
check "... the same entry" grep -q "^event $VIEW\$" t3.out
convert -seed 7 v/view-0001.png -crop 512x512+256+300 +repage -resize 50% -attenuate 0.6 +noise Gaussian \
  -quality 60 small.jpg
as po trace small.jpg --vault "$V" --study "$STUDY" >t4.out 2>&1
rc=$?
check "a 256-pixel cut-out (a quarter of the image at half size, noise ~12 grey levels, JPEG 60): found" test $rc -eq 0
check "... the same entry" grep -q "^event $VIEW\$" t4.out

# ---- an export, rendered by DCMTK with its own narrow window, photographed ---------------------
as tech export --study "$STUDY" -o ex >/dev/null 2>&1
EXPORT=$(view_seq export)
ex=$(grep -l "$STUDY" ex/*.dcm 2>/dev/null | head -n 1)
[ -n "$ex" ] || ex=$(ls ex/*.dcm | head -n 1)
dcmj2pnm +on +Ww 1800 1600 "$ex" exp.png >/dev/null 2>&1
check "the exported file rendered by dcmj2pnm with a narrow window" test -s exp.png
/usr/bin/python3 "$PHOTO" exp.png ephoto.jpg --keystone 1.5 --rotate -3 --scale 0.7 --blur 0.8 \
  --gamma 1.2 --noise 16 --quality 45 --seed 5
as po trace ephoto.jpg --vault "$V" --study "$STUDY" >t5.out 2>&1
rc=$?
sed 's/^/# /' t5.out | grep -E 'regist|^# event|informed' | head -n 3
check "a photo of it traces to the export entry $EXPORT" grep -q "^event $EXPORT\$" t5.out
check "... (exit 0)" test $rc -eq 0

# ---- nothing in a photo of an unmarked render ---------------------------------------------------
"$DV_BIN" render "$IN" -o clean.png >/dev/null 2>&1
/usr/bin/python3 "$PHOTO" clean.png cphoto.jpg --keystone 1.6 --rotate 4 --scale 0.6 --blur 1 \
  --gamma 0.8 --noise 20 --quality 40 --seed 3
as po trace cphoto.jpg --vault "$V" --study "$STUDY" >t6.out 2>&1
rc=$?
check "a photo of an unmarked render: no mark (exit 1)" test $rc -eq 1
check "... although it was registered to the original" grep -q '^registered to the original' t6.out

# ---- outside a vault: --original ----------------------------------------------------------------
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >mark.key
echo >>mark.key
chmod 600 mark.key
"$DV_BIN" mark "$IN" marked.dcm --event 4242 --key-file mark.key >/dev/null 2>&1
check "dcmvault mark writes a marked copy" test -s marked.dcm
dcmj2pnm +on marked.dcm m.png >/dev/null 2>&1
/usr/bin/python3 "$PHOTO" m.png mphoto.jpg --keystone 1.6 --rotate 5 --scale 0.6 --blur 1 \
  --gamma 0.8 --noise 7 --quality 50 --seed 9
"$DV_BIN" trace mphoto.jpg --key-file mark.key >f1.out 2>&1
b=$?
"$DV_BIN" trace mphoto.jpg --key-file mark.key --original "$IN" >f2.out 2>&1
rc=$?
echo "# blind exit $b; with --original exit $rc"
check "the photo (1.6:1 keystone, noise 7, JPEG 50) defeats blind detection (exit 1)" test $b -eq 1
check "trace --original: the event (exit 0)" test $rc -eq 0
check "... is 4242" grep -q '^event 4242$' f2.out
check "... registered" grep -q '^registered to the original' f2.out
"$DV_BIN" trace mphoto.jpg --key-file mark.key --original demo/ct_0001.dcm >f3.out 2>&1
rc=$?
check "against another original (a CT slice): nothing (exit 1)" test $rc -eq 1
check "... and no registration" grep -q '^registration to the original: no match' f3.out
"$DV_BIN" trace mphoto.jpg --vault "$V" --original "$IN" >/dev/null 2>&1
check "--original with --vault is a usage error (exit 2)" test $? -eq 2
done_testing
