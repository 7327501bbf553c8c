/* SPDX-License-Identifier: Apache-2.0 */
/* export.c - the exact bytes of stored instances: a study, a series or one instance, each
 * object opened (and authenticated) under its study's data key.  vault_export_dir writes them
 * as <SOPInstanceUID>.dcm files, mode 0600, atomically.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "access/access.h"
#include "vault/vault_int.h"

#include "common/banned.h"

#define T_SOP_UID 0x00080018u

typedef struct inst_ref {
    int64_t id;
    char key[INDEX_KEY_LEN + 1];
    uint8_t sop_bi[INDEX_BI_BYTES];
    uint8_t *seal;
    size_t seal_len;
    uint64_t size;
} inst_ref;

typedef struct inst_list {
    inst_ref *r;
    size_t n, cap;
} inst_list;

static void inst_list_free(inst_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->r[i].seal);
    free(l->r);
    memset(l, 0, sizeof(*l));
}

static dv_err collect(void *cb, const index_row *row)
{
    inst_list *l = cb;
    inst_ref *r;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        inst_ref *n = realloc(l->r, cap * sizeof(*n));

        if (!n)
            return DV_ENOMEM;
        l->r = n;
        l->cap = cap;
    }
    r = &l->r[l->n];
    memset(r, 0, sizeof(*r));
    r->seal = malloc(row->instance_seal.len ? row->instance_seal.len : 1);
    if (!r->seal)
        return DV_ENOMEM;
    if (row->instance_seal.len)
        memcpy(r->seal, row->instance_seal.p, row->instance_seal.len);
    r->seal_len = row->instance_seal.len;
    r->id = row->instance_id;
    r->size = row->size;
    memcpy(r->key, row->object_key, sizeof(r->key));
    memcpy(r->sop_bi, row->sop_bi, INDEX_BI_BYTES);
    l->n++;
    return DV_OK;
}

/* The study row and the instances of the selection. */
static dv_err select_rows(vault *v, vault_sel sel, const char *uid, index_row *row, inst_list *l,
                          dv_errinfo *ei)
{
    uint8_t bi[INDEX_BI_BYTES];
    dv_err e;

    switch (sel) {
    case VAULT_SEL_STUDY:
        vault_blind(v, "study-uid", uid, bi);
        e = index_study_get(v->db, bi, row, ei);
        if (!e)
            e = index_instance_list(v->db, row->study_id, 0, collect, l, ei);
        return e;
    case VAULT_SEL_SERIES:
        vault_blind(v, "series-uid", uid, bi);
        e = index_series_get(v->db, bi, row, ei);
        if (!e)
            e = index_instance_list(v->db, row->study_id, row->series_id, collect, l, ei);
        return e;
    case VAULT_SEL_INSTANCE:
        vault_blind(v, "sop-uid", uid, bi);
        e = index_instance_get(v->db, bi, row, ei);
        if (!e)
            e = collect(l, row);
        return e;
    }
    return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "bad selection");
}

static dv_err export_one(vault *v, const crypto_key *dek, const inst_ref *r, vault_object_fn fn,
                         void *cb, dv_errinfo *ei)
{
    vault_rec rec;
    dv_buf pt;
    dv_err e;

    e = vault_open_rec(v, "instance", r->sop_bi, r->seal, r->seal_len, &rec, ei);
    if (e)
        return dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                       "instance %lld: its sealed record does not open", (long long)r->id);
    dv_buf_init(&pt, VAULT_IMPORT_MAX);
    e = vault_object_open(v, dek, r->id, r->key, &pt, ei);
    if (!e)
        e = fn(cb, vault_rec_get(&rec, T_SOP_UID), r->id, pt.p ? pt.p : (const uint8_t *)"", pt.len,
               ei);
    if (pt.p)
        sodium_memzero(pt.p, pt.len);
    dv_buf_release(&pt);
    vault_rec_free(&rec);
    return e;
}

/* The gate for an export of the selection: its study and patient, one study, its bytes.  A
 * UID that is not stored is reported only to a user who may search the index. */
static dv_err export_gate(vault *v, const vault_ctx *ctx, const vault_retrieve_req *rq,
                          dv_err found, const index_row *row, const inst_list *l, dv_errinfo *ei)
{
    vault_gate_obj o;
    size_t i;

    if (found == DV_ENOTFOUND) {
        dv_err e = vault_door(v, ctx, ACCESS_FIND, NULL, rq->event, NULL, ei);

        return e ? e : found;
    }
    if (found)
        return found;
    memset(&o, 0, sizeof(o));
    o.study_bi = row->study_bi;
    o.patient_bi = row->patient_bi;
    o.studies = 1;
    o.deidentified = rq->deidentified;
    for (i = 0; i < l->n; i++)
        o.bytes += l->r[i].size;
    return vault_door(v, ctx, rq->action, &o, rq->event, NULL, ei);
}

dv_err vault_retrieve(vault *v, const vault_ctx *ctx, const vault_retrieve_req *rq,
                      vault_object_fn fn, void *cb, uint64_t *n, uint8_t *study_bi, dv_errinfo *ei)
{
    inst_list l = {NULL, 0, 0};
    index_row row;
    crypto_key dek;
    size_t i;
    dv_err e;

    if (n)
        *n = 0;
    if (!vault_ctx_valid(ctx))
        return vault_enter(v, ctx, rq->event, NULL, ei);
    memset(&row, 0, sizeof(row));
    e = export_gate(v, ctx, rq, select_rows(v, rq->sel, rq->uid, &row, &l, ei), &row, &l, ei);
    if (e == DV_ENOTFOUND)
        e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "no such %s in the vault",
                    rq->sel == VAULT_SEL_STUDY    ? "study"
                    : rq->sel == VAULT_SEL_SERIES ? "series"
                                                  : "instance");
    if (!e) /* audit before effect: which study leaves, and for whom */
        e = vault_audit_study_detail(v, ctx, rq->event, row.study_bi, row.patient_bi, rq->detail,
                                     ei);
    if (!e && study_bi)
        memcpy(study_bi, row.study_bi, INDEX_BI_BYTES);
    if (!e)
        e = vault_study_dek(v, &row, &dek, ei);
    for (i = 0; !e && i < l.n; i++) {
        e = export_one(v, &dek, &l.r[i], fn, cb, ei);
        if (!e && n)
            (*n)++;
    }
    crypto_key_wipe(&dek);
    inst_list_free(&l);
    return e;
}

/* Marked copies: each image leaves with the export's entry in its pixels. */
typedef struct marking {
    vault *v;
    const vault_ctx *ctx;
    vault_mark_state ms;
    vault_object_fn fn;
    void *cb;
} marking;

static dv_err mark_one(void *cb, const char *sop_uid, int64_t id, const uint8_t *p, size_t len,
                       dv_errinfo *ei)
{
    marking *m = cb;
    dv_buf out;
    int marked = 0;
    dv_err e;

    dv_buf_init(&out, VAULT_IMPORT_MAX + ((size_t)1 << 30));
    e = vault_mark_dicom(m->v, m->ctx, &m->ms, p, len, &out, &marked, ei);
    if (e == DV_EUNSUPPORTED) {
        char why[sizeof(ei->msg)];

        (void)snprintf(why, sizeof(why), "%s", ei->msg);
        e = dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, ei->tag,
                    "instance %lld cannot carry the watermark (%.160s); export --original takes "
                    "the unmarked archival copy",
                    (long long)id, why);
    }
    if (!e)
        e = marked ? m->fn(m->cb, sop_uid, id, out.p, out.len, ei)
                   : m->fn(m->cb, sop_uid, id, p, len, ei);
    if (out.p)
        sodium_memzero(out.p, out.len);
    dv_buf_release(&out);
    return e;
}

dv_err vault_export(vault *v, const vault_ctx *ctx, vault_sel sel, const char *uid,
                    vault_object_fn fn, void *cb, uint64_t *n, dv_errinfo *ei)
{
    vault_retrieve_req rq = {ACCESS_EXPORT, "export", NULL, sel, uid, 0};
    marking m;

    memset(&m, 0, sizeof(m));
    m.v = v;
    m.ctx = ctx;
    m.fn = fn;
    m.cb = cb;
    return vault_retrieve(v, ctx, &rq, mark_one, &m, n, NULL, ei);
}

dv_err vault_export_original(vault *v, const vault_ctx *ctx, vault_sel sel, const char *uid,
                             vault_object_fn fn, void *cb, uint64_t *n, dv_errinfo *ei)
{
    vault_retrieve_req rq = {ACCESS_EXPORT, "export", "original: the archival bytes, unmarked",
                             sel,           uid,      0};

    return vault_retrieve(v, ctx, &rq, fn, cb, n, NULL, ei);
}

/* ---- into a folder ---------------------------------------------------------------------- */

typedef struct dir_ctx {
    const char *dir;
} dir_ctx;

static int uid_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (!n || n > INDEX_UID_MAX || s[0] == '.')
        return 0;
    for (i = 0; i < n; i++)
        if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '.')
            return 0;
    return 1;
}

static dv_err write_one(void *cb, const char *sop_uid, int64_t id, const uint8_t *p, size_t len,
                        dv_errinfo *ei)
{
    dir_ctx *d = cb;
    char path[VAULT_PATH_MAX];
    int n;

    if (uid_ok(sop_uid))
        n = snprintf(path, sizeof(path), "%s/%s.dcm", d->dir, sop_uid);
    else /* not a plain UID: do not let it name a path */
        n = snprintf(path, sizeof(path), "%s/instance-%lld.dcm", d->dir, (long long)id);
    if (n < 0 || (size_t)n >= sizeof(path))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "output path too long");
    return vault_write_atomic(path, p, len, 0600, ei);
}

dv_err vault_export_dir(vault *v, const vault_ctx *ctx, vault_sel sel, const char *uid,
                        const char *outdir, int original, uint64_t *n, dv_errinfo *ei)
{
    dir_ctx d = {outdir};
    struct stat st;

    if (mkdir(outdir, 0700) != 0 && errno != EEXIST)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot create the output folder: %s",
                       strerror(errno));
    if (stat(outdir, &st) != 0 || !S_ISDIR(st.st_mode))
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "the output is not a folder");
    return original ? vault_export_original(v, ctx, sel, uid, write_one, &d, n, ei)
                    : vault_export(v, ctx, sel, uid, write_one, &d, n, ei);
}
