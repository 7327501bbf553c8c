#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_mark.sh - `dcmvault mark` and `dcmvault trace` end to end: a synthetic 2048 x 2048 CR
# radiograph is marked in its stored depth (only pixel values change: DCMTK's dcmdump sees the
# same dataset), rendered by DCMTK's dcm2pnm and by dcmvault, attacked with ImageMagick
# (JPEG 30/50/70, resize 50%/200%, crop to 25%, rotate +-5, Gaussian noise, gamma, level) and
# with a simulated phone photo of a screen (python3-pil: perspective, blur, moire, gamma,
# JPEG), and traced blind: the right event comes back.  A wrong key, an unmarked image and a
# corpus image (marked as a PNG) are checked too.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

# Debian's python3 (python3-pil, python3-numpy), not one earlier in PATH without them
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
for t in convert "$PY" dcmdump dcm2pnm; do
  if ! command -v "$t" >/dev/null; then
    skip "mark" "$t is not installed"
    done_testing
  fi
done
if ! "$PY" -c 'import PIL, numpy' 2>/dev/null; then
  skip "mark" "python3-pil / python3-numpy are not installed"
  done_testing
fi

EV=9876543210123
K=$TMP/mark.key
K2=$TMP/other.key
"$PY" -c 'import os; print(os.urandom(32).hex())' >"$K"
"$PY" -c 'import os; print(os.urandom(32).hex())' >"$K2"
chmod 600 "$K" "$K2"

# trace_is NAME FILE: ok when trace finds exactly event $EV
trace_is() {
  local out rc
  out=$("$DV" trace "$2" --key-file "$K" 2>&1)
  rc=$?
  if [ "$rc" -eq 0 ] && [ "$(head -n 1 <<<"$out")" = "event $EV" ]; then
    ok "$1"
  else
    fail "$1 (exit $rc: $(tr '\n' ' ' <<<"$out" | cut -c1-160))"
  fi
}
# trace_none NAME FILE [KEY]: ok when trace finds nothing (exit 1)
trace_none() {
  local rc
  "$DV" trace "$2" --key-file "${3:-$K}" >"$TMP/none.out" 2>&1
  rc=$?
  if [ "$rc" -eq 1 ] && grep -q '^no mark found' "$TMP/none.out"; then ok "$1"; else fail "$1 (exit $rc)"; fi
}

"$DV" demo --out "$TMP/demo" --size 2048 >/dev/null 2>&1
CR=$TMP/demo/cr_0001.dcm
if [ ! -f "$CR" ]; then
  fail "dcmvault demo did not write a radiograph"
  done_testing
fi

# ---- DICOM in stored depth -------------------------------------------------------------
check "mark a DICOM radiograph" "$DV" mark "$CR" "$TMP/m.dcm" --event "$EV" --key-file "$K"
check "same size" test "$(stat -c %s "$CR")" = "$(stat -c %s "$TMP/m.dcm")"
dcmdump -q "$CR" | grep -v '(7fe0,0010)' >"$TMP/a.dump"
dcmdump -q "$TMP/m.dcm" | grep -v '(7fe0,0010)' >"$TMP/b.dump"
check "dcmdump: same dataset apart from pixel data" cmp -s "$TMP/a.dump" "$TMP/b.dump"
first_diff=$(cmp -l "$CR" "$TMP/m.dcm" | head -n 1 | awk '{print $1}')
pix_at=$("$PY" -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d.rfind(b"\xe0\x7f\x10\x00") + 1)' "$CR")
check "only bytes after the Pixel Data tag differ" test "${first_diff:-0}" -gt "$pix_at"
check "marked copy differs" test -n "$first_diff"
trace_is "trace the marked DICOM file" "$TMP/m.dcm"
dcm2pnm +on "$TMP/m.dcm" "$TMP/dcmtk.png" 2>/dev/null
trace_is "trace DCMTK dcm2pnm's rendering (8-bit conversion)" "$TMP/dcmtk.png"
trace_none "unmarked original: nothing" "$CR"
trace_none "wrong key: nothing" "$TMP/m.dcm" "$K2"

# ---- attacks on the display ------------------------------------------------------------
"$DV" render "$TMP/m.dcm" -o "$TMP/m.png" >/dev/null
attack() {
  local name=$1 out=$2
  shift 2
  if convert "$TMP/m.png" "$@" "$TMP/$out" 2>/dev/null; then
    trace_is "$name" "$TMP/$out"
  else
    fail "$name (convert failed)"
  fi
}
attack "JPEG quality 90" q90.jpg -quality 90
attack "JPEG quality 70" q70.jpg -quality 70
attack "JPEG quality 50" q50.jpg -quality 50
attack "JPEG quality 30" q30.jpg -quality 30
attack "resize 50%" r50.png -resize 50%
attack "resize 200%" r200.png -resize 200%
attack "resize 75%" r75.png -resize 75%
attack "crop to 25% of the area" crop.png -crop 1024x1024+700+300 +repage
attack "rotate +5" rot5.png -rotate 5
attack "rotate -5" rotm5.png -rotate -5
attack "Gaussian noise sigma 5" noise.png -attenuate 5 +noise Gaussian
attack "gamma 0.6" gamma.png -gamma 0.6
attack "window/level 25%..75%" level.png -level 25%,75%
attack "negative (inverted polarity)" neg.png -negate
attack "chain: crop 25% + JPEG 50" c1.jpg -crop 1024x1024+500+500 +repage -quality 50
attack "chain: rotate 3 + JPEG 70" c2.jpg -rotate 3 -quality 70
attack "chain: resize 60% + level + JPEG 70" c3.jpg -resize 60% -level 10%,90% -quality 70
attack "chain: screenshot (resize 80%, window, pad, JPEG 90)" c4.jpg -resize 80% -level 5%,95% \
  -bordercolor gray20 -border 120x60 -quality 90

# simulated phone photo of a screen: perspective, blur, moire, gamma, JPEG
"$PY" - "$TMP/m.png" "$TMP/phone.jpg" <<'PY'
import sys
import numpy as np
from PIL import Image, ImageFilter
im = Image.open(sys.argv[1]).convert("L")
w, h = im.size
src = [(0, 0), (w, 0), (w, h), (0, h)]
dst = [(int(.04 * w), int(.03 * h)), (int(.95 * w), int(.01 * h)), (int(.97 * w), int(.98 * h)), (int(.02 * w), int(.95 * h))]
def coeffs(pa, pb):
    m = []
    for (x, y), (u, v) in zip(pa, pb):
        m.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        m.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(m, dtype=float)
    b = np.array(pb, dtype=float).reshape(8)
    return np.linalg.solve(a, b)
out = im.transform((w, h), Image.PERSPECTIVE, coeffs(dst, src), Image.BICUBIC, fillcolor=30)
out = out.resize((int(w * .8), int(h * .8)), Image.BILINEAR).filter(ImageFilter.GaussianBlur(0.8))
a = np.asarray(out, dtype=float) / 255.0
yy, xx = np.mgrid[0:a.shape[0], 0:a.shape[1]]
a = a + 0.012 * np.sin(2 * np.pi * (xx * 0.11 + yy * 0.023))  # moire of the screen grid
a = np.clip(a, 0, 1) ** 0.85  # camera gamma
a = a + np.random.default_rng(5).normal(0, 2.0 / 255, a.shape)  # sensor noise
Image.fromarray(np.uint8(np.clip(a * 255 + .5, 0, 255))).save(sys.argv[2], quality=85)
PY
trace_is "simulated phone photo of the screen" "$TMP/phone.jpg"

# ---- PNG and JPEG inputs (display domain) -------------------------------------------------
"$DV" render "$CR" -o "$TMP/r.png" >/dev/null
check "mark a PNG" "$DV" mark "$TMP/r.png" "$TMP/mr.png" --event "$EV" --key-file "$K"
trace_is "trace the marked PNG" "$TMP/mr.png"
"$DV" render "$CR" -o "$TMP/r.jpg" >/dev/null
check "mark a JPEG" "$DV" mark "$TMP/r.jpg" "$TMP/mr.jpg" --event "$EV" --key-file "$K"
trace_is "trace the marked JPEG" "$TMP/mr.jpg"
check "mark with a visible overlay" "$DV" mark "$TMP/r.png" "$TMP/ov.png" --event "$EV" \
  --key-file "$K" --overlay "viewer alice 2026-01-01 event $EV"
trace_is "trace through the visible overlay" "$TMP/ov.png"
trace_none "unmarked render: nothing" "$TMP/r.png"
out=$("$DV" trace "$TMP/mr.png" --key-file "$K" --json)
check "--json names the event" grep -q "\"event\":$EV" <<<"$out"

# ---- usage and I/O exit codes --------------------------------------------------------------
"$DV" trace "$TMP/mr.png" >/dev/null 2>&1
check "trace without --key-file: exit 2" test $? -eq 2
"$DV" trace "$TMP/absent.png" --key-file "$K" >/dev/null 2>&1
check "trace of a missing file: exit 3" test $? -eq 3
head -c 100 "$TMP/mr.png" >"$TMP/trunc.png"
"$DV" trace "$TMP/trunc.png" --key-file "$K" >/dev/null 2>&1
check "trace of a truncated PNG: exit 3" test $? -eq 3
"$DV" mark "$TMP/r.png" "$TMP/x.png" --key-file "$K" >/dev/null 2>&1
check "mark without --event: exit 2" test $? -eq 2

# ---- a corpus radiograph (skipped without the corpus) --------------------------------------
if [ -n "$TESTDATA" ] && [ -f "$TESTDATA/fo-dicom/CR-ModalitySequenceLUT.dcm" ]; then
  "$DV" render "$TESTDATA/fo-dicom/CR-ModalitySequenceLUT.dcm" -o "$TMP/corpus.png" >/dev/null
  "$DV" mark "$TMP/corpus.png" "$TMP/corpus_m.png" --event "$EV" --key-file "$K" >/dev/null
  trace_is "corpus CR (fo-dicom CR-ModalitySequenceLUT) marked as PNG" "$TMP/corpus_m.png"
  convert "$TMP/corpus_m.png" -quality 70 "$TMP/corpus_q70.jpg"
  trace_is "corpus CR, JPEG 70" "$TMP/corpus_q70.jpg"
  trace_none "corpus CR unmarked: nothing" "$TMP/corpus.png"
else
  skip "corpus radiograph" "../shared/testdata/dicom is absent"
fi
done_testing
