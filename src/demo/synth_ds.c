/* SPDX-License-Identifier: Apache-2.0 */
/* synth_ds.c - dataset modules shared by the synthetic IODs, file writing, whole studies.
 *
 * The common modules (PS3.3): SOP Common's Specific Character Set, Patient, General Study,
 * Patient Study and General Equipment.  Image Pixel is written for one sample of 16 bits
 * allocated.  Values are set from our own fixed strings and the synth_study, never from input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/synth_int.h"

#include "common/banned.h"

dv_err synth_set_str(dcm_file *f, uint32_t tag, dcm_vr vr, const char *s, dv_errinfo *ei)
{
    dv_err e = dcm_ds_set_str(f, &f->ds, tag, vr, s ? s : "");

    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, tag, "cannot set a synthetic element");
    return DV_OK;
}

dv_err synth_set_attrs(dcm_file *f, const synth_attr *a, size_t n, dv_errinfo *ei)
{
    size_t i;
    dv_err e;

    for (i = 0; i < n; i++) {
        e = synth_set_str(f, a[i].tag, a[i].vr, a[i].val, ei);
        if (e)
            return e;
    }
    return DV_OK;
}

dv_err synth_set_us(dcm_file *f, uint32_t tag, uint16_t v, dv_errinfo *ei)
{
    uint8_t b[2];
    dv_err e;

    dv_put_le16(b, v);
    e = dcm_ds_set(f, &f->ds, tag, DCM_VR_US, b, 2);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, tag, "cannot set a synthetic element");
    return DV_OK;
}

/* Age at the study as an AS value ("045Y"). */
static void age_string(const synth_study *st, char out[5])
{
    unsigned by = 0, bmd = 0, sy = 0, smd = 0, i, age;

    for (i = 0; i < 4; i++) {
        by = by * 10 + (unsigned)(st->birth_date[i] - '0');
        sy = sy * 10 + (unsigned)(st->study_date[i] - '0');
    }
    for (i = 4; i < 8; i++) {
        bmd = bmd * 10 + (unsigned)(st->birth_date[i] - '0');
        smd = smd * 10 + (unsigned)(st->study_date[i] - '0');
    }
    age = sy > by ? sy - by - (smd < bmd) : 0;
    (void)snprintf(out, 5, "%03uY", age % 1000u);
}

dv_err synth_set_common(dcm_file *f, const synth_study *st, dv_errinfo *ei)
{
    char age[5];
    const synth_attr a[] = {
        {DCM_TAG_SPECIFIC_CHARSET, DCM_VR_CS, "ISO_IR 192"},
        {DCM_TAG(0x0008, 0x0020), DCM_VR_DA, st->study_date},
        {DCM_TAG(0x0008, 0x0030), DCM_VR_TM, st->study_time},
        {DCM_TAG(0x0008, 0x0050), DCM_VR_SH, st->accession},
        {DCM_TAG(0x0008, 0x0070), DCM_VR_LO, "dcmvault synthetic"},
        {DCM_TAG(0x0008, 0x0080), DCM_VR_LO, "Synthetic Demo Hospital"},
        {DCM_TAG(0x0008, 0x0090), DCM_VR_PN, st->referring},
        {DCM_TAG(0x0008, 0x1010), DCM_VR_SH, "SYNTH01"},
        {DCM_TAG(0x0008, 0x1030), DCM_VR_LO, "SYNTHETIC CHEST"},
        {DCM_TAG(0x0008, 0x1090), DCM_VR_LO, "synth"},
        {DCM_TAG(0x0010, 0x0010), DCM_VR_PN, st->patient_name},
        {DCM_TAG(0x0010, 0x0020), DCM_VR_LO, st->patient_id},
        {DCM_TAG(0x0010, 0x0030), DCM_VR_DA, st->birth_date},
        {DCM_TAG(0x0010, 0x0040), DCM_VR_CS, st->sex},
        {DCM_TAG(0x0010, 0x1010), DCM_VR_AS, age},
        {DCM_TAG(0x0018, 0x1020), DCM_VR_LO, "dcmvault 0.1"},
        {DCM_TAG(0x0020, 0x000D), DCM_VR_UI, st->study_uid},
        {DCM_TAG(0x0020, 0x0010), DCM_VR_SH, st->study_id},
    };

    age_string(st, age);
    return synth_set_attrs(f, a, sizeof(a) / sizeof(a[0]), ei);
}

dv_err synth_set_pixels(dcm_file *f, uint32_t rows, uint32_t cols, uint32_t bits_stored,
                        int is_signed, const char *photometric, const uint16_t *pix, dv_errinfo *ei)
{
    size_t n = (size_t)rows * cols, i;
    uint8_t *val;
    dcm_elem *el;
    dv_err e;

    if (n > 0x7FFFFFFFu / 2 || rows > 0xFFFF || cols > 0xFFFF)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "image too large");
    e = synth_set_us(f, DCM_TAG(0x0028, 0x0002), 1, ei);
    if (!e)
        e = synth_set_str(f, DCM_TAG(0x0028, 0x0004), DCM_VR_CS, photometric, ei);
    if (!e)
        e = synth_set_us(f, DCM_TAG(0x0028, 0x0010), (uint16_t)rows, ei);
    if (!e)
        e = synth_set_us(f, DCM_TAG(0x0028, 0x0011), (uint16_t)cols, ei);
    if (!e)
        e = synth_set_us(f, DCM_TAG(0x0028, 0x0100), 16, ei);
    if (!e)
        e = synth_set_us(f, DCM_TAG(0x0028, 0x0101), (uint16_t)bits_stored, ei);
    if (!e)
        e = synth_set_us(f, DCM_TAG(0x0028, 0x0102), (uint16_t)(bits_stored - 1), ei);
    if (!e)
        e = synth_set_us(f, DCM_TAG(0x0028, 0x0103), is_signed ? 1 : 0, ei);
    if (e)
        return e;
    val = dv_arena_alloc(&f->arena, n * 2);
    if (!val)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "out of memory");
    for (i = 0; i < n; i++)
        dv_put_le16(val + 2 * i, pix[i]);
    e = dcm_ds_insert(f, &f->ds, DCM_TAG_PIXEL_DATA, DCM_VR_OW, &el);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "cannot set pixel data");
    el->vr = DCM_VR_OW;
    el->val = val;
    el->len = (uint32_t)(n * 2);
    return DV_OK;
}

dv_err synth_write(dcm_file *f, const char *path, dv_errinfo *ei)
{
    dv_buf out;
    dv_err e;

    dv_buf_init(&out, (size_t)1 << 33);
    e = dcm_write_part10(f, &dcm_ts_explicit_le, &out, ei);
    if (!e)
        e = dcm_write_file_atomic(path, out.p, out.len, ei);
    dv_buf_release(&out);
    return e;
}

static dv_err make_path(char *out, size_t cap, const char *dir, const char *stem, uint32_t n,
                        dv_errinfo *ei)
{
    int k = snprintf(out, cap, "%s/%s_%04u.dcm", dir, stem, n);

    if (k < 0 || (size_t)k >= cap)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "output folder path too long");
    return DV_OK;
}

static dv_err write_xr(const char *dir, const synth_study *st, const synth_xr_opts *xo,
                       synth_file_cb cb, void *ctx, dv_errinfo *ei)
{
    synth_xr_opts def;
    synth_xr xr;
    char path[4096];
    dv_err e;

    if (!xo) {
        synth_xr_opts_init(&def);
        xo = &def;
    }
    e = make_path(path, sizeof(path), dir, xo->modality == SYNTH_XR_DX ? "dx" : "cr", xo->instance,
                  ei);
    if (e)
        return e;
    e = synth_xr_make(st, xo, &xr, ei);
    if (e)
        return e;
    e = synth_write(xr.file, path, ei);
    if (!e && cb) {
        e = cb(ctx, path, xr.file, &xr);
        if (e)
            e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "the per-file callback failed");
    }
    synth_xr_release(&xr);
    return e;
}

dv_err synth_write_study(const char *dir, const synth_study *st, const synth_xr_opts *xo,
                         const synth_ct_opts *co, synth_file_cb cb, void *ctx, dv_errinfo *ei)
{
    synth_ct_opts cdef;
    char path[4096];
    uint32_t i;
    dv_err e;

    e = write_xr(dir, st, xo, cb, ctx, ei);
    if (e)
        return e;
    if (!co) {
        synth_ct_opts_init(&cdef);
        co = &cdef;
    }
    for (i = 0; i < co->slices; i++) {
        dcm_file *f = NULL;

        e = make_path(path, sizeof(path), dir, "ct", i + 1, ei);
        if (!e)
            e = synth_ct_make(st, co, i, &f, ei);
        if (e)
            return e;
        e = synth_write(f, path, ei);
        if (!e && cb) {
            e = cb(ctx, path, f, NULL);
            if (e)
                e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "the per-file callback failed");
        }
        dcm_file_free(f);
        if (e)
            return e;
    }
    return DV_OK;
}
