/* SPDX-License-Identifier: Apache-2.0 */
/* proof.c - inclusion and consistency proofs as text, and checking them against checkpoints.
 *
 * Proof text (docs/audit.md "Proof text"), one item a line, in this order, '\n' line ends:
 *   inclusion:   "dcmvault-inclusion-proof" | "index N" | "size N" | "leaf B64"
 *                | ["entry B64"] | "hash B64" x 0..130
 *   consistency: "dcmvault-consistency-proof" | "old N" | "size N" | "hash B64" x 0..130
 * N: decimal without leading zeros; B64: standard base64 of 32 bytes (the entry: 1..4096
 * bytes).  The parser accepts nothing else: no blank lines, no other keywords, at most 64 KiB.
 */
#include <sodium.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/audit_int.h"

#include "common/banned.h"

#define PROOF_TEXT_MAX  65536
#define INCLUSION_MAGIC "dcmvault-inclusion-proof"
#define CONSIST_MAGIC   "dcmvault-consistency-proof"

static dv_err add_b64_line(dv_buf *out, const char *key, const uint8_t *p, size_t n)
{
    char b64[AUDIT_ENTRY_MAX * 4 / 3 + 8];
    dv_err e;

    audit_b64_encode(p, n, b64, sizeof(b64));
    e = dv_buf_adds(out, key);
    if (!e)
        e = dv_buf_adds(out, b64);
    return e ? e : dv_buf_addc(out, '\n');
}

dv_err audit_proof_format(const audit_proof *pf, dv_buf *out)
{
    size_t i;
    dv_err e;

    if (pf->nproof > AUDIT_PROOF_MAX)
        return DV_EINVAL;
    if (pf->kind == 'I') {
        e = dv_buf_printf(out, INCLUSION_MAGIC "\nindex %llu\nsize %llu\n",
                          (unsigned long long)pf->index, (unsigned long long)pf->size);
        if (!e)
            e = add_b64_line(out, "leaf ", pf->leaf, AUDIT_HASH_BYTES);
        if (!e && pf->has_entry)
            e = add_b64_line(out, "entry ", pf->entry, pf->entry_len);
    } else {
        e = dv_buf_printf(out, CONSIST_MAGIC "\nold %llu\nsize %llu\n",
                          (unsigned long long)pf->old_size, (unsigned long long)pf->size);
    }
    for (i = 0; !e && i < pf->nproof; i++)
        e = add_b64_line(out, "hash ", pf->proof[i], AUDIT_HASH_BYTES);
    return e;
}

/* ---- parsing -------------------------------------------------------------------------------- */

typedef struct lines {
    const uint8_t *p;
    size_t n, pos;
    const char *l; /* current line and its length (no newline) */
    size_t len;
} lines;

static int line_next(lines *ls)
{
    const uint8_t *nl;

    if (ls->pos >= ls->n)
        return 0;
    nl = memchr(ls->p + ls->pos, '\n', ls->n - ls->pos);
    if (!nl)
        return -1;
    ls->l = (const char *)ls->p + ls->pos;
    ls->len = (size_t)(nl - (ls->p + ls->pos));
    ls->pos += ls->len + 1;
    return 1;
}

/* When the current line is "KEY VALUE", points *v / *vn at VALUE. */
static int keyed(const lines *ls, const char *key, const char **v, size_t *vn)
{
    size_t k = strlen(key);

    if (ls->len <= k + 1 || memcmp(ls->l, key, k) != 0 || ls->l[k] != ' ')
        return 0;
    *v = ls->l + k + 1;
    *vn = ls->len - k - 1;
    return 1;
}

static int dec_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 1;
}

static dv_err need_num(lines *ls, const char *key, uint64_t *out, dv_errinfo *ei)
{
    const char *v;
    size_t vn;

    if (line_next(ls) != 1 || !keyed(ls, key, &v, &vn) || !dec_u64(v, vn, out))
        return dv_fail(ei, DV_EMALFORMED, ls->pos, DV_NO_TAG, "proof: expected '%s N'", key);
    return DV_OK;
}

static int hash_b64(const char *v, size_t vn, uint8_t out[AUDIT_HASH_BYTES])
{
    size_t n;

    return !audit_b64_decode(v, vn, out, AUDIT_HASH_BYTES, &n) && n == AUDIT_HASH_BYTES;
}

static dv_err parse_tail(lines *ls, audit_proof *pf, dv_errinfo *ei)
{
    const char *v;
    size_t vn;
    int r;
    uint64_t at;

    for (;;) {
        at = ls->pos;
        r = line_next(ls);
        if (r == 0)
            return DV_OK;
        if (r < 0)
            return dv_fail(ei, DV_EMALFORMED, at, DV_NO_TAG, "proof: the last line has no newline");
        if (pf->kind == 'I' && !pf->has_entry && !pf->nproof && keyed(ls, "entry", &v, &vn)) {
            if (audit_b64_decode(v, vn, pf->entry, sizeof(pf->entry), &pf->entry_len) ||
                pf->entry_len == 0)
                return dv_fail(ei, DV_EMALFORMED, at, DV_NO_TAG,
                               "proof: entry must be base64 of 1..%d bytes", AUDIT_ENTRY_MAX);
            pf->has_entry = 1;
            continue;
        }
        if (!keyed(ls, "hash", &v, &vn))
            return dv_fail(ei, DV_EMALFORMED, at, DV_NO_TAG, "proof: expected 'hash B64'");
        if (pf->nproof >= AUDIT_PROOF_MAX)
            return dv_fail(ei, DV_ELIMIT, at, DV_NO_TAG, "proof: more than %d hashes",
                           AUDIT_PROOF_MAX);
        if (!hash_b64(v, vn, pf->proof[pf->nproof]))
            return dv_fail(ei, DV_EMALFORMED, at, DV_NO_TAG,
                           "proof: a hash must be base64 of 32 bytes");
        pf->nproof++;
    }
}

dv_err audit_proof_parse(const uint8_t *p, size_t n, audit_proof *pf, dv_errinfo *ei)
{
    lines ls = {p, n, 0, NULL, 0};
    const char *v;
    size_t vn;
    dv_err e;

    memset(pf, 0, sizeof(*pf));
    if (n > PROOF_TEXT_MAX)
        return dv_fail(ei, DV_ELIMIT, PROOF_TEXT_MAX, DV_NO_TAG, "proof: longer than %d bytes",
                       PROOF_TEXT_MAX);
    if (line_next(&ls) != 1)
        return dv_fail(ei, DV_EMALFORMED, 0, DV_NO_TAG, "proof: empty");
    if (ls.len == strlen(INCLUSION_MAGIC) && !memcmp(ls.l, INCLUSION_MAGIC, ls.len)) {
        pf->kind = 'I';
        e = need_num(&ls, "index", &pf->index, ei);
        if (!e)
            e = need_num(&ls, "size", &pf->size, ei);
        if (!e &&
            (line_next(&ls) != 1 || !keyed(&ls, "leaf", &v, &vn) || !hash_b64(v, vn, pf->leaf)))
            e = dv_fail(ei, DV_EMALFORMED, ls.pos, DV_NO_TAG, "proof: expected 'leaf B64'");
    } else if (ls.len == strlen(CONSIST_MAGIC) && !memcmp(ls.l, CONSIST_MAGIC, ls.len)) {
        pf->kind = 'C';
        e = need_num(&ls, "old", &pf->old_size, ei);
        if (!e)
            e = need_num(&ls, "size", &pf->size, ei);
    } else {
        e = dv_fail(ei, DV_EMALFORMED, 0, DV_NO_TAG, "proof: unknown first line");
    }
    if (!e)
        e = parse_tail(&ls, pf, ei);
    if (e)
        memset(pf, 0, sizeof(*pf));
    return e;
}

dv_err audit_proof_check(const audit_proof *pf, const audit_checkpoint *old_cp,
                         const audit_checkpoint *cp, dv_errinfo *ei)
{
    uint8_t leaf[AUDIT_HASH_BYTES];

    if (pf->size != cp->size)
        return dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                       "the proof is for size %llu, the checkpoint has %llu",
                       (unsigned long long)pf->size, (unsigned long long)cp->size);
    if (pf->kind == 'I') {
        if (pf->has_entry) {
            audit_leaf_hash(pf->entry, pf->entry_len, leaf);
            if (sodium_memcmp(leaf, pf->leaf, AUDIT_HASH_BYTES) != 0)
                return dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                               "the entry does not hash to the leaf");
        }
        if (!audit_verify_inclusion(pf->index, pf->size, pf->leaf,
                                    (const uint8_t(*)[AUDIT_HASH_BYTES])pf->proof, pf->nproof,
                                    cp->root))
            return dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                           "the inclusion proof does not lead to the checkpoint's root");
        return DV_OK;
    }
    if (!old_cp || old_cp->size != pf->old_size)
        return dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                       "the proof's old size is not the old checkpoint's");
    if (!audit_verify_consistency(pf->old_size, pf->size, old_cp->root, cp->root,
                                  (const uint8_t(*)[AUDIT_HASH_BYTES])pf->proof, pf->nproof))
        return dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                       "the consistency proof does not join the two checkpoints' roots");
    return DV_OK;
}

dv_err audit_inclusion_proof(audit_reader *r, uint64_t index, uint64_t size, audit_proof *pf,
                             dv_errinfo *ei)
{
    const uint8_t *p = NULL;
    dv_err e;

    memset(pf, 0, sizeof(*pf));
    pf->kind = 'I';
    pf->index = index;
    pf->size = size;
    if (index >= size)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "entry %llu is not covered by the checkpoint (size %llu)",
                       (unsigned long long)index, (unsigned long long)size);
    e = audit_reader_raw(r, index, &p, &pf->entry_len, ei);
    if (!e && pf->entry_len > sizeof(pf->entry))
        e = dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG, "entry %llu is too long",
                    (unsigned long long)index);
    if (e)
        return e;
    memcpy(pf->entry, p, pf->entry_len);
    pf->has_entry = 1;
    audit_leaf_hash(pf->entry, pf->entry_len, pf->leaf);
    return audit_reader_inclusion(r, index, size, pf->proof, &pf->nproof, ei);
}
