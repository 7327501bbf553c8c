/* SPDX-License-Identifier: Apache-2.0 */
/* sqlite_inst.c - SQLite backend: instances, the row reader shared by lookups and find, and
 * object keys.
 *
 * A row select yields the columns of SQ_COLS_P, SQ_COLS_ST, SQ_COLS_SE and SQ_COLS_I in that
 * order, as deep as its level; index_sq_read_row checks every stored length against the limits
 * of index.h before copying, so a damaged or hostile database file cannot overflow a row.
 */
#include <string.h>

#include "common/dv.h"
#include "index/index.h"
#include "index/index_int.h"
#include "index/sqlite_int.h"
#include "index/sqlite_step.h"

#include "common/banned.h"

/* first column of each level in a row select */
enum { C_P = 0, C_ST = 3, C_SE = 10, C_I = 14 };

static dv_err corrupt(dv_errinfo *ei, const char *what)
{
    return dv_fail(ei, DV_EDB, DV_NO_OFFSET, DV_NO_TAG, "index: stored %s breaks its limits", what);
}

static dv_err read_patient(sqlite3_stmt *st, index_row *row, dv_errinfo *ei)
{
    row->patient_id = sqlite3_column_int64(st, C_P);
    if (!index_sq_col_bi(st, C_P + 1, row->patient_bi))
        return corrupt(ei, "patient blind index");
    index_sq_col_blob(st, C_P + 2, &row->patient_seal);
    return DV_OK;
}

static dv_err read_study(sqlite3_stmt *st, index_row *row, dv_errinfo *ei)
{
    index_bytes dek;

    row->study_id = sqlite3_column_int64(st, C_ST);
    if (!index_sq_col_bi(st, C_ST + 1, row->study_bi))
        return corrupt(ei, "study blind index");
    index_sq_col_blob(st, C_ST + 2, &row->study_seal);
    index_sq_col_blob(st, C_ST + 3, &dek);
    if (dek.len > INDEX_DEK_MAX)
        return corrupt(ei, "study key");
    if (dek.len)
        memcpy(row->dek_wrapped, dek.p, dek.len);
    row->dek_len = dek.len;
    if (!index_sq_col_text(st, C_ST + 4, row->modalities, INDEX_MODALITIES_MAX) ||
        !index_sq_col_text(st, C_ST + 5, row->retention, INDEX_RETENTION_MAX))
        return corrupt(ei, "study modalities or retention");
    row->study_created = sqlite3_column_int64(st, C_ST + 6);
    return DV_OK;
}

static dv_err read_series(sqlite3_stmt *st, index_row *row, dv_errinfo *ei)
{
    row->series_id = sqlite3_column_int64(st, C_SE);
    if (!index_sq_col_bi(st, C_SE + 1, row->series_bi))
        return corrupt(ei, "series blind index");
    index_sq_col_blob(st, C_SE + 2, &row->series_seal);
    if (!index_sq_col_text(st, C_SE + 3, row->modality, INDEX_MODALITY_MAX))
        return corrupt(ei, "series modality");
    return DV_OK;
}

static dv_err read_instance(sqlite3_stmt *st, index_row *row, dv_errinfo *ei)
{
    int64_t size = sqlite3_column_int64(st, C_I + 6);
    int64_t frames = sqlite3_column_int64(st, C_I + 7);

    row->instance_id = sqlite3_column_int64(st, C_I);
    if (!index_sq_col_bi(st, C_I + 1, row->sop_bi))
        return corrupt(ei, "instance blind index");
    index_sq_col_blob(st, C_I + 2, &row->instance_seal);
    if (!index_sq_col_text(st, C_I + 3, row->sop_class, INDEX_UID_MAX) ||
        !index_sq_col_text(st, C_I + 4, row->ts_uid, INDEX_UID_MAX) ||
        !index_sq_col_text(st, C_I + 5, row->object_key, INDEX_KEY_LEN))
        return corrupt(ei, "instance UID or object key");
    if (size < 0 || frames < 0 || frames > (int64_t)UINT32_MAX)
        return corrupt(ei, "instance size or frame count");
    row->size = (uint64_t)size;
    row->frames = (uint32_t)frames;
    row->created = sqlite3_column_int64(st, C_I + 8);
    return DV_OK;
}

dv_err index_sq_read_row(sqlite3_stmt *st, index_level level, index_row *row, dv_errinfo *ei)
{
    dv_err e;

    memset(row, 0, sizeof(*row));
    row->level = level;
    e = read_patient(st, row, ei);
    if (e == DV_OK && level >= INDEX_LEVEL_STUDY)
        e = read_study(st, row, ei);
    if (e == DV_OK && level >= INDEX_LEVEL_SERIES)
        e = read_series(st, row, ei);
    if (e == DV_OK && level >= INDEX_LEVEL_INSTANCE)
        e = read_instance(st, row, ei);
    if (e == DV_OK &&
        (row->patient_seal.len > INDEX_SEAL_MAX || row->study_seal.len > INDEX_SEAL_MAX ||
         row->series_seal.len > INDEX_SEAL_MAX || row->instance_seal.len > INDEX_SEAL_MAX))
        e = corrupt(ei, "seal");
    return e;
}

dv_err index_sq_get_row(index_db *db, sqlite3_stmt *st, index_level level, index_row *row,
                        const char *what, dv_errinfo *ei)
{
    int rc = sqlite3_step(st);
    dv_err e;

    if (rc == SQLITE_ROW) {
        e = index_sq_read_row(st, level, row, ei);
        if (e == DV_OK)
            e = index_row_own(db, row, ei);
        if (e != DV_OK)
            memset(row, 0, sizeof(*row));
    } else if (rc == SQLITE_DONE) {
        e = dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "index: %s: not found", what);
    } else {
        e = index_sq_fail(db, rc, what, ei);
    }
    index_sq_reset(st);
    return e;
}

dv_err index_sq_each_row(index_db *db, sqlite3_stmt *st, index_level level, index_row_fn fn,
                         void *ctx, uint64_t *n, dv_errinfo *ei)
{
    index_row row;
    dv_err e = DV_OK;
    int rc = SQLITE_ROW;

    while (e == DV_OK) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        e = index_sq_read_row(st, level, &row, ei);
        if (e != DV_OK)
            break;
        if (n)
            (*n)++;
        e = fn(ctx, &row);
    }
    if (e == DV_OK && rc != SQLITE_DONE)
        e = index_sq_fail(db, rc, "read rows", ei);
    return e;
}

/* ---- instances ----------------------------------------------------------------------------- */

/* Binds ?1..?9 = series_id, sop_class, ts_uid, object_key, size, frames, seal, created, last. */
static int bind_instance(sqlite3_stmt *st, const index_instance_in *in)
{
    int64_t created = in->created ? in->created : index_now();

    return index_sq_int(st, 1, in->series_id) || index_sq_text(st, 2, in->sop_class) ||
           index_sq_text(st, 3, in->ts_uid) || index_sq_text(st, 4, in->object_key) ||
           index_sq_int(st, 5, (int64_t)in->size) || index_sq_int(st, 6, in->frames) ||
           index_sq_blob(st, 7, in->seal, in->seal_len) || index_sq_int(st, 8, created);
}

dv_err index_sq_instance_insert(index_db *db, const index_instance_in *in, int64_t *id,
                                dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_INST_INSERT,
                             "INSERT INTO instance(series_id, sop_class, ts_uid, object_key,"
                             " size, frames, seal, created, uid_bi)"
                             " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                             &st, ei);

    if (e != DV_OK)
        return e;
    if (bind_instance(st, in) || index_sq_bi(st, 9, in->uid_bi))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    return index_sq_exec_insert(db, st, "insert instance", id, ei);
}

/* The id and object key of the instance with uid_bi; *id = 0 when there is none. */
static dv_err instance_key(index_db *db, const uint8_t *uid_bi, int64_t *id,
                           char key[INDEX_KEY_LEN + 1], dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_INST_FIND_BI,
                             "SELECT id, object_key FROM instance"
                             " WHERE uid_bi = ?",
                             &st, ei);
    int rc;

    *id = 0;
    key[0] = '\0';
    if (e != DV_OK)
        return e;
    if (index_sq_bi(st, 1, uid_bi))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        if (!index_sq_col_text(st, 1, key, INDEX_KEY_LEN))
            e = corrupt(ei, "object key");
    } else if (rc != SQLITE_DONE) {
        e = index_sq_fail(db, rc, "look up instance", ei);
    }
    index_sq_reset(st);
    return e;
}

static dv_err replace(index_db *db, const index_instance_in *in, int64_t *id,
                      char old_key[INDEX_KEY_LEN + 1], dv_errinfo *ei)
{
    char key[INDEX_KEY_LEN + 1];
    int64_t old = 0;
    sqlite3_stmt *st;
    dv_err e = instance_key(db, in->uid_bi, &old, key, ei);

    if (e != DV_OK)
        return e;
    if (old == 0)
        return index_sq_instance_insert(db, in, id, ei);
    if (strcmp(key, in->object_key) == 0)
        return dv_fail(ei, DV_EEXIST, DV_NO_OFFSET, DV_NO_TAG,
                       "index: the replacement has the replaced instance's object key");
    e = index_sq_stmt(db, Q_INST_UPDATE,
                      "UPDATE instance SET series_id = ?1, sop_class = ?2, ts_uid = ?3,"
                      " object_key = ?4, size = ?5, frames = ?6, seal = ?7, created = ?8"
                      " WHERE id = ?9",
                      &st, ei);
    if (e != DV_OK)
        return e;
    if (bind_instance(st, in) || index_sq_int(st, 9, old))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    e = index_sq_exec(db, st, "replace instance", ei);
    if (e == DV_OK) {
        memcpy(old_key, key, sizeof(key));
        if (id)
            *id = old;
    }
    return e;
}

dv_err index_sq_instance_replace(index_db *db, const index_instance_in *in, int64_t *id,
                                 char old_key[INDEX_KEY_LEN + 1], dv_errinfo *ei)
{
    dv_err e = index_sq_atomic_begin(db, ei);

    if (e != DV_OK)
        return e;
    e = index_sq_atomic_end(db, replace(db, in, id, old_key, ei), ei);
    if (e != DV_OK)
        old_key[0] = '\0';
    return e;
}

dv_err index_sq_instance_get(index_db *db, const uint8_t *uid_bi, index_row *row, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_INST_ROW, SQ_SELECT_I " WHERE i.uid_bi = ?", &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_bi(st, 1, uid_bi))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    return index_sq_get_row(db, st, INDEX_LEVEL_INSTANCE, row, "look up instance", ei);
}

/* row: char[INDEX_KEY_LEN + 1], the object key */
static dv_err read_key(sqlite3_stmt *st, void *row, dv_errinfo *ei)
{
    if (!index_sq_col_text(st, 0, row, INDEX_KEY_LEN))
        return corrupt(ei, "object key");
    return DV_OK;
}

static dv_err drop(index_db *db, int64_t id, char *old_key, dv_errinfo *ei)
{
    char key[INDEX_KEY_LEN + 1] = "";
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_INST_KEY_BY_ID, "SELECT object_key FROM instance WHERE id = ?",
                             &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_int(st, 1, id))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    e = index_sq_get_one(db, st, read_key, key, "index: no such instance", "look up instance", ei);
    if (e == DV_OK)
        e = index_sq_stmt(db, Q_INST_DELETE, "DELETE FROM instance WHERE id = ?", &st, ei);
    if (e != DV_OK)
        return e;
    if (index_sq_int(st, 1, id))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    e = index_sq_exec(db, st, "delete instance", ei);
    if (e == DV_OK && old_key)
        memcpy(old_key, key, sizeof(key));
    return e;
}

dv_err index_sq_instance_delete(index_db *db, int64_t id, char *old_key, dv_errinfo *ei)
{
    dv_err e = index_sq_atomic_begin(db, ei);

    if (e != DV_OK)
        return e;
    return index_sq_atomic_end(db, drop(db, id, old_key, ei), ei);
}

dv_err index_sq_instance_list(index_db *db, int64_t study_id, int64_t series_id, index_row_fn fn,
                              void *ctx, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;

    /* "+i.id": sort the few rows found through the parent's index rather than walk every
     * instance in id order */
    if (series_id > 0)
        e = index_sq_stmt(db, Q_INST_OF_SERIES, SQ_SELECT_I " WHERE se.id = ? ORDER BY +i.id", &st,
                          ei);
    else
        e = index_sq_stmt(db, Q_INST_OF_STUDY, SQ_SELECT_I " WHERE st.id = ? ORDER BY +i.id", &st,
                          ei);
    if (e != DV_OK)
        return e;
    if (index_sq_int(st, 1, series_id > 0 ? series_id : study_id))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    e = index_sq_each_row(db, st, INDEX_LEVEL_INSTANCE, fn, ctx, NULL, ei);
    index_sq_reset(st);
    return e;
}
