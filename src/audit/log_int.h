/* SPDX-License-Identifier: Apache-2.0 */
/* log_int.h - the writer's state, shared by log.c (group commit, checkpoints) and recover.c
 * (opening and crash recovery).
 *
 * Invariants (mu held to read or change the shared part):
 *   durable <= pending_first <= next_seq; entries [pending_first, next_seq) are encoded in
 *   pending as "uint16 BE length | entry"; entries [durable, pending_first) belong to the
 *   batch the leader is writing (leader == 1).  failed != DV_OK is sticky: no entry at or
 *   after durable will ever be acknowledged by this handle.
 * The leader-only part (tree, files, checkpoint state) is touched only by the thread that set
 * leader = 1 (or by open/close, when no other thread uses the log).
 */
#ifndef DV_AUDIT_LOG_INT_H
#define DV_AUDIT_LOG_INT_H

#include <pthread.h>

#include "audit/audit_int.h"

struct audit_log {
    char dir[AUDIT_PATH_MAX];
    char origin[AUDIT_ORIGIN_MAX + 1];
    uint8_t seed[AUDIT_SIGN_SEED_BYTES];
    uint32_t every, secs;
    int lock_fd;

    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* a batch was published, or the leader role was released */
    pthread_cond_t timer_cv; /* wakes the checkpoint timer (close) */
    dv_buf pending;
    uint64_t next_seq, pending_first, durable;
    int leader, stopping;
    dv_err failed;
    int64_t last_time_ms;

    /* leader only */
    dv_buf writing;
    audit_tree *tree;
    int bundle_fd;
    uint64_t bundle_idx;
    int tile_fd[AUDIT_TREE_LEVELS];
    uint64_t tile_idx[AUDIT_TREE_LEVELS];
    dv_buf tilebuf[AUDIT_TREE_LEVELS]; /* new hashes of this batch, per tile level */
    uint64_t tilebuf_first[AUDIT_TREE_LEVELS];
    dv_err node_err;
    int history_fd;
    uint64_t cp_size;
    int cp_exists;
    int cp_busy; /* a thread is writing a checkpoint (under mu) */
    int64_t cp_mono_ms;

    pthread_t timer;
    int timer_on;
    audit_fwd_thread *fwd;
};

int64_t audit_now_ms(void);
int64_t audit_mono_ms(void);
/* Recovery: fills the leader-only state of a log whose dir/origin/seed are set and whose lock
 * is held (recover.c). */
dv_err audit_log_recover(audit_log *log, audit_open_info *info, dv_errinfo *ei) DV_WUR;
/* Closes the leader's files. */
void audit_log_close_files(audit_log *log);

#endif
