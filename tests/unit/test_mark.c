/* SPDX-License-Identifier: Apache-2.0 */
/* test_mark.c - the forensic watermark: payload coding (CRC-24 check value, round trips, bit
 * errors, erasures, noise, wrong CRC mask), embedding in a generated 16-bit radiograph (stored
 * depth) and in 8-bit gray and RGB renders with PSNR >= 48 dB and at most 2 display grey levels
 * of change measured here through the real renderer, blind detection without attack, and
 * nothing found with a wrong key or in an unmarked image.  PNG/JPEG reading and the overlay. */
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

#include "common/banned.h"

static uint64_t rng_state = 0x1234567887654321ull;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double gauss(void)
{
    double u = ((rnd() >> 11) + 0.5) / 9007199254740992.0;
    double v = ((rnd() >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static void key_of(crypto_key *k, uint8_t b)
{
    memset(k->k, b, sizeof(k->k));
    k->k[0] ^= 0x5A;
}

/* ---- coding ----------------------------------------------------------------------------- */

static void test_crc24_check_value(void **state)
{
    (void)state;
    /* CRC-24/OPENPGP check value for "123456789" (RFC 4880 CRC, catalogue value 0x21CF02) */
    assert_int_equal(mark_crc24((const uint8_t *)"123456789", 9), 0x21CF02);
}

static void soft_of(const uint8_t *coded, float *soft)
{
    int i;
    for (i = 0; i < MARK_CODED_BITS; i++)
        soft[i] = coded[i] ? 1.0f : -1.0f;
}

static void roundtrip(uint64_t p)
{
    uint8_t coded[MARK_CODED_BITS];
    float soft[MARK_CODED_BITS];
    uint64_t out = ~p;
    uint32_t errs = 99;

    mark_code_encode(p, 0xABCDEF, coded);
    soft_of(coded, soft);
    assert_true(mark_code_decode(soft, 0xABCDEF, &out, &errs));
    assert_true(out == p);
    assert_int_equal(errs, 0);
}

static void test_code_roundtrip(void **state)
{
    int i;
    (void)state;
    roundtrip(0);
    roundtrip(UINT64_MAX);
    roundtrip(1);
    roundtrip(0x8000000000000000ull);
    for (i = 0; i < 50; i++)
        roundtrip(rnd());
}

static void test_code_errors_erasures(void **state)
{
    uint8_t coded[MARK_CODED_BITS];
    float soft[MARK_CODED_BITS];
    uint64_t out;
    uint32_t errs;
    int t;
    int i;
    (void)state;
    for (t = 0; t < 30; t++) {
        uint64_t p = t == 0 ? 0 : rnd();
        mark_code_encode(p, 0x123456, coded);
        soft_of(coded, soft);
        for (i = 0; i < 25; i++) /* hard errors, about 7 % */
            soft[rnd() % MARK_CODED_BITS] *= -1;
        for (i = 0; i < 80; i++) /* erasures */
            soft[rnd() % MARK_CODED_BITS] = 0;
        assert_true(mark_code_decode(soft, 0x123456, &out, &errs));
        assert_true(out == p);
        assert_true(errs > 0 && errs <= 25);
    }
}

static void test_code_soft_noise(void **state)
{
    uint8_t coded[MARK_CODED_BITS];
    float soft[MARK_CODED_BITS];
    uint64_t out;
    uint32_t errs;
    int ok = 0;
    int t;
    int i;
    (void)state;
    /* Eb/N0 about 4.4 dB per payload bit (352 symbols for 64 bits): sigma 1 on +-1 symbols */
    for (t = 0; t < 100; t++) {
        uint64_t p = rnd();
        mark_code_encode(p, 0, coded);
        soft_of(coded, soft);
        for (i = 0; i < MARK_CODED_BITS; i++)
            soft[i] += (float)gauss();
        ok += mark_code_decode(soft, 0, &out, &errs) && out == p;
    }
    assert_true(ok >= 97);
}

static void test_code_wrong_mask_and_noise(void **state)
{
    uint8_t coded[MARK_CODED_BITS];
    float soft[MARK_CODED_BITS];
    uint64_t out;
    uint32_t errs;
    int pass = 0;
    int t;
    int i;
    (void)state;
    mark_code_encode(42, 0x111111, coded);
    soft_of(coded, soft);
    assert_false(mark_code_decode(soft, 0x111112, &out, &errs));
    for (t = 0; t < 2000; t++) { /* pure noise: the CRC passes with probability 2^-24 */
        for (i = 0; i < MARK_CODED_BITS; i++)
            soft[i] = (float)gauss();
        pass += mark_code_decode(soft, 0x111111, &out, &errs);
    }
    assert_int_equal(pass, 0);
}

/* ---- embedding and detection -------------------------------------------------------------- */

typedef struct xr_fixture {
    synth_xr xr;
    dcm_frame fr;
} xr_fixture;

static void make_xr(xr_fixture *x, uint32_t side)
{
    synth_study st;
    synth_xr_opts o;
    dv_errinfo ei;

    memset(x, 0, sizeof(*x));
    synth_study_init(&st, 7);
    synth_xr_opts_init(&o);
    o.rows = side;
    o.cols = side;
    o.ntexts = 0;
    assert_int_equal(synth_xr_make(&st, &o, &x->xr, &ei), DV_OK);
    assert_int_equal(dcm_frame_decode(x->xr.file, 0, &x->fr, &ei), DV_OK);
}

static void copy_frame(const dcm_frame *a, dcm_frame *b)
{
    *b = *a;
    b->data = malloc(a->len);
    assert_non_null(b->data);
    memcpy(b->data, a->data, a->len);
}

static double psnr16(const dcm_frame *a, const dcm_frame *b)
{
    double se = 0;
    double peak = (double)((1u << a->pi.bits_stored) - 1);
    size_t n = a->len / 2;
    size_t i;

    for (i = 0; i < n; i++) {
        double d = (double)dv_le16(a->data + 2 * i) - dv_le16(b->data + 2 * i);
        se += d * d;
    }
    return se > 0 ? 10 * log10(peak * peak / (se / (double)n)) : INFINITY;
}

static int max_diff8(const render_image *a, const render_image *b)
{
    size_t n = (size_t)a->width * a->height * a->channels;
    int m = 0;
    size_t i;

    for (i = 0; i < n; i++)
        m = abs(a->pixels[i] - b->pixels[i]) > m ? abs(a->pixels[i] - b->pixels[i]) : m;
    return m;
}

static double psnr8(const render_image *a, const render_image *b)
{
    size_t n = (size_t)a->width * a->height * a->channels;
    double se = 0;
    size_t i;

    for (i = 0; i < n; i++)
        se += (double)(a->pixels[i] - b->pixels[i]) * (a->pixels[i] - b->pixels[i]);
    return se > 0 ? 10 * log10(255.0 * 255.0 / (se / (double)n)) : INFINITY;
}

static void test_frame_embed_detect(void **state)
{
    xr_fixture x;
    dcm_frame marked;
    dcm_frame tmp;
    render_image before = {0};
    render_image after = {0};
    mark_window w;
    mark_stats st;
    mark_result r;
    crypto_key k;
    crypto_key k2;
    dv_errinfo ei;
    (void)state;

    make_xr(&x, 1024);
    key_of(&k, 1);
    key_of(&k2, 2);
    copy_frame(&x.fr, &marked);
    mark_window_of(&x.xr.file->ds, &marked, &w);
    assert_int_equal(mark_embed_frame(&k, 0xFEDCBA9876543210ull, &marked, &w, &st, &ei), DV_OK);
    assert_true(psnr16(&x.fr, &marked) >= 48.0);
    assert_true(st.psnr_db >= 48.0);
    copy_frame(&x.fr, &tmp);
    assert_int_equal(render_decoded(&x.xr.file->ds, 0, &tmp, NULL, &before, &ei), DV_OK);
    dcm_frame_release(&tmp);
    copy_frame(&marked, &tmp);
    assert_int_equal(render_decoded(&x.xr.file->ds, 0, &tmp, NULL, &after, &ei), DV_OK);
    dcm_frame_release(&tmp);
    assert_true(max_diff8(&before, &after) <= 2);
    assert_int_equal(mark_detect_image(&k, &after, &r, &ei), DV_OK);
    assert_true(r.found);
    assert_true(r.payload == 0xFEDCBA9876543210ull);
    assert_true(r.fp_probability < MARK_FP_MAX);
    assert_int_equal(mark_detect_image(&k2, &after, &r, &ei), DV_OK);
    assert_false(r.found);
    assert_int_equal(mark_detect_image(&k, &before, &r, &ei), DV_OK);
    assert_false(r.found);
    render_image_release(&before);
    render_image_release(&after);
    dcm_frame_release(&marked);
    dcm_frame_release(&x.fr);
    synth_xr_release(&x.xr);
}

static void render_xr(render_image *im, uint32_t side)
{
    xr_fixture x;
    dv_errinfo ei;

    make_xr(&x, side);
    assert_int_equal(render_decoded(&x.xr.file->ds, 0, &x.fr, NULL, im, &ei), DV_OK);
    dcm_frame_release(&x.fr);
    synth_xr_release(&x.xr);
}

static void test_gray8_embed_detect(void **state)
{
    render_image orig = {0};
    render_image im = {0};
    mark_stats st;
    mark_result r;
    crypto_key k;
    dv_errinfo ei;
    (void)state;

    render_xr(&orig, 1024);
    im = orig;
    im.pixels = malloc((size_t)orig.width * orig.height);
    assert_non_null(im.pixels);
    memcpy(im.pixels, orig.pixels, (size_t)orig.width * orig.height);
    key_of(&k, 3);
    assert_int_equal(mark_embed_gray8(&k, 0, &im, &st, &ei), DV_OK);
    assert_true(psnr8(&orig, &im) >= 48.0);
    assert_true(max_diff8(&orig, &im) <= 2);
    assert_int_equal(mark_detect_image(&k, &im, &r, &ei), DV_OK);
    assert_true(r.found);
    assert_true(r.payload == 0);
    key_of(&k, 4);
    assert_int_equal(mark_detect_image(&k, &im, &r, &ei), DV_OK);
    assert_false(r.found);
    render_image_release(&orig);
    render_image_release(&im);
}

/* The perceptual hash: a noisy, half-size copy stays close; another image is far. */
static void test_phash(void **state)
{
    render_image im = {0}, half = {0}, other = {0}, bad = {0};
    uint64_t h, hh, ho;
    uint32_t x, y;
    double v;
    (void)state;

    render_xr(&im, 512);
    half.width = half.height = 256;
    half.channels = 1;
    half.pixels = malloc(256 * 256);
    other = half;
    other.pixels = malloc(256 * 256);
    assert_non_null(half.pixels);
    assert_non_null(other.pixels);
    rng_state = 0x7777ull;
    for (y = 0; y < 256; y++)
        for (x = 0; x < 256; x++) {
            v = (im.pixels[2 * y * 512 + 2 * x] + im.pixels[2 * y * 512 + 2 * x + 1]) / 2.0 +
                6.0 * gauss();
            half.pixels[y * 256 + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrint(v));
            other.pixels[y * 256 + x] = im.pixels[(2 * x) * 512 + 2 * y]; /* transposed */
        }
    assert_int_equal(mark_phash(&im, &h), 0);
    assert_int_equal(mark_phash(&half, &hh), 0);
    assert_int_equal(mark_phash(&other, &ho), 0);
    assert_true(mark_phash_distance(h, hh) <= 8);
    assert_true(mark_phash_distance(h, ho) >= 16);
    assert_int_equal(mark_phash_distance(h, h), 0);
    assert_int_equal(mark_phash(&bad, &h), -1);
    render_image_release(&im);
    render_image_release(&half);
    render_image_release(&other);
}

#define CROP  384
#define SIGMA 24.0

/* The informed mode: heavy noise defeats blind decoding, but testing a few candidates (the
 * entries of one study's accesses) still finds the right one, and only that one. */
static void test_informed_candidates(void **state)
{
    static const uint64_t with[] = {17, 4242, 99, 123456789};
    static const uint64_t without[] = {17, 99, 123456789, 4243};
    render_image full = {0}, im = {0};
    mark_result r;
    crypto_key k;
    dv_errinfo ei;
    size_t i, n;
    double v;
    (void)state;

    render_xr(&full, 1024);
    key_of(&k, 5);
    assert_int_equal(mark_embed_gray8(&k, 4242, &full, NULL, &ei), DV_OK);
    /* a CROP x CROP piece of it, with Gaussian noise of SIGMA grey levels */
    im.width = im.height = CROP;
    im.channels = 1;
    im.pixels = malloc((size_t)CROP * CROP);
    assert_non_null(im.pixels);
    n = (size_t)CROP * CROP;
    rng_state = 0x5eed5eed5eedull;
    for (i = 0; i < n; i++) {
        v = full.pixels[(i / CROP + 300) * full.width + i % CROP + 300] + SIGMA * gauss();
        im.pixels[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrint(v));
    }
    render_image_release(&full);
    assert_int_equal(mark_detect_image(&k, &im, &r, &ei), DV_OK);
    assert_false(r.found); /* blind decoding gives up */
    assert_int_equal(mark_detect_image_candidates(&k, &im, with, 4, &r, &ei), DV_OK);
    assert_true(r.found);
    assert_true(r.payload == 4242);
    assert_true(r.fp_probability < MARK_FP_MAX);
    assert_int_equal(mark_detect_image_candidates(&k, &im, without, 4, &r, &ei), DV_OK);
    assert_false(r.found);
    assert_int_equal(mark_detect_image_candidates(&k, &im, with, 0, &r, &ei), DV_OK);
    assert_false(r.found);
    key_of(&k, 6); /* another key: nothing, whatever the candidates */
    assert_int_equal(mark_detect_image_candidates(&k, &im, with, 4, &r, &ei), DV_OK);
    assert_false(r.found);
    render_image_release(&im);
}

static void test_rgb_flat_and_limits(void **state)
{
    render_image im = {0};
    mark_stats st;
    mark_result r;
    crypto_key k;
    dv_errinfo ei;
    float tiny[16];
    size_t i;
    (void)state;

    key_of(&k, 5);
    im.width = 300;
    im.height = 200;
    im.channels = 3;
    im.pixels = malloc(300 * 200 * 3);
    assert_non_null(im.pixels);
    memset(im.pixels, 77, 300 * 200 * 3); /* flat: nothing to hide in, nothing changes */
    assert_int_equal(mark_embed_gray8(&k, 9, &im, &st, &ei), DV_OK);
    for (i = 0; i < 300 * 200 * 3; i++)
        assert_int_equal(im.pixels[i], 77);
    assert_true(st.marked_fraction == 0);
    assert_int_equal(mark_detect_image(&k, &im, &r, &ei), DV_OK);
    assert_false(r.found);
    render_image_release(&im);
    memset(tiny, 0, sizeof(tiny));
    assert_int_equal(mark_detect(&k, tiny, 4, 4, &r, &ei), DV_OK);
    assert_false(r.found);
    assert_int_equal(mark_detect(&k, tiny, 0, 4, &r, &ei), DV_EINVAL);
    assert_int_equal(mark_detect(&k, tiny, 100000, 100000, &r, &ei), DV_ELIMIT);
    tiny[3] = NAN;
    assert_int_equal(mark_detect(&k, tiny, 4, 4, &r, &ei), DV_OK); /* too small: not read */
}

static void test_imgio_and_overlay(void **state)
{
    render_image im = {0};
    render_image back = {0};
    dv_buf png;
    dv_buf jpg;
    dv_errinfo ei;
    mark_imgtype t;
    size_t i;
    size_t changed = 0;
    (void)state;

    render_xr(&im, 256);
    dv_buf_init(&png, 1 << 24);
    dv_buf_init(&jpg, 1 << 24);
    assert_int_equal(render_png(&im, &png, &ei), DV_OK);
    assert_int_equal(render_jpeg(&im, 90, &jpg, &ei), DV_OK);
    assert_int_equal(mark_img_decode(png.p, png.len, &back, &t, &ei), DV_OK);
    assert_int_equal(t, MARK_IMG_PNG);
    assert_memory_equal(back.pixels, im.pixels, (size_t)256 * 256);
    render_image_release(&back);
    assert_int_equal(mark_img_decode(jpg.p, jpg.len, &back, &t, &ei), DV_OK);
    assert_int_equal(t, MARK_IMG_JPEG);
    assert_int_equal(back.width, 256);
    render_image_release(&back);
    assert_int_equal(mark_img_decode(png.p, 40, &back, &t, &ei), DV_ECODEC);
    assert_int_equal(mark_img_decode((const uint8_t *)"hello", 5, &back, &t, &ei), DV_EUNSUPPORTED);
    back = im;
    back.pixels = malloc((size_t)256 * 256);
    assert_non_null(back.pixels);
    memcpy(back.pixels, im.pixels, (size_t)256 * 256);
    assert_int_equal(mark_overlay(&back, "viewer 1234 2026-01-01", 0.2, NULL, &ei), DV_OK);
    for (i = 0; i < (size_t)256 * 256; i++)
        changed += back.pixels[i] != im.pixels[i];
    assert_true(changed > 500);
    assert_int_equal(mark_overlay(&back, "x", 0.2, "/nonexistent/font.ttf", &ei), DV_ENOTFOUND);
    render_image_release(&back);
    render_image_release(&im);
    dv_buf_release(&png);
    dv_buf_release(&jpg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc24_check_value),
        cmocka_unit_test(test_code_roundtrip),
        cmocka_unit_test(test_code_errors_erasures),
        cmocka_unit_test(test_code_soft_noise),
        cmocka_unit_test(test_code_wrong_mask_and_noise),
        cmocka_unit_test(test_frame_embed_detect),
        cmocka_unit_test(test_gray8_embed_detect),
        cmocka_unit_test(test_informed_candidates),
        cmocka_unit_test(test_phash),
        cmocka_unit_test(test_rgb_flat_and_limits),
        cmocka_unit_test(test_imgio_and_overlay),
    };
    if (crypto_init())
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
