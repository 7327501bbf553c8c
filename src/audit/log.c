/* SPDX-License-Identifier: Apache-2.0 */
/* log.c - the writer: group commit of appends, tile upkeep, signed checkpoints, the timer.
 *
 * Group commit: audit_append encodes its entry into `pending` under mu with the next sequence
 * number, then waits until that number is durable.  The first waiter that finds no leader
 * becomes one: it takes the whole pending batch, writes it to the entry bundles and tiles
 * without holding mu, fdatasyncs once, publishes `durable` and wakes everyone.  A checkpoint is
 * written by the leader when `every` entries have accumulated, by the timer thread after
 * `secs` seconds, and on close.  The invariants are in log_int.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "audit/log_int.h"

#include "common/banned.h"

#define PENDING_MAX ((size_t)64 << 20)

int64_t audit_now_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t audit_mono_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- writing a batch (leader, mu not held) -------------------------------------------------- */

/* Opens tile (level >= 0) or bundle (level < 0) n for appending, creating it (and its folders)
 * when absent; a new bundle's folder entry is fsynced at once. */
static dv_err open_append(const char *dir, int level, uint64_t n, int *fd, dv_errinfo *ei)
{
    char path[AUDIT_FILE_MAX];
    dv_err e;

    if (audit_tile_path(dir, level, n, path, sizeof(path)))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "path too long");
    e = audit_mkdirs_for(path, ei);
    if (e)
        return e;
    *fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (*fd < 0 && errno == ENOENT) {
        *fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (*fd >= 0 && level < 0) {
            *strrchr(path, '/') = 0;
            if (audit_fsync_dir(path))
                return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "fsync %s", path);
        }
    }
    if (*fd < 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "open %s: %s", path, strerror(errno));
    return DV_OK;
}

static void on_node(void *ctx, unsigned L, uint64_t index, const uint8_t h[AUDIT_HASH_BYTES])
{
    audit_log *log = ctx;

    if (!log->tilebuf[L].len)
        log->tilebuf_first[L] = index;
    /* write_batch reserves room for the whole batch first, so this cannot fail */
    if (dv_buf_add(&log->tilebuf[L], h, AUDIT_HASH_BYTES))
        log->node_err = DV_ENOMEM;
}

/* Appends the collected hashes of each level to their tile files. */
static dv_err flush_tiles(audit_log *log, dv_errinfo *ei)
{
    unsigned L;
    uint64_t idx, t;
    size_t pos, take;
    dv_err e;

    for (L = 0; L < AUDIT_TREE_LEVELS; L++) {
        idx = log->tilebuf_first[L];
        for (pos = 0; pos < log->tilebuf[L].len; pos += take * AUDIT_HASH_BYTES, idx += take) {
            t = idx / AUDIT_TILE_WIDTH;
            take = AUDIT_TILE_WIDTH - (size_t)(idx % AUDIT_TILE_WIDTH);
            if (take > (log->tilebuf[L].len - pos) / AUDIT_HASH_BYTES)
                take = (log->tilebuf[L].len - pos) / AUDIT_HASH_BYTES;
            if (log->tile_fd[L] >= 0 && log->tile_idx[L] != t) {
                (void)close(log->tile_fd[L]);
                log->tile_fd[L] = -1;
            }
            if (log->tile_fd[L] < 0) {
                e = open_append(log->dir, (int)L, t, &log->tile_fd[L], ei);
                if (e)
                    return e;
                log->tile_idx[L] = t;
            }
            if (audit_write_all(log->tile_fd[L], log->tilebuf[L].p + pos, take * AUDIT_HASH_BYTES))
                return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "writing a tile: %s",
                               strerror(errno));
        }
        dv_buf_reset(&log->tilebuf[L]);
    }
    return DV_OK;
}

/* Makes bundle_fd the open bundle k; syncs and closes the previous one. */
static dv_err bundle_switch(audit_log *log, uint64_t k, dv_errinfo *ei)
{
    if (log->bundle_fd >= 0 && log->bundle_idx == k)
        return DV_OK;
    if (log->bundle_fd >= 0) {
        if (fdatasync(log->bundle_fd) != 0)
            return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "fdatasync: %s", strerror(errno));
        (void)close(log->bundle_fd);
        log->bundle_fd = -1;
    }
    log->bundle_idx = k;
    return open_append(log->dir, -1, k, &log->bundle_fd, ei);
}

/* Writes records [first, first + count) held in buf to the bundles, hashes them into the tree
 * (their tile hashes wait in tilebuf for flush_tiles), and fdatasyncs.  Durable when it
 * returns DV_OK. */
static dv_err write_batch(audit_log *log, const dv_buf *buf, uint64_t first, uint64_t count,
                          dv_errinfo *ei)
{
    uint64_t seq = first, end = first + count, stop;
    size_t pos = 0, span, l;
    uint8_t leaf[AUDIT_HASH_BYTES];
    unsigned L;
    dv_err e = DV_OK;

    log->node_err = DV_OK;
    for (L = 0; !e && L < AUDIT_TREE_LEVELS; L++)
        e = dv_buf_reserve(&log->tilebuf[L], (size_t)((count >> (8 * L)) + 2) * AUDIT_HASH_BYTES);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "tile buffers");
    while (!e && seq < end) {
        e = bundle_switch(log, seq / AUDIT_TILE_WIDTH, ei);
        stop = (seq / AUDIT_TILE_WIDTH + 1) * AUDIT_TILE_WIDTH;
        if (stop > end)
            stop = end;
        for (span = pos; !e && seq < stop; seq++) {
            l = dv_be16(buf->p + span);
            audit_leaf_hash(buf->p + span + 2, l, leaf);
            audit_tree_push(log->tree, leaf, on_node, log);
            span += 2 + l;
        }
        if (!e && audit_write_all(log->bundle_fd, buf->p + pos, span - pos))
            e = dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "writing a bundle: %s",
                        strerror(errno));
        pos = span;
    }
    if (!e && log->node_err)
        e = dv_fail(ei, log->node_err, DV_NO_OFFSET, DV_NO_TAG, "tile buffers");
    if (!e && fdatasync(log->bundle_fd) != 0)
        e = dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "fdatasync: %s", strerror(errno));
    return e;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

/* Writes the checkpoint (size, root): appended to DIR/checkpoints (fdatasync), then
 * DIR/checkpoint replaced atomically.  One thread at a time (cp_busy). */
static dv_err write_cp(audit_log *log, uint64_t size, const uint8_t root[AUDIT_HASH_BYTES],
                       dv_errinfo *ei)
{
    audit_checkpoint cp;
    char path[AUDIT_FILE_MAX];
    dv_buf note;
    dv_err e;

    memset(&cp, 0, sizeof(cp));
    memcpy(cp.origin, log->origin, sizeof(cp.origin));
    cp.size = size;
    memcpy(cp.root, root, AUDIT_HASH_BYTES);
    dv_buf_init(&note, AUDIT_NOTE_MAX + 4);
    e = dv_buf_add(&note, "    ", 4);
    if (!e)
        e = audit_note_sign(&cp, log->origin, log->seed, &note, ei);
    if (!e) {
        note.p[0] = (uint8_t)((note.len - 4) >> 24);
        note.p[1] = (uint8_t)((note.len - 4) >> 16);
        note.p[2] = (uint8_t)((note.len - 4) >> 8);
        note.p[3] = (uint8_t)(note.len - 4);
        if (audit_write_all(log->history_fd, note.p, note.len) || fdatasync(log->history_fd))
            e = dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "writing checkpoints: %s",
                        strerror(errno));
    }
    (void)snprintf(path, sizeof(path), "%s/checkpoint", log->dir);
    if (!e)
        e = audit_file_replace(path, note.p + 4, note.len - 4, 0600, ei);
    dv_buf_release(&note);
    return e;
}

/* Writes the checkpoint (size, root) unless one of that size or larger exists; waits for a
 * checkpoint another thread is writing.  mu held on entry and exit (not while signing and
 * syncing). */
static dv_err cp_write_locked(audit_log *log, uint64_t size, const uint8_t root[AUDIT_HASH_BYTES],
                              dv_errinfo *ei)
{
    dv_err e;

    while (log->cp_busy)
        (void)pthread_cond_wait(&log->cv, &log->mu);
    if (log->failed)
        return dv_fail(ei, log->failed, DV_NO_OFFSET, DV_NO_TAG, "the audit log failed earlier");
    if (log->cp_exists && size <= log->cp_size)
        return DV_OK;
    log->cp_busy = 1;
    (void)pthread_mutex_unlock(&log->mu);
    e = write_cp(log, size, root, ei);
    (void)pthread_mutex_lock(&log->mu);
    if (e) {
        log->failed = e;
    } else {
        log->cp_size = size;
        log->cp_exists = 1;
        log->cp_mono_ms = audit_mono_ms();
    }
    log->cp_busy = 0;
    (void)pthread_cond_broadcast(&log->cv);
    return e;
}

/* (size, root) of the durable tree, taken by the committer between two batches.  mu held. */
static dv_err snapshot_locked(audit_log *log, uint64_t *size, uint8_t root[AUDIT_HASH_BYTES],
                              dv_errinfo *ei)
{
    uint64_t want = ++log->snap_req;

    (void)pthread_cond_signal(&log->work_cv);
    while (log->snap_done < want && log->committer_live)
        (void)pthread_cond_wait(&log->cv, &log->mu);
    if (log->snap_done < want)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "the audit log is closing");
    *size = log->snap_size;
    memcpy(root, log->snap_root, AUDIT_HASH_BYTES);
    return DV_OK;
}

/* ---- the committer --------------------------------------------------------------------------- */

/* Appenders sleep on a futex word per batch slot: one wake-up call per batch, and only the
 * appenders of that batch wake (a condition variable would make each of them take a mutex
 * again on the way out, and a shared one would wake the next batch's appenders too). */
static void slot_wait(_Atomic uint32_t *w, uint32_t seen)
{
    (void)syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
}

static void slot_wake_all(_Atomic uint32_t *w)
{
    (void)syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Ends batch g: its appenders wake and read durable. */
static void publish(audit_log *log, uint64_t g)
{
    _Atomic uint32_t *w = &log->slot[g & 1];

    atomic_store(&log->done_gen, g);
    atomic_fetch_add(w, 1);
    slot_wake_all(w);
}

/* Writes the pending batch (mu held on entry and exit, not while writing). */
static void commit_one(audit_log *log)
{
    uint64_t first = log->pending_first, count = log->next_seq - first, g = log->pending_gen;
    dv_err failed = log->failed, e = DV_OK;
    dv_errinfo ei;
    dv_buf t;

    t = log->writing;
    log->writing = log->pending;
    log->pending = t;
    dv_buf_reset(&log->pending);
    log->pending_first = log->next_seq;
    log->pending_gen++;
    (void)pthread_mutex_unlock(&log->mu);
    dv_errinfo_clear(&ei);
    if (!failed)
        e = write_batch(log, &log->writing, first, count, &ei);
    dv_buf_reset(&log->writing);
    (void)pthread_mutex_lock(&log->mu);
    if (e && !log->failed)
        log->failed = e;
    if (!e && !failed)
        atomic_store(&log->durable, first + count);
    publish(log, g);
    /* tiles only after their entries are durable: a tile never holds the hash of an entry
     * that a crash can take away (tiles are derived data, not fsynced, rebuilt at open), and
     * writing them after the wake-up lets the appenders queue the next batch meanwhile */
    if (!e && !failed) {
        (void)pthread_mutex_unlock(&log->mu);
        e = flush_tiles(log, &ei);
        (void)pthread_mutex_lock(&log->mu);
        if (e && !log->failed)
            log->failed = e;
    }
    if (!e && !failed && log->fwd) {
        (void)pthread_mutex_unlock(&log->mu);
        audit_fwd_kick(log->fwd);
        (void)pthread_mutex_lock(&log->mu);
    }
}

/* Between batches: answers snapshot requests and hands a checkpoint of every `every` new
 * entries to the timer thread (mu held on entry and exit). */
static void serve(audit_log *log)
{
    uint64_t req = log->snap_req, size = log->tree->size;
    uint8_t root[AUDIT_HASH_BYTES];
    int want = !log->failed && !log->cp_want && !log->cp_busy && log->durable > log->cp_size &&
               log->durable - log->cp_size >= log->every;

    if (req == log->snap_done && !want)
        return;
    if (log->failed) { /* the tree may hold a batch that never became durable */
        log->snap_done = req;
        (void)pthread_cond_broadcast(&log->cv);
        return;
    }
    (void)pthread_mutex_unlock(&log->mu);
    audit_tree_root(log->tree, root);
    (void)pthread_mutex_lock(&log->mu);
    if (req != log->snap_done) {
        log->snap_size = size;
        memcpy(log->snap_root, root, AUDIT_HASH_BYTES);
        log->snap_done = req;
        (void)pthread_cond_broadcast(&log->cv);
    }
    if (want) {
        log->cp_want = 1;
        log->cp_want_size = size;
        memcpy(log->cp_want_root, root, AUDIT_HASH_BYTES);
        (void)pthread_cond_signal(&log->timer_cv);
    }
}

static void *committer_main(void *arg)
{
    audit_log *log = arg;

    (void)pthread_mutex_lock(&log->mu);
    for (;;) {
        if (log->pending.len)
            commit_one(log);
        serve(log);
        if (log->pending.len || log->snap_req != log->snap_done)
            continue;
        if (log->stopping)
            break;
        log->committer_idle = 1;
        (void)pthread_cond_wait(&log->work_cv, &log->mu);
        log->committer_idle = 0;
    }
    log->committer_live = 0;
    (void)pthread_cond_broadcast(&log->cv);
    (void)pthread_mutex_unlock(&log->mu);
    return NULL;
}

/* ---- appending ------------------------------------------------------------------------------- */

/* The entry is encoded before mu is taken (with a provisional time); under mu only its
 * sequence number and time are filled in (fixed fields at ENTRY_SEQ_AT and ENTRY_TIME_AT,
 * docs/audit.md "Entries") and the record is copied to pending. */
#define ENTRY_SEQ_AT  1
#define ENTRY_TIME_AT 9

static dv_err encode(const audit_event *ev, dv_buf *rec, dv_errinfo *ei)
{
    dv_err e = dv_buf_add_u16be(rec, 0);

    if (!e)
        e = audit_entry_encode(ev, 0, audit_now_ms(), rec, ei);
    if (e)
        return e == DV_ENOMEM ? dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "audit entry") : e;
    rec->p[0] = (uint8_t)((rec->len - 2) >> 8);
    rec->p[1] = (uint8_t)(rec->len - 2);
    return DV_OK;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Gives rec the next sequence number and a time not before the last one, and appends it to
 * pending (mu held). */
static dv_err enqueue(audit_log *log, dv_buf *rec, uint64_t *seq, dv_errinfo *ei)
{
    int64_t now = audit_now_ms();

    if (now < log->last_time_ms)
        now = log->last_time_ms;
    put_be64(rec->p + 2 + ENTRY_SEQ_AT, log->next_seq);
    put_be64(rec->p + 2 + ENTRY_TIME_AT, (uint64_t)now);
    if (dv_buf_add(&log->pending, rec->p, rec->len))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "audit backlog over %zu bytes",
                       PENDING_MAX);
    log->last_time_ms = now;
    *seq = log->next_seq++;
    return DV_OK;
}

/* Sleeps until batch g is finished; DV_OK when entry s is durable. */
static dv_err wait_durable(audit_log *log, uint64_t s, uint64_t g, dv_errinfo *ei)
{
    _Atomic uint32_t *w = &log->slot[g & 1];
    uint32_t seen;
    dv_err e;

    for (;;) {
        seen = atomic_load(w);
        if (atomic_load(&log->done_gen) >= g)
            break;
        slot_wait(w, seen); /* returns at once when the word moved on since `seen` */
    }
    if (atomic_load(&log->durable) > s)
        return DV_OK;
    (void)pthread_mutex_lock(&log->mu);
    e = log->failed ? log->failed : DV_EIO;
    (void)pthread_mutex_unlock(&log->mu);
    return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "the audit entry could not be made durable");
}

dv_err audit_append(audit_log *log, const audit_event *ev, uint64_t *seq, dv_errinfo *ei)
{
    uint64_t s = 0, g = 0;
    dv_buf rec;
    dv_err e;

    dv_buf_init(&rec, 2 + AUDIT_ENTRY_MAX);
    e = encode(ev, &rec, ei);
    if (e) {
        dv_buf_release(&rec);
        return e;
    }
    (void)pthread_mutex_lock(&log->mu);
    e = log->failed;
    if (e)
        (void)dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "the audit log failed earlier; reopen it");
    else
        e = enqueue(log, &rec, &s, ei);
    g = log->pending_gen;
    if (!e && log->committer_idle)
        (void)pthread_cond_signal(&log->work_cv);
    (void)pthread_mutex_unlock(&log->mu);
    dv_buf_release(&rec);
    if (!e)
        e = wait_durable(log, s, g, ei);
    if (!e && seq)
        *seq = s;
    return e;
}

uint64_t audit_log_size(audit_log *log)
{
    return atomic_load(&log->durable);
}

dv_err audit_log_checkpoint(audit_log *log, dv_errinfo *ei)
{
    uint8_t root[AUDIT_HASH_BYTES];
    uint64_t size;
    dv_err e;

    (void)pthread_mutex_lock(&log->mu);
    e = log->failed;
    if (e)
        (void)dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "the audit log failed earlier");
    else
        e = snapshot_locked(log, &size, root, ei);
    if (!e)
        e = cp_write_locked(log, size, root, ei);
    (void)pthread_mutex_unlock(&log->mu);
    return e;
}

/* The checkpoint thread: writes what the committer hands over (every `every` entries) and a
 * checkpoint after `secs` seconds with new entries. */
static void *timer_main(void *arg)
{
    audit_log *log = arg;
    uint8_t root[AUDIT_HASH_BYTES];
    uint64_t size;
    struct timespec ts;
    dv_errinfo ei;

    (void)pthread_mutex_lock(&log->mu);
    while (!log->stopping) {
        if (log->cp_want) {
            size = log->cp_want_size;
            memcpy(root, log->cp_want_root, AUDIT_HASH_BYTES);
            log->cp_want = 0;
            (void)cp_write_locked(log, size, root, &ei);
            continue;
        }
        (void)clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        (void)pthread_cond_timedwait(&log->timer_cv, &log->mu, &ts);
        if (log->stopping || log->cp_want || log->failed || log->durable <= log->cp_size ||
            audit_mono_ms() - log->cp_mono_ms < (int64_t)log->secs * 1000)
            continue;
        if (snapshot_locked(log, &size, root, &ei) == DV_OK)
            (void)cp_write_locked(log, size, root, &ei);
    }
    (void)pthread_mutex_unlock(&log->mu);
    return NULL;
}

/* ---- open and close -------------------------------------------------------------------------- */

static dv_err take_lock(audit_log *log, uint32_t wait_ms, dv_errinfo *ei)
{
    char path[AUDIT_FILE_MAX];
    struct timespec nap = {0, 5000000L};
    int64_t until = audit_mono_ms() + (wait_ms ? wait_ms : 10000);

    (void)snprintf(path, sizeof(path), "%s/lock", log->dir);
    log->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (log->lock_fd < 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "open %s: %s", path, strerror(errno));
    while (flock(log->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "lock: %s", strerror(errno));
        if (audit_mono_ms() > until)
            return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG,
                           "the audit log is locked by another process");
        (void)nanosleep(&nap, NULL);
    }
    return DV_OK;
}

static audit_log *log_new(const audit_log_cfg *cfg)
{
    audit_log *log = calloc(1, sizeof(*log));
    unsigned L;

    if (!log)
        return NULL;
    log->tree = malloc(sizeof(*log->tree));
    if (!log->tree) {
        free(log);
        return NULL;
    }
    audit_tree_init(log->tree);
    log->lock_fd = log->bundle_fd = log->history_fd = -1;
    for (L = 0; L < AUDIT_TREE_LEVELS; L++) {
        log->tile_fd[L] = -1;
        dv_buf_init(&log->tilebuf[L], PENDING_MAX);
    }
    dv_buf_init(&log->pending, PENDING_MAX);
    dv_buf_init(&log->writing, PENDING_MAX);
    log->pending_gen = 1;
    log->every = cfg->checkpoint_every ? cfg->checkpoint_every : 1024;
    log->secs = cfg->checkpoint_secs ? cfg->checkpoint_secs : 10;
    memcpy(log->seed, cfg->sign_seed, AUDIT_SIGN_SEED_BYTES);
    (void)sodium_mlock(log->seed, sizeof(log->seed));
    (void)pthread_mutex_init(&log->mu, NULL);
    (void)pthread_cond_init(&log->cv, NULL);
    (void)pthread_cond_init(&log->work_cv, NULL);
    (void)pthread_cond_init(&log->timer_cv, NULL);
    return log;
}

static void log_free(audit_log *log)
{
    unsigned L;

    audit_log_close_files(log);
    if (log->lock_fd >= 0)
        (void)close(log->lock_fd); /* releases the flock */
    for (L = 0; L < AUDIT_TREE_LEVELS; L++)
        dv_buf_release(&log->tilebuf[L]);
    dv_buf_release(&log->pending);
    dv_buf_release(&log->writing);
    (void)sodium_munlock(log->seed, sizeof(log->seed)); /* also wipes it */
    (void)pthread_mutex_destroy(&log->mu);
    (void)pthread_cond_destroy(&log->cv);
    (void)pthread_cond_destroy(&log->work_cv);
    (void)pthread_cond_destroy(&log->timer_cv);
    free(log->tree);
    free(log);
}

void audit_log_close_files(audit_log *log)
{
    unsigned L;

    if (log->bundle_fd >= 0)
        (void)close(log->bundle_fd);
    log->bundle_fd = -1;
    for (L = 0; L < AUDIT_TREE_LEVELS; L++) {
        if (log->tile_fd[L] >= 0)
            (void)close(log->tile_fd[L]);
        log->tile_fd[L] = -1;
    }
    if (log->history_fd >= 0)
        (void)close(log->history_fd);
    log->history_fd = -1;
}

static dv_err open_setup(audit_log *log, const audit_log_cfg *cfg, dv_errinfo *ei)
{
    size_t n = strlen(cfg->dir);

    if (n >= AUDIT_PATH_MAX - 64)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "log folder path too long");
    memcpy(log->dir, cfg->dir, n + 1);
    if (cfg->origin) {
        n = strnlen(cfg->origin, AUDIT_ORIGIN_MAX + 1);
        if (!audit_key_name_ok(cfg->origin, n))
            return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                           "origin: 1..%d printable ASCII characters without space or '+'",
                           AUDIT_ORIGIN_MAX);
        memcpy(log->origin, cfg->origin, n + 1);
    }
    if (mkdir(log->dir, 0700) != 0 && errno != EEXIST)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "mkdir %s: %s", log->dir,
                       strerror(errno));
    return take_lock(log, cfg->lock_wait_ms, ei);
}

/* Stops the timer, then the committer (after it wrote every pending entry). */
static void stop_threads(audit_log *log)
{
    (void)pthread_mutex_lock(&log->mu);
    log->stopping = 1;
    (void)pthread_cond_signal(&log->timer_cv);
    (void)pthread_mutex_unlock(&log->mu);
    if (log->timer_on)
        (void)pthread_join(log->timer, NULL);
    log->timer_on = 0;
    (void)pthread_mutex_lock(&log->mu);
    (void)pthread_cond_signal(&log->work_cv);
    (void)pthread_mutex_unlock(&log->mu);
    if (log->committer_on)
        (void)pthread_join(log->committer, NULL);
    log->committer_on = 0;
}

static dv_err start_threads(audit_log *log, const audit_log_cfg *cfg, dv_errinfo *ei)
{
    log->committer_live = 1;
    if (pthread_create(&log->committer, NULL, committer_main, log) != 0) {
        log->committer_live = 0;
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "audit committer thread");
    }
    log->committer_on = 1;
    if (pthread_create(&log->timer, NULL, timer_main, log) != 0)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "checkpoint timer thread");
    log->timer_on = 1;
    if (cfg->syslog)
        return audit_fwd_start(log->dir, cfg->syslog, &log->durable, &log->fwd, ei);
    return DV_OK;
}

dv_err audit_log_open(const audit_log_cfg *cfg, audit_log **out, audit_open_info *info,
                      dv_errinfo *ei)
{
    audit_open_info dummy;
    audit_log *log;
    dv_err e;

    *out = NULL;
    if (!cfg->dir || !cfg->sign_seed)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "audit log: needs dir and key");
    log = log_new(cfg);
    if (!log)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "audit log");
    e = open_setup(log, cfg, ei);
    if (!e)
        e = audit_log_recover(log, info ? info : &dummy, ei);
    if (!e)
        e = start_threads(log, cfg, ei);
    if (e) {
        stop_threads(log);
        log_free(log);
        return e;
    }
    *out = log;
    return DV_OK;
}

dv_err audit_log_close(audit_log *log, dv_errinfo *ei)
{
    uint8_t root[AUDIT_HASH_BYTES];
    dv_err e = DV_OK;

    if (!log)
        return DV_OK;
    stop_threads(log); /* every entry handed to audit_append is now written (or failed) */
    (void)pthread_mutex_lock(&log->mu);
    if (!log->failed) {
        audit_tree_root(log->tree, root);
        e = cp_write_locked(log, log->tree->size, root, ei);
    }
    (void)pthread_mutex_unlock(&log->mu);
    /* the forwarder's last pass sees the final checkpoint and every durable entry */
    audit_fwd_stop(log->fwd);
    log_free(log);
    return e;
}
