#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_vault_view.sh - `dcmvault view`: the vault's images rendered as a viewer shows them.
# A user with a care relationship gets one PNG per image: what `render` makes of the original
# file (itself checked against DCMTK in test_render.sh) plus the invisible mark (within one grey
# level), no metadata chunk; the
# view is on the audit log as "view" with the study's pseudonym, before the images; a user
# without a relationship is refused and nothing is written; a report (no pixel data) is
# skipped; bad options are usage errors.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vault_access.sh"
vault_test_start "vault view"
CT=$TESTDATA/pydicom/CT_small.dcm
MR=$TESTDATA/pydicom/MR_small.dcm
uid_of() { dcmdump +P "$2" "$1" | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1; }
CT_STUDY=$(uid_of "$CT" 0020,000d)
CT_SOP=$(uid_of "$CT" 0008,0018)
MR_STUDY=$(uid_of "$MR" 0020,000d)

"$DV_BIN" init "$V" >init.out 2>&1
check "log in the administrator and a technologist" access_setup "$V" init.out
access_users "$V" rad:radiologist
as tech import "$CT" "$MR" >/dev/null 2>&1
check "the technologist imports CT and MR" test $? -eq 0

n0=$("$DV" audit show --log "$V/audit" --json 2>/dev/null | wc -l)
as tech view --study "$CT_STUDY" -o ct >view.out 2>&1
check "the importer views the CT study (exit 0)" test $? -eq 0
check "... one image" test "$(find ct -name 'view-*.png' | wc -l)" -eq 1
check "... a PNG with no text or time chunk (pngcheck)" bash -c \
  "pngcheck -v ct/view-0001.png | grep -q 'No errors' && ! pngcheck -v ct/view-0001.png | grep -q -e tEXt -e tIME -e iTXt -e zTXt"
check "... mode 0600" test "$(stat -c %a ct/view-0001.png)" = 600
as tech view --instance "$CT_SOP" -o one.png >/dev/null 2>&1
check "--instance to a .png file" test -s one.png
# `render` of the original file is checked against DCMTK's dcmj2pnm in test_render.sh; a view
# is that image plus the invisible mark of its own audit entry
"$DV_BIN" render "$CT" -o ref.png >/dev/null 2>&1
pae=$(compare -metric PAE one.png ref.png null: 2>&1 | sed -n 's/^[0-9.e+]* (\([0-9.e+-]*\))$/\1/p')
check "... what \`render\` makes of the original file, within 1 grey level (the mark; PAE $pae)" \
  python3 -c "import sys; sys.exit(0 if float('${pae:-9}') * 255 <= 1.001 else 1)"
check "... marked: not byte for byte the unmarked render" bash -c "! cmp -s one.png ref.png"
check "two views are two accesses: two different marks" bash -c "! cmp -s one.png ct/view-0001.png"
as tech view --instance "$CT_SOP" -o ov.png --overlay >/dev/null 2>&1
pae=$(compare -metric PAE ov.png ref.png null: 2>&1 | sed -n 's/^[0-9.e+]* (\([0-9.e+-]*\))$/\1/p')
check "--overlay: the visible overlay changes the picture visibly (PAE $pae)" \
  python3 -c "import sys; sys.exit(0 if float('${pae:-0}') * 255 > 20 else 1)"
printf '\noverlay_roles = technologist\n' >ov.conf
sed '/^\[access\]/r ov.conf' "$V/access.conf" >ac.new && cp ac.new "$V/access.conf"
as tech view --instance "$CT_SOP" -o forced.png >/dev/null 2>&1
pae=$(compare -metric PAE forced.png ref.png null: 2>&1 | sed -n 's/^[0-9.e+]* (\([0-9.e+-]*\))$/\1/p')
check "overlay_roles = technologist: the technologist's view carries it without asking (PAE $pae)" \
  python3 -c "import sys; sys.exit(0 if float('${pae:-0}') * 255 > 20 else 1)"
"$DV" audit show --log "$V/audit" --json 2>/dev/null | tail -n +$((n0 + 1)) >ev.json
check "the view is on the audit log as 'view', naming the study" \
  python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
v = [e for e in ev if e["action"] == "view" and e.get("objects")]
sys.exit(0 if v else 1)' ev.json
check "... with no study UID in the log" bash -c "! grep -qF '$CT_STUDY' ev.json"
"$DV_BIN" audit export --log "$V/audit" --format dicom-xml --since 2000-01-01T00:00:00Z >ev.xml 2>/dev/null
check "view exports as DCM 110103 DICOM Instances Accessed" grep -q '110103' ev.xml

as tech view --study "$MR_STUDY" -o mr --window 600,1200 --format jpg >/dev/null 2>&1
check "a window and JPEG output" test "$(find mr -name 'view-*.jpg' | wc -l)" -eq 1
check "... a JPEG (djpeg reads it)" bash -c "djpeg -pnm mr/view-0001.jpg >/dev/null"
as tech view --study "$MR_STUDY" -o mr2 --frame 2 >f2.out 2>&1
check "a frame past the last: nothing rendered (exit 1)" test $? -eq 1
check "... saying why" grep -q 'no image to render' f2.out

as rad view --study "$CT_STUDY" -o radv >rad.out 2>&1
check "a radiologist without a care relationship is refused (exit 4)" test $? -eq 4
check "... and no image is written" test -z "$(find radv -type f 2>/dev/null)"
as tech view --study 1.2.3.4.5 -o none >nf.out 2>&1
check "an unknown study: not found (exit 1)" test $? -eq 1
as tech view --study "$CT_STUDY" -o x.png >/dev/null 2>&1
check "a .png output for a whole study is a usage error (exit 2)" test $? -eq 2
as tech view --study "$CT_STUDY" >/dev/null 2>&1
check "no output: usage error (exit 2)" test $? -eq 2
as tech view --study "$CT_STUDY" -o q --quality 101 >/dev/null 2>&1
check "--quality 101: usage error (exit 2)" test $? -eq 2
done_testing
