/* SPDX-License-Identifier: Apache-2.0 */
/* log_int.h - the writer's state, shared by log.c (group commit, checkpoints) and recover.c
 * (opening and crash recovery).
 *
 * Threads: appenders, one committer, one checkpoint timer (and the forwarder, syslog.c).
 * Invariants (mu held to read or change the shared part):
 *   durable <= pending_first <= next_seq; entries [pending_first, next_seq) are encoded in
 *   pending as "uint16 BE length | entry" and form batch pending_gen; entries [durable,
 *   pending_first) belong to batch pending_gen - 1, which the committer is writing.  An
 *   appender of batch g sleeps on slot[g & 1] until done_gen >= g (at most two batches are
 *   in flight, so a slot is never reused while its waiters still wait); durable is stored
 *   before done_gen.  failed != DV_OK is sticky: no entry at or after durable will ever be
 *   acknowledged by this handle.
 *   A checkpoint never covers more than durable entries: its (size, root) is taken by the
 *   committer between batches (snapshots, cp_want) or after it stopped (close).
 * The committer-only part (tree, files) is touched only by the committer thread (or by
 * open/close, when it does not run).
 */
#ifndef DV_AUDIT_LOG_INT_H
#define DV_AUDIT_LOG_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "audit/audit_int.h"

struct audit_log {
    char dir[AUDIT_PATH_MAX];
    char origin[AUDIT_ORIGIN_MAX + 1];
    uint8_t seed[AUDIT_SIGN_SEED_BYTES];
    uint32_t every, secs;
    int lock_fd;

    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* a snapshot was taken, a checkpoint finished, the committer ended */
    pthread_cond_t work_cv;  /* wakes the committer: a new batch, a snapshot request, close */
    pthread_cond_t timer_cv; /* wakes the checkpoint timer: cp_want, close */
    dv_buf pending;
    uint64_t next_seq, pending_first, pending_gen;
    _Atomic uint64_t durable;  /* stored under mu; appenders read it after their slot wakes */
    _Atomic uint64_t done_gen; /* batches [1, done_gen] are finished (durable or failed) */
    int stopping, committer_idle, committer_live;
    dv_err failed;
    int64_t last_time_ms;
    uint64_t snap_req, snap_done, snap_size; /* snapshot requests to the committer */
    uint8_t snap_root[AUDIT_HASH_BYTES];
    int cp_want; /* the committer asks the timer thread for a checkpoint of cp_want_size */
    uint64_t cp_want_size;
    uint8_t cp_want_root[AUDIT_HASH_BYTES];
    uint64_t cp_size;
    int cp_exists;
    int cp_busy; /* a thread is writing a checkpoint */
    int64_t cp_mono_ms;

    /* where appenders wait for their batch: a futex word per slot (slot g & 1 for batch g),
     * bumped when a batch of that slot is finished */
    _Atomic uint32_t slot[2];

    /* committer only */
    dv_buf writing;
    audit_tree *tree;
    int bundle_fd;
    uint64_t bundle_idx;
    int tile_fd[AUDIT_TREE_LEVELS];
    uint64_t tile_idx[AUDIT_TREE_LEVELS];
    dv_buf tilebuf[AUDIT_TREE_LEVELS]; /* new hashes of this batch, per tile level */
    uint64_t tilebuf_first[AUDIT_TREE_LEVELS];
    dv_err node_err;
    int history_fd; /* the checkpoint writer's (cp_busy) */

    pthread_t committer;
    int committer_on;
    pthread_t timer;
    int timer_on;
    audit_fwd_thread *fwd;
};

int64_t audit_now_ms(void);
int64_t audit_mono_ms(void);
/* Recovery: fills the committer-only state of a log whose dir/origin/seed are set and whose lock
 * is held (recover.c). */
dv_err audit_log_recover(audit_log *log, audit_open_info *info, dv_errinfo *ei) DV_WUR;
/* Closes the committer's files and the checkpoint history. */
void audit_log_close_files(audit_log *log);

#endif
