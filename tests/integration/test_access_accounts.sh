#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_access_accounts.sh - accounts and sessions through the real binary: the one-time
# password must be changed first, password rules, TOTP enrolment with oathtool as the
# authenticator (a real peer), separation of duties, brute-force lockout, no default
# credential, grants that stop at their expiry, break-glass alerts, and the maintenance
# contractor of the seed: every request refused, an alert raised, the account suspended until
# an administrator AND a privacy officer lift it.
source "$(dirname "$0")/lib.sh"
if [ ! -x "$DV" ]; then
  fail "no binary at $DV (make build/asan/dcmvault)"
  done_testing
fi
if ! command -v oathtool >/dev/null 2>&1; then
  skip "access accounts" "oathtool is not installed (bash scripts/deps.sh)"
  done_testing
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
cd "$TMP" || exit 1
export DCMVAULT_DIR=$TMP/v HOME=$TMP/home
mkdir -p "$HOME"

"$DV" init v >init.out 2>&1
check "init" test $? -eq 0
sed -n 's/^one-time password: //p' init.out >admin.otp
ADMIN_OTP=$(cat admin.otp)

# as USER CMD...: runs dcmvault in USER's session
as() { local u=$1; shift; DCMVAULT_SESSION=$TMP/$u.ses "$DV" "$@"; }
# totp SECRET [OFFSET]: the code now (+OFFSET seconds), from oathtool
totp() { oathtool --totp -b -N "@$(($(date +%s) + ${2:-0}))" "$1"; }
# activate USER OTPFILE PASSWORD: first login, password change, TOTP enrolment, login with it
activate() {
  local u=$1 otp=$2 pw=$3 sec
  printf '%s\n' "$pw" >"$u.pw"
  as "$u" login --as "$u" --password-file "$otp" >/dev/null 2>&1 || return 1
  as "$u" passwd --old-password-file "$otp" --new-password-file "$u.pw" >/dev/null 2>&1 || return 1
  as "$u" user totp >"$u.totp" 2>&1 || return 1
  sec=$(sed -n 's/^TOTP secret (base32): //p' "$u.totp")
  echo "$sec" >"$u.secret"
  totp "$sec" >"$u.code"
  as "$u" login --as "$u" --password-file "$u.pw" --totp-file "$u.code" >/dev/null 2>&1
}

# ---- the administrator's first login ----------------------------------------------------------
as admin login --as admin --password-file admin.otp >out 2>&1
check "the one-time password opens a session" test $? -eq 0
check "login says the one-time password must be changed" grep -q 'change it now' out
check "the session file is mode 0600" test "$(stat -c %a admin.ses)" = 600
as admin user list >/dev/null 2>err
check "nothing works before the password is changed (exit 4)" test $? -eq 4
check "the refusal says why" grep -q 'one-time password must be changed' err
for bad in short-pw1 xx-admin-xx-2024 passwordpassword; do
  printf '%s\n' "$bad" >bad.pw
  as admin passwd --old-password-file admin.otp --new-password-file bad.pw >/dev/null 2>err
  check "password rules refuse '$bad'" test $? -ne 0
done
check "the rule is named" grep -q 'common passwords' err
printf 'Adm1n-Strong-Pass-42\n' >admin.pw
as admin passwd --old-password-file admin.otp --new-password-file admin.pw >/dev/null 2>&1
check "a good password is accepted" test $? -eq 0
as admin user list >/dev/null 2>err
check "an administrator without a second factor is refused" grep -q 'second factor' err
as admin user totp >admin.totp 2>&1
check "TOTP enrolment prints an otpauth:// URI" grep -q '^otpauth://totp/dcmvault:admin?secret=' admin.totp
ADMIN_SECRET=$(sed -n 's/^TOTP secret (base32): //p' admin.totp)
as admin login --as admin --password-file admin.pw >/dev/null 2>&1
check "after enrolment a login without the code still works once (not yet active)" test $? -eq 0
totp "$ADMIN_SECRET" >admin.code
as admin login --as admin --password-file admin.pw --totp-file admin.code >out 2>&1
check "login with the oathtool code activates the second factor" grep -q 'with a second factor' out
as admin login --as admin --password-file admin.pw >/dev/null 2>err
check "from now on the code is required" grep -q 'second factor (TOTP) is required' err
as admin login --as admin --password-file admin.pw --totp-file admin.code >/dev/null 2>err
check "the same code is not accepted twice" grep -q 'wrong second factor' err
totp "$ADMIN_SECRET" 30 >admin.code
as admin login --as admin --password-file admin.pw --totp-file admin.code >/dev/null 2>&1
check "the next step's code logs in" test $? -eq 0
check "the secret is not stored in clear in the vault" test -z "$(grep -rl -F -e "$ADMIN_SECRET" v)"

# ---- accounts and separation of duties --------------------------------------------------------
as admin user add po --roles administrator,privacy-officer >/dev/null 2>err
check "administrator + privacy officer in one account is refused" grep -q 'separation of duties' err
for u in po:privacy-officer tech:technologist rad:radiologist mnt:maintenance; do
  as admin user add "${u%%:*}" --roles "${u#*:}" >"${u%%:*}.add" 2>&1
  check "user add ${u%%:*} (${u#*:})" grep -q 'one-time password: ' "${u%%:*}.add"
  sed -n 's/.*one-time password: //p' "${u%%:*}.add" >"${u%%:*}.otp"
done
check "activate the privacy officer (password, TOTP)" activate po po.otp 'Privacy-Officer-7781'
check "activate the radiologist" activate rad rad.otp 'Reads-Chest-Films-5512'
as admin user list >users.out 2>&1
check "user list shows roles and second factors" grep -q '^rad .*radiologist.* totp' users.out

# ---- no default credential opens anything ----------------------------------------------------
for cred in admin:admin admin:password admin:changeme admin:123456 root:root; do
  printf '%s\n' "${cred#*:}" >cred.pw
  "$DV" login --as "${cred%%:*}" --password-file cred.pw >/dev/null 2>&1 </dev/null
  check "default credential ${cred} is refused" test $? -eq 4
done
src_hits=$(grep -rIl -F -e "$ADMIN_OTP" "$ROOT/src" "$ROOT/data" "$ROOT/docs" v/dcmvault.conf 2>/dev/null)
check "the generated password is nowhere in the source, data, docs or config" test -z "$src_hits"
check "nor stored in clear in the vault" test -z "$(grep -rl -F -e "$ADMIN_OTP" v)"

# ---- brute force: the sixth wrong password locks, even with the right one next -----------------
printf 'Imports-Daily-Work-09\n' >tech.pw
as tech login --as tech --password-file tech.otp >/dev/null 2>&1
as tech passwd --old-password-file tech.otp --new-password-file tech.pw >/dev/null 2>&1
check "the technologist sets a password" test $? -eq 0
printf 'wrong-guess-123456\n' >guess.pw
for i in 1 2 3 4 5 6; do
  as tech login --as tech --password-file guess.pw >/dev/null 2>err
done
check "the sixth wrong password is refused as locked" grep -q 'locked' err
as tech login --as tech --password-file tech.pw >/dev/null 2>err
check "the right password is refused while locked (exit 4)" grep -q 'locked' err
as admin user list >users.out 2>&1
check "user list shows the lock" grep -q '^tech .*LOCKED' users.out
as admin user reset tech >reset.out 2>&1
check "an administrator's reset unlocks with a new one-time password" grep -q 'one-time password' reset.out

# ---- grants: never to oneself; they stop at their expiry ---------------------------------------
as admin grant admin --study 1.2.3.4 --until +1h --reason 'self' >/dev/null 2>err
check "an administrator cannot grant to themselves" grep -q 'grant access to themselves' err
as admin grant rad --study 1.2.3.4.5 --until +3s --reason 'reading list' >grant.out 2>&1
check "an administrator assigns a grant" grep -q '^grant [0-9]* to rad' grant.out
as rad grants --mine >mine.out 2>&1
check "the radiologist sees the grant" grep -q 'study .* (assignment, by admin)' mine.out
check "grants name no UID" test -z "$(grep -F '1.2.3.4.5' mine.out)"
sleep 4
as rad grants --mine >mine.out 2>&1
check "at its expiry the grant is gone" test ! -s mine.out

# ---- break-glass raises an alert for the privacy officer -----------------------------------------
as rad breakglass --study 1.2.3.4.9 --reason 'trauma bay, patient unconscious' >bg.out 2>&1
check "break-glass by a radiologist" grep -q 'emergency override' bg.out
as po alerts list >alerts.out 2>&1
check "the privacy officer sees the break-glass alert (DCM 110127)" grep -q 'rule break-glass: emergency override started (DCM 110127)' alerts.out

# ---- the maintenance contractor -----------------------------------------------------------------
printf 'Maintenance-Window-77\n' >mnt.pw
as mnt login --as mnt --password-file mnt.otp >/dev/null 2>&1
as mnt passwd --old-password-file mnt.otp --new-password-file mnt.pw >/dev/null 2>&1
as mnt whoami >who.out 2>&1
check "maintenance logs in without a second factor (no PHI role)" grep -q 'roles maintenance' who.out
denied=0
for i in $(seq 1 12); do
  as mnt breakglass --study "1.2.840.$i" --reason 'export for backup' >/dev/null 2>&1 && denied=1
  as mnt grants --user rad >/dev/null 2>&1 && denied=1
done
check "every maintenance request is refused" test "$denied" -eq 0
as admin alerts list >alerts.out 2>&1
check "repeated denials raise a severe alert" grep -q 'severity 3 user mnt rule repeated-denials' alerts.out
as mnt whoami >/dev/null 2>&1
as admin user list >users.out 2>&1
check "the account is suspended" grep -q '^mnt .*SUSPENDED' users.out
as mnt alerts lift mnt >/dev/null 2>err
check "maintenance cannot lift anything" test $? -eq 4
as admin alerts lift mnt >lift.out 2>&1
check "the administrator's lift alone is not enough" grep -q 'must lift it too' lift.out
as po alerts lift mnt >lift.out 2>&1
check "with the privacy officer's lift the suspension ends" grep -q 'suspension lifted' lift.out
done_testing
