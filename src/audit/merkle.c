/* SPDX-License-Identifier: Apache-2.0 */
/* merkle.c - RFC 9162 Merkle tree hashing: leaf and node hashes, a streaming tree of tiles,
 * proofs built from any source of subtree hashes, and proof verification.
 *
 * Invariants of audit_tree: size leaves have been pushed; for every tile level L (tree level
 * 8L), part[L][0 .. count[L]) are the level-8L hashes after the last complete level-8(L+1)
 * node, so size = sum over L of count[L] * 256^L.
 */
#include <sodium.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/audit_int.h"

#include "common/banned.h"

void audit_leaf_hash(const uint8_t *entry, size_t n, uint8_t out[AUDIT_HASH_BYTES])
{
    audit_sha256_prefixed(0, entry, n, out);
}

void audit_node_hash(const uint8_t l[AUDIT_HASH_BYTES], const uint8_t r[AUDIT_HASH_BYTES],
                     uint8_t out[AUDIT_HASH_BYTES])
{
    uint8_t buf[2 * AUDIT_HASH_BYTES];

    memcpy(buf, l, AUDIT_HASH_BYTES);
    memcpy(buf + AUDIT_HASH_BYTES, r, AUDIT_HASH_BYTES);
    audit_sha256_prefixed(1, buf, sizeof(buf), out);
}

void audit_empty_root(uint8_t out[AUDIT_HASH_BYTES])
{
    audit_sha256_empty(out);
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

static int is_pow2(uint64_t n)
{
    return n && !(n & (n - 1));
}

/* MTH of n hashes (RFC 9162 split), n >= 1. */
void audit_hash_run(const uint8_t (*h)[AUDIT_HASH_BYTES], size_t n, uint8_t out[AUDIT_HASH_BYTES])
{
    uint8_t l[AUDIT_HASH_BYTES], r[AUDIT_HASH_BYTES];
    size_t k;

    if (n == 1) {
        memcpy(out, h[0], AUDIT_HASH_BYTES);
        return;
    }
    k = (size_t)split_point(n);
    audit_hash_run(h, k, l);
    audit_hash_run(h + k, n - k, r);
    audit_node_hash(l, r, out);
}

/* ---- streaming tree ------------------------------------------------------------------------- */

void audit_tree_init(audit_tree *t)
{
    memset(t, 0, sizeof(*t));
}

void audit_tree_push(audit_tree *t, const uint8_t leaf[AUDIT_HASH_BYTES], audit_tree_cb cb,
                     void *ctx)
{
    uint8_t h[AUDIT_HASH_BYTES];
    unsigned L;
    uint64_t i = t->size;

    memcpy(h, leaf, AUDIT_HASH_BYTES);
    for (L = 0; L < AUDIT_TREE_LEVELS; L++) {
        memcpy(t->part[L][t->count[L]], h, AUDIT_HASH_BYTES);
        t->count[L]++;
        if (cb)
            cb(ctx, L, i >> (8 * L), h);
        if (t->count[L] < AUDIT_TILE_WIDTH || L + 1 == AUDIT_TREE_LEVELS)
            break;
        audit_hash_run((const uint8_t(*)[AUDIT_HASH_BYTES])t->part[L], AUDIT_TILE_WIDTH, h);
        t->count[L] = 0;
    }
    t->size++;
}

void audit_tree_root(const audit_tree *t, uint8_t out[AUDIT_HASH_BYTES])
{
    uint8_t sub[AUDIT_TREE_LEVELS * 8][AUDIT_HASH_BYTES];
    size_t nsub = 0, pos, chunk;
    int L, b;

    if (!t->size) {
        audit_empty_root(out);
        return;
    }
    for (L = AUDIT_TREE_LEVELS - 1; L >= 0; L--) {
        pos = 0;
        for (b = 7; b >= 0; b--) {
            chunk = (size_t)1 << b;
            if (!(t->count[L] & chunk))
                continue;
            audit_hash_run((const uint8_t(*)[AUDIT_HASH_BYTES])t->part[L] + pos, chunk,
                           sub[nsub++]);
            pos += chunk;
        }
    }
    memcpy(out, sub[nsub - 1], AUDIT_HASH_BYTES);
    while (nsub-- > 1)
        audit_node_hash(sub[nsub - 1], out, out);
}

/* ---- proofs from a node source --------------------------------------------------------------- */

typedef struct proof_ctx {
    audit_node_fn fn;
    void *ctx;
    uint8_t (*proof)[AUDIT_HASH_BYTES];
    size_t n;
    dv_errinfo *ei;
} proof_ctx;

/* MTH of leaves [start, start + n), n >= 1, from the node source. */
static dv_err mth(proof_ctx *pc, uint64_t start, uint64_t n, uint8_t out[AUDIT_HASH_BYTES])
{
    uint8_t l[AUDIT_HASH_BYTES], r[AUDIT_HASH_BYTES];
    uint64_t k;
    dv_err e;

    if (is_pow2(n) && start % n == 0)
        return pc->fn(pc->ctx, (unsigned)__builtin_ctzll(n), start / n, out, pc->ei);
    k = split_point(n);
    e = mth(pc, start, k, l);
    if (!e)
        e = mth(pc, start + k, n - k, r);
    if (!e)
        audit_node_hash(l, r, out);
    return e;
}

static dv_err add_mth(proof_ctx *pc, uint64_t start, uint64_t n)
{
    if (pc->n >= AUDIT_PROOF_MAX)
        return dv_fail(pc->ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "proof too long");
    return mth(pc, start, n, pc->proof[pc->n++]);
}

/* RFC 9162 2.1.3.1 PATH(m, D[start : start + n]). */
static dv_err path(proof_ctx *pc, uint64_t start, uint64_t m, uint64_t n)
{
    uint64_t k;
    dv_err e;

    if (n <= 1)
        return DV_OK;
    k = split_point(n);
    if (m < k) {
        e = path(pc, start, m, k);
        return e ? e : add_mth(pc, start + k, n - k);
    }
    e = path(pc, start + k, m - k, n - k);
    return e ? e : add_mth(pc, start, k);
}

/* RFC 9162 2.1.4.1 SUBPROOF(m, D[start : start + n], b). */
static dv_err subproof(proof_ctx *pc, uint64_t start, uint64_t m, uint64_t n, int b)
{
    uint64_t k;
    dv_err e;

    if (m == n)
        return b ? DV_OK : add_mth(pc, start, n);
    k = split_point(n);
    if (m <= k) {
        e = subproof(pc, start, m, k, b);
        return e ? e : add_mth(pc, start + k, n - k);
    }
    e = subproof(pc, start + k, m - k, n - k, 0);
    return e ? e : add_mth(pc, start, k);
}

dv_err audit_merkle_root(audit_node_fn fn, void *ctx, uint64_t size, uint8_t out[AUDIT_HASH_BYTES],
                         dv_errinfo *ei)
{
    proof_ctx pc = {fn, ctx, NULL, 0, ei};

    if (!size) {
        audit_empty_root(out);
        return DV_OK;
    }
    return mth(&pc, 0, size, out);
}

dv_err audit_merkle_inclusion(audit_node_fn fn, void *ctx, uint64_t index, uint64_t size,
                              uint8_t (*proof)[AUDIT_HASH_BYTES], size_t *nproof, dv_errinfo *ei)
{
    proof_ctx pc = {fn, ctx, proof, 0, ei};
    dv_err e;

    *nproof = 0;
    if (index >= size)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "entry %llu is not in a tree of %llu entries", (unsigned long long)index,
                       (unsigned long long)size);
    e = path(&pc, 0, index, size);
    if (!e)
        *nproof = pc.n;
    return e;
}

dv_err audit_merkle_consistency(audit_node_fn fn, void *ctx, uint64_t size1, uint64_t size2,
                                uint8_t (*proof)[AUDIT_HASH_BYTES], size_t *nproof, dv_errinfo *ei)
{
    proof_ctx pc = {fn, ctx, proof, 0, ei};
    dv_err e;

    *nproof = 0;
    if (size1 > size2)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "the old size %llu is larger than the new size %llu",
                       (unsigned long long)size1, (unsigned long long)size2);
    if (size1 == 0 || size1 == size2)
        return DV_OK;
    e = subproof(&pc, 0, size1, size2, 1);
    if (!e)
        *nproof = pc.n;
    return e;
}

/* ---- verification (RFC 9162 2.1.3.2 and 2.1.4.2) ------------------------------------------- */

int audit_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[AUDIT_HASH_BYTES],
                           const uint8_t (*proof)[AUDIT_HASH_BYTES], size_t nproof,
                           const uint8_t root[AUDIT_HASH_BYTES])
{
    uint64_t fn = index, sn;
    uint8_t r[AUDIT_HASH_BYTES];
    size_t i;

    if (index >= size)
        return 0;
    sn = size - 1;
    memcpy(r, leaf, AUDIT_HASH_BYTES);
    for (i = 0; i < nproof; i++) {
        if (sn == 0)
            return 0;
        if ((fn & 1) || fn == sn) {
            audit_node_hash(proof[i], r, r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            audit_node_hash(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && sodium_memcmp(r, root, AUDIT_HASH_BYTES) == 0;
}

int audit_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[AUDIT_HASH_BYTES],
                             const uint8_t root2[AUDIT_HASH_BYTES],
                             const uint8_t (*proof)[AUDIT_HASH_BYTES], size_t nproof)
{
    uint8_t fr[AUDIT_HASH_BYTES], sr[AUDIT_HASH_BYTES];
    uint64_t fn, sn;
    size_t i = 0;

    if (size1 > size2)
        return 0;
    if (size1 == size2)
        return nproof == 0 && sodium_memcmp(root1, root2, AUDIT_HASH_BYTES) == 0;
    if (size1 == 0)
        return nproof == 0;
    if (is_pow2(size1)) {
        memcpy(fr, root1, AUDIT_HASH_BYTES);
    } else {
        if (nproof == 0)
            return 0;
        memcpy(fr, proof[i++], AUDIT_HASH_BYTES);
    }
    memcpy(sr, fr, AUDIT_HASH_BYTES);
    fn = size1 - 1;
    sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < nproof; i++) {
        if (sn == 0)
            return 0;
        if ((fn & 1) || fn == sn) {
            audit_node_hash(proof[i], fr, fr);
            audit_node_hash(proof[i], sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            audit_node_hash(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && sodium_memcmp(fr, root1, AUDIT_HASH_BYTES) == 0 &&
           sodium_memcmp(sr, root2, AUDIT_HASH_BYTES) == 0;
}
