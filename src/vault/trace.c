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
#include "vault/phash.h"
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
 * export, print, share, de-identified export) -- the payloads its marks can carry. */
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
                  rec.action != AUDIT_ACT_PRINT && rec.action != AUDIT_ACT_SHARE &&
                  rec.action != AUDIT_ACT_DEIDENTIFY))
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
#define PHASH_MAX_IN 1000000u /* instances kept for the decrypt-and-render path, at most */

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

static void ref_of(const index_phash *h, ph_ref *r)
{
    r->study_id = h->study_id;
    r->instance_id = h->instance_id;
    memcpy(r->key, h->object_key, sizeof(r->key));
    memcpy(r->study_bi, h->study_bi, INDEX_BI_BYTES);
    memcpy(r->dek, h->dek_wrapped, h->dek_len);
    r->dek_len = h->dek_len;
}

static dv_err keep_ref(ph_list *l, const ph_ref *r)
{
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
    l->r[l->n++] = *r;
    return DV_OK;
}

/* One stored instance, decrypted and parsed; NULL when it cannot be (the caller skips it). */
static dcm_file *stored_file(vault *v, const ph_ref *r, dv_buf *pt)
{
    index_row row;
    crypto_key dek;
    dcm_file *f = NULL;

    memset(&row, 0, sizeof(row));
    row.study_id = r->study_id;
    memcpy(row.study_bi, r->study_bi, INDEX_BI_BYTES);
    memcpy(row.dek_wrapped, r->dek, r->dek_len);
    row.dek_len = r->dek_len;
    if (vault_study_dek(v, &row, &dek, NULL) == DV_OK) {
        if (vault_object_open(v, &dek, r->instance_id, r->key, pt, NULL) != DV_OK ||
            dcm_parse(pt->p, pt->len, 0, NULL, &f, NULL) != DV_OK)
            f = NULL;
        crypto_key_wipe(&dek);
    }
    return f;
}

static void wipe_buf(dv_buf *pt)
{
    if (pt->p)
        sodium_memzero(pt->p, pt->len);
    dv_buf_release(pt);
}

/* The perceptual hash of one stored instance's first frame (default rendering, as import
 * computes it); -1 when it is not an image. */
static int stored_phash(vault *v, const ph_ref *r, uint64_t *h)
{
    dcm_file *f;
    dv_buf pt;
    int rc = -1;

    dv_buf_init(&pt, VAULT_IMPORT_MAX);
    f = stored_file(v, r, &pt);
    if (f)
        rc = vault_phash_of(f, h);
    dcm_file_free(f);
    wipe_buf(&pt);
    return rc;
}

#define TRACE_REFS 3 /* stored images the leak is registered to, at most */

/* The stored images that look most like the leak (of one study when study_bi is given, else
 * of the whole vault), nearest first.  A photo in perspective may be far from its original by
 * the hash and still be the nearest: the registration decides. */
typedef struct ranked {
    ph_ref ref[TRACE_REFS];
    unsigned dist[TRACE_REFS];
    size_t n;
} ranked;

static void rank_in(ranked *k, const ph_ref *r, unsigned d)
{
    size_t i = k->n;

    if (k->n == TRACE_REFS && d >= k->dist[TRACE_REFS - 1])
        return;
    if (k->n == TRACE_REFS)
        i = TRACE_REFS - 1;
    else
        k->n++;
    for (; i > 0 && k->dist[i - 1] > d; i--) {
        k->ref[i] = k->ref[i - 1];
        k->dist[i] = k->dist[i - 1];
    }
    k->ref[i] = *r;
    k->dist[i] = d;
}

/* One stored image compared with the leak: counted, ranked. */
static void compared(ranked *k, vault_trace_res *res, const ph_ref *r, uint64_t lh, uint64_t h)
{
    unsigned d = mark_phash_distance(lh, h);

    res->searched++;
    res->phash_distance = d < res->phash_distance ? d : res->phash_distance;
    rank_in(k, r, d);
}

/* One walk over the index: instances with a sealed hash are compared at once; the others
 * (imported before schema 4, rendering failed at import, or a hash that does not open) are
 * kept for the decrypt-and-render path.  Instances without pixel data are skipped. */
typedef struct ph_scan {
    crypto_key key; /* opens the sealed hashes */
    uint64_t lh;    /* the leak's hash */
    ranked *k;
    vault_trace_res *res;
    ph_list rest;
    dv_errinfo *ei;
} ph_scan;

static dv_err scan_one(void *cb, const index_phash *h)
{
    ph_scan *s = cb;
    uint64_t sh = 0;
    ph_ref r;
    dv_err e = DV_OK;

    ref_of(h, &r);
    if (h->sealed_len && vault_phash_open(&s->key, h->instance_id, h->object_key, h->sealed,
                                          h->sealed_len, &sh) == DV_OK) {
        s->res->hashed++;
        compared(s->k, s->res, &r, s->lh, sh);
    } else if (h->frames && keep_ref(&s->rest, &r) != DV_OK) {
        e = dv_fail(s->ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    }
    sodium_memzero(&sh, sizeof(sh));
    sodium_memzero(&r, sizeof(r));
    return e;
}

static dv_err rank_stored(vault *v, const render_image *leak, const uint8_t *study_bi, ranked *k,
                          vault_trace_res *res, dv_errinfo *ei)
{
    ph_scan s;
    uint64_t h;
    size_t i;
    dv_err e;

    memset(k, 0, sizeof(*k));
    for (i = 0; i < TRACE_REFS; i++)
        k->dist[i] = 0xFFFFu;
    memset(&s, 0, sizeof(s));
    if (mark_phash(leak, &s.lh) != 0)
        return DV_OK;
    s.k = k;
    s.res = res;
    s.ei = ei;
    e = vault_phash_key(v, &s.key);
    if (e)
        e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "cannot derive the image hash key");
    else
        e = index_phash_list(v->db, study_bi, scan_one, &s, ei);
    crypto_key_wipe(&s.key);
    for (i = 0; !e && i < s.rest.n; i++)
        if (stored_phash(v, &s.rest.r[i], &h) == 0)
            compared(k, res, &s.rest.r[i], s.lh, h);
    if (s.rest.r)
        sodium_memzero(s.rest.r, s.rest.cap * sizeof(*s.rest.r));
    free(s.rest.r);
    return e;
}

/* Registers the leak to one stored image and tests the candidates in the residual. */
static dv_err with_original(vault *v, const crypto_key *key, const render_image *im,
                            const ph_ref *r, const uint64_t *cand, size_t ncand, mark_result *mr,
                            mark_reg *reg, dv_errinfo *ei)
{
    float *ref = NULL;
    uint32_t w = 0, h = 0;
    dcm_file *f;
    dv_buf pt;
    dv_err e = DV_OK;

    memset(mr, 0, sizeof(*mr));
    mr->fp_probability = 1;
    memset(reg, 0, sizeof(*reg));
    dv_buf_init(&pt, VAULT_IMPORT_MAX);
    f = stored_file(v, r, &pt);
    if (f && mark_reference_of(f, &ref, &w, &h, NULL) == DV_OK)
        e = mark_detect_original(key, ref, w, h, im, cand, ncand, mr, reg, ei);
    if (ref)
        sodium_memzero(ref, (size_t)w * h * sizeof(float));
    free(ref);
    dcm_file_free(f);
    wipe_buf(&pt);
    return e;
}

/* Every test of the informed mode counts against the others (Bonferroni): n tests, each
 * probability times n. */
static void counted(mark_result *r, size_t n)
{
    r->fp_probability = r->fp_probability * (double)n < 1 ? r->fp_probability * (double)n : 1;
    r->found = r->found && r->fp_probability < MARK_FP_MAX;
    if (!r->found)
        r->payload = 0;
}

/* The informed mode: the leak registered to each ranked stored image (features and a homography)
 * and the study's candidates tested in what the original does not explain; then the candidates
 * tested on the leak itself. */
/* The leak registered to each ranked stored image; the candidates of that image's study tested
 * in what the original does not explain. */
static dv_err registered(vault *v, const crypto_key *key, const render_image *im, const ranked *k,
                         size_t tests, vault_trace_res *res, dv_errinfo *ei)
{
    uint64_t *cand = NULL;
    size_t ncand = 0, i;
    mark_result mr;
    mark_reg reg;
    dv_err e = DV_OK;

    for (i = 0; !e && i < k->n && !res->mark.found; i++) {
        free(cand);
        cand = NULL;
        e = study_events(v, k->ref[i].study_bi, &cand, &ncand, ei);
        if (e || !ncand)
            continue;
        e = with_original(v, key, im, &k->ref[i], cand, ncand, &mr, &reg, ei);
        res->references++;
        if (e || !reg.ok)
            continue;
        counted(&mr, tests);
        if (!res->reg.ok || mr.found) { /* the first registration, or the one that found */
            res->reg = reg;
            res->mark = mr;
            res->candidates = ncand;
        }
    }
    free(cand);
    return e;
}

/* The informed mode: registration to the nearest stored images first; then, without one, the
 * candidates of the named study (or of the nearest image's, when the hash is close enough)
 * tested on the leak itself.  Every test counts against the others. */
static dv_err informed(vault *v, const crypto_key *key, const render_image *im, const ranked *k,
                       const uint8_t *study_bi, vault_trace_res *res, dv_errinfo *ei)
{
    const uint8_t *bi = study_bi                            ? study_bi
                        : k->n && k->dist[0] <= PHASH_MATCH ? k->ref[0].study_bi
                                                            : NULL;
    size_t ncand = 0, tests = k->n + 1;
    uint64_t *cand = NULL;
    mark_result mr;
    dv_err e;

    res->informed = 1;
    e = registered(v, key, im, k, tests, res, ei);
    if (e || res->mark.found || !bi)
        return e;
    e = study_events(v, bi, &cand, &ncand, ei);
    if (!e && ncand) {
        e = mark_detect_image_candidates(key, im, cand, ncand, &mr, ei);
        counted(&mr, tests);
        if (!e && (mr.found || !res->reg.ok)) {
            res->mark = mr;
            res->candidates = ncand;
        }
    }
    free(cand);
    return e;
}

/* Blind first; then the informed mode on the named study, or on the study of the stored image
 * the perceptual search finds closest. */
static dv_err trace_detect(vault *v, const render_image *im, const char *study_uid,
                           vault_trace_res *res, dv_errinfo *ei)
{
    uint8_t bi[INDEX_BI_BYTES];
    ranked *k = calloc(1, sizeof(*k));
    crypto_key key;
    dv_err e = k ? vault_mark_key(v, &key)
                 : dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");

    if (e) {
        free(k);
        return e;
    }
    e = mark_detect_image(&key, im, &res->mark, ei);
    if (!e && !res->mark.found) {
        if (study_uid)
            vault_blind(v, "study-uid", study_uid, bi);
        e = rank_stored(v, im, study_uid ? bi : NULL, k, res, ei);
        if (!e)
            e = informed(v, &key, im, k, study_uid ? bi : NULL, res, ei);
        res->by_phash = !study_uid && res->mark.found;
    }
    crypto_key_wipe(&key);
    sodium_memzero(k, sizeof(*k));
    free(k);
    return e;
}

dv_err vault_trace(vault *v, const vault_ctx *ctx, const render_image *im, const char *study_uid,
                   vault_trace_res *res, dv_errinfo *ei)
{
    char detail[192];
    dv_err e = vault_gate(v, ctx, ACCESS_AUDIT, NULL, ei); /* the privacy officer's */

    res->in_log = 0;
    res->references = 0;
    memset(&res->reg, 0, sizeof(res->reg));
    res->informed = 0;
    res->candidates = 0;
    res->by_phash = 0;
    res->searched = 0;
    res->hashed = 0;
    res->phash_distance = 65;
    res->entry[0] = '\0';
    if (!e)
        e = trace_detect(v, im, study_uid, res, ei);
    if (e)
        return e;
    if (res->mark.found)
        (void)snprintf(detail, sizeof(detail), "trace%s: mark of entry %llu found (p %.1e)",
                       !res->informed  ? ""
                       : res->reg.ok   ? (res->by_phash ? " (informed, registered to the original "
                                                          "found by perceptual hash)"
                                                        : " (informed, registered to the original)")
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
