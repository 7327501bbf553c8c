/* SPDX-License-Identifier: Apache-2.0 */
/* access_sqlite.c - SQLite backend of the access tables: accounts, sessions, care grants.
 *
 * Every argument is checked here (these functions have no backend table yet: see index.h).
 * Names are 1..64 characters of [A-Za-z0-9._@-]; texts are printable (UTF-8 allowed), without
 * control characters, within their limits; blind indexes are INDEX_BI_BYTES.  Every stored
 * value is checked again when read back (DV_EDB when it breaks its limits).
 */
#include <string.h>

#include "common/dv.h"
#include "index/access_int.h"
#include "index/index.h"
#include "index/sqlite_int.h"
#include "index/sqlite_step.h"

#include "common/banned.h"

/* ---- checks shared with access_sqlite2.c ------------------------------------------------- */

int index_acc_name_ok(const char *s)
{
    size_t i, n;

    if (!s)
        return 0;
    n = strnlen(s, INDEX_USER_NAME_MAX + 1);
    if (n == 0 || n > INDEX_USER_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

        if (!alnum && c != '.' && c != '_' && c != '-' && c != '@')
            return 0;
    }
    return 1;
}

int index_acc_text_ok(const char *s, size_t min, size_t max)
{
    size_t i, n;

    if (!s)
        return 0;
    n = strnlen(s, max + 1);
    if (n < min || n > max)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7F)
            return 0;
    return 1;
}

dv_err index_acc_bad(dv_errinfo *ei, const char *what)
{
    return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "index: %s", what);
}

dv_err index_acc_stored(dv_errinfo *ei, const char *what)
{
    return dv_fail(ei, DV_EDB, DV_NO_OFFSET, DV_NO_TAG, "index: stored %s breaks its limits", what);
}

dv_err index_acc_bind(index_db *db, sqlite3_stmt *st, int rc, dv_errinfo *ei)
{
    if (rc == SQLITE_OK)
        return DV_OK;
    index_sq_reset(st);
    return index_sq_fail(db, rc, "bind", ei);
}

int index_acc_col_text(sqlite3_stmt *st, int col, char *out, size_t max)
{
    return index_sq_col_text(st, col, out, max);
}

/* ---- accounts ------------------------------------------------------------------------------ */

#define ACC_COLS                                                                         \
    "SELECT id, name, CASE WHEN roles = '' THEN role ELSE roles END, team, pwhash,"      \
    " must_change, disabled, suspended, lift_admin, lift_privacy, failed, locked_until," \
    " last_login, last_active, created, totp_seal, totp_on, totp_last FROM users"

static dv_err acc_check(const index_account *a, dv_errinfo *ei)
{
    if (!index_acc_name_ok(a->name))
        return index_acc_bad(ei, "user name empty, too long or not [A-Za-z0-9._@-]");
    if (!index_acc_text_ok(a->roles, 1, INDEX_ROLES_MAX))
        return index_acc_bad(ei, "roles empty or too long");
    if (a->team[0] && !index_acc_name_ok(a->team))
        return index_acc_bad(ei, "team too long or not [A-Za-z0-9._@-]");
    if (!index_acc_text_ok(a->pwhash, 1, INDEX_PWHASH_MAX))
        return index_acc_bad(ei, "password hash empty or too long");
    if ((a->lift_admin[0] && !index_acc_name_ok(a->lift_admin)) ||
        (a->lift_privacy[0] && !index_acc_name_ok(a->lift_privacy)))
        return index_acc_bad(ei, "bad lifter name");
    if (a->totp_seal_len > INDEX_TOTP_SEAL_MAX || a->failed < 0 || a->created < 0)
        return index_acc_bad(ei, "account value out of range");
    return DV_OK;
}

/* The role column of version 1 (<= INDEX_ROLE_MAX): the first role of the set. */
static void first_role(const char *roles, char out[INDEX_ROLE_MAX + 1])
{
    size_t n = strcspn(roles, ",");

    if (n > INDEX_ROLE_MAX)
        n = INDEX_ROLE_MAX;
    memcpy(out, roles, n);
    out[n] = '\0';
}

dv_err index_account_insert(index_db *db, index_account *a, dv_errinfo *ei)
{
    char role[INDEX_ROLE_MAX + 1];
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    e = acc_check(a, ei);
    if (e)
        return e;
    if (a->created == 0)
        a->created = index_now();
    e = index_sq_stmt(db, Q_ACC_INSERT,
                      "INSERT INTO users(name, role, pwhash, must_change, disabled, created, roles,"
                      " team) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                      &st, ei);
    if (e)
        return e;
    first_role(a->roles, role);
    rc = index_sq_text(st, 1, a->name) | index_sq_text(st, 2, role) |
         index_sq_text(st, 3, a->pwhash) | index_sq_int(st, 4, a->must_change != 0) |
         index_sq_int(st, 5, a->disabled != 0) | index_sq_int(st, 6, a->created) |
         index_sq_text(st, 7, a->roles) | index_sq_text(st, 8, a->team);
    e = index_acc_bind(db, st, rc, ei);
    if (!e)
        e = index_sq_exec_insert(db, st, "insert account", &a->id, ei);
    if (!e)
        e = index_account_update(db, a, ei); /* the remaining columns */
    return e;
}

static dv_err acc_read(sqlite3_stmt *st, void *row, dv_errinfo *ei)
{
    index_account *a = row;
    const void *p;
    int n;

    memset(a, 0, sizeof(*a));
    a->id = sqlite3_column_int64(st, 0);
    if (!index_acc_col_text(st, 1, a->name, INDEX_USER_NAME_MAX) ||
        !index_acc_col_text(st, 2, a->roles, INDEX_ROLES_MAX) ||
        !index_acc_col_text(st, 3, a->team, INDEX_TEAM_MAX) ||
        !index_acc_col_text(st, 4, a->pwhash, INDEX_PWHASH_MAX) ||
        !index_acc_col_text(st, 8, a->lift_admin, INDEX_USER_NAME_MAX) ||
        !index_acc_col_text(st, 9, a->lift_privacy, INDEX_USER_NAME_MAX))
        return index_acc_stored(ei, "account");
    a->must_change = sqlite3_column_int(st, 5) != 0;
    a->disabled = sqlite3_column_int(st, 6) != 0;
    a->suspended = sqlite3_column_int(st, 7) != 0;
    a->failed = sqlite3_column_int64(st, 10);
    a->locked_until = sqlite3_column_int64(st, 11);
    a->last_login = sqlite3_column_int64(st, 12);
    a->last_active = sqlite3_column_int64(st, 13);
    a->created = sqlite3_column_int64(st, 14);
    p = sqlite3_column_blob(st, 15);
    n = sqlite3_column_bytes(st, 15);
    if (n < 0 || (size_t)n > INDEX_TOTP_SEAL_MAX)
        return index_acc_stored(ei, "TOTP seal");
    if (p && n > 0)
        memcpy(a->totp_seal, p, (size_t)n);
    a->totp_seal_len = p ? (size_t)n : 0;
    a->totp_on = sqlite3_column_int(st, 16) != 0;
    a->totp_last = sqlite3_column_int64(st, 17);
    return DV_OK;
}

dv_err index_account_get(index_db *db, const char *name, index_account *out, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;

    dv_errinfo_clear(ei);
    memset(out, 0, sizeof(*out));
    if (!index_acc_name_ok(name))
        return index_acc_bad(ei, "user name empty, too long or not [A-Za-z0-9._@-]");
    e = index_sq_stmt(db, Q_ACC_GET, ACC_COLS " WHERE name = ?", &st, ei);
    if (!e)
        e = index_acc_bind(db, st, index_sq_text(st, 1, name), ei);
    return e ? e
             : index_sq_get_one(db, st, acc_read, out, "index: no such user", "get account", ei);
}

dv_err index_account_get_id(index_db *db, int64_t id, index_account *out, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    memset(out, 0, sizeof(*out));
    return index_sq_get_id(db, Q_ACC_GET_ID, ACC_COLS " WHERE id = ?", id, acc_read, out,
                           "index: no such user", "get account", ei);
}

dv_err index_account_update(index_db *db, const index_account *a, dv_errinfo *ei)
{
    char role[INDEX_ROLE_MAX + 1];
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    if (a->id <= 0)
        return index_acc_bad(ei, "user id out of range");
    e = acc_check(a, ei);
    if (e)
        return e;
    e = index_sq_stmt(db, Q_ACC_UPDATE,
                      "UPDATE users SET role = ?, roles = ?, team = ?, pwhash = ?, must_change = ?,"
                      " disabled = ?, suspended = ?, lift_admin = ?, lift_privacy = ?, failed = ?,"
                      " locked_until = ?, last_login = ?, last_active = ?, totp_seal = ?,"
                      " totp_on = ?, totp_last = ? WHERE id = ?",
                      &st, ei);
    if (e)
        return e;
    first_role(a->roles, role);
    rc = index_sq_text(st, 1, role) | index_sq_text(st, 2, a->roles) |
         index_sq_text(st, 3, a->team) | index_sq_text(st, 4, a->pwhash) |
         index_sq_int(st, 5, a->must_change != 0) | index_sq_int(st, 6, a->disabled != 0) |
         index_sq_int(st, 7, a->suspended != 0) | index_sq_text(st, 8, a->lift_admin) |
         index_sq_text(st, 9, a->lift_privacy) | index_sq_int(st, 10, a->failed) |
         index_sq_int(st, 11, a->locked_until) | index_sq_int(st, 12, a->last_login) |
         index_sq_int(st, 13, a->last_active) | index_sq_int(st, 15, a->totp_on != 0) |
         index_sq_int(st, 16, a->totp_last) | index_sq_int(st, 17, a->id);
    rc |= a->totp_seal_len ? index_sq_blob(st, 14, a->totp_seal, a->totp_seal_len)
                           : sqlite3_bind_null(st, 14);
    e = index_acc_bind(db, st, rc, ei);
    return e ? e
             : index_sq_exec_one(db, st, "update account", DV_ENOTFOUND, "index: no such user", ei);
}

dv_err index_account_list(index_db *db, dv_err (*fn)(void *ctx, const index_account *a), void *ctx,
                          dv_errinfo *ei)
{
    index_account a;
    sqlite3_stmt *st = NULL;
    dv_err e;

    dv_errinfo_clear(ei);
    e = index_sq_stmt(db, Q_ACC_LIST, ACC_COLS " ORDER BY name", &st, ei);
    while (index_sq_next(db, st, acc_read, &a, &e, "list accounts", ei))
        e = fn(ctx, &a);
    if (st)
        index_sq_reset(st);
    return e;
}

/* ---- sessions ---------------------------------------------------------------------------- */

dv_err index_session_insert(index_db *db, index_session *s, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    if (s->user_id <= 0 || !index_acc_text_ok(s->purpose, 1, INDEX_PURPOSE_MAX) ||
        !index_acc_text_ok(s->client, 1, INDEX_CLIENT_MAX))
        return index_acc_bad(ei, "session user, purpose or client missing or too long");
    e = index_sq_stmt(db, Q_SES_INSERT,
                      "INSERT INTO session(token_hash, user_id, purpose, client, mfa, created,"
                      " last_used, expires) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                      &st, ei);
    if (e)
        return e;
    rc = index_sq_blob(st, 1, s->token_hash, INDEX_TOKEN_HASH) | index_sq_int(st, 2, s->user_id) |
         index_sq_text(st, 3, s->purpose) | index_sq_text(st, 4, s->client) |
         index_sq_int(st, 5, s->mfa != 0) | index_sq_int(st, 6, s->created) |
         index_sq_int(st, 7, s->last_used) | index_sq_int(st, 8, s->expires);
    e = index_acc_bind(db, st, rc, ei);
    return e ? e : index_sq_exec_insert(db, st, "insert session", &s->id, ei);
}

/* Every column is read, also when a text breaks its limits (the error is returned). */
static dv_err ses_read(sqlite3_stmt *st, void *row, dv_errinfo *ei)
{
    index_session *out = row;
    dv_err e = DV_OK;

    out->id = sqlite3_column_int64(st, 0);
    out->user_id = sqlite3_column_int64(st, 1);
    if (!index_sq_col_bi(st, 2, out->token_hash) ||
        !index_acc_col_text(st, 3, out->purpose, INDEX_PURPOSE_MAX) ||
        !index_acc_col_text(st, 4, out->client, INDEX_CLIENT_MAX))
        e = index_acc_stored(ei, "session");
    out->mfa = sqlite3_column_int(st, 5) != 0;
    out->created = sqlite3_column_int64(st, 6);
    out->last_used = sqlite3_column_int64(st, 7);
    out->expires = sqlite3_column_int64(st, 8);
    return e;
}

dv_err index_session_get(index_db *db, const uint8_t hash[INDEX_TOKEN_HASH], index_session *out,
                         dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;

    dv_errinfo_clear(ei);
    memset(out, 0, sizeof(*out));
    e = index_sq_stmt(db, Q_SES_GET,
                      "SELECT id, user_id, token_hash, purpose, client, mfa, created, last_used,"
                      " expires FROM session WHERE token_hash = ?",
                      &st, ei);
    if (!e)
        e = index_acc_bind(db, st, index_sq_blob(st, 1, hash, INDEX_TOKEN_HASH), ei);
    return e ? e
             : index_sq_get_one(db, st, ses_read, out, "index: no such session", "get session", ei);
}

dv_err index_session_touch(index_db *db, int64_t id, int64_t last_used, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    e = index_sq_stmt(db, Q_SES_TOUCH, "UPDATE session SET last_used = ? WHERE id = ?", &st, ei);
    if (e)
        return e;
    rc = index_sq_int(st, 1, last_used) | index_sq_int(st, 2, id);
    e = index_acc_bind(db, st, rc, ei);
    return e ? e : index_sq_exec(db, st, "touch session", ei);
}

dv_err index_session_delete(index_db *db, int64_t id, int64_t user_id, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;

    dv_errinfo_clear(ei);
    if (id > 0)
        e = index_sq_stmt(db, Q_SES_DELETE, "DELETE FROM session WHERE id = ?", &st, ei);
    else
        e = index_sq_stmt(db, Q_SES_DELETE_USER, "DELETE FROM session WHERE user_id = ?", &st, ei);
    if (e)
        return e;
    e = index_acc_bind(db, st, index_sq_int(st, 1, id > 0 ? id : user_id), ei);
    return e ? e : index_sq_exec(db, st, "delete session", ei);
}

/* ---- care grants --------------------------------------------------------------------------- */

#define GRANT_COLS                                                                  \
    "SELECT id, grantee_group, grantee, target_patient, target_bi, source, reason," \
    " created_by, created, expires, revoked FROM care_grant"

dv_err index_grant_insert(index_db *db, index_grant *g, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    if (!index_acc_name_ok(g->grantee) || !index_acc_name_ok(g->created_by) ||
        !index_acc_name_ok(g->source) || !index_acc_text_ok(g->reason, 1, INDEX_REASON_MAX))
        return index_acc_bad(ei, "grant grantee, creator, source or reason missing or bad");
    if (g->created < 0 || g->expires <= g->created)
        return index_acc_bad(ei, "a grant must expire after it is created");
    e = index_sq_stmt(db, Q_GRANT_INSERT,
                      "INSERT INTO care_grant(grantee_group, grantee, target_patient, target_bi,"
                      " source, reason, created_by, created, expires) VALUES(?,?,?,?,?,?,?,?,?)",
                      &st, ei);
    if (e)
        return e;
    rc = index_sq_int(st, 1, g->group != 0) | index_sq_text(st, 2, g->grantee) |
         index_sq_int(st, 3, g->patient != 0) | index_sq_bi(st, 4, g->target_bi) |
         index_sq_text(st, 5, g->source) | index_sq_text(st, 6, g->reason) |
         index_sq_text(st, 7, g->created_by) | index_sq_int(st, 8, g->created) |
         index_sq_int(st, 9, g->expires);
    e = index_acc_bind(db, st, rc, ei);
    return e ? e : index_sq_exec_insert(db, st, "insert grant", &g->id, ei);
}

dv_err index_grant_revoke(index_db *db, int64_t id, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;

    dv_errinfo_clear(ei);
    e = index_sq_stmt(db, Q_GRANT_REVOKE, "UPDATE care_grant SET revoked = 1 WHERE id = ?", &st,
                      ei);
    if (!e)
        e = index_acc_bind(db, st, index_sq_int(st, 1, id), ei);
    return e ? e
             : index_sq_exec_one(db, st, "revoke grant", DV_ENOTFOUND, "index: no such grant", ei);
}

static dv_err grant_read(sqlite3_stmt *st, void *row, dv_errinfo *ei)
{
    index_grant *g = row;

    memset(g, 0, sizeof(*g));
    g->id = sqlite3_column_int64(st, 0);
    g->group = sqlite3_column_int(st, 1) != 0;
    g->patient = sqlite3_column_int(st, 3) != 0;
    if (!index_acc_col_text(st, 2, g->grantee, INDEX_USER_NAME_MAX) ||
        !index_sq_col_bi(st, 4, g->target_bi) ||
        !index_acc_col_text(st, 5, g->source, INDEX_WORD_MAX) ||
        !index_acc_col_text(st, 6, g->reason, INDEX_REASON_MAX) ||
        !index_acc_col_text(st, 7, g->created_by, INDEX_USER_NAME_MAX))
        return index_acc_stored(ei, "grant");
    g->created = sqlite3_column_int64(st, 8);
    g->expires = sqlite3_column_int64(st, 9);
    g->revoked = sqlite3_column_int(st, 10) != 0;
    return DV_OK;
}

dv_err index_grant_get(index_db *db, int64_t id, index_grant *out, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    return index_sq_get_id(db, Q_GRANT_GET, GRANT_COLS " WHERE id = ?", id, grant_read, out,
                           "index: no such grant", "get grant", ei);
}

dv_err index_grant_list(index_db *db, const char *user, const char *team, int64_t now,
                        dv_err (*fn)(void *ctx, const index_grant *g), void *ctx, dv_errinfo *ei)
{
    index_grant g;
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    if ((user && !index_acc_name_ok(user)) || (team && team[0] && !index_acc_name_ok(team)))
        return index_acc_bad(ei, "bad user or team name");
    if (user)
        e = index_sq_stmt(db, Q_GRANT_LIST,
                          GRANT_COLS " WHERE revoked = 0 AND ((grantee_group = 0 AND grantee = ?1)"
                                     " OR (grantee_group = 1 AND grantee = ?2))"
                                     " AND (?3 < 0 OR (created <= ?3 AND ?3 < expires))"
                                     " ORDER BY id",
                          &st, ei);
    else
        e = index_sq_stmt(db, Q_GRANT_LIST_ALL,
                          GRANT_COLS " WHERE revoked = 0 AND (?3 < 0 OR (created <= ?3 AND"
                                     " ?3 < expires)) ORDER BY id",
                          &st, ei);
    if (e)
        return e;
    rc = index_sq_int(st, 3, now);
    if (user)
        rc |= index_sq_text(st, 1, user) | index_sq_text(st, 2, team && team[0] ? team : "\x01");
    e = index_acc_bind(db, st, rc, ei);
    while (index_sq_next(db, st, grant_read, &g, &e, "list grants", ei))
        e = fn(ctx, &g);
    index_sq_reset(st);
    return e;
}
