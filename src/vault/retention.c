/* SPDX-License-Identifier: Apache-2.0 */
/* retention.c - `retention run`: studies kept past the longest rule of their modalities.
 *
 * A study expires when StudyDate + N years < today (UTC), N being the longest [retention] rule
 * among its modalities (a modality without a rule, and no default rule, keeps it forever).  A
 * study without a valid StudyDate is never expired (it is listed as kept).  Expired studies
 * are shredded with the reason "retention" unless dry_run.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access/access.h"
#include "vault/vault_int.h"

#include "common/banned.h"

#define T_STUDY_UID  0x0020000Du
#define T_STUDY_DATE 0x00080020u

typedef struct ret_item {
    int64_t study_id;
    uint8_t bi[INDEX_BI_BYTES];
    uint8_t *seal;
    size_t seal_len;
    char modalities[INDEX_MODALITIES_MAX + 1];
} ret_item;

typedef struct ret_list {
    ret_item *it;
    size_t n, cap;
} ret_list;

static dv_err collect_study(void *cb, const index_row *row)
{
    ret_list *l = cb;
    ret_item *it;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        ret_item *n = realloc(l->it, cap * sizeof(*n));

        if (!n)
            return DV_ENOMEM;
        l->it = n;
        l->cap = cap;
    }
    it = &l->it[l->n];
    it->seal = malloc(row->study_seal.len ? row->study_seal.len : 1);
    if (!it->seal)
        return DV_ENOMEM;
    if (row->study_seal.len)
        memcpy(it->seal, row->study_seal.p, row->study_seal.len);
    it->seal_len = row->study_seal.len;
    it->study_id = row->study_id;
    memcpy(it->bi, row->study_bi, INDEX_BI_BYTES);
    memcpy(it->modalities, row->modalities, sizeof(it->modalities));
    l->n++;
    return DV_OK;
}

static uint32_t today(void)
{
    time_t now = time(NULL);
    struct tm tm;

    if (!gmtime_r(&now, &tm))
        return 0;
    return (uint32_t)(tm.tm_year + 1900) * 10000u + (uint32_t)(tm.tm_mon + 1) * 100u +
           (uint32_t)tm.tm_mday;
}

static dv_err one_study(vault *v, const vault_ctx *ctx, const ret_item *it, int dry_run,
                        vault_retention_fn fn, void *cb, uint64_t *expired, dv_errinfo *ei)
{
    unsigned years = vault_config_retention_years(&v->cfg, it->modalities);
    vault_retention_item out;
    vault_shred_result res;
    index_row row;
    vault_rec r;
    uint32_t d;
    dv_err e;

    if (!years)
        return DV_OK;
    e = vault_open_rec(v, "study", it->bi, it->seal, it->seal_len, &r, ei);
    if (e)
        return e;
    d = vault_date_value(vault_rec_get(&r, T_STUDY_DATE));
    memset(&out, 0, sizeof(out));
    out.study_uid = vault_rec_get(&r, T_STUDY_UID);
    out.study_date = vault_rec_get(&r, T_STUDY_DATE);
    out.modalities = it->modalities;
    out.years = years;
    out.expired = d && (uint64_t)d + (uint64_t)years * 10000u < today();
    if (out.expired && !dry_run) {
        e = index_study_get_by_id(v->db, it->study_id, &row, ei);
        if (!e)
            e = vault_shred_row(v, ctx, &row, out.study_uid, "retention", &res, ei);
        out.shredded = e == DV_OK;
    }
    if (out.expired)
        (*expired)++;
    if (fn && (out.expired || !d))
        fn(cb, &out);
    vault_rec_free(&r);
    return e;
}

dv_err vault_retention_run(vault *v, const vault_ctx *ctx, int dry_run, vault_retention_fn fn,
                           void *cb, uint64_t *expired, dv_errinfo *ei)
{
    ret_list l = {NULL, 0, 0};
    index_query q;
    uint64_t nexp = 0;
    size_t i;
    dv_err e;

    e = vault_door(v, ctx, ACCESS_RETENTION, NULL, dry_run ? "retention-list" : "retention-run",
                   NULL, ei);
    if (e)
        return e;
    memset(&q, 0, sizeof(q));
    q.level = INDEX_LEVEL_STUDY;
    if (v->cfg.nrules)
        e = index_find(v->db, &q, collect_study, &l, NULL, ei);
    for (i = 0; !e && i < l.n; i++)
        e = one_study(v, ctx, &l.it[i], dry_run, fn, cb, &nexp, ei);
    for (i = 0; i < l.n; i++)
        free(l.it[i].seal);
    free(l.it);
    if (expired)
        *expired = nexp;
    return e;
}
