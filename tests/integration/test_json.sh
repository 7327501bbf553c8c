#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_json.sh - `dcmvault dump --json` (DICOM JSON Model, PS3.18 F.2) against DCMTK's dcm2json,
# and the character set examples of PS3.5 Annexes H-K in David Clunie's test files.
#
# For every corpus file: our output must be valid UTF-8 JSON; when dcm2json converts the file
# the two are loaded with python3 and compared tag by tag (VR, which of Value/InlineBinary/
# BulkDataURI, values; numbers compared as numbers).  Files dcm2json refuses because of
# encapsulated pixel data are compared on a copy without (7FE0,0010) (dcmodify -ea).
# Known differences with DCMTK 3.6.7, normalised before comparing:
#  - (0008,0005): dcm2json writes "ISO_IR 192" because it converted the dataset; we keep the
#    source value (PS3.18 F.2.2 note 3) -> its value is not compared;
#  - dcm2json keeps NUL padding at the end of non-UI strings; we trim it;
#  - dcm2json pads odd-length binary values with a zero byte; we write the bytes as read;
#  - FL: we write the shortest decimal that reads back to the same float; compared as float32;
#  - "US or SS" elements of implicit VR files: DCMTK chooses by Pixel Representation, our
#    parser may not; likewise OB/OW for implicit VR Pixel Data; such a VR mismatch is a note
#    (the values are still compared), not a failure;
#  - a private UN element holding a sequence (CP-246): dcm2json writes its bytes as UN, our
#    parser reads the items and we write an SQ: a note;
#  - DS/IS values that are not JSON numbers ("+1", "007"): dcm2json copies them and its output
#    is not JSON, so such files are only checked for validity.
# dcm2json cannot convert ISO 2022 IR 87 with glibc iconv: those files are checked against the
# names printed in PS3.5 Annex H instead.
source "$(dirname "$0")/lib.sh"

need_testdata "json: corpus"
for tool in dcm2json dcmodify dcmconv dcmdump python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    skip "json: $tool" "$tool is not installed"
    done_testing
  fi
done
# DV_JSON: the command that prints the JSON of one file (an array with one object, or one
# object); default `dcmvault dump --json`.
read -r -a JSON_CMD <<<"${DV_JSON:-$DV dump --json -q}"

probe=$TESTDATA/fo-dicom/charset/chrFren.dcm
if ! "${JSON_CMD[@]}" "$probe" >"$TMP/probe.json" 2>"$TMP/probe.err"; then
  skip "json: dcmvault dump --json" "not available yet: $(head -c 120 "$TMP/probe.err")"
  done_testing
fi

mkdir -p "$TMP/j"
list=$TMP/list.tsv
: >"$list"
i=0
while IFS= read -r f; do
  i=$((i + 1))
  ours=$TMP/j/$i.ours.json theirs=$TMP/j/$i.dcmtk.json mode=plain
  if ! "${JSON_CMD[@]}" "$TESTDATA/$f" >"$ours" 2>"$TMP/j/$i.err"; then
    mode=unreadable
    grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' "$TMP/j/$i.err" && mode=crash
    printf '%s\t%s\t%s\t%s\n' "$f" "$ours" "-" "$mode" >>"$list"
    continue
  fi
  if ! dcm2json -q "$TESTDATA/$f" "$theirs" 2>/dev/null; then
    mode=charset
    msg=$(dcm2json "$TESTDATA/$f" 2>&1 >/dev/null | head -3)
    case "$msg" in
    *"compressed pixel data"*)
      cp "$TESTDATA/$f" "$TMP/j/$i.dcm"
      if dcmodify -q -nb -ea "(7fe0,0010)" "$TMP/j/$i.dcm" 2>/dev/null &&
        dcm2json -q "$TMP/j/$i.dcm" "$theirs" 2>/dev/null; then
        mode=nopixels
      else
        mode=refused
      fi
      ;;
    esac
  fi
  printf '%s\t%s\t%s\t%s\n' "$f" "$ours" "$theirs" "$mode" >>"$list"
done < <(corpus_files)

# compare everything in one python run; it prints "ok|fail|skip<TAB>name<TAB>detail" lines
python3 - "$list" >"$TMP/results.tsv" <<'PY'
import base64, json, struct, sys

def load(path):
    raw = open(path, 'rb').read()
    try:
        return json.loads(raw.decode('utf-8')), None
    except UnicodeDecodeError:
        return None, 'not UTF-8'
    except ValueError as e:
        return None, 'not JSON (%s)' % e

def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]

def same_num(a, b, vr):
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    if vr == 'FL':
        return f32(a) == f32(b)
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))

def norm_str(v):
    return v.rstrip('\x00 ') if isinstance(v, str) else v

def as_num(v):
    try:
        return float(v) if isinstance(v, str) else v
    except ValueError:
        return v

def cmp_ds(a, b, path, diffs, notes):
    for k in sorted(set(a) | set(b)):
        p = path + [k]
        if k not in b:
            diffs.append('extra %s' % p)
        elif k not in a:
            diffs.append('missing %s' % p)
        else:
            cmp_el(a[k], b[k], p, diffs, notes)

def cmp_el(x, y, p, diffs, notes):
    vr = x.get('vr')
    if vr != y.get('vr'):
        pair = {vr, y.get('vr')}
        if pair == {'US', 'SS'} or (pair == {'OB', 'OW'} and p[-1] == '7FE00010'):
            notes.append('%s %s/%s' % (p, vr, y.get('vr')))
            if pair == {'OB', 'OW'}:
                x = dict(x, vr=y.get('vr'))
                cmp_el(x, y, p, diffs, notes)
            return
        if pair == {'SQ', 'UN'} and 'InlineBinary' in (x if vr == 'UN' else y):
            notes.append('%s parsed as SQ' % p)
            return
        diffs.append('vr %s %s/%s' % (p, vr, y.get('vr')))
        return
    if p[-1] == '00080005':
        return
    if set(x) != set(y):
        diffs.append('members %s %s/%s' % (p, sorted(x), sorted(y)))
        return
    if 'InlineBinary' in x:
        u, v = base64.b64decode(x['InlineBinary']), base64.b64decode(y['InlineBinary'])
        if u != v and not (len(u) % 2 and u + b'\0' == v):
            diffs.append('binary %s' % p)
        return
    vx, vy = x.get('Value', []), y.get('Value', [])
    if len(vx) != len(vy):
        diffs.append('count %s %d/%d' % (p, len(vx), len(vy)))
        return
    for n, (u, v) in enumerate(zip(vx, vy)):
        if vr == 'SQ':
            cmp_ds(u, v, p + [n], diffs, notes)
        elif vr == 'PN':
            if u != ({g: norm_str(s) for g, s in v.items()} if isinstance(v, dict) else v):
                diffs.append('value %s[%d]' % (p, n))
        elif vr in ('DS', 'IS') and same_num(as_num(norm_str(u)), as_num(norm_str(v)), vr):
            continue
        elif not same_num(norm_str(u), norm_str(v), vr):
            diffs.append('value %s[%d] %r/%r' % (p, n, u, v))

def drop_pixels(ds):
    """dcmodify -ea also erases (7FE0,0010) inside items (icons), and drops the trailing
    padding (FFFC,FFFC) when it rewrites the file."""
    ds.pop('7FE00010', None)
    ds.pop('FFFCFFFC', None)
    for el in ds.values():
        if el.get('vr') == 'SQ':
            for item in el.get('Value', []):
                drop_pixels(item)

for line in open(sys.argv[1], encoding='utf-8'):
    name, ours, theirs, mode = line.rstrip('\n').split('\t')
    if mode == 'crash':
        print('fail\t%s\tsanitizer report while writing JSON' % name)
        continue
    if mode == 'unreadable':
        print('skip\t%s\tdcmvault cannot read it (parser tests cover this)' % name)
        continue
    a, err = load(ours)
    if err:
        print('fail\t%s\tour output is %s' % (name, err))
        continue
    if isinstance(a, list):
        a = a[0] if len(a) == 1 else None
    if not isinstance(a, dict):
        print('fail\t%s\tour output is not one JSON object' % name)
        continue
    if mode in ('charset', 'refused'):
        print('ok\t%s\tvalid JSON (dcm2json cannot convert it: %s)' % (name, mode))
        continue
    b, err = load(theirs)
    if err:
        print('ok\t%s\tvalid JSON (dcm2json output is %s)' % (name, err))
        continue
    if mode == 'nopixels':
        px = a.pop('7FE00010', None)
        if px is not None and set(px) - {'vr'}:
            print('fail\t%s\tencapsulated pixel data has a value' % name)
            continue
        drop_pixels(a)
    diffs, notes = [], []
    cmp_ds(a, b, [], diffs, notes)
    if diffs:
        print('fail\t%s\t%d differences: %s' % (name, len(diffs), '; '.join(diffs[:6])))
    else:
        print('ok\t%s\tsame as dcm2json%s%s' % (name, ' (without pixel data)'
              if mode == 'nopixels' else '', ' # note: ' + ', '.join(notes[:3]) if notes else ''))
PY
while IFS=$'\t' read -r st name detail; do
  case "$st" in
  ok) ok "json $name: $detail" ;;
  skip) skip "json $name" "$detail" ;;
  *) fail "json $name: $detail" ;;
  esac
done <"$TMP/results.tsv"
[ -s "$TMP/results.tsv" ] || fail "json: the comparison produced no result"

# malformed inputs: whatever dcmvault accepts must still come out as valid UTF-8 JSON, and
# nothing may trip the sanitizers
if [ -d "$TESTDATA/malformed" ]; then
  bad=0 n=0
  while IFS= read -r f; do
    n=$((n + 1))
    if "${JSON_CMD[@]}" "$f" >"$TMP/m.json" 2>"$TMP/m.err"; then
      python3 -c 'import json, sys; json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))' \
        "$TMP/m.json" 2>/dev/null || { bad=$((bad + 1)); echo "# invalid JSON: $f"; }
    fi
    if grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' "$TMP/m.err"; then
      bad=$((bad + 1))
      echo "# sanitizer report: $f"
    fi
  done < <(find "$TESTDATA/malformed" -type f | sort)
  check "json malformed/: $n files give valid JSON or a clean refusal" [ "$bad" -eq 0 ]
fi

# PatientName of the character set test files (the first one, depth first): UTF-8 from DCMTK
# (dcmconv +U8, dcmdump) where its iconv can convert, else the names printed in PS3.5 Annex H.
declare -A annex=(
  [SCSH31]='Yamada^Tarou=山田^太郎=やまだ^たろう'
  [chrH31.dcm]='Yamada^Tarou=山田^太郎=やまだ^たろう'
  [SCSH32]='ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう'
  [chrH32.dcm]='ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう'
  [chrJapMulti.dcm]='やまだ^たろう'
  [chrJapMultiExplicitIR6.dcm]='やまだ^たろう'
  [chrSQEncoding.dcm]='ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう'
)
pn_ours() { # file -> first PatientName (depth first) with its groups joined by '='
  "${JSON_CMD[@]}" "$1" 2>/dev/null | python3 -c '
import json, sys
def find(ds):
    if "00100010" in ds:
        return ds["00100010"]
    for el in ds.values():
        for item in el.get("Value", []) if el.get("vr") == "SQ" else []:
            got = find(item)
            if got:
                return got
    return {}
d = json.load(sys.stdin)
d = d[0] if isinstance(d, list) else d
v = find(d).get("Value", [{}])[0] or {}
g = [v.get(k, "") for k in ("Alphabetic", "Ideographic", "Phonetic")]
while g and not g[-1]:
    g.pop()
print("=".join(g))'
}
pn_dcmtk() { # file -> PatientName after dcmconv +U8, trailing '=' and spaces dropped
  dcmconv +U8 "$1" "$TMP/u8.dcm" >/dev/null 2>&1 || return 1
  dcmdump +P PatientName "$TMP/u8.dcm" 2>/dev/null | head -1 | sed -e 's/^[^[]*\[//' \
    -e 's/\][^]]*$//' -e 's/[= ]*$//'
}
while IFS= read -r f; do
  b=$(basename "$f")
  got=$(pn_ours "$TESTDATA/$f")
  if want=$(pn_dcmtk "$TESTDATA/$f"); then
    src=DCMTK
  elif [ -n "${annex[$b]:-}" ]; then
    want=${annex[$b]} src="PS3.5 Annex H"
  else
    skip "charset $f" "DCMTK cannot convert it and no annex example"
    continue
  fi
  got=$(printf '%s' "$got" | sed -e 's/[= ]*$//')
  if [ "$got" = "$want" ]; then
    ok "charset $f: PatientName as $src"
  else
    fail "charset $f: PatientName differs from $src"
    echo "#   ours: $got"
    echo "#   want: $want"
  fi
done < <(corpus_files | grep -E '(^|/)(SCS[A-Z0-9]+|chr[A-Za-z0-9]+\.dcm)$')

done_testing
