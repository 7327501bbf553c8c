/* SPDX-License-Identifier: Apache-2.0 */
/* deid.c - the de-identification context and deid_file(): collect identifiers, redact
 * pixels, convert text, apply the profile, mark the result, run the residual check.
 */
#include <stdlib.h>
#include <string.h>

#include "deid/deid_int.h"

#include "common/banned.h"

void deid_opts_init(deid_opts *o)
{
    memset(o, 0, sizeof(*o));
    deid_pixels_opts_init(&o->pixels);
    o->pixels.mode = DEID_PIXELS_OCR;
}

dv_err deid_ctx_new(const deid_opts *o, const crypto_key *key, deid_ctx **out, dv_errinfo *ei)
{
    deid_ctx *c;
    unsigned both = DEID_OPT(DEID_OPT_RETAIN_FULL_DATES) | DEID_OPT(DEID_OPT_RETAIN_MODIFIED_DATES);

    *out = NULL;
    if ((o->options & both) == both)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "retain-long-full-dates and retain-long-modified-dates exclude each other");
    if (o->options >> DEID_OPT_COUNT)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "unknown option bits");
    c = calloc(1, sizeof(*c));
    if (!c)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    c->key = *key;
    crypto_key_lock(&c->key);
    c->options = o->options;
    c->pixels = o->pixels;
    c->mapping = o->mapping;
    *out = c;
    return DV_OK;
}

void deid_ctx_free(deid_ctx *ctx)
{
    if (!ctx)
        return;
    crypto_key_wipe(&ctx->key);
    free(ctx);
}

typedef struct code {
    int opt; /* -1: always; DEID_OPT_COUNT: pixels on */
    const char *value, *meaning;
} code;

static const code codes[] = {
    {-1, "113100", "Basic Application Confidentiality Profile"},
    {DEID_OPT_COUNT, "113101", "Clean Pixel Data Option"},
    {DEID_OPT_CLEAN_GRAPHICS, "113103", "Clean Graphics Option"},
    {DEID_OPT_CLEAN_STRUCTURED, "113104", "Clean Structured Content Option"},
    {DEID_OPT_CLEAN_DESCRIPTORS, "113105", "Clean Descriptors Option"},
    {DEID_OPT_RETAIN_FULL_DATES, "113106",
     "Retain Longitudinal Temporal Information Full Dates Option"},
    {DEID_OPT_RETAIN_MODIFIED_DATES, "113107",
     "Retain Longitudinal Temporal Information Modified Dates Option"},
    {DEID_OPT_RETAIN_PATIENT_CHARS, "113108", "Retain Patient Characteristics Option"},
    {DEID_OPT_RETAIN_DEVICE, "113109", "Retain Device Identity Option"},
    {DEID_OPT_RETAIN_UIDS, "113110", "Retain UIDs Option"},
    {DEID_OPT_RETAIN_SAFE_PRIVATE, "113111", "Retain Safe Private Option"},
    {DEID_OPT_RETAIN_INSTITUTION, "113112", "Retain Institution Identity Option"},
};

static dv_err add_code(dcm_file *f, dcm_elem *sq, const code *c)
{
    dcm_ds *it;
    dv_err e = dcm_elem_add_item(f, sq, &it);

    if (!e)
        e = dcm_ds_set_str(f, it, DCM_TAG(0x0008, 0x0100), DCM_VR_SH, c->value);
    if (!e)
        e = dcm_ds_set_str(f, it, DCM_TAG(0x0008, 0x0102), DCM_VR_SH, "DCM");
    if (!e)
        e = dcm_ds_set_str(f, it, DCM_TAG(0x0008, 0x0104), DCM_VR_LO, c->meaning);
    return e;
}

/* PatientIdentityRemoved, DeidentificationMethod (+ codes), LongitudinalTemporal... */
static dv_err mark(const deid_ctx *ctx, dcm_file *f)
{
    unsigned o = ctx->options;
    const char *lt = (o & DEID_OPT(DEID_OPT_RETAIN_FULL_DATES))       ? "UNMODIFIED"
                     : (o & DEID_OPT(DEID_OPT_RETAIN_MODIFIED_DATES)) ? "MODIFIED"
                                                                      : "REMOVED";
    dcm_elem *sq;
    size_t i;
    dv_err e;

    e = dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0012, 0x0062), DCM_VR_CS, "YES");
    if (!e)
        e = dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0012, 0x0063), DCM_VR_LO,
                           "dcmvault deid (PS3.15 2025e Basic Profile)");
    if (!e)
        e = dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0028, 0x0303), DCM_VR_CS, lt);
    if (!e) {
        dcm_ds_remove(&f->ds, DCM_TAG(0x0012, 0x0064));
        e = dcm_ds_insert(f, &f->ds, DCM_TAG(0x0012, 0x0064), DCM_VR_SQ, &sq);
    }
    for (i = 0; !e && i < sizeof(codes) / sizeof(codes[0]); i++) {
        int on = codes[i].opt < 0 ||
                 (codes[i].opt == DEID_OPT_COUNT ? ctx->pixels.mode != DEID_PIXELS_OFF
                                                 : (o & DEID_OPT(codes[i].opt)) != 0);
        if (on)
            e = add_code(f, sq, &codes[i]);
    }
    return e;
}

static dv_err pixels_step(const deid_ctx *ctx, dcm_file *f, deid_file_report *rep, dv_errinfo *ei)
{
    deid_pixels_report pr;
    dv_err e;

    if (ctx->pixels.mode == DEID_PIXELS_OFF)
        return DV_OK;
    memset(&pr, 0, sizeof(pr));
    e = deid_pixels_redact(f, &ctx->pixels, &pr, ei);
    if (e)
        return e;
    rep->pixels_done = 1;
    rep->pixel_frames = pr.frames;
    rep->pixel_boxes = pr.nboxes;
    if (pr.ts)
        rep->ts = pr.ts;
    deid_pixels_report_release(&pr);
    return DV_OK;
}

static dv_err residual_step(const deid_ctx *ctx, const deid_needles *nd, dcm_file *f,
                            deid_file_report *rep, dv_errinfo *ei)
{
    dv_buf ocr;
    dv_err e = DV_OK;

    dv_buf_init(&ocr, (size_t)64 << 20);
    if (ctx->pixels.mode == DEID_PIXELS_OCR && dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA))
        e = deid_pixels_ocr_text(f, &ctx->pixels, &ocr, ei);
    if (!e)
        e = deid_residual_check(nd, f, (const char *)ocr.p, ocr.len, rep, ei);
    dv_buf_release(&ocr);
    return e;
}

/* A DICOMDIR names files by paths that often hold patient IDs: it is rebuilt, not cleaned. */
static int is_dicomdir(const dcm_file *f)
{
    char cls[65];

    if (dcm_ds_find(&f->ds, DCM_TAG(0x0004, 0x1220)))
        return 1;
    return dcm_ds_get_str(&f->meta, DCM_TAG(0x0002, 0x0002), cls, sizeof(cls)) > 0 &&
           !strcmp(cls, "1.2.840.10008.1.3.10");
}

/* The transfer syntax to write in: the input's, unless it announces encapsulated pixel data
 * the file does not have (then explicit VR little endian). */
static const dcm_ts *output_ts(const dcm_file *f, const dcm_ts *ts)
{
    const dcm_elem *px = dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA);

    if (!ts)
        return &dcm_ts_explicit_le;
    if (ts->encapsulated && !(px && px->frags))
        return &dcm_ts_explicit_le;
    return ts;
}

dv_err deid_file(const deid_ctx *ctx, dcm_file *f, deid_file_report *rep, dv_errinfo *ei)
{
    deid_needles *nd = NULL;
    dv_err e;

    memset(rep, 0, sizeof(*rep));
    rep->ts = f->ts ? f->ts : &dcm_ts_explicit_le;
    if (is_dicomdir(f))
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DCM_TAG(0x0004, 0x1220),
                       "a DICOMDIR is not de-identified: build a new one from the output");
    e = deid_needles_collect(ctx, f, &nd, ei);
    if (!e)
        e = pixels_step(ctx, f, rep, ei);
    if (!e)
        e = deid_to_utf8(f, ei);
    if (!e)
        e = deid_apply(ctx, f, nd, rep, ei);
    if (!e && mark(ctx, f) != DV_OK)
        e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DCM_TAG(0x0012, 0x0062),
                    "adding the de-identification attributes failed");
    if (!e)
        e = residual_step(ctx, nd, f, rep, ei);
    rep->ts = output_ts(f, rep->ts);
    deid_needles_free(nd);
    return e;
}
