/* SPDX-License-Identifier: Apache-2.0 */
/* account.c - staff accounts: creation, disable, reset, password change, TOTP enrolment, and
 * login with lockout.
 *
 * Invariants: a stored password is only ever an Argon2id hash; a new or reset account has a
 * random one-time password with must_change = 1; failed counts consecutive failures and is
 * reset by a success or by a lockout (which sets locked_until); the TOTP secret is stored only
 * as the vault's seal (env->sealer) and is active once totp_on = 1.  Login failures never say
 * whether a name exists (a missing account still costs one hash verification).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "access/access_int.h"
#include "crypto/crypto.h"

#include "common/banned.h"

#define ISSUER "dcmvault"

static dv_err refused(dv_errinfo *ei, const char *why)
{
    return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG, "%s", why);
}

dv_err access_account_load(const access_env *env, const char *name, index_account *a,
                           dv_errinfo *ei)
{
    dv_err e = index_account_get(env->db, name, a, ei);

    if (e == DV_ENOTFOUND)
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "no such account");
    return e;
}

unsigned access_account_roles(const index_account *a)
{
    unsigned roles = 0;

    if (access_roles_parse(a->roles, &roles) != 0)
        return 0;
    return roles;
}

/* A fresh one-time password into pw and its hash into a (must_change = 1). */
static dv_err onetime(index_account *a, char pw[ACCESS_ONETIME_LEN + 1], dv_errinfo *ei)
{
    char hash[ACCESS_HASH_MAX];
    dv_err e;

    access_onetime_password(pw);
    e = access_password_hash(pw, hash, ei);
    if (!e) {
        memcpy(a->pwhash, hash, strlen(hash) + 1);
        a->must_change = 1;
    }
    sodium_memzero(hash, sizeof(hash));
    return e;
}

dv_err access_user_add(const access_env *env, const char *name, unsigned roles, const char *team,
                       int64_t now, char pw[ACCESS_ONETIME_LEN + 1], dv_errinfo *ei)
{
    index_account a;
    dv_err e;

    memset(pw, 0, ACCESS_ONETIME_LEN + 1);
    e = access_roles_check(roles, ei);
    if (e)
        return e;
    memset(&a, 0, sizeof(a));
    if (strlen(name) > INDEX_USER_NAME_MAX || (team && strlen(team) > INDEX_TEAM_MAX))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "user or team name too long");
    memcpy(a.name, name, strlen(name) + 1);
    if (team)
        memcpy(a.team, team, strlen(team) + 1);
    access_roles_format(roles, a.roles, sizeof(a.roles));
    a.created = now;
    e = onetime(&a, pw, ei);
    if (!e)
        e = index_account_insert(env->db, &a, ei);
    if (e)
        sodium_memzero(pw, ACCESS_ONETIME_LEN + 1);
    sodium_memzero(&a, sizeof(a));
    return e;
}

dv_err access_user_disable(const access_env *env, const char *name, int on, dv_errinfo *ei)
{
    index_account a;
    dv_err e = access_account_load(env, name, &a, ei);

    if (!e) {
        a.disabled = on != 0;
        e = index_account_update(env->db, &a, ei);
    }
    if (!e && on)
        e = index_session_delete(env->db, 0, a.id, ei);
    sodium_memzero(&a, sizeof(a));
    return e;
}

dv_err access_user_reset(const access_env *env, const char *name, int totp,
                         char pw[ACCESS_ONETIME_LEN + 1], dv_errinfo *ei)
{
    index_account a;
    dv_err e = access_account_load(env, name, &a, ei);

    memset(pw, 0, ACCESS_ONETIME_LEN + 1);
    if (!e)
        e = onetime(&a, pw, ei);
    if (!e) {
        a.failed = 0;
        a.locked_until = 0;
        if (totp) {
            a.totp_seal_len = 0;
            a.totp_on = 0;
            a.totp_last = 0;
        }
        e = index_account_update(env->db, &a, ei);
    }
    if (!e)
        e = index_session_delete(env->db, 0, a.id, ei);
    if (e)
        sodium_memzero(pw, ACCESS_ONETIME_LEN + 1);
    sodium_memzero(&a, sizeof(a));
    return e;
}

/* One more failure: locks the account when it reaches the policy's count. */
static dv_err count_failure(const access_env *env, index_account *a, int64_t now, dv_errinfo *ei)
{
    a->failed++;
    if (env->pol->lockout_attempts && a->failed >= (int64_t)env->pol->lockout_attempts) {
        a->locked_until = now + env->pol->lockout_seconds;
        a->failed = 0;
    }
    return index_account_update(env->db, a, ei);
}

static void log_login(const access_env *env, const char *user, int ok, int64_t now)
{
    index_alog r;
    dv_err e;

    memset(&r, 0, sizeof(r));
    r.time = now;
    r.user = user;
    r.action = "login";
    r.outcome = ok ? 0 : 1;
    r.reason = ok ? ACCESS_R_OK : ACCESS_R_BAD_REQUEST;
    e = index_alog_insert(env->db, &r, NULL);
    (void)e; /* best effort: a name that is not a valid account name is not logged */
}

dv_err access_passwd(const access_env *env, const char *name, const char *old_pw,
                     const char *new_pw, int64_t now, dv_errinfo *ei)
{
    char hash[ACCESS_HASH_MAX];
    index_account a;
    dv_err e = access_account_load(env, name, &a, ei);

    if (e)
        return e == DV_ENOTFOUND ? refused(ei, "wrong user name or password") : e;
    if (a.locked_until > now)
        e = refused(ei, "the account is locked (too many failed logins): try again later");
    else if (!access_password_verify(a.pwhash, old_pw))
        e = count_failure(env, &a, now, ei) ? DV_EDB : refused(ei, "wrong user name or password");
    else if (strcmp(old_pw, new_pw) == 0)
        e = dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                    "the new password must differ from the old one");
    if (!e)
        e = access_password_check(name, new_pw, ei);
    if (!e)
        e = access_password_hash(new_pw, hash, ei);
    if (!e) {
        memcpy(a.pwhash, hash, strlen(hash) + 1);
        a.must_change = 0;
        a.failed = 0;
        e = index_account_update(env->db, &a, ei);
    }
    sodium_memzero(hash, sizeof(hash));
    sodium_memzero(&a, sizeof(a));
    return e;
}

/* ---- TOTP enrolment ------------------------------------------------------------------------- */

dv_err access_totp_enrol(const access_env *env, const char *name, char b32[ACCESS_TOTP_B32_MAX],
                         char uri[ACCESS_TOTP_URI_MAX], dv_errinfo *ei)
{
    uint8_t secret[ACCESS_TOTP_SECRET_BYTES];
    index_account a;
    size_t len = 0;
    dv_err e = access_account_load(env, name, &a, ei);

    b32[0] = uri[0] = '\0';
    if (e)
        return e;
    crypto_random(secret, sizeof(secret));
    e = env->sealer->seal(env->sealer->ctx, name, secret, sizeof(secret), a.totp_seal,
                          sizeof(a.totp_seal), &len);
    if (e)
        e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "cannot seal the TOTP secret");
    if (!e) {
        a.totp_seal_len = len;
        a.totp_on = 0;
        a.totp_last = 0;
        e = index_account_update(env->db, &a, ei);
    }
    if (!e)
        e = access_totp_base32(secret, sizeof(secret), b32);
    if (!e)
        e = access_totp_uri(ISSUER, name, secret, sizeof(secret), uri);
    if (e && e != DV_EDB)
        e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "TOTP enrolment failed");
    sodium_memzero(secret, sizeof(secret));
    sodium_memzero(&a, sizeof(a));
    return e;
}

/* Checks code against the account's sealed secret; on success records its step. */
static dv_err totp_verify(const access_env *env, index_account *a, const char *code, int64_t now,
                          dv_errinfo *ei)
{
    uint8_t secret[ACCESS_TOTP_SECRET_BYTES + 64];
    size_t len = 0;
    int64_t step = 0;
    dv_err e;

    if (a->totp_seal_len == 0)
        return refused(ei, "no second factor enrolled (dcmvault user totp)");
    e = env->sealer->open(env->sealer->ctx, a->name, a->totp_seal, a->totp_seal_len, secret,
                          sizeof(secret), &len);
    if (e)
        return dv_fail(ei, DV_ECRYPTO, DV_NO_OFFSET, DV_NO_TAG, "the TOTP secret does not open");
    e = access_totp_check(secret, len, now, code, a->totp_last, &step);
    sodium_memzero(secret, sizeof(secret));
    if (e)
        return refused(ei, "wrong second factor (TOTP)");
    a->totp_last = step;
    return DV_OK;
}

dv_err access_totp_confirm(const access_env *env, const char *name, const char *code, int64_t now,
                           dv_errinfo *ei)
{
    index_account a;
    dv_err e = access_account_load(env, name, &a, ei);

    if (!e)
        e = totp_verify(env, &a, code, now, ei);
    if (!e) {
        a.totp_on = 1;
        e = index_account_update(env->db, &a, ei);
    }
    sodium_memzero(&a, sizeof(a));
    return e;
}

/* ---- login ----------------------------------------------------------------------------------- */

static dv_err open_session(const access_env *env, const index_account *a, int mfa,
                           const access_login_req *req, access_login_res *res, dv_errinfo *ei)
{
    uint8_t token[ACCESS_TOKEN_BYTES];
    index_session s;
    dv_err e;

    memset(&s, 0, sizeof(s));
    crypto_random(token, sizeof(token));
    crypto_generichash(s.token_hash, sizeof(s.token_hash), token, sizeof(token), NULL, 0);
    s.user_id = a->id;
    (void)snprintf(s.purpose, sizeof(s.purpose), "%s",
                   access_purpose_name(access_roles_default_purpose(access_account_roles(a))));
    (void)snprintf(s.client, sizeof(s.client), "%s",
                   req->client && req->client[0] ? req->client : "local");
    s.mfa = mfa;
    s.created = s.last_used = req->now;
    s.expires = req->now + env->pol->session_lifetime;
    e = index_session_insert(env->db, &s, ei);
    if (!e) {
        sodium_bin2hex(res->token, sizeof(res->token), token, sizeof(token));
        res->mfa = mfa;
        res->must_change = a->must_change;
        res->roles = access_account_roles(a);
    }
    sodium_memzero(token, sizeof(token));
    return e;
}

/* Password and second factor; on failure the account's counters are updated. */
static dv_err check_factors(const access_env *env, index_account *a, const access_login_req *req,
                            int *mfa, dv_errinfo *ei)
{
    int have_code = req->totp && req->totp[0];

    *mfa = 0;
    if (a->disabled)
        return refused(ei, "the account is disabled");
    if (a->locked_until > req->now)
        return refused(ei, "the account is locked (too many failed logins): try again later");
    if (a->suspended)
        return refused(ei, "the account is suspended until an administrator and the privacy "
                           "officer lift it");
    if (!access_password_verify(a->pwhash, req->password))
        return count_failure(env, a, req->now, ei) ? DV_EDB
                                                   : refused(ei, "wrong user name or password");
    if (!a->totp_on && !(a->totp_seal_len && have_code))
        return DV_OK; /* not enrolled: access_decide refuses what needs 2FA */
    if (!have_code)
        return refused(ei, "a second factor (TOTP) is required: give --totp-file");
    if (totp_verify(env, a, req->totp, req->now, ei) != DV_OK)
        return count_failure(env, a, req->now, ei) ? DV_EDB
                                                   : refused(ei, "wrong second factor (TOTP)");
    a->totp_on = 1; /* the first login with a code confirms an enrolment */
    *mfa = 1;
    return DV_OK;
}

/* Raises the dormant-account alert when the last login is older than the policy allows. */
static dv_err dormant_rule(const access_env *env, const index_account *a, int64_t now,
                           dv_errinfo *ei)
{
    char detail[120];

    if (!a->last_login || !env->pol->dormant_seconds ||
        now - a->last_login <= env->pol->dormant_seconds)
        return DV_OK;
    (void)snprintf(detail, sizeof(detail), "login after %lld days without one",
                   (long long)((now - a->last_login) / 86400));
    return access_alert(env, a->name, "dormant-account", 2, detail, now, ei);
}

dv_err access_login(const access_env *env, const access_login_req *req, access_login_res *res,
                    dv_errinfo *ei)
{
    index_account a;
    int mfa = 0;
    dv_err e;

    memset(res, 0, sizeof(*res));
    e = access_account_load(env, req->user, &a, ei);
    if (e == DV_ENOTFOUND || e == DV_EINVAL) {
        /* same cost as a real check, same answer */
        (void)access_password_verify("$argon2id$v=19$m=65536,t=2,p=1$"
                                     "c29tZXNhbHRzb21lc2FsdA$"
                                     "9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ",
                                     req->password);
        log_login(env, req->user, 0, req->now);
        return refused(ei, "wrong user name or password");
    }
    if (e)
        return e;
    e = check_factors(env, &a, req, &mfa, ei);
    if (!e) {
        e = dormant_rule(env, &a, req->now, ei);
        a.failed = 0;
        a.last_login = a.last_active = req->now;
        if (!e)
            e = index_account_update(env->db, &a, ei);
    }
    if (!e)
        e = open_session(env, &a, mfa, req, res, ei);
    log_login(env, a.name, e == DV_OK, req->now);
    sodium_memzero(&a, sizeof(a));
    return e;
}
