#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_vault_basic.sh - creating and opening vaults (keys, refusals, config errors), import
# (duplicates, --replace, bad input, DICOMDIR) and find (name, wildcard, ID, date, modality,
# accession, levels, JSON).
source "$(dirname "$0")/lib.sh"
need_testdata "vault basic"
if [ ! -x "$DV" ]; then
  fail "no binary at $DV (make build/asan/dcmvault)"
  done_testing
fi
source "$(dirname "$0")/vault_access.sh"
access_need "vault basic"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
cd "$TMP" || exit 1
unset DCMVAULT_DIR

# ---- init ------------------------------------------------------------------------------------
"$DV" init v >init.out 2>&1
check "init exits 0" test $? -eq 0
check "the folder is mode 0700" test "$(stat -c %a v)" = 700
check "the key file is beside the folder (v.kek), mode 0600" test "$(stat -c %a v.kek)" = 600
check "init names the key file" grep -q 'key file: v.kek' init.out
check "no key file inside the folder" test -z "$(grep -rl -F "$(cat v.kek)" v 2>/dev/null)"
for f in dcmvault.conf keys.sealed index.sqlite objects tmp; do
  check "v/$f exists" test -e "v/$f"
done
pw=$(sed -n 's/^one-time password: //p' init.out)
check "a one-time password of 20 characters from a 64-symbol alphabet is printed" \
  bash -c "[[ '$pw' =~ ^[A-Za-z0-9_-]{20}$ ]]"
check "the password is not stored in clear" test -z "$(grep -rl -F "$pw" v)"
"$DV" init v2 >init2.out 2>&1
pw2=$(sed -n 's/^one-time password: //p' init2.out)
check "two vaults get different passwords" test "$pw" != "$pw2"
check "two vaults get different keys" test "$(cat v.kek)" != "$(cat v2.kek)"
check "log in to v (administrator, technologist)" access_setup v init.out
check "log in to v2" access_setup v2 init2.out
"$DV" init v >/dev/null 2>&1
check "init refuses an existing vault" test $? -ne 0
rm -rf v3
"$DV" init v3 --pkcs11 'pkcs11:token=x' >/dev/null 2>pk.err
check "--pkcs11 is refused as not supported" grep -q 'not supported in this build' pk.err
check "the refused init left nothing" test ! -e v3 -a ! -e v3.kek

# ---- opening: wrong key, readable key, config errors ---------------------------------------
"$DV" check --vault v --key-file v2.kek >/dev/null 2>err
check "a wrong key file is refused with exit 4" test $? -eq 4
check "the message says the key does not open this vault" grep -q 'the key does not open this vault' err
chmod 644 v.kek
"$DV" check --vault v >/dev/null 2>err
check "a key file readable by others is refused with exit 4" test $? -eq 4
check "the refusal says to chmod 600" grep -q 'chmod 600' err
chmod 600 v.kek
cp v/dcmvault.conf conf.bak
printf '[vault]\ncipher = aes256gcm\nbogus = 1\n[kek]\nmode = keyfile\n' >v/dcmvault.conf
before=$(ls -A v | sort | tr '\n' ' ')
"$DV" check --vault v >/dev/null 2>err
check "a config with an unknown key is refused" test $? -ne 0
check "the error names the line and the key" grep -q "line 3: unknown key (key 'bogus' in \[vault\])" err
check "nothing was created by the failed open" test "$(ls -A v | sort | tr '\n' ' ')" = "$before"
cp conf.bak v/dcmvault.conf
"$DV" check --vault v >/dev/null 2>&1
check "the restored config opens" test $? -eq 0
"$DV" check >/dev/null 2>err
check "no --vault and no DCMVAULT_DIR: usage error (exit 2)" test $? -eq 2

# ---- passphrase vaults -----------------------------------------------------------------------
export PP='correct horse battery staple'
"$DV" init pv --passphrase-env PP >pv.out 2>&1
check "init with a passphrase" test $? -eq 0 -a ! -e pv.kek
check "the config records mode = passphrase and a salt" grep -q '^salt = [0-9a-f]\{32\}$' pv/dcmvault.conf
check "log in to pv" access_setup pv pv.out --passphrase-env PP
check "the passphrase opens it" "$DV" check --vault pv --passphrase-env PP
PP=wrong-passphrase-here "$DV" check --vault pv --passphrase-env PP >/dev/null 2>err
check "a wrong passphrase is refused with exit 4" test $? -eq 4
SHORT=short "$DV" init pv2 --passphrase-env SHORT >/dev/null 2>&1
check "a passphrase under 12 characters is refused" test $? -ne 0 -a ! -e pv2

# ---- import ---------------------------------------------------------------------------------
export DCMVAULT_DIR=$TMP/v
CT=$TESTDATA/pydicom/CT_small.dcm
"$DV" import "$CT" >imp.out 2>&1
check "import one file" grep -q 'summary: imported 1, replaced 0, skipped 0 (duplicates), rejected 0' imp.out
"$DV" import "$CT" >imp.out 2>&1
check "the same SOP Instance UID again is skipped as a duplicate, exit 0" \
  bash -c "[ $? -eq 0 ] && grep -q 'skipped 1 (duplicates)' imp.out"
"$DV" import --replace "$CT" >imp.out 2>&1
check "--replace overwrites it" grep -q 'replaced 1' imp.out
check "after --replace no orphan object remains" "$DV" check
head -c 300 "$CT" >trunc.dcm
objs=$(find v/objects -type f | wc -l)
"$DV" import trunc.dcm >imp.out 2>imp.err
check "a truncated file is rejected with exit 1" test $? -eq 1
check "the rejection names offset or tag, not a value" grep -q 'trunc.dcm: .*at offset' imp.err
check "the rejected file changed nothing" test "$(find v/objects -type f | wc -l)" -eq "$objs"
echo "not dicom at all" >junk.dcm
"$DV" import junk.dcm >/dev/null 2>&1
check "a non-DICOM file is rejected" test $? -eq 1

DD=$TESTDATA/pydicom/dicomdirtests
if [ -f "$DD/DICOMDIR" ]; then
  "$DV" import --vault v2 "$DD/DICOMDIR" >dd.out 2>dd.err
  rc=$?
  n=$(sed -n 's/^summary: imported \([0-9]*\),.*/\1/p' dd.out)
  refs=$(dcmdump +P 0004,1500 "$DD/DICOMDIR" 2>/dev/null | grep -c '0004,1500')
  echo "# DICOMDIR: $refs referenced files; $(cat dd.out)"
  check "a DICOMDIR imports the files it references (exit $rc)" test "$rc" -eq 0 -a "${n:-0}" -eq "$refs"
  "$DV" import --vault v2 "$DD" >dd2.out 2>&1
  check "the same folder walked: its files are duplicates, the DICOMDIRs skipped" \
    grep -q "summary: imported 0," dd2.out
else
  skip "DICOMDIR import" "no $DD/DICOMDIR"
fi

# ---- find -------------------------------------------------------------------------------------
CH=$TESTDATA/fo-dicom/charset
"$DV" import "$CH" "$TESTDATA/pydicom/MR_small.dcm" >/dev/null 2>&1
"$DV" find --patient-name 'Wang^XiaoDong' --json >f.json
check "exact name (normalised) finds the ISO 2022 files" \
  test "$(grep -c '"PatientID"' f.json)" -ge 1
"$DV" find --patient-name 'wang' --level patient --json >f.json
check "family name alone, lower case, matches" grep -q 'X2EXAMPLE' f.json
"$DV" find --patient-name 'WANG*' --level patient --json >f.json
check "wildcard WANG* matches" grep -q 'X1EXAMPLE' f.json
"$DV" find --patient-name '王^小东' --level patient --json >f.json
check "the ideographic group matches" grep -q 'X2EXAMPLE' f.json
"$DV" find --patient-name 'Äneas' --level patient --json >f.json
check "a Latin-1 family name matches (UTF-8 query)" grep -q 'SCSGERM' f.json
"$DV" find --patient-name 'äneas^rüdiger' --level patient --json >f.json
check "non-ASCII case folding: äneas^rüdiger matches" grep -q 'SCSGERM' f.json
"$DV" find --patient-name 'NOBODY' --json >f.json
check "no match: an empty JSON array" test "$(tr -d ' \n' <f.json)" = "[]"
pid=$(dcmdump +P 0010,0020 "$CT" | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1)
"$DV" find --patient-id "$pid" --level instance --json >f.json
check "by PatientID" grep -q '"Modality": "CT"' f.json
date=$(dcmdump +P 0008,0020 "$CT" | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1)
"$DV" find --study-date "$date-$date" --modality CT --json >f.json
check "by date range and modality" grep -q "\"StudyDate\": \"$date\"" f.json
"$DV" find --study-date "${date:0:6}01-${date:0:6}01" --json >f.json
check "a range before the day excludes it (exact date, not month)" \
  bash -c "[ '${date:6:2}' = 01 ] || ! grep -q '\"StudyDate\": \"$date\"' f.json"
"$DV" find --study-date 2024-13 >/dev/null 2>&1
check "a bad date range is a usage error (exit 2)" test $? -eq 2
"$DV" find --modality MR --level series >f.txt
check "table output has a header" grep -q '^PatientName' f.txt
"$DV" find --level bogus >/dev/null 2>&1
check "a bad --level is a usage error" test $? -eq 2

done_testing
