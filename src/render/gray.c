/* SPDX-License-Identifier: Apache-2.0 */
/* gray.c - grayscale pipeline: stored value -> Modality LUT -> VOI LUT -> 8-bit (PS3.3 C.11).
 *
 * The stages are pure functions of one value, described by a `modality` and a `voi` record
 * that are read from the dataset once per frame.  Values between stages are doubles (modality
 * units); the last stage rounds to the nearest of 0..255 and never converts a NaN or an
 * out-of-range double to an integer.
 */
#include <math.h>
#include <string.h>

#include "render/render_int.h"

#include "common/banned.h"

#define TAG_WINDOW_CENTER     DCM_TAG(0x0028, 0x1050)
#define TAG_WINDOW_WIDTH      DCM_TAG(0x0028, 0x1051)
#define TAG_RESCALE_INTERCEPT DCM_TAG(0x0028, 0x1052)
#define TAG_RESCALE_SLOPE     DCM_TAG(0x0028, 0x1053)
#define TAG_VOI_LUT_FUNCTION  DCM_TAG(0x0028, 0x1056)
#define TAG_MODALITY_LUT_SEQ  DCM_TAG(0x0028, 0x3000)
#define TAG_LUT_DESCRIPTOR    DCM_TAG(0x0028, 0x3002)
#define TAG_LUT_DATA          DCM_TAG(0x0028, 0x3006)
#define TAG_VOI_LUT_SEQ       DCM_TAG(0x0028, 0x3010)
#define TAG_FRAME_VOI_LUT     DCM_TAG(0x0028, 0x9132)
#define TAG_PIXEL_VALUE_XFM   DCM_TAG(0x0028, 0x9145)
#define TAG_SHARED_FG         DCM_TAG(0x5200, 0x9229)
#define TAG_PER_FRAME_FG      DCM_TAG(0x5200, 0x9230)

typedef struct modality {
    int use_lut;
    double slope, intercept;
    render_lut lut;
} modality;

typedef enum voi_kind { VOI_WINDOW, VOI_LUT, VOI_MINMAX } voi_kind;

typedef struct voi {
    voi_kind kind;
    render_voi_fn fn;
    double c, w;
    render_lut lut;
} voi;

/* ---- where the attributes are ------------------------------------------------------------ */

/* First item of sequence `macro` inside item idx of the functional group sequence fg. */
static const dcm_ds *macro_item(const dcm_ds *ds, uint32_t fg, uint32_t idx, uint32_t macro)
{
    const dcm_elem *g = dcm_ds_find(ds, fg);
    const dcm_elem *m;

    if (!g || !g->items || idx >= g->nitems)
        return NULL;
    m = dcm_ds_find(&g->items[idx], macro);
    if (!m || !m->items || m->nitems == 0)
        return NULL;
    return &m->items[0];
}

/* The dataset that holds attr for this frame: per-frame functional group, shared functional
 * group, then the top level.  NULL when none has it. */
static const dcm_ds *attr_source(const dcm_ds *ds, uint32_t frame, uint32_t macro, uint32_t attr)
{
    const dcm_ds *cand[3];
    unsigned i;

    cand[0] = macro_item(ds, TAG_PER_FRAME_FG, frame, macro);
    cand[1] = macro_item(ds, TAG_SHARED_FG, 0, macro);
    cand[2] = ds;
    for (i = 0; i < 3; i++)
        if (cand[i] && dcm_ds_find(cand[i], attr))
            return cand[i];
    return NULL;
}

/* Reads value 0 of a DS/FD attribute; *v keeps its default when the element is empty. */
static dv_err get_number(const dcm_ds *ds, uint32_t tag, double *v, dv_errinfo *ei)
{
    double x;
    const dcm_elem *el = dcm_ds_find(ds, tag);
    dv_err e;

    if (!el || el->len == 0)
        return DV_OK;
    e = dcm_ds_get_double(ds, tag, 0, &x);
    if (e == DV_ENOTFOUND)
        return DV_OK;
    if (e != DV_OK || !isfinite(x))
        return dv_fail(ei, DV_EMALFORMED, el->offset, tag, "value is not a finite number");
    *v = x;
    return DV_OK;
}

/* ---- modality LUT ------------------------------------------------------------------------ */

static dv_err modality_read(const dcm_ds *ds, uint32_t frame, int pixel_signed, modality *m,
                            dv_errinfo *ei)
{
    const dcm_elem *seq = dcm_ds_find(ds, TAG_MODALITY_LUT_SEQ);
    const dcm_ds *src;
    dv_err e;

    memset(m, 0, sizeof(*m));
    m->slope = 1.0;
    if (seq && seq->items && seq->nitems > 0) {
        e = render_lut_read(&seq->items[0], TAG_LUT_DESCRIPTOR, TAG_LUT_DATA, pixel_signed, &m->lut,
                            ei);
        if (e == DV_OK)
            m->use_lut = 1;
        if (e != DV_ENOTFOUND)
            return e;
    }
    src = attr_source(ds, frame, TAG_PIXEL_VALUE_XFM, TAG_RESCALE_INTERCEPT);
    if (!src)
        src = attr_source(ds, frame, TAG_PIXEL_VALUE_XFM, TAG_RESCALE_SLOPE);
    if (!src)
        return DV_OK;
    e = get_number(src, TAG_RESCALE_SLOPE, &m->slope, ei);
    if (e != DV_OK)
        return e;
    return get_number(src, TAG_RESCALE_INTERCEPT, &m->intercept, ei);
}

static double modality_apply(const modality *m, int64_t v)
{
    if (m->use_lut)
        return (double)render_lut_at(&m->lut, v);
    return (double)v * m->slope + m->intercept;
}

/* ---- VOI --------------------------------------------------------------------------------- */

static int window_ok(render_voi_fn fn, double c, double w)
{
    if (!isfinite(c) || !isfinite(w))
        return 0;
    return fn == RENDER_VOI_LINEAR ? w >= 1.0 : w > 0.0;
}

/* VOILUTFunction of src; LINEAR when absent or unknown (PS3.3 C.11.2.1.3). */
static render_voi_fn voi_function(const dcm_ds *src)
{
    char s[20];

    if (dcm_ds_get_str(src, TAG_VOI_LUT_FUNCTION, s, sizeof(s)) < 0)
        return RENDER_VOI_LINEAR;
    if (!strcmp(s, "LINEAR_EXACT"))
        return RENDER_VOI_LINEAR_EXACT;
    if (!strcmp(s, "SIGMOID"))
        return RENDER_VOI_SIGMOID;
    return RENDER_VOI_LINEAR;
}

/* The file's first window, when it is usable.  Returns 1 and fills v, else 0. */
static int file_window(const dcm_ds *ds, uint32_t frame, const render_opts *o, voi *v)
{
    const dcm_ds *src = attr_source(ds, frame, TAG_FRAME_VOI_LUT, TAG_WINDOW_CENTER);
    double c;
    double w;

    if (!src || !dcm_ds_find(src, TAG_WINDOW_WIDTH))
        return 0;
    if (dcm_ds_get_double(src, TAG_WINDOW_CENTER, 0, &c) != DV_OK ||
        dcm_ds_get_double(src, TAG_WINDOW_WIDTH, 0, &w) != DV_OK)
        return 0;
    v->fn = o->voi != RENDER_VOI_AUTO ? o->voi : voi_function(src);
    if (!window_ok(v->fn, c, w))
        return 0;
    v->kind = VOI_WINDOW;
    v->c = c;
    v->w = w;
    return 1;
}

static dv_err voi_read(const dcm_ds *ds, uint32_t frame, const render_opts *o, int lut_signed,
                       voi *v, dv_errinfo *ei)
{
    const dcm_ds *src;
    const dcm_elem *seq;

    memset(v, 0, sizeof(*v));
    if (o->has_window) {
        v->fn = o->voi == RENDER_VOI_AUTO ? RENDER_VOI_LINEAR : o->voi;
        if (!window_ok(v->fn, o->center, o->width))
            return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                           "window width must be >= 1 (LINEAR) or > 0 (other functions)");
        v->kind = VOI_WINDOW;
        v->c = o->center;
        v->w = o->width;
        return DV_OK;
    }
    if (file_window(ds, frame, o, v))
        return DV_OK;
    src = attr_source(ds, frame, TAG_FRAME_VOI_LUT, TAG_VOI_LUT_SEQ);
    seq = src ? dcm_ds_find(src, TAG_VOI_LUT_SEQ) : NULL;
    if (seq && seq->items && seq->nitems > 0) {
        dv_err e = render_lut_read(&seq->items[0], TAG_LUT_DESCRIPTOR, TAG_LUT_DATA, lut_signed,
                                   &v->lut, ei);
        if (e == DV_OK)
            v->kind = VOI_LUT;
        if (e != DV_ENOTFOUND)
            return e;
    }
    v->kind = VOI_MINMAX;
    v->fn = RENDER_VOI_LINEAR;
    return DV_OK;
}

/* Window functions of PS3.3 C.11.2.1.2.1 and C.11.2.1.3 with ymin 0, ymax 255. */
static double window_apply(render_voi_fn fn, double c, double w, double x)
{
    switch (fn) {
    case RENDER_VOI_AUTO:
    case RENDER_VOI_LINEAR:
        if (x <= c - 0.5 - (w - 1.0) / 2.0)
            return 0.0;
        if (x > c - 0.5 + (w - 1.0) / 2.0)
            return 255.0;
        return ((x - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0;
    case RENDER_VOI_LINEAR_EXACT:
        if (x <= c - w / 2.0)
            return 0.0;
        if (x > c + w / 2.0)
            return 255.0;
        return ((x - c) / w + 0.5) * 255.0;
    case RENDER_VOI_SIGMOID:
        return 255.0 / (1.0 + exp(-4.0 * (x - c) / w));
    }
    return 0.0;
}

/* Nearest of 0..255; NaN gives 0. */
static uint8_t to_byte(double y)
{
    if (!(y >= 0.0))
        return 0;
    if (y >= 255.0)
        return 255;
    return (uint8_t)(y + 0.5);
}

/* Nearest integer, clamped far outside any LUT's input range; NaN gives 0. */
static int64_t to_i64(double x)
{
    if (!(x == x))
        return 0;
    if (x < -4294967296.0)
        return INT64_C(-4294967296);
    if (x > 4294967296.0)
        return INT64_C(4294967296);
    return (int64_t)floor(x + 0.5);
}

static uint8_t voi_apply(const voi *v, double x)
{
    if (v->kind == VOI_LUT)
        return render_scale8(render_lut_at(&v->lut, to_i64(x)), v->lut.maxval);
    return to_byte(window_apply(v->fn, v->c, v->w, x));
}

/* Turns VOI_MINMAX into the linear window that maps the frame's smallest modality value to 0
 * and its largest to 255. */
static void voi_minmax(voi *v, const modality *m, const render_src *src)
{
    double lo = INFINITY;
    double hi = -INFINITY;
    size_t i;

    for (i = 0; i < src->n; i++) {
        double x = modality_apply(m, render_sample(src, i));
        if (x < lo)
            lo = x;
        if (x > hi)
            hi = x;
    }
    if (!(lo <= hi))
        lo = hi = 0.0;
    v->kind = VOI_WINDOW;
    v->fn = RENDER_VOI_LINEAR;
    v->c = (lo + hi + 1.0) / 2.0;
    v->w = hi - lo + 1.0;
}

dv_err render_gray(const dcm_ds *ds, uint32_t frame, const render_src *src, int monochrome1,
                   const render_opts *o, uint8_t *out, dv_errinfo *ei)
{
    modality m;
    voi v;
    size_t i;
    dv_err e = modality_read(ds, frame, src->is_signed, &m, ei);

    if (e != DV_OK)
        return e;
    e = voi_read(ds, frame, o, src->is_signed || (!m.use_lut && m.intercept < 0.0), &v, ei);
    if (e != DV_OK)
        return e;
    if (v.kind == VOI_MINMAX)
        voi_minmax(&v, &m, src);
    for (i = 0; i < src->n; i++) {
        uint8_t y = voi_apply(&v, modality_apply(&m, render_sample(src, i)));
        out[i] = monochrome1 ? (uint8_t)(255u - y) : y;
    }
    return DV_OK;
}
