/* SPDX-License-Identifier: Apache-2.0 */
/* collect.c - gathers the identifiers of an input file, in their common written forms, for
 * the residual check and for cleaning free text.
 *
 * Which elements: every PN value; IDs (patient, other patient IDs, accession, medical record,
 * order and procedure IDs); every DA/DT whose action under the options is not "keep" (the
 * birth date always); every UI whose action is U (unless Retain UIDs); institution,
 * department, addresses, phone numbers, station name and serial number unless kept.
 */
#include <stdlib.h>
#include <string.h>

#include "deid/deid_int.h"

#include "common/banned.h"

#define COLLECT_MAX_DEPTH 64

typedef struct collector {
    const deid_ctx *ctx;
    deid_needles *nd;
    dv_buf text; /* UTF-8 of the current value */
} collector;

static const uint32_t id_tags[] = {
    DCM_TAG(0x0008, 0x0050), DCM_TAG(0x0010, 0x0020), DCM_TAG(0x0010, 0x1000),
    DCM_TAG(0x0010, 0x1090), DCM_TAG(0x0040, 0x2016), DCM_TAG(0x0040, 0x2017),
    DCM_TAG(0x0040, 0x1001), DCM_TAG(0x0038, 0x0010), DCM_TAG(0x0020, 0x0010),
    DCM_TAG(0x0040, 0x0009), DCM_TAG(0x0040, 0x0253), DCM_TAG(0x0010, 0x0021),
};
static const uint32_t text_tags[] = {
    DCM_TAG(0x0008, 0x0080), DCM_TAG(0x0008, 0x0081), DCM_TAG(0x0008, 0x1040),
    DCM_TAG(0x0010, 0x1040), DCM_TAG(0x0010, 0x2154), DCM_TAG(0x0008, 0x0094),
    DCM_TAG(0x0008, 0x0092), DCM_TAG(0x0040, 0x1102), DCM_TAG(0x0040, 0x1103),
    DCM_TAG(0x0008, 0x1010), DCM_TAG(0x0018, 0x1000), DCM_TAG(0x0010, 0x2155),
};

static int in_list(const uint32_t *l, size_t n, uint32_t tag)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (l[i] == tag)
            return 1;
    return 0;
}

static dv_err add(collector *c, const char *s, size_t n, deid_needle_kind k)
{
    return deid_needles_add(c->nd, s, n, k);
}

/* One PN value: each group whole, reversed, without separators, and each long component. */
static dv_err add_pn_group(collector *c, const char *g, size_t n)
{
    const char *comp[5] = {0};
    size_t clen[5] = {0}, nc = 0, i, j;
    char tmp[512];
    dv_err e;

    e = add(c, g, n, DEID_N_NAME);
    for (i = 0, j = 0; !e && i <= n && nc < 5; i++) {
        if (i == n || g[i] == '^') {
            comp[nc] = g + j;
            clen[nc++] = i - j;
            j = i + 1;
        }
    }
    for (i = 0; !e && i < nc; i++)
        e = add(c, comp[i], clen[i], DEID_N_NAME);
    if (!e && nc >= 2 && clen[0] + clen[1] + 1 < sizeof(tmp)) {
        memcpy(tmp, comp[1], clen[1]); /* given family */
        tmp[clen[1]] = ' ';
        memcpy(tmp + clen[1] + 1, comp[0], clen[0]);
        e = add(c, tmp, clen[0] + clen[1] + 1, DEID_N_NAME);
        if (!e) { /* written together, as ideographic names are */
            memcpy(tmp, comp[0], clen[0]);
            memcpy(tmp + clen[0], comp[1], clen[1]);
            e = add(c, tmp, clen[0] + clen[1], DEID_N_NAME);
        }
    }
    return e;
}

static dv_err add_pn(collector *c, const char *v, size_t n)
{
    size_t i, j = 0;
    dv_err e = DV_OK;

    for (i = 0; !e && i <= n; i++)
        if (i == n || v[i] == '=' || v[i] == '\\') {
            e = add_pn_group(c, v + j, i - j);
            j = i + 1;
        }
    return e;
}

/* A date as YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD and DD.MM.YYYY. */
static dv_err add_date(collector *c, const char *v, size_t n)
{
    char f[16];
    size_t i;
    dv_err e;

    if (n < 8)
        return DV_OK;
    for (i = 0; i < 8; i++)
        if (v[i] < '0' || v[i] > '9')
            return add(c, v, n, DEID_N_DATE);
    e = add(c, v, 8, DEID_N_DATE);
    memcpy(f, v, 4);
    f[4] = '-';
    memcpy(f + 5, v + 4, 2);
    f[7] = '-';
    memcpy(f + 8, v + 6, 2);
    if (!e)
        e = add(c, f, 10, DEID_N_DATE);
    f[4] = f[7] = '/';
    if (!e)
        e = add(c, f, 10, DEID_N_DATE);
    memcpy(f, v + 6, 2);
    f[2] = '.';
    memcpy(f + 3, v + 4, 2);
    f[5] = '.';
    memcpy(f + 6, v, 4);
    if (!e)
        e = add(c, f, 10, DEID_N_DATE);
    return e;
}

/* Calls fn for every '\\'-separated value of s, trimmed of spaces. */
static dv_err each_value(collector *c, const char *s, size_t n, deid_needle_kind k,
                         dv_err (*fn)(collector *, const char *, size_t, deid_needle_kind))
{
    size_t i, j = 0;
    dv_err e = DV_OK;

    for (i = 0; !e && i <= n; i++)
        if (i == n || s[i] == '\\') {
            size_t a = j, b = i;

            while (a < b && s[a] == ' ')
                a++;
            while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\0'))
                b--;
            if (b > a)
                e = fn(c, s + a, b - a, k);
            j = i + 1;
        }
    return e;
}

static dv_err date_fn(collector *c, const char *s, size_t n, deid_needle_kind k)
{
    (void)k;
    return add_date(c, s, n);
}

static dv_err pn_fn(collector *c, const char *s, size_t n, deid_needle_kind k)
{
    (void)k;
    return add_pn(c, s, n);
}

static deid_act action_of(const collector *c, uint32_t tag)
{
    const deid_prow *r = deid_prow_find(tag);

    return r ? deid_prow_action(r, c->ctx->options) : DEID_ACT_NONE;
}

static dv_err collect_ds(collector *c, const dcm_ds *ds, const dcm_charset *pcs, unsigned depth);

static dv_err collect_elem(collector *c, const dcm_elem *el, const dcm_charset *cs, unsigned depth)
{
    deid_act a = action_of(c, el->tag);
    const char *s;
    uint32_t i;
    dv_err e;

    if (el->vr == DCM_VR_SQ) {
        for (i = 0, e = DV_OK; !e && i < el->nitems; i++)
            e = collect_ds(c, &el->items[i], cs, depth + 1);
        return e;
    }
    if (!el->len || !dcm_vr_is_string(el->vr) || a == DEID_ACT_K)
        return DV_OK;
    dv_buf_reset(&c->text);
    e = deid_elem_text(cs, el, &c->text);
    if (e)
        return e;
    s = (const char *)c->text.p;
    if (el->vr == DCM_VR_PN)
        return each_value(c, s, c->text.len, DEID_N_NAME, pn_fn);
    if ((el->vr == DCM_VR_DA || el->vr == DCM_VR_DT) &&
        (a != DEID_ACT_NONE || el->tag == DCM_TAG(0x0010, 0x0030)))
        return each_value(c, s, c->text.len, DEID_N_DATE, date_fn);
    if (el->vr == DCM_VR_UI && a == DEID_ACT_U)
        return each_value(c, s, c->text.len, DEID_N_UID, add);
    if (in_list(id_tags, sizeof(id_tags) / sizeof(id_tags[0]), el->tag))
        return each_value(c, s, c->text.len, DEID_N_ID, add);
    if (in_list(text_tags, sizeof(text_tags) / sizeof(text_tags[0]), el->tag)) {
        e = add(c, s, c->text.len, DEID_N_TEXT);
        if (!e)
            e = each_value(c, s, c->text.len, DEID_N_TEXT, add);
        return e;
    }
    return DV_OK;
}

static dv_err collect_ds(collector *c, const dcm_ds *ds, const dcm_charset *pcs, unsigned depth)
{
    dcm_charset cs = *pcs;
    uint32_t i;
    dv_err e = DV_OK;

    if (depth > COLLECT_MAX_DEPTH)
        return DV_ELIMIT;
    if (dcm_ds_find(ds, DCM_TAG_SPECIFIC_CHARSET))
        if (dcm_charset_parse(ds, &cs, NULL) !=
            DV_OK) { /* unknown terms: what was understood is used */
        }            /* unknown terms: best effort */
    for (i = 0; !e && i < ds->n; i++)
        e = collect_elem(c, &ds->e[i], &cs, depth);
    return e;
}

/* Values that are never PHI (code strings, manufacturer, model, software, code meanings):
 * an identifier found in them is generic ("CT", "TOSHIBA", "PERFUSION") and not searched.
 * Only attributes the table says nothing about count (ImageType, Manufacturer ...). */
static int generic_source(const dcm_elem *el)
{
    if (deid_prow_find(el->tag)) /* an attribute the table acts on is never generic */
        return 0;
    return el->vr == DCM_VR_CS || el->tag == DCM_TAG(0x0008, 0x0070) ||
           el->tag == DCM_TAG(0x0008, 0x1090) || el->tag == DCM_TAG(0x0018, 0x1020) ||
           el->tag == DCM_TAG(0x0008, 0x0104);
}

static dv_err generic_ds(collector *c, const dcm_ds *ds, dv_buf *corpus, unsigned depth)
{
    uint32_t i, j;
    dv_err e = DV_OK;

    if (depth > COLLECT_MAX_DEPTH)
        return DV_ELIMIT;
    for (i = 0; !e && i < ds->n; i++) {
        const dcm_elem *el = &ds->e[i];

        for (j = 0; !e && el->vr == DCM_VR_SQ && j < el->nitems; j++)
            e = generic_ds(c, &el->items[j], corpus, depth + 1);
        if (e || el->vr == DCM_VR_SQ || !el->len || !generic_source(el) ||
            !dcm_vr_is_string(el->vr))
            continue;
        e = deid_norm(el->val, el->len, corpus);
        if (!e)
            e = dv_buf_adds(corpus, " | ");
    }
    (void)c;
    return e;
}

static dv_err prune_generic(collector *c, const dcm_file *in)
{
    dv_buf corpus;
    dv_err e;

    dv_buf_init(&corpus, (size_t)16 << 20);
    e = generic_ds(c, &in->ds, &corpus, 0);
    if (e == DV_ELIMIT)
        e = DV_OK; /* a huge corpus: prune with what was gathered */
    if (!e)
        deid_needles_prune(c->nd, (const char *)corpus.p, corpus.len);
    dv_buf_release(&corpus);
    return e;
}

dv_err deid_needles_collect(const deid_ctx *ctx, const dcm_file *in, deid_needles **out,
                            dv_errinfo *ei)
{
    collector c;
    dcm_charset cs;
    dv_err e;

    *out = NULL;
    memset(&c, 0, sizeof(c));
    c.ctx = ctx;
    c.nd = calloc(1, sizeof(*c.nd));
    if (!c.nd)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    dv_buf_init(&c.text, (size_t)64 << 20);
    dcm_charset_default(&cs);
    e = collect_ds(&c, &in->ds, &cs, 0);
    if (!e)
        e = collect_ds(&c, &in->meta, &cs, 0);
    if (!e)
        e = prune_generic(&c, in);
    dv_buf_release(&c.text);
    if (e) {
        deid_needles_free(c.nd);
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG,
                       "collecting the identifiers of the input failed");
    }
    *out = c.nd;
    return DV_OK;
}
