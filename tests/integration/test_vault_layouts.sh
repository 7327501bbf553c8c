#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_vault_layouts.sh - every image layout leaves the vault marked (issue 7): one corpus file
# of each layout the mark used to refuse (palette colour with plain, segmented, implicit-VR and
# RLE LUT images, 1-bit segmentation, native YBR_FULL_422, RGB of 16 and 32 bits native and
# RLE, 32-bit MONOCHROME2 native and RLE, float pixel data) is imported, the technologist
# exports its study, and the marked copy is a DICOM file dcmdump reads, saying what its pixels
# now are.  Then, by what the image allows:
#   jpeg  - DCMTK's render (dcmj2pnm) re-saved as JPEG 70 (ImageMagick) traces blind to the
#           export's audit entry (the entry the "watermark" record names);
#   binary - a 1-bit mask: the mark is on its edges only, and whether even a lossless render
#           is read depends on the payload (the entry number), so the copy's pixels are
#           checked as for "small" below and the trace is only reported;
#   small - too small for detection (under one 128-pixel tile: 100 x 100, 10 x 10): in our
#           render (min..max window) the copy's pixels differ from the original's by the mark
#           only (some changed, none by more than 3 display levels: 2 for the mark, 1 for the
#           window's own min and max moving);
#   float - float pixel data (no DICOM renderer here reads it): PSNR >= 48 dB against the
#           values' range, every value changed by at most 2 display levels of a min..max window.
# Objects whose pixel data is no image (empty, or without Rows and Columns) leave unchanged.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vault_access.sh"
for t in convert compare dcmj2pnm dcmdump python3; do
  if ! command -v $t >/dev/null 2>&1; then
    skip "vault layouts" "$t is not installed (bash scripts/deps.sh)"
    done_testing
  fi
done
vault_test_start "vault layouts"
PYF=$ROOT/tests/integration/py/float_pixels.py

"$DV_BIN" init "$V" >init.out 2>&1
check "a vault with an administrator and a technologist" access_setup "$V" init.out
access_users "$V" po:privacy-officer
events() { "$DV_BIN" audit show --log "$V/audit" --json 2>/dev/null; }

# uid_of FILE TAG: a UID value (dcmdump prints UN values as hex: decoded too)
uid_of() {
  dcmdump +L +P "$2" "$1" 2>/dev/null | head -n 1 | python3 -c '
import re, sys
l = sys.stdin.read()
m = re.search(r"\[(.*?)\]", l)
h = re.search(r" UN ([0-9a-f\\]+)", l)
print(m.group(1) if m else bytes.fromhex(h.group(1).replace("\\", "")).decode().strip("\0 ") if h else "")'
}
# the entry the marks of the newest export carry (its "watermark" record)
mark_entry() {
  events | python3 -c '
import json, re, sys
n = [re.search(r"mark of entry (\d+) in the exported files", json.loads(l).get("detail") or "")
     for l in sys.stdin if l.strip()]
n = [m.group(1) for m in n if m]
print(n[-1] if n else "")'
}
# render DICOM PNG: DCMTK's render of frame 1, or ours where DCMTK does not render the layout
render() { dcmj2pnm -q +on "$1" "$2" 2>/dev/null || "$DV_BIN" render "$1" -o "$2" >/dev/null 2>&1; }
# display levels: the largest difference of two renders and the pixels that differ
pae() { compare -metric PAE "$1" "$2" null: 2>&1 | sed -n 's/.*(\([0-9.e+-]*\)).*/\1/p'; }
ae() { compare -metric AE "$1" "$2" null: 2>&1 | sed 's/[^0-9].*//'; }

LAYOUTS="palette 16-bit pixels, segmented LUT|pydicom-data/gdcm-US-ALOKA-16.dcm|jpeg
palette 8-bit, explicit VR|pydicom/examples_palette.dcm|jpeg
palette 8-bit, implicit VR|orthanc-tests/Implicit-vr-us-palette.dcm|jpeg
palette 8-bit, RLE, 2 frames|pydicom-data/OBXXXX1A_rle_2frame.dcm|jpeg
palette 8-bit pixels, 16-bit LUT entries|fo-dicom/TestPattern_Palette_16.dcm|jpeg
1-bit segmentation, 3 frames|dcmqi/segmentations/liver.dcm|binary
YBR_FULL_422 native 8-bit|pydicom/SC_ybr_full_422_uncompressed.dcm|small
RGB 32-bit native, 2 frames|pydicom-data/SC_rgb_32bit_2frame.dcm|small
RGB 32-bit RLE|pydicom/SC_rgb_rle_32bit.dcm|small
RGB 16-bit RLE, 2 frames|pydicom/SC_rgb_rle_16bit_2frame.dcm|small
MONOCHROME2 32-bit native, 15 frames|pydicom/rtdose.dcm|small
MONOCHROME2 32-bit RLE, 15 frames|pydicom/rtdose_rle.dcm|small
float pixel data|pydicom-data/parametric_map_float.dcm|float"

k=0
while IFS='|' read -r name file mode; do
  k=$((k + 1))
  IN=$TESTDATA/$file
  if [ ! -f "$IN" ]; then
    skip "$name" "$file is not in the corpus"
    continue
  fi
  sop=$(uid_of "$IN" 0008,0018)
  study=$(uid_of "$IN" 0020,000d)
  # files of one layout family share their UIDs: each replaces the one before
  as tech import --replace "$IN" >/dev/null 2>&1
  check "$name ($file): imported" test $? -eq 0
  as tech export --study "$study" -o "ex$k" >"ex$k.err" 2>&1
  check "$name: the study exports marked (exit 0)" test $? -eq 0
  OUT=ex$k/$sop.dcm
  check "$name: the copy is a DICOM file dcmdump reads" bash -c "dcmdump -q '$OUT' >/dev/null 2>&1"
  if [ ! -f "$OUT" ]; then
    sed 's/^/# /' "ex$k.err"
    continue
  fi
  check "$name: and not the archival bytes" bash -c "! cmp -s '$IN' '$OUT'"
  case $file in
  *alette*|*OBXXXX1A*|*ALOKA*|*ybr*)
    check "$name: the copy says RGB, 3 samples, no palette" bash -c "dcmdump +P 0028,0004 '$OUT' |
      grep -q '\[RGB\]' && dcmdump +P 0028,0002 '$OUT' | grep -q ' 3 ' &&
      ! dcmdump '$OUT' | grep -qi 'Palette.*LookupTable'" ;;
  *liver*)
    check "$name: the copy says 8 bits, FRACTIONAL masks" bash -c "dcmdump +P 0028,0100 '$OUT' |
      grep -q ' 8 ' && dcmdump +P 0062,0001 '$OUT' | grep -q FRACTIONAL" ;;
  esac
  entry=$(mark_entry)
  case $mode in
  jpeg)
    render "$OUT" "r$k.png"
    convert "r$k.png" -quality 70 "r$k.jpg"
    leak=r$k.jpg
    as po trace "$leak" --vault "$V" >"t$k.out" 2>&1
    check "$name: the $mode render traces (exit 0)" test $? -eq 0
    check "$name: ... to the export's entry $entry" grep -q "^event $entry\$" "t$k.out"
    check "$name: ... the technologist's export" grep -q '^audit entry .*export.*tech' "t$k.out"
    ;;
  binary) # no texture: the mark sits on the masks' edges only; whether a render of it is read
    # depends on the payload (the entry number), so the test asserts the mark, and reports the trace
    render "$OUT" "r$k.png"
    as po trace "r$k.png" --vault "$V" >"t$k.out" 2>&1
    echo "# $name: the lossless render of it: $(head -n 1 "t$k.out")"
    "$DV_BIN" render "$IN" -o "o$k.png" >/dev/null 2>&1
    "$DV_BIN" render "$OUT" -o "m$k.png" >/dev/null 2>&1
    d=$(pae "o$k.png" "m$k.png")
    n=$(ae "o$k.png" "m$k.png")
    echo "# $name: $n pixels changed, by at most $d of the range"
    check "$name: the mark moved some pixels" test "${n:-0}" -gt 0
    check "$name: ... by at most 3 display levels" python3 -c "import sys; sys.exit(0 if float('${d:-1}') <= 3 / 255 + 1e-6 else 1)"
    ;;
  small) # our renderer: a min..max window (DCMTK shows a 32-bit dose image all black)
    "$DV_BIN" render "$IN" -o "o$k.png" >/dev/null 2>&1
    "$DV_BIN" render "$OUT" -o "m$k.png" >/dev/null 2>&1
    d=$(pae "o$k.png" "m$k.png")
    n=$(ae "o$k.png" "m$k.png")
    echo "# $name: $(identify -format '%wx%h' "m$k.png"), $n pixels changed, by at most $d of the range"
    check "$name: the mark moved some pixels" test "${n:-0}" -gt 0
    check "$name: ... by at most 3 display levels" python3 -c "import sys; sys.exit(0 if float('${d:-1}') <= 3 / 255 + 1e-6 else 1)"
    ;;
  float)
    python3 "$PYF" "$IN" "$OUT" >"f$k.out" 2>&1
    echo "# $name: $(cat "f$k.out")"
    check "$name: PSNR >= 48 dB, every change within 2 display levels, values changed" python3 -c '
import sys
w = dict(zip(*[iter(open(sys.argv[1]).read().split())] * 2))
sys.exit(0 if float(w["psnr"]) >= 48 and float(w["maxrel"]) <= 2 / 255 and int(w["changed"]) > 0 else 1)' "f$k.out"
    ;;
  esac
done <<<"$LAYOUTS"

# ---- pixel data that is no image leaves as it is ------------------------------------------------
for file in fo-dicom/GH1146.dcm pydicom/nested_priv_SQ.dcm; do
  IN=$TESTDATA/$file
  [ -f "$IN" ] || { skip "$file" "not in the corpus"; continue; }
  as tech import "$IN" >/dev/null 2>&1
  # the newest instance (nested_priv_SQ.dcm has no UIDs: the vault gave it some)
  sop=$(as tech find --level instance --json 2>/dev/null | python3 -c '
import json, sys
r = sorted(json.load(sys.stdin), key=lambda x: x["InstanceId"])
print(r[-1]["SOPInstanceUID"] if r else "")')
  rm -rf noimg
  as tech export --instance "$sop" -o noimg >/dev/null 2>&1
  check "$file (empty pixel data, or no Rows/Columns): exported as it is" \
    bash -c "cmp -s '$IN' noimg/*.dcm"
done
done_testing
