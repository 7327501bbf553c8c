/* SPDX-License-Identifier: Apache-2.0 */
/* recover.c - opening a log for appends after a clean stop or a crash.
 *
 * What a crash (kill -9, power loss) can leave, and what happens to it:
 *   - a torn record, or records that do not decode, at the end of the newest bundle: cut, but
 *     only after the newest checkpoint (entries a checkpoint covers are never cut: DV_ETAMPER);
 *   - tile files missing their newest hashes (tiles are not fsynced): recomputed and appended;
 *     tile hashes past the cut: removed; the newest level-0 tile is checked against its entries;
 *   - a torn record at the end of DIR/checkpoints: cut; DIR/checkpoint older than the history:
 *     rewritten from it.
 * Then the tree must reproduce the newest checkpoint's root, signed by this log's key.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/log_int.h"

#include "common/banned.h"

#define TILE_SCAN_MAX 64 /* tiles per level checked from the newest backwards */

typedef struct last_note {
    uint8_t p[AUDIT_NOTE_MAX];
    size_t n;
    uint64_t count;
} last_note;

static dv_err keep_last(void *ctx, uint64_t index, const uint8_t *p, size_t n)
{
    last_note *ln = ctx;

    memcpy(ln->p, p, n);
    ln->n = n;
    ln->count = index + 1;
    return DV_OK;
}

/* Opens DIR/checkpoints for appends after cutting a torn record; *ln = its last note. */
static dv_err history_open(audit_log *log, last_note *ln, dv_errinfo *ei)
{
    char path[AUDIT_FILE_MAX];
    uint64_t torn, valid;
    dv_err e;

    e = audit_history_read(log->dir, keep_last, ln, &torn, &valid, ei);
    if (e)
        return e == DV_EMALFORMED ? dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG, "%s", ei->msg)
                                  : e;
    (void)snprintf(path, sizeof(path), "%s/checkpoints", log->dir);
    log->history_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (log->history_fd < 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "open %s: %s", path, strerror(errno));
    if (torn && (ftruncate(log->history_fd, (off_t)valid) != 0 || fsync(log->history_fd) != 0))
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cutting checkpoints: %s",
                       strerror(errno));
    return DV_OK;
}

static dv_err open_note(audit_log *log, const uint8_t *p, size_t n, audit_checkpoint *cp,
                        const char *what, dv_errinfo *ei)
{
    uint8_t pk[32], sk[64];
    audit_vkey vk;
    dv_err e;

    e = audit_note_open(p, n, NULL, cp, ei);
    if (e)
        return dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG, "%s: %s", what, ei->msg);
    if (!log->origin[0])
        memcpy(log->origin, cp->origin, sizeof(log->origin));
    if (strcmp(log->origin, cp->origin) != 0)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "%s: the log's origin is not the one configured", what);
    (void)crypto_sign_seed_keypair(pk, sk, log->seed);
    sodium_memzero(sk, sizeof(sk));
    e = audit_vkey_make(log->origin, pk, &vk, ei);
    if (!e)
        e = audit_note_open(p, n, &vk, cp, ei);
    if (e == DV_ECRYPTO)
        return dv_fail(ei, DV_ECRYPTO, DV_NO_OFFSET, DV_NO_TAG,
                       "%s is not signed by this log's key", what);
    return e;
}

/* The newest checkpoint (cp->size = 0 and *exists = 0 when there is none). */
static dv_err newest_checkpoint(audit_log *log, audit_checkpoint *cp, int *exists, dv_errinfo *ei)
{
    char path[AUDIT_FILE_MAX];
    audit_checkpoint file_cp = {0};
    last_note *ln = calloc(1, sizeof(*ln));
    dv_buf b;
    dv_err e;

    memset(cp, 0, sizeof(*cp));
    *exists = 0;
    if (!ln)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "checkpoint");
    dv_buf_init(&b, AUDIT_NOTE_MAX);
    (void)snprintf(path, sizeof(path), "%s/checkpoint", log->dir);
    e = history_open(log, ln, ei);
    if (!e && ln->count) {
        e = open_note(log, ln->p, ln->n, cp, "the newest record of checkpoints", ei);
        *exists = !e;
    }
    if (!e) {
        e = audit_file_read(path, AUDIT_NOTE_MAX, &b, ei);
        if (e == DV_ENOTFOUND && !*exists)
            e = DV_OK;
        else if (e == DV_ENOTFOUND)
            e = audit_file_replace(path, ln->p, ln->n, 0600, ei);
        else if (!e)
            e = open_note(log, b.p, b.len, &file_cp, "checkpoint", ei);
        if (!e && b.len && (!*exists || file_cp.size > cp->size))
            e = dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                        "checkpoint (size %llu) is missing from the checkpoints history",
                        (unsigned long long)file_cp.size);
        else if (!e && b.len && file_cp.size < cp->size)
            e = audit_file_replace(path, ln->p, ln->n, 0600, ei);
        else if (!e && b.len && memcmp(file_cp.root, cp->root, AUDIT_HASH_BYTES) != 0)
            e = dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                        "checkpoint and the checkpoints history disagree at size %llu",
                        (unsigned long long)cp->size);
    }
    dv_buf_release(&b);
    free(ln);
    return e;
}

/* Cuts the newest bundle after its last good entry (never below cp_size); sets *n. */
static dv_err cut_tail(audit_log *log, uint64_t cp_size, uint64_t *n, audit_open_info *info,
                       dv_errinfo *ei)
{
    audit_reader *r = NULL;
    audit_record rec;
    char path[AUDIT_FILE_MAX];
    uint64_t nb, base, i, good;
    size_t keep;
    const uint8_t *p;
    size_t len;
    struct stat st;
    dv_err e;

    *n = 0;
    e = audit_bundle_count(log->dir, &nb, ei);
    if (e || nb == 0)
        return e;
    e = audit_reader_open(log->dir, &r, ei);
    if (e)
        return e;
    base = (nb - 1) * AUDIT_TILE_WIDTH;
    good = base;
    keep = 0;
    for (i = base; !e && i < audit_reader_size(r); i++) {
        e = audit_reader_raw(r, i, &p, &len, ei);
        if (e || audit_entry_decode(p, len, &rec, NULL) || rec.seq != i)
            break;
        good = i + 1;
        keep += 2 + len;
        log->last_time_ms = rec.time_ms;
    }
    audit_reader_close(r);
    if (e)
        return e;
    (void)audit_tile_path(log->dir, -1, nb - 1, path, sizeof(path));
    if (stat(path, &st) != 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "stat %s", path);
    if ((uint64_t)st.st_size > keep) {
        if (good < cp_size)
            return dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                           "entry %llu does not decode, but checkpoint size %llu covers it",
                           (unsigned long long)good, (unsigned long long)cp_size);
        info->cut_bytes = (uint64_t)st.st_size - keep;
        if (truncate(path, (off_t)keep) != 0)
            return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cutting %s: %s", path,
                           strerror(errno));
    }
    *n = good;
    return DV_OK;
}

/* Sets tile (L, t) to exactly the hashes want[0 .. cnt) (file held have hashes, of which the
 * first keep are right). */
static dv_err tile_fix(audit_log *log, unsigned L, uint64_t t, const uint8_t (*want)[32],
                       size_t cnt, size_t keep, audit_open_info *info, dv_errinfo *ei)
{
    char path[AUDIT_FILE_MAX];
    int fd;
    dv_err e = DV_OK;

    (void)audit_tile_path(log->dir, (int)L, t, path, sizeof(path));
    e = audit_mkdirs_for(path, ei);
    if (e)
        return e;
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "open %s", path);
    if (ftruncate(fd, (off_t)(keep * AUDIT_HASH_BYTES)) != 0 ||
        lseek(fd, (off_t)(keep * AUDIT_HASH_BYTES), SEEK_SET) < 0 ||
        audit_write_all(fd, want[keep], (cnt - keep) * AUDIT_HASH_BYTES))
        e = dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "repairing %s", path);
    (void)close(fd);
    info->tiles_fixed += cnt - keep;
    return e;
}

/* The leaf hashes of entries [t * 256, t * 256 + cnt), computed from the entries. */
static dv_err leaf_hashes(audit_reader *r, uint64_t t, size_t cnt, uint8_t (*out)[32],
                          dv_errinfo *ei)
{
    const uint8_t *p;
    size_t i, len;
    dv_err e;

    for (i = 0; i < cnt; i++) {
        e = audit_reader_raw(r, t * AUDIT_TILE_WIDTH + i, &p, &len, ei);
        if (e)
            return e;
        audit_leaf_hash(p, len, out[i]);
    }
    return DV_OK;
}

/* Number of leading hashes of have (fc of them) that equal want (cnt of them); DV_ETAMPER
 * when a leaf hash that a checkpoint covers differs. */
static dv_err leaf_keep(const uint8_t (*have)[32], const uint8_t (*want)[32], size_t fc, size_t cnt,
                        uint64_t first, uint64_t cp_size, size_t *keep, dv_errinfo *ei)
{
    size_t i, n = fc < cnt ? fc : cnt;

    for (i = 0; i < n; i++)
        if (memcmp(have[i], want[i], AUDIT_HASH_BYTES) != 0)
            break;
    *keep = i;
    if (i < n && first + i < cp_size)
        return dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                       "entry %llu does not match its tile hash", (unsigned long long)(first + i));
    return DV_OK;
}

/* Brings the newest tiles of level L in line with n entries: scans backwards from the newest
 * tile until one is full and right (at most TILE_SCAN_MAX tiles). */
static dv_err tiles_level(audit_log *log, audit_reader *r, unsigned L, uint64_t n, uint64_t cp_size,
                          audit_open_info *info, dv_errinfo *ei)
{
    uint8_t(*want)[AUDIT_HASH_BYTES] = malloc(AUDIT_TILE_BYTES);
    uint8_t(*have)[AUDIT_HASH_BYTES] = malloc(AUDIT_TILE_BYTES);
    uint64_t total = n >> (8 * L), t, t_hi = total / AUDIT_TILE_WIDTH, scanned = 0;
    size_t cnt, fc = 0, fc2, keep = 0;
    dv_err e = DV_OK;

    if (!want || !have)
        e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "tiles");
    for (t = t_hi + 1; !e && t-- > 0 && scanned++ < TILE_SCAN_MAX;) {
        cnt =
            (size_t)(total - t * AUDIT_TILE_WIDTH < AUDIT_TILE_WIDTH ? total - t * AUDIT_TILE_WIDTH
                                                                     : AUDIT_TILE_WIDTH);
        e = audit_tile_read(log->dir, L, t, have, &fc, ei);
        if (!e && L == 0)
            e = leaf_hashes(r, t, cnt, want, ei);
        else if (!e)
            e = audit_reader_tile(r, L, t, cnt, want, &fc2, ei);
        if (!e)
            e = leaf_keep((const uint8_t(*)[32])have, (const uint8_t(*)[32])want, fc, cnt,
                          t * AUDIT_TILE_WIDTH, L == 0 ? cp_size : 0, &keep, ei);
        if (!e && (fc != cnt || keep != cnt))
            e = tile_fix(log, L, t, (const uint8_t(*)[32])want, cnt, keep, info, ei);
        if (fc == cnt && cnt == AUDIT_TILE_WIDTH && keep == cnt)
            break;
    }
    free(want);
    free(have);
    return e;
}

static dv_err rebuild(audit_log *log, uint64_t n, const audit_checkpoint *cp, int cp_exists,
                      audit_open_info *info, dv_errinfo *ei)
{
    audit_reader *r = NULL;
    uint8_t root[AUDIT_HASH_BYTES];
    unsigned L;
    size_t fc, cnt;
    dv_err e;

    e = audit_reader_open(log->dir, &r, ei);
    if (!e && audit_reader_size(r) != n)
        e = dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "the log changed while opening");
    for (L = 0; !e && L < AUDIT_TREE_LEVELS; L++)
        e = tiles_level(log, r, L, n, cp->size, info, ei);
    audit_tree_init(log->tree);
    for (L = 0; !e && L < AUDIT_TREE_LEVELS; L++) {
        cnt = (size_t)((n >> (8 * L)) % AUDIT_TILE_WIDTH);
        if (cnt)
            e = audit_reader_tile(r, L, n >> (8 * (L + 1)), cnt, log->tree->part[L], &fc, ei);
        log->tree->count[L] = (uint16_t)cnt;
    }
    log->tree->size = n;
    if (!e && cp_exists) {
        e = audit_reader_root(r, cp->size, root, ei);
        if (!e && sodium_memcmp(root, cp->root, AUDIT_HASH_BYTES) != 0)
            e = dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                        "the entries do not reproduce the root of checkpoint size %llu",
                        (unsigned long long)cp->size);
    }
    audit_reader_close(r);
    return e;
}

dv_err audit_log_recover(audit_log *log, audit_open_info *info, dv_errinfo *ei)
{
    audit_checkpoint cp;
    int exists;
    uint64_t n;
    dv_err e;

    memset(info, 0, sizeof(*info));
    e = newest_checkpoint(log, &cp, &exists, ei);
    if (!e && !log->origin[0])
        e = dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "a new log needs an origin");
    if (!e)
        e = cut_tail(log, cp.size, &n, info, ei);
    if (!e && n < cp.size)
        e = dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                    "the log holds %llu entries but checkpoint size %llu covers more",
                    (unsigned long long)n, (unsigned long long)cp.size);
    if (!e)
        e = rebuild(log, n, &cp, exists, info, ei);
    if (e)
        return e;
    log->durable = n; /* atomic: read by the forwarder thread */
    log->pending_first = n;
    log->next_seq = n;
    log->cp_size = cp.size;
    log->cp_exists = exists;
    log->cp_mono_ms = audit_mono_ms();
    info->size = n;
    info->checkpoint = cp.size;
    return DV_OK;
}
