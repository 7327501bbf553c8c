#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_demo.sh - `dcmvault demo`: the report and exit status, the generated study checked by
# real peers (DCMTK dcmdump reads every file; dicom3tools dciodvfy, a real IOD validator,
# reports no Error for the CR, DX and CT objects; pngcheck and a PNG header check for the
# renders), permissions (folder 0700, files 0600), determinism of the bytes from the seed,
# clean-up of the default /tmp folder, usage errors, and a failing step naming itself.
source "$(dirname "$0")/lib.sh"

if [ ! -x "$DV" ]; then
  fail "dcmvault binary $DV is missing (make build/asan/dcmvault)"
  done_testing
fi

# ---- the default run ----------------------------------------------------------------------
start=$(date +%s%N)
"$DV" demo --out "$TMP/d" >"$TMP/out.txt" 2>"$TMP/err.txt"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "demo --out exits 0" [ $rc -eq 0 ]
echo "# demo took $ms ms (ASan build)"
check "demo runs in a few seconds (< 30 s even under ASan on a busy machine)" [ $ms -lt 30000 ]
check "demo prints nothing on stderr when it passes" [ ! -s "$TMP/err.txt" ]
last=$(tail -n 1 "$TMP/out.txt")
case $last in
  "demo: "*" files, all checks passed") ok "last line reports success: $last" ;;
  *) fail "last line reports success (got: $last)"; sed 's/^/# /' "$TMP/out.txt" ;;
esac
grep -q '(synthetic)' "$TMP/out.txt"
check "the patient name in the report is marked (synthetic)" [ $? -eq 0 ]
for s in generate dump transcode render decode; do
  grep -qE "^\[[0-9]+/[0-9]+\] $s: " "$TMP/out.txt"
  check "report has step $s" [ $? -eq 0 ]
done
check "output folder has mode 0700" [ "$(stat -c %a "$TMP/d")" = 700 ]

mapfile -t dcms < <(find "$TMP/d" -name '*.dcm' | sort)
check "11 DICOM files written (1 radiograph + 10 CT slices)" [ "${#dcms[@]}" -eq 11 ]
n=$(sed -n 's/^demo: \([0-9]*\) files.*/\1/p' "$TMP/out.txt")
# the vault step leaves DIR/vault and DIR/vault.kek; the count is of the demo's own files
check "the count in the last line matches the files written" \
  [ "${n:-0}" -eq "$(find "$TMP/d" -type f ! -path "$TMP/d/vault/*" ! -name vault.kek | wc -l)" ]
check "the vault step kept its vault and a 0600 key file beside it with --out" \
  [ -f "$TMP/d/vault/index.sqlite" ] && [ "$(stat -c %a "$TMP/d/vault.kek")" = 600 ]
check "the vault report found no patient identifier" grep -q ': 0 hits$' "$TMP/out.txt"
bad=$(find "$TMP/d" -type f ! -perm 0600 | wc -l)
check "every file has mode 0600" [ "$bad" -eq 0 ]

# ---- DCMTK reads every file -----------------------------------------------------------------
if command -v dcmdump >/dev/null; then
  nbad=0
  for f in "${dcms[@]}"; do
    if ! dcmdump "$f" >"$TMP/dump.txt" 2>"$TMP/dump.err" || [ -s "$TMP/dump.err" ]; then
      nbad=$((nbad + 1)); echo "# dcmdump fails on $(basename "$f"): $(head -c 300 "$TMP/dump.err")"
    fi
  done
  check "dcmdump reads all ${#dcms[@]} files without a message" [ $nbad -eq 0 ]
  dcmdump +P PatientName "$TMP/d/cr_0001.dcm" | grep -q '='
  check "PatientName has an ideographic group (dcmdump)" [ $? -eq 0 ]
  dcmdump +P SpecificCharacterSet "$TMP/d/ct_0001.dcm" | grep -q 'ISO_IR 192'
  check "SpecificCharacterSet is ISO_IR 192 (dcmdump)" [ $? -eq 0 ]
else
  skip "dcmdump reads every file" "dcmtk not installed (scripts/deps.sh)"
fi

# ---- dciodvfy: no Error for any IOD -----------------------------------------------------------
# validate NAME FILE: ok when dciodvfy names the expected IOD and prints no Error line; the
# warnings that remain are printed as TAP comments.
validate() {
  local name=$1 f=$2 want=$3
  dciodvfy "$f" >"$TMP/v.txt" 2>&1
  if grep -q '^Error' "$TMP/v.txt"; then
    fail "dciodvfy: no Error for $name"; grep '^Error' "$TMP/v.txt" | head -20 | sed 's/^/# /'
  elif ! grep -qx "$want" "$TMP/v.txt"; then
    fail "dciodvfy: $name recognised as $want"; head -5 "$TMP/v.txt" | sed 's/^/# /'
  else
    ok "dciodvfy: no Error for $name ($want)"
  fi
  grep '^Warning' "$TMP/v.txt" | sort -u | sed "s/^/# $name: dciodvfy /"
}
if command -v dciodvfy >/dev/null; then
  validate "CR" "$TMP/d/cr_0001.dcm" CRImage
  for f in "$TMP"/d/ct_*.dcm; do
    validate "CT $(basename "$f")" "$f" CTImage
  done
else
  skip "dciodvfy validation" "dicom3tools not installed (scripts/deps.sh)"
fi

# ---- PNG renders ------------------------------------------------------------------------------
# png_size FILE: prints "WIDTHxHEIGHT" from IHDR after checking the signature and chunk order
cat >"$TMP/pngsize.py" <<'EOF'
import struct, sys, zlib
d = open(sys.argv[1], 'rb').read()
if d[:8] != b'\x89PNG\r\n\x1a\n' or d[12:16] != b'IHDR':
    sys.exit('bad PNG signature or first chunk')
body = d[16:29]
if zlib.crc32(d[12:29]) & 0xffffffff != struct.unpack('>I', d[29:33])[0]:
    sys.exit('bad IHDR CRC')
w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
print('%dx%d %d %d' % (w, h, depth, ctype))
EOF
png_check() {
  local f=$1 want=$2 got
  got=$(python3 "$TMP/pngsize.py" "$f" 2>&1)
  check "$(basename "$f") is an 8-bit grey PNG of $want (got $got)" [ "$got" = "$want 8 0" ]
  if command -v pngcheck >/dev/null; then
    pngcheck -q "$f" >/dev/null 2>&1
    check "pngcheck accepts $(basename "$f")" [ $? -eq 0 ]
  fi
}
png_check "$TMP/d/xr.png" 2048x2048
png_check "$TMP/d/ct_lung.png" 256x256
png_check "$TMP/d/ct_soft.png" 256x256
if ! command -v pngcheck >/dev/null; then
  skip "pngcheck" "pngcheck not installed (scripts/deps.sh)"
fi

# ---- DX, MONOCHROME1, 14 bits ------------------------------------------------------------------
"$DV" demo --out "$TMP/dx" --dx --monochrome1 --bits-stored 14 --size 512 --seed 9 \
  >"$TMP/dx.txt" 2>&1
check "demo --dx --monochrome1 --bits-stored 14 exits 0" [ $? -eq 0 ]
if command -v dciodvfy >/dev/null; then
  validate "DX (MONOCHROME1, 14 bits)" "$TMP/dx/dx_0001.dcm" DXImageForPresentation
fi
if command -v dcmdump >/dev/null; then
  dcmdump +P PhotometricInterpretation +P BitsStored "$TMP/dx/dx_0001.dcm" >"$TMP/dx.dump"
  grep -q MONOCHROME1 "$TMP/dx.dump" && grep -qE '^\(0028,0101\) US 14 ' "$TMP/dx.dump"
  check "DX is MONOCHROME1 with 14 bits stored (dcmdump)" [ $? -eq 0 ]
fi

# ---- determinism ------------------------------------------------------------------------------
"$DV" demo --out "$TMP/s1" --seed 77 --size 256 >/dev/null 2>&1 &&
  "$DV" demo --out "$TMP/s2" --seed 77 --size 256 >/dev/null 2>&1 &&
  "$DV" demo --out "$TMP/s3" --seed 78 --size 256 >/dev/null 2>&1
check "three small demo runs exit 0" [ $? -eq 0 ]
same=1
# generated files only: the vault's keys are random by design
for f in "$TMP"/s1/*.dcm "$TMP"/s1/*.png; do cmp -s "$f" "$TMP/s2/$(basename "$f")" || same=0; done
check "same seed: every file byte-identical" [ $same -eq 1 ]
cmp -s "$TMP/s1/cr_0001.dcm" "$TMP/s3/cr_0001.dcm"
check "other seed: the radiograph differs" [ $? -ne 0 ]
cmp -s "$TMP/s1/ct_0001.dcm" "$TMP/s3/ct_0001.dcm"
check "other seed: a CT slice differs" [ $? -ne 0 ]

# ---- default folder: removed, or kept with --keep ------------------------------------------------
"$DV" demo --size 256 >"$TMP/tmp.txt" 2>&1
rc=$?
dir=$(sed -n 's/^output: \(\/tmp\/dcmvault-demo-[^ ]*\).*/\1/p' "$TMP/tmp.txt")
named_tmp() { [ "$rc" -eq 0 ] && [ -n "$dir" ]; }
removed() { [ -n "$dir" ] && [ ! -e "$dir" ]; }
private_dir() { [ -n "$1" ] && [ -d "$1" ] && [ "$(stat -c %a "$1")" = 700 ]; }
check "demo without --out exits 0 and names its /tmp folder" named_tmp
check "the default folder is removed at the end" removed
"$DV" demo --size 256 --keep >"$TMP/keep.txt" 2>&1
dir=$(sed -n 's/^kept: //p' "$TMP/keep.txt")
check "--keep keeps the default folder (mode 0700)" private_dir "$dir"
case $dir in /tmp/dcmvault-demo-*) rm -rf "$dir" ;; esac

# ---- usage errors and a failing step --------------------------------------------------------------
usage_case() {
  local name=$1; shift
  "$DV" demo "$@" >/dev/null 2>"$TMP/usage.err"
  local rc=$?
  if [ $rc -eq 2 ] && [ -s "$TMP/usage.err" ]; then ok "usage error exits 2: $name"
  else fail "usage error exits 2: $name (got $rc)"; fi
}
usage_case "seed not a number" --seed abc
usage_case "negative seed" --seed -1
usage_case "bits stored 13" --bits-stored 13
usage_case "size too small" --size 10
usage_case "unknown option" --bogus

mkdir -p "$TMP/cwd"
(cd "$TMP/cwd" && "$DV" demo --size 256 --out >/dev/null 2>&1)
check "--out without a folder writes ./demo-out" [ -f "$TMP/cwd/demo-out/cr_0001.dcm" ]
check "./demo-out has mode 0700" private_dir "$TMP/cwd/demo-out"

"$DV" demo --help >"$TMP/help.txt"
check "demo --help exits 0" [ $? -eq 0 ]

# the radiograph's path is a folder: writing it fails, so step 'generate' fails
mkdir -p "$TMP/f/cr_0001.dcm"
"$DV" demo --out "$TMP/f" --size 256 >"$TMP/f.txt" 2>"$TMP/f.err"
rc=$?
check "a failing step exits 1" [ $rc -eq 1 ]
grep -q "step 'generate' failed" "$TMP/f.err"
check "the failing step is named on stderr" [ $? -eq 0 ]
grep -q "all checks passed" "$TMP/f.txt"
check "a failed demo does not claim success" [ $? -ne 0 ]

done_testing
