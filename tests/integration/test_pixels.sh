#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_pixels.sh - `dcmvault pixels` against independent decoders, one TAP line per corpus file:
#  - compressed files: DCMTK decompresses to a native file (dcmdjpeg / dcmdrle / dcmdjpls), then
#    the decoded bytes of both files must be equal (lossy JPEG: max |difference| <= 1, said so);
#  - JPEG 2000 / HTJ2K: DCMTK has no decoder, so the codestream fragments extracted by
#    `dcmdump +W` are decoded by OpenJPEG's opj_decompress (RAWL output, planes interleaved
#    here) and compared with our bytes;
#  - native files: dcmconv +te (DCMTK) re-encodes in explicit little endian (swapping big endian,
#    inflating deflate), dcmdump +W extracts the PixelData bytes, and a few lines of Python
#    apply only the layout rules of pixel.h (planes -> by pixel, 1-bit unpacking, frame length)
#    using the pixel description printed by dcmdump.
# The CLI itself (--info, --frame, --help, errors, exit codes) is checked at the end.
source "$(dirname "$0")/lib.sh"

need_testdata "pixels corpus"
if [ ! -x "$DV" ]; then
  fail "ASan binary $DV is missing (make build/asan/dcmvault)"
  done_testing
fi
for t in dcmdump dcmconv dcmdjpeg dcmdrle dcmdjpls opj_decompress python3; do
  command -v "$t" >/dev/null || { skip "pixels corpus" "$t is not installed"; done_testing; }
done

REF=$TMP/pxref.py
cat >"$REF" <<'PY'
import os, re, subprocess, sys

def attrs(dump):
    """Pixel description from dcmdump text (top-level Image Pixel module only)."""
    want = {'0028,0002': 'samples', '0028,0004': 'photometric', '0028,0006': 'planar',
            '0028,0008': 'frames', '0028,0010': 'rows', '0028,0011': 'cols',
            '0028,0100': 'ba'}
    a = {'samples': 1, 'planar': 0, 'frames': 1, 'photometric': ''}
    for line in dump.splitlines():
        m = re.match(r'^\((0028,0\w{3})\) (\w\w) (.*?)\s+#', line)
        if not m or m.group(1) not in want:
            continue
        v = m.group(3).strip()
        v = v[1:-1] if v.startswith('[') else v
        k = want[m.group(1)]
        a[k] = v.strip() if k == 'photometric' else int(v.split('\\')[0])
    return a

def by_pixel(raw, a, bps):
    """Planar frames -> colour by pixel (PlanarConfiguration 1), frame by frame."""
    n = a['rows'] * a['cols']; s = a['samples']; fs = n * s * bps
    if s == 1 or a['planar'] == 0:
        return raw
    out = bytearray(len(raw))
    for f in range(len(raw) // fs):
        src = raw[f * fs:(f + 1) * fs]
        for c in range(s):
            for b in range(bps):
                out[f * fs + c * bps + b:(f + 1) * fs:s * bps] = src[c * n * bps + b:(c + 1) * n * bps:bps]
    return bytes(out)

def native(dump_file, raw_file, out):
    a = attrs(open(dump_file, encoding='latin-1').read())
    raw = open(raw_file, 'rb').read()
    if 'rows' not in a or 'cols' not in a or 'ba' not in a:
        print('Rows, Columns or BitsAllocated missing'); sys.exit(2)
    total = a['rows'] * a['cols'] * a['samples'] * a['frames']
    need = (total + 7) // 8 if a['ba'] == 1 else total * a['ba'] // 8
    if a['photometric'] in ('YBR_FULL_422', 'YBR_PARTIAL_422') and a['ba'] == 8:
        need = need * 2 // 3
    if len(raw) < need:
        print('PixelData holds %d bytes, the description needs %d' % (len(raw), need)); sys.exit(2)
    if a['ba'] == 1:
        bits = ''.join(format(x, '08b')[::-1] for x in raw[:(total + 7) // 8])
        data = bytes(int(c) for c in bits[:total])
    else:
        bps = a['ba'] // 8
        if a['photometric'] in ('YBR_FULL_422', 'YBR_PARTIAL_422') and bps == 1:
            # PS3.3 C.7.6.3.1.2: stored Y0 Y1 Cb Cr, chroma shared by the pixel pair
            q = raw[:total * 2 // 3]
            data = b''.join(bytes((q[i], q[i + 2], q[i + 3], q[i + 1], q[i + 2], q[i + 3]))
                            for i in range(0, len(q), 4))
        else:
            data = by_pixel(raw[:total * bps], a, bps)
    open(out, 'wb').write(data)

def j2k(dump_file, frag_dir, base, outdir, out):
    """Frames from fragments (1 per frame, or all for one frame), decoded by opj_decompress."""
    a = attrs(open(dump_file, encoding='latin-1').read())
    frags = sorted((int(m.group(1)), os.path.join(frag_dir, fn)) for fn in os.listdir(frag_dir)
                   for m in [re.match(re.escape(base) + r'\.(\d+)\.raw$', fn)] if m)
    data = [open(p, 'rb').read() for i, p in frags if i > 0]
    if len(data) == a['frames']:
        frames = data
    elif a['frames'] == 1:
        frames = [b''.join(data)]
    else:
        sys.exit('%d fragments for %d frames' % (len(data), a['frames']))
    bps = a['ba'] // 8
    res = b''
    for i, cs in enumerate(frames):
        ext = '.jp2' if cs[4:8] == b'jP  ' else '.j2k'
        src = os.path.join(outdir, 'f%d%s' % (i, ext)); dst = os.path.join(outdir, 'f%d.rawl' % i)
        open(src, 'wb').write(cs)
        r = subprocess.run(['opj_decompress', '-i', src, '-o', dst], capture_output=True)
        if r.returncode != 0 or not os.path.exists(dst):
            sys.exit('opj_decompress failed on frame %d' % i)
        pl = open(dst, 'rb').read()
        n = a['rows'] * a['cols'] * a['samples']
        if len(pl) != n * bps:
            sys.exit('opj_decompress wrote %d bytes, want %d' % (len(pl), n * bps))
        res += by_pixel(pl, dict(a, planar=1), bps)
    open(out, 'wb').write(res)

def maxdiff(fa, fb, bps):
    a = open(fa, 'rb').read(); b = open(fb, 'rb').read()
    if len(a) != len(b):
        print('size'); return
    if bps == 1:
        print(max((abs(x - y) for x, y in zip(a, b)), default=0)); return
    m = 0
    for i in range(0, len(a), 2):
        m = max(m, abs((a[i] | a[i + 1] << 8) - (b[i] | b[i + 1] << 8)))
    print(m)

def crop(src, n, m, frames, out):
    a = open(src, 'rb').read()
    open(out, 'wb').write(b''.join(a[f * n * n + y * n:f * n * n + y * n + m]
                                   for f in range(frames) for y in range(m)))

cmd = sys.argv[1]
if cmd == 'native':
    native(*sys.argv[2:5])
elif cmd == 'j2k':
    j2k(*sys.argv[2:7])
elif cmd == 'crop':
    crop(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
elif cmd == 'maxdiff':
    maxdiff(sys.argv[2], sys.argv[3], int(sys.argv[4]))
PY

ts_of() { dcmdump -q -M -Un +P 0002,0010 "$1" 2>/dev/null | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -1; }
has_pixels() { dcmdump -q -M +P 7fe0,0010 "$1" 2>/dev/null | grep -q '^(7fe0,0010)'; }
bytes_per_sample() { "$DV" pixels "$1" --info | sed -n 's/^bits_allocated: //p' | awk '{print ($1 > 8) ? 2 : 1}'; }

# compare_dcmtk REL FILE TOOL LOSSY: DCMTK tool decompresses, both decoded by dcmvault
compare_dcmtk() {
  local rel=$1 f=$2 tool=$3 lossy=$4 n=$TMP/native.dcm why md
  rm -f "$n" "$TMP/a.raw" "$TMP/b.raw"
  if ! why=$("$tool" "$f" "$n" 2>&1); then
    skip "$rel" "$tool refuses it: $(echo "$why" | grep -m1 -E '^[EF]:' | cut -c1-100)"
    return
  fi
  if ! "$DV" pixels "$f" -o "$TMP/a.raw" 2>"$TMP/err"; then
    fail "$rel: dcmvault pixels failed: $(head -c 300 "$TMP/err")"
    return
  fi
  if ! "$DV" pixels "$n" -o "$TMP/b.raw" 2>"$TMP/err"; then
    fail "$rel: dcmvault pixels failed on the $tool output: $(head -c 300 "$TMP/err")"
    return
  fi
  if cmp -s "$TMP/a.raw" "$TMP/b.raw"; then
    ok "$rel: identical to $tool ($(stat -c %s "$TMP/a.raw") bytes)"
  elif [ "$lossy" = 1 ]; then
    md=$(python3 "$REF" maxdiff "$TMP/a.raw" "$TMP/b.raw" "$(bytes_per_sample "$f")")
    if [ "$md" = 0 ] || [ "$md" = 1 ]; then
      ok "$rel: lossy JPEG within 1 of $tool (max |difference| $md, IJG vs libjpeg-turbo)"
    else
      fail "$rel: differs from $tool (max |difference| $md)"
    fi
  else
    fail "$rel: differs from $tool ($(cmp "$TMP/a.raw" "$TMP/b.raw" | head -1))"
  fi
}

compare_j2k() {
  local rel=$1 f=$2 d=$TMP/frags why
  rm -rf "$d" && mkdir -p "$d"
  dcmdump -q +W "$d" "$f" >"$TMP/dump.txt" 2>/dev/null
  if ! why=$(python3 "$REF" j2k "$TMP/dump.txt" "$d" "$(basename "$f")" "$d" "$TMP/b.raw" 2>&1); then
    skip "$rel" "no OpenJPEG reference: $(echo "$why" | tail -1 | cut -c1-100)"
    return
  fi
  if ! "$DV" pixels "$f" -o "$TMP/a.raw" 2>"$TMP/err"; then
    fail "$rel: dcmvault pixels failed: $(head -c 300 "$TMP/err")"
  elif cmp -s "$TMP/a.raw" "$TMP/b.raw"; then
    ok "$rel: identical to opj_decompress ($(stat -c %s "$TMP/a.raw") bytes)"
  else
    fail "$rel: differs from opj_decompress ($(cmp "$TMP/a.raw" "$TMP/b.raw" | head -1))"
  fi
}

# native_ref FILE OUT: DCMTK's PixelData of FILE laid out as pixel.h says.  Prints the reason
# and returns 1 (no reference) or 2 (the pixel data cannot be decoded).
native_ref() {
  local f=$1 out=$2 d=$TMP/nat why raw
  rm -rf "$d" && mkdir -p "$d"
  if ! why=$(dcmconv +te "$f" "$d/te.dcm" 2>&1); then
    echo "dcmconv refuses it: $(echo "$why" | grep -m1 -E '^[EF]:' | cut -c1-100)"
    return 1
  fi
  dcmdump -q +W "$d" "$d/te.dcm" >"$d/dump.txt" 2>/dev/null
  raw=$(sed -n 's/^(7fe0,0010) .. =\([^ ]*\).*/\1/p' "$d/dump.txt" | head -1)
  if [ -z "$raw" ] || [ ! -f "$raw" ]; then
    echo "dcmdump +W wrote no pixel data file"
    return 1
  fi
  why=$(python3 "$REF" native "$d/dump.txt" "$raw" "$out" 2>&1)
  case $? in
  0) return 0 ;;
  2) echo "$why"; return 2 ;;
  *) echo "no reference: $(echo "$why" | tail -1)"; return 1 ;;
  esac
}

# Deflated Image Frame Compression: DCMTK 3.6.7 has no decoder; pydicom-data's liver files are
# dcmqi's native liver.dcm segmentation deflated (the 510x510 one cropped from its top-left).
compare_deflate() {
  local rel=$1 f=$2 src=$TESTDATA/dcmqi/segmentations/liver.dcm why
  case $rel in
  */liver_deflate.dcm | */liver_nonbyte_aligned_deflate.dcm) ;;
  *) skip "$rel" "deflated frames without a native twin in the corpus"; return ;;
  esac
  if [ ! -f "$src" ] || ! why=$(native_ref "$src" "$TMP/b.raw"); then
    skip "$rel" "no native reference: ${why:-liver.dcm absent}"
    return
  fi
  if ! "$DV" pixels "$f" -o "$TMP/a.raw" 2>"$TMP/err"; then
    fail "$rel: dcmvault pixels failed: $(head -c 300 "$TMP/err")"
    return
  fi
  case $rel in */liver_nonbyte_aligned_deflate.dcm)
    python3 "$REF" crop "$TMP/b.raw" 512 510 3 "$TMP/c.raw" && mv "$TMP/c.raw" "$TMP/b.raw" ;;
  esac
  if cmp -s "$TMP/a.raw" "$TMP/b.raw"; then
    ok "$rel: deflated frames equal DCMTK's native liver.dcm pixels"
  else
    fail "$rel: deflated frames differ from liver.dcm ($(cmp "$TMP/a.raw" "$TMP/b.raw" 2>&1 | head -1))"
  fi
}

compare_native() {
  local rel=$1 f=$2 why
  why=$(native_ref "$f" "$TMP/b.raw")
  case $? in
  0) ;;
  2)
    if "$DV" pixels "$f" -o "$TMP/a.raw" 2>"$TMP/err"; then
      fail "$rel: dcmvault decoded pixel data that cannot be right ($why)"
    else
      ok "$rel: refused, as it must be: $why"
    fi
    return ;;
  *)
    skip "$rel" "$why"
    return ;;
  esac
  if ! "$DV" pixels "$f" -o "$TMP/a.raw" 2>"$TMP/err"; then
    fail "$rel: dcmvault pixels failed: $(head -c 300 "$TMP/err")"
  elif cmp -s "$TMP/a.raw" "$TMP/b.raw"; then
    ok "$rel: native, identical to DCMTK's PixelData ($(stat -c %s "$TMP/a.raw") bytes)"
  else
    fail "$rel: native, differs from DCMTK's PixelData ($(cmp "$TMP/a.raw" "$TMP/b.raw" 2>&1 | head -1))"
  fi
}

while IFS= read -r rel; do
  f=$TESTDATA/$rel
  has_pixels "$f" || continue
  ts=$(ts_of "$f")
  case $ts in
  1.2.840.10008.1.2.4.50 | 1.2.840.10008.1.2.4.51) compare_dcmtk "$rel" "$f" dcmdjpeg 1 ;;
  1.2.840.10008.1.2.4.57 | 1.2.840.10008.1.2.4.70) compare_dcmtk "$rel" "$f" dcmdjpeg 0 ;;
  1.2.840.10008.1.2.5) compare_dcmtk "$rel" "$f" dcmdrle 0 ;;
  1.2.840.10008.1.2.4.80 | 1.2.840.10008.1.2.4.81) compare_dcmtk "$rel" "$f" dcmdjpls 0 ;;
  1.2.840.10008.1.2.4.9[01] | 1.2.840.10008.1.2.4.20[123]) compare_j2k "$rel" "$f" ;;
  1.2.840.10008.1.2 | 1.2.840.10008.1.2.1 | 1.2.840.10008.1.2.2 | 1.2.840.10008.1.2.1.99 | "")
    compare_native "$rel" "$f" ;;
  1.2.840.10008.1.2.8.1) compare_deflate "$rel" "$f" ;;
  *) skip "$rel" "transfer syntax $ts has no reference decoder here" ;;
  esac
done < <(corpus_files)

# ---- malformed inputs: refused or decoded, never a crash or a sanitizer report --------------
while IFS= read -r f; do
  rel=${f#"$TESTDATA"/}
  "$DV" pixels "$f" -o "$TMP/m.raw" >/dev/null 2>"$TMP/err"
  rc=$?
  if grep -qE 'Sanitizer|runtime error' "$TMP/err"; then
    fail "$rel: sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error' "$TMP/err")"
  elif [ "$rc" -le 1 ]; then
    ok "$rel: malformed, exit $rc$([ "$rc" = 1 ] && echo ": $(head -1 "$TMP/err" | sed 's/.*: //' | cut -c1-80)")"
  else
    fail "$rel: malformed, exit $rc ($(head -1 "$TMP/err"))"
  fi
  rm -f "$TMP/m.raw"
done < <(find "$TESTDATA/malformed" -type f | sort)

# ---- the command line ---------------------------------------------------------------------
MF=$TESTDATA/pydicom-data/emri_small_RLE.dcm
if [ -f "$MF" ]; then
  "$DV" pixels "$MF" --info >"$TMP/info" 2>&1
  check "--info prints the pixel description" grep -qx 'frames: 10' "$TMP/info"
  check "--info names rows/columns/samples/photometric" \
    grep -q '^rows: .*' "$TMP/info"
  "$DV" pixels "$MF" -o "$TMP/all.raw" && "$DV" pixels "$MF" --frame 4 -o "$TMP/f3.raw"
  fsz=$(stat -c %s "$TMP/f3.raw")
  check "--frame 4 is the 4th slice of the all-frames output" \
    cmp -s "$TMP/f3.raw" <(tail -c +$((3 * fsz + 1)) "$TMP/all.raw" | head -c "$fsz")
  check "all frames are 10 frames long" test "$(stat -c %s "$TMP/all.raw")" -eq $((10 * fsz))
  "$DV" pixels "$MF" --frame 11 -o "$TMP/x.raw" 2>"$TMP/err"
  rc=$?
  check "--frame past the last frame: exit 2 and a message" \
    test "$rc" -eq 2 -a -s "$TMP/err" -a ! -e "$TMP/x.raw"
  "$DV" pixels "$MF" --frame 1 -o - >"$TMP/stdout.raw"
  check "-o - writes the frame to stdout" cmp -s "$TMP/stdout.raw" <(head -c "$fsz" "$TMP/all.raw")
fi
"$DV" pixels --help >"$TMP/help"
check "--help exits 0 and prints usage" grep -q '^usage: dcmvault pixels' "$TMP/help"
"$DV" pixels 2>/dev/null
check "no argument: exit 2" test $? -eq 2
"$DV" pixels "$TMP/does-not-exist.dcm" -o "$TMP/x.raw" 2>"$TMP/err"
check "missing input: exit 3 with a message" test $? -eq 3 -a -s "$TMP/err"
printf 'not a dicom file at all, just text long enough to be parsed\n' >"$TMP/bad.dcm"
"$DV" pixels "$TMP/bad.dcm" -o "$TMP/x.raw" 2>"$TMP/err"
check "garbage input: exit 1 with a message" test $? -eq 1 -a -s "$TMP/err"
SR=$TESTDATA/pydicom/rtstruct.dcm
if [ -f "$SR" ]; then
  "$DV" pixels "$SR" --info >/dev/null 2>"$TMP/err"
  check "file without pixel data: exit 1, 'not found'" test $? -eq 1
  check "file without pixel data: the message says so" grep -q 'not found' "$TMP/err"
fi
TR=$TESTDATA/malformed/pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm
if [ -f "$TR" ]; then
  "$DV" pixels "$TR" -o "$TMP/x.raw" 2>"$TMP/err"
  rc=$?
  check "truncated J2K file: exit 1, no output left behind" test "$rc" -eq 1 -a ! -e "$TMP/x.raw"
fi

done_testing
