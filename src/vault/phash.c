/* SPDX-License-Identifier: Apache-2.0 */
/* phash.c - each stored image's perceptual hash, sealed for the index (see phash.h).
 *
 * Invariant: a clear hash lives only on the stack of the function that computed or opened it,
 * and is wiped there; the index and the disk only ever see the sealed form.
 */
#include <sodium.h>
#include <string.h>

#include "mark/mark.h"
#include "render/render.h"
#include "vault/phash.h"

#include "common/banned.h"

#define PHASH_AD_LABEL "dcmvault phash v1"
#define PHASH_AD_BYTES (sizeof(PHASH_AD_LABEL) - 1 + 8 + INDEX_KEY_LEN)

dv_err vault_phash_key(const vault *v, crypto_key *out)
{
    return crypto_key_derive(&v->pseud_key, "phash-seal", out);
}

int vault_phash_of(const dcm_file *f, uint64_t *h)
{
    render_image im;
    int rc = -1;

    memset(&im, 0, sizeof(im));
    *h = 0;
    if (render_frame(f, 0, NULL, &im, NULL) == DV_OK)
        rc = mark_phash(&im, h);
    render_image_release(&im);
    return rc;
}

/* label | id (LE) | object key; 0 when the key is not INDEX_KEY_LEN characters */
static int phash_ad(int64_t id, const char *key, uint8_t ad[PHASH_AD_BYTES])
{
    size_t off = sizeof(PHASH_AD_LABEL) - 1, i;

    if (strnlen(key, INDEX_KEY_LEN + 1) != INDEX_KEY_LEN)
        return 0;
    memcpy(ad, PHASH_AD_LABEL, off);
    for (i = 0; i < 8; i++)
        ad[off + i] = (uint8_t)((uint64_t)id >> (8 * i));
    memcpy(ad + off + 8, key, INDEX_KEY_LEN);
    return 1;
}

dv_err vault_phash_seal(const crypto_key *k, int64_t id, const char *key, uint64_t h,
                        uint8_t out[VAULT_PHASH_SEALED_BYTES])
{
    uint8_t ad[PHASH_AD_BYTES], pt[8];
    dv_buf ct;
    dv_err e;
    size_t i;

    if (!phash_ad(id, key, ad))
        return DV_EINVAL;
    for (i = 0; i < 8; i++)
        pt[i] = (uint8_t)(h >> (8 * i));
    dv_buf_init(&ct, VAULT_PHASH_SEALED_BYTES);
    e = crypto_field_seal(k, pt, sizeof(pt), ad, sizeof(ad), &ct);
    if (!e && ct.len != VAULT_PHASH_SEALED_BYTES)
        e = DV_ECRYPTO;
    if (!e)
        memcpy(out, ct.p, VAULT_PHASH_SEALED_BYTES);
    sodium_memzero(pt, sizeof(pt));
    dv_buf_release(&ct);
    return e;
}

dv_err vault_phash_open(const crypto_key *k, int64_t id, const char *key, const uint8_t *p,
                        size_t n, uint64_t *h)
{
    uint8_t ad[PHASH_AD_BYTES];
    dv_buf pt;
    dv_err e;
    size_t i;

    *h = 0;
    if (!phash_ad(id, key, ad) || n != VAULT_PHASH_SEALED_BYTES)
        return DV_ECRYPTO;
    dv_buf_init(&pt, 8);
    e = crypto_field_open(k, p, n, ad, sizeof(ad), &pt, NULL);
    if (!e && pt.len != 8)
        e = DV_ECRYPTO;
    for (i = 0; !e && i < 8; i++)
        *h |= (uint64_t)pt.p[i] << (8 * i);
    if (pt.p)
        sodium_memzero(pt.p, pt.cap);
    dv_buf_release(&pt);
    return e;
}

dv_err vault_phash_store(vault *v, const dcm_file *f, int64_t id, const char *key, dv_errinfo *ei)
{
    uint8_t sealed[VAULT_PHASH_SEALED_BYTES];
    crypto_key k;
    uint64_t h;
    dv_err e;

    if (vault_phash_of(f, &h) != 0)
        return DV_OK; /* not an image, or not one we render: trace decrypts it instead */
    e = vault_phash_key(v, &k);
    if (!e)
        e = vault_phash_seal(&k, id, key, h, sealed);
    crypto_key_wipe(&k);
    sodium_memzero(&h, sizeof(h));
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "cannot seal the image's hash");
    return index_phash_put(v->db, id, sealed, sizeof(sealed), ei);
}
