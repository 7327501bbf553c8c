/* SPDX-License-Identifier: Apache-2.0 */
/* index.c - argument checks and dispatch for index.h; the backends live in sqlite*.c.
 *
 * Every public function checks its arguments here (required pointers, lengths against the
 * INDEX_*_MAX limits, the character set of clear values), clears ei, then calls db->ops.
 * Backends therefore see only well-formed arguments.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/dv.h"
#include "index/index.h"
#include "index/index_int.h"

#include "common/banned.h"

/* ---- small checks ------------------------------------------------------------------------ */

enum {
    CS_MODALITY, /* CS: upper case, digits, space, underscore */
    CS_UID,      /* UI: digits and dots */
    CS_PRINT,    /* printable ASCII without space and backslash */
    CS_NAME,     /* user names: letters, digits, . _ - @ */
    CS_METAKEY   /* meta keys: lower case, digits, . _ - */
};

static int char_ok(int set, unsigned char c)
{
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

    switch (set) {
    case CS_MODALITY:
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '_';
    case CS_UID:
        return (c >= '0' && c <= '9') || c == '.';
    case CS_PRINT:
        return c > 0x20 && c < 0x7f && c != '\\';
    case CS_NAME:
        return alnum || c == '.' || c == '_' || c == '-' || c == '@';
    case CS_METAKEY:
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    default:
        return 0;
    }
}

/* s may be NULL (= ""); at most max characters of set; empty allowed when min == 0 */
static int str_ok(const char *s, size_t min, size_t max, int set)
{
    size_t i;

    if (!s)
        return min == 0;
    for (i = 0; s[i] != '\0'; i++) {
        if (i >= max || !char_ok(set, (unsigned char)s[i]))
            return 0;
    }
    return i >= min;
}

static int seal_ok(const uint8_t *p, size_t len)
{
    return len <= INDEX_SEAL_MAX && (p != NULL || len == 0);
}

static int key_ok(const char *k)
{
    size_t i;

    if (!k)
        return 0;
    for (i = 0; i < INDEX_KEY_LEN; i++) {
        char c = k[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return k[INDEX_KEY_LEN] == '\0';
}

static dv_err bad(dv_errinfo *ei, const char *what)
{
    return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "index: %s", what);
}

/* ---- the db object ------------------------------------------------------------------------- */

index_db *index_db_new(const index_ops *ops, void *impl)
{
    index_db *db;

    if (dv_fault_hit())
        return NULL;
    db = calloc(1, sizeof(*db));
    if (!db)
        return NULL;
    db->ops = ops;
    db->impl = impl;
    dv_buf_init(&db->scratch, INDEX_SCRATCH_MAX);
    return db;
}

void index_db_free(index_db *db)
{
    if (!db)
        return;
    dv_buf_release(&db->scratch);
    free(db);
}

static dv_err own_one(dv_buf *b, index_bytes *x, size_t *at)
{
    dv_err e;

    *at = b->len;
    if (x->len == 0)
        return DV_OK;
    e = dv_buf_add(b, x->p, x->len);
    return e;
}

static void point(const dv_buf *b, index_bytes *x, size_t at)
{
    x->p = x->len ? b->p + at : NULL;
}

dv_err index_row_own(index_db *db, index_row *row, dv_errinfo *ei)
{
    index_bytes *seals[4] = {&row->patient_seal, &row->study_seal, &row->series_seal,
                             &row->instance_seal};
    size_t at[4];
    dv_err e = DV_OK;
    size_t i;

    dv_buf_reset(&db->scratch);
    for (i = 0; i < 4 && e == DV_OK; i++)
        e = own_one(&db->scratch, seals[i], &at[i]);
    if (e != DV_OK) {
        for (i = 0; i < 4; i++)
            *seals[i] = (index_bytes){NULL, 0};
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "index: cannot copy a row's seals");
    }
    for (i = 0; i < 4; i++)
        point(&db->scratch, seals[i], at[i]);
    return DV_OK;
}

int64_t index_now(void)
{
    return (int64_t)time(NULL);
}

void index_close(index_db *db)
{
    if (!db)
        return;
    db->ops->close(db);
}

/* ---- transactions ------------------------------------------------------------------------- */

dv_err index_begin(index_db *db, dv_errinfo *ei)
{
    dv_err e;

    dv_errinfo_clear(ei);
    if (db->depth >= INDEX_DEPTH_MAX)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG,
                       "index: more than %u nested transactions", INDEX_DEPTH_MAX);
    e = db->ops->tx(db, INDEX_TX_BEGIN, db->depth + 1, ei);
    if (e == DV_OK)
        db->depth++;
    return e;
}

/* Closes the innermost level with op (commit or rollback); outside a transaction: DV_EINVAL
 * "index: <none>".  A level is closed whether or not the backend's statement worked: the
 * backend rolls back what it cannot commit. */
static dv_err tx_close(index_db *db, index_tx op, const char *none, dv_errinfo *ei)
{
    dv_err e;

    dv_errinfo_clear(ei);
    if (db->depth == 0)
        return bad(ei, none);
    e = db->ops->tx(db, op, db->depth, ei);
    db->depth--;
    return e;
}

dv_err index_commit(index_db *db, dv_errinfo *ei)
{
    return tx_close(db, INDEX_TX_COMMIT, "commit without a transaction", ei);
}

dv_err index_rollback(index_db *db, dv_errinfo *ei)
{
    return tx_close(db, INDEX_TX_ROLLBACK, "rollback without a transaction", ei);
}

unsigned index_depth(const index_db *db)
{
    return db->depth;
}

dv_err index_checkpoint(index_db *db, int *complete, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (db->depth != 0)
        return bad(ei, "checkpoint inside a transaction");
    return db->ops->checkpoint(db, complete, ei);
}

/* ---- patients, studies, series ----------------------------------------------------------- */

/* Clears ei and checks the arguments of an upsert (id unused), else of an update of row id. */
static dv_err patient_in_ok(const index_patient_in *in, int upsert, int64_t id, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (upsert && !in->pid_bi)
        return bad(ei, "patient without a PatientID blind index");
    if (!seal_ok(in->seal, in->seal_len))
        return bad(ei, "patient seal missing or too long");
    if (in->n_names > INDEX_NAME_BI_MAX || (in->n_names > 0 && !in->name_bis))
        return bad(ei, "too many or missing name blind indexes");
    if (!upsert && id <= 0)
        return bad(ei, "patient id out of range");
    return DV_OK;
}

dv_err index_patient_upsert(index_db *db, const index_patient_in *in, int64_t *id, int *created,
                            dv_buf *old_seal, dv_errinfo *ei)
{
    dv_err e = patient_in_ok(in, 1, 0, ei);

    return e ? e : db->ops->patient_upsert(db, in, id, created, old_seal, ei);
}

dv_err index_patient_update(index_db *db, int64_t id, const index_patient_in *in, dv_errinfo *ei)
{
    dv_err e = patient_in_ok(in, 0, id, ei);

    return e ? e : db->ops->patient_update(db, id, in, ei);
}

dv_err index_patient_get(index_db *db, const uint8_t *pid_bi, index_row *row, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    memset(row, 0, sizeof(*row));
    return db->ops->patient_get(db, pid_bi, row, ei);
}

/* Clears ei and checks the arguments of an upsert (id unused), else of an update of row id. */
static dv_err study_in_ok(const index_study_in *in, int upsert, int64_t id, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (upsert && (in->patient_id <= 0 || !in->uid_bi))
        return bad(ei, "study without a patient id or a StudyInstanceUID blind index");
    if (!seal_ok(in->seal, in->seal_len))
        return bad(ei, "study seal missing or too long");
    if (upsert && (!in->dek_wrapped || in->dek_len == 0 || in->dek_len > INDEX_DEK_MAX))
        return bad(ei, "study wrapped key missing or too long");
    if (!str_ok(in->retention, 0, INDEX_RETENTION_MAX, CS_PRINT))
        return bad(ei, "retention class not printable ASCII or too long");
    if (in->created < 0)
        return bad(ei, "negative creation time");
    if (!upsert && id <= 0)
        return bad(ei, "study id out of range");
    return DV_OK;
}

dv_err index_study_upsert(index_db *db, const index_study_in *in, int64_t *id, int *created,
                          dv_buf *old_seal, dv_errinfo *ei)
{
    dv_err e = study_in_ok(in, 1, 0, ei);

    return e ? e : db->ops->study_upsert(db, in, id, created, old_seal, ei);
}

dv_err index_study_update(index_db *db, int64_t id, const index_study_in *in, dv_errinfo *ei)
{
    dv_err e = study_in_ok(in, 0, id, ei);

    return e ? e : db->ops->study_update(db, id, in, ei);
}

dv_err index_study_get(index_db *db, const uint8_t *uid_bi, index_row *row, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    memset(row, 0, sizeof(*row));
    return db->ops->study_get(db, uid_bi, 0, row, ei);
}

dv_err index_study_get_by_id(index_db *db, int64_t id, index_row *row, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    memset(row, 0, sizeof(*row));
    if (id <= 0)
        return bad(ei, "study id out of range");
    return db->ops->study_get(db, NULL, id, row, ei);
}

dv_err index_study_delete(index_db *db, int64_t study_id,
                          dv_err (*key_fn)(void *ctx, const char *object_key), void *ctx,
                          int *patient_gone, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (patient_gone)
        *patient_gone = 0;
    if (study_id <= 0)
        return bad(ei, "study id out of range");
    return db->ops->study_delete(db, study_id, key_fn, ctx, patient_gone, ei);
}

dv_err index_study_rewrap(index_db *db, index_rewrap_fn fn, void *ctx, uint64_t *n, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (n)
        *n = 0;
    return db->ops->study_rewrap(db, fn, ctx, n, ei);
}

dv_err index_series_upsert(index_db *db, const index_series_in *in, int64_t *id, int *created,
                           dv_buf *old_seal, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (in->study_id <= 0 || !in->uid_bi)
        return bad(ei, "series without a study id or a SeriesInstanceUID blind index");
    if (!str_ok(in->modality, 0, INDEX_MODALITY_MAX, CS_MODALITY))
        return bad(ei, "modality is not a CS value of at most 16 characters");
    if (!seal_ok(in->seal, in->seal_len))
        return bad(ei, "series seal missing or too long");
    return db->ops->series_upsert(db, in, id, created, old_seal, ei);
}

dv_err index_series_update(index_db *db, int64_t id, const uint8_t *seal, size_t seal_len,
                           dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (id <= 0)
        return bad(ei, "series id out of range");
    if (!seal_ok(seal, seal_len))
        return bad(ei, "series seal missing or too long");
    return db->ops->series_update(db, id, seal, seal_len, ei);
}

dv_err index_series_get(index_db *db, const uint8_t *uid_bi, index_row *row, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    memset(row, 0, sizeof(*row));
    return db->ops->series_get(db, uid_bi, row, ei);
}

/* ---- instances ------------------------------------------------------------------------------ */

static dv_err instance_in_ok(const index_instance_in *in, dv_errinfo *ei)
{
    if (in->series_id <= 0 || !in->uid_bi)
        return bad(ei, "instance without a series id or a SOPInstanceUID blind index");
    if (!key_ok(in->object_key))
        return bad(ei, "object key is not 32 lower-case hex digits");
    if (!str_ok(in->sop_class, 0, INDEX_UID_MAX, CS_UID) ||
        !str_ok(in->ts_uid, 0, INDEX_UID_MAX, CS_UID))
        return bad(ei, "SOP class or transfer syntax is not a UID of at most 64 characters");
    if (in->size > (uint64_t)INT64_MAX)
        return bad(ei, "object size out of range");
    if (!seal_ok(in->seal, in->seal_len))
        return bad(ei, "instance seal missing or too long");
    if (in->created < 0)
        return bad(ei, "negative creation time");
    return DV_OK;
}

dv_err index_instance_insert(index_db *db, const index_instance_in *in, int64_t *id, dv_errinfo *ei)
{
    dv_err e;

    dv_errinfo_clear(ei);
    e = instance_in_ok(in, ei);
    if (e != DV_OK)
        return e;
    return db->ops->instance_insert(db, in, id, ei);
}

dv_err index_instance_replace(index_db *db, const index_instance_in *in, int64_t *id,
                              char old_key[INDEX_KEY_LEN + 1], dv_errinfo *ei)
{
    dv_err e;

    dv_errinfo_clear(ei);
    old_key[0] = '\0';
    e = instance_in_ok(in, ei);
    if (e != DV_OK)
        return e;
    return db->ops->instance_replace(db, in, id, old_key, ei);
}

dv_err index_instance_get(index_db *db, const uint8_t *uid_bi, index_row *row, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    memset(row, 0, sizeof(*row));
    return db->ops->instance_get(db, uid_bi, row, ei);
}

dv_err index_instance_delete(index_db *db, int64_t id, char *old_key, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (old_key)
        old_key[0] = '\0';
    if (id <= 0)
        return bad(ei, "instance id out of range");
    return db->ops->instance_delete(db, id, old_key, ei);
}

dv_err index_instance_list(index_db *db, int64_t study_id, int64_t series_id, index_row_fn fn,
                           void *ctx, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (series_id < 0 || (series_id == 0 && study_id <= 0))
        return bad(ei, "instance list needs a study id or a series id");
    return db->ops->instance_list(db, study_id, series_id, fn, ctx, ei);
}

/* ---- find, objects, counts ---------------------------------------------------------------- */

dv_err index_find(index_db *db, const index_query *q, index_row_fn fn, void *ctx, uint64_t *n,
                  dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (n)
        *n = 0;
    if (q->level < INDEX_LEVEL_PATIENT || q->level > INDEX_LEVEL_INSTANCE)
        return bad(ei, "query level out of range");
    if (q->n_names > INDEX_LIST_MAX || (q->n_names > 0 && !q->name_bis) ||
        q->n_months > INDEX_LIST_MAX || (q->n_months > 0 && !q->month_bis))
        return bad(ei, "query list too long or missing");
    if (!str_ok(q->modality, 0, INDEX_MODALITY_MAX, CS_MODALITY) ||
        !str_ok(q->sop_class, 0, INDEX_UID_MAX, CS_UID))
        return bad(ei, "query modality or SOP class malformed");
    if (q->offset > (uint64_t)INT64_MAX || q->limit > (uint64_t)INT64_MAX)
        return bad(ei, "query offset or limit out of range");
    return db->ops->find(db, q, fn, ctx, n, ei);
}

dv_err index_object_keys(index_db *db, dv_err (*fn)(void *ctx, const char *key, uint64_t size),
                         void *ctx, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    return db->ops->object_keys(db, fn, ctx, ei);
}

dv_err index_object_key_exists(index_db *db, const char *key, int *yes, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    *yes = 0;
    if (!key_ok(key))
        return bad(ei, "object key is not 32 lower-case hex digits");
    return db->ops->object_key_exists(db, key, yes, ei);
}

dv_err index_count(index_db *db, index_counts *out, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    memset(out, 0, sizeof(*out));
    return db->ops->count(db, out, ei);
}

/* ---- certificates, users, meta ------------------------------------------------------------ */

dv_err index_cert_insert(index_db *db, const uint8_t *pseudonym, size_t pseudonym_len,
                         const char *body, const uint8_t *sig, size_t sig_len, int64_t created,
                         int64_t *id, dv_errinfo *ei)
{
    size_t blen;

    dv_errinfo_clear(ei);
    if (pseudonym_len == 0 || pseudonym_len > INDEX_CERT_BLOB_MAX || sig_len == 0 ||
        sig_len > INDEX_CERT_BLOB_MAX)
        return bad(ei, "certificate pseudonym or signature length out of range");
    blen = strnlen(body, INDEX_CERT_BODY_MAX + 1);
    if (blen == 0 || blen > INDEX_CERT_BODY_MAX)
        return bad(ei, "certificate body empty or too long");
    if (created < 0)
        return bad(ei, "negative creation time");
    return db->ops->cert_insert(db, pseudonym, pseudonym_len, body, sig, sig_len, created, id, ei);
}

dv_err index_cert_list(index_db *db, const uint8_t *pseudonym, size_t pseudonym_len,
                       dv_err (*fn)(void *ctx, const index_cert *c), void *ctx, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (pseudonym && (pseudonym_len == 0 || pseudonym_len > INDEX_CERT_BLOB_MAX))
        return bad(ei, "certificate pseudonym length out of range");
    return db->ops->cert_list(db, pseudonym, pseudonym_len, fn, ctx, ei);
}

dv_err index_user_insert(index_db *db, index_user *u, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (!str_ok(u->name, 1, INDEX_USER_NAME_MAX, CS_NAME))
        return bad(ei, "user name empty, too long or not [A-Za-z0-9._@-]");
    if (!str_ok(u->role, 1, INDEX_ROLE_MAX, CS_NAME))
        return bad(ei, "role empty, too long or not [A-Za-z0-9._@-]");
    if (!str_ok(u->pwhash, 1, INDEX_PWHASH_MAX, CS_PRINT))
        return bad(ei, "password hash empty, too long or not printable");
    if (u->created < 0)
        return bad(ei, "negative creation time");
    return db->ops->user_insert(db, u, ei);
}

dv_err index_user_get(index_db *db, const char *name, index_user *out, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    memset(out, 0, sizeof(*out));
    if (!str_ok(name, 1, INDEX_USER_NAME_MAX, CS_NAME))
        return bad(ei, "user name empty, too long or not [A-Za-z0-9._@-]");
    return db->ops->user_get(db, name, out, ei);
}

dv_err index_user_set_password(index_db *db, int64_t id, const char *pwhash, int must_change,
                               dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (id <= 0)
        return bad(ei, "user id out of range");
    if (!str_ok(pwhash, 1, INDEX_PWHASH_MAX, CS_PRINT))
        return bad(ei, "password hash empty, too long or not printable");
    return db->ops->user_set_password(db, id, pwhash, must_change != 0, ei);
}

dv_err index_user_set_disabled(index_db *db, int64_t id, int disabled, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (id <= 0)
        return bad(ei, "user id out of range");
    return db->ops->user_set_disabled(db, id, disabled != 0, ei);
}

dv_err index_meta_set(index_db *db, const char *key, const uint8_t *value, size_t len,
                      dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (!str_ok(key, 1, INDEX_META_KEY_MAX, CS_METAKEY) || strncmp(key, "index.", 6) == 0)
        return bad(ei, "meta key malformed or reserved");
    if (len > INDEX_META_VALUE_MAX || (len > 0 && !value))
        return bad(ei, "meta value missing or too long");
    return db->ops->meta_set(db, key, value, len, ei);
}

dv_err index_meta_get(index_db *db, const char *key, dv_buf *out, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    if (!str_ok(key, 1, INDEX_META_KEY_MAX, CS_METAKEY))
        return bad(ei, "meta key malformed");
    return db->ops->meta_get(db, key, out, ei);
}
