/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_crypto_obj.c - libFuzzer target: sealed objects, wrapped keys and sealed fields opened
 * with a fixed key from arbitrary bytes, and seal/open round trips.
 *
 * Input: byte 0 picks the mode (low two bits), bytes 1..4 are parameters P, the rest is R.
 *   0: R is a sealed object: header read, whole open, and a range open at P; a success must
 *      give exactly the plaintext length and a range equal to that slice of the whole; a
 *      failure must leave the output empty.
 *   1: R is a wrapped key, with P as associated data; a failure must leave the key zeroed.
 *   2: R is a sealed field, with P as associated data; a failure must leave the output empty.
 *   3: R is plaintext: sealed with the algorithm and chunk size from P, opened whole and by
 *      range, then one byte (picked by P) flipped, which must be refused as DV_ETAMPER.
 * The seeds in fuzz/corpus/crypto_obj/ are made with the same fixed key (see its README). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "crypto/crypto.h"

#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX (64u << 20)

static crypto_key key;

static void init_once(void)
{
    static int done;
    int i;

    if (done)
        return;
    if (crypto_init() != DV_OK)
        __builtin_trap();
    for (i = 0; i < CRYPTO_KEY_BYTES; i++)
        key.k[i] = (uint8_t)(0xA0 + i); /* the fixed fuzzing key: never a real one */
    done = 1;
}

static void check_empty_on_error(dv_err e, const dv_buf *out)
{
    if (e != DV_OK && out->len != 0)
        __builtin_trap();
}

static void fuzz_object(const uint8_t *p4, const uint8_t *r, size_t n)
{
    crypto_obj_info info;
    dv_errinfo ei;
    dv_buf whole, part;
    uint64_t off;
    size_t len;
    dv_err e, e2;

    if (crypto_obj_info_get(r, n, &info, &ei) != DV_OK) {
        memset(&info, 0, sizeof(info));
        info.plaintext_len = 0;
    }
    dv_buf_init(&whole, OUT_MAX);
    dv_buf_init(&part, OUT_MAX);
    e = crypto_obj_open(&key, info.id, r, n, &whole, &ei);
    check_empty_on_error(e, &whole);
    if (e == DV_OK && whole.len != info.plaintext_len)
        __builtin_trap();
    off = dv_be16(p4);
    len = dv_be16(p4 + 2);
    e2 = crypto_obj_open_range(&key, info.id, r, n, off, len, &part, &ei);
    check_empty_on_error(e2, &part);
    if (e == DV_OK && e2 == DV_OK &&
        (part.len != len || (len && memcmp(part.p, whole.p + off, len))))
        __builtin_trap();
    if (e == DV_OK && e2 != DV_OK && off + len <= whole.len)
        __builtin_trap(); /* a range inside an object that opens must open */
    dv_buf_release(&whole);
    dv_buf_release(&part);
}

static void fuzz_unwrap(const uint8_t *p4, const uint8_t *r, size_t n)
{
    crypto_key dek;
    dv_errinfo ei;
    size_t i;

    memset(&dek, 0x55, sizeof(dek));
    if (crypto_unwrap(&key, r, n, p4, 4, &dek, &ei) != DV_OK)
        for (i = 0; i < sizeof(dek.k); i++)
            if (dek.k[i])
                __builtin_trap();
    crypto_key_wipe(&dek);
}

static void fuzz_field(const uint8_t *p4, const uint8_t *r, size_t n)
{
    dv_errinfo ei;
    dv_buf out;
    dv_err e;

    dv_buf_init(&out, 1u << 20);
    if (dv_buf_add(&out, "x", 1) != DV_OK)
        __builtin_trap();
    e = crypto_field_open(&key, r, n, p4, 4, &out, &ei);
    check_empty_on_error(e, &out);
    if (e == DV_OK && out.len != 1 + n - 40)
        __builtin_trap();
    dv_buf_release(&out);
}

static void fuzz_roundtrip(const uint8_t *p4, const uint8_t *r, size_t n)
{
    static const crypto_alg algs[] = {CRYPTO_ALG_AES256GCM, CRYPTO_ALG_XCHACHA20POLY1305,
                                      CRYPTO_ALG_SM4CTR_HMACSM3};
    crypto_alg alg = algs[p4[0] % 3];
    uint32_t cs = 4096u + 512u * (p4[1] & 0x0F);
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
    dv_buf ct, out;
    dv_errinfo ei;
    size_t off, len, flip;

    memset(id, p4[2], sizeof(id));
    if (crypto_alg_from_name(crypto_alg_name(alg)) != alg)
        alg = CRYPTO_ALG_XCHACHA20POLY1305; /* not in this build or on this CPU */
    dv_buf_init(&ct, OUT_MAX);
    dv_buf_init(&out, OUT_MAX);
    if (crypto_obj_seal(alg, &key, id, cs, r, n, &ct, &ei) != DV_OK)
        __builtin_trap();
    if (crypto_obj_open(&key, id, ct.p, ct.len, &out, &ei) != DV_OK || out.len != n ||
        (n && memcmp(out.p, r, n)))
        __builtin_trap();
    off = n ? (size_t)p4[3] * 131u % n : 0;
    len = n ? (n - off) / ((p4[1] >> 4) + 1) : 0;
    dv_buf_reset(&out);
    if (crypto_obj_open_range(&key, id, ct.p, ct.len, off, len, &out, &ei) != DV_OK ||
        out.len != len || (len && memcmp(out.p, r + off, len)))
        __builtin_trap();
    flip = ((size_t)p4[3] << 8 | p4[2]) % ct.len;
    ct.p[flip] ^= (uint8_t)(1u << (p4[0] >> 5));
    if (crypto_obj_open(&key, id, ct.p, ct.len, &out, &ei) != DV_ETAMPER || out.len)
        __builtin_trap();
    dv_buf_release(&ct);
    dv_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p4, *r;
    size_t n;

    if (size < 5)
        return 0;
    init_once();
    p4 = data + 1;
    r = data + 5;
    n = size - 5;
    switch (data[0] & 3) {
    case 0:
        fuzz_object(p4, r, n);
        break;
    case 1:
        fuzz_unwrap(p4, r, n);
        break;
    case 2:
        fuzz_field(p4, r, n);
        break;
    default:
        fuzz_roundtrip(p4, r, n);
        break;
    }
    return 0;
}
