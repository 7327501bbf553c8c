/* SPDX-License-Identifier: Apache-2.0 */
/* audit_int.h - what the files of src/audit share: the streaming tree, proof builders, the
 * folder layout, bounded file I/O, base64/hex and the TLS shim.  Not for other modules.
 */
#ifndef DV_AUDIT_INT_H
#define DV_AUDIT_INT_H

#include "audit/audit.h"

#include <stdio.h>

#define AUDIT_TILE_WIDTH  256 /* hashes per tile, entries per bundle (tlog-tiles) */
#define AUDIT_TREE_LEVELS 8   /* tile levels: tree levels 0, 8, ..., 56 */
#define AUDIT_BUNDLE_MAX  ((size_t)AUDIT_TILE_WIDTH * (2 + AUDIT_ENTRY_MAX))
#define AUDIT_TILE_BYTES  ((size_t)AUDIT_TILE_WIDTH * AUDIT_HASH_BYTES)
#define AUDIT_PATH_MAX    4096
#define AUDIT_FILE_MAX    (AUDIT_PATH_MAX + 64) /* a file name under a log folder path */

/* ---- event.c ---------------------------------------------------------------------------- */
uint64_t audit_be64(const uint8_t *p);
size_t audit_detail_bad(const uint8_t *p, size_t n);

/* ---- sha256.c: OpenSSL EVP SHA-256 with a context per thread (libsodium as the fallback) -- */

/* SHA-256(prefix | p[0 .. n)): the leaf (prefix 0) and node (prefix 1) hashes. */
void audit_sha256_prefixed(uint8_t prefix, const uint8_t *p, size_t n,
                           uint8_t out[AUDIT_HASH_BYTES]);
void audit_sha256_empty(uint8_t out[AUDIT_HASH_BYTES]); /* SHA-256 of nothing */

/* ---- merkle.c --------------------------------------------------------------------------- */

/* Called for every new hash at tree level 8*tile_level (index at that level). */
typedef void (*audit_tree_cb)(void *ctx, unsigned tile_level, uint64_t index,
                              const uint8_t h[AUDIT_HASH_BYTES]);

typedef struct audit_tree {
    uint64_t size;
    uint16_t count[AUDIT_TREE_LEVELS];
    uint8_t part[AUDIT_TREE_LEVELS][AUDIT_TILE_WIDTH][AUDIT_HASH_BYTES];
} audit_tree;

void audit_tree_init(audit_tree *t);
void audit_tree_push(audit_tree *t, const uint8_t leaf[AUDIT_HASH_BYTES], audit_tree_cb cb,
                     void *ctx);
void audit_tree_root(const audit_tree *t, uint8_t out[AUDIT_HASH_BYTES]);
void audit_empty_root(uint8_t out[AUDIT_HASH_BYTES]);
void audit_hash_run(const uint8_t (*h)[AUDIT_HASH_BYTES], size_t n, uint8_t out[AUDIT_HASH_BYTES]);

/* A source of subtree hashes: the hash of leaves [index * 2^level, (index + 1) * 2^level). */
typedef dv_err (*audit_node_fn)(void *ctx, unsigned level, uint64_t index,
                                uint8_t out[AUDIT_HASH_BYTES], dv_errinfo *ei);
dv_err audit_merkle_root(audit_node_fn fn, void *ctx, uint64_t size, uint8_t out[AUDIT_HASH_BYTES],
                         dv_errinfo *ei);
dv_err audit_merkle_inclusion(audit_node_fn fn, void *ctx, uint64_t index, uint64_t size,
                              uint8_t (*proof)[AUDIT_HASH_BYTES], size_t *nproof, dv_errinfo *ei);
dv_err audit_merkle_consistency(audit_node_fn fn, void *ctx, uint64_t size1, uint64_t size2,
                                uint8_t (*proof)[AUDIT_HASH_BYTES], size_t *nproof, dv_errinfo *ei);

/* ---- store.c: the folder ------------------------------------------------------------------ */

/* DIR/tile/entries/N (level < 0) or DIR/tile/L/N, N in tlog-tiles form (x001/x234/067). */
dv_err audit_tile_path(const char *dir, int level, uint64_t n, char *out, size_t outlen);
/* Same, relative to DIR ("tile/0/000"). */
void audit_tile_name(int level, uint64_t n, char *out, size_t outlen);

/* Splits a bundle into entries: off[i], len[i] for i < *count (at most 256).  *used = bytes of
 * complete records; the rest (n - *used) is a torn record.  A record whose length is 0 or
 * more than AUDIT_ENTRY_MAX stops the scan there (counted as torn). */
void audit_bundle_split(const uint8_t *p, size_t n, size_t off[AUDIT_TILE_WIDTH],
                        size_t len[AUDIT_TILE_WIDTH], size_t *count, size_t *used);

/* Reads a whole regular file of at most max bytes into out (replacing its content).
 * DV_ENOTFOUND when absent, DV_ELIMIT when larger. */
dv_err audit_file_read(const char *path, size_t max, dv_buf *out, dv_errinfo *ei) DV_WUR;
dv_err audit_write_all(int fd, const void *p, size_t n) DV_WUR;
/* Writes path via path.tmp, fsync, rename, fsync of the folder. */
dv_err audit_file_replace(const char *path, const void *p, size_t n, unsigned mode,
                          dv_errinfo *ei) DV_WUR;
dv_err audit_fsync_dir(const char *dir) DV_WUR;
/* mkdir -p of the folders above path (mode 0700), fsyncing each parent it creates into. */
dv_err audit_mkdirs_for(const char *path, dv_errinfo *ei) DV_WUR;

/* Number of entry bundles present (0, 1, ...): they exist as a run from 0. */
dv_err audit_bundle_count(const char *dir, uint64_t *n, dv_errinfo *ei) DV_WUR;

/* Reads the checkpoint history DIR/checkpoints: calls fn for each note; *torn = bytes of an
 * incomplete last record.  Records over AUDIT_NOTE_MAX are DV_EMALFORMED. */
typedef dv_err (*audit_note_cb)(void *ctx, uint64_t index, const uint8_t *p, size_t n);
dv_err audit_history_read(const char *dir, audit_note_cb fn, void *ctx, uint64_t *torn,
                          uint64_t *valid_bytes, dv_errinfo *ei) DV_WUR;

/* ---- note.c ------------------------------------------------------------------------------ */
dv_err audit_b64_decode(const char *s, size_t n, uint8_t *out, size_t outmax, size_t *outlen);
/* base64 of p into out (NUL-terminated); outlen must hold 4 * ceil(n / 3) + 1 bytes. */
void audit_b64_encode(const uint8_t *p, size_t n, char *out, size_t outlen);
void audit_key_hash(const char *name, const uint8_t pk[AUDIT_PUBKEY_BYTES], uint8_t out[4]);
int audit_key_name_ok(const char *s, size_t n);

/* ---- reader.c ------------------------------------------------------------------------------ */
/* The reader's node source, for proofs and roots. */
dv_err audit_reader_node(void *reader, unsigned level, uint64_t index,
                         uint8_t out[AUDIT_HASH_BYTES], dv_errinfo *ei);
/* Hashes 0 .. need-1 of tile (level, t) into out: read from the tile file (*file_count = how
 * many it held, possibly more than need) and recomputed from below where it is short. */
dv_err audit_reader_tile(audit_reader *r, unsigned level, uint64_t t, size_t need,
                         uint8_t (*out)[AUDIT_HASH_BYTES], size_t *file_count,
                         dv_errinfo *ei) DV_WUR;
/* Hashes stored in tile (L, n): reads up to 256 into out, *count = how many (0 if absent). */
dv_err audit_tile_read(const char *dir, unsigned level, uint64_t n,
                       uint8_t out[AUDIT_TILE_WIDTH][AUDIT_HASH_BYTES], size_t *count,
                       dv_errinfo *ei) DV_WUR;

/* ---- tls.c: OpenSSL's libssl, loaded at run time ------------------------------------------- */
typedef struct audit_tls audit_tls;
dv_err audit_tls_connect(const char *host, const char *port, const audit_syslog_cfg *cfg,
                         audit_tls **out, dv_errinfo *ei) DV_WUR;
dv_err audit_tls_write(audit_tls *t, const uint8_t *p, size_t n, dv_errinfo *ei) DV_WUR;
/* Sends close_notify and waits (timeout) until the peer closes: DV_OK only when it did. */
dv_err audit_tls_close_confirm(audit_tls *t, dv_errinfo *ei) DV_WUR;
void audit_tls_free(audit_tls *t);

/* ---- syslog.c ------------------------------------------------------------------------------ */
/* Background forwarder used by the log (started when cfg->syslog is set). */
typedef struct audit_fwd_thread audit_fwd_thread;
/* durable: the writer's count of durable entries; the thread never sends past it (an entry
 * written but not yet fdatasync'ed may still vanish in a crash). */
dv_err audit_fwd_start(const char *dir, const audit_syslog_cfg *cfg,
                       const _Atomic uint64_t *durable, audit_fwd_thread **out,
                       dv_errinfo *ei) DV_WUR;
void audit_fwd_kick(audit_fwd_thread *f);
void audit_fwd_stop(audit_fwd_thread *f);

/* ---- export.c ------------------------------------------------------------------------------ */
dv_err audit_xml_escape(dv_buf *out, const char *s) DV_WUR;
dv_err audit_json_escape(dv_buf *out, const char *s) DV_WUR;

#endif
