#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_vault_keys.sh - key rotation (export still works, a saved copy of the old key file opens
# nothing, a rotation interrupted after its commit is finished by the next open), shredding
# (the study can no longer be found or exported, its objects are gone, the certificate stays
# and verifies) and retention (dry run lists, run shreds, certificates say "retention").
source "$(dirname "$0")/lib.sh"
need_testdata "vault keys"
if [ ! -x "$DV" ]; then
  fail "no binary at $DV (make build/asan/dcmvault)"
  done_testing
fi
source "$(dirname "$0")/vault_access.sh"
access_need "vault keys"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
cd "$TMP" || exit 1
V=$TMP/v
export DCMVAULT_DIR=$V
"$DV" init "$V" >init1.out 2>&1
check "log in (administrator, technologist)" access_setup "$V" init1.out
CT=$TESTDATA/pydicom/CT_small.dcm
MR=$TESTDATA/pydicom/MR_small.dcm
"$DV" import "$CT" "$MR" "$TESTDATA/fo-dicom/CR-MONO1-10-chest" >/dev/null 2>&1
check "three studies imported" "$DV" check
uid_of() { dcmdump +P 0020,000d "$1" | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1; }
sop_of() { dcmdump +P 0008,0018 "$1" | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -n 1; }
CT_STUDY=$(uid_of "$CT")
MR_STUDY=$(uid_of "$MR")

# ---- rotation -----------------------------------------------------------------------------
cp "$V.kek" old.kek
"$DV" key rotate >rot.out 2>&1
check "key rotate exits 0" test $? -eq 0
check "it re-wrapped the 3 data keys" grep -q 'rotated: 3 data key' rot.out
check "the new key differs from the old one" test "$(cat "$V.kek")" != "$(cat old.kek)"
check "the new key file is mode 0600" test "$(stat -c %a "$V.kek")" = 600
check "no .new file is left" test ! -e "$V.kek.new"
"$DV" export --original --study "$CT_STUDY" -o exp1 >/dev/null 2>&1
check "export works after rotation, byte for byte" cmp -s "exp1/$(sop_of "$CT").dcm" "$CT"
"$DV" check --key-file old.kek >/dev/null 2>err
check "the saved old key file no longer opens the vault (exit 4)" test $? -eq 4
check "... with a clear message" grep -q 'the key does not open this vault' err
"$DV" key rotate --new-key-file "$TMP/elsewhere.kek" >/dev/null 2>&1
check "rotation to another path" test $? -eq 0 -a -f "$TMP/elsewhere.kek" -a ! -e "$V.kek"
check "the config names the new key file" grep -q "^path = $TMP/elsewhere.kek$" "$V/dcmvault.conf"
check "the vault opens with the key the config names" "$DV" check

# a rotation interrupted after its commit: simulate by re-running the last steps by hand
V2=$TMP/v2
"$DV" init "$V2" >init2.out 2>&1
check "log in to v2" access_setup "$V2" init2.out
"$DV" import --vault "$V2" "$CT" >/dev/null 2>&1
cp "$V2.kek" v2.old
"$DV" key rotate --vault "$V2" >/dev/null 2>&1
# put the world back as if the crash came right after the commit: the old key file still at
# the path, the new one at .new, keys.sealed.new not yet renamed
mv "$V2.kek" "$V2.kek.new"
cp v2.old "$V2.kek"
cp "$V2/keys.sealed" "$V2/keys.sealed.new"
"$DV" check --vault "$V2" >rec.out 2>&1
check "an open after an interrupted rotation finishes it" test $? -eq 0
check "the new key is in place and .new is gone" \
  bash -c "[ ! -e '$V2.kek.new' ] && [ ! -e '$V2/keys.sealed.new' ] && ! cmp -s '$V2.kek' v2.old"

# ---- passphrase vaults ------------------------------------------------------------------------
export PASS_OLD='an old passphrase, long enough' PASS_NEW='the new passphrase, also long'
V3=$TMP/v3
"$DV" init "$V3" --passphrase-env PASS_OLD >init3.out 2>&1
check "log in to v3" access_setup "$V3" init3.out --passphrase-env PASS_OLD
"$DV" import --vault "$V3" --passphrase-env PASS_OLD "$CT" >/dev/null 2>&1
cp "$V3/dcmvault.conf" v3.conf.old
"$DV" key rotate --vault "$V3" --passphrase-env PASS_OLD --new-passphrase-env PASS_NEW >p.out 2>&1
check "passphrase rotation exits 0 and re-wraps the data key" grep -q 'rotated: 1 data key' p.out
check "the config holds a new salt" bash -c "! cmp -s v3.conf.old '$V3/dcmvault.conf'"
"$DV" check --vault "$V3" --passphrase-env PASS_OLD >/dev/null 2>err3
check "the old passphrase no longer opens the vault (exit 4)" test $? -eq 4
"$DV" export --original --vault "$V3" --passphrase-env PASS_NEW --study "$CT_STUDY" -o exp3 >/dev/null 2>&1
check "the new passphrase exports byte for byte" cmp -s "exp3/$(sop_of "$CT").dcm" "$CT"
"$DV" key rotate --vault "$V3" --passphrase-env PASS_NEW --new-key-file x.kek >/dev/null 2>&1
check "a key file cannot be asked of a passphrase vault (usage or refusal)" test $? -ne 0
# interrupted after the commit: the index names the new KEK, the config still has the old salt
mv "$V3/dcmvault.conf" "$V3/dcmvault.conf.new"
cp v3.conf.old "$V3/dcmvault.conf"
"$DV" check --vault "$V3" --passphrase-env PASS_OLD >/dev/null 2>&1
check "mid-rotation, the old passphrase still opens nothing" test $? -eq 4
"$DV" check --vault "$V3" --passphrase-env PASS_NEW >/dev/null 2>&1
check "the new passphrase opens the vault mid-rotation" test $? -eq 0
check "... and that open finished the rotation (new salt in place, no .new left)" \
  bash -c "[ ! -e '$V3/dcmvault.conf.new' ] && ! cmp -s v3.conf.old '$V3/dcmvault.conf'"
"$DV" check --vault "$V3" --passphrase-env PASS_NEW >/dev/null 2>&1
check "and the vault checks clean afterwards" test $? -eq 0

# ---- shred -----------------------------------------------------------------------------------
"$DV" find --study "$CT_STUDY" --level instance --json >ct.json
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["ObjectKey"])' ct.json)
check "the CT object is in the store before the shred" test -f "$V/objects/${key:0:2}/${key:2:2}/$key"
"$DV" shred --help | grep -q 'MUST NOT contain patient data'
check "shred --help warns that the reason must not contain patient data" test $? -eq 0
# every wrapped data key, to look for the shredded one's bytes afterwards
python3 -c 'import sqlite3, sys
for (d,) in sqlite3.connect(sys.argv[1]).execute("SELECT dek_wrapped FROM study"):
    print(d.hex())' "$V/index.sqlite" >deks.before
"$DV" shred --study "$CT_STUDY" --reason "test: duplicate acquisition" >shred.out 2>&1
check "shred exits 0" test $? -eq 0
python3 -c 'import sqlite3, sys
for (d,) in sqlite3.connect(sys.argv[1]).execute("SELECT dek_wrapped FROM study"):
    print(d.hex())' "$V/index.sqlite" >deks.after
gone=$(grep -v -x -F -f deks.after deks.before)
check "exactly one wrapped data key left the index" test "$(echo "$gone" | grep -c .)" -eq 1
python3 -c 'import glob, sys
k = bytes.fromhex(sys.argv[1])
sys.exit(any(k in open(f, "rb").read() for f in glob.glob(sys.argv[2] + "/**", recursive=True)
             if not f.endswith("/") and __import__("os").path.isfile(f)))' "$gone" "$V"
check "its bytes are in no file under the vault (secure_delete, WAL checkpointed)" test $? -eq 0
check "shred reports the counts" grep -q '1 series, 1 instances' shred.out
"$DV" find --study "$CT_STUDY" --json >f.json 2>/dev/null
check "the study can no longer be found" test "$(tr -d ' \n' <f.json)" = "[]"
"$DV" export --study "$CT_STUDY" -o exp2 >/dev/null 2>&1
check "the study can no longer be exported (exit 1)" test $? -eq 1
check "its object file is gone" test ! -e "$V/objects/${key:0:2}/${key:2:2}/$key"
check "the other studies still export" "$DV" export --study "$MR_STUDY" -o exp3
"$DV" shred --list-certificates >certs.out 2>&1
check "the certificate is listed and its signature verifies" grep -q 'signature valid' certs.out
check "it carries counts, actor and reason" \
  grep -q '"instances":1,.*"actor":"admin","role":"administrator","reason":"test: duplicate acquisition"' certs.out
check "it names the study by pseudonym only (no UID)" test -z "$(grep -F "$CT_STUDY" certs.out)"
check "check is clean after the shred" "$DV" check
"$DV" shred --study "$CT_STUDY" --reason again >/dev/null 2>&1
check "shredding it again: no such study (exit 1)" test $? -eq 1
cp "$V/index.sqlite" idx.bak
python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE shred_certificate SET body = replace(body, ?, ?)", ("duplicate", "duplicatf"))
db.commit()' "$V/index.sqlite"
"$DV" shred --list-certificates >certs2.out 2>&1
rc=$?
check "a changed certificate fails verification (exit 1)" \
  bash -c "[ $rc -eq 1 ] && grep -q 'signature INVALID' certs2.out"
cp idx.bak "$V/index.sqlite"

# ---- retention -------------------------------------------------------------------------------
printf 'MR = 1\n' >>"$V/dcmvault.conf"
"$DV" retention run --dry-run >ret.out 2>&1
check "retention --dry-run lists the expired MR study" grep -q "^expired: study $MR_STUDY" ret.out
check "the dry run shreds nothing" "$DV" export --study "$MR_STUDY" -o exp4
"$DV" retention run >ret2.out 2>&1
check "retention run shreds it" grep -q "^shredded: study $MR_STUDY" ret2.out
"$DV" export --study "$MR_STUDY" -o exp5 >/dev/null 2>&1
check "the expired study is gone" test $? -eq 1
"$DV" shred --list-certificates >certs3.out 2>&1
check "its certificate says retention" grep -q '"reason":"retention"' certs3.out

done_testing
