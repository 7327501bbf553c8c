/* SPDX-License-Identifier: Apache-2.0 */
/* crypto.c - library setup, algorithm names, keys, key wrapping, sealed fields, blind indexes.
 *
 * Invariants: every secret on the stack (keys, hash states) is wiped with sodium_memzero
 * before return; on an authentication failure the output (key or buffer) is zeroed and
 * emptied before DV_ECRYPTO is returned.
 */
#include <string.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/dv.h"
#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#include "common/banned.h"

#define WRAP_VERSION 1u
#define WRAP_NONCE   crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define WRAP_TAG     crypto_aead_xchacha20poly1305_ietf_ABYTES
#define FIELD_NONCE  crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define FIELD_TAG    crypto_aead_xchacha20poly1305_ietf_ABYTES

_Static_assert(CRYPTO_WRAPPED_BYTES == 1 + WRAP_NONCE + CRYPTO_KEY_BYTES + WRAP_TAG,
               "wrapped key layout: version | nonce | key | tag");
_Static_assert(CRYPTO_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "one key size for every AEAD");
_Static_assert(CRYPTO_KEY_BYTES == crypto_aead_aes256gcm_KEYBYTES, "AES-256 key size");
_Static_assert(CRYPTO_BLIND_BYTES == crypto_auth_hmacsha256_BYTES, "blind index size");

static const char derive_label[] = "dcmvault derive v1";

dv_err crypto_init(void)
{
    if (sodium_init() < 0)
        return DV_ECRYPTO;
    (void)crypto_sm4_available(); /* computes the cached answer while single-threaded */
    return DV_OK;
}

crypto_alg crypto_default_alg(void)
{
    if (crypto_aead_aes256gcm_is_available())
        return CRYPTO_ALG_AES256GCM;
    return CRYPTO_ALG_XCHACHA20POLY1305;
}

crypto_alg crypto_alg_from_name(const char *name)
{
    if (!name)
        return CRYPTO_ALG_NONE;
    if (strcmp(name, "aes256gcm") == 0)
        return crypto_aead_aes256gcm_is_available() ? CRYPTO_ALG_AES256GCM : CRYPTO_ALG_NONE;
    if (strcmp(name, "xchacha20poly1305") == 0)
        return CRYPTO_ALG_XCHACHA20POLY1305;
    if (strcmp(name, "sm4") == 0)
        return crypto_sm4_available() ? CRYPTO_ALG_SM4CTR_HMACSM3 : CRYPTO_ALG_NONE;
    return CRYPTO_ALG_NONE;
}

const char *crypto_alg_name(crypto_alg alg)
{
    switch (alg) {
    case CRYPTO_ALG_NONE:
        return "none";
    case CRYPTO_ALG_AES256GCM:
        return "aes256gcm";
    case CRYPTO_ALG_XCHACHA20POLY1305:
        return "xchacha20poly1305";
    case CRYPTO_ALG_SM4CTR_HMACSM3:
        return "sm4";
    }
    return "unknown";
}

void crypto_random(void *buf, size_t len)
{
    if (len)
        randombytes_buf(buf, len);
}

void crypto_key_random(crypto_key *k)
{
    randombytes_buf(k->k, sizeof(k->k));
}

void crypto_key_lock(crypto_key *k)
{
    (void)sodium_mlock(k, sizeof(*k)); /* best effort: RLIMIT_MEMLOCK may refuse */
}

void crypto_key_wipe(crypto_key *k)
{
    if (!k)
        return;
    /* sodium_munlock zeroes first; on a page that was never locked munlock is harmless */
    if (sodium_munlock(k, sizeof(*k)) != 0)
        sodium_memzero(k, sizeof(*k));
}

dv_err crypto_key_derive(const crypto_key *root, const char *purpose, crypto_key *out)
{
    crypto_generichash_state st;
    int rc;

    if (!purpose || !purpose[0])
        return DV_EINVAL;
    rc = crypto_generichash_init(&st, root->k, sizeof(root->k), sizeof(out->k));
    rc |= crypto_generichash_update(&st, (const uint8_t *)derive_label, sizeof(derive_label));
    rc |= crypto_generichash_update(&st, (const uint8_t *)purpose, strlen(purpose));
    rc |= crypto_generichash_final(&st, out->k, sizeof(out->k));
    sodium_memzero(&st, sizeof(st));
    if (rc != 0) {
        sodium_memzero(out, sizeof(*out));
        return DV_ECRYPTO;
    }
    return DV_OK;
}

/* ---- wrapping ----------------------------------------------------------------------------- */

dv_err crypto_wrap(const crypto_key *kek, const crypto_key *dek, const uint8_t *ad, size_t adlen,
                   uint8_t out[CRYPTO_WRAPPED_BYTES])
{
    uint8_t *nonce = out + 1, *ct = out + 1 + WRAP_NONCE;
    unsigned long long maclen = 0;

    if (!ad && adlen)
        return DV_EINVAL;
    out[0] = WRAP_VERSION;
    randombytes_buf(nonce, WRAP_NONCE);
    if (crypto_aead_xchacha20poly1305_ietf_encrypt_detached(ct, ct + CRYPTO_KEY_BYTES, &maclen,
                                                            dek->k, CRYPTO_KEY_BYTES, ad, adlen,
                                                            NULL, nonce, kek->k) != 0 ||
        maclen != WRAP_TAG) {
        sodium_memzero(out, CRYPTO_WRAPPED_BYTES);
        return DV_ECRYPTO;
    }
    return DV_OK;
}

dv_err crypto_unwrap(const crypto_key *kek, const uint8_t *in, size_t inlen, const uint8_t *ad,
                     size_t adlen, crypto_key *dek, dv_errinfo *ei)
{
    const uint8_t *nonce, *ct;

    if (!in || inlen != CRYPTO_WRAPPED_BYTES || in[0] != WRAP_VERSION || (!ad && adlen)) {
        sodium_memzero(dek, sizeof(*dek));
        return dv_fail(ei, DV_ECRYPTO, DV_NO_OFFSET, DV_NO_TAG,
                       "wrapped key is not %u bytes of version %u: wrong key or changed data",
                       (unsigned)CRYPTO_WRAPPED_BYTES, WRAP_VERSION);
    }
    nonce = in + 1;
    ct = in + 1 + WRAP_NONCE;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(dek->k, NULL, ct, CRYPTO_KEY_BYTES,
                                                            ct + CRYPTO_KEY_BYTES, ad, adlen, nonce,
                                                            kek->k) != 0) {
        sodium_memzero(dek, sizeof(*dek));
        return dv_fail(ei, DV_ECRYPTO, DV_NO_OFFSET, DV_NO_TAG,
                       "wrapped key does not open: wrong key or changed data");
    }
    return DV_OK;
}

/* ---- sealed fields and blind indexes ------------------------------------------------------ */

dv_err crypto_field_seal(const crypto_key *k, const uint8_t *pt, size_t len, const uint8_t *ad,
                         size_t adlen, dv_buf *out)
{
    uint8_t *dst;
    unsigned long long clen = 0;
    dv_err e;

    if ((!pt && len) || (!ad && adlen))
        return DV_EINVAL;
    if (len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
        len > SIZE_MAX - FIELD_NONCE - FIELD_TAG)
        return DV_ELIMIT;
    e = dv_buf_reserve(out, FIELD_NONCE + len + FIELD_TAG);
    if (e)
        return e;
    dst = out->p + out->len;
    randombytes_buf(dst, FIELD_NONCE);
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(dst + FIELD_NONCE, &clen, pt, len, ad, adlen,
                                                   NULL, dst, k->k) != 0 ||
        clen != len + FIELD_TAG) {
        sodium_memzero(dst, FIELD_NONCE + len + FIELD_TAG);
        out->p[out->len] = 0;
        return DV_ECRYPTO;
    }
    out->len += FIELD_NONCE + len + FIELD_TAG;
    out->p[out->len] = 0;
    return DV_OK;
}

/* zeroes everything the buffer holds (and upto bytes of its storage) and empties it */
static void wipe_buf(dv_buf *out, size_t upto)
{
    if (out->p && upto)
        sodium_memzero(out->p, upto);
    dv_buf_reset(out);
}

dv_err crypto_field_open(const crypto_key *k, const uint8_t *ct, size_t len, const uint8_t *ad,
                         size_t adlen, dv_buf *out, dv_errinfo *ei)
{
    unsigned long long mlen = 0;
    size_t start = out->len, n;
    dv_err e;

    if (!ct || len < FIELD_NONCE + FIELD_TAG || (!ad && adlen)) {
        wipe_buf(out, start);
        return dv_fail(ei, DV_ECRYPTO, DV_NO_OFFSET, DV_NO_TAG,
                       "sealed field is shorter than %u bytes: wrong key or changed data",
                       (unsigned)(FIELD_NONCE + FIELD_TAG));
    }
    n = len - FIELD_NONCE - FIELD_TAG;
    e = dv_buf_reserve(out, n);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "no room for a %zu-byte field", n);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out->p + start, &mlen, NULL, ct + FIELD_NONCE,
                                                   len - FIELD_NONCE, ad, adlen, ct, k->k) != 0 ||
        mlen != n) {
        wipe_buf(out, start + n);
        return dv_fail(ei, DV_ECRYPTO, DV_NO_OFFSET, DV_NO_TAG,
                       "sealed field does not open: wrong key or changed data");
    }
    out->len += n;
    out->p[out->len] = 0;
    return DV_OK;
}

void crypto_blind(const crypto_key *k, const char *domain, const uint8_t *v, size_t len,
                  uint8_t out[CRYPTO_BLIND_BYTES])
{
    crypto_auth_hmacsha256_state st;
    const uint8_t zero = 0;

    /* with a 32-byte key and in-memory input these calls cannot fail */
    (void)crypto_auth_hmacsha256_init(&st, k->k, sizeof(k->k));
    if (domain)
        (void)crypto_auth_hmacsha256_update(&st, (const uint8_t *)domain, strlen(domain));
    (void)crypto_auth_hmacsha256_update(&st, &zero, 1);
    if (v && len)
        (void)crypto_auth_hmacsha256_update(&st, v, len);
    (void)crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}
