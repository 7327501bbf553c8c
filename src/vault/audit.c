/* SPDX-License-Identifier: Apache-2.0 */
/* audit.c - the audit hook every vault_* operation calls before its effect.
 *
 * The audit issue (append-only Merkle log, signed checkpoints) replaces the body of
 * vault_audit_event() with a durable append; until then it records nothing.  Callers already
 * respect "audit before effect": they call vault_enter() first and stop when it fails.  The
 * object argument is never PHI: an index id, an object key or a keyed pseudonym.
 */
#include <string.h>

#include "vault/vault_int.h"

#include "common/banned.h"

dv_err vault_audit_event(vault *v, const vault_ctx *ctx, const char *event, const char *object,
                         dv_errinfo *ei)
{
    (void)v;
    (void)ctx;
    (void)object;
    if (!event || !event[0])
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "audit event without a name");
    return DV_OK;
}

dv_err vault_enter(vault *v, const vault_ctx *ctx, const char *event, const char *object,
                   dv_errinfo *ei)
{
    if (!vault_ctx_valid(ctx)) {
        dv_err ae = vault_audit_event(v, ctx, "denied", event, NULL);

        (void)ae; /* the denial is reported either way */
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                       "%s: no valid request context (user, role, purpose, session, client)",
                       event);
    }
    return vault_audit_event(v, ctx, event, object, ei);
}
