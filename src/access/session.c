/* SPDX-License-Identifier: Apache-2.0 */
/* session.c - sessions: a random 32-byte token for the client, only its BLAKE2b hash stored;
 * idle timeout and absolute lifetime; the subject a session stands for.
 *
 * Invariants: a session row is valid while now - last_used <= pol->session_idle and
 * now < expires; an expired row is deleted when it is met.  The token is compared as a hash,
 * in constant time after the lookup.
 */
#include <sodium.h>
#include <string.h>

#include "access/access_int.h"

#include "common/banned.h"

#define TOUCH_EVERY 30 /* seconds: a session row is written at most this often */

_Static_assert(ACCESS_TOKEN_HEX == 2 * ACCESS_TOKEN_BYTES, "hex token length");

static dv_err no_session(dv_errinfo *ei, const char *why)
{
    return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG, "%s: log in again (dcmvault login)", why);
}

/* Hash of a hex token; -1 when it is not ACCESS_TOKEN_HEX hex digits. */
static int token_hash(const char *token, uint8_t hash[INDEX_TOKEN_HASH])
{
    uint8_t raw[ACCESS_TOKEN_BYTES];
    size_t n = 0;
    int rc = -1;

    if (strlen(token) == ACCESS_TOKEN_HEX &&
        sodium_hex2bin(raw, sizeof(raw), token, ACCESS_TOKEN_HEX, NULL, &n, NULL) == 0 &&
        n == sizeof(raw)) {
        crypto_generichash(hash, INDEX_TOKEN_HASH, raw, sizeof(raw), NULL, 0);
        rc = 0;
    }
    sodium_memzero(raw, sizeof(raw));
    return rc;
}

static void fill(const index_account *a, const index_session *s, access_session_info *out)
{
    access_purpose p = ACCESS_P_HOPERAT;

    memcpy(out->user, a->name, sizeof(out->user));
    memcpy(out->team, a->team, sizeof(out->team));
    out->roles = access_account_roles(a);
    if (access_purpose_from_name(s->purpose, &p) != 0)
        p = access_roles_default_purpose(out->roles);
    out->purpose = p;
    out->mfa = s->mfa;
    out->must_change = a->must_change;
    out->disabled = a->disabled;
    out->suspended = a->suspended;
    out->session_id = s->id;
    out->expires = s->expires;
}

dv_err access_session_open(const access_env *env, const char *token, int64_t now,
                           access_session_info *out, dv_errinfo *ei)
{
    uint8_t hash[INDEX_TOKEN_HASH];
    index_session s;
    index_account a;
    dv_err e;

    memset(out, 0, sizeof(*out));
    if (token_hash(token, hash) != 0)
        return no_session(ei, "no valid session token");
    e = index_session_get(env->db, hash, &s, ei);
    if (e == DV_ENOTFOUND || (!e && sodium_memcmp(hash, s.token_hash, sizeof(hash)) != 0))
        return no_session(ei, "no such session (ended or never opened)");
    if (e)
        return e;
    if (now - s.last_used > env->pol->session_idle || now >= s.expires || now < s.created) {
        e = index_session_delete(env->db, s.id, 0, ei);
        return e ? e : no_session(ei, "the session has expired");
    }
    e = index_account_get_id(env->db, s.user_id, &a, ei);
    if (e)
        return e == DV_ENOTFOUND ? no_session(ei, "the session's account is gone") : e;
    if (a.disabled || a.locked_until > now)
        e = no_session(ei, "the account is disabled or locked");
    if (!e && now - s.last_used >= TOUCH_EVERY) /* idle time kept to the half minute */
        e = index_session_touch(env->db, s.id, now, ei);
    if (!e && now - a.last_active >= 60) { /* at most one account write a minute */
        a.last_active = now;
        e = index_account_update(env->db, &a, ei);
    }
    if (!e)
        fill(&a, &s, out);
    sodium_memzero(&a, sizeof(a));
    return e;
}

dv_err access_logout(const access_env *env, const char *token, dv_errinfo *ei)
{
    uint8_t hash[INDEX_TOKEN_HASH];
    index_session s;
    dv_err e;

    if (token_hash(token, hash) != 0)
        return DV_OK;
    e = index_session_get(env->db, hash, &s, ei);
    if (e == DV_ENOTFOUND)
        return DV_OK;
    return e ? e : index_session_delete(env->db, s.id, 0, ei);
}

void access_subject_of(const access_session_info *s, access_purpose p, access_subject *out)
{
    memset(out, 0, sizeof(*out));
    out->user = s->user;
    out->roles = s->roles;
    out->purpose = (unsigned)p < ACCESS_PURPOSE_COUNT ? p : s->purpose;
    out->mfa = s->mfa;
    out->must_change = s->must_change;
    out->disabled = s->disabled;
    out->suspended = s->suspended;
}
