#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_deid.sh - `dcmvault deid` end to end: every corpus file through --pixels off (output
# parsed by dcmdump, no dciodvfy error the input did not have, residual check passed),
# planted identifiers (private tag, nested SR TextValue, overlay comment and data) removed or
# the file failed with nothing written, keys and consistency across runs and batches, and
# broken command lines (mapping CSV, option names) refused with the exact error, nothing written.
source "$(dirname "$0")/lib.sh"

for t in dcmdump dciodvfy dcmodify python3; do
  if ! command -v "$t" >/dev/null 2>&1; then
    skip "deid integration" "$t is not installed"
    done_testing
  fi
done
[ -x "$DV" ] || { fail "$DV is not built (make build/asan/dcmvault)"; done_testing; }

KEY=$TMP/deid.key
parses() { dcmdump "$1" >/dev/null 2>&1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# ---- key file ---------------------------------------------------------------------------
"$DV" demo --out "$TMP/demo" --seed 5 >/dev/null 2>&1 || fail "demo study"
"$DV" deid "$TMP/demo/ct_0001.dcm" -o "$TMP/k1" --key-file "$KEY" --pixels off --quiet \
  2>"$TMP/k1.err"
check "key file created 0600 and announced" test "$(stat -c %a "$KEY")" = 600
check "creation is said on stderr" grep -q "created key file" "$TMP/k1.err"
if "$DV" deid "$TMP/demo/ct_0001.dcm" -o "$TMP/k2" --key-file "$TMP/k2/in.key" --pixels off \
  --quiet 2>"$TMP/k2.err"; then
  fail "key file inside OUT refused"
else
  check "key file inside OUT refused" grep -q "must not be inside the output folder" "$TMP/k2.err"
fi

# ---- consistency: two runs, two batches, another key ------------------------------------
"$DV" deid "$TMP/demo"/ct_000[1-5].dcm -o "$TMP/b1" --key-file "$KEY" --pixels off --quiet \
  --option retain-long-modified-dates
"$DV" deid "$TMP/demo"/ct_00{06,07,08,09,10}.dcm -o "$TMP/b2" --key-file "$KEY" --pixels off \
  --quiet --option retain-long-modified-dates
"$DV" deid "$TMP/demo"/ct_000[1-5].dcm -o "$TMP/b3" --key-file "$KEY" --pixels off --quiet \
  --option retain-long-modified-dates
study_uids() { for f in "$1"/*.dcm; do dcmdump +P 0020,000d "$f"; done | sort -u; }
pids() { for f in "$1"/*.dcm; do dcmdump +P 0010,0020 +P 0008,0020 "$f"; done | sort -u; }
check "two batches: one study UID" test "$(study_uids "$TMP/b1" "$TMP/b2" | wc -l)" = 1 -a \
  "$(study_uids "$TMP/b1")" = "$(study_uids "$TMP/b2")"
check "two batches: same pseudonym and shifted date" test "$(pids "$TMP/b1")" = "$(pids "$TMP/b2")"
check "two runs: identical files" diff -r "$TMP/b1" "$TMP/b3"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/other.key"
echo >>"$TMP/other.key"
chmod 600 "$TMP/other.key"
"$DV" deid "$TMP/demo"/ct_000[1-5].dcm -o "$TMP/b4" --key-file "$TMP/other.key" --pixels off \
  --quiet --option retain-long-modified-dates
check "another key: other UIDs" test "$(study_uids "$TMP/b1")" != "$(study_uids "$TMP/b4")"
check "another key: other names" test "$(ls "$TMP/b1")" != "$(ls "$TMP/b4")"

# ---- planted identifiers ---------------------------------------------------------------
P=$TMP/plant
mkdir -p "$P"
cp "$TMP/demo/ct_0001.dcm" "$P/a.dcm"
NAME=$(dcmdump +P 0010,0010 "$P/a.dcm" | sed 's/.*\[\([A-Z]*\)^\([A-Z]*\)=.*/\1 \2/')
printf '%s ' "$NAME" >"$P/pv.bin"
dcmodify -nb -i "(0029,0010)=ACME 1.0" "$P/a.dcm" 2>/dev/null
dcmodify -nb -if "(0029,1001)=$P/pv.bin" "$P/a.dcm" 2>/dev/null
dcmodify -nb -i "(0040,a730)[0].(0040,a730)[0].(0040,a160)=seen: $NAME" "$P/a.dcm" 2>/dev/null
dcmodify -nb -i "(6000,4000)=drawn for $NAME" -if "(6000,3000)=$P/pv.bin" "$P/a.dcm" 2>/dev/null
check "planted: the input holds the name 4 times" \
  test "$(grep -ao "${NAME##* }" "$P/a.dcm" | wc -l)" -ge 4
for opt in "" "--option clean-structured-content --option clean-graphics"; do
  rm -rf "$P/o"
  # shellcheck disable=SC2086 # opt is a word list
  if "$DV" deid "$P/a.dcm" -o "$P/o" --key-file "$KEY" --pixels off --quiet $opt \
    --report "$P/r.json" 2>"$P/err"; then
    out=$(ls "$P"/o/*.dcm)
    check "planted ($opt): removed, output parses" parses "$out"
    check "planted ($opt): no trace of the name" test "$(grep -aci "${NAME##* }" "$out")" = 0
  else
    check "planted ($opt): failed, nothing written" test -z "$(ls -A "$P/o")"
  fi
done
# an identifier in an attribute the profile keeps: the residual check fails the file
cp "$P/a.dcm" "$P/b.dcm"
dcmodify -nb -i "(0028,1055)=$NAME" "$P/b.dcm" 2>/dev/null
rm -rf "$P/o"
"$DV" deid "$P/b.dcm" -o "$P/o" --key-file "$KEY" --pixels off --quiet 2>"$P/err"
rc=$?
check "kept identifier: exit 1" test "$rc" = 1
check "kept identifier: nothing written" test -z "$(ls -A "$P/o")"
check "kept identifier: reported by input path and tag" grep -q "b.dcm: .*(0028,1055)" "$P/err"
check "kept identifier: the value is not printed" test "$(grep -ci "${NAME##* }" "$P/err")" = 0

# ---- burned-in text: the default pixels mode (OCR) and the OCR part of the residual check --
rm -rf "$TMP/ocr"
if "$DV" deid "$TMP/demo/cr_0001.dcm" -o "$TMP/ocr" --key-file "$KEY" --quiet \
  --report "$TMP/ocr.json" 2>"$TMP/ocr.err"; then
  check "pixels ocr: text boxes filled, residual check (with OCR text) passed" python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))["files"][0]
sys.exit(0 if f["pixels"]["ran"] and f["pixels"]["boxes"] > 0 and f["residual"]["passed"] else 1)
' "$TMP/ocr.json"
elif grep -qi "tesseract\|traineddata" "$TMP/ocr.err"; then
  skip "pixels ocr" "Tesseract data is missing"
else
  fail "pixels ocr: $(head -c 300 "$TMP/ocr.err")"
fi

# ---- broken command lines -----------------------------------------------------------------
printf 'a,b\n' >"$TMP/bad.csv"
"$DV" deid "$P/a.dcm" -o "$TMP/bad1" --key-file "$KEY" --mapping "$TMP/bad.csv" 2>"$TMP/bad1.err"
rc=$?
check "bad mapping: exit 2" test "$rc" = 2
check "bad mapping: exact error" grep -qx \
  "dcmvault deid: $TMP/bad.csv: malformed input: mapping line 1: 2 field(s), want 3 (original id, new id, new name)" \
  "$TMP/bad1.err"
check "bad mapping: nothing written" test ! -e "$TMP/bad1"
"$DV" deid "$P/a.dcm" -o "$TMP/bad2" --key-file "$KEY" --option retain-everything 2>"$TMP/bad2.err"
rc=$?
check "bad option: exit 2" test "$rc" = 2
check "bad option: exact error" grep -qx "dcmvault deid: unknown --option 'retain-everything'" \
  "$TMP/bad2.err"
check "bad option: nothing written" test ! -e "$TMP/bad2"

# ---- the corpus ---------------------------------------------------------------------------
need_testdata "deid corpus"
mapfile -t files < <(corpus_files)
(cd "$TESTDATA" && "$DV" deid "${files[@]}" -o "$TMP/corpus" --key-file "$KEY" --pixels off \
  --jobs 2 --quiet --report "$TMP/corpus.json" 2>"$TMP/corpus.err")
python3 - "$TMP/corpus.json" "$TMP/corpus" "$TESTDATA" <<'PY' >"$TMP/corpus.tap"
import json, os, re, subprocess, sys
rep, outdir, root = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, errors='replace')
    return p.returncode, p.stdout + p.stderr
def errors(path):
    rc, out = run(['dciodvfy', path])
    lines = [l for l in out.splitlines() if l.startswith('Error')]
    unreadable = any('Tags out of order' in l or 'read failed' in l for l in lines)
    return unreadable, {re.sub(r'[0-9][0-9.]*', '#', re.sub(r'\s+', ' ', l)) for l in lines}
for f in rep['files']:
    name = f['input']
    if f['status'] != 'ok':
        ok = 'DICOMDIR' in (f['error'] or '') or run(['dcmdump', '-q', os.path.join(root, name)])[0] != 0
        print(('ok' if ok else 'not ok') + ' - corpus %s: refused (%s)' % (name, f['error']))
        continue
    out = os.path.join(outdir, f['output'])
    print(('ok' if run(['dcmdump', '-q', out])[0] == 0 else 'not ok') + ' - corpus %s: dcmdump parses' % name)
    print(('ok' if f['residual']['ran'] and f['residual']['passed'] else 'not ok') + ' - corpus %s: residual check' % name)
    unread, before = errors(os.path.join(root, name))
    if unread:
        print('ok - corpus %s: dciodvfy # SKIP dciodvfy cannot read the input' % name)
        continue
    new = errors(out)[1] - before
    print(('ok' if not new else 'not ok') + ' - corpus %s: no new dciodvfy error %s' % (name, sorted(new)[:2]))
PY
while read -r status rest; do
  case $status in
  ok) ok "${rest#*- }" ;;
  *) fail "${rest#ok - }" ;;
  esac
done <"$TMP/corpus.tap"
check "corpus: every file in the report" test "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['files']))" "$TMP/corpus.json")" = "${#files[@]}"
done_testing
