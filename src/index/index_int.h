/* SPDX-License-Identifier: Apache-2.0 */
/* index_int.h - the backend table behind index.h (private to src/index and its tests).
 *
 * index.c checks every argument (lengths, required pointers, character sets of clear values)
 * and then calls db->ops; a backend may rely on those checks.  Backend functions get the same
 * arguments as the public function of the same name.  A backend keeps no PHI in clear: it only
 * ever holds what the vault hands it.
 *
 * Invariants: db->depth is the number of open transaction levels; db->scratch holds copies of
 * the seals of the last index_row returned by a get function (see index.h).
 */
#ifndef DV_INDEX_INT_H
#define DV_INDEX_INT_H

#include "index/index.h"

#define INDEX_DEPTH_MAX 64u
/* scratch: the four seals of one row */
#define INDEX_SCRATCH_MAX (4u * INDEX_SEAL_MAX + 64u)

typedef enum index_tx { INDEX_TX_BEGIN, INDEX_TX_COMMIT, INDEX_TX_ROLLBACK } index_tx;

typedef struct index_ops {
    void (*close)(index_db *db);
    /* depth: the level being opened (BEGIN: new depth, 1 = outermost) or closed */
    dv_err (*tx)(index_db *db, index_tx op, unsigned depth, dv_errinfo *ei);
    dv_err (*checkpoint)(index_db *db, int *complete, dv_errinfo *ei);

    dv_err (*patient_upsert)(index_db *db, const index_patient_in *in, int64_t *id, int *created,
                             dv_buf *old_seal, dv_errinfo *ei);
    dv_err (*patient_update)(index_db *db, int64_t id, const index_patient_in *in, dv_errinfo *ei);
    dv_err (*patient_get)(index_db *db, const uint8_t *pid_bi, index_row *row, dv_errinfo *ei);

    dv_err (*study_upsert)(index_db *db, const index_study_in *in, int64_t *id, int *created,
                           dv_buf *old_seal, dv_errinfo *ei);
    dv_err (*study_update)(index_db *db, int64_t id, const index_study_in *in, dv_errinfo *ei);
    /* by uid_bi when uid_bi != NULL, else by id */
    dv_err (*study_get)(index_db *db, const uint8_t *uid_bi, int64_t id, index_row *row,
                        dv_errinfo *ei);
    dv_err (*study_delete)(index_db *db, int64_t study_id,
                           dv_err (*key_fn)(void *ctx, const char *object_key), void *ctx,
                           int *patient_gone, dv_errinfo *ei);
    dv_err (*study_rewrap)(index_db *db, index_rewrap_fn fn, void *ctx, uint64_t *n,
                           dv_errinfo *ei);

    dv_err (*series_upsert)(index_db *db, const index_series_in *in, int64_t *id, int *created,
                            dv_buf *old_seal, dv_errinfo *ei);
    dv_err (*series_update)(index_db *db, int64_t id, const uint8_t *seal, size_t seal_len,
                            dv_errinfo *ei);
    dv_err (*series_get)(index_db *db, const uint8_t *uid_bi, index_row *row, dv_errinfo *ei);

    dv_err (*instance_insert)(index_db *db, const index_instance_in *in, int64_t *id,
                              dv_errinfo *ei);
    dv_err (*instance_replace)(index_db *db, const index_instance_in *in, int64_t *id,
                               char old_key[INDEX_KEY_LEN + 1], dv_errinfo *ei);
    dv_err (*instance_get)(index_db *db, const uint8_t *uid_bi, index_row *row, dv_errinfo *ei);
    dv_err (*instance_delete)(index_db *db, int64_t id, char *old_key, dv_errinfo *ei);
    dv_err (*instance_list)(index_db *db, int64_t study_id, int64_t series_id, index_row_fn fn,
                            void *ctx, dv_errinfo *ei);

    dv_err (*find)(index_db *db, const index_query *q, index_row_fn fn, void *ctx, uint64_t *n,
                   dv_errinfo *ei);

    dv_err (*object_keys)(index_db *db, dv_err (*fn)(void *ctx, const char *key, uint64_t size),
                          void *ctx, dv_errinfo *ei);
    dv_err (*object_key_exists)(index_db *db, const char *key, int *yes, dv_errinfo *ei);
    dv_err (*count)(index_db *db, index_counts *out, dv_errinfo *ei);

    dv_err (*cert_insert)(index_db *db, const uint8_t *pseudonym, size_t pseudonym_len,
                          const char *body, const uint8_t *sig, size_t sig_len, int64_t created,
                          int64_t *id, dv_errinfo *ei);
    dv_err (*cert_list)(index_db *db, const uint8_t *pseudonym, size_t pseudonym_len,
                        dv_err (*fn)(void *ctx, const index_cert *c), void *ctx, dv_errinfo *ei);

    dv_err (*user_insert)(index_db *db, index_user *u, dv_errinfo *ei);
    dv_err (*user_get)(index_db *db, const char *name, index_user *out, dv_errinfo *ei);
    dv_err (*user_set_password)(index_db *db, int64_t id, const char *pwhash, int must_change,
                                dv_errinfo *ei);
    dv_err (*user_set_disabled)(index_db *db, int64_t id, int disabled, dv_errinfo *ei);

    dv_err (*meta_set)(index_db *db, const char *key, const uint8_t *value, size_t len,
                       dv_errinfo *ei);
    dv_err (*meta_get)(index_db *db, const char *key, dv_buf *out, dv_errinfo *ei);
} index_ops;

struct index_db {
    const index_ops *ops;
    void *impl;
    unsigned depth;
    dv_buf scratch;
};

/* Allocates a db with the given backend (scratch empty, depth 0).  NULL when out of memory
 * (fault injection counts it). */
index_db *index_db_new(const index_ops *ops, void *impl);
/* Frees what index_db_new allocated (not impl). */
void index_db_free(index_db *db);

/* Copies the seals of row into db->scratch and points row at the copies, so the row outlives
 * the backend's statement.  DV_ENOMEM / DV_ELIMIT on failure. */
dv_err index_row_own(index_db *db, index_row *row, dv_errinfo *ei);

/* Current time in unix seconds (for created == 0). */
int64_t index_now(void);

/* Testing aid (SQLite backend): appends the EXPLAIN QUERY PLAN of the statement that
 * index_find would run for q, one "detail" per line. */
dv_err index_sqlite_plan(index_db *db, const index_query *q, dv_buf *out, dv_errinfo *ei);

#endif
