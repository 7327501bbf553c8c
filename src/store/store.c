/* SPDX-License-Identifier: Apache-2.0 */
/* store.c - the backend-independent half of the object store: key rules and the wrappers that
 * dispatch to a backend's table of functions.
 *
 * Invariant: no backend function is called with a key that store_key_valid() refuses, so a
 * backend may build a path from a key without further checks.
 */
#include <string.h>

#include "common/buf.h"
#include "common/dv.h"
#include "store/store.h"

#include "common/banned.h"

int store_key_valid(const char *key)
{
    size_t i;

    if (!key)
        return 0;
    for (i = 0; i < STORE_KEY_LEN; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return 0;
    return key[STORE_KEY_LEN] == '\0';
}

static dv_err bad_key(dv_errinfo *ei)
{
    return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                   "object key is not %d lower-case hex digits", STORE_KEY_LEN);
}

dv_err store_put(store *s, const char *key, const uint8_t *p, size_t len, dv_errinfo *ei)
{
    if (!s || (!p && len))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no store or no data");
    if (!store_key_valid(key))
        return bad_key(ei);
    return s->ops->put(s, key, p, len, ei);
}

dv_err store_get(store *s, const char *key, dv_buf *out, dv_errinfo *ei)
{
    if (!s || !out)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no store or no buffer");
    if (!store_key_valid(key))
        return bad_key(ei);
    return s->ops->get(s, key, out, ei);
}

dv_err store_del(store *s, const char *key, dv_errinfo *ei)
{
    if (!s)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no store");
    if (!store_key_valid(key))
        return bad_key(ei);
    return s->ops->del(s, key, ei);
}

dv_err store_exists(store *s, const char *key, int *yes, dv_errinfo *ei)
{
    if (!s || !yes)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no store or no answer slot");
    *yes = 0;
    if (!store_key_valid(key))
        return bad_key(ei);
    return s->ops->exists(s, key, yes, ei);
}

dv_err store_list(store *s, dv_err (*fn)(void *ctx, const char *key, uint64_t size), void *ctx,
                  dv_errinfo *ei)
{
    if (!s || !fn)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no store or no callback");
    return s->ops->list(s, fn, ctx, ei);
}

dv_err store_sweep_tmp(store *s, unsigned *removed, dv_errinfo *ei)
{
    unsigned dummy = 0;

    if (!s)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no store");
    return s->ops->sweep_tmp(s, removed ? removed : &dummy, ei);
}

void store_close(store *s)
{
    if (s)
        s->ops->close(s);
}
