/* SPDX-License-Identifier: Apache-2.0 */
/* text.c - text values as UTF-8: reading one value, and converting a whole file to
 * ISO_IR 192 so that cleaned values and the residual check work on one encoding.
 */
#include <string.h>

#include "deid/deid_int.h"

#include "common/banned.h"

#define TEXT_MAX_DEPTH 64

dv_err deid_elem_text(const dcm_charset *cs, const dcm_elem *e, dv_buf *out)
{
    if (!e->len)
        return DV_OK;
    if (!dcm_vr_is_string(e->vr))
        return dv_buf_add(out, e->val, e->len);
    return dcm_charset_to_utf8(cs, e->vr, e->val, e->len, out, NULL);
}

static int plain_ascii(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i] >= 0x80 || p[i] == 0x1B)
            return 0;
    return 1;
}

/* Replaces e's value by b (padded to even length with a space). */
static dv_err set_bytes(dcm_file *f, dcm_elem *e, const uint8_t *p, size_t n)
{
    uint8_t *v;

    if (n > 0xFFFFFFF0u)
        return DV_ELIMIT;
    v = dv_arena_alloc(&f->arena, n + 2);
    if (!v)
        return DV_ENOMEM;
    if (n)
        memcpy(v, p, n);
    if (n & 1)
        v[n++] = ' ';
    e->val = n ? v : NULL;
    e->len = (uint32_t)n;
    return DV_OK;
}

static dv_err utf8_ds(dcm_file *f, dcm_ds *ds, const dcm_charset *pcs, dv_buf *b, int *changed,
                      unsigned depth)
{
    dcm_charset cs = *pcs;
    uint32_t i, j;
    dv_err e = DV_OK;

    if (depth > TEXT_MAX_DEPTH)
        return DV_ELIMIT;
    if (depth > 0 && dcm_ds_find(ds, DCM_TAG_SPECIFIC_CHARSET)) {
        if (dcm_charset_parse(ds, &cs, NULL) !=
            DV_OK) { /* unknown terms: what was understood is used */
        }
        dcm_ds_remove(ds, DCM_TAG_SPECIFIC_CHARSET); /* the top level one now rules */
    }
    for (i = 0; !e && i < ds->n; i++) {
        dcm_elem *el = &ds->e[i];

        if (el->vr == DCM_VR_SQ) {
            for (j = 0; !e && j < el->nitems; j++)
                e = utf8_ds(f, &el->items[j], &cs, b, changed, depth + 1);
            continue;
        }
        if (!el->len || !dcm_charset_affects(el->vr) || plain_ascii(el->val, el->len))
            continue;
        dv_buf_reset(b);
        e = dcm_charset_to_utf8(&cs, el->vr, el->val, el->len, b, NULL);
        if (!e)
            e = set_bytes(f, el, b->p, b->len);
        *changed = 1;
    }
    return e;
}

dv_err deid_to_utf8(dcm_file *f, dv_errinfo *ei)
{
    dcm_charset cs;
    dv_buf b;
    int changed = 0;
    dv_err e;

    dcm_charset_default(&cs);
    if (dcm_ds_find(&f->ds, DCM_TAG_SPECIFIC_CHARSET))
        if (dcm_charset_parse(&f->ds, &cs, NULL) !=
            DV_OK) { /* unknown terms: what was understood is used */
        }
    dv_buf_init(&b, (size_t)1 << 32);
    e = utf8_ds(f, &f->ds, &cs, &b, &changed, 0);
    dv_buf_release(&b);
    if (!e && changed)
        e = dcm_ds_set_str(f, &f->ds, DCM_TAG_SPECIFIC_CHARSET, DCM_VR_CS, "ISO_IR 192");
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DCM_TAG_SPECIFIC_CHARSET,
                       "converting text values to UTF-8 failed");
    return DV_OK;
}
