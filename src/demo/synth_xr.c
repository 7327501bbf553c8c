/* SPDX-License-Identifier: Apache-2.0 */
/* synth_xr.c - the synthetic PA chest radiograph (CR or DX For Presentation) with burned-in
 * names, ID and date.
 *
 * The anatomy is painted in display brightness (0 black .. 1 white, MONOCHROME2 sense) from
 * smooth shapes in normalized coordinates u (patient right -1 .. left +1 on the image, PA
 * view) and v (top -1 .. bottom +1): exposed background 0.04, soft tissue ~0.5, lungs ~0.2,
 * mediastinum and heart ~0.6, spine, ribs and clavicles brighter, abdomen ~0.66; then
 * Gaussian noise, then the texts (pure white 1.0 or black 0.0, outside the anatomy's range),
 * then quantization to BitsStored (inverted for MONOCHROME1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/synth_int.h"

#include "common/banned.h"

#define TAG(g, e) DCM_TAG(0x##g, 0x##e)

void synth_xr_opts_init(synth_xr_opts *o)
{
    static const synth_text def[] = {
        {SYNTH_TEXT_NAME_LATIN, NULL, 0.03, 0.03, 0, 0, 0, SYNTH_FONT_AUTO},
        {SYNTH_TEXT_NAME_CJK, NULL, 0.03, 0.075, 0, 0, 0, SYNTH_FONT_AUTO},
        {SYNTH_TEXT_PATIENT_ID, NULL, 0.78, 0.03, 0, 0, 0, SYNTH_FONT_AUTO},
        {SYNTH_TEXT_STUDY_DATE, NULL, 0.03, 0.95, 0, 1, 0, SYNTH_FONT_AUTO},
    };

    memset(o, 0, sizeof(*o));
    o->modality = SYNTH_XR_CR;
    o->rows = o->cols = 2048;
    o->bits_stored = 12;
    o->noise = 0.008;
    o->instance = 1;
    o->ntexts = sizeof(def) / sizeof(def[0]);
    memcpy(o->texts, def, sizeof(def));
}

void synth_xr_opts_vary_texts(synth_xr_opts *o, uint64_t seed)
{
    synth_rng r;
    uint32_t i, n = o->ntexts > SYNTH_MAX_TEXTS ? SYNTH_MAX_TEXTS : o->ntexts;
    uint32_t rows = o->rows ? o->rows : 2048;

    synth_rng_init(&r, seed, synth_hash_str("vary-texts"));
    for (i = 0; i < n; i++) {
        synth_text *t = &o->texts[i];
        uint32_t lo = rows / 80 > 6 ? rows / 80 : 6, hi = rows / 20 > lo ? rows / 20 : lo;
        double band = 1.0 / n;

        /* the box of a text is about 1.2 px high (+ backing margin): keep it in its band */
        while (hi > lo && (double)hi * 1.5 > band * rows)
            hi--;
        t->px = lo + synth_rng_below(&r, hi - lo + 1);
        t->x = synth_rng_unit(&r) * 0.6;
        t->y = band * i;
        t->dark = (int)synth_rng_below(&r, 2);
        t->backing = synth_rng_below(&r, 3) == 0;
    }
}

/* ---- anatomy ------------------------------------------------------------------------------ */

/* Soft signed distance to an ellipse boundary (negative inside), in normalized units. */
static float ellipse_d(float u, float v, float cu, float cv, float ru, float rv)
{
    float a = (u - cu) / ru, b = (v - cv) / rv;

    return (sqrtf(a * a + b * b) - 1.0f) * (ru < rv ? ru : rv);
}

/* Bone profile across a band of half-thickness t at distance d from its centre line. */
static float bone(float d, float t)
{
    float x = d / t;

    if (x <= -1.0f || x >= 1.0f)
        return 0.0f;
    return 0.7f + 0.3f * x * x; /* brighter cortex at the edges */
}

static float ribs(float u, float v)
{
    float x = fabsf(u), best = 0.0f;
    int i, k;

    if (x < 0.07f || x > 0.86f)
        return 0.0f;
    /* posterior ribs: y = y_i - 0.25 x + 0.9 x^2, y_i = -0.74 + 0.105 i, i = 0..9 */
    k = (int)floorf((v + 0.25f * x - 0.9f * x * x + 0.74f) / 0.105f + 0.5f);
    for (i = k - 1; i <= k + 1; i++) {
        float yc, t, b;

        if (i < 0 || i > 9)
            continue;
        yc = -0.74f + 0.105f * (float)i - 0.25f * x + 0.9f * x * x;
        t = 0.022f + 0.002f * (float)i;
        b = bone(v - yc, t) * synth_edge(0.08f - x, 0.015f) * synth_edge(x - 0.84f, 0.02f);
        best = b > best ? b : best;
    }
    return best;
}

static float clavicle(float u, float v)
{
    float x = fabsf(u), yc = -0.66f - 0.2f * (x - 0.08f);

    if (x < 0.06f || x > 0.62f)
        return 0.0f;
    return bone(v - yc, 0.028f);
}

static float spine(float u, float v)
{
    float w = synth_edge(fabsf(u) - 0.065f, 0.01f);
    float seg = 0.5f + 0.5f * cosf(v * 3.14159265f * 11.0f); /* vertebrae and disc spaces */

    return w * (0.7f + 0.3f * seg);
}

static float anatomy(float u, float v)
{
    float body = synth_edge(
        sqrtf(sqrtf(powf(u / 0.9f, 4.0f) + powf((v - 0.2f) / 1.25f, 4.0f))) - 1.0f, 0.03f);
    float neck = synth_edge(fabsf(u) - 0.2f, 0.03f) * synth_edge(v + 0.55f, 0.05f);
    float lung = synth_edge(ellipse_d(u, v, -0.39f, -0.06f, 0.26f, 0.6f), 0.03f) +
                 synth_edge(ellipse_d(u, v, 0.38f, -0.04f, 0.24f, 0.58f), 0.03f);
    float heart = synth_edge(ellipse_d(u, v, 0.1f, 0.25f, 0.27f, 0.22f), 0.03f);
    float medi = synth_edge(fabsf(u) - 0.12f, 0.03f) * synth_edge(v - 0.45f, 0.05f);
    float abdomen = synth_edge(0.5f - v + 0.08f * u * u, 0.06f);
    float tissue, b;

    body = body > neck ? body : neck;
    tissue = 0.5f - 0.06f * v;
    b = 0.04f + (tissue - 0.04f) * body;
    lung = lung > 1.0f ? 1.0f : lung;
    lung *= 1.0f - (heart > medi ? heart : medi);
    lung *= 1.0f - abdomen;
    b -= 0.3f * lung *
         (1.0f - 0.25f * expf(-((fabsf(u) - 0.18f) * (fabsf(u) - 0.18f) + v * v * 0.5f) / 0.02f));
    b += 0.12f * (heart > medi ? heart : medi) * body;
    b += 0.16f * abdomen * body;
    b += 0.12f * spine(u, v) * body;
    b += 0.09f * ribs(u, v) * body * (1.0f - 0.6f * abdomen);
    b += 0.15f * clavicle(u, v) * body;
    return b;
}

static void paint(synth_canvas *c, uint64_t seed, double noise)
{
    float s = (float)(c->rows < c->cols ? c->rows : c->cols) / 2.0f;
    synth_rng r;
    uint32_t y, x;

    synth_rng_init(&r, seed, synth_hash_str("xr-noise"));
    for (y = 0; y < c->rows; y++) {
        float v = ((float)y + 0.5f - (float)c->rows / 2.0f) / s;

        for (x = 0; x < c->cols; x++) {
            float u = ((float)x + 0.5f - (float)c->cols / 2.0f) / s;
            float b = anatomy(u, v) + (float)(noise * synth_rng_normal(&r));

            c->v[(size_t)y * c->cols + x] = b < 0.0f ? 0.0f : b > 1.0f ? 1.0f : b;
        }
    }
}

/* ---- text --------------------------------------------------------------------------------- */

/* "YYYYMMDD" -> "YYYY-MM-DD" */
static void iso_date(const char *d, char *out, size_t cap)
{
    (void)snprintf(out, cap, "%.4s-%.2s-%.2s", d, d + 4, d + 6);
}

static const char *text_of(const synth_study *st, const synth_text *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case SYNTH_TEXT_FREE:
        return t->utf8 ? t->utf8 : "";
    case SYNTH_TEXT_NAME_LATIN:
        (void)snprintf(buf, cap, "%s %s", st->family, st->given);
        return buf;
    case SYNTH_TEXT_NAME_CJK:
        (void)snprintf(buf, cap, "%s%s", st->family_cjk, st->given_cjk);
        return buf;
    case SYNTH_TEXT_PATIENT_ID:
        return st->patient_id;
    case SYNTH_TEXT_BIRTH_DATE:
        iso_date(st->birth_date, buf, cap);
        return buf;
    case SYNTH_TEXT_STUDY_DATE:
        iso_date(st->study_date, buf, cap);
        return buf;
    }
    return "";
}

static dv_err draw_texts(const synth_study *st, const synth_xr_opts *o, synth_canvas *c,
                         synth_xr *out, dv_errinfo *ei)
{
    synth_fonts *fo = NULL;
    uint32_t i;
    dv_err e;

    if (!o->ntexts)
        return DV_OK;
    e = synth_fonts_open(o->latin_ttf, o->cjk_ttf, &fo, ei);
    if (e)
        return e;
    for (i = 0; i < o->ntexts && !e; i++) {
        char buf[128];
        const char *s = text_of(st, &o->texts[i], buf, sizeof(buf));

        e = synth_draw_text(fo, c, &o->texts[i], s, &out->boxes[i], ei);
        out->nboxes += !e;
    }
    synth_fonts_close(fo);
    return e;
}

/* ---- dataset ------------------------------------------------------------------------------ */

static dv_err set_code_item(dcm_file *f, uint32_t sq_tag, const char *value, const char *scheme,
                            const char *meaning, dv_errinfo *ei)
{
    dcm_elem *sq;
    dcm_ds *item;
    dv_err e;

    e = dcm_ds_insert(f, &f->ds, sq_tag, DCM_VR_SQ, &sq);
    if (!e)
        e = dcm_elem_add_item(f, sq, &item);
    if (!e)
        e = dcm_ds_set_str(f, item, TAG(0008, 0100), DCM_VR_SH, value);
    if (!e)
        e = dcm_ds_set_str(f, item, TAG(0008, 0102), DCM_VR_SH, scheme);
    if (!e)
        e = dcm_ds_set_str(f, item, TAG(0008, 0104), DCM_VR_LO, meaning);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, sq_tag, "cannot set a code sequence");
    return DV_OK;
}

/* DX Series, DX Anatomy Imaged, DX Image, DX Detector, DX Positioning, Acquisition Context
 * (PS3.3 A.26). */
static dv_err set_dx(dcm_file *f, const synth_xr_opts *o, dv_errinfo *ei)
{
    const synth_attr a[] = {
        {TAG(0008, 0068), DCM_VR_CS, "FOR PRESENTATION"},
        {TAG(0018, 1508), DCM_VR_CS, "COLUMN"},
        {TAG(0018, 7004), DCM_VR_CS, "SCINTILLATOR"},
        {TAG(0020, 0062), DCM_VR_CS, "U"},
        {TAG(0028, 1040), DCM_VR_CS, "LOG"},
        {TAG(0028, 1052), DCM_VR_DS, "0"},
        {TAG(0028, 1053), DCM_VR_DS, "1"},
        {TAG(0028, 1054), DCM_VR_LO, "US"},
        {TAG(2050, 0020), DCM_VR_CS, o->monochrome1 ? "INVERSE" : "IDENTITY"},
    };
    uint8_t sign[2];
    dcm_elem *ctx;
    dv_err e;

    /* +1: lower values mean less beam intensity (MONOCHROME1: bone is dark, low) */
    dv_put_le16(sign, o->monochrome1 ? 1 : 0xFFFF);
    e = synth_set_attrs(f, a, sizeof(a) / sizeof(a[0]), ei);
    if (e)
        return e;
    e = dcm_ds_set(f, &f->ds, TAG(0028, 1041), DCM_VR_SS, sign, 2);
    if (!e)
        e = dcm_ds_insert(f, &f->ds, TAG(0040, 0555), DCM_VR_SQ, &ctx);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "cannot set a DX attribute");
    e = set_code_item(f, TAG(0054, 0220), "399348003", "SCT", "postero-anterior", ei);
    if (e)
        return e;
    return set_code_item(f, TAG(0008, 2218), "51185008", "SCT", "Thorax", ei);
}

static dv_err set_xr_attrs(dcm_file *f, const synth_study *st, const synth_xr_opts *o,
                           dv_errinfo *ei)
{
    char sop[65], series[65], inst[12], spacing[40], center[24], width[24];
    uint32_t maxval = (1u << o->bits_stored) - 1;
    double mid = o->monochrome1 ? 0.58 : 0.42;
    const synth_attr a[] = {
        {TAG(0008, 0008), DCM_VR_CS, "ORIGINAL\\PRIMARY"},
        {TAG(0008, 0016), DCM_VR_UI,
         o->modality == SYNTH_XR_DX ? SYNTH_DX_SOP_CLASS : SYNTH_CR_SOP_CLASS},
        {TAG(0008, 0018), DCM_VR_UI, sop},
        {TAG(0008, 0021), DCM_VR_DA, st->study_date},
        {TAG(0008, 0023), DCM_VR_DA, st->study_date},
        {TAG(0008, 0031), DCM_VR_TM, st->study_time},
        {TAG(0008, 0033), DCM_VR_TM, st->study_time},
        {TAG(0008, 0060), DCM_VR_CS, o->modality == SYNTH_XR_DX ? "DX" : "CR"},
        {TAG(0008, 103E), DCM_VR_LO, "CHEST PA"},
        {TAG(0018, 0015), DCM_VR_CS, "CHEST"},
        {TAG(0018, 0060), DCM_VR_DS, "120"},
        {TAG(0018, 1164), DCM_VR_DS, spacing},
        {TAG(0018, 5101), DCM_VR_CS, "PA"},
        {TAG(0020, 000E), DCM_VR_UI, series},
        {TAG(0020, 0011), DCM_VR_IS, "1"},
        {TAG(0020, 0013), DCM_VR_IS, inst},
        {TAG(0020, 0020), DCM_VR_CS, "L\\F"},
        {TAG(0028, 0301), DCM_VR_CS, "YES"},
        {TAG(0028, 1050), DCM_VR_DS, center},
        {TAG(0028, 1051), DCM_VR_DS, width},
        {TAG(0028, 2110), DCM_VR_CS, "00"},
    };
    dv_err e;

    synth_uid(st->seed, "xr-instance", o->instance, sop);
    synth_uid(st->seed, "xr-series", 1, series);
    (void)snprintf(inst, sizeof(inst), "%u", o->instance);
    (void)snprintf(spacing, sizeof(spacing), "%.4f\\%.4f", 430.0 / o->rows, 430.0 / o->cols);
    (void)snprintf(center, sizeof(center), "%u", (unsigned)(mid * maxval + 0.5));
    (void)snprintf(width, sizeof(width), "%u", (unsigned)(0.85 * maxval + 0.5));
    e = synth_set_common(f, st, ei);
    if (!e)
        e = synth_set_attrs(f, a, sizeof(a) / sizeof(a[0]), ei);
    if (e)
        return e;
    return o->modality == SYNTH_XR_DX ? set_dx(f, o, ei) : DV_OK;
}

static dv_err check_opts(const synth_xr_opts *o, dv_errinfo *ei)
{
    if (o->rows < 64 || o->rows > 8192 || o->cols < 64 || o->cols > 8192)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "radiograph size out of 64..8192");
    if (o->bits_stored != 12 && o->bits_stored != 14)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "bits stored must be 12 or 14");
    if (!(o->noise >= 0 && o->noise <= 0.2) || !o->instance)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "noise or instance out of range");
    if (o->ntexts > SYNTH_MAX_TEXTS)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "more than %u texts",
                       SYNTH_MAX_TEXTS);
    if (o->modality != SYNTH_XR_CR && o->modality != SYNTH_XR_DX)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "unknown radiograph modality");
    return DV_OK;
}

/* Canvas -> stored values: brightness * maxval, inverted for MONOCHROME1. */
static uint16_t *quantize(const synth_canvas *c, const synth_xr_opts *o)
{
    size_t n = (size_t)c->rows * c->cols, i;
    uint16_t *pix = malloc(n * sizeof(*pix));
    float maxval = (float)((1u << o->bits_stored) - 1);

    if (!pix)
        return NULL;
    for (i = 0; i < n; i++) {
        uint16_t s = (uint16_t)(c->v[i] * maxval + 0.5f);

        pix[i] = o->monochrome1 ? (uint16_t)((uint16_t)maxval - s) : s;
    }
    return pix;
}

static dv_err build(const synth_study *st, const synth_xr_opts *o, synth_canvas *c, synth_xr *out,
                    dv_errinfo *ei)
{
    uint16_t *pix;
    dv_err e;

    paint(c, st->seed ^ synth_mix(o->instance, o->modality), o->noise);
    e = draw_texts(st, o, c, out, ei);
    if (e)
        return e;
    e = dcm_file_new(&out->file);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    e = set_xr_attrs(out->file, st, o, ei);
    if (e)
        return e;
    pix = quantize(c, o);
    if (!pix)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    e = synth_set_pixels(out->file, c->rows, c->cols, o->bits_stored, 0,
                         o->monochrome1 ? "MONOCHROME1" : "MONOCHROME2", pix, ei);
    free(pix);
    return e;
}

dv_err synth_xr_make(const synth_study *st, const synth_xr_opts *o, synth_xr *out, dv_errinfo *ei)
{
    synth_xr_opts def;
    synth_canvas c;
    dv_err e;

    memset(out, 0, sizeof(*out));
    dv_errinfo_clear(ei);
    if (!o) {
        synth_xr_opts_init(&def);
        o = &def;
    }
    e = check_opts(o, ei);
    if (e)
        return e;
    c.rows = o->rows;
    c.cols = o->cols;
    c.v = malloc((size_t)c.rows * c.cols * sizeof(float));
    if (!c.v)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    e = build(st, o, &c, out, ei);
    free(c.v);
    if (e)
        synth_xr_release(out);
    return e;
}

void synth_xr_release(synth_xr *x)
{
    if (!x)
        return;
    dcm_file_free(x->file);
    memset(x, 0, sizeof(*x));
}
