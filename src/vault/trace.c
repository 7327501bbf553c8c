/* SPDX-License-Identifier: Apache-2.0 */
/* trace.c - from a leaked picture back to the audit entry of the access that released it:
 * blind detection with the vault's mark key, then the informed mode on one study (given, or
 * found by a perceptual hash over the stored images), and the entry's inclusion proof.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "mark/mark.h"
#include "vault/gate.h"
#include "vault/vault_int.h"

#include "common/banned.h"

/* ---- trace ------------------------------------------------------------------------------- */

/* The entry the mark names, and its inclusion proof against a checkpoint written now. */
static dv_err trace_entry(vault *v, uint64_t seq, vault_trace_res *res, dv_errinfo *ei)
{
    char dir[VAULT_PATH_MAX];
    audit_reader *r = NULL;
    audit_checkpoint cp;
    audit_record rec;
    audit_proof *pf = calloc(1, sizeof(*pf));
    dv_buf line;
    dv_err e;

    if (!pf)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    memset(&cp, 0, sizeof(cp));
    dv_buf_init(&line, sizeof(res->entry));
    e = audit_log_checkpoint(v->alog, ei); /* the proof must cover the newest entries */
    if (!e && vault_path(dir, sizeof(dir), v->dir, "audit"))
        e = dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "vault path too long");
    if (!e)
        e = audit_reader_open(dir, &r, ei);
    if (!e && seq >= audit_reader_size(r))
        e = dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG,
                    "the mark names entry %llu, which this vault's log does not have",
                    (unsigned long long)seq);
    if (!e)
        e = audit_reader_get(r, seq, &rec, ei);
    if (!e)
        e = audit_format_text(&rec, NULL, NULL, &line);
    if (!e)
        e = audit_reader_checkpoint(r, &res->checkpoint, ei);
    if (!e)
        e = audit_note_open(res->checkpoint.p, res->checkpoint.len, NULL, &cp, ei);
    if (!e)
        e = audit_inclusion_proof(r, seq, cp.size, pf, ei);
    if (!e)
        e = audit_proof_format(pf, &res->proof);
    if (!e) {
        (void)snprintf(res->entry, sizeof(res->entry), "%.*s", (int)line.len, (char *)line.p);
        res->in_log = 1;
    }
    audit_reader_close(r);
    dv_buf_release(&line);
    free(pf);
    return e;
}

#define TRACE_MAX_CANDIDATES 1000000u

/* The informed mode's candidates: the entries of the study's accesses that leave a copy (view,
 * export, print, share) -- the payloads its marks can carry. */
static dv_err study_events(vault *v, const uint8_t *bi, uint64_t **out, size_t *n, dv_errinfo *ei)
{
    uint8_t ps[AUDIT_PSEUDONYM_BYTES];
    char dir[VAULT_PATH_MAX];
    audit_reader *r = NULL;
    audit_record rec;
    uint64_t seq, size, *c = NULL, *nc;
    size_t cap = 0, k;
    dv_err e;

    *out = NULL;
    *n = 0;
    vault_audit_pseudonym(v, "audit-study", bi, ps);
    e = vault_path(dir, sizeof(dir), v->dir, "audit")
            ? dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "vault path too long")
            : audit_reader_open(dir, &r, ei);
    size = e ? 0 : audit_reader_size(r);
    for (seq = 0; !e && seq < size && *n < TRACE_MAX_CANDIDATES; seq++) {
        e = audit_reader_get(r, seq, &rec, ei);
        if (e || (rec.action != AUDIT_ACT_VIEW && rec.action != AUDIT_ACT_EXPORT &&
                  rec.action != AUDIT_ACT_PRINT && rec.action != AUDIT_ACT_SHARE))
            continue;
        for (k = 0; k < rec.nobjects; k++)
            if (rec.objects[k].type == AUDIT_OBJ_STUDY &&
                !memcmp(rec.objects[k].pseudonym, ps, sizeof(ps)))
                break;
        if (k == rec.nobjects)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            nc = realloc(c, cap * sizeof(*c));
            if (!nc) {
                e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
                break;
            }
            c = nc;
        }
        c[(*n)++] = seq;
    }
    audit_reader_close(r);
    if (e) {
        free(c);
        *n = 0;
        return e;
    }
    *out = c;
    return DV_OK;
}

/* ---- the perceptual search: which stored image does the leak show? ---- */

#define PHASH_MATCH  12       /* bits of 64: copies of one image differ by fewer */
#define PHASH_MAX_IN 1000000u /* instances looked at, at most */

typedef struct ph_ref {
    int64_t study_id, instance_id;
    char key[INDEX_KEY_LEN + 1];
    uint8_t study_bi[INDEX_BI_BYTES];
    uint8_t dek[INDEX_DEK_MAX];
    size_t dek_len;
} ph_ref;

typedef struct ph_list {
    ph_ref *r;
    size_t n, cap;
} ph_list;

static dv_err keep_ref(void *cb, const index_row *row)
{
    ph_list *l = cb;
    ph_ref *r;

    if (l->n >= PHASH_MAX_IN)
        return DV_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        ph_ref *nr = realloc(l->r, cap * sizeof(*nr));

        if (!nr)
            return DV_ENOMEM;
        l->r = nr;
        l->cap = cap;
    }
    r = &l->r[l->n++];
    r->study_id = row->study_id;
    r->instance_id = row->instance_id;
    memcpy(r->key, row->object_key, sizeof(r->key));
    memcpy(r->study_bi, row->study_bi, INDEX_BI_BYTES);
    memcpy(r->dek, row->dek_wrapped, row->dek_len);
    r->dek_len = row->dek_len;
    return DV_OK;
}

/* The perceptual hash of one stored instance's first frame (default rendering); -1 when it
 * is not an image. */
static int stored_phash(vault *v, const ph_ref *r, uint64_t *h)
{
    index_row row;
    crypto_key dek;
    render_image im = {0};
    dcm_file *f = NULL;
    dv_buf pt;
    int rc = -1;

    memset(&row, 0, sizeof(row));
    row.study_id = r->study_id;
    memcpy(row.study_bi, r->study_bi, INDEX_BI_BYTES);
    memcpy(row.dek_wrapped, r->dek, r->dek_len);
    row.dek_len = r->dek_len;
    dv_buf_init(&pt, VAULT_IMPORT_MAX);
    if (vault_study_dek(v, &row, &dek, NULL) == DV_OK) {
        if (vault_object_open(v, &dek, r->instance_id, r->key, &pt, NULL) == DV_OK &&
            dcm_parse(pt.p, pt.len, 0, NULL, &f, NULL) == DV_OK &&
            render_frame(f, 0, NULL, &im, NULL) == DV_OK)
            rc = mark_phash(&im, h);
        crypto_key_wipe(&dek);
    }
    render_image_release(&im);
    dcm_file_free(f);
    if (pt.p)
        sodium_memzero(pt.p, pt.len);
    dv_buf_release(&pt);
    return rc;
}

/* The study whose image looks most like the leak, when one is close enough. */
static dv_err find_study(vault *v, const render_image *leak, uint8_t bi[INDEX_BI_BYTES], int *found,
                         vault_trace_res *res, dv_errinfo *ei)
{
    index_query q;
    ph_list l = {NULL, 0, 0};
    uint64_t lh, h;
    unsigned best = 65, d;
    size_t i;
    dv_err e;

    *found = 0;
    if (mark_phash(leak, &lh) != 0)
        return DV_OK;
    memset(&q, 0, sizeof(q));
    q.level = INDEX_LEVEL_INSTANCE;
    e = index_find(v->db, &q, keep_ref, &l, NULL, ei);
    for (i = 0; !e && i < l.n; i++) {
        if (stored_phash(v, &l.r[i], &h) != 0)
            continue;
        res->searched++;
        d = mark_phash_distance(lh, h);
        if (d < best) {
            best = d;
            memcpy(bi, l.r[i].study_bi, INDEX_BI_BYTES);
        }
    }
    if (l.r)
        sodium_memzero(l.r, l.cap * sizeof(*l.r));
    free(l.r);
    res->phash_distance = best;
    *found = !e && best <= PHASH_MATCH;
    return e;
}

/* Blind first; then the informed mode on the named study, or on the study the perceptual
 * search finds. */
static dv_err trace_detect(vault *v, const render_image *im, const char *study_uid,
                           vault_trace_res *res, dv_errinfo *ei)
{
    uint8_t bi[INDEX_BI_BYTES];
    uint64_t *cand = NULL;
    size_t ncand = 0;
    crypto_key key;
    int have = 0;
    dv_err e = vault_mark_key(v, &key);

    if (!e)
        e = mark_detect_image(&key, im, &res->mark, ei);
    if (!e && !res->mark.found && study_uid) {
        vault_blind(v, "study-uid", study_uid, bi);
        have = 1;
    } else if (!e && !res->mark.found) {
        e = find_study(v, im, bi, &have, res, ei);
        res->by_phash = have;
    }
    if (!e && have) {
        e = study_events(v, bi, &cand, &ncand, ei);
        if (!e && ncand)
            e = mark_detect_image_candidates(&key, im, cand, ncand, &res->mark, ei);
        res->informed = 1;
        res->candidates = ncand;
        free(cand);
    }
    crypto_key_wipe(&key);
    return e;
}

dv_err vault_trace(vault *v, const vault_ctx *ctx, const render_image *im, const char *study_uid,
                   vault_trace_res *res, dv_errinfo *ei)
{
    char detail[128];
    dv_err e = vault_gate(v, ctx, ACCESS_AUDIT, NULL, ei); /* the privacy officer's */

    res->in_log = 0;
    res->informed = 0;
    res->candidates = 0;
    res->by_phash = 0;
    res->searched = 0;
    res->phash_distance = 65;
    res->entry[0] = '\0';
    if (!e)
        e = trace_detect(v, im, study_uid, res, ei);
    if (e)
        return e;
    if (res->mark.found)
        (void)snprintf(detail, sizeof(detail), "trace%s: mark of entry %llu found (p %.1e)",
                       !res->informed  ? ""
                       : res->by_phash ? " (informed; study found by perceptual hash)"
                                       : " (informed, one study's accesses)",
                       (unsigned long long)res->mark.payload, res->mark.fp_probability);
    else
        (void)snprintf(detail, sizeof(detail), "trace: no mark found");
    e = vault_audit_detail(v, ctx, "audit-read", detail, ei); /* trace is on the record first */
    if (!e && res->mark.found)
        e = trace_entry(v, res->mark.payload, res, ei);
    return e;
}
