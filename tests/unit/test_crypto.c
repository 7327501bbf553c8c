/* SPDX-License-Identifier: Apache-2.0 */
/* test_crypto.c - keys, key files, passphrase KEKs, wrapping, sealed objects (every algorithm,
 * ranges, tampering of every kind, out of memory), sealed fields and blind indexes.
 *
 * Expected values never come from our own code: the object format is checked by decrypting a
 * chunk with libsodium directly, following the layout written in crypto.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/buf.h"
#include "crypto/crypto.h"

#include "common/banned.h"

#define MiB (1024u * 1024u)
#define CS  4096u

/* ---- helpers ------------------------------------------------------------------------------ */

static crypto_alg algs[3];
static size_t nalgs;

static int setup(void **state)
{
    (void)state;
    if (crypto_init() != DV_OK)
        return -1;
    nalgs = 0;
    if (crypto_alg_from_name("aes256gcm") != CRYPTO_ALG_NONE)
        algs[nalgs++] = CRYPTO_ALG_AES256GCM;
    algs[nalgs++] = CRYPTO_ALG_XCHACHA20POLY1305;
    if (crypto_alg_from_name("sm4") != CRYPTO_ALG_NONE)
        algs[nalgs++] = CRYPTO_ALG_SM4CTR_HMACSM3;
    return 0;
}

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n ? n : 1);
    size_t i;

    assert_non_null(p);
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 131u + seed * 7u + (i >> 8)) & 0xFF);
    return p;
}

static void fixed_id(uint8_t id[CRYPTO_OBJ_ID_BYTES], uint8_t v)
{
    memset(id, v, CRYPTO_OBJ_ID_BYTES);
}

static uint64_t nchunks(uint64_t len, uint32_t cs)
{
    return len == 0 ? 1 : (len + cs - 1) / cs;
}

static void seal(crypto_alg alg, const crypto_key *k, const uint8_t *id, uint32_t cs,
                 const uint8_t *pt, size_t len, dv_buf *out)
{
    dv_errinfo ei;

    dv_buf_init(out, 1u << 30);
    assert_int_equal(crypto_obj_seal(alg, k, id, cs, pt, len, out, &ei), DV_OK);
}

static int all_zero(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* opens ct and expects DV_ETAMPER with an emptied, zeroed output */
static void expect_tamper(const crypto_key *k, const uint8_t *id, const uint8_t *ct, size_t n)
{
    dv_buf out;
    dv_errinfo ei;

    dv_buf_init(&out, 1u << 30);
    assert_int_equal(dv_buf_add(&out, "prefix", 6), DV_OK);
    assert_int_equal(crypto_obj_open(k, id, ct, n, &out, &ei), DV_ETAMPER);
    assert_int_equal(out.len, 0);
    assert_true(all_zero(out.p, 6));
    dv_buf_release(&out);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir)
{
    (void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

/* ---- algorithms, keys --------------------------------------------------------------------- */

static void test_alg_names(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < nalgs; i++)
        assert_int_equal(crypto_alg_from_name(crypto_alg_name(algs[i])), algs[i]);
    assert_int_equal(crypto_alg_from_name("rot13"), CRYPTO_ALG_NONE);
    assert_int_equal(crypto_alg_from_name(NULL), CRYPTO_ALG_NONE);
    assert_int_equal(crypto_alg_from_name("AES256GCM"), CRYPTO_ALG_NONE);
    if (crypto_aead_aes256gcm_is_available())
        assert_int_equal(crypto_default_alg(), CRYPTO_ALG_AES256GCM);
    else
        assert_int_equal(crypto_default_alg(), CRYPTO_ALG_XCHACHA20POLY1305);
}

static void test_key_derive_wipe(void **state)
{
    crypto_key root, a, b, c, r2;

    (void)state;
    crypto_key_random(&root);
    crypto_key_random(&r2);
    assert_int_equal(crypto_key_derive(&root, "blind-index", &a), DV_OK);
    assert_int_equal(crypto_key_derive(&root, "blind-index", &b), DV_OK);
    assert_memory_equal(a.k, b.k, CRYPTO_KEY_BYTES);
    assert_int_equal(crypto_key_derive(&root, "pseudonym", &c), DV_OK);
    assert_memory_not_equal(a.k, c.k, CRYPTO_KEY_BYTES);
    assert_memory_not_equal(a.k, root.k, CRYPTO_KEY_BYTES);
    assert_int_equal(crypto_key_derive(&r2, "blind-index", &c), DV_OK);
    assert_memory_not_equal(a.k, c.k, CRYPTO_KEY_BYTES);
    assert_int_equal(crypto_key_derive(&root, "", &c), DV_EINVAL);
    assert_int_equal(crypto_key_derive(&root, NULL, &c), DV_EINVAL);
    crypto_key_lock(&a);
    crypto_key_wipe(&a);
    assert_true(all_zero(a.k, CRYPTO_KEY_BYTES));
    crypto_key_wipe(&b);
    assert_true(all_zero(b.k, CRYPTO_KEY_BYTES));
    crypto_key_wipe(NULL);
}

/* ---- sealed objects: round trips ---------------------------------------------------------- */

static void roundtrip_one(crypto_alg alg, uint32_t cs, size_t len)
{
    crypto_key k;
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
    uint8_t *pt = pattern(len, (unsigned)len);
    crypto_obj_info info;
    dv_buf ct, out;
    dv_errinfo ei;
    uint32_t ecs = cs ? cs : CRYPTO_CHUNK_DEFAULT;

    crypto_key_random(&k);
    crypto_random(id, sizeof(id));
    seal(alg, &k, id, cs, pt, len, &ct);
    assert_int_equal(ct.len, CRYPTO_OBJ_HEADER + len + nchunks(len, ecs) * CRYPTO_OBJ_TAG);
    assert_int_equal(crypto_obj_info_get(ct.p, ct.len, &info, &ei), DV_OK);
    assert_int_equal(info.alg, alg);
    assert_int_equal(info.chunk_size, ecs);
    assert_int_equal(info.plaintext_len, len);
    assert_memory_equal(info.id, id, sizeof(id));
    if (len >= 32) /* the plaintext does not show through */
        assert_null(memmem(ct.p, ct.len, pt, 32));
    dv_buf_init(&out, 1u << 30);
    assert_int_equal(crypto_obj_open(&k, id, ct.p, ct.len, &out, &ei), DV_OK);
    assert_int_equal(out.len, len);
    if (len)
        assert_memory_equal(out.p, pt, len);
    dv_buf_release(&out);
    dv_buf_release(&ct);
    free(pt);
}

static void test_obj_roundtrip(void **state)
{
    static const size_t sizes[] = {0, 1, 15, 16, 4095, 4096, 4097, 3 * 4096, 3 * 4096 + 5, 100003};
    size_t a, i;

    (void)state;
    assert_true(nalgs >= 2);
    for (a = 0; a < nalgs; a++) {
        for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
            roundtrip_one(algs[a], CS, sizes[i]);
        roundtrip_one(algs[a], 0, 3 * CRYPTO_CHUNK_DEFAULT + 1);
        roundtrip_one(algs[a], 16 * MiB, 100);
    }
}

/* the object layout of crypto.h, checked by opening chunks with libsodium directly */
static void test_obj_format(void **state)
{
    crypto_key k;
    uint8_t id[CRYPTO_OBJ_ID_BYTES], sub[32], nonce[24] = {0}, ad[64 + 8 + 1], got[CS];
    uint8_t *pt = pattern(CS + 10, 3);
    static const char label[] = "dcmvault obj v1";
    uint8_t msg[sizeof(label) - 1 + CRYPTO_OBJ_ID_BYTES];
    crypto_aead_aes256gcm_state st;
    dv_buf ct;
    size_t a;

    (void)state;
    crypto_key_random(&k);
    fixed_id(id, 0x5A);
    memcpy(msg, label, sizeof(label) - 1);
    memcpy(msg + sizeof(label) - 1, id, sizeof(id));
    assert_int_equal(crypto_generichash(sub, 32, msg, sizeof(msg), k.k, 32), 0);
    for (a = 0; a < 2; a++) {
        crypto_alg alg = a ? CRYPTO_ALG_XCHACHA20POLY1305 : CRYPTO_ALG_AES256GCM;
        const uint8_t *c1;
        if (alg == CRYPTO_ALG_AES256GCM && !crypto_aead_aes256gcm_is_available())
            continue;
        seal(alg, &k, id, CS, pt, CS + 10, &ct);
        assert_memory_equal(ct.p, "DVOBJ\0\0\1", 8);
        assert_int_equal(ct.p[8], alg);
        assert_int_equal(dv_le32(ct.p + 12), CS);
        assert_int_equal(dv_le32(ct.p + 16), CS + 10);
        assert_memory_equal(ct.p + 24, id, 16);
        assert_true(all_zero(ct.p + 40, 24));
        /* chunk 1 (final): nonce = index 1, AD = header | 1 (LE64) | 1 */
        memcpy(ad, ct.p, 64);
        memset(ad + 64, 0, 9);
        ad[64] = 1;
        ad[72] = 1;
        nonce[0] = 1;
        c1 = ct.p + 64 + CS + 16;
        if (alg == CRYPTO_ALG_AES256GCM) {
            assert_int_equal(crypto_aead_aes256gcm_beforenm(&st, sub), 0);
            assert_int_equal(crypto_aead_aes256gcm_decrypt_detached_afternm(
                                 got, NULL, c1, 10, c1 + 10, ad, sizeof(ad), nonce, &st),
                             0);
        } else {
            assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
                                 got, NULL, c1, 10, c1 + 10, ad, sizeof(ad), nonce, sub),
                             0);
        }
        assert_memory_equal(got, pt + CS, 10);
        dv_buf_release(&ct);
    }
    free(pt);
}

static void check_range(const crypto_key *k, const uint8_t *id, const dv_buf *ct, const uint8_t *pt,
                        uint64_t off, size_t n)
{
    dv_buf out;
    dv_errinfo ei;

    dv_buf_init(&out, 1u << 30);
    assert_int_equal(dv_buf_add(&out, "xy", 2), DV_OK);
    assert_int_equal(crypto_obj_open_range(k, id, ct->p, ct->len, off, n, &out, &ei), DV_OK);
    assert_int_equal(out.len, 2 + n);
    assert_memory_equal(out.p, "xy", 2);
    if (n)
        assert_memory_equal(out.p + 2, pt + off, n);
    dv_buf_release(&out);
}

static void test_obj_range(void **state)
{
    const size_t len = 5 * CS + 123;
    uint8_t *pt = pattern(len, 9);
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
    crypto_key k;
    dv_buf ct, out;
    dv_errinfo ei;
    size_t a;

    (void)state;
    crypto_key_random(&k);
    fixed_id(id, 1);
    dv_buf_init(&out, 1u << 20);
    for (a = 0; a < nalgs; a++) {
        seal(algs[a], &k, id, CS, pt, len, &ct);
        check_range(&k, id, &ct, pt, 0, 0);
        check_range(&k, id, &ct, pt, 0, 1);
        check_range(&k, id, &ct, pt, CS - 1, 1);
        check_range(&k, id, &ct, pt, CS - 1, 2);
        check_range(&k, id, &ct, pt, CS, CS);
        check_range(&k, id, &ct, pt, CS, 2 * CS);
        check_range(&k, id, &ct, pt, 2 * CS - 1, CS + 2);
        check_range(&k, id, &ct, pt, 100, 3 * CS);
        check_range(&k, id, &ct, pt, 5 * CS, 123);
        check_range(&k, id, &ct, pt, 5 * CS + 1, 122);
        check_range(&k, id, &ct, pt, len - 1, 1);
        check_range(&k, id, &ct, pt, 0, len);
        check_range(&k, id, &ct, pt, len, 0);
        assert_int_equal(crypto_obj_open_range(&k, id, ct.p, ct.len, len, 1, &out, &ei), DV_EINVAL);
        assert_int_equal(crypto_obj_open_range(&k, id, ct.p, ct.len, len + 1, 0, &out, &ei),
                         DV_EINVAL);
        assert_int_equal(crypto_obj_open_range(&k, id, ct.p, ct.len, UINT64_MAX, 2, &out, &ei),
                         DV_EINVAL);
        assert_int_equal(crypto_obj_open_range(&k, id, ct.p, ct.len, 1, SIZE_MAX, &out, &ei),
                         DV_EINVAL);
        assert_int_equal(out.len, 0);
        dv_buf_release(&ct);
    }
    dv_buf_release(&out);
    free(pt);
}

/* a range open decrypts only its chunks: damage elsewhere does not stop it */
static void test_obj_range_only_needed(void **state)
{
    const size_t len = 4 * CS;
    uint8_t *pt = pattern(len, 4);
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
    crypto_key k;
    dv_buf ct, out;
    dv_errinfo ei;

    (void)state;
    crypto_key_random(&k);
    fixed_id(id, 2);
    seal(crypto_default_alg(), &k, id, CS, pt, len, &ct);
    ct.p[64 + 3 * (CS + 16) + 5] ^= 1; /* chunk 3 */
    check_range(&k, id, &ct, pt, CS + 7, CS);
    dv_buf_init(&out, 1u << 20);
    assert_int_equal(crypto_obj_open_range(&k, id, ct.p, ct.len, 3 * CS, 1, &out, &ei), DV_ETAMPER);
    assert_non_null(strstr(ei.msg, "chunk 3 does not authenticate"));
    assert_int_equal(out.len, 0);
    dv_buf_release(&out);
    dv_buf_release(&ct);
    free(pt);
}

/* ---- sealed objects: tampering ------------------------------------------------------------ */

static void test_obj_flip_every_byte(void **state)
{
    uint8_t *pt = pattern(100, 5);
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
    crypto_key k;
    dv_buf ct;
    size_t a, i;

    (void)state;
    crypto_key_random(&k);
    fixed_id(id, 3);
    for (a = 0; a < nalgs; a++) {
        seal(algs[a], &k, id, CS, pt, 100, &ct);
        for (i = 0; i < ct.len; i++) {
            ct.p[i] ^= 0x01;
            expect_tamper(&k, id, ct.p, ct.len);
            ct.p[i] ^= 0x81;
            expect_tamper(&k, id, ct.p, ct.len);
            ct.p[i] ^= 0x80;
        }
        expect_tamper(&k, id, ct.p, ct.len - 1);
        dv_buf_release(&ct);
    }
    free(pt);
}

static void test_obj_flip_multichunk(void **state)
{
    const size_t len = 3 * CS + 77;
    uint8_t *pt = pattern(len, 6);
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
    crypto_key k;
    dv_buf ct;
    size_t a, i;

    (void)state;
    crypto_key_random(&k);
    fixed_id(id, 4);
    for (a = 0; a < nalgs; a++) {
        seal(algs[a], &k, id, CS, pt, len, &ct);
        for (i = 0; i < ct.len; i += 61) {
            ct.p[i] ^= 0x10;
            expect_tamper(&k, id, ct.p, ct.len);
            ct.p[i] ^= 0x10;
        }
        dv_buf_release(&ct);
    }
    free(pt);
}

static void set_len(uint8_t *hdr, uint64_t len)
{
    int i;

    for (i = 0; i < 8; i++)
        hdr[16 + i] = (uint8_t)(len >> (8 * i));
}

static void test_obj_truncate_drop_swap(void **state)
{
    const size_t len = 4 * CS + 100, csz = CS + 16;
    uint8_t *pt = pattern(len, 7);
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
    uint8_t *tmp = malloc(len + 1024);
    crypto_key k;
    dv_buf ct;
    size_t a;

    (void)state;
    assert_non_null(tmp);
    crypto_key_random(&k);
    fixed_id(id, 5);
    for (a = 0; a < nalgs; a++) {
        seal(algs[a], &k, id, CS, pt, len, &ct);
        /* truncate: cut into the last chunk; cut the whole last chunk */
        expect_tamper(&k, id, ct.p, ct.len - 1);
        expect_tamper(&k, id, ct.p, ct.len - 116);
        /* cut the last chunk and fix the header's length to match */
        memcpy(tmp, ct.p, ct.len - 116);
        set_len(tmp, 4 * CS);
        expect_tamper(&k, id, tmp, ct.len - 116);
        /* drop chunk 1 and fix the length */
        memcpy(tmp, ct.p, 64 + csz);
        memcpy(tmp + 64 + csz, ct.p + 64 + 2 * csz, ct.len - 64 - 2 * csz);
        set_len(tmp, len - CS);
        expect_tamper(&k, id, tmp, ct.len - csz);
        /* swap chunks 0 and 1 */
        memcpy(tmp, ct.p, ct.len);
        memcpy(tmp + 64, ct.p + 64 + csz, csz);
        memcpy(tmp + 64 + csz, ct.p + 64, csz);
        expect_tamper(&k, id, tmp, ct.len);
        /* the untouched object still opens */
        check_range(&k, id, &ct, pt, 0, len);
        dv_buf_release(&ct);
    }
    free(tmp);
    free(pt);
}

static void test_obj_swap_between_objects(void **state)
{
    const size_t len = 3 * CS, csz = CS + 16;
    uint8_t *pa = pattern(len, 8), *pb = pattern(len, 9);
    uint8_t ida[CRYPTO_OBJ_ID_BYTES], idb[CRYPTO_OBJ_ID_BYTES];
    crypto_key k;
    dv_buf a, b;
    size_t i;

    (void)state;
    crypto_key_random(&k);
    fixed_id(ida, 0xA);
    fixed_id(idb, 0xB);
    for (i = 0; i < nalgs; i++) {
        seal(algs[i], &k, ida, CS, pa, len, &a);
        seal(algs[i], &k, idb, CS, pb, len, &b);
        memcpy(a.p + 64 + csz, b.p + 64 + csz, csz); /* chunk 1 of b into a */
        expect_tamper(&k, ida, a.p, a.len);
        /* b's header on a's chunks: the id no longer matches, or the chunks do not open */
        memcpy(b.p + 64, a.p + 64, csz);
        expect_tamper(&k, idb, b.p, b.len);
        expect_tamper(&k, ida, b.p, b.len);
        dv_buf_release(&a);
        dv_buf_release(&b);
    }
    free(pa);
    free(pb);
}

static void test_obj_header_changes(void **state)
{
    uint8_t *pt = pattern(5000, 10);
    uint8_t id[CRYPTO_OBJ_ID_BYTES], id2[CRYPTO_OBJ_ID_BYTES];
    crypto_key k, wrong;
    crypto_obj_info info;
    dv_errinfo ei;
    dv_buf ct;
    size_t a, b;

    (void)state;
    crypto_key_random(&k);
    crypto_key_random(&wrong);
    fixed_id(id, 6);
    fixed_id(id2, 7);
    for (a = 0; a < nalgs; a++) {
        seal(algs[a], &k, id, CS, pt, 5000, &ct);
        for (b = 0; b < nalgs; b++) { /* alg changed to another valid one */
            if (b == a)
                continue;
            ct.p[8] = (uint8_t)algs[b];
            expect_tamper(&k, id, ct.p, ct.len);
            assert_int_equal(crypto_obj_info_get(ct.p, ct.len, &info, &ei), DV_OK);
        }
        ct.p[8] = (uint8_t)algs[a];
        ct.p[8] = 9;
        assert_int_equal(crypto_obj_info_get(ct.p, ct.len, &info, &ei), DV_EMALFORMED);
        expect_tamper(&k, id, ct.p, ct.len);
        ct.p[8] = (uint8_t)algs[a];
        set_len(ct.p, 4999); /* same chunk count, one byte less: sizes no longer add up */
        assert_int_equal(crypto_obj_info_get(ct.p, ct.len, &info, &ei), DV_EMALFORMED);
        expect_tamper(&k, id, ct.p, ct.len);
        set_len(ct.p, 5000);
        memcpy(ct.p + 24, id2, 16); /* id changed in the header and by the caller */
        expect_tamper(&k, id2, ct.p, ct.len);
        expect_tamper(&k, id, ct.p, ct.len);
        memcpy(ct.p + 24, id, 16);
        expect_tamper(&k, id2, ct.p, ct.len); /* the caller expects another object */
        expect_tamper(&wrong, id, ct.p, ct.len);
        check_range(&k, id, &ct, pt, 0, 5000);
        dv_buf_release(&ct);
    }
    free(pt);
}

static void test_obj_info_malformed(void **state)
{
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
    crypto_obj_info info;
    crypto_key k;
    dv_errinfo ei;
    dv_buf ct;

    (void)state;
    crypto_key_random(&k);
    fixed_id(id, 8);
    seal(CRYPTO_ALG_XCHACHA20POLY1305, &k, id, CS, (const uint8_t *)"hello", 5, &ct);
    assert_int_equal(crypto_obj_info_get(ct.p, ct.len, &info, &ei), DV_OK);
    assert_int_equal(crypto_obj_info_get(ct.p, 63, &info, &ei), DV_EMALFORMED);
    assert_int_equal(crypto_obj_info_get(NULL, 0, &info, &ei), DV_EMALFORMED);
    assert_int_equal(crypto_obj_info_get(ct.p, ct.len + 1, &info, &ei), DV_EMALFORMED);
    ct.p[7] = 2; /* version */
    assert_int_equal(crypto_obj_info_get(ct.p, ct.len, &info, &ei), DV_EMALFORMED);
    ct.p[7] = 1;
    ct.p[10] = 1; /* reserved */
    assert_int_equal(crypto_obj_info_get(ct.p, ct.len, &info, &ei), DV_EMALFORMED);
    ct.p[10] = 0;
    ct.p[63] = 1;
    assert_int_equal(crypto_obj_info_get(ct.p, ct.len, &info, &ei), DV_EMALFORMED);
    ct.p[63] = 0;
    dv_put_le32(ct.p + 12, 4095);
    assert_int_equal(crypto_obj_info_get(ct.p, ct.len, &info, &ei), DV_EMALFORMED);
    dv_put_le32(ct.p + 12, 16 * MiB + 1);
    assert_int_equal(crypto_obj_info_get(ct.p, ct.len, &info, &ei), DV_EMALFORMED);
    dv_put_le32(ct.p + 12, CS);
    set_len(ct.p, UINT64_MAX);
    assert_int_equal(crypto_obj_info_get(ct.p, ct.len, &info, &ei), DV_EMALFORMED);
    set_len(ct.p, 5);
    assert_int_equal(crypto_obj_info_get(ct.p, ct.len, &info, &ei), DV_OK);
    dv_buf_release(&ct);
}

static void test_obj_seal_args(void **state)
{
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
    crypto_key k;
    dv_errinfo ei;
    dv_buf out, ct;

    (void)state;
    crypto_key_random(&k);
    fixed_id(id, 9);
    dv_buf_init(&out, 1u << 20);
    assert_int_equal(crypto_obj_seal(CRYPTO_ALG_XCHACHA20POLY1305, &k, id, 4095,
                                     (const uint8_t *)"x", 1, &out, &ei),
                     DV_EINVAL);
    assert_int_equal(crypto_obj_seal(CRYPTO_ALG_XCHACHA20POLY1305, &k, id, 16 * MiB + 1,
                                     (const uint8_t *)"x", 1, &out, &ei),
                     DV_EINVAL);
    assert_int_equal(
        crypto_obj_seal(CRYPTO_ALG_NONE, &k, id, 0, (const uint8_t *)"x", 1, &out, &ei), DV_EINVAL);
    assert_int_equal(crypto_obj_seal((crypto_alg)7, &k, id, 0, (const uint8_t *)"x", 1, &out, &ei),
                     DV_EINVAL);
    assert_int_equal(crypto_obj_seal(CRYPTO_ALG_XCHACHA20POLY1305, &k, id, 0, NULL, 1, &out, &ei),
                     DV_EINVAL);
    assert_int_equal(out.len, 0);
    dv_buf_release(&out);
    /* an output too small for the object, and an output too small for the opened plaintext */
    dv_buf_init(&out, 100);
    assert_int_equal(crypto_obj_seal(CRYPTO_ALG_XCHACHA20POLY1305, &k, id, 0, id, 16, &out, &ei),
                     DV_OK);
    assert_int_equal(crypto_obj_seal(CRYPTO_ALG_XCHACHA20POLY1305, &k, id, 0, id, 16, &out, &ei),
                     DV_ELIMIT);
    assert_int_equal(out.len, 96);
    dv_buf_release(&out);
    seal(CRYPTO_ALG_XCHACHA20POLY1305, &k, id, 0, (const uint8_t *)"0123456789", 10, &ct);
    dv_buf_init(&out, 9);
    assert_int_equal(crypto_obj_open(&k, id, ct.p, ct.len, &out, &ei), DV_ELIMIT);
    assert_int_equal(crypto_obj_open_range(&k, id, ct.p, ct.len, 1, 9, &out, &ei), DV_OK);
    assert_memory_equal(out.p, "123456789", 9);
    dv_buf_release(&out);
    dv_buf_release(&ct);
}

static void test_obj_oom(void **state)
{
    const size_t len = 3 * CS + 9;
    uint8_t *pt = pattern(len, 11);
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
    crypto_key k;
    dv_errinfo ei;
    dv_buf ct, out;
    size_t a;
    long n;
    dv_err e;

    (void)state;
    crypto_key_random(&k);
    fixed_id(id, 10);
    for (a = 0; a < nalgs; a++) {
        for (n = 1;; n++) { /* seal */
            dv_buf_init(&ct, 1u << 20);
            dv_fault_countdown = n;
            e = crypto_obj_seal(algs[a], &k, id, CS, pt, len, &ct, &ei);
            dv_fault_countdown = 0;
            if (e == DV_OK)
                break;
            assert_int_equal(e, DV_ENOMEM);
            assert_int_equal(ct.len, 0);
            dv_buf_release(&ct);
        }
        for (n = 1;; n++) { /* a range whose ends need the scratch buffer */
            dv_buf_init(&out, 1u << 20);
            dv_fault_countdown = n;
            e = crypto_obj_open_range(&k, id, ct.p, ct.len, 5, 2 * CS, &out, &ei);
            dv_fault_countdown = 0;
            if (e == DV_OK)
                break;
            assert_int_equal(e, DV_ENOMEM);
            assert_int_equal(out.len, 0);
            dv_buf_release(&out);
        }
        assert_memory_equal(out.p, pt + 5, 2 * CS);
        dv_buf_release(&out);
        dv_buf_release(&ct);
    }
    free(pt);
}

/* ---- wrapping ----------------------------------------------------------------------------- */

static void test_wrap_unwrap(void **state)
{
    crypto_key kek, kek2, dek, got;
    uint8_t w[CRYPTO_WRAPPED_BYTES], w2[CRYPTO_WRAPPED_BYTES];
    const uint8_t ad[] = "study-blind-index", ad2[] = "study-blind-indey";
    dv_errinfo ei;
    size_t i;

    (void)state;
    crypto_key_random(&kek);
    crypto_key_random(&kek2);
    crypto_key_random(&dek);
    assert_int_equal(crypto_wrap(&kek, &dek, ad, sizeof(ad), w), DV_OK);
    assert_int_equal(crypto_wrap(&kek, &dek, ad, sizeof(ad), w2), DV_OK);
    assert_memory_not_equal(w, w2, sizeof(w)); /* fresh nonce each time */
    assert_null(memmem(w, sizeof(w), dek.k, 8));
    assert_int_equal(crypto_unwrap(&kek, w, sizeof(w), ad, sizeof(ad), &got, &ei), DV_OK);
    assert_memory_equal(got.k, dek.k, CRYPTO_KEY_BYTES);
    assert_int_equal(crypto_unwrap(&kek2, w, sizeof(w), ad, sizeof(ad), &got, &ei), DV_ECRYPTO);
    assert_true(all_zero(got.k, CRYPTO_KEY_BYTES));
    assert_non_null(strstr(ei.msg, "wrong key or changed data"));
    assert_int_equal(crypto_unwrap(&kek, w, sizeof(w), ad2, sizeof(ad2), &got, &ei), DV_ECRYPTO);
    assert_int_equal(crypto_unwrap(&kek, w, sizeof(w), NULL, 0, &got, &ei), DV_ECRYPTO);
    assert_int_equal(crypto_unwrap(&kek, w, sizeof(w) - 1, ad, sizeof(ad), &got, &ei), DV_ECRYPTO);
    assert_int_equal(crypto_unwrap(&kek, NULL, 0, ad, sizeof(ad), &got, &ei), DV_ECRYPTO);
    for (i = 0; i < sizeof(w); i++) {
        w[i] ^= 0x20;
        assert_int_equal(crypto_unwrap(&kek, w, sizeof(w), ad, sizeof(ad), &got, &ei), DV_ECRYPTO);
        assert_true(all_zero(got.k, CRYPTO_KEY_BYTES));
        w[i] ^= 0x20;
    }
    assert_int_equal(crypto_wrap(&kek, &dek, NULL, 0, w), DV_OK);
    assert_int_equal(crypto_unwrap(&kek, w, sizeof(w), NULL, 0, &got, &ei), DV_OK);
    assert_memory_equal(got.k, dek.k, CRYPTO_KEY_BYTES);
}

/* ---- sealed fields and blind indexes ------------------------------------------------------ */

static void test_field(void **state)
{
    const uint8_t name[] = "DOE^JANE", ad[] = "patient.name", ad2[] = "patient.iden";
    crypto_key k, k2;
    dv_buf a, b, out;
    dv_errinfo ei;
    size_t i;

    (void)state;
    crypto_key_random(&k);
    crypto_key_random(&k2);
    dv_buf_init(&a, 4096);
    dv_buf_init(&b, 4096);
    dv_buf_init(&out, 4096);
    assert_int_equal(crypto_field_seal(&k, name, 8, ad, sizeof(ad), &a), DV_OK);
    assert_int_equal(crypto_field_seal(&k, name, 8, ad, sizeof(ad), &b), DV_OK);
    assert_int_equal(a.len, 24 + 8 + 16);
    assert_memory_not_equal(a.p, b.p, a.len);
    assert_null(memmem(a.p, a.len, "DOE", 3));
    assert_int_equal(crypto_field_open(&k, a.p, a.len, ad, sizeof(ad), &out, &ei), DV_OK);
    assert_int_equal(out.len, 8);
    assert_memory_equal(out.p, name, 8);
    assert_int_equal(crypto_field_open(&k2, a.p, a.len, ad, sizeof(ad), &out, &ei), DV_ECRYPTO);
    assert_int_equal(out.len, 0);
    assert_true(all_zero(out.p, 8));
    assert_non_null(strstr(ei.msg, "wrong key or changed data"));
    assert_int_equal(crypto_field_open(&k, a.p, a.len, ad2, sizeof(ad2), &out, &ei), DV_ECRYPTO);
    assert_int_equal(crypto_field_open(&k, a.p, 39, ad, sizeof(ad), &out, &ei), DV_ECRYPTO);
    for (i = 0; i < a.len; i++) {
        a.p[i] ^= 4;
        assert_int_equal(dv_buf_add(&out, "z", 1), DV_OK);
        assert_int_equal(crypto_field_open(&k, a.p, a.len, ad, sizeof(ad), &out, &ei), DV_ECRYPTO);
        assert_int_equal(out.len, 0);
        a.p[i] ^= 4;
    }
    dv_buf_reset(&a);
    assert_int_equal(crypto_field_seal(&k, NULL, 0, NULL, 0, &a), DV_OK);
    assert_int_equal(crypto_field_open(&k, a.p, a.len, NULL, 0, &out, &ei), DV_OK);
    assert_int_equal(out.len, 0);
    dv_buf_release(&a);
    dv_buf_init(&a, 40); /* too small for 1 byte: limit, nothing written */
    assert_int_equal(crypto_field_seal(&k, name, 1, NULL, 0, &a), DV_ELIMIT);
    assert_int_equal(a.len, 0);
    dv_buf_release(&a);
    dv_buf_release(&b);
    dv_buf_release(&out);
}

static void test_field_oom(void **state)
{
    crypto_key k;
    dv_buf ct, out;
    dv_errinfo ei;
    dv_err e;

    (void)state;
    crypto_key_random(&k);
    dv_buf_init(&ct, 4096);
    dv_fault_countdown = 1;
    e = crypto_field_seal(&k, (const uint8_t *)"12345", 5, NULL, 0, &ct);
    dv_fault_countdown = 0;
    assert_int_equal(e, DV_ENOMEM);
    assert_int_equal(ct.len, 0);
    assert_int_equal(crypto_field_seal(&k, (const uint8_t *)"12345", 5, NULL, 0, &ct), DV_OK);
    dv_buf_init(&out, 4096);
    dv_fault_countdown = 1;
    e = crypto_field_open(&k, ct.p, ct.len, NULL, 0, &out, &ei);
    dv_fault_countdown = 0;
    assert_int_equal(e, DV_ENOMEM);
    assert_int_equal(out.len, 0);
    assert_int_equal(crypto_field_open(&k, ct.p, ct.len, NULL, 0, &out, &ei), DV_OK);
    assert_memory_equal(out.p, "12345", 5);
    dv_buf_release(&ct);
    dv_buf_release(&out);
}

/* the reference: HMAC-SHA-256(k, domain | 0x00 | v) computed here with libsodium in one go */
static void blind_ref(const crypto_key *k, const char *domain, const char *v, uint8_t out[32])
{
    uint8_t msg[256];
    size_t dl = strlen(domain), vl = strlen(v);

    assert_true(dl + 1 + vl <= sizeof(msg));
    memcpy(msg, domain, dl);
    msg[dl] = 0;
    memcpy(msg + dl + 1, v, vl);
    assert_int_equal(crypto_auth_hmacsha256(out, msg, dl + 1 + vl, k->k), 0);
}

static void test_blind(void **state)
{
    uint8_t a[32], b[32], r[32];
    crypto_key k, k2;

    (void)state;
    crypto_key_random(&k);
    crypto_key_random(&k2);
    crypto_blind(&k, "patient.id", (const uint8_t *)"12345", 5, a);
    crypto_blind(&k, "patient.id", (const uint8_t *)"12345", 5, b);
    assert_memory_equal(a, b, 32);
    blind_ref(&k, "patient.id", "12345", r);
    assert_memory_equal(a, r, 32);
    crypto_blind(&k, "patient.name", (const uint8_t *)"12345", 5, b);
    assert_memory_not_equal(a, b, 32);
    crypto_blind(&k2, "patient.id", (const uint8_t *)"12345", 5, b);
    assert_memory_not_equal(a, b, 32);
    /* domain separation: ("ab", "c") and ("a", "bc") differ */
    crypto_blind(&k, "ab", (const uint8_t *)"c", 1, a);
    crypto_blind(&k, "a", (const uint8_t *)"bc", 2, b);
    assert_memory_not_equal(a, b, 32);
    crypto_blind(&k, "ab", NULL, 0, a);
    blind_ref(&k, "ab", "", r);
    assert_memory_equal(a, r, 32);
}

/* ---- key files and passphrases ------------------------------------------------------------ */

static void test_keyfile(void **state)
{
    char dir[] = "/tmp/dv_test_crypto_XXXXXX", path[256], other[256];
    crypto_key k, got;
    struct stat st;
    dv_errinfo ei;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof(path), "%s/kek", dir);
    assert_int_equal(crypto_keyfile_create(path, &k, &ei), DV_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);
    assert_int_equal(crypto_keyfile_load(path, &got, &ei), DV_OK);
    assert_memory_equal(got.k, k.k, CRYPTO_KEY_BYTES);
    assert_int_equal(crypto_keyfile_create(path, &got, &ei), DV_EEXIST);
    assert_int_equal(crypto_keyfile_load(path, &got, &ei), DV_OK);
    assert_memory_equal(got.k, k.k, CRYPTO_KEY_BYTES); /* not overwritten */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(crypto_keyfile_load(path, &got, &ei), DV_EPERM);
    assert_string_equal(ei.msg, "key file is readable by others; chmod 600");
    assert_int_equal(chmod(path, 0620), 0);
    assert_int_equal(crypto_keyfile_load(path, &got, &ei), DV_EPERM);
    assert_int_equal(chmod(path, 0600), 0);
    (void)snprintf(other, sizeof(other), "%s/link", dir);
    assert_int_equal(symlink(path, other), 0);
    assert_int_equal(crypto_keyfile_load(other, &got, &ei), DV_EPERM);
    assert_int_equal(crypto_keyfile_create(other, &got, &ei), DV_EEXIST);
    (void)snprintf(other, sizeof(other), "%s/dangling", dir);
    assert_int_equal(symlink("/tmp/dv-no-such-target-xyz", other), 0);
    assert_int_not_equal(crypto_keyfile_create(other, &got, &ei), DV_OK);
    assert_int_equal(access("/tmp/dv-no-such-target-xyz", F_OK), -1);
    assert_int_equal(crypto_keyfile_load(dir, &got, &ei), DV_EPERM);
    (void)snprintf(other, sizeof(other), "%s/fifo", dir);
    assert_int_equal(mkfifo(other, 0600), 0);
    assert_int_equal(crypto_keyfile_load(other, &got, &ei), DV_EPERM);
    (void)snprintf(other, sizeof(other), "%s/none", dir);
    assert_int_equal(crypto_keyfile_load(other, &got, &ei), DV_ENOTFOUND);
    rm_rf(dir);
}

static void test_keyfile_malformed(void **state)
{
    static const char *bad[] = {
        "",
        "\n",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0\n",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\n",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\n",
        " 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nextra\n",
    };
    char dir[] = "/tmp/dv_test_crypto_XXXXXX", path[256];
    crypto_key got;
    dv_errinfo ei;
    size_t i;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof(path), "%s/kek", dir);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(path, bad[i], 0600);
        assert_int_equal(crypto_keyfile_load(path, &got, &ei), DV_EMALFORMED);
        assert_true(all_zero(got.k, CRYPTO_KEY_BYTES));
    }
    write_file(path, "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff", 0600);
    assert_int_equal(crypto_keyfile_load(path, &got, &ei), DV_OK);
    assert_int_equal(got.k[0], 0x00);
    assert_int_equal(got.k[1], 0x11);
    assert_int_equal(got.k[10], 0xAA);
    assert_int_equal(got.k[31], 0xFF);
    rm_rf(dir);
}

static void test_passphrase(void **state)
{
    uint8_t s1[CRYPTO_SALT_BYTES], s2[CRYPTO_SALT_BYTES];
    crypto_key a, b;
    dv_errinfo ei;

    (void)state;
    memset(s1, 1, sizeof(s1));
    memset(s2, 2, sizeof(s2));
    assert_int_equal(crypto_kek_from_passphrase("correct horse", 13, s1, &a, &ei), DV_OK);
    assert_int_equal(crypto_kek_from_passphrase("correct horse", 13, s1, &b, &ei), DV_OK);
    assert_memory_equal(a.k, b.k, CRYPTO_KEY_BYTES);
    assert_int_equal(crypto_kek_from_passphrase("correct horse", 13, s2, &b, &ei), DV_OK);
    assert_memory_not_equal(a.k, b.k, CRYPTO_KEY_BYTES);
    assert_int_equal(crypto_kek_from_passphrase("correct horsE", 13, s1, &b, &ei), DV_OK);
    assert_memory_not_equal(a.k, b.k, CRYPTO_KEY_BYTES);
    assert_int_equal(crypto_kek_from_passphrase("", 0, s1, &b, &ei), DV_EINVAL);
    assert_int_equal(crypto_kek_from_passphrase(NULL, 3, s1, &b, &ei), DV_EINVAL);
    assert_int_equal(crypto_kek_from_passphrase("x", 1, NULL, &b, &ei), DV_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alg_names),
        cmocka_unit_test(test_key_derive_wipe),
        cmocka_unit_test(test_obj_roundtrip),
        cmocka_unit_test(test_obj_format),
        cmocka_unit_test(test_obj_range),
        cmocka_unit_test(test_obj_range_only_needed),
        cmocka_unit_test(test_obj_flip_every_byte),
        cmocka_unit_test(test_obj_flip_multichunk),
        cmocka_unit_test(test_obj_truncate_drop_swap),
        cmocka_unit_test(test_obj_swap_between_objects),
        cmocka_unit_test(test_obj_header_changes),
        cmocka_unit_test(test_obj_info_malformed),
        cmocka_unit_test(test_obj_seal_args),
        cmocka_unit_test(test_obj_oom),
        cmocka_unit_test(test_wrap_unwrap),
        cmocka_unit_test(test_field),
        cmocka_unit_test(test_field_oom),
        cmocka_unit_test(test_blind),
        cmocka_unit_test(test_keyfile),
        cmocka_unit_test(test_keyfile_malformed),
        cmocka_unit_test(test_passphrase),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
