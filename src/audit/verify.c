/* SPDX-License-Identifier: Apache-2.0 */
/* verify.c - the standalone verifier: recomputes the whole tree from the entries and checks
 * every entry, tile hash and checkpoint against it, naming the first thing that does not fit.
 *
 * Order of the checks while streaming entry i (so the first failure is the earliest place):
 * the record frames, the entry decodes, its sequence number is i, its leaf hash equals the
 * hash stored in tile 0 (when stored), each new upper node equals its stored tile hash, and
 * when i + 1 is the size of a checkpoint, the root equals that checkpoint's root.
 * Needs only the folder and the verifier key.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

#include "common/banned.h"

typedef struct target {
    uint64_t size;
    uint8_t root[AUDIT_HASH_BYTES];
    char label[48];
} target;

typedef struct vstate {
    const char *dir;
    const audit_vkey *vk;
    audit_verify_report *rep;
    target *tg;
    size_t ntg, captg, next_tg;
    char origin[AUDIT_ORIGIN_MAX + 1];
    audit_tree *tree;
    struct {
        int loaded;
        uint64_t t;
        size_t count;
        uint8_t h[AUDIT_TILE_WIDTH][AUDIT_HASH_BYTES];
    } tile[AUDIT_TREE_LEVELS];
    dv_buf bundle;
    dv_err node_err;
} vstate;

#define FAIL(vs, ...) vfail((vs), __VA_ARGS__)

static dv_err vfail(vstate *vs, const char *fmt, ...) DV_PRINTF(2, 3);
static dv_err vfail(vstate *vs, const char *fmt, ...)
{
    va_list ap;

    if (vs->rep->failed)
        return DV_ETAMPER;
    vs->rep->failed = 1;
    va_start(ap, fmt);
    (void)vsnprintf(vs->rep->msg, sizeof(vs->rep->msg), fmt, ap);
    va_end(ap);
    return DV_ETAMPER;
}

/* ---- checkpoints ------------------------------------------------------------------------------
 */

static dv_err add_target(vstate *vs, const uint8_t *p, size_t n, const char *label)
{
    audit_checkpoint cp;
    dv_errinfo ei;
    target *t;
    dv_err e;

    dv_errinfo_clear(&ei);
    e = audit_note_open(p, n, vs->vk, &cp, &ei);
    if (e == DV_ECRYPTO)
        return FAIL(vs, "%s: no valid signature by key %s (re-signed or changed)", label,
                    vs->vk->name);
    if (e)
        return FAIL(vs, "%s: %s", label, ei.msg);
    if (!vs->origin[0])
        memcpy(vs->origin, cp.origin, sizeof(vs->origin));
    if (strcmp(vs->origin, cp.origin) != 0)
        return FAIL(vs, "%s: origin differs from the other checkpoints", label);
    if (vs->ntg == vs->captg) {
        size_t cap = vs->captg ? vs->captg * 2 : 16;
        t = realloc(vs->tg, cap * sizeof(*t));
        if (!t)
            return DV_ENOMEM;
        vs->tg = t;
        vs->captg = cap;
    }
    t = &vs->tg[vs->ntg++];
    t->size = cp.size;
    memcpy(t->root, cp.root, AUDIT_HASH_BYTES);
    (void)snprintf(t->label, sizeof(t->label), "%s", label);
    vs->rep->checkpoints++;
    return DV_OK;
}

static dv_err history_cb(void *ctx, uint64_t index, const uint8_t *p, size_t n)
{
    vstate *vs = ctx;
    char label[48];
    dv_err e;

    (void)snprintf(label, sizeof(label), "checkpoints record %llu", (unsigned long long)index);
    e = add_target(vs, p, n, label);
    if (!e && vs->ntg > 1 && vs->tg[vs->ntg - 1].size < vs->tg[vs->ntg - 2].size)
        e = FAIL(vs, "%s goes back from size %llu to %llu", label,
                 (unsigned long long)vs->tg[vs->ntg - 2].size,
                 (unsigned long long)vs->tg[vs->ntg - 1].size);
    return e;
}

static int target_cmp(const void *a, const void *b)
{
    const target *x = a, *y = b;

    return (x->size > y->size) - (x->size < y->size);
}

static dv_err load_targets(vstate *vs, const uint8_t *old, size_t old_len, dv_errinfo *ei)
{
    char path[AUDIT_PATH_MAX];
    uint64_t torn, valid;
    dv_buf b;
    dv_err e;

    e = audit_history_read(vs->dir, history_cb, vs, &torn, &valid, ei);
    if (e == DV_EMALFORMED)
        e = FAIL(vs, "%s", ei->msg);
    if (!e && torn)
        e = FAIL(vs, "checkpoints: %llu bytes after record %llu are not a whole record",
                 (unsigned long long)torn, (unsigned long long)vs->ntg);
    dv_buf_init(&b, AUDIT_NOTE_MAX);
    (void)snprintf(path, sizeof(path), "%s/checkpoint", vs->dir);
    if (!e) {
        e = audit_file_read(path, AUDIT_NOTE_MAX, &b, ei);
        if (e == DV_ENOTFOUND)
            e = vs->ntg ? FAIL(vs, "checkpoint: missing, but the history has %zu", vs->ntg) : DV_OK;
        else if (e == DV_ELIMIT)
            e = FAIL(vs, "checkpoint: longer than %d bytes", AUDIT_NOTE_MAX);
        else if (!e)
            e = add_target(vs, b.p, b.len, "checkpoint");
    }
    dv_buf_release(&b);
    if (!e && old)
        e = add_target(vs, old, old_len, "the given older checkpoint");
    if (!e && vs->ntg)
        qsort(vs->tg, vs->ntg, sizeof(*vs->tg), target_cmp);
    return e;
}

/* ---- tiles --------------------------------------------------------------------------------- */

static dv_err tile_load(vstate *vs, unsigned L, uint64_t t, dv_errinfo *ei)
{
    dv_err e;

    if (vs->tile[L].loaded && vs->tile[L].t == t)
        return DV_OK;
    e = audit_tile_read(vs->dir, L, t, vs->tile[L].h, &vs->tile[L].count, ei);
    vs->tile[L].loaded = !e;
    vs->tile[L].t = t;
    return e;
}

static void on_node(void *ctx, unsigned L, uint64_t index, const uint8_t h[AUDIT_HASH_BYTES])
{
    vstate *vs = ctx;
    uint64_t t = index / AUDIT_TILE_WIDTH;
    size_t pos = (size_t)(index % AUDIT_TILE_WIDTH);
    char name[96];

    if (vs->rep->failed || tile_load(vs, L, t, NULL)) {
        vs->node_err = DV_EIO;
        return;
    }
    if (pos >= vs->tile[L].count) {
        vs->rep->short_tiles++;
        return;
    }
    vs->rep->tiles++;
    if (memcmp(vs->tile[L].h[pos], h, AUDIT_HASH_BYTES) == 0)
        return;
    audit_tile_name((int)L, t, name, sizeof(name));
    if (L == 0)
        (void)FAIL(vs,
                   "entry %llu: its hash differs from the one in %s (the entry or the "
                   "tile was changed)",
                   (unsigned long long)index, name);
    else
        (void)FAIL(vs, "%s: hash %zu does not match the entries", name, pos);
}

/* After the last entry: a tile holding hashes past the entries means entries were removed. */
static dv_err tiles_end(vstate *vs, uint64_t n, dv_errinfo *ei)
{
    char name[96];
    unsigned L;
    uint64_t total, t;
    dv_err e;

    for (L = 0; L < AUDIT_TREE_LEVELS; L++) {
        total = n >> (8 * L);
        for (t = total / AUDIT_TILE_WIDTH; t <= total / AUDIT_TILE_WIDTH + 1; t++) {
            e = tile_load(vs, L, t, ei);
            if (e)
                return e;
            if (vs->tile[L].count == 0 ||
                (total > t * AUDIT_TILE_WIDTH && vs->tile[L].count <= total - t * AUDIT_TILE_WIDTH))
                continue;
            audit_tile_name((int)L, t, name, sizeof(name));
            return FAIL(vs,
                        "%s holds %zu hashes but the log ends at %llu entries: entries "
                        "were removed from the end",
                        name, vs->tile[L].count, (unsigned long long)n);
        }
    }
    return DV_OK;
}

/* ---- entries -------------------------------------------------------------------------------- */

static dv_err check_roots(vstate *vs)
{
    uint8_t root[AUDIT_HASH_BYTES];
    target *t;

    while (vs->next_tg < vs->ntg && vs->tg[vs->next_tg].size <= vs->tree->size) {
        t = &vs->tg[vs->next_tg++];
        if (t->size == 0)
            audit_empty_root(root);
        else
            audit_tree_root(vs->tree, root);
        if (memcmp(root, t->root, AUDIT_HASH_BYTES) != 0)
            return FAIL(vs,
                        "%s (size %llu): its root does not match the tree of the entries "
                        "(an entry before it was changed, or the checkpoint was replaced)",
                        t->label, (unsigned long long)t->size);
    }
    return DV_OK;
}

static dv_err entry_check(vstate *vs, uint64_t seq, uint64_t k, const uint8_t *p, size_t n,
                          size_t off)
{
    uint8_t leaf[AUDIT_HASH_BYTES];
    audit_record rec;
    dv_errinfo ei;
    char name[96];

    dv_errinfo_clear(&ei);
    if (audit_entry_decode(p, n, &rec, &ei)) {
        audit_tile_name(-1, k, name, sizeof(name));
        return FAIL(vs, "entry %llu (%s, byte %zu): %s", (unsigned long long)seq, name, off,
                    ei.msg);
    }
    if (rec.seq != seq) {
        audit_tile_name(-1, k, name, sizeof(name));
        return FAIL(vs,
                    "entry %llu (%s, byte %zu) carries sequence number %llu: an entry was "
                    "removed, inserted or moved here",
                    (unsigned long long)seq, name, off, (unsigned long long)rec.seq);
    }
    audit_leaf_hash(p, n, leaf);
    vs->node_err = DV_OK;
    audit_tree_push(vs->tree, leaf, on_node, vs);
    if (vs->rep->failed)
        return DV_ETAMPER;
    if (vs->node_err)
        return FAIL(vs, "entry %llu: cannot read its tile", (unsigned long long)seq);
    vs->rep->entries++;
    return check_roots(vs);
}

static dv_err bundle_check(vstate *vs, uint64_t k, int last, dv_errinfo *ei)
{
    size_t off[AUDIT_TILE_WIDTH], len[AUDIT_TILE_WIDTH], count, used, i;
    char path[AUDIT_PATH_MAX], name[96];
    dv_err e;

    (void)audit_tile_path(vs->dir, -1, k, path, sizeof(path));
    audit_tile_name(-1, k, name, sizeof(name));
    e = audit_file_read(path, AUDIT_BUNDLE_MAX, &vs->bundle, ei);
    if (e == DV_ELIMIT)
        return FAIL(vs, "%s: larger than a bundle can be", name);
    if (e)
        return e;
    audit_bundle_split(vs->bundle.p, vs->bundle.len, off, len, &count, &used);
    for (i = 0; i < count; i++) {
        e = entry_check(vs, k * AUDIT_TILE_WIDTH + i, k, vs->bundle.p + off[i], len[i], off[i] - 2);
        if (e)
            return e;
    }
    if (used < vs->bundle.len && !last)
        return FAIL(vs, "entry %llu (%s, byte %zu): not a whole record",
                    (unsigned long long)(k * AUDIT_TILE_WIDTH + count), name, used);
    if (used < vs->bundle.len)
        vs->rep->torn_bytes = vs->bundle.len - used;
    if (!last && count != AUDIT_TILE_WIDTH)
        return FAIL(vs,
                    "entry %llu (%s): the bundle ends after %zu entries, only the newest "
                    "may hold fewer than %d",
                    (unsigned long long)(k * AUDIT_TILE_WIDTH + count), name, count,
                    AUDIT_TILE_WIDTH);
    return DV_OK;
}

static dv_err stream(vstate *vs, dv_errinfo *ei)
{
    uint64_t nb, k;
    dv_err e;

    e = audit_bundle_count(vs->dir, &nb, ei);
    for (k = 0; !e && k < nb; k++)
        e = bundle_check(vs, k, k + 1 == nb, ei);
    if (e)
        return e;
    if (vs->next_tg < vs->ntg)
        return FAIL(vs,
                    "%s (size %llu) covers more entries than the log holds (%llu): entries "
                    "were removed from the end",
                    vs->tg[vs->next_tg].label, (unsigned long long)vs->tg[vs->next_tg].size,
                    (unsigned long long)vs->tree->size);
    return tiles_end(vs, vs->tree->size, ei);
}

dv_err audit_verify(const char *dir, const audit_vkey *vk, const uint8_t *old_note, size_t old_len,
                    audit_verify_report *rep, dv_errinfo *ei)
{
    vstate *vs = calloc(1, sizeof(*vs));
    dv_err e;

    memset(rep, 0, sizeof(*rep));
    if (!vs)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "verify");
    vs->dir = dir;
    vs->vk = vk;
    vs->rep = rep;
    vs->tree = malloc(sizeof(*vs->tree));
    dv_buf_init(&vs->bundle, AUDIT_BUNDLE_MAX + 1);
    if (!vs->tree)
        e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "verify");
    else {
        audit_tree_init(vs->tree);
        e = load_targets(vs, old_note, old_len, ei);
        if (!e)
            e = check_roots(vs);
        if (!e)
            e = stream(vs, ei);
    }
    if (rep->failed)
        e = dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG, "%s", rep->msg);
    else if (e == DV_ENOMEM)
        e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "verify");
    dv_buf_release(&vs->bundle);
    free(vs->tree);
    free(vs->tg);
    free(vs);
    return e;
}
