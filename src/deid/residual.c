/* SPDX-License-Identifier: Apache-2.0 */
/* residual.c - the residual-PHI check: every element of the output at every depth (file
 * meta, private attributes, binary values except Pixel Data) and the pixels' OCR text are
 * searched for the input's identifiers.  A hit is reported by tag path and kind, never by
 * value.
 */
#include <stdio.h>
#include <string.h>

#include "deid/deid_int.h"

#include "common/banned.h"

#define RESIDUAL_MAX_DEPTH 64
#define PATH_MAX_LEN       88

typedef struct scan {
    const deid_needles *nd;
    deid_file_report *rep;
    dv_buf raw, norm;
    char path[PATH_MAX_LEN + 32];
    size_t plen;
} scan;

static void record(scan *s, const char *where, const deid_needle *x)
{
    if (s->rep->residual_hits < DEID_MAX_WHERE)
        snprintf(s->rep->where[s->rep->residual_hits], sizeof(s->rep->where[0]), "%.70s: %s", where,
                 deid_needle_kind_name((deid_needle_kind)x->kind));
    s->rep->residual_hits++;
}

static dv_err search(scan *s, const char *where)
{
    const deid_needle *x;
    size_t at = 0;
    dv_err e;

    dv_buf_reset(&s->norm);
    e = deid_norm(s->raw.p, s->raw.len, &s->norm);
    if (e || !s->norm.len)
        return e;
    x = deid_needles_match(s->nd, (const char *)s->norm.p, s->norm.len, 0, &at);
    if (x)
        record(s, where, x);
    return DV_OK;
}

static dv_err scan_ds(scan *s, const dcm_ds *ds, const dcm_charset *pcs, unsigned depth);

static dv_err scan_elem(scan *s, const dcm_elem *el, const dcm_charset *cs, unsigned depth)
{
    size_t keep = s->plen;
    uint32_t i;
    dv_err e = DV_OK;
    int n;

    n = snprintf(s->path + s->plen, sizeof(s->path) - s->plen, "%s(%04X,%04X)", s->plen ? "/" : "",
                 DCM_GROUP(el->tag), DCM_ELEM(el->tag));
    if (n > 0 && s->plen + (size_t)n < sizeof(s->path))
        s->plen += (size_t)n;
    if (el->vr == DCM_VR_SQ) {
        for (i = 0; !e && i < el->nitems; i++) {
            size_t k2 = s->plen;

            n = snprintf(s->path + s->plen, sizeof(s->path) - s->plen, "[%u]", i);
            if (n > 0 && s->plen + (size_t)n < sizeof(s->path))
                s->plen += (size_t)n;
            e = scan_ds(s, &el->items[i], cs, depth + 1);
            s->plen = k2;
            s->path[s->plen] = '\0';
        }
    } else if (el->tag != DCM_TAG_PIXEL_DATA && el->len) {
        dv_buf_reset(&s->raw);
        e = deid_elem_text(cs, el, &s->raw);
        if (!e)
            e = search(s, s->path);
    }
    s->plen = keep;
    s->path[s->plen] = '\0';
    return e;
}

static dv_err scan_ds(scan *s, const dcm_ds *ds, const dcm_charset *pcs, unsigned depth)
{
    dcm_charset cs = *pcs;
    uint32_t i;
    dv_err e = DV_OK;

    if (depth > RESIDUAL_MAX_DEPTH)
        return DV_ELIMIT;
    if (dcm_ds_find(ds, DCM_TAG_SPECIFIC_CHARSET) && dcm_charset_parse(ds, &cs, NULL) != DV_OK) {
        /* unknown terms: what was understood is used */
    }
    for (i = 0; !e && i < ds->n; i++)
        e = scan_elem(s, &ds->e[i], &cs, depth);
    return e;
}

dv_err deid_residual_check(const deid_needles *nd, const dcm_file *out, const char *ocr,
                           size_t ocr_len, deid_file_report *rep, dv_errinfo *ei)
{
    scan s;
    dcm_charset cs;
    dv_err e;

    memset(&s, 0, sizeof(s));
    s.nd = nd;
    s.rep = rep;
    rep->residual_ran = 1;
    rep->residual_hits = 0;
    rep->needles = (uint32_t)nd->n;
    dv_buf_init(&s.raw, (size_t)1 << 32);
    dv_buf_init(&s.norm, (size_t)1 << 32);
    dcm_charset_default(&cs);
    e = scan_ds(&s, &out->meta, &cs, 0);
    if (!e)
        e = scan_ds(&s, &out->ds, &cs, 0);
    if (!e && ocr && ocr_len) {
        dv_buf_reset(&s.raw);
        e = dv_buf_add(&s.raw, ocr, ocr_len);
        if (!e)
            e = search(&s, "PixelData (OCR text)");
    }
    dv_buf_release(&s.raw);
    dv_buf_release(&s.norm);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "residual check could not run: %s",
                       dv_strerror(e));
    if (rep->residual_hits)
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                       "residual check: %u identifier(s) of the input survive, first at %s",
                       rep->residual_hits, rep->where[0]);
    return DV_OK;
}
