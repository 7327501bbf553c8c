/* SPDX-License-Identifier: Apache-2.0 */
/* synth_ct.c - the synthetic axial chest CT series: a Hounsfield-unit phantom per slice.
 *
 * Geometry: head-first supine (HFS), ImageOrientationPatient 1\0\0\0\1\0 (rows run to the
 * patient's left, columns to posterior), square pixels of o->spacing mm centred on the
 * isocentre, slice i at z = (slices-1)/2*thickness - i*thickness (head to feet).
 * Tissues (HU): air -1000, lung -850, fat -100, soft tissue 40, blood 50, heart 45,
 * cancellous bone 250, cortical bone 900, ribs 800, plus Gaussian noise; stored value =
 * HU + 1024 in signed 16 bits (RescaleIntercept -1024, RescaleSlope 1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/synth_int.h"

#include "common/banned.h"

#define TAG(g, e) DCM_TAG(0x##g, 0x##e)

void synth_ct_opts_init(synth_ct_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->slices = 10;
    o->rows = o->cols = 256;
    o->spacing = 400.0 / 256;
    o->thickness = 5.0;
    o->noise_hu = 10.0;
    o->series = 2;
}

static dv_err check_opts(const synth_ct_opts *o, uint32_t slice, dv_errinfo *ei)
{
    if (!o->slices || o->slices > 1000 || slice >= o->slices)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "CT slice number out of range");
    if (o->rows < 16 || o->rows > 1024 || o->cols < 16 || o->cols > 1024)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "CT size out of 16..1024");
    if (!(o->spacing > 0.01 && o->spacing < 100) || !(o->thickness > 0.01 && o->thickness < 100))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "CT spacing out of range");
    if (!(o->noise_hu >= 0 && o->noise_hu <= 200) || !o->series)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "CT noise or series out of range");
    return DV_OK;
}

/* ---- phantom ------------------------------------------------------------------------------ */

/* Inside an ellipse (mm). */
static int in_ell(double x, double y, double cx, double cy, double rx, double ry)
{
    double a = (x - cx) / rx, b = (y - cy) / ry;

    return a * a + b * b <= 1.0;
}

static double spine_hu(double x, double y, double hu)
{
    if (in_ell(x, y, 0, 72, 19, 17))
        return in_ell(x, y, 0, 72, 16.5, 14.5) ? 250 : 900;
    if (in_ell(x, y, 0, 99, 8, 8))
        return 20; /* spinal canal */
    if (in_ell(x, y, 0, 99, 16, 14) || in_ell(x, y, 0, 120, 5, 12))
        return 700; /* arch and spinous process */
    return hu;
}

/* HU at (x, y) mm (x to patient left, y posterior) in slice position t (0 top .. 1 bottom). */
static double phantom(double x, double y, double t)
{
    double lung = 0.75 + 0.25 * sin(3.14159265 * (0.2 + 0.8 * t)), hu, a;
    int k;

    if (!in_ell(x, y, 0, 10, 165, 115))
        return -1000;
    hu = in_ell(x, y, 0, 10, 150, 101) ? 40 : -100; /* subcutaneous fat ring */
    if (in_ell(x, y, -78, 5, 58 * lung, 75 * lung) || in_ell(x, y, 78, 5, 55 * lung, 72 * lung))
        hu = -850;
    if (t > 0.35 && in_ell(x, y, 18, -22, 55 * (t - 0.2), 42 * (t - 0.2)))
        hu = 45; /* heart, growing toward the feet */
    if (in_ell(x, y, 22, 50, 12, 12))
        hu = 50; /* descending aorta */
    if (in_ell(x, y, 0, -92, 15, 7))
        hu = 500;              /* sternum */
    for (k = 0; k < 16; k++) { /* ribs around the chest wall, none at the midline */
        a = 3.14159265 * (k + 0.5) / 8.0 + 0.1 * t;
        if (fabs(cos(a)) > 0.3 && in_ell(x, y, 138 * cos(a), 10 + 92 * sin(a), 7, 5))
            hu = 800;
    }
    return spine_hu(x, y, hu);
}

static uint16_t *slice_pixels(const synth_study *st, const synth_ct_opts *o, uint32_t slice)
{
    size_t n = (size_t)o->rows * o->cols;
    uint16_t *pix = malloc(n * sizeof(*pix));
    double t = o->slices > 1 ? (double)slice / (o->slices - 1) : 0.5;
    synth_rng r;
    uint32_t i, j;

    if (!pix)
        return NULL;
    synth_rng_init(&r, st->seed, synth_mix(synth_hash_str("ct-noise"), o->series * 4096 + slice));
    for (i = 0; i < o->rows; i++) {
        double y = ((double)i + 0.5 - o->rows / 2.0) * o->spacing;

        for (j = 0; j < o->cols; j++) {
            double x = ((double)j + 0.5 - o->cols / 2.0) * o->spacing;
            double hu = phantom(x, y, t) + o->noise_hu * synth_rng_normal(&r);
            long s = lround(hu) + 1024;

            s = s < -1024 ? -1024 : s > 4095 ? 4095 : s;
            pix[(size_t)i * o->cols + j] = (uint16_t)(int16_t)s;
        }
    }
    return pix;
}

/* ---- dataset ------------------------------------------------------------------------------ */

static dv_err set_ct_attrs(dcm_file *f, const synth_study *st, const synth_ct_opts *o,
                           uint32_t slice, dv_errinfo *ei)
{
    char sop[65], series[65], for_uid[65], sno[12], ino[12], pos[80], loc[24], thick[24];
    char spacing[48];
    double z = (o->slices - 1) / 2.0 * o->thickness - slice * o->thickness;
    double x0 = -(o->cols / 2.0 - 0.5) * o->spacing, y0 = -(o->rows / 2.0 - 0.5) * o->spacing;
    const synth_attr a[] = {
        {TAG(0008, 0008), DCM_VR_CS, "ORIGINAL\\PRIMARY\\AXIAL"},
        {TAG(0008, 0016), DCM_VR_UI, SYNTH_CT_SOP_CLASS},
        {TAG(0008, 0018), DCM_VR_UI, sop},
        {TAG(0008, 0021), DCM_VR_DA, st->study_date},
        {TAG(0008, 0023), DCM_VR_DA, st->study_date},
        {TAG(0008, 0031), DCM_VR_TM, st->study_time},
        {TAG(0008, 0033), DCM_VR_TM, st->study_time},
        {TAG(0008, 0060), DCM_VR_CS, "CT"},
        {TAG(0008, 103E), DCM_VR_LO, "SYNTHETIC CHEST CT"},
        {TAG(0018, 0015), DCM_VR_CS, "CHEST"},
        {TAG(0018, 0050), DCM_VR_DS, thick},
        {TAG(0018, 0060), DCM_VR_DS, "120"},
        {TAG(0018, 5100), DCM_VR_CS, "HFS"},
        {TAG(0020, 000E), DCM_VR_UI, series},
        {TAG(0020, 0011), DCM_VR_IS, sno},
        {TAG(0020, 0012), DCM_VR_IS, "1"},
        {TAG(0020, 0013), DCM_VR_IS, ino},
        {TAG(0020, 0032), DCM_VR_DS, pos},
        {TAG(0020, 0037), DCM_VR_DS, "1\\0\\0\\0\\1\\0"},
        {TAG(0020, 0052), DCM_VR_UI, for_uid},
        {TAG(0020, 1040), DCM_VR_LO, NULL},
        {TAG(0020, 1041), DCM_VR_DS, loc},
        {TAG(0028, 0030), DCM_VR_DS, spacing},
        {TAG(0028, 0301), DCM_VR_CS, "NO"},
        {TAG(0028, 1050), DCM_VR_DS, "40\\-600"},
        {TAG(0028, 1051), DCM_VR_DS, "400\\1500"},
        {TAG(0028, 1052), DCM_VR_DS, "-1024"},
        {TAG(0028, 1053), DCM_VR_DS, "1"},
        {TAG(0028, 1054), DCM_VR_LO, "HU"},
        {TAG(0028, 1055), DCM_VR_LO, "SOFT TISSUE\\LUNG"},
        {TAG(0028, 2110), DCM_VR_CS, "00"},
    };
    dv_err e;

    synth_uid(st->seed, "ct-instance", o->series * 4096 + slice, sop);
    synth_uid(st->seed, "ct-series", o->series, series);
    synth_uid(st->seed, "frame-of-reference", o->series, for_uid);
    (void)snprintf(sno, sizeof(sno), "%u", o->series);
    (void)snprintf(ino, sizeof(ino), "%u", slice + 1);
    (void)snprintf(pos, sizeof(pos), "%.4f\\%.4f\\%.4f", x0, y0, z);
    (void)snprintf(loc, sizeof(loc), "%.4f", z);
    (void)snprintf(thick, sizeof(thick), "%.4f", o->thickness);
    (void)snprintf(spacing, sizeof(spacing), "%.6f\\%.6f", o->spacing, o->spacing);
    e = synth_set_common(f, st, ei);
    if (e)
        return e;
    return synth_set_attrs(f, a, sizeof(a) / sizeof(a[0]), ei);
}

dv_err synth_ct_make(const synth_study *st, const synth_ct_opts *o, uint32_t slice, dcm_file **out,
                     dv_errinfo *ei)
{
    synth_ct_opts def;
    uint16_t *pix = NULL;
    dcm_file *f = NULL;
    dv_err e;

    *out = NULL;
    dv_errinfo_clear(ei);
    if (!o) {
        synth_ct_opts_init(&def);
        o = &def;
    }
    e = check_opts(o, slice, ei);
    if (e)
        return e;
    e = dcm_file_new(&f);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    e = set_ct_attrs(f, st, o, slice, ei);
    if (!e) {
        pix = slice_pixels(st, o, slice);
        if (!pix)
            e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    }
    if (!e)
        e = synth_set_pixels(f, o->rows, o->cols, 16, 1, "MONOCHROME2", pix, ei);
    free(pix);
    if (e) {
        dcm_file_free(f);
        return e;
    }
    *out = f;
    return DV_OK;
}
