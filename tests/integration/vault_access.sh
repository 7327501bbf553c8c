# SPDX-License-Identifier: Apache-2.0
# vault_access.sh - sourced by the vault tests (after lib.sh): logs people in so that the old
# vault tests run through the access gate like everyone else.
#
#   access_setup VAULT INIT_OUT [vault options...]
#     writes VAULT/access.conf (unlimited quotas, large anomaly windows: a test that moves many
#     studies must not suspend its own user), activates the administrator named in INIT_OUT
#     (one-time password changed, TOTP enrolled with oathtool, a session with the code) and a
#     technologist "tech" it creates.  Sessions live under $TMP/home-admin and $TMP/home-tech
#     (the CLI's per-vault session files, ~/.dcmvault/session-HASH).
#   DV is replaced by $TMP/dv, a wrapper that runs the real binary ($DV_BIN) as the
#   administrator for init/check/key/shred/retention/user/grant and as the technologist for
#   import/find/export (both sessions of the vault given with --vault or $DCMVAULT_DIR).
#   Each user's password and TOTP secret are left in $TMP/.acc-USER.pw and .acc-USER.secret
#   (the last vault set up wins).
#   access_need: skips the whole test (with a reason) when oathtool is missing.

DV_BIN=${DV_BIN:-$DV}

access_need() {
  if ! command -v oathtool >/dev/null 2>&1; then
    skip "$1" "oathtool is not installed (bash scripts/deps.sh)"
    done_testing
  fi
}

mkdir -p "$TMP/home-admin" "$TMP/home-tech"
cat >"$TMP/dv" <<WRAP
#!/usr/bin/env bash
case "\${1:-}" in
  import|find|export) HOME="$TMP/home-tech" ;;
  *) HOME="$TMP/home-admin" ;;
esac
export HOME
exec "$DV_BIN" "\$@"
WRAP
chmod 700 "$TMP/dv"
DV=$TMP/dv

# _acc_totp SECRET: the code now, from oathtool
_acc_totp() { oathtool --totp -b -N "@$(date +%s)" "$1"; }

# _acc_activate HOME USER OTP_FILE VAULT_OPTS...: first login, new password, TOTP, login with it
_acc_activate() {
  local home=$1 u=$2 otp=$3 sec
  shift 3
  printf 'Pw-%s-Kq\n' "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" >"$TMP/.acc-$u.pw"
  HOME=$home "$DV_BIN" login "$@" --as "$u" --password-file "$otp" >/dev/null 2>&1 </dev/null ||
    return 1
  HOME=$home "$DV_BIN" passwd "$@" --old-password-file "$otp" \
    --new-password-file "$TMP/.acc-$u.pw" >/dev/null 2>&1 </dev/null || return 1
  sec=$(HOME=$home "$DV_BIN" user totp "$@" 2>&1 </dev/null |
    sed -n 's/^TOTP secret (base32): //p')
  [ -n "$sec" ] || return 1
  echo "$sec" >"$TMP/.acc-$u.secret"
  _acc_totp "$sec" >"$TMP/.acc-$u.code"
  HOME=$home "$DV_BIN" login "$@" --as "$u" --password-file "$TMP/.acc-$u.pw" \
    --totp-file "$TMP/.acc-$u.code" >/dev/null 2>&1 </dev/null
}

access_setup() {
  local vdir=$1 initout=$2 admin
  shift 2
  cat >"$vdir/access.conf" <<CONF
[access]
window_patients = 1000000
window_denials = 1000000
offhours_max = 1000000
bulk_studies = 1000000
bulk_patients = 1000000
syslog = no

[quota.technologist]
studies_hour = unlimited
studies_day = unlimited
bytes_day = unlimited
patients_day = unlimited
CONF
  admin=$(sed -n 's/^administrator: //p' "$initout")
  admin=${admin:-admin}
  sed -n 's/^one-time password: //p' "$initout" >"$TMP/.acc-admin.otp"
  _acc_activate "$TMP/home-admin" "$admin" "$TMP/.acc-admin.otp" --vault "$vdir" "$@" || return 1
  HOME=$TMP/home-admin "$DV_BIN" user add --vault "$vdir" "$@" tech --roles technologist \
    >"$TMP/.acc-tech.add" 2>&1 </dev/null || return 1
  sed -n 's/.*one-time password: //p' "$TMP/.acc-tech.add" >"$TMP/.acc-tech.otp"
  _acc_activate "$TMP/home-tech" tech "$TMP/.acc-tech.otp" --vault "$vdir" "$@"
}

# as USER CMD...: runs the real binary as USER (the session under $TMP/home-USER), stdin closed
as() {
  local u=$1
  shift
  HOME=$TMP/home-$u "$DV_BIN" "$@" </dev/null
}

# access_users VAULT USER:ROLES...: the administrator adds each user, who then activates the
# account (first login, new password, TOTP, a session); one TAP check per user
access_users() {
  local vdir=$1 spec u r
  shift
  for spec in "$@"; do
    u=${spec%%:*} r=${spec#*:}
    mkdir -p "$TMP/home-$u"
    as admin user add "$u" --roles "$r" --vault "$vdir" >"$TMP/.acc-$u.add" 2>&1
    sed -n 's/.*one-time password: //p' "$TMP/.acc-$u.add" >"$TMP/.acc-$u.otp"
    check "activate $u ($r)" _acc_activate "$TMP/home-$u" "$u" "$TMP/.acc-$u.otp" --vault "$vdir"
  done
}

# vault_test_start NAME: the start of a vault test: the corpus (skip without it), the binary,
# oathtool, leak checking, the working folder $TMP, and V=$TMP/v as DCMVAULT_DIR
vault_test_start() {
  need_testdata "$1"
  if [ ! -x "$DV_BIN" ]; then
    fail "no binary at $DV_BIN (make build/asan/dcmvault)"
    done_testing
  fi
  access_need "$1"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
  cd "$TMP" || exit 1
  V=$TMP/v
  export DCMVAULT_DIR=$V
}
