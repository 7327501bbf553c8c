#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_audit_events.sh - lifecycle events beyond import/find/export: the log is born with the
# vault (log-start, then the configuration entry of init, by the local administrator); five
# wrong passwords give five login-failed entries and one lockout (DCM 110137) right after the
# fifth; logout is recorded (DCM 110123) before the session ends; a break-glass opening is
# started (110127) and stopped (110138) by its holder, and an administrator's revoke of another
# opening is recorded as a stop too; an edit of access.conf is a configuration change (DCM
# 110131) recorded before the next request; no entry carries the study UID; the log verifies.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vault_access.sh"
vault_test_start "audit events"
CT=$TESTDATA/pydicom/CT_small.dcm
MR=$TESTDATA/pydicom/MR_small.dcm
uid_of() { dcmdump +P 0020,000d "$1" | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1; }
CT_STUDY=$(uid_of "$CT")
MR_STUDY=$(uid_of "$MR")
events() { "$DV" audit show --log "$V/audit" --json 2>/dev/null; }
# seq FILE: "action outcome actor" per entry
seq_of() {
  python3 -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    print(e["action"], e["outcome"], e["actor"])' "$1"
}

"$DV_BIN" init "$V" >init.out 2>&1
check "init exits 0" test $? -eq 0
"$DV_BIN" audit show --log "$V/audit" --json >born.json 2>/dev/null
seq_of born.json >born.txt
check "the log's first entry: log-start (recording started)" \
  test "$(sed -n 1p born.txt | cut -d' ' -f1-2)" = "log-start 0"
check "the second: the vault's configuration (init)" \
  test "$(sed -n 2p born.txt | cut -d' ' -f1-2)" = "config 0"
check "... by the local administrator who ran init" grep -q "^config 0 local:" born.txt
check "... naming the cipher, no key material" \
  python3 -c 'import json,sys; e=[json.loads(l) for l in open(sys.argv[1])][1]; d=e.get("detail",""); sys.exit(0 if "cipher" in d and len(d) < 96 else 1)' born.json
"$DV_BIN" audit export --log "$V/audit" --format dicom-xml >born.xml 2>/dev/null
check "log-start exports as DCM 110134 Audit Recording Started" grep -q '110134' born.xml
check "init exports as DCM 110131 Software Configuration" grep -q '110131' born.xml

check "log in the administrator and a technologist" access_setup "$V" init.out
access_users "$V" rad:radiologist
"$DV" import "$CT" "$MR" >/dev/null 2>&1

# ---- configuration changes ------------------------------------------------------------------------
events >cfg.json
check "access.conf written by the setup: one config entry by 'system' naming it" \
  test "$(grep -c '"action":"config".*"actor":"system".*access.conf changed' cfg.json)" -eq 1
as tech find --level study >/dev/null 2>&1
check "no change, no entry" test "$(events | grep -c '"action":"config".*"actor":"system"')" -eq 1
n_cfg=$(events | wc -l)
printf '\n[quota.user.tech]\nstudies_hour = 7\n' >>"$V/access.conf"
as tech find --level study >/dev/null 2>&1
events | tail -n +$((n_cfg + 1)) >cfg2.json
check "an edit of access.conf: a config entry before the next request's" \
  test "$(head -n 1 cfg2.json | grep -c '"action":"config".*access.conf changed')" -eq 1

# ---- lockout -----------------------------------------------------------------------------------
n0=$(events | wc -l)
echo 'not the password at all' >wrong.pw
for i in 1 2 3 4 5; do
  HOME=$TMP/home-x "$DV_BIN" login --as tech --password-file wrong.pw >/dev/null 2>&1 </dev/null
done
events | tail -n +$((n0 + 1)) >lock.json
seq_of lock.json >lock.txt
check "five wrong passwords: five login-failed entries" test "$(grep -c '^login-failed 4 tech$' lock.txt)" -eq 5
check "... and one lockout, right after the fifth" \
  test "$(sed -n 6p lock.txt)" = "lockout 0 tech" -a "$(wc -l <lock.txt)" -eq 6
events | tail -n +$((n0 + 1)) >/dev/null
"$DV_BIN" audit export --log "$V/audit" --format dicom-xml --since 2000-01-01T00:00:00Z >all.xml 2>/dev/null
check "lockout exports as DCM 110137" grep -q '110137' all.xml

# ---- break-glass start / stop; revoke of an opening ----------------------------------------------
n1=$(events | wc -l)
as rad breakglass --study "$CT_STUDY" --reason "trauma bay, consultant unreachable" >bg.out 2>&1
check "the radiologist opens the CT study by break-glass" test $? -eq 0
id=$(sed -n 's/^emergency override \([0-9]*\) started.*/\1/p' bg.out)
as rad find --level study --json >bgf.json 2>&1
check "... and finds it meanwhile" grep -q "$CT_STUDY" bgf.json
as rad breakglass --stop "$id" >stop.out 2>&1
check "the radiologist stops the opening" test $? -eq 0
as rad find --level study --json >bgf2.json 2>&1
check "after the stop the study is out of sight" bash -c "! grep -q '$CT_STUDY' bgf2.json"
as rad breakglass --stop "$id" >stop2.out 2>&1
rc=$?
check "stopping it again: not found (exit $rc)" test "$rc" -ne 0
check "... saying no such opening is open" grep -q 'no emergency override' stop2.out
as rad breakglass --study "$MR_STUDY" --reason "night call" >bg2.out 2>&1
id2=$(sed -n 's/^emergency override \([0-9]*\) started.*/\1/p' bg2.out)
as admin revoke "$id2" >/dev/null 2>&1
check "the administrator revokes the second opening" test $? -eq 0
events | tail -n +$((n1 + 1)) >bg.json
seq_of bg.json | grep -v '^denied' >bg.txt
check "events: start, stop (holder), start, stop (administrator)" test \
  "$(cut -d' ' -f1 bg.txt | grep -v '^query$' | tr '\n' ' ')" = \
  "breakglass-start breakglass-stop breakglass-start breakglass-stop "
check "the first stop is the radiologist's" test "$(grep '^breakglass-stop' bg.txt | head -n 1 | cut -d' ' -f3)" = rad
check "the second stop is the administrator's" test "$(grep '^breakglass-stop' bg.txt | tail -n 1 | cut -d' ' -f3)" != rad
"$DV_BIN" audit export --log "$V/audit" --format dicom-xml --since 2000-01-01T00:00:00Z >all2.xml 2>/dev/null
check "stops export as DCM 110138 Emergency Override Stopped" grep -q '110138' all2.xml

# ---- logout ------------------------------------------------------------------------------------
n2=$(events | wc -l)
as rad logout >/dev/null 2>&1
check "logout exits 0" test $? -eq 0
events | tail -n +$((n2 + 1)) >lo.json
check "logout is recorded, naming the account" test "$(seq_of lo.json)" = "logout 0 rad"
as rad logout >/dev/null 2>&1
events | tail -n +$((n2 + 1)) >lo2.json
check "a second logout (no session) records nothing" test "$(wc -l <lo2.json)" -eq 1

events >all.json
check "no entry carries a study UID" bash -c "! grep -qF -e '$CT_STUDY' -e '$MR_STUDY' all.json"
"$DV_BIN" audit verify --log "$V/audit" --pubkey "$V/audit.vkey" >ver.out 2>&1
check "audit verify passes" test $? -eq 0
done_testing
