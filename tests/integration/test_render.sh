#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_render.sh - `dcmvault render` against DCMTK's dcm2pnm/dcmj2pnm (the real peer): the same
# frame with the same VOI settings must give the same 8-bit image, pixel by pixel, within one
# grey level.  Why 1: DCMTK truncates the windowed value to an integer (and MONOCHROME1 is
# inverted after that), dcmvault rounds to nearest, so the two may differ by exactly one level
# wherever the exact value has a fraction; any real pipeline error (rescale, sign, bits stored,
# LUT, window formula, inversion) shows up as tens of levels.
# Also: the PNG passes pngcheck and has no ancillary chunks, the JPEG decodes with djpeg, bad
# command lines exit 2, a file without pixel data exits 1 cleanly and leaves nothing behind.
source "$(dirname "$0")/lib.sh"

if [ ! -x "$DV" ]; then
  fail "dcmvault binary $DV is missing (make build/asan/dcmvault)"
  done_testing
fi

# ---- command line -------------------------------------------------------------------------
out=$("$DV" render --help)
check "render --help exits 0" [ $? -eq 0 ]
case $out in *"1-based"*) ok "--help documents 1-based frame numbers" ;;
  *) fail "--help documents 1-based frame numbers" ;; esac

usage_case() {
  local name=$1; shift
  "$DV" render "$@" >/dev/null 2>"$TMP/usage.err"
  local rc=$?
  if [ $rc -eq 2 ] && [ -s "$TMP/usage.err" ]; then ok "usage error exits 2: $name"
  else fail "usage error exits 2: $name (got $rc)"; fi
}
usage_case "no output" in.dcm
usage_case "unknown extension" in.dcm -o "$TMP/x.gif"
usage_case "window without width" in.dcm -o "$TMP/x.png" --window 40
usage_case "frame 0" in.dcm -o "$TMP/x.png" --frame 0
usage_case "quality 101" in.dcm -o "$TMP/x.jpg" --quality 101
usage_case "unknown option" in.dcm -o "$TMP/x.png" --bogus
usage_case "two inputs" a.dcm b.dcm -o "$TMP/x.png"

"$DV" render "$TMP/does-not-exist.dcm" -o "$TMP/x.png" 2>/dev/null
check "missing input exits 3" [ $? -eq 3 ]

need_testdata "render against DCMTK"
if ! command -v dcm2pnm >/dev/null || ! command -v dcmj2pnm >/dev/null; then
  skip "render against DCMTK" "dcm2pnm/dcmj2pnm not installed (scripts/deps.sh)"
  done_testing
fi

# ---- image comparison helper: decodes our PNG (zlib, all five filters, CRCs checked) and
# DCMTK's binary PGM/PPM, prints the largest and mean difference, fails above the limits.
cat >"$TMP/imgcmp.py" <<'EOF'
import struct, sys, zlib

def read_png(path):
    d = open(path, 'rb').read()
    if d[:8] != b'\x89PNG\r\n\x1a\n':
        sys.exit('not a PNG: ' + path)
    pos, idat, ihdr = 8, b'', None
    while pos + 12 <= len(d):
        n = struct.unpack('>I', d[pos:pos + 4])[0]
        t, body = d[pos + 4:pos + 8], d[pos + 8:pos + 8 + n]
        if zlib.crc32(t + body) != struct.unpack('>I', d[pos + 8 + n:pos + 12 + n])[0]:
            sys.exit('bad CRC in ' + path)
        if t == b'IHDR':
            ihdr = struct.unpack('>IIBBBBB', body)
        elif t == b'IDAT':
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, inter = ihdr
    if depth != 8 or inter != 0 or ctype not in (0, 2):
        sys.exit('unexpected PNG format')
    ch = 1 if ctype == 0 else 3
    raw, stride = zlib.decompress(idat), w * ch
    out, prev = bytearray(), bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            b = prev[i]
            c = prev[i - ch] if i >= ch else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        out += line
        prev = line
    return w, h, ch, bytes(out)

def read_pnm(path):
    d = open(path, 'rb').read()
    toks, pos = [], 0
    while len(toks) < 4:
        while d[pos:pos + 1].isspace():
            pos += 1
        if d[pos:pos + 1] == b'#':
            while d[pos:pos + 1] not in (b'\n', b''):
                pos += 1
            continue
        start = pos
        while pos < len(d) and not d[pos:pos + 1].isspace():
            pos += 1
        toks.append(d[start:pos])
    magic, w, h, maxv = toks[0], int(toks[1]), int(toks[2]), int(toks[3])
    if magic not in (b'P5', b'P6') or maxv != 255:
        sys.exit('unexpected PNM format')
    ch = 1 if magic == b'P5' else 3
    return w, h, ch, d[pos + 1:pos + 1 + w * h * ch]

def load(path):
    with open(path, 'rb') as f:
        png = f.read(4) == b'\x89PNG'
    return read_png(path) if png else read_pnm(path)

a, b = load(sys.argv[1]), load(sys.argv[2])
if a[:3] != b[:3]:
    sys.exit('geometry differs: %r vs %r' % (a[:3], b[:3]))
diffs = [abs(x - y) for x, y in zip(a[3], b[3])]
mx, mean = max(diffs), sum(diffs) / len(diffs)
print('%dx%dx%d max diff %d mean %.3f' % (a[0], a[1], a[2], mx, mean))
ok = mx <= int(sys.argv[3]) and (len(sys.argv) < 5 or mean <= float(sys.argv[4]))
sys.exit(0 if ok else 1)
EOF

# compare NAME FILE "OUR OPTIONS" "DCMTK OPTIONS" [MAXDIFF]: renders FILE both ways and compares
compare() {
  local name=$1 file=$TESTDATA/$2 ours=$3 theirs=$4 tol=${5:-1} res
  rm -f "$TMP/ours.png" "$TMP/dcmtk.pnm"
  # shellcheck disable=SC2086
  if ! "$DV" render "$file" $ours -o "$TMP/ours.png" 2>"$TMP/render.err"; then
    fail "$name: dcmvault render failed: $(head -c 300 "$TMP/render.err")"
    return
  fi
  # shellcheck disable=SC2086
  if ! dcmj2pnm -q $theirs "$file" "$TMP/dcmtk.pnm"; then
    fail "$name: dcmj2pnm failed"
    return
  fi
  if res=$(python3 "$TMP/imgcmp.py" "$TMP/ours.png" "$TMP/dcmtk.pnm" "$tol" 2>&1); then
    ok "$name: matches DCMTK within $tol ($res)"
  else
    fail "$name: differs from DCMTK ($res)"
  fi
}

# ---- the same explicit window: dcmvault --window C,W vs DCMTK +Ww C W -----------------------
while IFS='|' read -r file c w what; do
  [ -n "$file" ] || continue
  compare "window $c,$w $what" "$file" "--window $c,$w" "+Ww $c $w"
done <<'EOF'
pydicom/CT_small.dcm|40|400|CT 16-bit signed, rescale -1024
pydicom/MR_small.dcm|600|1600|MR 16-bit signed, no rescale
fo-dicom/CR-MONO1-10-chest|550|1024|MONOCHROME1 10-bit, bare dataset
orthanc-tests/SignedCT.dcm|-600|1600|CT signed, lung window
pydicom/dicomdirtests/77654033/CR1/6154|1600|2800|MONOCHROME1 12-bit, slope 0.684
orthanc-tests/KarstenHilbertRF.dcm|128|256|RF 8-bit with Modality LUT Sequence
pydicom-data/mlut_18.dcm|30000|60000|12-bit signed, Modality LUT Sequence
fo-dicom/CT-MONO2-16-ankle|1024|4095|CT 16-bit, implicit VR
orthanc-tests/2020-11-16-SalimKanounAnonymization.dcm|7236|14471|PET, fractional slope
orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.dcm|1048|1892|MR 12-bit, implicit, no meta
pydicom/JPEG-lossy.dcm|2000|4000|12-bit JPEG extended
orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.4.70.dcm|40|400|CT JPEG lossless SV1
pydicom/MR_small_RLE.dcm|600|1600|MR RLE
EOF

# ---- VOI from the file: its first window (+Wi 1), its VOI LUT (+Wl 1), min/max (+Wm) -----------
compare "file window, MR" pydicom/MR_small.dcm "" "+Wi 1"
compare "file window, MONOCHROME1 CR" fo-dicom/CR-MONO1-10-chest "" "+Wi 1"
compare "file window, signed CT" orthanc-tests/SignedCT.dcm "" "+Wi 1"
compare "file VOI LUT Sequence" pydicom-data/vlut_04.dcm "" "+Wl 1"
compare "min/max without a window in the file" pydicom/CT_small.dcm "" "+Wm"
compare "sigmoid VOI function" pydicom/MR_small.dcm "--window 600,1600 --voi-function sigmoid" \
  "+Ww 600 1600 +Wfs"

# ---- frames: 1-based like dcm2pnm +F ---------------------------------------------------------
compare "frame 3 of 10" pydicom-data/emri_small.dcm "--frame 3 --window 500,1000" \
  "+F 3 +Ww 500 1000"
"$DV" render "$TESTDATA/pydicom-data/emri_small.dcm" --frame 1 --window 500,1000 \
  -o "$TMP/f1.png" 2>/dev/null
"$DV" render "$TESTDATA/pydicom-data/emri_small.dcm" --frame 3 --window 500,1000 \
  -o "$TMP/f3.png" 2>/dev/null
check "frames 1 and 3 both render" test -s "$TMP/f1.png" -a -s "$TMP/f3.png"
check "frame 1 and frame 3 are different images" bash -c "! cmp -s '$TMP/f1.png' '$TMP/f3.png'"
"$DV" render "$TESTDATA/pydicom-data/emri_small.dcm" --frame 11 -o "$TMP/f11.png" 2>/dev/null
check "frame past the last one exits 2" [ $? -eq 2 ]

# ---- colour --------------------------------------------------------------------------------
compare "PALETTE COLOR 8-bit" pydicom/examples_palette.dcm "" ""
compare "PALETTE COLOR 16-bit entries" fo-dicom/TestPattern_Palette_16.dcm "" ""
compare "RGB RLE" pydicom/SC_rgb_rle.dcm "" ""
compare "RGB 16-bit scaled to 8" pydicom/SC_rgb_rle_16bit_2frame.dcm "" ""
compare "YBR_FULL_422 JPEG baseline" pydicom/SC_rgb_jpeg_dcmtk.dcm "" ""

# ---- the outputs themselves ------------------------------------------------------------------
ct=$TESTDATA/pydicom/CT_small.dcm
mkdir -p "$TMP/out"
"$DV" render "$ct" --window 40,400 -o "$TMP/out/ct.png"
check "render to PNG exits 0" [ $? -eq 0 ]
if command -v pngcheck >/dev/null; then
  check "pngcheck accepts the PNG" pngcheck -q "$TMP/out/ct.png"
  chunks=$(pngcheck -v "$TMP/out/ct.png" | sed -n 's/^ *chunk \([A-Za-z]*\) .*/\1/p' | sort -u | tr '\n' ' ')
  check "PNG has only IHDR/IDAT/IEND chunks (got: $chunks)" [ "$chunks" = "IDAT IEND IHDR " ]
else
  skip "pngcheck accepts the PNG" "pngcheck not installed (scripts/deps.sh)"
fi
check "output is private (mode 600)" [ "$(stat -c %a "$TMP/out/ct.png")" = 600 ]
check "no temporary file left behind" [ "$(ls "$TMP/out")" = ct.png ]

"$DV" render "$ct" --window 40,400 --quality 90 -o "$TMP/out/ct.jpg"
check "render to JPEG exits 0" [ $? -eq 0 ]
if command -v djpeg >/dev/null; then
  if djpeg -pnm "$TMP/out/ct.jpg" >"$TMP/ct_jpeg.pgm" 2>/dev/null &&
    dcm2pnm -q +Ww 40 400 "$ct" "$TMP/ct_ref.pgm" &&
    res=$(python3 "$TMP/imgcmp.py" "$TMP/ct_jpeg.pgm" "$TMP/ct_ref.pgm" 64 3.0); then
    ok "JPEG decodes with djpeg and is close to DCMTK's rendering ($res)"
  else
    fail "JPEG decodes with djpeg and is close to DCMTK's rendering (${res:-decode failed})"
  fi
else
  skip "JPEG decodes with djpeg" "djpeg not installed (scripts/deps.sh)"
fi

# ---- errors ---------------------------------------------------------------------------------
"$DV" render "$TESTDATA/pydicom/rtplan.dcm" -o "$TMP/out/plan.png" 2>"$TMP/plan.err"
rc=$?
check "file without pixel data exits 1" [ $rc -eq 1 ]
check "file without pixel data says so" grep -qi "pixel data" "$TMP/plan.err"
check "file without pixel data writes nothing" [ "$(ls "$TMP/out")" = "ct.jpg
ct.png" ]
"$DV" render "$ct" -o "$TMP/no/such/folder/x.png" 2>/dev/null
check "unwritable output exits 3" [ $? -eq 3 ]

done_testing
