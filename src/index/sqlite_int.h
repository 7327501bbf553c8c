/* SPDX-License-Identifier: Apache-2.0 */
/* sqlite_int.h - shared parts of the SQLite backend of the index (sqlite*.c only).
 *
 * Invariants: every cached statement is prepared once (lazily, SQLITE_PREPARE_PERSISTENT) from
 * a constant SQL string and is reset with its bindings cleared before the function that used
 * it returns, so no statement holds a read transaction open between calls.  SQL is never built
 * from values: the only dynamic SQL (index_find) is assembled from constant fragments and "?"
 * placeholders, and every value is bound.
 */
#ifndef DV_INDEX_SQLITE_INT_H
#define DV_INDEX_SQLITE_INT_H

#include <sqlite3.h>

#include "index/index_int.h"

/* slots of the statement cache */
typedef enum sq_q {
    Q_PATIENT_BY_BI,
    Q_PATIENT_ROW,
    Q_PATIENT_INSERT,
    Q_PATIENT_SEAL,
    Q_NAME_INSERT,
    Q_NAME_CLEAR,
    Q_STUDY_ROW,
    Q_STUDY_ROW_ID,
    Q_STUDY_PATIENT,
    Q_STUDY_KEYS,
    Q_STUDY_DELETE,
    Q_PATIENT_DROP,
    Q_STUDY_NEXT,
    Q_STUDY_DEK,
    Q_STUDY_COUNT,
    Q_STUDY_FIND_BI,
    Q_STUDY_INSERT,
    Q_STUDY_UPDATE,
    Q_STUDY_MODS_GET,
    Q_STUDY_MODS_SET,
    Q_SERIES_ROW,
    Q_SERIES_FIND_BI,
    Q_SERIES_INSERT,
    Q_SERIES_SEAL,
    Q_INST_ROW,
    Q_INST_FIND_BI,
    Q_INST_INSERT,
    Q_INST_UPDATE,
    Q_INST_KEY_BY_ID,
    Q_INST_DELETE,
    Q_INST_OF_STUDY,
    Q_INST_OF_SERIES,
    Q_KEYS_ALL,
    Q_KEY_EXISTS,
    Q_COUNT,
    Q_CERT_INSERT,
    Q_CERT_ALL,
    Q_CERT_BY_PSEUDONYM,
    Q_USER_INSERT,
    Q_USER_GET,
    Q_USER_PASSWORD,
    Q_USER_DISABLED,
    Q_META_SET,
    Q_META_GET,
    /* access (access_sqlite.c) */
    Q_ACC_INSERT,
    Q_ACC_GET,
    Q_ACC_GET_ID,
    Q_ACC_UPDATE,
    Q_ACC_LIST,
    Q_SES_INSERT,
    Q_SES_GET,
    Q_SES_TOUCH,
    Q_SES_DELETE,
    Q_SES_DELETE_USER,
    Q_GRANT_INSERT,
    Q_GRANT_REVOKE,
    Q_GRANT_GET,
    Q_GRANT_LIST,
    Q_GRANT_LIST_ALL,
    Q_ALOG_INSERT,
    Q_ALOG_STATS,
    Q_ALOG_SEEN,
    Q_APPR_INSERT,
    Q_APPR_GET,
    Q_APPR_DECIDE,
    Q_APPR_FIND,
    Q_APPR_LIST,
    Q_APPR_LIST_ALL,
    Q_ALERT_INSERT,
    Q_ALERT_ACK,
    Q_ALERT_LIST,
    Q_ALERT_COUNT,
    Q_VIP_SET,
    Q_VIP_CLEAR,
    Q_VIP_GET,
    /* films (film_sqlite.c) */
    Q_FILM_INSERT,
    Q_FILM_GET,
    Q_FILM_DESTROY,
    Q_FILM_LIST_OPEN,
    Q_FILM_LIST_ALL,
    Q_SLOTS /* sentinel */
} sq_q;

typedef struct sq {
    sqlite3 *h;
    sqlite3_stmt *st[Q_SLOTS];
} sq;

static inline sq *sq_of(index_db *db)
{
    return (sq *)db->impl;
}

/* The cached statement for slot q, prepared from sql on first use. */
dv_err index_sq_stmt(index_db *db, sq_q q, const char *sql, sqlite3_stmt **out, dv_errinfo *ei);
/* Maps the handle's last error: UNIQUE/PRIMARY KEY -> DV_EEXIST, FOREIGN KEY -> DV_ENOTFOUND,
 * NOMEM -> DV_ENOMEM, else DV_EDB; the message is "index: <what>: <SQLite message>". */
dv_err index_sq_fail(index_db *db, int rc, const char *what, dv_errinfo *ei);
/* Resets a statement and clears its bindings (its return repeats the step's error, which the
 * caller has already handled). */
void index_sq_reset(sqlite3_stmt *st);
/* Steps a write statement to SQLITE_DONE and resets it. */
dv_err index_sq_exec(index_db *db, sqlite3_stmt *st, const char *what, dv_errinfo *ei);

/* Binding helpers: return the SQLite code (0 = OK).  A NULL blob pointer binds SQL NULL when
 * nullable, else an empty blob; a NULL string binds "". */
int index_sq_bi(sqlite3_stmt *st, int i, const uint8_t *bi);
int index_sq_bi_null(sqlite3_stmt *st, int i, const uint8_t *bi);
int index_sq_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t n);
int index_sq_text(sqlite3_stmt *st, int i, const char *s);
int index_sq_int(sqlite3_stmt *st, int i, int64_t v);

/* Copies a blob column of exactly INDEX_BI_BYTES into out; 0 when it has another length. */
int index_sq_col_bi(sqlite3_stmt *st, int col, uint8_t out[INDEX_BI_BYTES]);
/* Copies a text column of at most max bytes into out (max + 1 bytes); 0 when longer. */
int index_sq_col_text(sqlite3_stmt *st, int col, char *out, size_t max);
/* Points x at a blob column (valid until the next step/reset). */
void index_sq_col_blob(sqlite3_stmt *st, int col, index_bytes *x);

/* Opens an atomic level for a multi-statement operation and closes it: commit when e is OK,
 * else rollback (keeping e and its message).  Returns the final result. */
dv_err index_sq_atomic_begin(index_db *db, dv_errinfo *ei);
dv_err index_sq_atomic_end(index_db *db, dv_err e, dv_errinfo *ei);

/* The row select of each level ("SELECT <columns of the level and its parents> FROM ...");
 * a WHERE clause may follow.  Columns in index_sq_read_row's order. */
#define SQ_COLS_P "p.id, p.pid_bi, p.seal"
#define SQ_COLS_ST \
    ", st.id, st.uid_bi, st.seal, st.dek_wrapped, st.modalities, st.retention, st.created"
#define SQ_COLS_SE ", se.id, se.uid_bi, se.seal, se.modality"
#define SQ_COLS_I \
    ", i.id, i.uid_bi, i.seal, i.sop_class, i.ts_uid, i.object_key, i.size, i.frames, i.created"
#define SQ_FROM_P  " FROM patient p"
#define SQ_FROM_ST " FROM study st JOIN patient p ON p.id = st.patient_id"
#define SQ_FROM_SE                                         \
    " FROM series se JOIN study st ON st.id = se.study_id" \
    " JOIN patient p ON p.id = st.patient_id"
#define SQ_FROM_I                                            \
    " FROM instance i JOIN series se ON se.id = i.series_id" \
    " JOIN study st ON st.id = se.study_id JOIN patient p ON p.id = st.patient_id"
#define SQ_SELECT_P  "SELECT " SQ_COLS_P SQ_FROM_P
#define SQ_SELECT_ST "SELECT " SQ_COLS_P SQ_COLS_ST SQ_FROM_ST
#define SQ_SELECT_SE "SELECT " SQ_COLS_P SQ_COLS_ST SQ_COLS_SE SQ_FROM_SE
#define SQ_SELECT_I  "SELECT " SQ_COLS_P SQ_COLS_ST SQ_COLS_SE SQ_COLS_I SQ_FROM_I

/* Fills row (levels up to `level`) from the current result row of st; seals point into st.
 * DV_EDB when a stored value breaks its column's limits. */
dv_err index_sq_read_row(sqlite3_stmt *st, index_level level, index_row *row, dv_errinfo *ei);
/* Runs a cached row select that yields at most one row, copies it into db->scratch. */
dv_err index_sq_get_row(index_db *db, sqlite3_stmt *st, index_level level, index_row *row,
                        const char *what, dv_errinfo *ei);

/* Steps st to the end, calling fn with each row (level `level`); counts rows into *n (may be
 * NULL).  Stops at fn's first error and returns it.  Does not reset st. */
dv_err index_sq_each_row(index_db *db, sqlite3_stmt *st, index_level level, index_row_fn fn,
                         void *ctx, uint64_t *n, dv_errinfo *ei);

/* ---- backend operations (see index_ops) ------------------------------------------------- */

dv_err index_sq_patient_upsert(index_db *db, const index_patient_in *in, int64_t *id, int *created,
                               dv_buf *old_seal, dv_errinfo *ei);
dv_err index_sq_patient_update(index_db *db, int64_t id, const index_patient_in *in,
                               dv_errinfo *ei);
dv_err index_sq_patient_get(index_db *db, const uint8_t *pid_bi, index_row *row, dv_errinfo *ei);
dv_err index_sq_study_upsert(index_db *db, const index_study_in *in, int64_t *id, int *created,
                             dv_buf *old_seal, dv_errinfo *ei);
dv_err index_sq_study_update(index_db *db, int64_t id, const index_study_in *in, dv_errinfo *ei);
dv_err index_sq_study_get(index_db *db, const uint8_t *uid_bi, int64_t id, index_row *row,
                          dv_errinfo *ei);
dv_err index_sq_study_delete(index_db *db, int64_t study_id,
                             dv_err (*key_fn)(void *ctx, const char *object_key), void *ctx,
                             int *patient_gone, dv_errinfo *ei);
dv_err index_sq_study_rewrap(index_db *db, index_rewrap_fn fn, void *ctx, uint64_t *n,
                             dv_errinfo *ei);
dv_err index_sq_series_upsert(index_db *db, const index_series_in *in, int64_t *id, int *created,
                              dv_buf *old_seal, dv_errinfo *ei);
dv_err index_sq_series_update(index_db *db, int64_t id, const uint8_t *seal, size_t seal_len,
                              dv_errinfo *ei);
dv_err index_sq_series_get(index_db *db, const uint8_t *uid_bi, index_row *row, dv_errinfo *ei);
dv_err index_sq_instance_insert(index_db *db, const index_instance_in *in, int64_t *id,
                                dv_errinfo *ei);
dv_err index_sq_instance_replace(index_db *db, const index_instance_in *in, int64_t *id,
                                 char old_key[INDEX_KEY_LEN + 1], dv_errinfo *ei);
dv_err index_sq_instance_get(index_db *db, const uint8_t *uid_bi, index_row *row, dv_errinfo *ei);
dv_err index_sq_instance_delete(index_db *db, int64_t id, char *old_key, dv_errinfo *ei);
dv_err index_sq_instance_list(index_db *db, int64_t study_id, int64_t series_id, index_row_fn fn,
                              void *ctx, dv_errinfo *ei);
dv_err index_sq_find(index_db *db, const index_query *q, index_row_fn fn, void *ctx, uint64_t *n,
                     dv_errinfo *ei);
dv_err index_sq_object_keys(index_db *db, dv_err (*fn)(void *ctx, const char *key, uint64_t size),
                            void *ctx, dv_errinfo *ei);
dv_err index_sq_object_key_exists(index_db *db, const char *key, int *yes, dv_errinfo *ei);
dv_err index_sq_count(index_db *db, index_counts *out, dv_errinfo *ei);
dv_err index_sq_cert_insert(index_db *db, const uint8_t *pseudonym, size_t pseudonym_len,
                            const char *body, const uint8_t *sig, size_t sig_len, int64_t created,
                            int64_t *id, dv_errinfo *ei);
dv_err index_sq_cert_list(index_db *db, const uint8_t *pseudonym, size_t pseudonym_len,
                          dv_err (*fn)(void *ctx, const index_cert *c), void *ctx, dv_errinfo *ei);
dv_err index_sq_user_insert(index_db *db, index_user *u, dv_errinfo *ei);
dv_err index_sq_user_get(index_db *db, const char *name, index_user *out, dv_errinfo *ei);
dv_err index_sq_user_set_password(index_db *db, int64_t id, const char *pwhash, int must_change,
                                  dv_errinfo *ei);
dv_err index_sq_user_set_disabled(index_db *db, int64_t id, int disabled, dv_errinfo *ei);
dv_err index_sq_meta_set(index_db *db, const char *key, const uint8_t *value, size_t len,
                         dv_errinfo *ei);
dv_err index_sq_meta_get(index_db *db, const char *key, dv_buf *out, dv_errinfo *ei);

/* access_schema.c: the tables of schema version 2 (accounts, sessions, grants, access log,
 * approvals, alerts, VIP flags), added to a version-1 schema inside the caller's transaction. */
dv_err index_sq_access_migrate(index_db *db, dv_errinfo *ei);
/* Schema version 2 -> 3: the film table (film_sqlite.c). */
dv_err index_sq_film_migrate(index_db *db, dv_errinfo *ei);

#endif
