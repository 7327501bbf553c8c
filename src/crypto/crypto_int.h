/* SPDX-License-Identifier: Apache-2.0 */
/* crypto_int.h - internals shared by the crypto/ sources; not part of the public contract.
 *
 * The SM4 suite is an AEAD built from OpenSSL parts: SM4-CTR encryption, then HMAC-SM3 over
 * (associated data | ciphertext), tag = the first 16 bytes of the HMAC (encrypt-then-MAC).
 * The SM4 and HMAC keys are derived from one 32-byte subkey with keyed BLAKE2b and distinct
 * labels.  A context holds one subkey's derived keys and the OpenSSL objects for one object.
 */
#ifndef DV_CRYPTO_INT_H
#define DV_CRYPTO_INT_H

#include "common/dv.h"

#define CRYPTO_SM4_TAG 16

typedef struct crypto_sm4_ctx crypto_sm4_ctx;

/* True when this OpenSSL offers SM4-CTR and HMAC-SM3 (checked once, cached). */
int crypto_sm4_available(void);

/* A context keyed from subkey (32 bytes).  DV_ENOMEM, or DV_EUNSUPPORTED/DV_ECRYPTO when
 * OpenSSL cannot provide the algorithms.  Free with crypto_sm4_free (accepts NULL). */
dv_err crypto_sm4_new(const uint8_t subkey[32], crypto_sm4_ctx **out) DV_WUR;
void crypto_sm4_free(crypto_sm4_ctx *c);

/* Encrypts len bytes of pt into ct (same length) under a 16-byte IV built from nonce
 * (8 bytes little endian, then zeros) and writes the tag.  DV_ECRYPTO when OpenSSL fails. */
dv_err crypto_sm4_seal(crypto_sm4_ctx *c, uint64_t nonce, const uint8_t *ad, size_t adlen,
                       const uint8_t *pt, size_t len, uint8_t *ct,
                       uint8_t tag[CRYPTO_SM4_TAG]) DV_WUR;

/* Checks the tag first and only then decrypts into pt.  DV_ETAMPER when the tag does not
 * match (pt untouched), DV_ECRYPTO when OpenSSL fails (pt zeroed). */
dv_err crypto_sm4_open(crypto_sm4_ctx *c, uint64_t nonce, const uint8_t *ad, size_t adlen,
                       const uint8_t *ct, size_t len, const uint8_t tag[CRYPTO_SM4_TAG],
                       uint8_t *pt) DV_WUR;

#endif
