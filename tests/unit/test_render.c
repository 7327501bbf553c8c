/* SPDX-License-Identifier: Apache-2.0 */
/* test_render.c - the render pipeline on tiny synthetic datasets and frames: window formulas of
 * PS3.3 C.11.2.1.2/C.11.2.1.3 at their edges, rescale and Modality LUT Sequence, signed and
 * masked stored values, MONOCHROME1, VOI LUT Sequence, palette colour, RGB, functional groups,
 * error paths, and PNG/JPEG output read back by libpng/libjpeg.
 *
 * Expected grey levels are computed here from the standard's formulas (or by hand in comments),
 * never copied from the program's output. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>

#include "dicom/dicom.h"
#include "dicom/pixel.h"
#include "render/render.h"

#include "common/banned.h"

#define TAG_PHOTOMETRIC    DCM_TAG(0x0028, 0x0004)
#define TAG_WINDOW_CENTER  DCM_TAG(0x0028, 0x1050)
#define TAG_WINDOW_WIDTH   DCM_TAG(0x0028, 0x1051)
#define TAG_INTERCEPT      DCM_TAG(0x0028, 0x1052)
#define TAG_SLOPE          DCM_TAG(0x0028, 0x1053)
#define TAG_VOI_FUNCTION   DCM_TAG(0x0028, 0x1056)
#define TAG_MODALITY_LUT   DCM_TAG(0x0028, 0x3000)
#define TAG_LUT_DESCRIPTOR DCM_TAG(0x0028, 0x3002)
#define TAG_LUT_DATA       DCM_TAG(0x0028, 0x3006)
#define TAG_VOI_LUT        DCM_TAG(0x0028, 0x3010)
#define TAG_FRAME_VOI      DCM_TAG(0x0028, 0x9132)
#define TAG_SHARED_FG      DCM_TAG(0x5200, 0x9229)
#define TAG_PER_FRAME_FG   DCM_TAG(0x5200, 0x9230)

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct fixture {
    dcm_file *f;
    dcm_frame fr;
    render_image im;
    render_opts o;
    dv_errinfo ei;
} fixture;

static int setup(void **state)
{
    fixture *x = calloc(1, sizeof(*x));

    assert_non_null(x);
    assert_int_equal(dcm_file_new(&x->f), DV_OK);
    render_opts_init(&x->o);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    fixture *x = *state;

    render_image_release(&x->im);
    free(x->fr.data);
    dcm_file_free(x->f);
    free(x);
    return 0;
}

/* A rows x cols frame of `samples`; vals holds rows*cols*samples values stored in bits_alloc
 * bits each (only the low bytes of each value are kept). */
static void frame_set(fixture *x, uint32_t rows, uint32_t cols, uint32_t samples, uint32_t ba,
                      uint32_t bs, uint32_t pr, const char *photo, const uint32_t *vals)
{
    size_t n = (size_t)rows * cols * samples, bytes = ba == 1 ? 1 : ba / 8, i;

    free(x->fr.data);
    memset(&x->fr, 0, sizeof(x->fr));
    x->fr.data = calloc(n, bytes);
    assert_non_null(x->fr.data);
    x->fr.len = n * bytes;
    for (i = 0; i < n; i++) {
        if (bytes == 1)
            x->fr.data[i] = (uint8_t)vals[i];
        else if (bytes == 2)
            dv_put_le16(x->fr.data + i * 2, (uint16_t)vals[i]);
        else
            dv_put_le32(x->fr.data + i * 4, vals[i]);
    }
    x->fr.pi.rows = rows;
    x->fr.pi.cols = cols;
    x->fr.pi.samples = samples;
    x->fr.pi.bits_alloc = ba;
    x->fr.pi.bits_stored = bs;
    x->fr.pi.high_bit = bs - 1;
    x->fr.pi.pixel_rep = pr;
    x->fr.pi.frames = 1;
    snprintf(x->fr.pi.photometric, sizeof(x->fr.pi.photometric), "%s", photo);
}

/* One row of n 16-bit grayscale samples. */
static void gray16(fixture *x, const uint32_t *vals, uint32_t n, uint32_t pr, const char *photo)
{
    frame_set(x, 1, n, 1, 16, 16, pr, photo, vals);
}

static void set_str(fixture *x, dcm_ds *ds, uint32_t tag, dcm_vr vr, const char *s)
{
    assert_int_equal(dcm_ds_set_str(x->f, ds, tag, vr, s), DV_OK);
}

/* A LUT Descriptor (n, first, bits) and 16-bit LUT Data in item. */
static void set_lut(fixture *x, dcm_ds *item, uint16_t n, uint16_t first, uint16_t bits,
                    const uint16_t *data, uint32_t ndata)
{
    uint8_t desc[6], *d = malloc((size_t)ndata * 2 + 1);
    uint32_t i;

    assert_non_null(d);
    dv_put_le16(desc, n);
    dv_put_le16(desc + 2, first);
    dv_put_le16(desc + 4, bits);
    for (i = 0; i < ndata; i++)
        dv_put_le16(d + i * 2, data[i]);
    assert_int_equal(dcm_ds_set(x->f, item, TAG_LUT_DESCRIPTOR, DCM_VR_US, desc, 6), DV_OK);
    assert_int_equal(dcm_ds_set(x->f, item, TAG_LUT_DATA, DCM_VR_OW, d, ndata * 2), DV_OK);
    free(d);
}

/* Appends an item to sequence tag of ds (created when absent). */
static dcm_ds *add_item(fixture *x, dcm_ds *ds, uint32_t tag)
{
    dcm_elem *sq;
    dcm_ds *item;

    assert_int_equal(dcm_ds_insert(x->f, ds, tag, DCM_VR_SQ, &sq), DV_OK);
    assert_int_equal(dcm_elem_add_item(x->f, sq, &item), DV_OK);
    return item;
}

static dv_err render(fixture *x)
{
    render_image_release(&x->im);
    return render_decoded(&x->f->ds, 0, &x->fr, &x->o, &x->im, &x->ei);
}

/* PS3.3 C.11.2.1.2.1 with ymin 0, ymax 255, rounded to nearest: the test's own reference. */
static int ref_linear(double c, double w, double v)
{
    if (v <= c - 0.5 - (w - 1) / 2)
        return 0;
    if (v > c - 0.5 + (w - 1) / 2)
        return 255;
    return (int)floor(((v - (c - 0.5)) / (w - 1) + 0.5) * 255 + 0.5);
}

/* ---- windows ---------------------------------------------------------------------------- */

static void test_linear_window_edges(void **state)
{
    fixture *x = *state;
    /* c=100, w=51: everything <= 74.5 is black, everything > 124.5 white */
    const uint32_t v[] = {0, 74, 75, 99, 100, 124, 125, 65535};
    uint32_t i;

    gray16(x, v, 8, 0, "MONOCHROME2");
    set_str(x, &x->f->ds, TAG_WINDOW_CENTER, DCM_VR_DS, "100\\40");
    set_str(x, &x->f->ds, TAG_WINDOW_WIDTH, DCM_VR_DS, "51\\80");
    assert_int_equal(render(x), DV_OK);
    assert_int_equal(x->im.width, 8);
    assert_int_equal(x->im.height, 1);
    assert_int_equal(x->im.channels, 1);
    assert_int_equal(x->im.pixels[0], 0);
    assert_int_equal(x->im.pixels[1], 0);
    assert_int_equal(x->im.pixels[2], 3);   /* (0.01) * 255 = 2.55 */
    assert_int_equal(x->im.pixels[4], 130); /* (0.51) * 255 = 130.05 */
    assert_int_equal(x->im.pixels[5], 252); /* (0.99) * 255 = 252.45 */
    assert_int_equal(x->im.pixels[6], 255);
    assert_int_equal(x->im.pixels[7], 255);
    for (i = 0; i < 8; i++)
        assert_int_equal(x->im.pixels[i], ref_linear(100, 51, v[i]));

    /* the command-line window wins over the file's */
    x->o.has_window = 1;
    x->o.center = 1000;
    x->o.width = 2;
    assert_int_equal(render(x), DV_OK);
    for (i = 0; i < 8; i++)
        assert_int_equal(x->im.pixels[i], v[i] <= 999 ? 0 : 255);
}

static void test_window_width_one(void **state)
{
    fixture *x = *state;
    const uint32_t v[] = {98, 99, 100, 101};

    gray16(x, v, 4, 0, "MONOCHROME2");
    x->o.has_window = 1;
    x->o.center = 100;
    x->o.width = 1; /* a threshold at c - 0.5 */
    assert_int_equal(render(x), DV_OK);
    assert_int_equal(x->im.pixels[0], 0);
    assert_int_equal(x->im.pixels[1], 0);
    assert_int_equal(x->im.pixels[2], 255);
    assert_int_equal(x->im.pixels[3], 255);
    x->o.width = 0.5; /* LINEAR needs width >= 1 */
    assert_int_equal(render(x), DV_EINVAL);
    assert_null(x->im.pixels);
}

static void test_linear_exact(void **state)
{
    fixture *x = *state;
    const uint32_t v[] = {0, 1, 2, 3, 4};

    gray16(x, v, 5, 0, "MONOCHROME2");
    set_str(x, &x->f->ds, TAG_WINDOW_CENTER, DCM_VR_DS, "2");
    set_str(x, &x->f->ds, TAG_WINDOW_WIDTH, DCM_VR_DS, "2");
    set_str(x, &x->f->ds, TAG_VOI_FUNCTION, DCM_VR_CS, "LINEAR_EXACT");
    assert_int_equal(render(x), DV_OK);
    /* x <= c - w/2 = 1 -> 0; x > 3 -> 255; else ((x - 2)/2 + 0.5) * 255 */
    assert_int_equal(x->im.pixels[0], 0);
    assert_int_equal(x->im.pixels[1], 0);
    assert_int_equal(x->im.pixels[2], 128); /* 127.5 rounds up */
    assert_int_equal(x->im.pixels[3], 255);
    assert_int_equal(x->im.pixels[4], 255);

    /* a LINEAR_EXACT width below 1 is valid (LINEAR would refuse it) */
    set_str(x, &x->f->ds, TAG_WINDOW_WIDTH, DCM_VR_DS, "0.5");
    assert_int_equal(render(x), DV_OK);
    assert_int_equal(x->im.pixels[1], 0);
    assert_int_equal(x->im.pixels[2], 128);
    assert_int_equal(x->im.pixels[3], 255);
}

static void test_sigmoid(void **state)
{
    fixture *x = *state;
    const uint32_t v[] = {500, 450, 550, 0, 1000};

    gray16(x, v, 5, 0, "MONOCHROME2");
    set_str(x, &x->f->ds, TAG_WINDOW_CENTER, DCM_VR_DS, "500");
    set_str(x, &x->f->ds, TAG_WINDOW_WIDTH, DCM_VR_DS, "100");
    set_str(x, &x->f->ds, TAG_VOI_FUNCTION, DCM_VR_CS, "SIGMOID");
    assert_int_equal(render(x), DV_OK);
    /* y = 255 / (1 + exp(-4 (x - c) / w)) */
    assert_int_equal(x->im.pixels[0], 128); /* 127.5 */
    assert_int_equal(x->im.pixels[1], 30);  /* 255 / (1 + e^2) = 30.40 */
    assert_int_equal(x->im.pixels[2], 225); /* 255 / (1 + e^-2) = 224.60 */
    assert_int_equal(x->im.pixels[3], 0);
    assert_int_equal(x->im.pixels[4], 255);

    /* an explicit --voi-function overrides the file's */
    x->o.voi = RENDER_VOI_LINEAR;
    assert_int_equal(render(x), DV_OK);
    assert_int_equal(x->im.pixels[1], ref_linear(500, 100, 450));
}

static void test_minmax_fallback(void **state)
{
    fixture *x = *state;
    const uint32_t v[] = {10, 20, 30, 30};

    gray16(x, v, 4, 0, "MONOCHROME2");
    assert_int_equal(render(x), DV_OK);
    assert_int_equal(x->im.pixels[0], 0);
    assert_int_equal(x->im.pixels[1], 128); /* the middle of 10..30 */
    assert_int_equal(x->im.pixels[2], 255);

    /* a window the file gets wrong (width 0) falls back to min/max too */
    set_str(x, &x->f->ds, TAG_WINDOW_CENTER, DCM_VR_DS, "20");
    set_str(x, &x->f->ds, TAG_WINDOW_WIDTH, DCM_VR_DS, "0");
    assert_int_equal(render(x), DV_OK);
    assert_int_equal(x->im.pixels[0], 0);
    assert_int_equal(x->im.pixels[2], 255);
}

/* ---- modality ----------------------------------------------------------------------------- */

static void test_slope_intercept(void **state)
{
    fixture *x = *state;
    /* CT style: stored 0..4095 unsigned, HU = stored - 1024 */
    const uint32_t v[] = {0, 1024, 1064, 1224, 864, 4095};
    uint32_t i;

    gray16(x, v, 6, 0, "MONOCHROME2");
    set_str(x, &x->f->ds, TAG_INTERCEPT, DCM_VR_DS, "-1024");
    set_str(x, &x->f->ds, TAG_SLOPE, DCM_VR_DS, "1");
    x->o.has_window = 1;
    x->o.center = 40;
    x->o.width = 400;
    assert_int_equal(render(x), DV_OK);
    for (i = 0; i < 6; i++)
        assert_int_equal(x->im.pixels[i], ref_linear(40, 400, (double)v[i] - 1024));
    assert_int_equal(x->im.pixels[2], 128); /* 40 HU is the center: (0.5/399+0.5)*255 */

    /* slope 2, intercept 10 */
    set_str(x, &x->f->ds, TAG_INTERCEPT, DCM_VR_DS, "10");
    set_str(x, &x->f->ds, TAG_SLOPE, DCM_VR_DS, "2.0");
    x->o.center = 2000;
    x->o.width = 4001;
    assert_int_equal(render(x), DV_OK);
    for (i = 0; i < 6; i++)
        assert_int_equal(x->im.pixels[i], ref_linear(2000, 4001, (double)v[i] * 2 + 10));

    /* a slope that is not a number is an error, not a guess */
    set_str(x, &x->f->ds, TAG_SLOPE, DCM_VR_DS, "abc");
    assert_int_equal(render(x), DV_EMALFORMED);
    assert_int_equal(x->ei.tag, TAG_SLOPE);
}

static void test_modality_lut_sequence(void **state)
{
    fixture *x = *state;
    const uint32_t v[] = {0, 2, 3, 4, 5, 9};
    const uint16_t lut[] = {10, 20, 30, 40};
    dcm_ds *item;

    gray16(x, v, 6, 0, "MONOCHROME2");
    item = add_item(x, &x->f->ds, TAG_MODALITY_LUT);
    set_lut(x, item, 4, 2, 8, lut, 4);
    /* a rescale that must be ignored when the LUT is there */
    set_str(x, &x->f->ds, TAG_INTERCEPT, DCM_VR_DS, "-5000");
    x->o.has_window = 1;
    x->o.center = 25;
    x->o.width = 30;
    x->o.voi = RENDER_VOI_LINEAR_EXACT;
    assert_int_equal(render(x), DV_OK);
    /* modality values 10 10 20 30 40 40; exact window 10..40 */
    assert_int_equal(x->im.pixels[0], 0);
    assert_int_equal(x->im.pixels[1], 0);
    assert_int_equal(x->im.pixels[2], 85);  /* ((20-25)/30 + 0.5) * 255 */
    assert_int_equal(x->im.pixels[3], 170); /* ((30-25)/30 + 0.5) * 255 */
    assert_int_equal(x->im.pixels[4], 255);
    assert_int_equal(x->im.pixels[5], 255);

    /* LUT Data shorter than the descriptor says */
    set_lut(x, item, 8, 2, 16, lut, 4);
    assert_int_equal(render(x), DV_EMALFORMED);
    assert_int_equal(x->ei.tag, TAG_LUT_DATA);
}

static void test_signed_and_masked(void **state)
{
    fixture *x = *state;
    /* 12 bits stored in 16, two's complement; junk above the high bit must be ignored */
    const uint32_t v[] = {0x0FFF, 0x0800, 0xF7FF, 0x0000, 0xA001};

    frame_set(x, 1, 5, 1, 16, 12, 1, "MONOCHROME2", v);
    x->o.has_window = 1;
    x->o.center = 0;
    x->o.width = 4096;
    x->o.voi = RENDER_VOI_LINEAR_EXACT;
    assert_int_equal(render(x), DV_OK);
    /* values -1, -2048, 2047, 0, 1 -> ((x/4096) + 0.5) * 255 */
    assert_int_equal(x->im.pixels[0], 127); /* 127.44 */
    assert_int_equal(x->im.pixels[1], 0);
    assert_int_equal(x->im.pixels[2], 255); /* 254.94 */
    assert_int_equal(x->im.pixels[3], 128); /* 127.5 */
    assert_int_equal(x->im.pixels[4], 128); /* 127.56 */

    /* the same values with high bit 15: stored in the top 12 bits */
    {
        const uint32_t w[] = {0xFFF0, 0x8000, 0x7FF0, 0x0000, 0x001F};
        frame_set(x, 1, 5, 1, 16, 12, 1, "MONOCHROME2", w);
        x->fr.pi.high_bit = 15;
        assert_int_equal(render(x), DV_OK);
        assert_int_equal(x->im.pixels[0], 127);
        assert_int_equal(x->im.pixels[1], 0);
        assert_int_equal(x->im.pixels[2], 255);
        assert_int_equal(x->im.pixels[4], 128); /* 0x001F >> 4 = 1 */
    }

    /* 8-bit signed */
    {
        const uint32_t w[] = {0x80, 0x7F, 0xFF};
        frame_set(x, 1, 3, 1, 8, 8, 1, "MONOCHROME2", w);
        x->o.center = 0;
        x->o.width = 256;
        assert_int_equal(render(x), DV_OK);
        assert_int_equal(x->im.pixels[0], 0); /* -128 */
        /* LINEAR_EXACT: 127 -> (127/256 + 0.5) * 255 = 254.004, -1 -> 126.504 */
        assert_int_equal(x->im.pixels[1], 254);
        assert_int_equal(x->im.pixels[2], 127);
    }
}

static void test_monochrome1(void **state)
{
    fixture *x = *state;
    const uint32_t v[] = {0, 50, 100, 75};
    uint8_t mono2[4];
    unsigned i;

    gray16(x, v, 4, 0, "MONOCHROME2");
    assert_int_equal(render(x), DV_OK);
    memcpy(mono2, x->im.pixels, 4);
    assert_int_equal(mono2[0], 0);
    assert_int_equal(mono2[2], 255);
    gray16(x, v, 4, 0, "MONOCHROME1");
    assert_int_equal(render(x), DV_OK);
    for (i = 0; i < 4; i++)
        assert_int_equal(x->im.pixels[i], 255 - mono2[i]);
    assert_int_equal(x->im.pixels[0], 255); /* the smallest value is white */
}

static void test_voi_lut_sequence(void **state)
{
    fixture *x = *state;
    const uint32_t v[] = {99, 100, 101, 102, 200};
    const uint16_t lut8[] = {0, 128, 255};
    const uint16_t lut16[] = {0, 32768, 65535};
    dcm_ds *item;

    gray16(x, v, 5, 0, "MONOCHROME2");
    item = add_item(x, &x->f->ds, TAG_VOI_LUT);
    set_lut(x, item, 3, 100, 8, lut8, 3);
    assert_int_equal(render(x), DV_OK);
    assert_int_equal(x->im.pixels[0], 0); /* below the first mapped value: entry 0 */
    assert_int_equal(x->im.pixels[1], 0);
    assert_int_equal(x->im.pixels[2], 128);
    assert_int_equal(x->im.pixels[3], 255);
    assert_int_equal(x->im.pixels[4], 255); /* past the end: last entry */

    set_lut(x, item, 3, 100, 16, lut16, 3);
    assert_int_equal(render(x), DV_OK);
    assert_int_equal(x->im.pixels[2], 128); /* 32768 * 255 / 65535 = 127.5 */
    assert_int_equal(x->im.pixels[3], 255);

    /* a window in the file comes before the VOI LUT */
    set_str(x, &x->f->ds, TAG_WINDOW_CENTER, DCM_VR_DS, "150");
    set_str(x, &x->f->ds, TAG_WINDOW_WIDTH, DCM_VR_DS, "101");
    assert_int_equal(render(x), DV_OK);
    assert_int_equal(x->im.pixels[1], ref_linear(150, 101, 100));
    assert_int_equal(x->im.pixels[4], 255);
}

static void test_functional_groups(void **state)
{
    fixture *x = *state;
    const uint32_t v[] = {0, 100, 200};
    dcm_ds *shared, *pf0, *pf1, *m;
    unsigned i;

    gray16(x, v, 3, 0, "MONOCHROME2");
    /* top level says one thing, shared groups another, frame 1's item a third */
    set_str(x, &x->f->ds, TAG_WINDOW_CENTER, DCM_VR_DS, "1000");
    set_str(x, &x->f->ds, TAG_WINDOW_WIDTH, DCM_VR_DS, "10");
    shared = add_item(x, &x->f->ds, TAG_SHARED_FG);
    m = add_item(x, shared, TAG_FRAME_VOI);
    set_str(x, m, TAG_WINDOW_CENTER, DCM_VR_DS, "100");
    set_str(x, m, TAG_WINDOW_WIDTH, DCM_VR_DS, "201");
    pf0 = add_item(x, &x->f->ds, TAG_PER_FRAME_FG);
    (void)pf0;
    pf1 = add_item(x, &x->f->ds, TAG_PER_FRAME_FG);
    m = add_item(x, pf1, TAG_FRAME_VOI);
    set_str(x, m, TAG_WINDOW_CENTER, DCM_VR_DS, "150");
    set_str(x, m, TAG_WINDOW_WIDTH, DCM_VR_DS, "2");

    /* frame 0 has no Frame VOI LUT macro of its own: the shared one applies */
    assert_int_equal(render_decoded(&x->f->ds, 0, &x->fr, &x->o, &x->im, &x->ei), DV_OK);
    for (i = 0; i < 3; i++)
        assert_int_equal(x->im.pixels[i], ref_linear(100, 201, v[i]));
    render_image_release(&x->im);
    /* frame 1 has its own: a threshold between 149 and 150 */
    assert_int_equal(render_decoded(&x->f->ds, 1, &x->fr, &x->o, &x->im, &x->ei), DV_OK);
    assert_int_equal(x->im.pixels[0], 0);
    assert_int_equal(x->im.pixels[1], 0);
    assert_int_equal(x->im.pixels[2], 255);
}

/* ---- colour ------------------------------------------------------------------------------- */

static void test_palette(void **state)
{
    fixture *x = *state;
    const uint32_t v[] = {0, 1, 2, 3, 9};
    const uint16_t red[] = {0, 65535, 0, 32896};
    const uint16_t green[] = {65535, 0, 0, 0};
    const uint16_t blue[] = {0, 0, 65535, 65535};
    const uint16_t *data[3] = {red, green, blue};
    unsigned c;

    frame_set(x, 1, 5, 1, 8, 8, 0, "PALETTE COLOR", v);
    assert_int_equal(render(x), DV_EMALFORMED); /* no palette yet */
    for (c = 0; c < 3; c++) {
        dcm_ds tmp = {0};
        set_lut(x, &tmp, 4, 0, 16, data[c], 4);
        assert_int_equal(dcm_ds_set(x->f, &x->f->ds, DCM_TAG(0x0028, 0x1101 + c), DCM_VR_US,
                                    tmp.e[0].val, tmp.e[0].len),
                         DV_OK);
        assert_int_equal(dcm_ds_set(x->f, &x->f->ds, DCM_TAG(0x0028, 0x1201 + c), DCM_VR_OW,
                                    tmp.e[1].val, tmp.e[1].len),
                         DV_OK);
    }
    assert_int_equal(render(x), DV_OK);
    assert_int_equal(x->im.channels, 3);
    assert_memory_equal(x->im.pixels + 0, "\x00\xff\x00", 3);
    assert_memory_equal(x->im.pixels + 3, "\xff\x00\x00", 3);
    assert_memory_equal(x->im.pixels + 6, "\x00\x00\xff", 3);
    assert_memory_equal(x->im.pixels + 9, "\x80\x00\xff", 3);  /* 32896 = 0x8080 -> 128 */
    assert_memory_equal(x->im.pixels + 12, "\x80\x00\xff", 3); /* past the end: last entry */

    /* 8-bit entries packed two per word, first mapped value 1 */
    {
        uint8_t desc[6] = {4, 0, 1, 0, 8, 0};
        uint8_t r8[4] = {10, 20, 30, 40};
        for (c = 0; c < 3; c++) {
            assert_int_equal(
                dcm_ds_set(x->f, &x->f->ds, DCM_TAG(0x0028, 0x1101 + c), DCM_VR_US, desc, 6),
                DV_OK);
            assert_int_equal(
                dcm_ds_set(x->f, &x->f->ds, DCM_TAG(0x0028, 0x1201 + c), DCM_VR_OW, r8, 4), DV_OK);
        }
        assert_int_equal(render(x), DV_OK);
        assert_memory_equal(x->im.pixels + 0, "\x0a\x0a\x0a", 3);  /* 0 < first */
        assert_memory_equal(x->im.pixels + 3, "\x0a\x0a\x0a", 3);  /* 1 */
        assert_memory_equal(x->im.pixels + 6, "\x14\x14\x14", 3);  /* 2 */
        assert_memory_equal(x->im.pixels + 12, "\x28\x28\x28", 3); /* 9 -> last */
    }
}

static void test_rgb(void **state)
{
    fixture *x = *state;
    const uint32_t v8[] = {1, 2, 3, 250, 251, 252};
    const uint32_t v16[] = {0, 65535, 32768, 257, 0, 0};

    frame_set(x, 1, 2, 3, 8, 8, 0, "RGB", v8);
    assert_int_equal(render(x), DV_OK);
    assert_int_equal(x->im.channels, 3);
    assert_memory_equal(x->im.pixels, "\x01\x02\x03\xfa\xfb\xfc", 6);

    frame_set(x, 2, 1, 3, 16, 16, 0, "RGB", v16);
    assert_int_equal(render(x), DV_OK);
    assert_int_equal(x->im.width, 1);
    assert_int_equal(x->im.height, 2);
    assert_memory_equal(x->im.pixels, "\x00\xff\x80\x01\x00\x00", 6);

    /* RGB needs 3 samples */
    frame_set(x, 1, 2, 1, 8, 8, 0, "RGB", v8);
    assert_int_equal(render(x), DV_EMALFORMED);
}

static void test_ybr_full(void **state)
{
    fixture *x = *state;
    /* Y=128, Cb=Cr=128 is mid grey; Y=255 white (PS3.3 C.7.6.3.1.2 YBR_FULL equations) */
    const uint32_t v[] = {128, 128, 128, 255, 128, 128};

    const uint8_t want[6] = {128, 128, 128, 255, 255, 255};
    unsigned i;

    frame_set(x, 1, 2, 3, 8, 8, 0, "YBR_FULL", v);
    assert_int_equal(render(x), DV_OK);
    assert_int_equal(x->im.channels, 3);
    /* +-1: the fixed-point conversion of dcm_ybr_to_rgb() may round either way */
    for (i = 0; i < 6; i++)
        assert_true(abs((int)x->im.pixels[i] - (int)want[i]) <= 1);
    assert_string_equal(x->fr.pi.photometric, "RGB");
}

/* ---- errors ------------------------------------------------------------------------------- */

static void test_errors(void **state)
{
    fixture *x = *state;
    const uint32_t v[] = {1, 2, 3, 4};

    gray16(x, v, 4, 0, "MONOCHROME2");
    x->fr.len = 7; /* one byte short */
    assert_int_equal(render(x), DV_ETRUNC);
    assert_null(x->im.pixels);

    gray16(x, v, 4, 0, "YBR_PARTIAL_420");
    assert_int_equal(render(x), DV_EUNSUPPORTED);
    assert_int_equal(x->ei.tag, TAG_PHOTOMETRIC);

    gray16(x, v, 4, 0, "MONOCHROME2");
    x->fr.pi.bits_alloc = 12;
    assert_int_equal(render(x), DV_EUNSUPPORTED);
    x->fr.pi.bits_alloc = 16;
    x->fr.pi.bits_stored = 17;
    assert_int_equal(render(x), DV_EMALFORMED);
    x->fr.pi.bits_stored = 16;
    x->fr.pi.rows = 0;
    assert_int_equal(render(x), DV_EMALFORMED);
    x->fr.pi.rows = 1;
    x->o.max_bytes = 3; /* 4 grey pixels need 4 bytes */
    assert_int_equal(render(x), DV_ELIMIT);
    x->o.max_bytes = 4;
    assert_int_equal(render(x), DV_OK);

    /* a dataset without pixel data */
    render_image_release(&x->im);
    assert_int_equal(render_frame(x->f, 0, NULL, &x->im, &x->ei), DV_ENOTFOUND);
    assert_null(x->im.pixels);
}

/* ---- encoders ----------------------------------------------------------------------------- */

/* Chunk types of a PNG in order, "IHDR IDAT IEND " style; checks the signature and CRC-free
 * structure only. */
static void png_chunks(const uint8_t *p, size_t n, char *out, size_t outlen)
{
    size_t off = 8;

    out[0] = 0;
    assert_true(n > 8);
    assert_memory_equal(p, "\x89PNG\r\n\x1a\n", 8);
    while (off + 12 <= n) {
        uint32_t len = dv_be32(p + off);
        size_t l = strlen(out);
        assert_true(len <= n - off - 12);
        snprintf(out + l, outlen - l, "%.4s ", (const char *)p + off + 4);
        off += 12 + (size_t)len;
    }
    assert_int_equal(off, n);
}

static void png_decode(const dv_buf *b, uint32_t w, uint32_t h, int color, uint8_t *out)
{
    png_image img;

    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&img, b->p, b->len));
    assert_int_equal(img.width, w);
    assert_int_equal(img.height, h);
    img.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    assert_true(png_image_finish_read(&img, NULL, out, 0, NULL));
}

static void fill_image(render_image *im, uint32_t w, uint32_t h, uint32_t ch)
{
    size_t i, n = (size_t)w * h * ch;

    im->pixels = malloc(n);
    assert_non_null(im->pixels);
    im->width = w;
    im->height = h;
    im->channels = ch;
    for (i = 0; i < n; i++)
        im->pixels[i] = (uint8_t)(i * 7 + i / 13);
}

static void test_png(void **state)
{
    fixture *x = *state;
    dv_buf b;
    char chunks[200];
    uint8_t dec[37 * 5 * 3];
    size_t before;

    (void)x;
    dv_buf_init(&b, 1 << 20);
    fill_image(&x->im, 37, 5, 1);
    assert_int_equal(render_png(&x->im, &b, &x->ei), DV_OK);
    png_chunks(b.p, b.len, chunks, sizeof(chunks));
    assert_string_equal(chunks, "IHDR IDAT IEND "); /* no text, time or other metadata */
    png_decode(&b, 37, 5, 0, dec);
    assert_memory_equal(dec, x->im.pixels, 37 * 5);
    render_image_release(&x->im);

    dv_buf_reset(&b);
    fill_image(&x->im, 37, 5, 3);
    assert_int_equal(render_png(&x->im, &b, &x->ei), DV_OK);
    png_decode(&b, 37, 5, 1, dec);
    assert_memory_equal(dec, x->im.pixels, 37 * 5 * 3);

    /* out of room: DV_ELIMIT and the buffer is as it was */
    dv_buf_release(&b);
    dv_buf_init(&b, 40);
    assert_int_equal(dv_buf_add(&b, "abc", 3), DV_OK);
    before = b.len;
    assert_int_equal(render_png(&x->im, &b, &x->ei), DV_ELIMIT);
    assert_int_equal(b.len, before);
    assert_memory_equal(b.p, "abc", 4);

    /* an invalid image */
    x->im.channels = 2;
    assert_int_equal(render_png(&x->im, &b, &x->ei), DV_EINVAL);
    dv_buf_release(&b);
}

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} jerr;

static void jerr_exit(j_common_ptr ci)
{
    longjmp(((jerr *)ci->err)->jb, 1);
}

/* Decodes b, checks geometry and that no COM/APPn marker other than JFIF APP0 is present. */
static void jpeg_decode(const dv_buf *b, uint32_t w, uint32_t h, int comps, uint8_t *out)
{
    struct jpeg_decompress_struct ci;
    jerr je;
    int m;

    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jerr_exit;
    if (setjmp(je.jb))
        fail_msg("libjpeg could not decode our JPEG");
    jpeg_create_decompress(&ci);
    for (m = 0; m < 16; m++)
        jpeg_save_markers(&ci, JPEG_APP0 + m, 0xFFFF);
    jpeg_save_markers(&ci, JPEG_COM, 0xFFFF);
    jpeg_mem_src(&ci, b->p, (unsigned long)b->len);
    assert_int_equal(jpeg_read_header(&ci, TRUE), JPEG_HEADER_OK);
    assert_non_null(ci.marker_list);
    assert_int_equal(ci.marker_list->marker, JPEG_APP0); /* JFIF, nothing else */
    assert_null(ci.marker_list->next);
    jpeg_start_decompress(&ci);
    assert_int_equal(ci.output_width, w);
    assert_int_equal(ci.output_height, h);
    assert_int_equal(ci.output_components, comps);
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = out + (size_t)ci.output_scanline * w * (size_t)comps;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
}

static void test_jpeg(void **state)
{
    fixture *x = *state;
    dv_buf b;
    uint8_t dec[40 * 24 * 3];
    size_t i;

    dv_buf_init(&b, 1 << 20);
    x->im.pixels = malloc(40 * 24 * 3);
    assert_non_null(x->im.pixels);
    x->im.width = 40;
    x->im.height = 24;
    x->im.channels = 1;
    for (i = 0; i < 40 * 24; i++)
        x->im.pixels[i] = (uint8_t)((i % 40) * 6); /* a smooth ramp survives JPEG */
    assert_int_equal(render_jpeg(&x->im, 100, &b, &x->ei), DV_OK);
    jpeg_decode(&b, 40, 24, 1, dec);
    for (i = 0; i < 40 * 24; i++)
        assert_true(abs((int)dec[i] - (int)x->im.pixels[i]) <= 4);

    dv_buf_reset(&b);
    x->im.channels = 3;
    for (i = 0; i < 40 * 24 * 3; i++)
        x->im.pixels[i] = 200;
    assert_int_equal(render_jpeg(&x->im, 75, &b, &x->ei), DV_OK);
    jpeg_decode(&b, 40, 24, 3, dec);
    for (i = 0; i < 40 * 24 * 3; i++)
        assert_true(abs((int)dec[i] - 200) <= 2);

    assert_int_equal(render_jpeg(&x->im, 0, &b, &x->ei), DV_EINVAL);
    assert_int_equal(render_jpeg(&x->im, 101, &b, &x->ei), DV_EINVAL);
    dv_buf_release(&b);
    dv_buf_init(&b, 100);
    assert_int_equal(render_jpeg(&x->im, 75, &b, &x->ei), DV_ELIMIT);
    assert_int_equal(b.len, 0);
    dv_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_linear_window_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_width_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linear_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigmoid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_minmax_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slope_intercept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modality_lut_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signed_and_masked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monochrome1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_voi_lut_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_functional_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_palette, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rgb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ybr_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_png, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jpeg, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
