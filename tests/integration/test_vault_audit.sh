#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_vault_audit.sh - every vault operation lands in the tamper-evident log before its
# effect: a scripted session of imports, a find, an export, a failed and a good login and a
# shred produces exactly the expected events, in order, with their outcomes; the log verifies
# with only its folder and public key; it holds no patient identifier; and when the log cannot
# be written, the operation fails.
source "$(dirname "$0")/lib.sh"
need_testdata "vault audit"
source "$(dirname "$0")/vault_access.sh"
access_need "vault audit"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
cd "$TMP" || exit 1
V=$TMP/v
export DCMVAULT_DIR=$V
"$DV" init "$V" >init.out 2>&1
check "log in (administrator, technologist)" access_setup "$V" init.out
# the scripted session's events are those after the log-ins of the set-up
n_setup=$("$DV" audit show --log "$V/audit" --json 2>/dev/null | wc -l)
CT=$TESTDATA/pydicom/CT_small.dcm
MR=$TESTDATA/pydicom/MR_small.dcm
CT_STUDY=$(dcmdump +P 0020,000d "$CT" | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1)

"$DV" import "$CT" "$MR" >/dev/null 2>&1
"$DV" find --modality CT >/dev/null 2>&1
"$DV" export --study "$CT_STUDY" -o exp >/dev/null 2>&1
echo 'not the password at all' >wrong.pw
"$DV" login --as admin --password-file wrong.pw >/dev/null 2>&1
check "a wrong password is refused (exit 4)" test $? -eq 4
oathtool --totp -b -N "@$(($(date +%s) + 30))" "$(cat .acc-admin.secret)" >admin.next
HOME=$TMP/home-admin "$DV_BIN" login --as admin --password-file .acc-admin.pw \
  --totp-file admin.next >/dev/null 2>&1
check "the right one (password and the next step's code) logs in" test $? -eq 0
"$DV" shred --study "$CT_STUDY" --reason "test: duplicate acquisition" >/dev/null 2>&1
check "shred exits 0" test $? -eq 0

"$DV" audit show --log "$V/audit" --json >events.json 2>err
check "audit show reads the vault's log" test $? -eq 0
tail -n +$((n_setup + 1)) events.json >session.json
python3 - session.json <<'PY' >seq.txt
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    kinds = ",".join(sorted(o.split("=")[0] if isinstance(o, str) else o.get("type", "?")
                            for o in e.get("objects", [])))
    print(e["action"], e["outcome"], kinds)
PY
cat >expected.txt <<'EXP'
import 0 
import 0 patient,study
import 0 patient,study
query 0 
export 0 
export 0 patient,study
watermark 0 
login-failed 4 
login 0 
shred 0 
shred 0 patient,study
EXP
if diff -u expected.txt seq.txt >diff.txt; then
  ok "the session produced exactly the expected events, in order, with outcomes"
else
  fail "event sequence differs: $(tr '\n' ' ' <diff.txt | cut -c1-400)"
fi
s1=$(python3 -c 'import json,sys; print([json.loads(l)["objects"] for l in open(sys.argv[1])][1])' session.json)
s2=$(python3 -c 'import json,sys; print([json.loads(l)["objects"] for l in open(sys.argv[1])][5])' session.json)
check "the export names the same study pseudonym as its import" test "$s1" = "$s2"
check "no event carries the study UID" bash -c "! grep -qF '$CT_STUDY' events.json"

"$DV" audit verify --log "$V/audit" --pubkey "$V/audit.vkey" >ver.out 2>&1
check "audit verify passes with only the folder and the public key" test $? -eq 0
# the verifier needs nothing else: copy the folder and key elsewhere, without the vault
mkdir lonely && cp -r "$V/audit" lonely/ && cp "$V/audit.vkey" lonely/
"$DV" audit verify --log lonely/audit --pubkey lonely/audit.vkey >/dev/null 2>&1
check "... even far from the vault (no key file, no database)" test $? -eq 0

printf '%s\n' "$CT" "$MR" >list.txt
python3 "$ROOT/tests/integration/py/phi_scan.py" list.txt "$DV" "$V/audit" >phi.out 2>&1
check "the log folder holds none of the patients' identifiers" test $? -eq 0

# ---- the privacy officer's view: names instead of pseudonyms, and the read is on the record --
if command -v oathtool >/dev/null 2>&1; then
  as() { # USER CMD...: the administrator's session from the set-up, or USER's own
    local u=$1; shift
    if [ "$u" = admin ]; then HOME=$TMP/home-admin "$DV_BIN" "$@"
    else DCMVAULT_SESSION=$TMP/$u.ses "$DV_BIN" "$@"; fi
  }
  totp() { oathtool --totp -b -N "@$(($(date +%s) + ${2:-0}))" "$1"; }
  activate() { # USER OTPFILE NEWPASSWORD: password change, TOTP enrolment, login with both
    local u=$1 otp=$2 sec
    printf '%s\n' "$3" >"$u.pw"
    as "$u" login --as "$u" --password-file "$otp" >/dev/null 2>&1 || return 1
    as "$u" passwd --old-password-file "$otp" --new-password-file "$u.pw" >/dev/null 2>&1 || return 1
    as "$u" user totp >"$u.totp" 2>&1 || return 1
    sec=$(sed -n 's/^TOTP secret (base32): //p' "$u.totp")
    totp "$sec" >"$u.code"
    as "$u" login --as "$u" --password-file "$u.pw" --totp-file "$u.code" >/dev/null 2>&1
  }
  as admin user add po1 --roles privacy-officer >po.out 2>&1
  sed -n 's/.*one-time password: //p' po.out >po1.otp
  activate po1 po1.otp 'Privacy-Watch-2026-xyz'
  check "a privacy officer account is activated" test $? -eq 0
  MR_PID=$(dcmdump +P 0010,0020 "$MR" | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1)
  as po1 audit show --vault "$V" --patient-id "$MR_PID" >po.show 2>&1
  check "the privacy officer filters the log by patient id" test $? -eq 0
  check "... and sees the patient named, not a pseudonym" grep -qF "patient=$MR_PID" po.show
  check "... only that patient's events (MR import, no CT export)" \
    bash -c "grep -q ' import ' po.show && ! grep -q ' export ' po.show"
  "$DV" audit show --log "$V/audit" --action audit-read >reads.txt 2>&1
  check "the read itself is in the log" grep -q 'audit-read .*actor=po1' reads.txt
  as admin audit show --vault "$V" >adm.show 2>&1
  check "the administrator may not read the log through the vault (exit 4)" test $? -eq 4
  "$DV" audit show --log "$V/audit" >plain.show 2>&1
  check "without the vault the log shows pseudonyms only" bash -c "! grep -qF '$MR_PID' plain.show"
else
  skip "privacy officer view" "oathtool is not installed (bash scripts/deps.sh)"
fi

# audit before effect: with the log unwritable, the operation fails and changes nothing
n_before=$("$DV" find --level instance --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
mv "$V/audit" "$V/audit.moved" && touch "$V/audit" # a file where the log folder should be
"$DV" import "$TESTDATA/pydicom/rtplan.dcm" >imp.out 2>&1
rc=$?
rm -f "$V/audit" && mv "$V/audit.moved" "$V/audit"
check "with the log unwritable, import fails" test "$rc" -ne 0
n_after=$("$DV" find --level instance --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
check "... and stored nothing" test "$n_before" = "$n_after"
"$DV" audit verify --log "$V/audit" --pubkey "$V/audit.vkey" >/dev/null 2>&1
check "the log still verifies afterwards" test $? -eq 0
done_testing
