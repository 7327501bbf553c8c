#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_deid_pixels.sh - burned-in text redaction through `dcmvault redact` (src/deid/pixels.h):
# synthetic radiographs from `dcmvault demo` (names in Latin and Chinese, ID, date; several
# seeds, sizes, polarities, bit depths) and an ImageMagick-drawn secondary capture are redacted,
# then the REAL tools judge the output: the `tesseract` CLI (eng+chi_sim) on a dcmj2pnm render
# must no longer read the patient's name, ID or dates (and must read the ID in the input),
# dcmdump must parse it.  RLE and JPEG-LS inputs made by dcmcrle / dcmcjpls round trip.  Rule
# mode fills the repository's test rule.  Corpus files are redacted (rules covering the whole
# image) without being corrupted: dcmdump parses the output and dcmj2pnm decodes it.
source "$(dirname "$0")/lib.sh"

for t in tesseract dcmdump dcmj2pnm dcmcrle dcmcjpls dcmodify convert; do
  if ! command -v "$t" >/dev/null; then
    skip "pixel redaction" "$t is not installed"
    done_testing
  fi
done
GEN=$ROOT/build/dcmvault # the demo generator: the plain build is faster when it exists
[ -x "$GEN" ] || GEN=$DV
RULES=$ROOT/data/deid/pixel-rules.tsv

# text_of FILE: what tesseract reads in frame 1 (the dcmj2pnm render as is, its brightest
# pixels and, after a median filter, its darkest ones), whitespace removed, upper case
text_of() {
  dcmj2pnm --write-png "$1" "$TMP/render.png" >/dev/null 2>&1 || return 1
  convert "$TMP/render.png" -threshold 92% -negate "$TMP/render_hi.png" &&
    convert "$TMP/render.png" -median 3 -threshold 2% "$TMP/render_lo.png" || return 1
  for v in render render_hi render_lo; do
    tesseract "$TMP/$v.png" - -l eng+chi_sim --psm 11 2>/dev/null
  done | tr -d ' \t\n' | tr 'a-z' 'A-Z'
}

# tag_of FILE TAG: a header value (dcmdump prints the value in brackets)
tag_of() {
  dcmdump +U8 -s +P "$2" "$1" 2>/dev/null | head -1 | sed 's/^[^[]*\[\([^]]*\)\].*/\1/'
}

# secrets FILE: the strings that must not be readable: ID, Latin names, Chinese name, dates
secrets() {
  local pn id sd bd latin cjk
  pn=$(tag_of "$1" 0010,0010)
  id=$(tag_of "$1" 0010,0020)
  sd=$(tag_of "$1" 0008,0020)
  bd=$(tag_of "$1" 0010,0030)
  latin=${pn%%=*}
  cjk=${pn#*=}
  echo "$id"
  echo "${latin%%^*}"
  echo "${latin#*^}"
  [ "$cjk" != "$pn" ] && echo "${cjk//^/}"
  echo "${sd:0:4}-${sd:4:2}-${sd:6:2}"
  echo "${bd:0:4}-${bd:4:2}-${bd:6:2}"
}

# gone NAME OUT SECRETS_FROM: no secret of SECRETS_FROM is read by tesseract in OUT
gone() {
  local txt s left=""
  txt=$(text_of "$2") || {
    fail "$1: dcmj2pnm cannot render the output"
    return
  }
  while IFS= read -r s; do
    [ -n "$s" ] || continue
    case $txt in *"$s"*) left="$left $s" ;; esac
  done < <(secrets "$3")
  if [ -z "$left" ]; then ok "$1: tesseract reads none of the strings"; else
    fail "$1: tesseract still reads ${#left} characters of identifiers"; fi
}

# redact NAME IN OUT [ARGS]: runs the hook, keeps its JSON in $TMP/NAME.json
redact() {
  local name=$1 in=$2 out=$3
  shift 3
  if "$DV" redact "$in" "$out" "$@" >"$TMP/$name.json" 2>"$TMP/$name.err"; then
    ok "$name: redact exits 0"
  else
    fail "$name: redact failed: $(head -c 300 "$TMP/$name.err")"
    return 1
  fi
  if dcmdump -q "$out" >/dev/null 2>&1; then ok "$name: dcmdump parses the output"; else
    fail "$name: dcmdump cannot parse the output"; fi
}

# ---- synthetic radiographs ---------------------------------------------------------------
n=0
for spec in "3 2048" "8 1536 --monochrome1" "21 1024 --bits-stored 14" "40 2048 --dx"; do
  set -- $spec
  seed=$1 size=$2
  shift 2
  n=$((n + 1))
  d=$TMP/demo$n
  if ! "$GEN" demo --out "$d" --seed "$seed" --size "$size" "$@" >/dev/null 2>&1; then
    fail "demo $n: generator failed"
    continue
  fi
  in=$(ls "$d"/cr_0001.dcm "$d"/dx_0001.dcm 2>/dev/null | head -1)
  id=$(tag_of "$in" 0010,0020)
  case $(text_of "$in") in
  *"$id"*) ok "demo $n: tesseract reads the patient ID in the input" ;;
  *) fail "demo $n: tesseract does not read the ID in the input (test would prove nothing)" ;;
  esac
  redact "demo $n" "$in" "$TMP/out$n.dcm" || continue
  check "demo $n: boxes reported as JSON, without text" \
    grep -q '"boxes":\[{"frame":0,"x":[0-9]*,"y":[0-9]*,"w":[0-9]*,"h":[0-9]*,"source":"ocr"}' \
    "$TMP/demo $n.json"
  if grep -q "$id" "$TMP/demo $n.json"; then fail "demo $n: JSON holds the ID"; else
    ok "demo $n: JSON holds no identifier"; fi
  check "demo $n: BurnedInAnnotation is NO" \
    test "$(tag_of "$TMP/out$n.dcm" 0028,0301)" = NO
  gone "demo $n" "$TMP/out$n.dcm" "$in"
done

# ---- compressed inputs: RLE stays RLE, JPEG-LS becomes native ----------------------------
in=$(ls "$TMP"/demo1/cr_0001.dcm 2>/dev/null)
if [ -n "$in" ] && dcmcrle "$in" "$TMP/rle.dcm" && dcmcjpls "$in" "$TMP/jls.dcm"; then
  if redact rle "$TMP/rle.dcm" "$TMP/rle_out.dcm"; then
    check "rle: output is still RLE Lossless" grep -q '"transfer_syntax":"1.2.840.10008.1.2.5"' \
      "$TMP/rle.json"
    check "rle: dcmdrle decodes the output" dcmdrle "$TMP/rle_out.dcm" "$TMP/rle_dec.dcm"
    gone rle "$TMP/rle_out.dcm" "$in"
  fi
  if redact jls "$TMP/jls.dcm" "$TMP/jls_out.dcm"; then
    check "jls: output is Explicit VR Little Endian" \
      grep -q '"transfer_syntax":"1.2.840.10008.1.2.1"' "$TMP/jls.json"
    gone jls "$TMP/jls_out.dcm" "$in"
  fi
else
  fail "compressed inputs: dcmcrle/dcmcjpls could not encode the demo radiograph"
fi

# ---- a secondary capture drawn with ImageMagick: 8-bit, dark text on a bright field -------
if command -v img2dcm >/dev/null; then
  CJK=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
  LAT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
  if convert -size 900x700 gradient:gray80-gray30 \
    -font "$LAT" -pointsize 34 -fill black -annotate +40+60 'ZHAO LEI' \
    -font "$CJK" -pointsize 48 -fill white -annotate +520+640 '赵磊' \
    -font "$LAT" -pointsize 26 -fill white -annotate +600+60 'SYN7654321' \
    -font "$LAT" -pointsize 22 -fill black -annotate +40+600 '2021-11-05' \
    -type Grayscale -depth 8 "BMP3:$TMP/sc.bmp" 2>/dev/null &&
    img2dcm -i BMP "$TMP/sc.bmp" "$TMP/sc.dcm" >/dev/null 2>&1 &&
    dcmodify -nb -i "(0010,0010)=ZHAO^LEI=赵^磊" -i "(0010,0020)=SYN7654321" \
      -i "(0008,0020)=20211105" -i "(0010,0030)=20211105" -i "(0008,0005)=ISO_IR 192" \
      "$TMP/sc.dcm" >/dev/null 2>&1; then
    ph=$(tag_of "$TMP/sc.dcm" 0028,0004)
    if [ "$ph" = RGB ] && "$DV" redact "$TMP/sc.dcm" "$TMP/sc_no.dcm" >/dev/null 2>&1; then
      fail "capture: RGB secondary capture redacted without --allow-photographic"
    else
      ok "capture: photographic policy applied ($ph)"
    fi
    if redact capture "$TMP/sc.dcm" "$TMP/sc_out.dcm" --allow-photographic; then
      gone capture "$TMP/sc_out.dcm" "$TMP/sc.dcm"
    fi
  else
    skip "capture" "ImageMagick or img2dcm could not make the image"
  fi
fi

# ---- rules mode --------------------------------------------------------------------------
in=$(ls "$TMP"/demo3/cr_0001.dcm 2>/dev/null)
if [ -n "$in" ]; then
  cp "$in" "$TMP/rule_in.dcm"
  dcmodify -nb -i "(0008,0070)=DCMVAULT TEST" -i "(0008,1090)=RULE-PHANTOM" "$TMP/rule_in.dcm" \
    >/dev/null 2>&1
  if redact rules "$TMP/rule_in.dcm" "$TMP/rule_out.dcm" --pixels rules --rules "$RULES"; then
    check "rules: the two rectangles of the test rule, nothing from OCR" \
      test "$(grep -o '"source":"rule"' "$TMP/rules.json" | wc -l)" -eq 2 -a \
      "$(grep -c '"source":"ocr"' "$TMP/rules.json")" -eq 0
  fi
  printf 'a\tb\t1\t1\t0,0,1\n' >"$TMP/bad.tsv"
  if "$DV" redact "$TMP/rule_in.dcm" "$TMP/x.dcm" --pixels rules --rules "$TMP/bad.tsv" \
    2>"$TMP/bad.err" >/dev/null; then
    fail "rules: a malformed rule file is refused"
  else
    check "rules: a malformed rule file is refused naming the line" grep -q "line 1:" "$TMP/bad.err"
  fi
fi

# ---- corpus: redaction does not corrupt real files ---------------------------------------
need_testdata "corpus redaction"
printf '*\t*\t*\t*\t0,0,16,8;5,5,3,3\n' >"$TMP/all.tsv"
tried=0 bad=0 refused=0
while IFS= read -r f; do
  p=$TESTDATA/$f
  dcmdump -q "$p" >/dev/null 2>&1 || continue
  dcmj2pnm --write-png "$p" "$TMP/c_in.png" >/dev/null 2>&1 || continue # dcmtk decodes it
  tried=$((tried + 1))
  "$DV" redact "$p" "$TMP/c_out.dcm" --pixels rules --rules "$TMP/all.tsv" \
    --allow-photographic >/dev/null 2>"$TMP/c.err"
  rc=$?
  if [ $rc -ne 0 ]; then
    if [ $rc -ge 5 ] || grep -q Sanitizer "$TMP/c.err"; then
      bad=$((bad + 1))
      echo "# $f: redact crashed or failed internally (exit $rc)"
    else
      refused=$((refused + 1))
    fi
    continue
  fi
  if ! dcmdump -q "$TMP/c_out.dcm" >/dev/null 2>&1 ||
    ! dcmj2pnm --write-png "$TMP/c_out.dcm" "$TMP/c_out.png" >/dev/null 2>&1; then
    bad=$((bad + 1))
    echo "# $f: output does not parse or decode with DCMTK"
  fi
done < <(corpus_files)
echo "# corpus: $tried decodable files, $refused refused with an error, $bad broken"
check "corpus: redacted outputs parse and decode with DCMTK ($tried files)" test "$bad" -eq 0 -a \
  "$tried" -gt 0

done_testing
