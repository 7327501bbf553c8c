#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_audit.sh - the audit log through the CLI: a scripted session gives exactly the expected
# entries in order; verify passes; each kind of tampering is caught and named; inclusion and
# consistency proofs check with an independent Python verifier (py/audit_tool.py, hashlib) and
# the checkpoint signature with `openssl pkeyutl -verify -rawin`; the DICOM XML export validates
# against the shared XSD (xmllint); the FHIR export has the R4 shape; no planted patient string
# reaches the log folder; kill -9 during a burst loses no acknowledged entry.
source "$(dirname "$0")/lib.sh"
PY=$ROOT/tests/integration/py/audit_tool.py
XSD=$ROOT/../shared/reference/audit/audit-message.xsd
K=$TMP/keys
mkdir -p "$K"

"$DV" audit keygen --name dcmvault.test/audit --out-secret "$K/sk" --out-pubkey "$K/pk" 2>"$TMP/err"
check "keygen writes a 0600 secret key and a vkey" \
  test "$(stat -c %a "$K/sk")" = 600 -a -s "$K/pk"
"$DV" audit keygen --name other.test/audit --out-secret "$K/sk2" --out-pubkey "$K/pk2" 2>"$TMP/err"
if "$DV" audit keygen --name x --out-secret "$K/sk" --out-pubkey "$K/pk3" 2>"$TMP/err"; then
  fail "keygen refuses to overwrite a key"
else
  ok "keygen refuses to overwrite a key"
fi
cp "$K/sk" "$K/sk_open" && chmod 644 "$K/sk_open"
if "$DV" audit append --log "$TMP/x" --secret "$K/sk_open" --action login --actor a 2>"$TMP/err"; then
  fail "append refuses a secret key readable by others"
else
  ok "append refuses a secret key readable by others"
fi

# ---- a scripted session -----------------------------------------------------------------------
PKEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
PAT1=$(python3 "$PY" pseudonym "$PKEY" patient "ZHANG^SAN^PLANTED")
PAT2=$(python3 "$PY" pseudonym "$PKEY" patient "DOE^JANE^PLANTED")
STU1=$(python3 "$PY" pseudonym "$PKEY" study "1.2.826.0.1.3680043.99.4242")
L=$TMP/log
app() { "$DV" audit append --log "$L" --secret "$K/sk" --checkpoint-every 4 "$@" >>"$TMP/acks"; }
: >"$TMP/acks"
app --action login --actor alice --role radiologist --client 10.1.2.3 --session s1
app --action import --actor STORESCU --role modality --purpose TREAT --client 10.1.2.9 \
  --object patient:"$PAT1" --object study:"$STU1"
app --action query --actor alice --role radiologist --purpose TREAT --client 10.1.2.3 --session s1
app --action view --actor alice --role radiologist --purpose TREAT --client 10.1.2.3 --session s1 \
  --object patient:"$PAT1" --object study:"$STU1"
app --action export --actor alice --role radiologist --purpose TREAT --client 10.1.2.3 \
  --object study:"$STU1"
app --action login-failed --actor mallory --client 203.0.113.7 --outcome 4
app --action login-failed --actor mallory --client 203.0.113.7 --outcome 4
app --action lockout --actor mallory --client 203.0.113.7 --outcome 4
app --action denied --actor bob --role researcher --purpose HRESCH --outcome 4 --object patient:"$PAT2"
app --action breakglass-start --actor carol --role physician --purpose ETREAT \
  --detail "trauma bay, patient unconscious" --object patient:"$PAT2"
app --action shred --actor admin --role local-admin --purpose HOPERAT --object study:"$STU1" \
  --detail "retention expired (10 years)"
check "every append acknowledged its sequence number in order" \
  test "$(tr '\n' ' ' <"$TMP/acks")" = "0 1 2 3 4 5 6 7 8 9 10 "
"$DV" audit show --log "$L" --json >"$TMP/show.json" 2>"$TMP/err"
python3 - "$TMP/show.json" "$PAT1" "$STU1" >"$TMP/session.out" 2>&1 <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
want = [("login", 0, "110114"), ("import", 0, "110107"), ("query", 0, "110112"),
        ("view", 0, "110103"), ("export", 0, "110106"), ("login-failed", 4, "110114"),
        ("login-failed", 4, "110114"), ("lockout", 4, "110113"), ("denied", 4, "110113"),
        ("breakglass-start", 0, "110113"), ("shred", 0, "110105")]
got = [(r["action"], r["outcome"], r["event_id"]) for r in rows]
assert got == want, got
assert [r["seq"] for r in rows] == list(range(11))
assert rows[1]["objects"] == [{"type": "patient", "pseudonym": sys.argv[2]},
                              {"type": "study", "pseudonym": sys.argv[3]}], rows[1]
assert rows[9]["detail"] == "trauma bay, patient unconscious"
times = [r["time"] for r in rows]
assert times == sorted(times) and all(t.endswith("Z") and len(t) == 24 for t in times)
print("session ok")
EOF
check "show --json: exactly the scripted events, in order, with outcomes and DICOM EventIDs" \
  grep -q "session ok" "$TMP/session.out"
"$DV" audit show --log "$L" --action login-failed >"$TMP/f1"
"$DV" audit show --log "$L" --user alice >"$TMP/f2"
check "show filters by action and by user" \
  test "$(wc -l <"$TMP/f1")" -eq 2 -a "$(wc -l <"$TMP/f2")" -eq 4
"$DV" audit show --log "$L" --since 2000-01-01 --until 2000-12-31 >"$TMP/f3"
check "show --since/--until selects by time" test ! -s "$TMP/f3"
"$DV" audit verify --log "$L" --pubkey "$K/pk" >"$TMP/v.out" 2>&1
check "verify passes on the untouched log" grep -q "^OK: 11 entries" "$TMP/v.out"
read -r n root < <(python3 "$PY" root "$L")
check "the independent MTH over the bundles equals the checkpoint" \
  test "$n" = "$(sed -n 2p "$L/checkpoint")" -a "$root" = "$(sed -n 3p "$L/checkpoint")"

# ---- signatures and proofs, checked by other code --------------------------------------------
"$DV" audit checkpoint --log "$L" >"$TMP/cp_now"
python3 "$PY" pem "$K/pk" "$TMP/pk.pem" && python3 "$PY" note-split "$TMP/cp_now" "$TMP/body" "$TMP/sig"
check "openssl pkeyutl verifies the checkpoint's Ed25519 signature" \
  openssl pkeyutl -verify -pubin -inkey "$TMP/pk.pem" -rawin -in "$TMP/body" -sigfile "$TMP/sig"
printf 'x' >>"$TMP/body"
if openssl pkeyutl -verify -pubin -inkey "$TMP/pk.pem" -rawin -in "$TMP/body" -sigfile "$TMP/sig" \
  >/dev/null 2>&1; then fail "openssl rejects a changed checkpoint body"; else ok "openssl rejects a changed checkpoint body"; fi
cp "$L/checkpoint" "$TMP/cp_old"
for i in 0 5 10; do
  "$DV" audit prove --log "$L" --entry $i >"$TMP/incl$i"
  check "python verifies the inclusion proof of entry $i" \
    python3 "$PY" inclusion "$TMP/incl$i" "$TMP/cp_old"
done
check "dcmvault check-proof accepts the inclusion proof" \
  "$DV" audit check-proof --pubkey "$K/pk" --checkpoint "$TMP/cp_old" "$TMP/incl5"
sed 's/^index 5$/index 6/' "$TMP/incl5" >"$TMP/incl_bad"
if python3 "$PY" inclusion "$TMP/incl_bad" "$TMP/cp_old" 2>/dev/null; then
  fail "python rejects a proof for the wrong index"; else ok "python rejects a proof for the wrong index"; fi
if "$DV" audit check-proof --pubkey "$K/pk" --checkpoint "$TMP/cp_old" "$TMP/incl_bad" 2>/dev/null; then
  fail "check-proof rejects a proof for the wrong index"; else ok "check-proof rejects a proof for the wrong index"; fi
"$DV" audit append --log "$L" --secret "$K/sk" --action view --actor alice --count 700 >/dev/null
"$DV" audit checkpoint --log "$L" >"$TMP/cp_new"
"$DV" audit consistency --log "$L" "$TMP/cp_old" "$TMP/cp_new" >"$TMP/cons"
check "python verifies the consistency proof 11 -> 711" \
  python3 "$PY" consistency "$TMP/cons" "$TMP/cp_old" "$TMP/cp_new"
check "dcmvault check-proof accepts the consistency proof" \
  "$DV" audit check-proof --pubkey "$K/pk" --old-checkpoint "$TMP/cp_old" --checkpoint "$TMP/cp_new" "$TMP/cons"
"$DV" audit prove --log "$L" --entry 600 --checkpoint "$TMP/cp_new" >"$TMP/incl600"
check "python verifies an inclusion proof in a tree of 711 (upper tiles)" \
  python3 "$PY" inclusion "$TMP/incl600" "$TMP/cp_new"
check "verify passes with the older checkpoint given" \
  "$DV" audit verify --log "$L" --pubkey "$K/pk" --checkpoint "$TMP/cp_old"
if "$DV" audit verify --log "$L" --pubkey "$K/pk2" >"$TMP/v.out" 2>&1; then
  fail "verify with another log's key fails"; else ok "verify with another log's key fails"; fi

# ---- exports ----------------------------------------------------------------------------------
"$DV" audit export --log "$L" --format dicom-xml --until 2999-01-01 --out "$TMP/xml" 2>"$TMP/err"
nx=$(find "$TMP/xml" -name '*.xml' | wc -l)
bad=0
for f in "$TMP"/xml/00000000000*.xml "$TMP/xml/000000000600.xml"; do
  xmllint --noout --schema "$XSD" "$f" 2>>"$TMP/xmllint.err" || bad=$((bad + 1))
done
check "export dicom-xml: 711 files; the session's and another validate against the XSD" \
  test "$nx" -eq 711 -a "$bad" -eq 0
check "the XML carries EventID, EventTypeCode and the pseudonym, not a name" \
  grep -q 'csd-code="110127".*ParticipantObjectID="'"$PAT2"'"' "$TMP/xml/000000000009.xml"
"$DV" audit export --log "$L" --format fhir-json >"$TMP/fhir.json"
check "export fhir-json: a Bundle of R4 AuditEvents" python3 "$PY" fhir-check "$TMP/fhir.json"

# ---- no PHI in the log folder ----------------------------------------------------------------
if grep -rqaE 'ZHANG|DOE\^JANE|PLANTED|3680043\.99\.4242' "$L" "$TMP/xml" "$TMP/fhir.json"; then
  fail "the planted patient strings appear nowhere in the log folder or the exports"
else
  ok "the planted patient strings appear nowhere in the log folder or the exports"
fi

# ---- tampering: each kind separately, on a fresh copy ---------------------------------------
T=$TMP/tamper
fresh() { rm -rf "$T" && cp -a "$L" "$T"; }
expect_fail() { # NAME PATTERN [extra verify args]
  local name=$1 pat=$2
  shift 2
  if "$DV" audit verify --log "$T" --pubkey "$K/pk" "$@" >"$TMP/t.out" 2>&1; then
    fail "$name: verify passed"
  elif [ "$?" -ne 1 ]; then
    fail "$name: verify exit status is not 1"
  elif grep -qE "$pat" "$TMP/t.out"; then
    ok "$name: $(head -c 150 "$TMP/t.out")"
  else
    fail "$name: message does not name the place: $(cat "$TMP/t.out")"
  fi
}
fresh; python3 "$PY" tamper "$T" byte 5 40
expect_fail "one byte of entry 5 changed" "entry 5"
fresh; python3 "$PY" tamper "$T" byte 1 60
expect_fail "one byte of a pseudonym in entry 1 changed (it still decodes)" \
  "entry 1: its hash differs from the one in tile/0/000"
fresh; python3 "$PY" tamper "$T" byte 300 1
expect_fail "one byte of entry 300 (sequence number) changed" "entry 300"
fresh; python3 "$PY" tamper "$T" delete 7
expect_fail "entry 7 deleted" "entry 7 .*sequence number 8"
fresh; python3 "$PY" tamper "$T" swap 3 4
expect_fail "entries 3 and 4 swapped" "entry 3 .*sequence number 4"
fresh; python3 "$PY" tamper "$T" insert 6
expect_fail "an entry inserted at 7" "entry 7 .*sequence number 6"
fresh; python3 "$PY" tamper "$T" cut 3
expect_fail "the last 3 entries cut" "checkpoint.*covers more entries|entries were removed"
fresh; python3 "$PY" tamper "$T" cut 3
rm -rf "$T/checkpoint" "$T/checkpoints" "$T/tile/0" "$T/tile/1"
check "a tail cut that also removed every checkpoint and tile leaves no evidence in the folder" \
  "$DV" audit verify --log "$T" --pubkey "$K/pk"
expect_fail "... but is caught against a previously saved checkpoint" \
  "the given older checkpoint \(size 711\) covers more entries than the log holds \(708\)" \
  --checkpoint "$TMP/cp_new"
# a checkpoint re-signed with another key
fresh
"$DV" audit append --log "$TMP/other" --secret "$K/sk2" --action login --actor x >/dev/null
cp "$TMP/other/checkpoint" "$T/checkpoint"
expect_fail "checkpoint replaced by one signed with another key" "^FAILED: checkpoint: no valid signature"
# a checkpoint with a correct signature but another tree (a fork of the log)
fresh
rm -rf "$TMP/fork" && cp -a "$L" "$TMP/fork"
"$DV" audit append --log "$TMP/fork" --secret "$K/sk" --action export --actor eve >/dev/null
"$DV" audit append --log "$L" --secret "$K/sk" --action view --actor alice >/dev/null
rm -rf "$T" && cp -a "$L" "$T" && cp "$TMP/fork/checkpoint" "$T/checkpoint"
expect_fail "checkpoint replaced by a validly signed one of a forked tree" \
  "checkpoint \(size 712\): its root does not match"
fresh
check "the untouched original still verifies" "$DV" audit verify --log "$L" --pubkey "$K/pk"

# ---- parsers reject broken input with the exact error -------------------------------------------
head -c 100 "$TMP/cp_old" >"$TMP/cp_trunc"
if "$DV" audit check-proof --pubkey "$K/pk" --checkpoint "$TMP/cp_trunc" "$TMP/incl5" 2>"$TMP/err"; then
  fail "a truncated checkpoint is rejected"
else
  check "a truncated checkpoint is rejected: $(cat "$TMP/err")" grep -q "note: expected text, a blank line" "$TMP/err"
fi
printf 'dcmvault-inclusion-proof\nindex 01\n' >"$TMP/p_bad"
"$DV" audit check-proof --pubkey "$K/pk" --checkpoint "$TMP/cp_old" "$TMP/p_bad" 2>"$TMP/err"
check "a proof with a leading zero is rejected: $(cat "$TMP/err")" grep -q "expected 'index N'" "$TMP/err"

# ---- kill -9 during a burst ---------------------------------------------------------------------
B=$TMP/burst
"$DV" audit append --log "$B" --secret "$K/sk" --action view --actor burst --threads 8 \
  --count 100000000 --checkpoint-every 500 >"$TMP/burst.acks" 2>/dev/null &
wpid=$!
for _ in $(seq 1 200); do
  [ "$(wc -l <"$TMP/burst.acks")" -ge 3000 ] && break
  sleep 0.05
done
kill -9 "$wpid"
wait "$wpid" 2>/dev/null
acked=$(sort -n "$TMP/burst.acks" | tail -n 1)
check "the writer acknowledged entries before it was killed ($acked)" test "${acked:-0}" -gt 0
"$DV" audit verify --log "$B" --pubkey "$K/pk" >"$TMP/vb.out" 2>&1
check "verify passes on the killed log before recovery: $(head -c 200 "$TMP/vb.out")" \
  grep -q "^OK" "$TMP/vb.out"
"$DV" audit append --log "$B" --secret "$K/sk" --action log-start --actor dcmvault \
  --detail "recovered" >"$TMP/after" 2>"$TMP/err"
next=$(cat "$TMP/after")
check "recovery: reopening works and continues after every acknowledged entry ($next > $acked)" \
  test "${next:-0}" -gt "${acked:-0}"
"$DV" audit verify --log "$B" --pubkey "$K/pk" >"$TMP/vb.out" 2>&1
check "verify passes after recovery" grep -q "^OK" "$TMP/vb.out"
"$DV" audit show --log "$B" --json >"$TMP/burst.json"
missing=$(python3 - "$TMP/burst.json" "$TMP/burst.acks" <<'EOF'
import json, sys
have = {json.loads(l)["seq"] for l in open(sys.argv[1])}
print(sum(1 for l in open(sys.argv[2]) if l.strip() and int(l) not in have))
EOF
)
check "no acknowledged entry was lost" test "$missing" = 0

done_testing
