/* SPDX-License-Identifier: Apache-2.0 */
/* sqlite_misc.c - SQLite backend: object keys, counts, shred certificates, users and meta.
 *
 * None of these tables holds patient data: object keys are random, certificates name studies
 * by keyed pseudonyms, users are staff accounts with Argon2id hashes, meta holds the vault's
 * settings.  Every stored length is checked again when read back.
 */
#include <string.h>

#include "common/dv.h"
#include "index/index.h"
#include "index/index_int.h"
#include "index/sqlite_int.h"
#include "index/sqlite_step.h"

#include "common/banned.h"

static dv_err bad_stored(dv_errinfo *ei, const char *what)
{
    return dv_fail(ei, DV_EDB, DV_NO_OFFSET, DV_NO_TAG, "index: stored %s breaks its limits", what);
}

static dv_err bind_fail(index_db *db, dv_errinfo *ei)
{
    return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
}

/* ---- object keys and counts --------------------------------------------------------------- */

typedef struct key_size {
    char key[INDEX_KEY_LEN + 1];
    uint64_t size;
} key_size;

static dv_err read_key_size(sqlite3_stmt *st, void *row, dv_errinfo *ei)
{
    key_size *k = row;
    int64_t size = sqlite3_column_int64(st, 1);

    if (!index_sq_col_text(st, 0, k->key, INDEX_KEY_LEN) || size < 0)
        return bad_stored(ei, "object key or size");
    k->size = (uint64_t)size;
    return DV_OK;
}

dv_err index_sq_object_keys(index_db *db, dv_err (*fn)(void *ctx, const char *key, uint64_t size),
                            void *ctx, dv_errinfo *ei)
{
    key_size k;
    sqlite3_stmt *st;
    dv_err e =
        index_sq_stmt(db, Q_KEYS_ALL, "SELECT object_key, size FROM instance ORDER BY id", &st, ei);

    if (e != DV_OK)
        return e;
    while (index_sq_next(db, st, read_key_size, &k, &e, "list object keys", ei))
        e = fn(ctx, k.key, k.size);
    index_sq_reset(st);
    return e;
}

dv_err index_sq_object_key_exists(index_db *db, const char *key, int *yes, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e =
        index_sq_stmt(db, Q_KEY_EXISTS, "SELECT 1 FROM instance WHERE object_key = ?", &st, ei);
    int rc;

    if (e != DV_OK)
        return e;
    if (index_sq_text(st, 1, key))
        return bind_fail(db, ei);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *yes = 1;
    else if (rc != SQLITE_DONE)
        e = index_sq_fail(db, rc, "look up object key", ei);
    index_sq_reset(st);
    return e;
}

dv_err index_sq_count(index_db *db, index_counts *out, dv_errinfo *ei)
{
    uint64_t *f[7] = {&out->patients, &out->studies, &out->series, &out->instances,
                      &out->bytes,    &out->certs,   &out->users};
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_COUNT,
                             "SELECT (SELECT count(*) FROM patient), (SELECT count(*) FROM study),"
                             " (SELECT count(*) FROM series), (SELECT count(*) FROM instance),"
                             " (SELECT coalesce(sum(size), 0) FROM instance),"
                             " (SELECT count(*) FROM shred_certificate),"
                             " (SELECT count(*) FROM users)",
                             &st, ei);
    int rc, i;

    if (e != DV_OK)
        return e;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        for (i = 0; i < 7; i++) {
            int64_t v = sqlite3_column_int64(st, i);
            *f[i] = v > 0 ? (uint64_t)v : 0;
        }
    } else {
        e = index_sq_fail(db, rc, "count", ei);
    }
    index_sq_reset(st);
    return e;
}

/* ---- shred certificates -------------------------------------------------------------------- */

dv_err index_sq_cert_insert(index_db *db, const uint8_t *pseudonym, size_t pseudonym_len,
                            const char *body, const uint8_t *sig, size_t sig_len, int64_t created,
                            int64_t *id, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_CERT_INSERT,
                             "INSERT INTO shred_certificate(study_pseudonym, body, signature,"
                             " created) VALUES(?, ?, ?, ?)",
                             &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_blob(st, 1, pseudonym, pseudonym_len) || index_sq_text(st, 2, body) ||
        index_sq_blob(st, 3, sig, sig_len) || index_sq_int(st, 4, created ? created : index_now()))
        return bind_fail(db, ei);
    return index_sq_exec_insert(db, st, "insert certificate", id, ei);
}

static dv_err read_cert(sqlite3_stmt *st, void *row, dv_errinfo *ei)
{
    index_cert *c = row;
    int n;

    memset(c, 0, sizeof(*c));
    c->id = sqlite3_column_int64(st, 0);
    index_sq_col_blob(st, 1, &c->pseudonym);
    c->body = (const char *)sqlite3_column_text(st, 2);
    n = sqlite3_column_bytes(st, 2);
    index_sq_col_blob(st, 3, &c->signature);
    c->created = sqlite3_column_int64(st, 4);
    if (!c->body || n <= 0 || (size_t)n > INDEX_CERT_BODY_MAX ||
        c->pseudonym.len > INDEX_CERT_BLOB_MAX || c->signature.len > INDEX_CERT_BLOB_MAX)
        return bad_stored(ei, "certificate");
    c->body_len = (size_t)n;
    return DV_OK;
}

dv_err index_sq_cert_list(index_db *db, const uint8_t *pseudonym, size_t pseudonym_len,
                          dv_err (*fn)(void *ctx, const index_cert *c), void *ctx, dv_errinfo *ei)
{
    index_cert c;
    sqlite3_stmt *st;
    dv_err e;

    if (pseudonym)
        e = index_sq_stmt(db, Q_CERT_BY_PSEUDONYM,
                          "SELECT id, study_pseudonym, body, signature, created"
                          " FROM shred_certificate WHERE study_pseudonym = ? ORDER BY id",
                          &st, ei);
    else
        e = index_sq_stmt(db, Q_CERT_ALL,
                          "SELECT id, study_pseudonym, body, signature, created"
                          " FROM shred_certificate ORDER BY id",
                          &st, ei);
    if (e != DV_OK)
        return e;
    if (pseudonym && index_sq_blob(st, 1, pseudonym, pseudonym_len))
        return bind_fail(db, ei);
    while (index_sq_next(db, st, read_cert, &c, &e, "list certificates", ei))
        e = fn(ctx, &c);
    index_sq_reset(st);
    return e;
}

/* ---- users ---------------------------------------------------------------------------------- */

dv_err index_sq_user_insert(index_db *db, index_user *u, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    int64_t created = u->created ? u->created : index_now();
    dv_err e = index_sq_stmt(db, Q_USER_INSERT,
                             "INSERT INTO users(name, role, pwhash, must_change, disabled,"
                             " created) VALUES(?, ?, ?, ?, ?, ?)",
                             &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_text(st, 1, u->name) || index_sq_text(st, 2, u->role) ||
        index_sq_text(st, 3, u->pwhash) || index_sq_int(st, 4, u->must_change != 0) ||
        index_sq_int(st, 5, u->disabled != 0) || index_sq_int(st, 6, created))
        return bind_fail(db, ei);
    e = index_sq_exec_insert(db, st, "insert user", &u->id, ei);
    if (e == DV_OK)
        u->created = created;
    return e;
}

static dv_err read_user(sqlite3_stmt *st, void *row, dv_errinfo *ei)
{
    index_user *out = row;
    dv_err e = DV_OK;

    out->id = sqlite3_column_int64(st, 0);
    if (!index_sq_col_text(st, 1, out->name, INDEX_USER_NAME_MAX) ||
        !index_sq_col_text(st, 2, out->role, INDEX_ROLE_MAX) ||
        !index_sq_col_text(st, 3, out->pwhash, INDEX_PWHASH_MAX))
        e = bad_stored(ei, "user");
    out->must_change = sqlite3_column_int64(st, 4) != 0;
    out->disabled = sqlite3_column_int64(st, 5) != 0;
    out->created = sqlite3_column_int64(st, 6);
    return e;
}

dv_err index_sq_user_get(index_db *db, const char *name, index_user *out, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_USER_GET,
                             "SELECT id, name, role, pwhash, must_change, disabled, created"
                             " FROM users WHERE name = ?",
                             &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_text(st, 1, name))
        return bind_fail(db, ei);
    e = index_sq_get_one(db, st, read_user, out, "index: no such user", "look up user", ei);
    if (e != DV_OK)
        memset(out, 0, sizeof(*out));
    return e;
}

/* Runs a cached UPDATE of one user row; DV_ENOTFOUND when no row changed. */
static dv_err user_update(index_db *db, sqlite3_stmt *st, dv_errinfo *ei)
{
    return index_sq_exec_one(db, st, "update user", DV_ENOTFOUND, "index: no such user", ei);
}

dv_err index_sq_user_set_password(index_db *db, int64_t id, const char *pwhash, int must_change,
                                  dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_USER_PASSWORD,
                             "UPDATE users SET pwhash = ?, must_change = ? WHERE id = ?", &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_text(st, 1, pwhash) || index_sq_int(st, 2, must_change) || index_sq_int(st, 3, id))
        return bind_fail(db, ei);
    return user_update(db, st, ei);
}

dv_err index_sq_user_set_disabled(index_db *db, int64_t id, int disabled, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e =
        index_sq_stmt(db, Q_USER_DISABLED, "UPDATE users SET disabled = ? WHERE id = ?", &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_int(st, 1, disabled) || index_sq_int(st, 2, id))
        return bind_fail(db, ei);
    return user_update(db, st, ei);
}

/* ---- meta ---------------------------------------------------------------------------------- */

dv_err index_sq_meta_set(index_db *db, const char *key, const uint8_t *value, size_t len,
                         dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_META_SET,
                             "INSERT INTO meta(key, value) VALUES(?, ?)"
                             " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                             &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_text(st, 1, key) || index_sq_blob(st, 2, value, len))
        return bind_fail(db, ei);
    return index_sq_exec(db, st, "set meta", ei);
}

/* row: the dv_buf the value is appended to */
static dv_err read_meta(sqlite3_stmt *st, void *row, dv_errinfo *ei)
{
    index_bytes v;
    dv_err e;

    index_sq_col_blob(st, 0, &v);
    if (v.len > INDEX_META_VALUE_MAX)
        return bad_stored(ei, "meta value");
    if (v.len == 0)
        return DV_OK;
    e = dv_buf_add(row, v.p, v.len);
    if (e != DV_OK)
        e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "index: cannot copy a value");
    return e;
}

dv_err index_sq_meta_get(index_db *db, const char *key, dv_buf *out, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_META_GET, "SELECT value FROM meta WHERE key = ?", &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_text(st, 1, key))
        return bind_fail(db, ei);
    return index_sq_get_one(db, st, read_meta, out, "index: no such meta key", "get meta", ei);
}
