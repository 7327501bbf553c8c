/* SPDX-License-Identifier: Apache-2.0 */
/* sqlite_rows.c - SQLite backend: patients, studies and series (upsert, update, get, delete,
 * key rotation).
 *
 * Upserts look the row up first (the common case during an import is "already there"), then
 * INSERT ... ON CONFLICT DO NOTHING and look again when another connection won the race, so
 * they are correct inside and outside a transaction.  Operations of several statements run in
 * an atomic level (index_sq_atomic_begin/end).
 */
#include <string.h>

#include "common/dv.h"
#include "index/index.h"
#include "index/index_int.h"
#include "index/sqlite_int.h"
#include "index/sqlite_step.h"

#include "common/banned.h"

/* Looks up `id, parent, seal` by a blind index with a cached statement whose first three
 * columns are id, parent id (or id again) and seal.  *found = 0 when absent. */
static dv_err find_bi(index_db *db, sq_q q, const char *sql, const uint8_t *bi, int64_t *id,
                      int64_t *parent, dv_buf *seal, int *found, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    index_bytes b;
    dv_err e = index_sq_stmt(db, q, sql, &st, ei);
    int rc;

    *found = 0;
    if (e != DV_OK)
        return e;
    if (index_sq_bi(st, 1, bi) != SQLITE_OK)
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *found = 1;
        *id = sqlite3_column_int64(st, 0);
        *parent = sqlite3_column_int64(st, 1);
        index_sq_col_blob(st, 2, &b);
        if (seal && b.len > 0)
            e = dv_buf_add(seal, b.p, b.len);
        if (e != DV_OK)
            e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "index: cannot copy a seal");
    } else if (rc != SQLITE_DONE) {
        e = index_sq_fail(db, rc, "look up", ei);
    }
    index_sq_reset(st);
    return e;
}

/* Runs an INSERT ... ON CONFLICT DO NOTHING already bound; *inserted = 1 and *id set when a
 * row was added. */
static dv_err insert_new(index_db *db, sqlite3_stmt *st, const char *what, int64_t *id,
                         int *inserted, dv_errinfo *ei)
{
    sqlite3 *h = sq_of(db)->h;
    dv_err e = index_sq_exec(db, st, what, ei);

    *inserted = 0;
    if (e == DV_OK && sqlite3_changes(h) == 1) {
        *inserted = 1;
        *id = sqlite3_last_insert_rowid(h);
    }
    return e;
}

/* ---- patients ---------------------------------------------------------------------------------
 */

#define SQL_PATIENT_BY_BI "SELECT id, id, seal FROM patient WHERE pid_bi = ?"

static dv_err set_names(index_db *db, int64_t id, const index_patient_in *in, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_NAME_INSERT,
                             "INSERT INTO patient_name_bi(patient_id, bi) VALUES(?, ?)"
                             " ON CONFLICT DO NOTHING",
                             &st, ei);
    size_t i;

    for (i = 0; i < in->n_names && e == DV_OK; i++) {
        if (index_sq_int(st, 1, id) || index_sq_bi(st, 2, in->name_bis + i * INDEX_BI_BYTES))
            return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
        e = index_sq_exec(db, st, "insert patient name", ei);
    }
    return e;
}

static dv_err patient_insert(index_db *db, const index_patient_in *in, int64_t *id, int *inserted,
                             dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_PATIENT_INSERT,
                             "INSERT INTO patient(pid_bi, seal) VALUES(?, ?)"
                             " ON CONFLICT(pid_bi) DO NOTHING",
                             &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_bi(st, 1, in->pid_bi) || index_sq_blob(st, 2, in->seal, in->seal_len))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    e = insert_new(db, st, "insert patient", id, inserted, ei);
    if (e == DV_OK && *inserted)
        e = set_names(db, *id, in, ei);
    return e;
}

dv_err index_sq_patient_upsert(index_db *db, const index_patient_in *in, int64_t *id, int *created,
                               dv_buf *old_seal, dv_errinfo *ei)
{
    int64_t pid = 0, dummy = 0;
    int found = 0, inserted = 0;
    dv_err e = find_bi(db, Q_PATIENT_BY_BI, SQL_PATIENT_BY_BI, in->pid_bi, &pid, &dummy, old_seal,
                       &found, ei);

    if (created)
        *created = 0;
    if (e != DV_OK || found) {
        *id = pid;
        return e;
    }
    e = index_sq_atomic_begin(db, ei);
    if (e != DV_OK)
        return e;
    e = patient_insert(db, in, &pid, &inserted, ei);
    if (e == DV_OK && !inserted)
        e = find_bi(db, Q_PATIENT_BY_BI, SQL_PATIENT_BY_BI, in->pid_bi, &pid, &dummy, old_seal,
                    &found, ei);
    e = index_sq_atomic_end(db, e, ei);
    if (e == DV_OK) {
        *id = pid;
        if (created)
            *created = inserted;
    }
    return e;
}

static dv_err patient_reseal(index_db *db, int64_t id, const index_patient_in *in, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e =
        index_sq_stmt(db, Q_PATIENT_SEAL, "UPDATE patient SET seal = ? WHERE id = ?", &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_blob(st, 1, in->seal, in->seal_len) || index_sq_int(st, 2, id))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    e = index_sq_exec_one(db, st, "update patient", DV_ENOTFOUND, "index: no such patient", ei);
    if (e != DV_OK)
        return e;
    e = index_sq_stmt(db, Q_NAME_CLEAR, "DELETE FROM patient_name_bi WHERE patient_id = ?", &st,
                      ei);
    if (e != DV_OK)
        return e;
    if (index_sq_int(st, 1, id))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    e = index_sq_exec(db, st, "update patient names", ei);
    if (e == DV_OK)
        e = set_names(db, id, in, ei);
    return e;
}

dv_err index_sq_patient_update(index_db *db, int64_t id, const index_patient_in *in, dv_errinfo *ei)
{
    dv_err e = index_sq_atomic_begin(db, ei);

    if (e != DV_OK)
        return e;
    return index_sq_atomic_end(db, patient_reseal(db, id, in, ei), ei);
}

dv_err index_sq_patient_get(index_db *db, const uint8_t *pid_bi, index_row *row, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_PATIENT_ROW, SQ_SELECT_P " WHERE p.pid_bi = ?", &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_bi(st, 1, pid_bi))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    return index_sq_get_row(db, st, INDEX_LEVEL_PATIENT, row, "look up patient", ei);
}

/* ---- studies ------------------------------------------------------------------------------------
 */

#define SQL_STUDY_FIND_BI "SELECT id, patient_id, seal FROM study WHERE uid_bi = ?"

static dv_err other_parent(dv_errinfo *ei, const char *what)
{
    return dv_fail(ei, DV_EEXIST, DV_NO_OFFSET, DV_NO_TAG, "index: the %s exists under another %s",
                   what, strcmp(what, "study") == 0 ? "patient" : "study");
}

static dv_err study_insert(index_db *db, const index_study_in *in, int64_t *id, int *inserted,
                           dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_STUDY_INSERT,
                             "INSERT INTO study(patient_id, uid_bi, acc_bi, month_bi, seal,"
                             " dek_wrapped, retention, created) VALUES(?, ?, ?, ?, ?, ?, ?, ?)"
                             " ON CONFLICT(uid_bi) DO NOTHING",
                             &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_int(st, 1, in->patient_id) || index_sq_bi(st, 2, in->uid_bi) ||
        index_sq_bi_null(st, 3, in->acc_bi) || index_sq_bi_null(st, 4, in->month_bi) ||
        index_sq_blob(st, 5, in->seal, in->seal_len) ||
        index_sq_blob(st, 6, in->dek_wrapped, in->dek_len) || index_sq_text(st, 7, in->retention) ||
        index_sq_int(st, 8, in->created ? in->created : index_now()))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    return insert_new(db, st, "insert study", id, inserted, ei);
}

dv_err index_sq_study_upsert(index_db *db, const index_study_in *in, int64_t *id, int *created,
                             dv_buf *old_seal, dv_errinfo *ei)
{
    int64_t sid = 0, parent = 0;
    int found = 0, inserted = 0;
    dv_err e = find_bi(db, Q_STUDY_FIND_BI, SQL_STUDY_FIND_BI, in->uid_bi, &sid, &parent, old_seal,
                       &found, ei);

    if (created)
        *created = 0;
    if (e == DV_OK && !found) {
        e = study_insert(db, in, &sid, &inserted, ei);
        if (e == DV_OK && !inserted)
            e = find_bi(db, Q_STUDY_FIND_BI, SQL_STUDY_FIND_BI, in->uid_bi, &sid, &parent, old_seal,
                        &found, ei);
    }
    if (e != DV_OK)
        return e;
    *id = sid;
    if (found && parent != in->patient_id)
        return other_parent(ei, "study");
    if (created)
        *created = inserted;
    return DV_OK;
}

dv_err index_sq_study_update(index_db *db, int64_t id, const index_study_in *in, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_STUDY_UPDATE,
                             "UPDATE study SET seal = ?, acc_bi = ?, month_bi = ?, retention = ?"
                             " WHERE id = ?",
                             &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_blob(st, 1, in->seal, in->seal_len) || index_sq_bi_null(st, 2, in->acc_bi) ||
        index_sq_bi_null(st, 3, in->month_bi) || index_sq_text(st, 4, in->retention) ||
        index_sq_int(st, 5, id))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    return index_sq_exec_one(db, st, "update study", DV_ENOTFOUND, "index: no such study", ei);
}

dv_err index_sq_study_get(index_db *db, const uint8_t *uid_bi, int64_t id, index_row *row,
                          dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    if (uid_bi) {
        e = index_sq_stmt(db, Q_STUDY_ROW, SQ_SELECT_ST " WHERE st.uid_bi = ?", &st, ei);
        rc = e == DV_OK ? index_sq_bi(st, 1, uid_bi) : SQLITE_OK;
    } else {
        e = index_sq_stmt(db, Q_STUDY_ROW_ID, SQ_SELECT_ST " WHERE st.id = ?", &st, ei);
        rc = e == DV_OK ? index_sq_int(st, 1, id) : SQLITE_OK;
    }
    if (e != DV_OK)
        return e;
    if (rc != SQLITE_OK)
        return index_sq_fail(db, rc, "bind", ei);
    return index_sq_get_row(db, st, INDEX_LEVEL_STUDY, row, "look up study", ei);
}

/* row: char[INDEX_KEY_LEN + 1], the object key */
static dv_err read_key(sqlite3_stmt *st, void *row, dv_errinfo *ei)
{
    if (!index_sq_col_text(st, 0, row, INDEX_KEY_LEN))
        return dv_fail(ei, DV_EDB, DV_NO_OFFSET, DV_NO_TAG, "index: stored object key too long");
    return DV_OK;
}

/* Calls key_fn for every object key of the study's instances. */
static dv_err study_keys(index_db *db, int64_t study_id,
                         dv_err (*key_fn)(void *ctx, const char *object_key), void *ctx,
                         dv_errinfo *ei)
{
    sqlite3_stmt *st;
    char key[INDEX_KEY_LEN + 1];
    dv_err e = index_sq_stmt(db, Q_STUDY_KEYS,
                             "SELECT i.object_key FROM instance i JOIN series se"
                             " ON se.id = i.series_id WHERE se.study_id = ? ORDER BY i.id",
                             &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_int(st, 1, study_id))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    while (index_sq_next(db, st, read_key, key, &e, "list object keys", ei))
        e = key_fn(ctx, key);
    index_sq_reset(st);
    return e;
}

/* Runs a cached "... WHERE id = ?"-style statement with one or two integer parameters. */
static dv_err exec_ids(index_db *db, sq_q q, const char *sql, int64_t a, int64_t b,
                       const char *what, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, q, sql, &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_int(st, 1, a) || (sqlite3_bind_parameter_count(st) > 1 && index_sq_int(st, 2, b)))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    return index_sq_exec(db, st, what, ei);
}

/* row: int64_t[2], the study's id and its patient's id */
static dv_err read_ids(sqlite3_stmt *st, void *row, dv_errinfo *ei)
{
    int64_t *ids = row;

    (void)ei;
    ids[0] = sqlite3_column_int64(st, 0);
    ids[1] = sqlite3_column_int64(st, 1);
    return DV_OK;
}

static dv_err study_drop(index_db *db, int64_t study_id,
                         dv_err (*key_fn)(void *ctx, const char *object_key), void *ctx,
                         int *patient_gone, dv_errinfo *ei)
{
    int64_t ids[2] = {0, 0};
    int64_t sid, patient;
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_STUDY_PATIENT, "SELECT id, patient_id FROM study WHERE id = ?",
                             &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_int(st, 1, study_id))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    e = index_sq_get_one(db, st, read_ids, ids, "index: no such study", "look up study", ei);
    sid = ids[0];
    patient = ids[1];
    if (e == DV_OK && key_fn)
        e = study_keys(db, sid, key_fn, ctx, ei);
    if (e == DV_OK) /* series and instances follow by ON DELETE CASCADE */
        e = exec_ids(db, Q_STUDY_DELETE, "DELETE FROM study WHERE id = ?", sid, 0, "delete study",
                     ei);
    if (e == DV_OK)
        e = exec_ids(db, Q_PATIENT_DROP,
                     "DELETE FROM patient WHERE id = ?1 AND NOT EXISTS"
                     " (SELECT 1 FROM study WHERE patient_id = ?1)",
                     patient, 0, "delete patient", ei);
    if (e == DV_OK && patient_gone)
        *patient_gone = sqlite3_changes(sq_of(db)->h) == 1;
    return e;
}

dv_err index_sq_study_delete(index_db *db, int64_t study_id,
                             dv_err (*key_fn)(void *ctx, const char *object_key), void *ctx,
                             int *patient_gone, dv_errinfo *ei)
{
    int gone = 0;
    dv_err e = index_sq_atomic_begin(db, ei);

    if (e != DV_OK)
        return e;
    e = index_sq_atomic_end(db, study_drop(db, study_id, key_fn, ctx, &gone, ei), ei);
    if (e == DV_OK && patient_gone)
        *patient_gone = gone;
    return e;
}

/* ---- key rotation ------------------------------------------------------------------------------
 */

typedef struct wrap_state {
    int64_t id;
    uint8_t uid_bi[INDEX_BI_BYTES];
    uint8_t old[INDEX_DEK_MAX];
    size_t old_len;
    uint8_t out[INDEX_DEK_MAX];
    size_t out_len;
} wrap_state;

/* Loads the study after w->id into w; *more = 0 when there is none. */
static dv_err next_study(index_db *db, wrap_state *w, int *more, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_STUDY_NEXT,
                             "SELECT id, uid_bi, dek_wrapped FROM study WHERE id > ?"
                             " ORDER BY id LIMIT 1",
                             &st, ei);
    index_bytes old;
    int rc;

    *more = 0;
    if (e != DV_OK)
        return e;
    if (index_sq_int(st, 1, w->id))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *more = 1;
        w->id = sqlite3_column_int64(st, 0);
        index_sq_col_blob(st, 2, &old);
        if (!index_sq_col_bi(st, 1, w->uid_bi) || old.len == 0 || old.len > INDEX_DEK_MAX) {
            e = dv_fail(ei, DV_EDB, DV_NO_OFFSET, DV_NO_TAG,
                        "index: a stored study key or blind index has a wrong length");
        } else {
            memcpy(w->old, old.p, old.len);
            w->old_len = old.len;
        }
    } else if (rc != SQLITE_DONE) {
        e = index_sq_fail(db, rc, "list studies", ei);
    }
    index_sq_reset(st);
    return e;
}

static dv_err store_dek(index_db *db, const wrap_state *w, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e =
        index_sq_stmt(db, Q_STUDY_DEK, "UPDATE study SET dek_wrapped = ? WHERE id = ?", &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_blob(st, 1, w->out, w->out_len) || index_sq_int(st, 2, w->id))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    return index_sq_exec(db, st, "store a rewrapped key", ei);
}

static dv_err rewrap_all(index_db *db, index_rewrap_fn fn, void *ctx, uint64_t *n, dv_errinfo *ei)
{
    wrap_state w;
    sqlite3_stmt *st;
    int64_t total = 0, i;
    int more = 1, rc;
    dv_err e = index_sq_stmt(db, Q_STUDY_COUNT, "SELECT count(*) FROM study", &st, ei);

    if (e != DV_OK)
        return e;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        total = sqlite3_column_int64(st, 0);
    else
        e = index_sq_fail(db, rc, "count studies", ei);
    index_sq_reset(st);
    memset(&w, 0, sizeof(w));
    /* bounded by the number of studies, which cannot change inside our write transaction */
    for (i = 0; e == DV_OK && i <= total; i++) {
        e = next_study(db, &w, &more, ei);
        if (e != DV_OK || !more)
            break;
        w.out_len = 0;
        e = fn(ctx, w.id, w.uid_bi, w.old, w.old_len, w.out, sizeof(w.out), &w.out_len);
        if (e == DV_OK && (w.out_len == 0 || w.out_len > sizeof(w.out)))
            e = dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                        "index: rewrap callback returned a key of bad length");
        if (e == DV_OK)
            e = store_dek(db, &w, ei);
        if (e == DV_OK && n)
            (*n)++;
    }
    return e;
}

dv_err index_sq_study_rewrap(index_db *db, index_rewrap_fn fn, void *ctx, uint64_t *n,
                             dv_errinfo *ei)
{
    dv_err e = index_sq_atomic_begin(db, ei);

    if (e != DV_OK)
        return e;
    e = index_sq_atomic_end(db, rewrap_all(db, fn, ctx, n, ei), ei);
    if (e != DV_OK && n)
        *n = 0;
    return e;
}

/* ---- series ---------------------------------------------------------------------------------- */

#define SQL_SERIES_FIND_BI "SELECT id, study_id, seal FROM series WHERE uid_bi = ?"

/* Is mod one of the '\'-separated entries of list? */
static int listed(const char *list, const char *mod)
{
    size_t n = strlen(mod);
    const char *p = list;

    while (*p != '\0') {
        const char *end = strchr(p, '\\');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, mod, n) == 0)
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* Adds a modality to its study's clear list when it is new and fits. */
static dv_err add_modality(index_db *db, int64_t study_id, const char *mod, dv_errinfo *ei)
{
    char list[INDEX_MODALITIES_MAX + 1] = "";
    size_t len, n = strlen(mod);
    sqlite3_stmt *st;
    dv_err e =
        index_sq_stmt(db, Q_STUDY_MODS_GET, "SELECT modalities FROM study WHERE id = ?", &st, ei);
    int rc;

    if (e != DV_OK)
        return e;
    if (index_sq_int(st, 1, study_id))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        e = index_sq_fail(db, rc, "read modalities", ei);
    else if (!index_sq_col_text(st, 0, list, INDEX_MODALITIES_MAX))
        e = dv_fail(ei, DV_EDB, DV_NO_OFFSET, DV_NO_TAG, "index: stored modalities too long");
    index_sq_reset(st);
    len = strlen(list);
    if (e != DV_OK || listed(list, mod) || len + 1 + n > INDEX_MODALITIES_MAX)
        return e;
    if (len > 0)
        list[len++] = '\\';
    memcpy(list + len, mod, n + 1);
    e = index_sq_stmt(db, Q_STUDY_MODS_SET, "UPDATE study SET modalities = ? WHERE id = ?", &st,
                      ei);
    if (e != DV_OK)
        return e;
    if (index_sq_text(st, 1, list) || index_sq_int(st, 2, study_id))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    return index_sq_exec(db, st, "update modalities", ei);
}

static dv_err series_insert(index_db *db, const index_series_in *in, int64_t *id, int *inserted,
                            dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_SERIES_INSERT,
                             "INSERT INTO series(study_id, uid_bi, modality, seal)"
                             " VALUES(?, ?, ?, ?) ON CONFLICT(uid_bi) DO NOTHING",
                             &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_int(st, 1, in->study_id) || index_sq_bi(st, 2, in->uid_bi) ||
        index_sq_text(st, 3, in->modality) || index_sq_blob(st, 4, in->seal, in->seal_len))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    e = insert_new(db, st, "insert series", id, inserted, ei);
    if (e == DV_OK && *inserted && in->modality && in->modality[0] != '\0')
        e = add_modality(db, in->study_id, in->modality, ei);
    return e;
}

dv_err index_sq_series_upsert(index_db *db, const index_series_in *in, int64_t *id, int *created,
                              dv_buf *old_seal, dv_errinfo *ei)
{
    int64_t sid = 0, parent = 0;
    int found = 0, inserted = 0;
    dv_err e = find_bi(db, Q_SERIES_FIND_BI, SQL_SERIES_FIND_BI, in->uid_bi, &sid, &parent,
                       old_seal, &found, ei);

    if (created)
        *created = 0;
    if (e == DV_OK && !found) {
        e = index_sq_atomic_begin(db, ei);
        if (e != DV_OK)
            return e;
        e = series_insert(db, in, &sid, &inserted, ei);
        if (e == DV_OK && !inserted)
            e = find_bi(db, Q_SERIES_FIND_BI, SQL_SERIES_FIND_BI, in->uid_bi, &sid, &parent,
                        old_seal, &found, ei);
        e = index_sq_atomic_end(db, e, ei);
    }
    if (e != DV_OK)
        return e;
    *id = sid;
    if (found && parent != in->study_id)
        return other_parent(ei, "series");
    if (created)
        *created = inserted;
    return DV_OK;
}

dv_err index_sq_series_update(index_db *db, int64_t id, const uint8_t *seal, size_t seal_len,
                              dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_SERIES_SEAL, "UPDATE series SET seal = ? WHERE id = ?", &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_blob(st, 1, seal, seal_len) || index_sq_int(st, 2, id))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    return index_sq_exec_one(db, st, "update series", DV_ENOTFOUND, "index: no such series", ei);
}

dv_err index_sq_series_get(index_db *db, const uint8_t *uid_bi, index_row *row, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_SERIES_ROW, SQ_SELECT_SE " WHERE se.uid_bi = ?", &st, ei);

    if (e != DV_OK)
        return e;
    if (index_sq_bi(st, 1, uid_bi))
        return index_sq_fail(db, SQLITE_ERROR, "bind", ei);
    return index_sq_get_row(db, st, INDEX_LEVEL_SERIES, row, "look up series", ei);
}
