/* SPDX-License-Identifier: Apache-2.0 */
/* test_mark_fp.c - no false positives: 10,000 detections on generated images that carry no
 * mark for the key used (5,000 unmarked images with random keys, 5,000 checks of marked images
 * with wrong keys) must find nothing.  Images are small (64..160 pixels a side: the identity
 * geometry only) and varied: gradients, sinusoids, edges, noise of several levels. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "mark/mark.h"

#include "common/banned.h"

#define N_UNMARKED 5000
#define N_WRONGKEY 5000
#define PER_IMAGE  50 /* wrong keys tried per marked image */

static uint64_t st = 0xC0FFEE1234ull;

static uint64_t rnd(void)
{
    uint64_t z = (st += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double unit(void)
{
    return (rnd() >> 11) / 9007199254740992.0;
}

static double gauss(void)
{
    return sqrt(-2 * log(unit() + 1e-300)) * cos(2 * M_PI * unit());
}

static void random_key(crypto_key *k)
{
    size_t i;
    for (i = 0; i < sizeof(k->k); i += 8) {
        uint64_t v = rnd();
        memcpy(k->k + i, &v, 8);
    }
}

/* A varied gray image with values 0..255. */
static void make_image(render_image *im)
{
    uint32_t x;
    uint32_t y;
    double gx = unit() * 2 - 1;
    double gy = unit() * 2 - 1;
    double f = 0.01 + unit() * 0.3;
    double a = unit() * 40;
    double sigma = unit() * 8;
    uint32_t rx = (uint32_t)(unit() * im->width);
    uint32_t ry = (uint32_t)(unit() * im->height);

    for (y = 0; y < im->height; y++)
        for (x = 0; x < im->width; x++) {
            double v = 128 + gx * x + gy * y + a * sin(f * x + 0.7 * f * y) + sigma * gauss();
            if (x > rx && y > ry)
                v += 50;
            im->pixels[(size_t)y * im->width + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
}

static void test_no_false_positives(void **state)
{
    render_image im = {0};
    crypto_key k;
    crypto_key owner;
    mark_result r;
    dv_errinfo ei;
    uint32_t found = 0;
    uint32_t z5 = 0;
    double max_z = 0;
    int i;
    (void)state;

    im.channels = 1;
    im.pixels = malloc(160 * 160);
    assert_non_null(im.pixels);
    for (i = 0; i < N_UNMARKED + N_WRONGKEY; i++) {
        if (i < N_UNMARKED || (i - N_UNMARKED) % PER_IMAGE == 0) {
            im.width = 64 + (uint32_t)(rnd() % 97);
            im.height = 64 + (uint32_t)(rnd() % 97);
            make_image(&im);
            if (i >= N_UNMARKED) {
                random_key(&owner);
                assert_int_equal(mark_embed_gray8(&owner, rnd(), &im, NULL, &ei), DV_OK);
            }
        }
        random_key(&k);
        assert_int_equal(mark_detect_image(&k, &im, &r, &ei), DV_OK);
        found += (uint32_t)r.found;
        z5 += r.sync_z > 5;
        max_z = r.sync_z > max_z ? r.sync_z : max_z;
    }
    printf("# %d detections without the right key: %u found, %u sync peaks above z 5, "
           "largest z %.2f\n",
           N_UNMARKED + N_WRONGKEY, found, z5, max_z);
    assert_int_equal(found, 0);
    free(im.pixels);
}

/* The right key still finds the mark in the same kind of image (the test above is not
 * vacuous): 160 x 160 is 1.5 tiles a side. */
static void test_small_images_found(void **state)
{
    render_image im = {0};
    crypto_key k;
    mark_result r;
    dv_errinfo ei;
    int i;
    int ok = 0;
    (void)state;

    im.channels = 1;
    im.width = 160;
    im.height = 160;
    im.pixels = malloc(160 * 160);
    assert_non_null(im.pixels);
    for (i = 0; i < 20; i++) {
        make_image(&im);
        random_key(&k);
        assert_int_equal(mark_embed_gray8(&k, (uint64_t)i, &im, NULL, &ei), DV_OK);
        assert_int_equal(mark_detect_image(&k, &im, &r, &ei), DV_OK);
        ok += r.found && r.payload == (uint64_t)i;
    }
    printf("# small marked images found with the right key: %d of 20\n", ok);
    free(im.pixels);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_false_positives),
        cmocka_unit_test(test_small_images_found),
    };
    if (crypto_init())
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
