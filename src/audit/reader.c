/* SPDX-License-Identifier: Apache-2.0 */
/* reader.c - read-only access to a log folder: entries, tiles as a node source, roots, proofs.
 *
 * Invariants: size = 256 * (nbundles - 1) + entries in the newest bundle (complete records
 * only); the bundle cache holds bundle `cached` split into off/len; tile cache slot L holds
 * tile (L, tiles[L].n) with tiles[L].count valid hashes, each either read from the tile file
 * or recomputed from the level below when the file is short.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/audit_int.h"

#include "common/banned.h"

typedef struct tile_slot {
    int valid;
    uint64_t n;
    size_t count;
    uint8_t h[AUDIT_TILE_WIDTH][AUDIT_HASH_BYTES];
} tile_slot;

struct audit_reader {
    char dir[AUDIT_PATH_MAX];
    uint64_t nbundles, size;
    int64_t cached;
    dv_buf bundle;
    size_t off[AUDIT_TILE_WIDTH], len[AUDIT_TILE_WIDTH], count, used;
    tile_slot tiles[AUDIT_TREE_LEVELS];
};

static dv_err load_bundle(audit_reader *r, uint64_t k, dv_errinfo *ei)
{
    char path[AUDIT_FILE_MAX];
    dv_err e;

    if (r->cached >= 0 && (uint64_t)r->cached == k)
        return DV_OK;
    r->cached = -1;
    if (audit_tile_path(r->dir, -1, k, path, sizeof(path)))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "path too long");
    e = audit_file_read(path, AUDIT_BUNDLE_MAX, &r->bundle, ei);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "bundle %llu: %s", (unsigned long long)k,
                       e == DV_ENOTFOUND ? "missing"
                       : ei              ? ei->msg
                                         : "unreadable");
    audit_bundle_split(r->bundle.p, r->bundle.len, r->off, r->len, &r->count, &r->used);
    r->cached = (int64_t)k;
    return DV_OK;
}

dv_err audit_reader_open(const char *dir, audit_reader **out, dv_errinfo *ei)
{
    audit_reader *r;
    struct stat st;
    dv_err e;

    *out = NULL;
    if (!dir || strlen(dir) >= AUDIT_PATH_MAX - 64)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "log folder path too long");
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "%s: no such log folder", dir);
    r = calloc(1, sizeof(*r));
    if (!r)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "reader");
    memcpy(r->dir, dir, strlen(dir) + 1);
    r->cached = -1;
    dv_buf_init(&r->bundle, AUDIT_BUNDLE_MAX + 1);
    e = audit_bundle_count(dir, &r->nbundles, ei);
    if (!e && r->nbundles) {
        e = load_bundle(r, r->nbundles - 1, ei);
        if (!e)
            r->size = (r->nbundles - 1) * AUDIT_TILE_WIDTH + r->count;
    }
    if (e) {
        audit_reader_close(r);
        return e;
    }
    *out = r;
    return DV_OK;
}

void audit_reader_close(audit_reader *r)
{
    if (!r)
        return;
    dv_buf_release(&r->bundle);
    free(r);
}

uint64_t audit_reader_size(const audit_reader *r)
{
    return r->size;
}

dv_err audit_reader_raw(audit_reader *r, uint64_t seq, const uint8_t **p, size_t *n, dv_errinfo *ei)
{
    size_t i = (size_t)(seq % AUDIT_TILE_WIDTH);
    dv_err e;

    if (seq >= r->size)
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "entry %llu: the log has %llu",
                       (unsigned long long)seq, (unsigned long long)r->size);
    e = load_bundle(r, seq / AUDIT_TILE_WIDTH, ei);
    if (e)
        return e;
    if (i >= r->count)
        return dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                       "entry %llu: its bundle holds only %zu entries", (unsigned long long)seq,
                       r->count);
    *p = r->bundle.p + r->off[i];
    *n = r->len[i];
    return DV_OK;
}

dv_err audit_reader_get(audit_reader *r, uint64_t seq, audit_record *rec, dv_errinfo *ei)
{
    const uint8_t *p;
    size_t n;
    dv_err e = audit_reader_raw(r, seq, &p, &n, ei);

    if (!e)
        e = audit_entry_decode(p, n, rec, ei);
    if (!e && rec->seq != seq)
        e = dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                    "entry %llu carries sequence number %llu", (unsigned long long)seq,
                    (unsigned long long)rec->seq);
    return e;
}

dv_err audit_reader_checkpoint(audit_reader *r, dv_buf *out, dv_errinfo *ei)
{
    char path[AUDIT_FILE_MAX];

    (void)snprintf(path, sizeof(path), "%s/checkpoint", r->dir);
    return audit_file_read(path, AUDIT_NOTE_MAX, out, ei);
}

/* ---- tiles ----------------------------------------------------------------------------------- */

dv_err audit_tile_read(const char *dir, unsigned level, uint64_t n,
                       uint8_t out[AUDIT_TILE_WIDTH][AUDIT_HASH_BYTES], size_t *count,
                       dv_errinfo *ei)
{
    char path[AUDIT_FILE_MAX];
    size_t got = 0;
    ssize_t k;
    int fd;

    *count = 0;
    if (audit_tile_path(dir, (int)level, n, path, sizeof(path)))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "path too long");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? DV_OK
                               : dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "open %s", path);
    while (got < AUDIT_TILE_BYTES) {
        k = read(fd, (uint8_t *)out + got, AUDIT_TILE_BYTES - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            (void)close(fd);
            return dv_fail(ei, DV_EIO, got, DV_NO_TAG, "read %s", path);
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    (void)close(fd);
    *count = got / AUDIT_HASH_BYTES;
    return DV_OK;
}

static dv_err tile_need(audit_reader *r, unsigned L, uint64_t t, size_t need, dv_errinfo *ei);

/* Recomputes hash i of tile (L, t) (L > 0: the root of the full tile (L-1, t*256+i)). */
static dv_err tile_compute(audit_reader *r, unsigned L, uint64_t t, size_t i, dv_errinfo *ei)
{
    uint8_t h[AUDIT_HASH_BYTES];
    const uint8_t *p;
    size_t n;
    dv_err e;

    if (L == 0) {
        e = audit_reader_raw(r, t * AUDIT_TILE_WIDTH + i, &p, &n, ei);
        if (!e)
            audit_leaf_hash(p, n, r->tiles[0].h[i]);
        return e;
    }
    e = tile_need(r, L - 1, t * AUDIT_TILE_WIDTH + i, AUDIT_TILE_WIDTH, ei);
    if (e)
        return e;
    audit_hash_run((const uint8_t(*)[AUDIT_HASH_BYTES])r->tiles[L - 1].h, AUDIT_TILE_WIDTH, h);
    memcpy(r->tiles[L].h[i], h, AUDIT_HASH_BYTES);
    return DV_OK;
}

/* Makes slot L hold tile (L, t) with at least need hashes. */
static dv_err tile_need(audit_reader *r, unsigned L, uint64_t t, size_t need, dv_errinfo *ei)
{
    tile_slot *s = &r->tiles[L];
    size_t i, have;
    dv_err e;

    if (s->valid && s->n == t && s->count >= need)
        return DV_OK;
    if (!(s->valid && s->n == t)) {
        s->valid = 0;
        e = audit_tile_read(r->dir, L, t, s->h, &s->count, ei);
        if (e)
            return e;
        s->n = t;
        s->valid = 1;
    }
    have = s->count;
    for (i = have; i < need; i++) {
        e = tile_compute(r, L, t, i, ei);
        if (e) {
            s->valid = 0;
            return e;
        }
        /* tile_compute may have reloaded lower slots only; slot L stays ours */
        s->count = i + 1;
    }
    return DV_OK;
}

dv_err audit_reader_tile(audit_reader *r, unsigned level, uint64_t t, size_t need,
                         uint8_t (*out)[AUDIT_HASH_BYTES], size_t *file_count, dv_errinfo *ei)
{
    tile_slot *s = &r->tiles[level];
    dv_err e;

    if (level >= AUDIT_TREE_LEVELS || need > AUDIT_TILE_WIDTH)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "tile (%u, %llu)", level,
                       (unsigned long long)t);
    s->valid = 0;
    e = audit_tile_read(r->dir, level, t, s->h, &s->count, ei);
    if (e)
        return e;
    s->n = t;
    s->valid = 1;
    *file_count = s->count;
    e = tile_need(r, level, t, need, ei);
    if (!e && need)
        memcpy(out, s->h, need * AUDIT_HASH_BYTES);
    return e;
}

dv_err audit_reader_node(void *reader, unsigned level, uint64_t index,
                         uint8_t out[AUDIT_HASH_BYTES], dv_errinfo *ei)
{
    audit_reader *r = reader;
    unsigned L = level / 8, rem = level % 8;
    uint64_t first, t;
    size_t pos, cnt = (size_t)1 << rem;
    dv_err e;

    if (level >= 64 || index > (r->size >> level) || ((index + 1) << level) > r->size)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "node (%u, %llu) is past the %llu entries", level, (unsigned long long)index,
                       (unsigned long long)r->size);
    first = index << rem;
    t = first / AUDIT_TILE_WIDTH;
    pos = (size_t)(first % AUDIT_TILE_WIDTH);
    e = tile_need(r, L, t, pos + cnt, ei);
    if (e)
        return e;
    audit_hash_run((const uint8_t(*)[AUDIT_HASH_BYTES])r->tiles[L].h + pos, cnt, out);
    return DV_OK;
}

dv_err audit_reader_root(audit_reader *r, uint64_t size, uint8_t root[AUDIT_HASH_BYTES],
                         dv_errinfo *ei)
{
    if (size > r->size)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "tree size %llu: the log has %llu entries", (unsigned long long)size,
                       (unsigned long long)r->size);
    return audit_merkle_root(audit_reader_node, r, size, root, ei);
}

dv_err audit_reader_inclusion(audit_reader *r, uint64_t index, uint64_t size,
                              uint8_t (*proof)[AUDIT_HASH_BYTES], size_t *nproof, dv_errinfo *ei)
{
    if (size > r->size)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "tree size %llu: the log has %llu entries", (unsigned long long)size,
                       (unsigned long long)r->size);
    return audit_merkle_inclusion(audit_reader_node, r, index, size, proof, nproof, ei);
}

dv_err audit_reader_consistency(audit_reader *r, uint64_t size1, uint64_t size2,
                                uint8_t (*proof)[AUDIT_HASH_BYTES], size_t *nproof, dv_errinfo *ei)
{
    if (size2 > r->size)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "tree size %llu: the log has %llu entries", (unsigned long long)size2,
                       (unsigned long long)r->size);
    return audit_merkle_consistency(audit_reader_node, r, size1, size2, proof, nproof, ei);
}

int audit_filter_match(const audit_filter *f, const audit_record *r)
{
    size_t i;
    int hit;

    if (f->since_ms && r->time_ms < f->since_ms)
        return 0;
    if (f->until_ms && r->time_ms > f->until_ms)
        return 0;
    if (f->actor && strcmp(f->actor, r->actor) != 0)
        return 0;
    if (f->action != AUDIT_ACT_NONE && f->action != r->action)
        return 0;
    if (!f->pseudonym)
        return 1;
    hit = 0;
    for (i = 0; i < r->nobjects; i++)
        hit |= memcmp(r->objects[i].pseudonym, f->pseudonym, AUDIT_PSEUDONYM_BYTES) == 0;
    return hit;
}
