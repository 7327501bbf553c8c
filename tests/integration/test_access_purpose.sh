#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_access_purpose.sh - the purpose of use per request, and the import rule for the referring
# physician.  find/export/import take --purpose (HL7 code or plain word); the audit entry names
# the purpose as an HL7 code; teaching and research get only de-identified exports and no
# identified find; an unknown purpose is refused.  access.conf [import.referring] maps a
# ReferringPhysicianName to an
# account: an import gives that account (and only it) an import-rule grant on the study; a
# broken map is refused with the line named, and nothing is stored.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vault_access.sh"
vault_test_start "access purpose"
SRC=$TESTDATA/orthanc-tests/HierarchicalAnonymization/2019-03-28/CR000000.dcm
if [ ! -f "$SRC" ]; then
  skip "access purpose" "$SRC is absent"
  done_testing
fi
UIDP=1.2.276.0.7230010.3.1
UIDS=665618.6496.1546453790
python3 "$ROOT/tests/integration/py/gen_instances.py" "$SRC" "$TMP/gen" 3 "$UIDP.4.$UIDS.314808" \
  "$UIDP.2.$UIDS.314806" "$UIDP.3.$UIDS.314807" 1 >/dev/null
# the first two studies name a referring physician (written by dcmtk's dcmodify), the third none
dcmodify -nb -i "(0008,0090)=Huang^Wei" gen/f00000.dcm >/dev/null 2>&1
dcmodify -nb -i "(0008,0090)=HUANG^WEI^^^" gen/f00001.dcm >/dev/null 2>&1
mapfile -t STUDIES < <(for f in gen/*; do dcmdump +P 0020,000d "$f" |
  sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1; done)
check "3 studies generated, 2 naming a referring physician" test "${#STUDIES[@]}" -eq 3 -a \
  "$(dcmdump +P 0008,0090 gen/f00001.dcm | grep -c 'HUANG^WEI')" -eq 1

"$DV" init "$V" >init.out 2>&1
check "log in the administrator and a technologist" access_setup "$V" init.out
access_users "$V" drhuang:referring-physician rad:radiologist
events() { "$DV" audit show --log "$V/audit" --json 2>/dev/null; }

# ---- a broken [import.referring] map: refused, the line named, nothing stored ----------------
cp "$V/access.conf" access.conf.good
printf '\n[import.referring]\nHUANG^WEI =\n' >>"$V/access.conf"
as tech import gen >bad.out 2>&1
rc=$?
check "import with a broken referring map fails (exit 3)" test "$rc" -eq 3
check "... naming the line and the rule" grep -q 'access.conf line [0-9]*: account name empty' bad.out
cp access.conf.good "$V/access.conf"
as tech find --level study --json >none.out 2>&1
check "... and nothing was stored" test "$(grep -c '"StudyInstanceUID"' none.out)" -eq 0

# ---- the import rule: the referring physician gets a grant ------------------------------------
cp access.conf.good "$V/access.conf"
printf '\n[import.referring]\n  huang ^ wei  = drhuang\nNOBODY^HERE = ghost\n' >>"$V/access.conf"
as tech import gen >imp.out 2>&1
check "the technologist imports the 3 studies" grep -q 'summary: imported 3,' imp.out
as drhuang grants --mine >g.out 2>&1
check "the referring physician holds 2 import-rule grants" \
  test "$(grep -c 'import-rule' g.out)" -eq 2
check "... made by the importing account" test "$(grep -c 'import-rule, by tech' g.out)" -eq 2
as drhuang find --level study --json >df.out 2>&1
check "the referring physician finds exactly the 2 studies that name them" \
  test "$(grep -c '"StudyInstanceUID"' df.out)" -eq 2
check "... not the third" bash -c "! grep -q '${STUDIES[2]}' df.out"
as drhuang export --study "${STUDIES[0]}" -o dexp >/dev/null 2>&1
check "the referring physician exports a study that names them" test $? -eq 0
as drhuang export --study "${STUDIES[2]}" -o dexp2 >/dev/null 2>d2.err
check "... but not the one that does not (exit 4)" test $? -eq 4
as rad grants --mine >rg.out 2>&1
check "no one else got a referring grant" test "$(grep -c 'import-rule' rg.out)" -eq 0

# ---- purpose of use per request ----------------------------------------------------------------
n0=$(events | wc -l)
as tech find --level study --purpose treatment >tf.out 2>&1
check "find --purpose treatment passes" test $? -eq 0
events | tail -n +$((n0 + 1)) >e0.json
check "... and is logged with the purpose TREAT" grep -q '"query".*"TREAT"\|"TREAT".*"query"' e0.json
n1=$(events | wc -l)
as tech export --study "${STUDIES[0]}" --purpose quality -o qexp >/dev/null 2>q.err
check "export --purpose quality needs a second person: refused (exit 4)" test $? -eq 4
check "... as a pending request" grep -q 'pending request' q.err
events | tail -n +$((n1 + 1)) >e1.json
check "... logged as denied with HQUALIMP" grep -q '"denied".*"HQUALIMP"\|"HQUALIMP".*"denied"' e1.json
as tech export --study "${STUDIES[0]}" --purpose TREAT -o texp >/dev/null 2>&1
check "export --purpose TREAT passes for the granted technologist" test $? -eq 0
for p in research teaching HRESCH TRAIN; do
  rm -rf rexp
  as tech export --study "${STUDIES[0]}" --purpose "$p" --pixels off -o rexp >/dev/null 2>r.err
  check "export --purpose $p passes, de-identified" bash -c \
    "test $? -eq 0 && dcmdump +P 0012,0062 rexp/*.dcm | grep -q YES"
  check "... the identified file does not leave" bash -c "! cmp -s gen/f00000.dcm rexp/*.dcm"
done
n2=$(events | wc -l)
as tech find --level study --purpose research >rf.out 2>&1
check "find --purpose research (names and IDs) is refused (exit 4)" test $? -eq 4
events | tail -n +$((n2 + 1)) >e2.json
check "... logged as denied with HRESCH" grep -q '"denied".*"HRESCH"\|"HRESCH".*"denied"' e2.json
as tech find --level study --purpose shopping >u.out 2>&1
check "an unknown purpose is refused (exit 4)" test $? -eq 4
check "... saying so" grep -q 'unknown purpose' u.out
as tech find --level study --purpose >/dev/null 2>&1
check "--purpose without a value is a usage error (exit 2)" test $? -eq 2
done_testing
