#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_vault_print.sh - films: `dcmvault print` writes a PDF that poppler (pdfinfo, pdftotext,
# pdfimages) reads back: one page per image, the film's serial and audit entry in the caption,
# the image at its own size, no document metadata.  The print is gated as an export and on the
# audit log as "print" (DCM 110106 + PRINT) naming the film; the film is outstanding for the
# privacy officer until its destruction is recorded ("film-destroy", audited first); a user
# without a care relationship prints nothing and leaves no film on the record.
source "$(dirname "$0")/lib.sh"
for t in pdfinfo pdftotext pdfimages; do
  if ! command -v $t >/dev/null 2>&1; then
    skip "vault print" "$t is not installed (poppler-utils; bash scripts/deps.sh)"
    done_testing
  fi
done
source "$(dirname "$0")/vault_access.sh"
vault_test_start "vault print"
CT=$TESTDATA/pydicom/CT_small.dcm
uid_of() { dcmdump +P "$2" "$1" | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1; }
CT_STUDY=$(uid_of "$CT" 0020,000d)
ROWS=$(dcmdump +P 0028,0010 "$CT" | sed -n 's/.*US \([0-9]*\).*/\1/p')
COLS=$(dcmdump +P 0028,0011 "$CT" | sed -n 's/.*US \([0-9]*\).*/\1/p')

"$DV_BIN" init "$V" >init.out 2>&1
check "log in the administrator and a technologist" access_setup "$V" init.out
access_users "$V" po:privacy-officer rad:radiologist
as tech import "$CT" >/dev/null 2>&1
check "the technologist imports the CT" test $? -eq 0

n0=$("$DV" audit show --log "$V/audit" --json 2>/dev/null | wc -l)
as tech print --study "$CT_STUDY" -o film.pdf >print.out 2>&1
check "the technologist prints the CT study (exit 0)" test $? -eq 0
SERIAL=$(sed -n 's/^film \(F-[0-9A-Z-]*\): .*/\1/p' print.out)
check "... and is told the film's serial ($SERIAL)" \
  bash -c "[[ '$SERIAL' =~ ^F-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$ ]]"
pdfinfo film.pdf >info.txt 2>&1
check "poppler reads the PDF (pdfinfo)" test $? -eq 0
check "... one page, A4" bash -c "grep -q '^Pages: *1$' info.txt && grep -q 'A4' info.txt"
check "... no title, author, creator or dates in it" bash -c \
  "! grep -q -e '^Title:' -e '^Author:' -e '^Creator:' -e '^Producer:' -e '^CreationDate:' info.txt"
pdftotext film.pdf film.txt 2>/dev/null
check "the caption carries the serial" grep -q "dcmvault film $SERIAL" film.txt
check "... and the page number" grep -q 'page 1/1' film.txt
pdfimages -list film.pdf >img.txt 2>&1
check "one image, at the CT's own size (${COLS}x${ROWS})" \
  bash -c "test \"\$(awk 'NR>2 {print \$4\"x\"\$5, \$6, \$9}' img.txt)\" = '${COLS}x${ROWS} gray jpeg'"
check "... mode 0600" test "$(stat -c %a film.pdf)" = 600
"$DV" audit show --log "$V/audit" --json 2>/dev/null | tail -n +$((n0 + 1)) >ev.json
check "the print is on the audit log, naming the film and the study" \
  grep -q "\"action\":\"print\".*\"type\":\"study\".*\"detail\":\"film $SERIAL\"" ev.json
seq=$(grep "\"detail\":\"film $SERIAL\"" ev.json | sed -n 's/^{"seq":\([0-9]*\),.*/\1/p' | head -n 1)
check "... the same entry the caption names (audit entry $seq)" grep -q "audit entry $seq" film.txt
"$DV_BIN" audit export --log "$V/audit" --format dicom-xml --since 2000-01-01T00:00:00Z >ev.xml 2>/dev/null
check "print exports as DCM 110106 with type PRINT" bash -c "grep -q 110106 ev.xml && grep -q '\"PRINT\"' ev.xml"

# ---- films outstanding, then destroyed ------------------------------------------------------------
as po film list >fl.out 2>&1
check "the privacy officer sees the film as outstanding" grep -q "^$SERIAL .*OUTSTANDING" fl.out
as tech film list >tl.out 2>&1
check "the technologist may not list films (exit 4)" test $? -eq 4
as tech film destroy "$SERIAL" --reason "shredded" >td.out 2>&1
check "... nor record a destruction (exit 4)" test $? -eq 4
n1=$("$DV" audit show --log "$V/audit" --json 2>/dev/null | wc -l)
as po film destroy "$SERIAL" --reason "shredded, confidential waste bin 3" >fd.out 2>&1
check "the privacy officer records its destruction" test $? -eq 0
"$DV" audit show --log "$V/audit" --json 2>/dev/null | tail -n +$((n1 + 1)) >ev2.json
check "... on the audit log as film-destroy, naming the film" \
  grep -q "\"action\":\"film-destroy\".*\"actor\":\"po\".*\"detail\":\"film $SERIAL\"" ev2.json
as po film list >fl2.out 2>&1
check "no film outstanding any more" test "$(grep -c OUTSTANDING fl2.out)" -eq 0
as po film list --all >fl3.out 2>&1
check "film list --all shows it destroyed by the privacy officer" grep -q "^$SERIAL .*destroyed by po" fl3.out
as po film destroy "$SERIAL" --reason "again" >fd2.out 2>&1
check "destroying it twice: not found (exit 1)" test $? -eq 1
as po film destroy F-0000-0000 --reason "x" >fd3.out 2>&1
check "an unknown serial: not found (exit 1)" test $? -eq 1
as po film destroy "$SERIAL" >/dev/null 2>&1
check "no reason: usage error (exit 2)" test $? -eq 2

# ---- refusals -----------------------------------------------------------------------------------
as rad print --study "$CT_STUDY" -o rad.pdf >rp.out 2>&1
check "a radiologist without a care relationship may not print (exit 4)" test $? -eq 4
check "... no PDF is written" test ! -e rad.pdf
as po film list --all >fl4.out 2>&1
check "... and no film is recorded" test "$(grep -c '^F-' fl4.out)" -eq 1
as tech print --study "$CT_STUDY" -o film.png >/dev/null 2>&1
check "a non-PDF output: usage error (exit 2)" test $? -eq 2
as tech print --study 1.2.3.4 -o none.pdf >/dev/null 2>&1
check "an unknown study: not found (exit 1)" test $? -eq 1
check "... no PDF" test ! -e none.pdf
done_testing
