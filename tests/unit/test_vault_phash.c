/* SPDX-License-Identifier: Apache-2.0 */
/* test_vault_phash.c - the sealed perceptual hash of a stored image (src/vault/phash.c): a sealed
 * value opens only under its key and for its own row (instance id and object key), any change
 * or truncation is refused with the output zeroed, two seals of one hash differ and neither
 * holds the 8 clear bytes; the hash is the one trace computes from a rendering (render_frame of
 * frame 0 with the defaults, then mark_phash), and an object without pixel data has none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "demo/synth.h"
#include "mark/mark.h"
#include "render/render.h"
#include "vault/phash.h"

#include "common/banned.h"

static const char KEY_A[] = "0123456789abcdef0123456789abcdef";
static const char KEY_B[] = "fedcba9876543210fedcba9876543210";

/* 1 when the 8 bytes of h (either byte order) appear anywhere in p */
static int holds_clear(const uint8_t *p, size_t n, uint64_t h)
{
    uint8_t le[8], be[8];
    size_t i;

    for (i = 0; i < 8; i++) {
        le[i] = (uint8_t)(h >> (8 * i));
        be[7 - i] = le[i];
    }
    for (i = 0; i + 8 <= n; i++)
        if (!memcmp(p + i, le, 8) || !memcmp(p + i, be, 8))
            return 1;
    return 0;
}

static void seal_open_bound_to_row(void **state)
{
    const uint64_t h = 0x8877665544332211ull;
    uint8_t s1[VAULT_PHASH_SEALED_BYTES], s2[VAULT_PHASH_SEALED_BYTES];
    crypto_key k, other;
    uint64_t out = 1;

    (void)state;
    crypto_key_random(&k);
    crypto_key_random(&other);
    assert_int_equal(vault_phash_seal(&k, 7, KEY_A, h, s1), DV_OK);
    assert_int_equal(vault_phash_seal(&k, 7, KEY_A, h, s2), DV_OK);
    assert_true(VAULT_PHASH_SEALED_BYTES > 8);
    assert_memory_not_equal(s1, s2, sizeof(s1)); /* random nonces */
    assert_false(holds_clear(s1, sizeof(s1), h));
    assert_false(holds_clear(s2, sizeof(s2), h));
    assert_int_equal(vault_phash_open(&k, 7, KEY_A, s1, sizeof(s1), &out), DV_OK);
    assert_true(out == h);
    assert_int_equal(vault_phash_open(&k, 7, KEY_A, s2, sizeof(s2), &out), DV_OK);
    assert_true(out == h);

    /* another row, another object, another vault's key: refused, nothing leaks */
    assert_int_equal(vault_phash_open(&k, 8, KEY_A, s1, sizeof(s1), &out), DV_ECRYPTO);
    assert_true(out == 0);
    out = 1;
    assert_int_equal(vault_phash_open(&k, 7, KEY_B, s1, sizeof(s1), &out), DV_ECRYPTO);
    assert_true(out == 0);
    assert_int_equal(vault_phash_open(&other, 7, KEY_A, s1, sizeof(s1), &out), DV_ECRYPTO);
    /* truncated, lengthened, a bit flipped anywhere */
    assert_int_equal(vault_phash_open(&k, 7, KEY_A, s1, sizeof(s1) - 1, &out), DV_ECRYPTO);
    assert_int_equal(vault_phash_open(&k, 7, KEY_A, s1, 0, &out), DV_ECRYPTO);
    for (size_t i = 0; i < sizeof(s1); i++) {
        s1[i] ^= 0x10;
        out = 1;
        assert_int_equal(vault_phash_open(&k, 7, KEY_A, s1, sizeof(s1), &out), DV_ECRYPTO);
        assert_true(out == 0);
        s1[i] ^= 0x10;
    }
    assert_int_equal(vault_phash_open(&k, 7, KEY_A, s1, sizeof(s1), &out), DV_OK);
    /* an object key that is not 32 characters is refused on both sides */
    assert_int_equal(vault_phash_seal(&k, 7, "abc", h, s2), DV_EINVAL);
    assert_int_equal(vault_phash_open(&k, 7, "abc", s1, sizeof(s1), &out), DV_ECRYPTO);
    crypto_key_wipe(&k);
    crypto_key_wipe(&other);
}

static void hash_of_the_rendering(void **state)
{
    synth_study st;
    synth_ct_opts o;
    dcm_file *f[2] = {NULL, NULL}, *empty = NULL;
    render_image im;
    uint64_t h, want, h1;
    dv_errinfo ei;
    size_t i;

    (void)state;
    synth_study_init(&st, 77);
    synth_ct_opts_init(&o);
    o.slices = 10;
    o.rows = 96;
    o.cols = 96;
    assert_int_equal(synth_ct_make(&st, &o, 0, &f[0], &ei), DV_OK);
    assert_int_equal(synth_ct_make(&st, &o, 9, &f[1], &ei), DV_OK);
    for (i = 0; i < 2; i++) {
        memset(&im, 0, sizeof(im));
        assert_int_equal(render_frame(f[i], 0, NULL, &im, &ei), DV_OK);
        assert_int_equal(mark_phash(&im, &want), 0);
        render_image_release(&im);
        assert_int_equal(vault_phash_of(f[i], &h), 0);
        assert_true(h == want);
        if (i == 0)
            h1 = h;
    }
    assert_true(mark_phash_distance(h1, h) > 0); /* head and feet look different */
    /* no pixel data: no hash */
    assert_int_equal(dcm_file_new(&empty), DV_OK);
    h = 5;
    assert_int_equal(vault_phash_of(empty, &h), -1);
    dcm_file_free(empty);
    dcm_file_free(f[0]);
    dcm_file_free(f[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seal_open_bound_to_row),
        cmocka_unit_test(hash_of_the_rendering),
    };

    if (crypto_init() != DV_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
