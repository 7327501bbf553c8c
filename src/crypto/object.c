/* SPDX-License-Identifier: Apache-2.0 */
/* object.c - sealed objects: a 64-byte header, then chunks of AEAD ciphertext (see crypto.h).
 *
 * Invariants: a header is accepted only when its sizes add up exactly to the bytes given
 * (chunk count = max(1, ceil(plaintext_len / chunk_size)), every chunk but the last full);
 * each chunk's associated data is header | index | final flag, and its nonce is the chunk
 * index under a per-object subkey, so chunks cannot be dropped, reordered, moved between
 * objects or cut short; opened plaintext is written only into space reserved beforehand, and
 * on any failure everything the output holds is zeroed and the output emptied.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/dv.h"
#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#include "common/banned.h"

#define CHUNK_MIN    4096u
#define CHUNK_MAX    (16u * 1024u * 1024u)
#define AD_BYTES     (CRYPTO_OBJ_HEADER + 8 + 1)
#define PLAIN_MAX    (UINT64_C(1) << 62) /* keeps every size sum far from overflow */
#define OFF_ALG      8
#define OFF_CHUNK    12
#define OFF_LEN      16
#define OFF_ID       24
#define OFF_RESERVED 40

_Static_assert(OFF_RESERVED + 24 == CRYPTO_OBJ_HEADER, "object header is 64 bytes");
_Static_assert(CRYPTO_OBJ_TAG == crypto_aead_aes256gcm_ABYTES, "AES-GCM tag size");
_Static_assert(CRYPTO_OBJ_TAG == crypto_aead_xchacha20poly1305_ietf_ABYTES, "XChaCha tag size");
_Static_assert(CRYPTO_OBJ_TAG == CRYPTO_SM4_TAG, "SM4 suite tag size");

static const uint8_t magic[8] = {'D', 'V', 'O', 'B', 'J', 0, 0, 1};
static const char subkey_label[] = "dcmvault obj v1";

/* one object's chunk cipher: the subkey and whatever the algorithm precomputes from it */
typedef struct chunk_cipher {
    crypto_alg alg;
    uint8_t subkey[CRYPTO_KEY_BYTES];
    crypto_aead_aes256gcm_state aes;
    crypto_sm4_ctx *sm4;
} chunk_cipher;

/* a parsed header plus the cipher, for opening */
typedef struct obj_ctx {
    crypto_obj_info info;
    const uint8_t *hdr;
    const uint8_t *ct;
    uint64_t nchunks;
    chunk_cipher cc;
} obj_ctx;

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)dv_le32(p) | ((uint64_t)dv_le32(p + 4) << 32);
}

static void put_le64(uint8_t *p, uint64_t v)
{
    dv_put_le32(p, (uint32_t)v);
    dv_put_le32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t chunk_count(uint64_t len, uint32_t cs)
{
    return len == 0 ? 1 : (len - 1) / cs + 1;
}

static int alg_known(unsigned a)
{
    return a == CRYPTO_ALG_AES256GCM || a == CRYPTO_ALG_XCHACHA20POLY1305 ||
           a == CRYPTO_ALG_SM4CTR_HMACSM3;
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    size_t i;

    for (i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* checks a header against ct_len; NULL when it is one, else the rule it breaks */
static const char *header_check(const uint8_t *ct, size_t ct_len, crypto_obj_info *info)
{
    uint64_t len, n;

    if (!ct || ct_len < CRYPTO_OBJ_HEADER)
        return "object is shorter than its 64-byte header";
    if (memcmp(ct, magic, sizeof(magic)) != 0)
        return "object header has no DVOBJ version 1 magic";
    if (!alg_known(ct[OFF_ALG]))
        return "object header names an unknown algorithm";
    if (!all_zero(ct + OFF_ALG + 1, 3) || !all_zero(ct + OFF_RESERVED, 24))
        return "object header has non-zero reserved bytes";
    info->alg = (crypto_alg)ct[OFF_ALG];
    info->chunk_size = dv_le32(ct + OFF_CHUNK);
    if (info->chunk_size < CHUNK_MIN || info->chunk_size > CHUNK_MAX)
        return "object chunk size is outside 4 KiB..16 MiB";
    len = le64(ct + OFF_LEN);
    if (len > PLAIN_MAX)
        return "object plaintext length is impossibly large";
    info->plaintext_len = len;
    memcpy(info->id, ct + OFF_ID, CRYPTO_OBJ_ID_BYTES);
    n = chunk_count(len, info->chunk_size);
    if ((uint64_t)ct_len - CRYPTO_OBJ_HEADER != len + n * CRYPTO_OBJ_TAG)
        return "object size does not match its plaintext length and chunk count";
    return NULL;
}

dv_err crypto_obj_info_get(const uint8_t *ct, size_t ct_len, crypto_obj_info *info, dv_errinfo *ei)
{
    crypto_obj_info tmp;
    const char *why = header_check(ct, ct_len, &tmp);

    if (why)
        return dv_fail(ei, DV_EMALFORMED, 0, DV_NO_TAG, "%s", why);
    *info = tmp;
    return DV_OK;
}

/* ---- the chunk cipher --------------------------------------------------------------------- */

static dv_err cipher_init(chunk_cipher *cc, crypto_alg alg, const crypto_key *dek,
                          const uint8_t id[CRYPTO_OBJ_ID_BYTES])
{
    crypto_generichash_state st;
    int rc;

    memset(cc, 0, sizeof(*cc));
    cc->alg = alg;
    if (alg == CRYPTO_ALG_AES256GCM && !crypto_aead_aes256gcm_is_available())
        return DV_EUNSUPPORTED;
    rc = crypto_generichash_init(&st, dek->k, sizeof(dek->k), sizeof(cc->subkey));
    rc |= crypto_generichash_update(&st, (const uint8_t *)subkey_label, sizeof(subkey_label) - 1);
    rc |= crypto_generichash_update(&st, id, CRYPTO_OBJ_ID_BYTES);
    rc |= crypto_generichash_final(&st, cc->subkey, sizeof(cc->subkey));
    sodium_memzero(&st, sizeof(st));
    if (rc != 0)
        return DV_ECRYPTO;
    if (alg == CRYPTO_ALG_AES256GCM && crypto_aead_aes256gcm_beforenm(&cc->aes, cc->subkey) != 0)
        return DV_ECRYPTO;
    if (alg == CRYPTO_ALG_SM4CTR_HMACSM3)
        return crypto_sm4_new(cc->subkey, &cc->sm4);
    return DV_OK;
}

static void cipher_done(chunk_cipher *cc)
{
    crypto_sm4_free(cc->sm4);
    sodium_memzero(cc, sizeof(*cc));
}

static void chunk_ad(uint8_t ad[AD_BYTES], const uint8_t *hdr, uint64_t idx, int final)
{
    memcpy(ad, hdr, CRYPTO_OBJ_HEADER);
    put_le64(ad + CRYPTO_OBJ_HEADER, idx);
    ad[CRYPTO_OBJ_HEADER + 8] = (uint8_t)(final != 0);
}

/* the chunk index, little endian, padded with zeros to the algorithm's nonce size */
static void chunk_nonce(uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES], uint64_t idx)
{
    memset(nonce, 0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    put_le64(nonce, idx);
}

static dv_err chunk_seal(chunk_cipher *cc, const uint8_t ad[AD_BYTES], uint64_t idx,
                         const uint8_t *pt, size_t len, uint8_t *ct)
{
    uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    unsigned long long maclen = 0;
    int rc = -1;

    chunk_nonce(nonce, idx);
    switch (cc->alg) {
    case CRYPTO_ALG_AES256GCM:
        rc = crypto_aead_aes256gcm_encrypt_detached_afternm(ct, ct + len, &maclen, pt, len, ad,
                                                            AD_BYTES, NULL, nonce, &cc->aes);
        break;
    case CRYPTO_ALG_XCHACHA20POLY1305:
        rc = crypto_aead_xchacha20poly1305_ietf_encrypt_detached(ct, ct + len, &maclen, pt, len, ad,
                                                                 AD_BYTES, NULL, nonce, cc->subkey);
        break;
    case CRYPTO_ALG_SM4CTR_HMACSM3:
        return crypto_sm4_seal(cc->sm4, idx, ad, AD_BYTES, pt, len, ct, ct + len);
    case CRYPTO_ALG_NONE:
        break;
    }
    return rc == 0 && maclen == CRYPTO_OBJ_TAG ? DV_OK : DV_ECRYPTO;
}

/* DV_ETAMPER when the chunk does not authenticate (pt zeroed) */
static dv_err chunk_open(chunk_cipher *cc, const uint8_t ad[AD_BYTES], uint64_t idx,
                         const uint8_t *ct, size_t len, uint8_t *pt)
{
    uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    int rc = -1;

    chunk_nonce(nonce, idx);
    switch (cc->alg) {
    case CRYPTO_ALG_AES256GCM:
        rc = crypto_aead_aes256gcm_decrypt_detached_afternm(pt, NULL, ct, len, ct + len, ad,
                                                            AD_BYTES, nonce, &cc->aes);
        break;
    case CRYPTO_ALG_XCHACHA20POLY1305:
        rc = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(pt, NULL, ct, len, ct + len, ad,
                                                                 AD_BYTES, nonce, cc->subkey);
        break;
    case CRYPTO_ALG_SM4CTR_HMACSM3:
        return crypto_sm4_open(cc->sm4, idx, ad, AD_BYTES, ct, len, ct + len, pt);
    case CRYPTO_ALG_NONE:
        break;
    }
    if (rc != 0 && len)
        sodium_memzero(pt, len);
    return rc == 0 ? DV_OK : DV_ETAMPER;
}

/* ---- sealing ------------------------------------------------------------------------------ */

static void write_header(uint8_t *h, crypto_alg alg, uint32_t cs, uint64_t len,
                         const uint8_t id[CRYPTO_OBJ_ID_BYTES])
{
    memset(h, 0, CRYPTO_OBJ_HEADER);
    memcpy(h, magic, sizeof(magic));
    h[OFF_ALG] = (uint8_t)alg;
    dv_put_le32(h + OFF_CHUNK, cs);
    put_le64(h + OFF_LEN, len);
    memcpy(h + OFF_ID, id, CRYPTO_OBJ_ID_BYTES);
}

static dv_err seal_chunks(chunk_cipher *cc, uint8_t *hdr, uint32_t cs, const uint8_t *pt,
                          size_t len, dv_errinfo *ei)
{
    uint64_t i, n = chunk_count(len, cs);
    uint8_t ad[AD_BYTES];
    uint8_t *dst = hdr + CRYPTO_OBJ_HEADER;
    dv_err e = DV_OK;

    for (i = 0; i < n && !e; i++) {
        size_t off = (size_t)i * cs, clen = len - off < cs ? len - off : cs;
        chunk_ad(ad, hdr, i, i + 1 == n);
        e = chunk_seal(cc, ad, i, pt ? pt + off : dst, clen, dst);
        if (e)
            e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "chunk %llu could not be sealed",
                        (unsigned long long)i);
        dst += clen + CRYPTO_OBJ_TAG;
    }
    return e;
}

dv_err crypto_obj_seal(crypto_alg alg, const crypto_key *dek, const uint8_t id[CRYPTO_OBJ_ID_BYTES],
                       uint32_t chunk_size, const uint8_t *pt, size_t len, dv_buf *out,
                       dv_errinfo *ei)
{
    chunk_cipher cc;
    uint64_t n, total;
    uint8_t *hdr;
    dv_err e;

    if (chunk_size == 0)
        chunk_size = CRYPTO_CHUNK_DEFAULT;
    if (chunk_size < CHUNK_MIN || chunk_size > CHUNK_MAX)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "chunk size %u is outside 4 KiB..16 MiB", (unsigned)chunk_size);
    if (!alg_known(alg) || !dek || !id || (!pt && len))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no algorithm, key, id or data");
    n = chunk_count(len, chunk_size);
    total = CRYPTO_OBJ_HEADER + (uint64_t)len + n * CRYPTO_OBJ_TAG;
    if ((uint64_t)len > PLAIN_MAX || total > SIZE_MAX)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "object is too large to seal");
    e = dv_buf_reserve(out, (size_t)total);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "no room for a %llu-byte sealed object",
                       (unsigned long long)total);
    e = cipher_init(&cc, alg, dek, id);
    if (e) {
        cipher_done(&cc);
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "cannot set up %s", crypto_alg_name(alg));
    }
    hdr = out->p + out->len;
    write_header(hdr, alg, chunk_size, len, id);
    e = seal_chunks(&cc, hdr, chunk_size, pt, len, ei);
    cipher_done(&cc);
    if (e) {
        sodium_memzero(hdr, (size_t)total);
        out->p[out->len] = 0;
        return e;
    }
    out->len += (size_t)total;
    out->p[out->len] = 0;
    return DV_OK;
}

/* ---- opening ------------------------------------------------------------------------------ */

/* zeroes the first upto bytes of the storage and empties the buffer */
static void wipe_out(dv_buf *out, size_t upto)
{
    if (out->p && upto)
        sodium_memzero(out->p, upto);
    dv_buf_reset(out);
}

static dv_err obj_begin(obj_ctx *c, const crypto_key *dek, const uint8_t id[CRYPTO_OBJ_ID_BYTES],
                        const uint8_t *ct, size_t ct_len, dv_errinfo *ei)
{
    const char *why;
    dv_err e;

    memset(c, 0, sizeof(*c));
    if (!dek || !id)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no key or object id");
    why = header_check(ct, ct_len, &c->info);
    if (why)
        return dv_fail(ei, DV_ETAMPER, 0, DV_NO_TAG, "%s", why);
    if (memcmp(c->info.id, id, CRYPTO_OBJ_ID_BYTES) != 0)
        return dv_fail(ei, DV_ETAMPER, OFF_ID, DV_NO_TAG,
                       "object id in the header is not the one expected");
    c->hdr = ct;
    c->ct = ct + CRYPTO_OBJ_HEADER;
    c->nchunks = chunk_count(c->info.plaintext_len, c->info.chunk_size);
    e = cipher_init(&c->cc, c->info.alg, dek, id);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "cannot set up %s",
                       crypto_alg_name(c->info.alg));
    return DV_OK;
}

/* opens chunk i into dst (its full plaintext length) */
static dv_err open_one(obj_ctx *c, uint64_t i, uint8_t *dst, size_t *clen, dv_errinfo *ei)
{
    uint64_t cs = c->info.chunk_size, off = i * cs;
    uint64_t len = c->info.plaintext_len - off < cs ? c->info.plaintext_len - off : cs;
    const uint8_t *src = c->ct + i * (cs + CRYPTO_OBJ_TAG);
    uint8_t ad[AD_BYTES];
    dv_err e;

    chunk_ad(ad, c->hdr, i, i + 1 == c->nchunks);
    *clen = (size_t)len;
    e = chunk_open(&c->cc, ad, i, src, (size_t)len, dst);
    if (e == DV_ETAMPER)
        return dv_fail(ei, e, CRYPTO_OBJ_HEADER + i * (cs + CRYPTO_OBJ_TAG), DV_NO_TAG,
                       "chunk %llu does not authenticate", (unsigned long long)i);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "chunk %llu could not be opened",
                       (unsigned long long)i);
    return DV_OK;
}

/* appends plaintext [off, off+n) of chunks first..last to out, which has room for n bytes */
static dv_err open_span(obj_ctx *c, uint64_t first, uint64_t last, uint64_t off, size_t n,
                        dv_buf *out, dv_buf *scratch, dv_errinfo *ei)
{
    uint64_t i, cs = c->info.chunk_size, end = off + n;
    dv_err e = DV_OK;

    for (i = first; i <= last && !e; i++) {
        uint64_t cstart = i * cs;
        uint64_t from = off > cstart ? off - cstart : 0;
        uint64_t to = end - cstart < cs ? end - cstart : cs;
        size_t clen = 0;
        if (from == 0 && (to == cs || cstart + to == c->info.plaintext_len)) {
            e = open_one(c, i, out->p + out->len, &clen, ei);
            if (!e)
                out->len += clen;
            continue;
        }
        e = dv_buf_reserve(scratch, cs);
        if (e)
            e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "no room to open chunk %llu",
                        (unsigned long long)i);
        else
            e = open_one(c, i, scratch->p, &clen, ei);
        if (!e) {
            memcpy(out->p + out->len, scratch->p + from, (size_t)(to - from));
            out->len += (size_t)(to - from);
        }
        if (scratch->p)
            sodium_memzero(scratch->p, cs);
    }
    return e;
}

/* checks the range (whole: the entire object) and makes room for it in out */
static dv_err open_prepare(obj_ctx *c, int whole, uint64_t off, size_t *n, dv_buf *out,
                           dv_errinfo *ei)
{
    dv_err e;

    if (whole && c->info.plaintext_len > SIZE_MAX - 1)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "object too large for memory");
    if (whole)
        *n = (size_t)c->info.plaintext_len;
    if (off > c->info.plaintext_len || *n > c->info.plaintext_len - off)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "range passes the end of the object");
    e = dv_buf_reserve(out, *n);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "no room for %zu bytes", *n);
    return DV_OK;
}

static dv_err open_common(const crypto_key *dek, const uint8_t id[CRYPTO_OBJ_ID_BYTES],
                          const uint8_t *ct, size_t ct_len, int whole, uint64_t off, size_t n,
                          dv_buf *out, dv_errinfo *ei)
{
    size_t start = out->len;
    uint64_t first, last;
    dv_buf scratch;
    obj_ctx c;
    dv_err e;

    e = obj_begin(&c, dek, id, ct, ct_len, ei);
    if (e == DV_ETAMPER)
        wipe_out(out, start);
    if (!e)
        e = open_prepare(&c, whole, off, &n, out, ei);
    if (e || (n == 0 && !whole)) {
        cipher_done(&c.cc);
        return e;
    }
    first = whole ? 0 : off / c.info.chunk_size;
    last = whole ? c.nchunks - 1 : (off + n - 1) / c.info.chunk_size;
    dv_buf_init(&scratch, c.info.chunk_size);
    e = open_span(&c, first, last, off, n, out, &scratch, ei);
    cipher_done(&c.cc);
    dv_buf_release(&scratch);
    if (e) {
        wipe_out(out, start + n);
        return e;
    }
    out->p[out->len] = 0;
    return DV_OK;
}

dv_err crypto_obj_open(const crypto_key *dek, const uint8_t id[CRYPTO_OBJ_ID_BYTES],
                       const uint8_t *ct, size_t ct_len, dv_buf *out, dv_errinfo *ei)
{
    return open_common(dek, id, ct, ct_len, 1, 0, 0, out, ei);
}

dv_err crypto_obj_open_range(const crypto_key *dek, const uint8_t id[CRYPTO_OBJ_ID_BYTES],
                             const uint8_t *ct, size_t ct_len, uint64_t off, size_t n, dv_buf *out,
                             dv_errinfo *ei)
{
    return open_common(dek, id, ct, ct_len, 0, off, n, out, ei);
}
