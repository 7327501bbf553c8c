/* SPDX-License-Identifier: Apache-2.0 */
/* phash.h - the sealed perceptual hash of each stored image (internal to src/vault): computed
 * once at import from the first frame's default rendering, sealed under a key derived from the
 * vault's pseudonym key ("phash-seal") and kept in the index, so trace opens 8-byte values
 * instead of decrypting and rendering every stored image.
 *
 * Sealed form: crypto_field_seal of the hash (8 bytes, little endian) with associated data
 * "dcmvault phash v1" | instance id (8 bytes LE) | object key (32 hex digits): a sealed value
 * moved to another row, or left on a row whose object was replaced, does not open.
 */
#ifndef DV_VAULT_PHASH_H
#define DV_VAULT_PHASH_H

#include "dicom/dicom.h"
#include "vault/vault_int.h"

#define VAULT_PHASH_SEALED_BYTES (24 + 8 + 16) /* nonce | ciphertext | tag */
_Static_assert(VAULT_PHASH_SEALED_BYTES <= INDEX_PHASH_SEAL_MAX, "a sealed hash fits the index");

/* The key that seals the hashes (the caller wipes it with crypto_key_wipe). */
dv_err vault_phash_key(const vault *v, crypto_key *out) DV_WUR DV_NONNULL(1, 2);

/* The perceptual hash (mark_phash) of frame 0 of f rendered with the defaults; -1 when f has no
 * image or it cannot be rendered. */
int vault_phash_of(const dcm_file *f, uint64_t *h) DV_NONNULL(1, 2);

/* Seals h for the instance (id, object key) into out (VAULT_PHASH_SEALED_BYTES). */
dv_err vault_phash_seal(const crypto_key *k, int64_t id, const char *key, uint64_t h,
                        uint8_t out[VAULT_PHASH_SEALED_BYTES]) DV_WUR DV_NONNULL(1, 3, 5);
/* Opens a sealed hash of the instance (id, object key).  DV_ECRYPTO when it does not open
 * (another row's, tampered, another vault's) or is not 8 bytes; *h is 0 then. */
dv_err vault_phash_open(const crypto_key *k, int64_t id, const char *key, const uint8_t *p,
                        size_t n, uint64_t *h) DV_WUR DV_NONNULL(1, 3, 4, 6);

/* At import, inside the transaction that wrote the instance row: hashes f, seals the hash and
 * stores it for instance id with the given object key.  No image, or a rendering failure: no
 * row and DV_OK (trace falls back to decrypting that instance).  Index or crypto failures are
 * returned. */
dv_err vault_phash_store(vault *v, const dcm_file *f, int64_t id, const char *key,
                         dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 4);

#endif
