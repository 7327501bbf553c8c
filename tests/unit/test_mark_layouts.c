/* SPDX-License-Identifier: Apache-2.0 */
/* test_mark_layouts.c - the watermark on every image layout an export can meet, each built in
 * memory from a generated 512 x 512 radiograph (texture and noise): 32-bit MONOCHROME2
 * (unsigned, and signed with 24 bits stored and foreign high bits), RGB of 16 bits (16 and 12
 * stored) and 32 bits, 32-bit floats with NaNs, PALETTE COLOR (plain 16-bit LUT on 8-bit
 * pixels; segmented LUT on 16-bit pixels), 1-bit masks and YBR_FULL.  For each: values stay
 * within BitsStored and its sign (bits above it untouched), PSNR >= 48 dB at native depth, RGB
 * changes keep the hue, and blind detection on the rendered copy (render_decoded or a linear
 * window) finds the payload while the unmarked render gives nothing.  Palette LUTs: the
 * conversion equals the table (plain, segmented with discrete, linear and indirect segments),
 * broken tables are DV_EMALFORMED naming the tag; the copy's attributes after a conversion. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "demo/synth.h"
#include "dicom/pixel.h"
#include "mark/mark.h"
#include "render/render.h"
#include "vault/mark_px.h"

#include "common/banned.h"

#define SIDE    512
#define NPIX    ((size_t)SIDE * SIDE)
#define PAYLOAD 0x0123456789ABCDEFull

/* ---- fixtures --------------------------------------------------------------------------- */

static crypto_key key;

/* The texture every layout is made from: a 512 x 512 radiograph, 12 bits stored. */
static uint16_t *base12(void)
{
    static uint16_t *v;
    synth_study st;
    synth_xr_opts o;
    synth_xr xr;
    dcm_frame fr;
    dv_errinfo ei;
    size_t i;

    if (v)
        return v;
    synth_study_init(&st, 21);
    synth_xr_opts_init(&o);
    o.rows = SIDE;
    o.cols = SIDE;
    o.ntexts = 0;
    assert_int_equal(synth_xr_make(&st, &o, &xr, &ei), DV_OK);
    assert_int_equal(dcm_frame_decode(xr.file, 0, &fr, &ei), DV_OK);
    v = malloc(NPIX * sizeof(uint16_t));
    assert_non_null(v);
    for (i = 0; i < NPIX; i++)
        v[i] = (uint16_t)(dv_le16(fr.data + 2 * i) & 0x0FFF);
    dcm_frame_release(&fr);
    synth_xr_release(&xr);
    return v;
}

static void frame_new(dcm_frame *fr, uint32_t samples, uint32_t bits_alloc, uint32_t bits_stored,
                      uint32_t pixel_rep, const char *photometric)
{
    memset(fr, 0, sizeof(*fr));
    fr->pi.rows = SIDE;
    fr->pi.cols = SIDE;
    fr->pi.samples = samples;
    fr->pi.bits_alloc = bits_alloc;
    fr->pi.bits_stored = bits_stored;
    fr->pi.high_bit = bits_stored - 1;
    fr->pi.pixel_rep = pixel_rep;
    fr->pi.frames = 1;
    memcpy(fr->pi.photometric, photometric, strlen(photometric) + 1);
    fr->len = dcm_frame_size(&fr->pi);
    fr->data = calloc(1, fr->len);
    assert_non_null(fr->data);
}

static void frame_copy(const dcm_frame *a, dcm_frame *b)
{
    *b = *a;
    b->data = malloc(a->len);
    assert_non_null(b->data);
    memcpy(b->data, a->data, a->len);
}

/* Sample i (of samples * pixels) as stored: bytes 1, 2 or 4, little endian. */
static uint32_t raw_at(const dcm_frame *fr, size_t i)
{
    unsigned b = fr->pi.bits_alloc / 8;

    return b == 1 ? fr->data[i] : b == 2 ? dv_le16(fr->data + 2 * i) : dv_le32(fr->data + 4 * i);
}

/* Stored value of sample i: the BitsStored low bits, sign-extended when signed. */
static double value_at(const dcm_frame *fr, size_t i)
{
    unsigned bs = fr->pi.bits_stored;
    uint64_t m = ((uint64_t)1 << bs) - 1;
    uint64_t v = raw_at(fr, i) & m;

    if (fr->pi.pixel_rep && (v >> (bs - 1)) & 1)
        return (double)v - (double)((uint64_t)1 << bs);
    return (double)v;
}

/* PSNR over every sample, peak 2^BitsStored - 1; also checks the range and the high bits. */
static double psnr_native(const dcm_frame *a, const dcm_frame *b)
{
    unsigned bs = a->pi.bits_stored;
    double peak = (double)(((uint64_t)1 << bs) - 1);
    double lo = a->pi.pixel_rep ? -ldexp(1, (int)bs - 1) : 0;
    double hi = a->pi.pixel_rep ? ldexp(1, (int)bs - 1) - 1 : peak;
    uint32_t high = bs >= 32 ? 0 : ~(uint32_t)((((uint64_t)1) << bs) - 1);
    size_t n = (size_t)a->pi.rows * a->pi.cols * a->pi.samples;
    double se = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        double d = value_at(b, i) - value_at(a, i);
        assert_true(value_at(b, i) >= lo && value_at(b, i) <= hi);
        assert_int_equal(raw_at(a, i) & high, raw_at(b, i) & high);
        se += d * d;
    }
    return se > 0 ? 10 * log10(peak * peak / (se / (double)n)) : INFINITY;
}

/* Detection on what a viewer shows: render_decoded (no window in the dataset: min..max for
 * grey, BitsStored scaling for colour). */
static int detect_render(dcm_frame *fr, uint64_t *payload)
{
    dcm_ds none = {0};
    dcm_frame tmp;
    render_image im = {0};
    mark_result r;
    dv_errinfo ei;

    frame_copy(fr, &tmp);
    assert_int_equal(render_decoded(&none, 0, &tmp, NULL, &im, &ei), DV_OK);
    dcm_frame_release(&tmp);
    assert_int_equal(mark_detect_image(&key, &im, &r, &ei), DV_OK);
    render_image_release(&im);
    *payload = r.payload;
    return r.found && r.fp_probability < MARK_FP_MAX;
}

/* Marks a copy of fr as the vault does (monochrome: min..max window), checks range, high bits,
 * PSNR >= 48 dB and the payload in the render; the unmarked render gives nothing. */
static void mark_and_detect(dcm_frame *fr, double *psnr)
{
    dcm_ds none = {0};
    dcm_frame m;
    mark_window w;
    mark_stats st;
    dv_errinfo ei;
    uint64_t got = 0;

    frame_copy(fr, &m);
    mark_window_of(&none, &m, &w);
    assert_int_equal(mark_embed_frame(&key, PAYLOAD, &m, fr->pi.samples == 1 ? &w : NULL, &st, &ei),
                     DV_OK);
    *psnr = psnr_native(fr, &m);
    assert_true(*psnr >= 48.0);
    assert_true(st.psnr_db >= 48.0);
    assert_true(st.marked_fraction > 0.05);
    assert_true(detect_render(&m, &got));
    assert_true(got == PAYLOAD);
    assert_false(detect_render(fr, &got));
    dcm_frame_release(&m);
}

/* ---- monochrome 32 bits ----------------------------------------------------------------- */

static void test_mono32_unsigned(void **state)
{
    const uint16_t *v = base12();
    dcm_frame fr;
    double psnr;
    size_t i;
    (void)state;

    frame_new(&fr, 1, 32, 32, 0, "MONOCHROME2");
    for (i = 0; i < NPIX; i++) /* over nearly the whole 32-bit range */
        dv_put_le32(fr.data + 4 * i, (uint32_t)v[i] * 1000003u + 7u);
    mark_and_detect(&fr, &psnr);
    print_message("# 32-bit unsigned: PSNR %.1f dB\n", psnr);
    dcm_frame_release(&fr);
}

static void test_mono32_signed_24_stored(void **state)
{
    const uint16_t *v = base12();
    dcm_frame fr;
    double psnr;
    size_t i;
    (void)state;

    frame_new(&fr, 1, 32, 24, 1, "MONOCHROME2");
    for (i = 0; i < NPIX; i++) { /* -8.2e6 .. 8.2e6 in 24 bits, foreign bits above */
        int32_t s = ((int32_t)v[i] - 2048) * 2047;
        dv_put_le32(fr.data + 4 * i, ((uint32_t)s & 0x00FFFFFFu) | 0xA5000000u);
    }
    mark_and_detect(&fr, &psnr);
    print_message("# 32-bit signed, 24 stored: PSNR %.1f dB\n", psnr);
    dcm_frame_release(&fr);
}

/* ---- RGB of 16 and 32 bits -------------------------------------------------------------- */

/* Hue kept: every channel of a pixel moved by the same amount (unless one clipped). */
static void assert_same_change(const dcm_frame *a, const dcm_frame *b)
{
    double top = (double)(((uint64_t)1 << a->pi.bits_stored) - 1);
    size_t moved = 0;
    size_t i;

    for (i = 0; i < NPIX; i++) {
        double d0 = value_at(b, 3 * i) - value_at(a, 3 * i);
        double d1 = value_at(b, 3 * i + 1) - value_at(a, 3 * i + 1);
        double d2 = value_at(b, 3 * i + 2) - value_at(a, 3 * i + 2);
        int clipped = 0;
        unsigned c;
        for (c = 0; c < 3; c++)
            clipped |= value_at(b, 3 * i + c) == 0 || value_at(b, 3 * i + c) == top;
        if (clipped)
            continue;
        assert_true(d0 == d1 && d1 == d2);
        moved += d0 != 0;
    }
    assert_true(moved > NPIX / 20);
}

static void rgb_case(uint32_t bits_alloc, uint32_t bits_stored, double scale)
{
    const uint16_t *v = base12();
    dcm_frame fr;
    dcm_frame m;
    double psnr;
    size_t i;
    unsigned c;

    frame_new(&fr, 3, bits_alloc, bits_stored, 0, "RGB");
    for (i = 0; i < NPIX; i++) {
        double rgb[3] = {v[i] * scale, v[i] * scale * 0.75 + 3, v[i] * scale * 0.5 + 1};
        for (c = 0; c < 3; c++) {
            uint32_t s = (uint32_t)rgb[c] | (bits_stored < 16 ? 0xF000u : 0); /* foreign bits */
            if (bits_alloc == 16)
                dv_put_le16(fr.data + 6 * i + 2 * c, (uint16_t)s);
            else
                dv_put_le32(fr.data + 12 * i + 4 * c, s);
        }
    }
    mark_and_detect(&fr, &psnr);
    print_message("# RGB %u/%u bits: PSNR %.1f dB\n", bits_alloc, bits_stored, psnr);
    frame_copy(&fr, &m);
    assert_int_equal(mark_embed_frame(&key, PAYLOAD, &m, NULL, NULL, NULL), DV_OK);
    assert_same_change(&fr, &m);
    dcm_frame_release(&m);
    dcm_frame_release(&fr);
}

static void test_rgb16(void **state)
{
    (void)state;
    rgb_case(16, 16, 16.0);
    rgb_case(16, 12, 1.0);
}

static void test_rgb32(void **state)
{
    (void)state;
    rgb_case(32, 32, 1048576.0);
}

static void test_frame_refusals(void **state)
{
    dcm_frame fr;
    dv_errinfo ei;
    (void)state;

    frame_new(&fr, 3, 8, 8, 0, "RGB"); /* 8-bit RGB goes through mark_embed_gray8 */
    assert_int_equal(mark_embed_frame(&key, 1, &fr, NULL, NULL, &ei), DV_EUNSUPPORTED);
    dcm_frame_release(&fr);
    frame_new(&fr, 1, 32, 16, 0, "MONOCHROME2");
    fr.pi.high_bit = 31;
    assert_int_equal(mark_embed_frame(&key, 1, &fr, NULL, NULL, &ei), DV_EUNSUPPORTED);
    dcm_frame_release(&fr);
    frame_new(&fr, 3, 16, 16, 0, "YBR_FULL");
    assert_int_equal(mark_embed_frame(&key, 1, &fr, NULL, NULL, &ei), DV_EUNSUPPORTED);
    fr.len = 100; /* shorter than its geometry */
    memcpy(fr.pi.photometric, "RGB", 4);
    assert_int_equal(mark_embed_frame(&key, 1, &fr, NULL, NULL, &ei), DV_EINVAL);
    dcm_frame_release(&fr);
}

/* ---- floats ------------------------------------------------------------------------------ */

static void test_float32(void **state)
{
    const uint16_t *v = base12();
    uint8_t *px = malloc(NPIX * 4);
    uint8_t *orig = malloc(NPIX * 4);
    float *show = malloc(NPIX * sizeof(float));
    mark_stats st;
    mark_result r;
    dv_errinfo ei;
    double lo = INFINITY, hi = -INFINITY, se = 0;
    size_t i, nan = 0;
    float f;
    uint32_t u;
    (void)state;

    assert_true(px && orig && show);
    for (i = 0; i < NPIX; i++) {
        f = i % 9973 == 5 ? NAN : (float)(v[i] / 4095.0 * 2.5 - 1.0);
        memcpy(&u, &f, 4);
        dv_put_le32(px + 4 * i, u);
        lo = isfinite(f) && f < lo ? f : lo;
        hi = isfinite(f) && f > hi ? f : hi;
    }
    memcpy(orig, px, NPIX * 4);
    assert_int_equal(mark_embed_float(&key, PAYLOAD, px, SIDE, SIDE, 4, NULL, &st, &ei), DV_OK);
    for (i = 0; i < NPIX; i++) {
        float a;
        u = dv_le32(orig + 4 * i);
        memcpy(&a, &u, 4);
        u = dv_le32(px + 4 * i);
        memcpy(&f, &u, 4);
        if (isnan(a)) { /* left alone */
            assert_true(isnan(f));
            nan++;
            show[i] = 0;
            continue;
        }
        se += ((double)f - a) * ((double)f - a);
        show[i] = (float)lrint(((double)f - lo) / (hi - lo) * 255); /* an 8-bit display */
    }
    assert_true(nan > 10);
    assert_true(10 * log10((hi - lo) * (hi - lo) / (se / (double)NPIX)) >= 48.0);
    assert_int_equal(mark_detect(&key, show, SIDE, SIDE, &r, &ei), DV_OK);
    assert_true(r.found);
    assert_true(r.payload == PAYLOAD);
    assert_int_equal(mark_embed_float(&key, 1, px, 0, SIDE, 4, NULL, NULL, &ei), DV_EINVAL);
    assert_int_equal(mark_embed_float(&key, 1, px, SIDE, SIDE, 2, NULL, NULL, &ei), DV_EINVAL);
    free(px);
    free(orig);
    free(show);
}

/* ---- palette colour ---------------------------------------------------------------------- */

static void set_desc(dcm_file *f, unsigned c, uint16_t n, uint16_t first, uint16_t bits)
{
    uint8_t d[6];

    dv_put_le16(d, n);
    dv_put_le16(d + 2, first);
    dv_put_le16(d + 4, bits);
    assert_int_equal(dcm_ds_set(f, &f->ds, DCM_TAG(0x0028, 0x1101 + c), DCM_VR_US, d, 6), DV_OK);
}

static void set_words(dcm_file *f, uint32_t tag, const uint16_t *w, size_t n)
{
    uint8_t *b = malloc(2 * n);
    size_t i;

    assert_non_null(b);
    for (i = 0; i < n; i++)
        dv_put_le16(b + 2 * i, w[i]);
    assert_int_equal(dcm_ds_set(f, &f->ds, tag, DCM_VR_OW, b, (uint32_t)(2 * n)), DV_OK);
    free(b);
}

/* The 8-bit colour of entry i of the test palette. */
static uint8_t pal8(unsigned c, unsigned i)
{
    return (uint8_t)(c == 0 ? i : c == 1 ? (i * 3) / 4 + 20 : 255 - i / 2);
}

static void test_palette_plain(void **state)
{
    const uint16_t *v = base12();
    uint16_t lut[256];
    dcm_file *f = NULL;
    vault_palette pal;
    dcm_frame fr;
    render_image im;
    mark_result r;
    dv_errinfo ei;
    size_t i;
    unsigned c;
    (void)state;

    assert_int_equal(dcm_file_new(&f), DV_OK);
    for (c = 0; c < 3; c++) { /* 256 entries of 16 bits, first mapped 0 */
        for (i = 0; i < 256; i++)
            lut[i] = (uint16_t)(pal8(c, (unsigned)i) * 257);
        set_desc(f, c, 256, 0, 16);
        set_words(f, DCM_TAG(0x0028, 0x1201 + c), lut, 256);
    }
    assert_int_equal(vault_palette_read(&f->ds, 0, &pal, &ei), DV_OK);
    frame_new(&fr, 1, 8, 8, 0, "PALETTE COLOR");
    for (i = 0; i < NPIX; i++)
        fr.data[i] = (uint8_t)(v[i] >> 4);
    assert_int_equal(vault_mark_px_convert(&fr, &pal, &ei), DV_OK);
    assert_string_equal(fr.pi.photometric, "RGB");
    assert_int_equal(fr.pi.samples, 3);
    assert_int_equal(fr.len, NPIX * 3);
    for (i = 0; i < NPIX; i++)
        for (c = 0; c < 3; c++)
            assert_int_equal(fr.data[3 * i + c], pal8(c, v[i] >> 4));
    im = (render_image){SIDE, SIDE, 3, fr.data};
    assert_int_equal(mark_embed_gray8(&key, PAYLOAD, &im, NULL, &ei), DV_OK);
    assert_int_equal(mark_detect_image(&key, &im, &r, &ei), DV_OK);
    assert_true(r.found && r.payload == PAYLOAD);
    dcm_frame_release(&fr);
    vault_palette_release(&pal);
    dcm_file_free(f);
}

/* Segmented: red = discrete 0, 2560, then linear to 65280 over 4092 entries, then an indirect copy
 * of the first (discrete) segment; green and blue plain linear ramps.  16-bit pixels, 4096
 * entries first mapped at 0; 16-bit entries (some above 255): the high byte. */
static void test_palette_segmented(void **state)
{
    static const uint16_t red[] = {0, 2, 0, 2560, 1, 4092, 65280, 2, 1, 0, 0};
    static const uint16_t ramp[] = {0, 1, 0, 1, 4095, 65535};
    dcm_file *f = NULL;
    vault_palette pal;
    dcm_frame fr;
    dv_errinfo ei;
    uint32_t i;
    unsigned c;
    (void)state;

    assert_int_equal(dcm_file_new(&f), DV_OK);
    for (c = 0; c < 3; c++)
        set_desc(f, c, 4096, 0, 16);
    set_words(f, DCM_TAG(0x0028, 0x1221), red, sizeof(red) / 2);
    set_words(f, DCM_TAG(0x0028, 0x1222), ramp, sizeof(ramp) / 2);
    set_words(f, DCM_TAG(0x0028, 0x1223), ramp, sizeof(ramp) / 2);
    assert_int_equal(vault_palette_read(&f->ds, 0, &pal, &ei), DV_OK);
    assert_int_equal(pal.n[0], 4096);
    assert_int_equal(pal.tab[0][0], 0);
    assert_int_equal(pal.tab[0][1], 10); /* 2560 >> 8 */
    assert_int_equal(pal.tab[0][4093], 255);
    assert_int_equal(pal.tab[0][4094], 0); /* the indirect copy of the first segment */
    assert_int_equal(pal.tab[0][4095], 10);
    for (i = 1; i < 4094; i++) /* on the line from 2560 to 65280 */
        assert_true(
            abs((int)pal.tab[0][i] - (int)((2560 + (65280.0 - 2560) * (i - 1) / 4092) / 256)) <= 1);
    for (i = 0; i < 4096; i++)
        assert_true(abs((int)pal.tab[1][i] - (int)(i * 65535.0 / 4095 / 256)) <= 1);
    frame_new(&fr, 1, 16, 12, 0, "PALETTE COLOR");
    for (i = 0; i < NPIX; i++)
        dv_put_le16(fr.data + 2 * i, (uint16_t)(i % 4096));
    assert_int_equal(vault_mark_px_convert(&fr, &pal, &ei), DV_OK);
    for (i = 0; i < NPIX; i++)
        for (c = 0; c < 3; c++)
            assert_int_equal(fr.data[3 * i + c], pal.tab[c][i % 4096]);
    dcm_frame_release(&fr);
    vault_palette_release(&pal);
    dcm_file_free(f);
}

/* One broken palette: DV_EMALFORMED naming want_tag, the message saying want. */
static void broken(const uint16_t *seg, size_t n, uint16_t entries, uint16_t bits, int plain,
                   uint32_t want_tag, const char *want)
{
    static const uint16_t ok[] = {0, 1, 0, 1, 255, 65535};
    dcm_file *f = NULL;
    vault_palette pal;
    dv_errinfo ei;
    unsigned c;

    assert_int_equal(dcm_file_new(&f), DV_OK);
    for (c = 0; c < 3; c++)
        set_desc(f, c, c == 0 ? entries : 256, 0, c == 0 ? bits : 16);
    if (seg)
        set_words(f, DCM_TAG(0x0028, plain ? 0x1201 : 0x1221), seg, n);
    set_words(f, DCM_TAG(0x0028, 0x1222), ok, 6);
    set_words(f, DCM_TAG(0x0028, 0x1223), ok, 6);
    dv_errinfo_clear(&ei);
    assert_int_equal(vault_palette_read(&f->ds, 0, &pal, &ei), DV_EMALFORMED);
    assert_int_equal(ei.tag, want_tag);
    assert_non_null(strstr(ei.msg, want));
    assert_null(pal.tab[0]);
    dcm_file_free(f);
}

static void test_palette_broken(void **state)
{
    static const uint16_t short_plain[] = {1, 2, 3};
    static const uint16_t linear_first[] = {1, 10, 500};
    static const uint16_t opcode3[] = {3, 1, 0};
    static const uint16_t overrun[] = {0, 300, 1, 2};
    static const uint16_t cut[] = {0, 200, 0, 1};
    static const uint16_t too_few[] = {0, 2, 5, 6};
    static const uint16_t bad_offset[] = {0, 1, 7, 2, 1, 1000, 0};
    static const uint16_t nested[] = {0, 1, 7, 2, 1, 6, 0};
    static const uint16_t header_cut[] = {0, 1, 7, 1};
    const uint32_t red = DCM_TAG(0x0028, 0x1201), seg = DCM_TAG(0x0028, 0x1221);
    (void)state;

    broken(short_plain, 3, 256, 16, 1, red, "shorter than its descriptor");
    broken(linear_first, 3, 256, 16, 0, seg, "starts with a linear segment");
    broken(opcode3, 3, 256, 16, 0, seg, "unknown or nested");
    broken(overrun, 4, 256, 16, 0, seg, "past its descriptor's entries");
    broken(cut, 4, 256, 16, 0, seg, "discrete segment past the end");
    broken(too_few, 4, 256, 16, 0, seg, "fewer entries");
    broken(bad_offset, 7, 256, 16, 0, seg, "indirect offset out of range");
    broken(nested, 7, 256, 16, 0, seg, "unknown or nested");
    broken(header_cut, 4, 256, 16, 0, seg, "segment past the end");
    broken(short_plain, 3, 256, 0, 1, DCM_TAG(0x0028, 0x1101), "1 to 16 bits");
    broken(NULL, 0, 256, 16, 1, red, "without its palette LUT data");
}

/* ---- 1 bit, YBR_FULL ------------------------------------------------------------------------ */

static void test_one_bit(void **state)
{
    const uint16_t *v = base12();
    dcm_frame fr;
    dcm_frame m;
    dv_errinfo ei;
    uint64_t got = 0;
    size_t i, changed = 0;
    double psnr;
    (void)state;

    frame_new(&fr, 1, 1, 1, 0, "MONOCHROME2"); /* decoded 1-bit data: one byte 0/1 a pixel */
    for (i = 0; i < NPIX; i++)
        fr.data[i] = (uint8_t)((v[i] ^ (uint16_t)(i * 7)) & 1); /* a mask full of edges */
    assert_int_equal(vault_mark_px_convert(&fr, NULL, &ei), DV_OK);
    assert_int_equal(fr.pi.bits_alloc, 8);
    assert_int_equal(fr.pi.bits_stored, 8);
    assert_int_equal(fr.pi.high_bit, 7);
    for (i = 0; i < NPIX; i++)
        assert_true(fr.data[i] == 0 || fr.data[i] == 255);
    frame_copy(&fr, &m);
    assert_int_equal(mark_embed_frame(&key, PAYLOAD, &m, NULL, NULL, &ei), DV_OK);
    psnr = psnr_native(&fr, &m);
    for (i = 0; i < NPIX; i++)
        changed += m.data[i] != fr.data[i];
    print_message("# 1-bit as 8-bit: PSNR %.1f dB, %zu pixels changed, blind detection %s\n", psnr,
                  changed, detect_render(&m, &got) ? "finds it" : "finds nothing");
    assert_true(psnr >= 48.0);
    assert_true(changed > NPIX / 100); /* the mark is there (on the edges) */
    dcm_frame_release(&m);
    dcm_frame_release(&fr);
}

static void test_ybr_full(void **state)
{
    dcm_frame fr;
    dv_errinfo ei;
    size_t i;
    (void)state;

    frame_new(&fr, 3, 8, 8, 0, "YBR_FULL");
    for (i = 0; i < NPIX; i++) { /* grey: Cb = Cr = 128 */
        fr.data[3 * i] = (uint8_t)(i % 251);
        fr.data[3 * i + 1] = 128;
        fr.data[3 * i + 2] = 128;
    }
    assert_int_equal(vault_mark_px_convert(&fr, NULL, &ei), DV_OK);
    assert_string_equal(fr.pi.photometric, "RGB");
    for (i = 0; i < NPIX; i++)
        assert_true(fr.data[3 * i] == i % 251 && fr.data[3 * i + 1] == i % 251 &&
                    fr.data[3 * i + 2] == i % 251);
    dcm_frame_release(&fr);
    frame_new(&fr, 1, 8, 8, 0, "PALETTE COLOR"); /* a palette frame needs its palette */
    assert_int_equal(vault_mark_px_convert(&fr, NULL, &ei), DV_EINVAL);
    dcm_frame_release(&fr);
}

/* ---- the copy's attributes ------------------------------------------------------------------ */

static long get_us(const dcm_file *f, uint32_t tag)
{
    long v = -1;

    if (dcm_ds_get_int(&f->ds, tag, 0, &v) != DV_OK)
        return -1;
    return v;
}

static void test_attrs(void **state)
{
    dcm_file *f = NULL;
    dcm_pixinfo was, now;
    char s[32];
    dv_errinfo ei;
    (void)state;

    assert_int_equal(dcm_file_new(&f), DV_OK);
    set_desc(f, 0, 256, 0, 16);
    set_desc(f, 1, 256, 0, 16);
    set_desc(f, 2, 256, 0, 16);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0028, 0x1199), DCM_VR_UI, "1.2.3"), DV_OK);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0028, 0x0004), DCM_VR_CS, "PALETTE COLOR"),
                     DV_OK);
    memset(&was, 0, sizeof(was));
    was.samples = 1;
    was.bits_alloc = 16;
    was.bits_stored = 12;
    was.high_bit = 11;
    memcpy(was.photometric, "PALETTE COLOR", 14);
    now = was;
    now.samples = 3;
    now.bits_alloc = now.bits_stored = 8;
    now.high_bit = 7;
    memcpy(now.photometric, "RGB", 4);
    assert_int_equal(vault_mark_px_attrs(f, &was, &now, &ei), DV_OK);
    assert_true(dcm_ds_get_str(&f->ds, DCM_TAG(0x0028, 0x0004), s, sizeof(s)) == 3);
    assert_string_equal(s, "RGB");
    assert_int_equal(get_us(f, DCM_TAG(0x0028, 0x0002)), 3);
    assert_int_equal(get_us(f, DCM_TAG(0x0028, 0x0006)), 0);
    assert_int_equal(get_us(f, DCM_TAG(0x0028, 0x0100)), 8);
    assert_int_equal(get_us(f, DCM_TAG(0x0028, 0x0101)), 8);
    assert_int_equal(get_us(f, DCM_TAG(0x0028, 0x0102)), 7);
    assert_int_equal(get_us(f, DCM_TAG(0x0028, 0x0103)), 0);
    assert_null(dcm_ds_find(&f->ds, DCM_TAG(0x0028, 0x1101)));
    assert_null(dcm_ds_find(&f->ds, DCM_TAG(0x0028, 0x1199)));
    dcm_file_free(f);

    assert_int_equal(dcm_file_new(&f), DV_OK); /* a BINARY segmentation made 8-bit */
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0062, 0x0001), DCM_VR_CS, "BINARY"),
                     DV_OK);
    memset(&was, 0, sizeof(was));
    was.samples = 1;
    was.bits_alloc = was.bits_stored = 1;
    memcpy(was.photometric, "MONOCHROME2", 12);
    now = was;
    now.bits_alloc = now.bits_stored = 8;
    now.high_bit = 7;
    assert_int_equal(vault_mark_px_attrs(f, &was, &now, &ei), DV_OK);
    assert_true(dcm_ds_get_str(&f->ds, DCM_TAG(0x0062, 0x0001), s, sizeof(s)) == 10);
    assert_string_equal(s, "FRACTIONAL");
    assert_int_equal(get_us(f, DCM_TAG(0x0062, 0x000E)), 255);
    assert_true(dcm_ds_get_str(&f->ds, DCM_TAG(0x0062, 0x0010), s, sizeof(s)) > 0);
    assert_string_equal(s, "PROBABILITY");
    assert_null(dcm_ds_find(&f->ds, DCM_TAG(0x0028, 0x0006))); /* one sample: no planar */
    dcm_file_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mono32_unsigned), cmocka_unit_test(test_mono32_signed_24_stored),
        cmocka_unit_test(test_rgb16),           cmocka_unit_test(test_rgb32),
        cmocka_unit_test(test_frame_refusals),  cmocka_unit_test(test_float32),
        cmocka_unit_test(test_palette_plain),   cmocka_unit_test(test_palette_segmented),
        cmocka_unit_test(test_palette_broken),  cmocka_unit_test(test_one_bit),
        cmocka_unit_test(test_ybr_full),        cmocka_unit_test(test_attrs),
    };
    if (crypto_init())
        return 1;
    memset(key.k, 0x3C, sizeof(key.k));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
