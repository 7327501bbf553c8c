#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_access_seed.sh - the seed's leak, replayed against the one door: a maintenance
# contractor's account runs find, export and a scripted loop of exports over every study; each
# request is refused (exit 4), the privacy officer sees an alert, and each refusal is in the
# tamper-evident audit log as "denied".  A technologist with grants exports up to the quota,
# the rest waits for a second person (self-approval refused, another approver releases it);
# the administrator cannot read a PHI field through find or export; an expired grant stops an
# export.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vault_access.sh"
vault_test_start "access seed"
SRC=$TESTDATA/orthanc-tests/HierarchicalAnonymization/2019-03-28/CR000000.dcm
if [ ! -f "$SRC" ]; then
  skip "access seed" "$SRC is absent"
  done_testing
fi
UIDP=1.2.276.0.7230010.3.1
UIDS=665618.6496.1546453790
python3 "$ROOT/tests/integration/py/gen_instances.py" "$SRC" "$TMP/gen" 8 "$UIDP.4.$UIDS.314808" \
  "$UIDP.2.$UIDS.314806" "$UIDP.3.$UIDS.314807" 1 >/dev/null
mapfile -t STUDIES < <(for f in gen/*; do dcmdump +P 0020,000d "$f" |
  sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1; done | sort -u)
check "8 studies generated" test "${#STUDIES[@]}" -eq 8

# ---- people ---------------------------------------------------------------------------------
"$DV" init "$V" >init.out 2>&1
check "log in the administrator (and a first technologist)" access_setup "$V" init.out
cat >"$V/access.conf" <<'CONF'
[access]
window_patients = 1000
offhours_max = 1000
syslog = no

[quota.technologist]
studies_hour = 3
CONF
access_users "$V" po:privacy-officer rad:radiologist mnt:maintenance svc:service
as svc import gen >imp.out 2>&1
check "the service account imports the 8 studies" grep -q 'summary: imported 8,' imp.out

# ---- the maintenance contractor -----------------------------------------------------------------
n0=$("$DV" audit show --log "$V/audit" --json 2>/dev/null | wc -l)
as mnt find --level study >mf.out 2>mf.err
check "maintenance: find is refused (exit 4)" test $? -eq 4
check "... and shows no row" test ! -s mf.out
as mnt export --study "${STUDIES[0]}" -o mexp >/dev/null 2>&1
check "maintenance: export is refused (exit 4)" test $? -eq 4
refused=0 tries=0
for round in 1 2; do
  for uid in "${STUDIES[@]}"; do
    tries=$((tries + 1))
    as mnt export --study "$uid" -o mexp >/dev/null 2>&1
    [ $? -eq 4 ] && refused=$((refused + 1))
  done
done
check "a scripted loop of $tries exports: every one refused (exit 4)" test "$refused" -eq "$tries"
check "nothing left the vault" test -z "$(find mexp -type f 2>/dev/null)"
as po alerts list >alerts.out 2>&1
check "the privacy officer sees an alert about the maintenance account" grep -q 'user mnt' alerts.out
"$DV" audit show --log "$V/audit" --json >events.json 2>/dev/null
denied=$(tail -n +$((n0 + 1)) events.json | python3 -c '
import json, sys
print(sum(1 for l in sys.stdin if json.loads(l)["action"] == "denied"))')
echo "# $denied denied events for $((tries + 2)) refused requests"
check "each refusal is in the audit log as 'denied'" test "$denied" -ge $((tries + 2))
check "... naming the maintenance account" grep -q '"denied".*"mnt"\|"mnt".*"denied"' events.json

# ---- the administrator never reads PHI -----------------------------------------------------------
as admin find --level study >af.out 2>&1
check "the administrator's find is refused (exit 4)" test $? -eq 4
check "... and prints no patient field" bash -c "! grep -q 'PatientName' af.out"
as admin export --study "${STUDIES[0]}" -o aexp >/dev/null 2>&1
check "the administrator's export is refused (exit 4)" test $? -eq 4

# ---- a technologist with grants: the quota, then four eyes ----------------------------------------
for i in 0 1 2 3 4; do
  as admin grant tech --study "${STUDIES[$i]}" --until +1h --reason 'worklist' >/dev/null 2>&1
done
as tech find --level study --json >tf.json 2>&1
check "the technologist finds exactly the 5 granted studies" \
  test "$(grep -c '"StudyInstanceUID"' tf.json)" -eq 5
ok=0
for i in 0 1 2; do
  as tech export --study "${STUDIES[$i]}" -o texp >/dev/null 2>&1 && ok=$((ok + 1))
done
check "exports within the quota (3 studies/hour) pass" test "$ok" -eq 3
as tech export --study "${STUDIES[3]}" -o texp >/dev/null 2>q.err
check "the next export stops at the quota (exit 4)" test $? -eq 4
check "... as a pending request" grep -q 'pending request' q.err
id=$(sed -n 's/.*pending request \([0-9]*\).*/\1/p' q.err | head -n 1)
as tech approvals approve "$id" >/dev/null 2>&1
check "the requester cannot approve their own request" test $? -eq 4
as tech export --study "${STUDIES[3]}" -o texp >/dev/null 2>&1
check "still waiting: the export is refused" test $? -eq 4
as rad approvals approve "$id" >appr.out 2>&1
check "a second person (radiologist) approves it" test $? -eq 0
as tech export --study "${STUDIES[3]}" -o texp >/dev/null 2>&1
check "the approved export passes" test $? -eq 0
check "4 files exported in all" test "$(find texp -type f | wc -l)" -eq 4

# ---- an expired grant stops export ---------------------------------------------------------------
as admin grant rad --study "${STUDIES[6]}" --until +3s --reason 'reading list' >/dev/null 2>&1
as rad export --study "${STUDIES[6]}" -o rexp >/dev/null 2>&1
check "the radiologist exports with a grant" test $? -eq 0
sleep 4
as rad export --study "${STUDIES[6]}" -o rexp2 >/dev/null 2>r.err
check "after its expiry the export is refused (exit 4)" test $? -eq 4
check "... for lack of a care relationship" grep -q 'care relationship' r.err
done_testing
