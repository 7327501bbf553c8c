/* SPDX-License-Identifier: Apache-2.0 */
/* crypto.h - keys, key wrapping, sealed objects and sealed fields for dcmvault.
 *
 * Built on libsodium (and OpenSSL only for the national-algorithm suite SM4/SM3).  Nothing
 * here invents a primitive.  Rules every function keeps:
 *  - secrets (crypto_key) are wiped with sodium_memzero by their owner via crypto_key_wipe();
 *    long-lived keys are mlocked by crypto_key_lock();
 *  - when authentication fails, the output buffer is emptied (len 0, bytes zeroed) and
 *    DV_ECRYPTO / DV_ETAMPER is returned: no partial plaintext ever leaves;
 *  - every return value of libsodium/OpenSSL and of I/O is checked;
 *  - messages never contain key bytes, plaintext or file contents.
 *
 * Sealed object format (all integers little endian), version 1:
 *   header (64 bytes): magic "DVOBJ\0\0\1" (8) | alg (1) | reserved (3) | chunk_size (4) |
 *                      plaintext_len (8) | object_id (16) | reserved zero (24)
 *   then ceil(plaintext_len / chunk_size) chunks (at least one, possibly empty), each the
 *   ciphertext of chunk_size plaintext bytes (the last may be shorter) followed by its 16-byte
 *   tag.  Each chunk is encrypted under a per-object subkey
 *   subkey = BLAKE2b-256(key = DEK, msg = "dcmvault obj v1" | object_id)
 *   with the chunk index as nonce (so nonces never repeat under one subkey) and associated
 *   data = header (64 bytes) | chunk index (8) | final flag (1).  Truncation, reordering,
 *   swapping chunks between objects, and changing any header byte are all detected.
 *   A frame can be read by opening only the chunks that cover its byte range.
 */
#ifndef DV_CRYPTO_H
#define DV_CRYPTO_H

#include "common/buf.h"
#include "common/dv.h"

#define CRYPTO_KEY_BYTES     32
#define CRYPTO_OBJ_HEADER    64
#define CRYPTO_OBJ_TAG       16
#define CRYPTO_OBJ_ID_BYTES  16
#define CRYPTO_CHUNK_DEFAULT 65536u
#define CRYPTO_BLIND_BYTES   32
#define CRYPTO_SALT_BYTES    16

typedef struct crypto_key {
    uint8_t k[CRYPTO_KEY_BYTES];
} crypto_key;

typedef enum crypto_alg {
    CRYPTO_ALG_NONE = 0,
    CRYPTO_ALG_AES256GCM = 1,         /* libsodium, needs AES-NI + PCLMUL */
    CRYPTO_ALG_XCHACHA20POLY1305 = 2, /* libsodium IETF XChaCha20-Poly1305 */
    CRYPTO_ALG_SM4CTR_HMACSM3 = 3     /* OpenSSL: SM4-CTR, then HMAC-SM3 over AD|ct (EtM) */
} crypto_alg;

/* Initialises libsodium (idempotent).  Call once before anything else. */
dv_err crypto_init(void) DV_WUR;

/* AES-256-GCM when the CPU supports it (crypto_aead_aes256gcm_is_available), else XChaCha20. */
crypto_alg crypto_default_alg(void);
/* "aes256gcm", "xchacha20poly1305", "sm4" -> alg; CRYPTO_ALG_NONE when unknown/unavailable. */
crypto_alg crypto_alg_from_name(const char *name);
const char *crypto_alg_name(crypto_alg alg);

/* Fills buf with random bytes (randombytes_buf). */
void crypto_random(void *buf, size_t len);
/* A fresh random key. */
void crypto_key_random(crypto_key *k);
/* Locks the key's page in memory (best effort: a failure to mlock is not an error). */
void crypto_key_lock(crypto_key *k);
/* Wipes (and unlocks, if locked) a key.  k may be NULL. */
void crypto_key_wipe(crypto_key *k);
/* Derives a sub-key for one purpose ("blind-index", "pseudonym", ...) from a root key. */
dv_err crypto_key_derive(const crypto_key *root, const char *purpose, crypto_key *out) DV_WUR;

/* ---- key-encryption key sources --------------------------------------------------------- */

/* Creates a key file holding a random 32-byte key (hex, one line) with mode 0600, O_EXCL:
 * refuses to overwrite.  Writes the key to *out as well. */
dv_err crypto_keyfile_create(const char *path, crypto_key *out, dv_errinfo *ei) DV_WUR;
/* Loads a key file.  Refuses (DV_EPERM) a file readable or writable by group/other, or not
 * a regular file; DV_EMALFORMED for a file that is not exactly one 64-hex-digit line. */
dv_err crypto_keyfile_load(const char *path, crypto_key *out, dv_errinfo *ei) DV_WUR;
/* Argon2id (crypto_pwhash, at least m = 19 MiB, t = 2) of a passphrase with a salt. */
dv_err crypto_kek_from_passphrase(const char *pass, size_t len,
                                  const uint8_t salt[CRYPTO_SALT_BYTES], crypto_key *out,
                                  dv_errinfo *ei) DV_WUR;

/* ---- wrapping data keys ------------------------------------------------------------------- */

/* A wrapped key: version (1) | nonce (24) | ciphertext of the key (32) | tag (16). */
#define CRYPTO_WRAPPED_BYTES (1 + 24 + CRYPTO_KEY_BYTES + 16)

/* Wraps dek under kek with XChaCha20-Poly1305, binding ad (e.g. the study's blind index). */
dv_err crypto_wrap(const crypto_key *kek, const crypto_key *dek, const uint8_t *ad, size_t adlen,
                   uint8_t out[CRYPTO_WRAPPED_BYTES]) DV_WUR;
/* DV_ECRYPTO when kek or ad is wrong or the blob was changed; *dek is zeroed then. */
dv_err crypto_unwrap(const crypto_key *kek, const uint8_t *in, size_t inlen, const uint8_t *ad,
                     size_t adlen, crypto_key *dek, dv_errinfo *ei) DV_WUR;

/* ---- sealed objects (see the format above) ------------------------------------------------ */

/* Seals pt into out (appended).  chunk_size 0 means CRYPTO_CHUNK_DEFAULT. */
dv_err crypto_obj_seal(crypto_alg alg, const crypto_key *dek, const uint8_t id[CRYPTO_OBJ_ID_BYTES],
                       uint32_t chunk_size, const uint8_t *pt, size_t len, dv_buf *out,
                       dv_errinfo *ei) DV_WUR;
/* Reads the header of a sealed object without a key (alg, sizes, id).  DV_EMALFORMED when the
 * header is not one (bad magic, unknown alg, sizes that do not add up to ct_len). */
typedef struct crypto_obj_info {
    crypto_alg alg;
    uint32_t chunk_size;
    uint64_t plaintext_len;
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
} crypto_obj_info;
dv_err crypto_obj_info_get(const uint8_t *ct, size_t ct_len, crypto_obj_info *info,
                           dv_errinfo *ei) DV_WUR;
/* Opens the whole object (appended to out).  The expected id must match the header's. */
dv_err crypto_obj_open(const crypto_key *dek, const uint8_t id[CRYPTO_OBJ_ID_BYTES],
                       const uint8_t *ct, size_t ct_len, dv_buf *out, dv_errinfo *ei) DV_WUR;
/* Opens only plaintext bytes [off, off+n) (appended to out), decrypting only the chunks that
 * cover them.  DV_EINVAL when the range passes the end. */
dv_err crypto_obj_open_range(const crypto_key *dek, const uint8_t id[CRYPTO_OBJ_ID_BYTES],
                             const uint8_t *ct, size_t ct_len, uint64_t off, size_t n, dv_buf *out,
                             dv_errinfo *ei) DV_WUR;

/* ---- sealed fields and blind indexes (for the index) ------------------------------------- */

/* Seals a short value: nonce (24) | XChaCha20-Poly1305 ciphertext | tag (16), appended. */
dv_err crypto_field_seal(const crypto_key *k, const uint8_t *pt, size_t len, const uint8_t *ad,
                         size_t adlen, dv_buf *out) DV_WUR;
dv_err crypto_field_open(const crypto_key *k, const uint8_t *ct, size_t len, const uint8_t *ad,
                         size_t adlen, dv_buf *out, dv_errinfo *ei) DV_WUR;
/* HMAC-SHA-256(k, domain | 0x00 | v): a keyed, deterministic tag for exact-match lookups. */
void crypto_blind(const crypto_key *k, const char *domain, const uint8_t *v, size_t len,
                  uint8_t out[CRYPTO_BLIND_BYTES]);

#endif
