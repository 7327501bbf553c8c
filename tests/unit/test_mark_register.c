/* SPDX-License-Identifier: Apache-2.0 */
/* test_mark_register.c - the informed mode with the original: a marked render photographed in
 * perspective (a 1.5:1 keystone), shrunk, turned, blurred, gamma-shifted, noisy (sigma 10) and
 * re-saved as JPEG is registered to its original (the homography found maps the corners where
 * the test put them) and traced to the right candidate, also mirrored, negated or cut small,
 * while another image, another key or candidates without the mark give nothing. */
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
#include "mark/mark.h"
#include "render/render.h"

#include "common/banned.h"

static uint64_t rng_state = 0x2468ace013579bdfull;

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
    k->k[0] ^= 0x3C;
}

/* A rendered synthetic radiograph (no text) of side x side, seed chooses the patient. */
static void render_xr(render_image *im, uint32_t side, uint64_t seed)
{
    synth_study st;
    synth_xr_opts o;
    synth_xr xr;
    dv_errinfo ei;

    synth_study_init(&st, seed);
    synth_xr_opts_init(&o);
    o.rows = side;
    o.cols = side;
    o.ntexts = 0;
    assert_int_equal(synth_xr_make(&st, &o, &xr, &ei), DV_OK);
    assert_int_equal(render_frame(xr.file, 0, NULL, im, &ei), DV_OK);
    synth_xr_release(&xr);
}

static float *to_float(const render_image *im)
{
    size_t i, n = (size_t)im->width * im->height;
    float *f = malloc(n * sizeof(float));

    assert_non_null(f);
    assert_int_equal(im->channels, 1);
    for (i = 0; i < n; i++)
        f[i] = im->pixels[i];
    return f;
}

/* The homography (h[8] = 1) taking the four points s to the four points d: the test's own 8 x 8
 * solve (Cramer-free Gauss-Jordan), independent of the code under test. */
static void homography4(const double s[8], const double d[8], double h[9])
{
    double a[8][9];
    int i, j, k;

    for (i = 0; i < 4; i++) {
        double u = s[2 * i], v = s[2 * i + 1], x = d[2 * i], y = d[2 * i + 1];
        double r0[9] = {u, v, 1, 0, 0, 0, -u * x, -v * x, x};
        double r1[9] = {0, 0, 0, u, v, 1, -u * y, -v * y, y};
        memcpy(a[2 * i], r0, sizeof(r0));
        memcpy(a[2 * i + 1], r1, sizeof(r1));
    }
    for (i = 0; i < 8; i++) {
        int p = i;
        for (k = i + 1; k < 8; k++)
            if (fabs(a[k][i]) > fabs(a[p][i]))
                p = k;
        for (j = 0; j < 9; j++) {
            double t = a[i][j];
            a[i][j] = a[p][j];
            a[p][j] = t;
        }
        for (k = 0; k < 8; k++) {
            double f = a[k][i] / a[i][i];
            if (k == i)
                continue;
            for (j = i; j < 9; j++)
                a[k][j] -= f * a[i][j];
        }
    }
    for (i = 0; i < 8; i++)
        h[i] = a[i][8] / a[i][i];
    h[8] = 1;
}

static void apply_h(const double h[9], double u, double v, double *x, double *y)
{
    double w = h[6] * u + h[7] * v + h[8];
    *x = (h[0] * u + h[1] * v + h[2]) / w;
    *y = (h[3] * u + h[4] * v + h[5]) / w;
}

static void invert_h(const double a[9], double o[9])
{
    double d = a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) +
               a[2] * (a[3] * a[7] - a[4] * a[6]);
    o[0] = (a[4] * a[8] - a[5] * a[7]) / d;
    o[1] = (a[2] * a[7] - a[1] * a[8]) / d;
    o[2] = (a[1] * a[5] - a[2] * a[4]) / d;
    o[3] = (a[5] * a[6] - a[3] * a[8]) / d;
    o[4] = (a[0] * a[8] - a[2] * a[6]) / d;
    o[5] = (a[2] * a[3] - a[0] * a[5]) / d;
    o[6] = (a[3] * a[7] - a[4] * a[6]) / d;
    o[7] = (a[1] * a[6] - a[0] * a[7]) / d;
    o[8] = (a[0] * a[4] - a[1] * a[3]) / d;
}

/* The "photo": the marked image seen through h (image -> photo) on a w x h dark background,
 * 3 x 3 supersampled, then gamma, Gaussian blur (3-tap), noise and JPEG quality q. */
typedef struct photo_opts {
    double gamma, noise, blur;
    int quality, negative;
} photo_opts;

static void photograph(const render_image *src, const double h[9], uint32_t w, uint32_t hh,
                       const photo_opts *po, render_image *out)
{
    double hi[9], u, v;
    float *acc = calloc((size_t)w * hh, sizeof(float));
    uint32_t x, y, i, j;
    render_image tmp = {w, hh, 1, NULL};
    dv_buf jpg;
    dv_errinfo ei;
    mark_imgtype t;

    assert_non_null(acc);
    invert_h(h, hi);
    for (y = 0; y < hh; y++)
        for (x = 0; x < w; x++) {
            double a = 0;
            for (j = 0; j < 3; j++)
                for (i = 0; i < 3; i++) {
                    apply_h(hi, x + (i + 0.5) / 3 - 0.5, y + (j + 0.5) / 3 - 0.5, &u, &v);
                    if (u >= 0 && v >= 0 && u <= src->width - 1.0 && v <= src->height - 1.0) {
                        long x0 = (long)u, y0 = (long)v;
                        long x1 = x0 + 1 < (long)src->width ? x0 + 1 : x0;
                        long y1 = y0 + 1 < (long)src->height ? y0 + 1 : y0;
                        double fx = u - x0, fy = v - y0;
                        const uint8_t *p = src->pixels;
                        a += (1 - fy) * ((1 - fx) * p[y0 * src->width + x0] +
                                         fx * p[y0 * src->width + x1]) +
                             fy * ((1 - fx) * p[y1 * src->width + x0] +
                                   fx * p[y1 * src->width + x1]);
                    } else {
                        a += 12; /* the dark room around the screen */
                    }
                }
            acc[(size_t)y * w + x] = (float)(a / 9);
        }
    tmp.pixels = malloc((size_t)w * hh);
    assert_non_null(tmp.pixels);
    for (y = 0; y < hh; y++)
        for (x = 0; x < w; x++) {
            double c = acc[(size_t)y * w + x], k = po->blur;
            if (k > 0 && x > 0 && y > 0 && x + 1 < w && y + 1 < hh)
                c = (1 - 4 * k) * c +
                    k * (acc[(size_t)y * w + x - 1] + acc[(size_t)y * w + x + 1] +
                         acc[(size_t)(y - 1) * w + x] + acc[(size_t)(y + 1) * w + x]);
            c = 255 * pow(c / 255, po->gamma) + po->noise * gauss();
            c = po->negative ? 255 - c : c;
            tmp.pixels[(size_t)y * w + x] = (uint8_t)(c < 0 ? 0 : c > 255 ? 255 : lrint(c));
        }
    free(acc);
    dv_buf_init(&jpg, 1u << 28);
    assert_int_equal(render_jpeg(&tmp, po->quality, &jpg, &ei), DV_OK);
    render_image_release(&tmp);
    assert_int_equal(mark_img_decode(jpg.p, jpg.len, out, &t, &ei), DV_OK);
    assert_int_equal(t, MARK_IMG_JPEG);
    dv_buf_release(&jpg);
}

typedef struct fixture {
    render_image orig, marked;
    float *ref;
    crypto_key key;
} fixture;

#define PAYLOAD 77123ull
static const uint64_t with[] = {5, 77123, 900, 77124, 31337};
static const uint64_t without[] = {5, 900, 77124, 31337};

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    dv_errinfo ei;

    assert_non_null(f);
    render_xr(&f->orig, 1024, 11);
    f->marked = f->orig;
    f->marked.pixels = malloc((size_t)1024 * 1024);
    assert_non_null(f->marked.pixels);
    memcpy(f->marked.pixels, f->orig.pixels, (size_t)1024 * 1024);
    key_of(&f->key, 9);
    assert_int_equal(mark_embed_gray8(&f->key, PAYLOAD, &f->marked, NULL, &ei), DV_OK);
    f->ref = to_float(&f->orig);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    render_image_release(&f->orig);
    render_image_release(&f->marked);
    free(f->ref);
    free(f);
    return 0;
}

/* A keystone photo: the top edge 1.6 times narrower than the bottom, shrunk to ~50-70%, turned
 * 4 degrees, blurred, gamma and noise as asked. */
static void keystone(const fixture *f, const photo_opts *po, double h[9], render_image *leak)
{
    const double s[8] = {0, 0, 1024, 0, 1024, 1024, 0, 1024};
    double d[8] = {200, 60, 600, 60, 720, 780, 80, 780}; /* top 400 wide, bottom 640 */
    double c = cos(4 * M_PI / 180), sn = sin(4 * M_PI / 180);
    int i;

    for (i = 0; i < 4; i++) {
        double x = d[2 * i] - 400, y = d[2 * i + 1] - 420;
        d[2 * i] = 400 + c * x - sn * y;
        d[2 * i + 1] = 420 + sn * x + c * y;
    }
    homography4(s, d, h);
    photograph(&f->marked, h, 800, 840, po, leak);
}

static void test_keystone_photo(void **state)
{
    fixture *f = *state;
    photo_opts po = {0.8, 20, 0.12, 40, 0};
    render_image leak = {0};
    double h[9], x, y, ex, ey, worst = 0;
    const double cu[4] = {0, 1024, 1024, 0}, cv[4] = {0, 0, 1024, 1024};
    mark_result r;
    mark_reg reg;
    crypto_key other;
    dv_errinfo ei;
    int i;

    keystone(f, &po, h, &leak);
    assert_int_equal(mark_detect_image(&f->key, &leak, &r, &ei), DV_OK);
    assert_false(r.found); /* blind: too much noise and keystone */
    assert_int_equal(
        mark_detect_original(&f->key, f->ref, 1024, 1024, &leak, with, 5, &r, &reg, &ei), DV_OK);
    assert_true(reg.ok);
    for (i = 0; i < 4; i++) { /* the corners land where the photo put them */
        apply_h(reg.h, cu[i], cv[i], &x, &y);
        apply_h(h, cu[i], cv[i], &ex, &ey);
        worst = fmax(worst, hypot(x - ex, y - ey));
    }
    print_message("keystone: %u/%u inliers, corner error %.2f px, blur %.1f, p %.1e\n", reg.inliers,
                  reg.matches, worst, reg.blur, r.fp_probability);
    assert_true(worst < 1.5);
    assert_true(r.found);
    assert_true(r.payload == PAYLOAD);
    assert_true(r.fp_probability < MARK_FP_MAX);
    /* the same photo, candidates without its entry: nothing */
    assert_int_equal(
        mark_detect_original(&f->key, f->ref, 1024, 1024, &leak, without, 4, &r, NULL, &ei), DV_OK);
    assert_false(r.found);
    /* another key: nothing */
    key_of(&other, 10);
    assert_int_equal(
        mark_detect_original(&other, f->ref, 1024, 1024, &leak, with, 5, &r, NULL, &ei), DV_OK);
    assert_false(r.found);
    render_image_release(&leak);
}

/* Blind decoding of the residual (no candidates): the CRC decides. */
static void test_residual_blind(void **state)
{
    fixture *f = *state;
    photo_opts po = {0.9, 6, 0.08, 70, 0};
    render_image leak = {0};
    double h[9];
    mark_result r;
    dv_errinfo ei;

    keystone(f, &po, h, &leak);
    assert_int_equal(
        mark_detect_original(&f->key, f->ref, 1024, 1024, &leak, NULL, 0, &r, NULL, &ei), DV_OK);
    assert_true(r.found);
    assert_true(r.payload == PAYLOAD);
    render_image_release(&leak);
}

/* A mirrored, negated photo: the registration tries flips and the negative. */
static void test_mirrored_negative(void **state)
{
    fixture *f = *state;
    photo_opts po = {1.0, 5, 0.05, 75, 1};
    const double s[8] = {0, 0, 1024, 0, 1024, 1024, 0, 1024};
    const double d[8] = {700, 20, 20, 40, 40, 700, 690, 710}; /* left-right mirrored, ~0.67x */
    render_image leak = {0};
    double h[9];
    mark_result r;
    mark_reg reg;
    dv_errinfo ei;

    homography4(s, d, h);
    photograph(&f->marked, h, 720, 730, &po, &leak);
    assert_int_equal(
        mark_detect_original(&f->key, f->ref, 1024, 1024, &leak, with, 5, &r, &reg, &ei), DV_OK);
    print_message("mirrored negative: ok %d variant %d inv %d, %u/%u inliers, p %.1e\n", reg.ok,
                  reg.variant, reg.inverted, reg.inliers, reg.matches, r.fp_probability);
    assert_true(reg.ok);
    assert_int_equal(reg.inverted, 1);
    assert_true(r.found);
    assert_true(r.payload == PAYLOAD);
    render_image_release(&leak);
}

/* A quarter of the image (512 x 512) shrunk to half (256 px), noise, JPEG 70: small. */
static void test_small_crop(void **state)
{
    fixture *f = *state;
    photo_opts po = {1.0, 4, 0, 70, 0};
    const double s[8] = {200, 300, 712, 300, 712, 812, 200, 812};
    const double d[8] = {0, 0, 256, 0, 256, 256, 0, 256};
    render_image leak = {0};
    double h[9];
    mark_result r;
    mark_reg reg;
    dv_errinfo ei;

    homography4(s, d, h);
    photograph(&f->marked, h, 256, 256, &po, &leak);
    assert_int_equal(mark_detect_image_candidates(&f->key, &leak, with, 5, &r, &ei), DV_OK);
    print_message("small crop blind-informed: p %.1e\n", r.fp_probability);
    assert_int_equal(
        mark_detect_original(&f->key, f->ref, 1024, 1024, &leak, with, 5, &r, &reg, &ei), DV_OK);
    print_message("small crop: ok %d, %u/%u inliers, p %.1e\n", reg.ok, reg.inliers, reg.matches,
                  r.fp_probability);
    assert_true(reg.ok);
    assert_true(r.found);
    assert_true(r.payload == PAYLOAD);
    render_image_release(&leak);
}

/* Another picture as the "original": no registration, nothing found; an unmarked photo of the right
 * original: registered, nothing found. */
/* Another picture: smoothed noise with a few bright discs (corners to match, none of them the
 * radiograph's). */
static float *other_picture(uint32_t side)
{
    float *p = malloc((size_t)side * side * sizeof(float)), *t = malloc(side * sizeof(float));
    uint32_t x, y, i;

    assert_non_null(p);
    assert_non_null(t);
    for (i = 0; i < side * side; i++)
        p[i] = (float)(128 + 40 * gauss());
    for (i = 0; i < 3; i++) /* three box passes along rows and columns */
        for (y = 0; y < side; y++) {
            for (x = 0; x < side; x++)
                t[x] = (p[y * side + (x ? x - 1 : x)] + p[y * side + x] +
                        p[y * side + (x + 1 < side ? x + 1 : x)]) /
                       3;
            memcpy(p + y * side, t, side * sizeof(float));
            for (x = 0; x < side; x++)
                t[x] = (p[(x ? x - 1 : x) * side + y] + p[x * side + y] +
                        p[(x + 1 < side ? x + 1 : x) * side + y]) /
                       3;
            for (x = 0; x < side; x++)
                p[x * side + y] = t[x];
        }
    for (i = 0; i < 40; i++) {
        double cx = (double)(rnd() % side), cy = (double)(rnd() % side),
               r = 10 + (double)(rnd() % 40);
        for (y = 0; y < side; y++)
            for (x = 0; x < side; x++)
                if (hypot(x - cx, y - cy) < r)
                    p[y * side + x] += 60;
    }
    free(t);
    return p;
}

static void test_wrong_original_and_unmarked(void **state)
{
    fixture *f = *state;
    photo_opts po = {0.8, 10, 0.12, 60, 0};
    render_image leak = {0};
    float *oref;
    double h[9];
    mark_result r;
    mark_reg reg;
    dv_errinfo ei;

    oref = other_picture(1024);
    keystone(f, &po, h, &leak);
    assert_int_equal(mark_detect_original(&f->key, oref, 1024, 1024, &leak, with, 5, &r, &reg, &ei),
                     DV_OK);
    assert_false(reg.ok);
    assert_false(r.found);
    render_image_release(&leak);
    photograph(&f->orig, h, 800, 840, &po, &leak); /* the unmarked original, photographed */
    assert_int_equal(
        mark_detect_original(&f->key, f->ref, 1024, 1024, &leak, with, 5, &r, &reg, &ei), DV_OK);
    assert_true(reg.ok);
    assert_false(r.found);
    render_image_release(&leak);
    free(oref);
}

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    render_image empty = {0};
    mark_result r;
    mark_reg reg;
    dv_errinfo ei;
    float tiny[16] = {0};

    assert_int_equal(
        mark_detect_original(&f->key, f->ref, 1024, 1024, &empty, with, 5, &r, NULL, &ei),
        DV_EINVAL);
    assert_int_equal(mark_register(tiny, 4, 4, f->ref, 1024, 1024, &reg, &ei), DV_OK);
    assert_false(reg.ok);
    assert_int_equal(mark_register(f->ref, 100000, 100000, f->ref, 1024, 1024, &reg, &ei),
                     DV_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keystone_photo),
        cmocka_unit_test(test_residual_blind),
        cmocka_unit_test(test_mirrored_negative),
        cmocka_unit_test(test_small_crop),
        cmocka_unit_test(test_wrong_original_and_unmarked),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
