#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_vault_deid.sh - exports for teaching and research leave the vault de-identified.
# `export --purpose research|teaching` (and a researcher's own session) go through deid/: the
# files carry new UIDs, PatientIdentityRemoved YES and none of the input's identifiers (dcmdump
# of every output searched for the input's name, ID, birth date, study UID and accession);
# the same project gives the same UIDs twice, another project different ones; the audit log
# records "deidentify" (DCM 110103 + DEID) with the purpose and the project before the files;
# a researcher gets only de-identified data of a study granted to them and no find; a file
# whose identifier survives (planted where the profile keeps values) is not written (exit 4).
# A de-identified copy carries the forensic mark like any export: a research export of a
# synthetic radiograph, rendered by DCMTK and re-saved as JPEG 70, traces to the deidentify
# entry (the privacy officer's trace).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vault_access.sh"
vault_test_start "vault deid"
CT=$TESTDATA/pydicom/CT_small.dcm
MR=$TESTDATA/pydicom/MR_small.dcm
val() { dcmdump +P "$2" "$1" 2>/dev/null | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1; }
CT_STUDY=$(val "$CT" 0020,000d)
PNAME=$(val "$CT" 0010,0010)
PID=$(val "$CT" 0010,0020)
BIRTH=$(val "$CT" 0010,0030)
ACC=$(val "$CT" 0008,0050)
# a copy of the MR that names its patient where the profile keeps values (0028,1055)
cp "$MR" planted.dcm
MR_NAME=$(val "$MR" 0010,0010)
dcmodify -nb -i "(0028,1055)=${MR_NAME//^/ }" planted.dcm >/dev/null 2>&1
MR_STUDY=$(val planted.dcm 0020,000d)

"$DV_BIN" init "$V" >init.out 2>&1
check "log in the administrator and a technologist" access_setup "$V" init.out
access_users "$V" res:researcher po:privacy-officer
as tech import "$CT" planted.dcm >/dev/null 2>&1
check "the technologist imports the CT and the planted MR" test $? -eq 0

# no identifier of the CT in any output file (dcmdump of each)
clean() {
  local f bad=0
  for f in "$1"/*.dcm; do
    dcmdump "$f" >"$f.txt" 2>&1 || bad=1
    grep -qF -e "$PID" -e "$CT_STUDY" "$f.txt" && bad=1
    [ -n "$BIRTH" ] && grep -qF "$BIRTH" "$f.txt" && bad=1
    [ -n "$ACC" ] && grep -qF "[$ACC]" "$f.txt" && bad=1
    grep -qiF "${PNAME%%^*}" "$f.txt" && bad=1
  done
  return $bad
}

n0=$("$DV" audit show --log "$V/audit" --json 2>/dev/null | wc -l)
as tech export --study "$CT_STUDY" --purpose research --pixels off -o r1 >r1.out 2>&1
check "export --purpose research passes (exit 0)" test $? -eq 0
check "... one file, named by a new UID (2.25...)" \
  bash -c "ls r1 | grep -Eq '^2\.25\.[0-9]+\.dcm$' && test \$(ls r1 | wc -l) -eq 1"
check "... PatientIdentityRemoved YES" bash -c "dcmdump +P 0012,0062 r1/*.dcm | grep -q YES"
check "... no name, ID, birth date, accession or study UID of the input" clean r1
check "... mode 0600" test "$(stat -c %a r1/*.dcm)" = 600
"$DV" audit show --log "$V/audit" --json 2>/dev/null | tail -n +$((n0 + 1)) >ev.json
check "the audit log records deidentify, for research, naming the project" \
  grep -q '"action":"deidentify".*"purpose":"HRESCH".*"objects":\[{.*"detail":"de-identified for project default"' ev.json
"$DV_BIN" audit export --log "$V/audit" --format dicom-xml --since 2000-01-01T00:00:00Z >ev.xml 2>/dev/null
check "deidentify exports with type DEID" grep -q '"DEID"' ev.xml

as tech export --study "$CT_STUDY" --purpose research --pixels off -o r2 >/dev/null 2>&1
dcms() { find "$1" -name '*.dcm' -printf '%f\n' | sort; }
check "the same project twice: the same new UIDs" test "$(dcms r1)" = "$(dcms r2)"
as tech export --study "$CT_STUDY" --purpose teaching --project lecture-7 --pixels off -o t1 \
  >/dev/null 2>&1
check "teaching, another project: passes" test $? -eq 0
check "... with other UIDs" test "$(dcms r1)" != "$(dcms t1)"
check "... and still no identifier" clean t1
as tech export --study "$CT_STUDY" --purpose research --project 'bad name' -o bad >bad.out 2>&1
check "a bad project name is refused" test $? -ne 0
check "... and nothing is written" test -z "$(find bad -type f 2>/dev/null)"

# ---- a researcher ------------------------------------------------------------------------------
as res find --level study >rf.out 2>&1
check "a researcher may not search identified rows (exit 4)" test $? -eq 4
as res export --study "$CT_STUDY" -o x0 >/dev/null 2>&1
check "a researcher without a grant gets nothing (exit 4)" test $? -eq 4
as admin grant res --study "$CT_STUDY" --until +1d --reason 'IRB 2026-17' >/dev/null 2>&1
as res export --study "$CT_STUDY" -o x0 >x0.out 2>&1
check "with a grant but no export quota (researchers have none by default): pending (exit 4)" \
  bash -c "test $? -eq 4 && grep -q 'pending request' x0.out"
printf '\n[quota.researcher]\nstudies_day = 10\nstudies_hour = 10\nbytes_day = 1000000000\npatients_day = 10\n' >>"$V/access.conf"
as res export --study "$CT_STUDY" -o x1 >x1.out 2>&1
check "with a grant, the researcher's export (session purpose research) is de-identified" \
  bash -c "grep -q 'de-identified file' x1.out && ls x1 | grep -Eq '^2\.25\.'"
check "... no identifier" clean x1
check "... the same project key as the technologist's research export" test "$(dcms r1)" = "$(dcms x1)"
as res export --study "$CT_STUDY" --purpose treatment -o x2 >/dev/null 2>&1
check "a researcher cannot ask for treatment to get identified data (exit 4)" test $? -eq 4

# ---- an identifier the profile would keep: the file is not written ----------------------------
as tech export --study "$MR_STUDY" --purpose research --pixels off -o p1 >p1.out 2>&1
check "a surviving identifier fails the export (exit 4)" test $? -eq 4
check "... nothing written" test -z "$(find p1 -type f 2>/dev/null)"
check "... naming the tag, not the value" \
  bash -c "grep -q '(0028,1055)' p1.out && ! grep -qiF '${MR_NAME%%^*}' p1.out"

# ---- identified export is unchanged ------------------------------------------------------------
as tech export --study "$CT_STUDY" --original -o id1 >/dev/null 2>&1
check "an export --original for treatment is byte for byte" cmp -s "$CT" "id1/$(val "$CT" 0008,0018).dcm"

# ---- the de-identified copy carries the mark of its deidentify entry --------------------------
GEN=$ROOT/build/dcmvault
[ -x "$GEN" ] || GEN=$DV_BIN
"$GEN" demo --out demo --seed 5 --size 512 >/dev/null 2>&1
XR_STUDY=$(val demo/cr_0001.dcm 0020,000d)
as tech import demo/cr_0001.dcm >/dev/null 2>&1
n1=$("$DV" audit show --log "$V/audit" --json 2>/dev/null | wc -l)
as tech export --study "$XR_STUDY" --purpose research --pixels rules -o m1 >m1.out 2>&1
check "a research export of a synthetic radiograph (exit 0)" test $? -eq 0
"$DV" audit show --log "$V/audit" --json 2>/dev/null | tail -n +$((n1 + 1)) >mev.json
dseq=$(sed -n 's/.*"action":"watermark".*"detail":"mark of entry \([0-9]*\) .*/\1/p' mev.json)
check "... recorded as deidentify, then a watermark entry naming it (entry ${dseq:-none})" \
  grep -q "\"seq\":${dseq:-x},.*\"action\":\"deidentify\".*de-identified for project" mev.json
mf=$(ls m1/*.dcm | head -n 1)
dcmj2pnm +on "$mf" m1.png >/dev/null 2>&1
convert m1.png -quality 70 m1.jpg
as po trace m1.jpg --vault "$V" >mt.out 2>&1
check "the copy, rendered by DCMTK and re-saved as JPEG 70, traces to that entry" \
  grep -q "^event $dseq\$" mt.out
check "... a deidentify for research" grep -q '^audit entry .*deidentify.*HRESCH' mt.out
done_testing
