/* SPDX-License-Identifier: Apache-2.0 */
/* store.h - the object store: opaque, already-sealed blobs named by an object key.
 *
 * The store never sees plaintext: vault/ seals every object with crypto/ before store_put.
 * Backends sit behind one small table of functions so that a later S3-compatible backend
 * slots in without touching vault/.  Keys are 32 lower-case hex characters (a 16-byte random
 * object id); anything else is refused with DV_EINVAL, so a key can never walk out of the
 * store's folder.
 *
 * Local backend layout: DIR/objects/ab/cd/<key> (two levels of fan-out by the key's first
 * four hex digits).  store_put writes DIR/tmp/<key>.XXXXXX, fsyncs it, renames it into place
 * and fsyncs the folder: an object is either wholly there or absent.  Leftover temporary
 * files (after a crash) are removed by store_sweep_tmp().
 */
#ifndef DV_STORE_H
#define DV_STORE_H

#include "common/buf.h"
#include "common/dv.h"

#define STORE_KEY_LEN 32

typedef struct store store;

typedef struct store_ops {
    dv_err (*put)(store *s, const char *key, const uint8_t *p, size_t len, dv_errinfo *ei);
    dv_err (*get)(store *s, const char *key, dv_buf *out, dv_errinfo *ei);
    dv_err (*del)(store *s, const char *key, dv_errinfo *ei);
    dv_err (*exists)(store *s, const char *key, int *yes, dv_errinfo *ei);
    /* calls fn for every key; stops at the first non-zero dv_err from fn and returns it */
    dv_err (*list)(store *s, dv_err (*fn)(void *ctx, const char *key, uint64_t size), void *ctx,
                   dv_errinfo *ei);
    dv_err (*sweep_tmp)(store *s, unsigned *removed, dv_errinfo *ei);
    void (*close)(store *s);
} store_ops;

struct store {
    const store_ops *ops;
    void *impl;
};

/* Opens (creating with mode 0700 when create is set) a local store in dir. */
dv_err store_open_local(const char *dir, int create, store **out, dv_errinfo *ei) DV_WUR;

/* Thin wrappers over s->ops; store_close accepts NULL. */
dv_err store_put(store *s, const char *key, const uint8_t *p, size_t len, dv_errinfo *ei) DV_WUR;
dv_err store_get(store *s, const char *key, dv_buf *out, dv_errinfo *ei) DV_WUR;
dv_err store_del(store *s, const char *key, dv_errinfo *ei) DV_WUR;
dv_err store_exists(store *s, const char *key, int *yes, dv_errinfo *ei) DV_WUR;
dv_err store_list(store *s, dv_err (*fn)(void *ctx, const char *key, uint64_t size), void *ctx,
                  dv_errinfo *ei) DV_WUR;
dv_err store_sweep_tmp(store *s, unsigned *removed, dv_errinfo *ei) DV_WUR;
void store_close(store *s);

/* True when key is exactly STORE_KEY_LEN lower-case hex digits. */
int store_key_valid(const char *key);

#endif
