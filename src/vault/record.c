/* SPDX-License-Identifier: Apache-2.0 */
/* record.c - the plaintext of a sealed index record: a small list of (tag, UTF-8 value).
 *
 * Encoding: version byte 1, then for each field tag (u32 LE) | len (u32 LE) | bytes.  Values
 * are at most VAULT_REC_VALUE_MAX bytes, a record at most VAULT_REC_FIELDS fields.  Decoding
 * checks every length against the bytes left (records are authenticated, but a bug must not
 * become an overread).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "vault/vault_int.h"

#include "common/banned.h"

#define REC_VERSION 1

void vault_rec_free(vault_rec *r)
{
    unsigned i;

    if (!r)
        return;
    for (i = 0; i < r->n; i++) {
        if (r->val[i])
            sodium_memzero(r->val[i], strlen(r->val[i]));
        free(r->val[i]);
    }
    memset(r, 0, sizeof(*r));
}

dv_err vault_rec_set(vault_rec *r, uint32_t tag, const char *s, size_t len)
{
    unsigned i;
    char *copy;

    if (len > VAULT_REC_VALUE_MAX)
        len = VAULT_REC_VALUE_MAX;
    if (memchr(s, 0, len))
        len = strlen(s);
    copy = malloc(len + 1);
    if (!copy)
        return DV_ENOMEM;
    memcpy(copy, s, len);
    copy[len] = 0;
    for (i = 0; i < r->n; i++) {
        if (r->tag[i] == tag) {
            free(r->val[i]);
            r->val[i] = copy;
            return DV_OK;
        }
    }
    if (r->n >= VAULT_REC_FIELDS) {
        free(copy);
        return DV_ELIMIT;
    }
    r->tag[r->n] = tag;
    r->val[r->n] = copy;
    r->n++;
    return DV_OK;
}

const char *vault_rec_get(const vault_rec *r, uint32_t tag)
{
    unsigned i;

    for (i = 0; i < r->n; i++)
        if (r->tag[i] == tag)
            return r->val[i];
    return "";
}

dv_err vault_rec_encode(const vault_rec *r, dv_buf *out)
{
    dv_err e = dv_buf_addc(out, REC_VERSION);
    unsigned i;

    for (i = 0; !e && i < r->n; i++) {
        size_t len = strlen(r->val[i]);

        if (!len)
            continue;
        e = dv_buf_add_u32le(out, r->tag[i]);
        if (!e)
            e = dv_buf_add_u32le(out, (uint32_t)len);
        if (!e)
            e = dv_buf_add(out, r->val[i], len);
    }
    return e;
}

dv_err vault_rec_decode(const uint8_t *p, size_t len, vault_rec *r, dv_errinfo *ei)
{
    size_t off = 1;
    dv_err e = DV_OK;

    memset(r, 0, sizeof(*r));
    if (len < 1 || p[0] != REC_VERSION)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG, "unknown record version");
    while (!e && off < len) {
        uint32_t tag, vlen;

        if (len - off < 8)
            return dv_fail(ei, DV_EMALFORMED, off, DV_NO_TAG, "record field header cut short");
        tag = dv_le32(p + off);
        vlen = dv_le32(p + off + 4);
        off += 8;
        if (vlen > len - off || vlen > VAULT_REC_VALUE_MAX) {
            vault_rec_free(r);
            return dv_fail(ei, DV_EMALFORMED, off, DV_NO_TAG, "record field longer than left");
        }
        e = vault_rec_set(r, tag, (const char *)p + off, vlen);
        off += vlen;
    }
    if (e) {
        vault_rec_free(r);
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "cannot decode a record");
    }
    return DV_OK;
}
