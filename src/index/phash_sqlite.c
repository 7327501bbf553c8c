/* SPDX-License-Identifier: Apache-2.0 */
/* phash_sqlite.c - schema version 4 of the SQLite index: each image instance's perceptual hash,
 * sealed by the vault (the index never sees the 8 clear bytes), so that trace compares hashes
 * without decrypting every stored image.
 *
 * Invariants: a row of image_hash belongs to exactly one instance row (its id); it goes when
 * the instance goes (ON DELETE CASCADE: shred, retention, index_instance_delete) and when the
 * instance is replaced by another object (trigger image_hash_replaced: the hash was of the old
 * object).  Sealed values are 1..INDEX_PHASH_SEAL_MAX bytes, checked on write and on read.
 * Statements here are prepared per call (two calls: one per imported image, one per trace) and
 * finalized before returning, so none holds a read transaction open between calls.
 */
#include <string.h>

#include <sqlite3.h>

#include "common/dv.h"
#include "index/index.h"
#include "index/phash_int.h"
#include "index/sqlite_int.h"

#include "common/banned.h"

/* IF NOT EXISTS: a file turned back into an older version by hand (tests) may keep the table */
static const char MIGRATE_4[] =
    "CREATE TABLE IF NOT EXISTS image_hash("
    " instance_id INTEGER PRIMARY KEY REFERENCES instance(id) ON DELETE CASCADE,"
    " sealed BLOB NOT NULL CHECK(length(sealed) BETWEEN 1 AND 64));"
    "CREATE TRIGGER IF NOT EXISTS image_hash_replaced AFTER UPDATE OF object_key ON instance"
    " WHEN NEW.object_key IS NOT OLD.object_key"
    " BEGIN DELETE FROM image_hash WHERE instance_id = OLD.id; END;";

_Static_assert(INDEX_PHASH_SEAL_MAX == 64, "MIGRATE_4's CHECK names the same limit");

#define PHASH_SELECT                                                                              \
    "SELECT i.id, st.id, st.uid_bi, i.object_key, st.dek_wrapped, i.frames, h.sealed"             \
    " FROM instance i JOIN series se ON se.id = i.series_id JOIN study st ON st.id = se.study_id" \
    " LEFT JOIN image_hash h ON h.instance_id = i.id"

dv_err index_sq_phash_migrate(index_db *db, dv_errinfo *ei)
{
    int rc = sqlite3_exec(sq_of(db)->h, MIGRATE_4, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return index_sq_fail(db, rc, "migrate to schema version 4", ei);
    return DV_OK;
}

static dv_err prepare(index_db *db, const char *sql, sqlite3_stmt **st, dv_errinfo *ei)
{
    int rc = sqlite3_prepare_v2(sq_of(db)->h, sql, -1, st, NULL);

    if (rc != SQLITE_OK) {
        *st = NULL;
        return index_sq_fail(db, rc, "prepare", ei);
    }
    return DV_OK;
}

dv_err index_phash_put(index_db *db, int64_t instance_id, const uint8_t *sealed, size_t len,
                       dv_errinfo *ei)
{
    sqlite3_stmt *st = NULL;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    if (instance_id <= 0 || !sealed || len == 0 || len > INDEX_PHASH_SEAL_MAX)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "index: instance id or sealed hash missing or too long");
    e = prepare(db,
                "INSERT INTO image_hash(instance_id, sealed) VALUES(?1, ?2)"
                " ON CONFLICT(instance_id) DO UPDATE SET sealed = excluded.sealed",
                &st, ei);
    if (e)
        return e;
    rc = index_sq_int(st, 1, instance_id) | index_sq_blob(st, 2, sealed, len);
    if (rc != SQLITE_OK)
        e = index_sq_fail(db, rc, "bind", ei);
    else
        e = index_sq_exec(db, st, "store image hash", ei); /* no instance: DV_ENOTFOUND */
    (void)sqlite3_finalize(st);                            /* repeats the step's error */
    return e;
}

static dv_err stored_bad(dv_errinfo *ei, const char *what)
{
    return dv_fail(ei, DV_EDB, DV_NO_OFFSET, DV_NO_TAG, "index: stored %s breaks its limits", what);
}

/* The current row of PHASH_SELECT into *h, every length checked. */
static dv_err read_phash(sqlite3_stmt *st, index_phash *h, dv_errinfo *ei)
{
    int64_t frames = sqlite3_column_int64(st, 5);
    index_bytes dek, sealed;

    memset(h, 0, sizeof(*h));
    h->instance_id = sqlite3_column_int64(st, 0);
    h->study_id = sqlite3_column_int64(st, 1);
    if (!index_sq_col_bi(st, 2, h->study_bi))
        return stored_bad(ei, "study blind index");
    if (!index_sq_col_text(st, 3, h->object_key, INDEX_KEY_LEN))
        return stored_bad(ei, "object key");
    index_sq_col_blob(st, 4, &dek);
    index_sq_col_blob(st, 6, &sealed);
    if (dek.len > INDEX_DEK_MAX || sealed.len > INDEX_PHASH_SEAL_MAX)
        return stored_bad(ei, "study key or image hash");
    if (frames < 0 || frames > (int64_t)UINT32_MAX)
        return stored_bad(ei, "frame count");
    if (dek.len)
        memcpy(h->dek_wrapped, dek.p, dek.len);
    h->dek_len = dek.len;
    if (sealed.len)
        memcpy(h->sealed, sealed.p, sealed.len);
    h->sealed_len = sealed.len;
    h->frames = (uint32_t)frames;
    return DV_OK;
}

dv_err index_phash_list(index_db *db, const uint8_t *study_bi, index_phash_fn fn, void *ctx,
                        dv_errinfo *ei)
{
    sqlite3_stmt *st = NULL;
    index_phash h;
    dv_err e;
    int rc = SQLITE_ROW;

    dv_errinfo_clear(ei);
    /* "+i.id": one study's few rows are found through its index, then sorted */
    e = prepare(db,
                study_bi ? PHASH_SELECT " WHERE st.uid_bi = ?1 ORDER BY +i.id"
                         : PHASH_SELECT " ORDER BY i.id",
                &st, ei);
    if (!e && study_bi && index_sq_bi(st, 1, study_bi) != SQLITE_OK)
        e = index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    while (!e) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        e = read_phash(st, &h, ei);
        if (!e)
            e = fn(ctx, &h);
    }
    if (!e && rc != SQLITE_DONE)
        e = index_sq_fail(db, rc, "list image hashes", ei);
    (void)sqlite3_finalize(st); /* repeats the step's error */
    return e;
}
