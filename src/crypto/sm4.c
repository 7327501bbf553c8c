/* SPDX-License-Identifier: Apache-2.0 */
/* sm4.c - the national-algorithm chunk AEAD: SM4-CTR, then HMAC-SM3 over AD | ciphertext.
 *
 * Invariants: a context's enc_key/mac_key come from one subkey and are wiped in
 * crypto_sm4_free; the tag is checked (constant time) before any byte is decrypted; every
 * OpenSSL return value is checked and the OpenSSL error queue is cleared after a failure.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include "common/dv.h"
#include "crypto/crypto_int.h"

#include "common/banned.h"

#define SM4_KEY_BYTES 16
#define SM4_IV_BYTES  16
#define MAC_KEY_BYTES 32
#define SM3_BYTES     32
#define SM4_CHUNK_MAX (1u << 30) /* EVP lengths are int: far above any chunk we seal */

struct crypto_sm4_ctx {
    EVP_CIPHER *cipher;
    EVP_CIPHER_CTX *cctx;
    EVP_MAC *mac;
    EVP_MAC_CTX *mctx;
    uint8_t enc_key[SM4_KEY_BYTES];
    uint8_t mac_key[MAC_KEY_BYTES];
};

static const char enc_label[] = "dcmvault sm4-ctr key v1";
static const char mac_label[] = "dcmvault hmac-sm3 key v1";
static char sm3_name[] = "SM3"; /* OSSL_PARAM wants a non-const pointer; never written */

int crypto_sm4_available(void)
{
    static int avail = -1;
    EVP_CIPHER *c;
    EVP_MD *md;
    EVP_MAC *m;

    if (avail >= 0)
        return avail;
    c = EVP_CIPHER_fetch(NULL, "SM4-CTR", NULL);
    md = EVP_MD_fetch(NULL, "SM3", NULL);
    m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    avail = c && md && m;
    EVP_CIPHER_free(c);
    EVP_MD_free(md);
    EVP_MAC_free(m);
    ERR_clear_error();
    return avail;
}

void crypto_sm4_free(crypto_sm4_ctx *c)
{
    if (!c)
        return;
    EVP_CIPHER_CTX_free(c->cctx);
    EVP_CIPHER_free(c->cipher);
    EVP_MAC_CTX_free(c->mctx);
    EVP_MAC_free(c->mac);
    sodium_memzero(c, sizeof(*c));
    free(c);
}

static dv_err derive_keys(crypto_sm4_ctx *c, const uint8_t subkey[32])
{
    if (crypto_generichash(c->enc_key, sizeof(c->enc_key), (const uint8_t *)enc_label,
                           sizeof(enc_label) - 1, subkey, 32) != 0 ||
        crypto_generichash(c->mac_key, sizeof(c->mac_key), (const uint8_t *)mac_label,
                           sizeof(mac_label) - 1, subkey, 32) != 0)
        return DV_ECRYPTO;
    return DV_OK;
}

dv_err crypto_sm4_new(const uint8_t subkey[32], crypto_sm4_ctx **out)
{
    crypto_sm4_ctx *c;
    OSSL_PARAM params[2];

    *out = NULL;
    if (!crypto_sm4_available())
        return DV_EUNSUPPORTED;
    c = dv_fault_hit() ? NULL : calloc(1, sizeof(*c));
    if (!c)
        return DV_ENOMEM;
    c->cipher = EVP_CIPHER_fetch(NULL, "SM4-CTR", NULL);
    c->cctx = EVP_CIPHER_CTX_new();
    c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    c->mctx = c->mac ? EVP_MAC_CTX_new(c->mac) : NULL;
    if (!c->cipher || !c->cctx || !c->mac || !c->mctx)
        goto fail;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sm3_name, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_CTX_set_params(c->mctx, params) != 1)
        goto fail;
    if (derive_keys(c, subkey) != DV_OK)
        goto fail;
    *out = c;
    return DV_OK;
fail:
    ERR_clear_error();
    crypto_sm4_free(c);
    return DV_ECRYPTO;
}

static void make_iv(uint8_t iv[SM4_IV_BYTES], uint64_t nonce)
{
    int i;

    memset(iv, 0, SM4_IV_BYTES);
    for (i = 0; i < 8; i++)
        iv[i] = (uint8_t)(nonce >> (8 * i));
}

/* mac = HMAC-SM3(mac_key, ad | ct) */
static dv_err mac_of(crypto_sm4_ctx *c, const uint8_t *ad, size_t adlen, const uint8_t *ct,
                     size_t len, uint8_t mac[SM3_BYTES])
{
    size_t outl = 0;

    if (EVP_MAC_init(c->mctx, c->mac_key, sizeof(c->mac_key), NULL) != 1 ||
        (adlen && EVP_MAC_update(c->mctx, ad, adlen) != 1) ||
        (len && EVP_MAC_update(c->mctx, ct, len) != 1) ||
        EVP_MAC_final(c->mctx, mac, &outl, SM3_BYTES) != 1 || outl != SM3_BYTES) {
        ERR_clear_error();
        return DV_ECRYPTO;
    }
    return DV_OK;
}

/* SM4-CTR is its own inverse: out = in XOR keystream */
static dv_err ctr_xor(crypto_sm4_ctx *c, uint64_t nonce, const uint8_t *in, size_t len,
                      uint8_t *out)
{
    uint8_t iv[SM4_IV_BYTES];
    int outl = 0, finl = 0;

    if (len > SM4_CHUNK_MAX)
        return DV_ECRYPTO;
    make_iv(iv, nonce);
    if (EVP_EncryptInit_ex2(c->cctx, c->cipher, c->enc_key, iv, NULL) != 1)
        goto fail;
    if (len && (EVP_EncryptUpdate(c->cctx, out, &outl, in, (int)len) != 1 || (size_t)outl != len))
        goto fail;
    if (EVP_EncryptFinal_ex(c->cctx, out + outl, &finl) != 1 || finl != 0)
        goto fail;
    return DV_OK;
fail:
    ERR_clear_error();
    return DV_ECRYPTO;
}

dv_err crypto_sm4_seal(crypto_sm4_ctx *c, uint64_t nonce, const uint8_t *ad, size_t adlen,
                       const uint8_t *pt, size_t len, uint8_t *ct, uint8_t tag[CRYPTO_SM4_TAG])
{
    uint8_t mac[SM3_BYTES];
    dv_err e;

    e = ctr_xor(c, nonce, pt, len, ct);
    if (e == DV_OK)
        e = mac_of(c, ad, adlen, ct, len, mac);
    if (e == DV_OK)
        memcpy(tag, mac, CRYPTO_SM4_TAG);
    sodium_memzero(mac, sizeof(mac));
    return e;
}

dv_err crypto_sm4_open(crypto_sm4_ctx *c, uint64_t nonce, const uint8_t *ad, size_t adlen,
                       const uint8_t *ct, size_t len, const uint8_t tag[CRYPTO_SM4_TAG],
                       uint8_t *pt)
{
    uint8_t mac[SM3_BYTES];
    dv_err e;

    e = mac_of(c, ad, adlen, ct, len, mac);
    if (e == DV_OK && sodium_memcmp(mac, tag, CRYPTO_SM4_TAG) != 0)
        e = DV_ETAMPER;
    sodium_memzero(mac, sizeof(mac));
    if (e != DV_OK)
        return e;
    e = ctr_xor(c, nonce, ct, len, pt);
    if (e != DV_OK && len)
        sodium_memzero(pt, len);
    return e;
}
