/* SPDX-License-Identifier: Apache-2.0 */
/* grant.c - care relationships: grants (user or team -> study or patient, with expiry), the
 * in-memory set a request checks rows against, and break-glass openings.
 *
 * Invariants: a grant is valid while created <= now < expires and not revoked; a break-glass
 * opening is a grant with source "break-glass" to one user for one study, lasting
 * pol->breakglass_seconds; targets are the vault's blind indexes only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access_int.h"

#include "common/banned.h"

#define KIND_PATIENT    1u
#define KIND_BREAKGLASS 2u
#define RELSET_MAX      1000000u

dv_err access_grant_add(const access_env *env, const access_grant_req *g, int64_t now, int64_t *id,
                        dv_errinfo *ei)
{
    index_grant r;
    dv_err e;

    if (id)
        *id = 0;
    if (!g->grantee || !g->target_bi || !g->source || !g->reason || !g->created_by)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "grant: missing argument");
    if (g->expires <= now)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "grant: expiry is not in the future");
    if (strlen(g->grantee) > INDEX_USER_NAME_MAX || strlen(g->source) > INDEX_WORD_MAX ||
        strlen(g->reason) > INDEX_REASON_MAX || strlen(g->created_by) > INDEX_USER_NAME_MAX)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "grant: a field is too long");
    memset(&r, 0, sizeof(r));
    r.group = g->group != 0;
    memcpy(r.grantee, g->grantee, strlen(g->grantee) + 1);
    r.patient = g->patient != 0;
    memcpy(r.target_bi, g->target_bi, ACCESS_BI_BYTES);
    memcpy(r.source, g->source, strlen(g->source) + 1);
    memcpy(r.reason, g->reason, strlen(g->reason) + 1);
    memcpy(r.created_by, g->created_by, strlen(g->created_by) + 1);
    r.created = now;
    r.expires = g->expires;
    e = index_grant_insert(env->db, &r, ei);
    if (!e && id)
        *id = r.id;
    return e;
}

dv_err access_grant_revoke(const access_env *env, int64_t id, dv_errinfo *ei)
{
    return index_grant_revoke(env->db, id, ei);
}

/* ---- the relationship set --------------------------------------------------------------- */

static dv_err relset_add(void *ctx, const index_grant *g)
{
    access_relset *s = ctx;
    uint8_t *bi, *kind;
    size_t cap;

    if (s->n == s->cap) {
        if (s->cap >= RELSET_MAX)
            return DV_ELIMIT;
        cap = s->cap ? 2 * s->cap : 16;
        bi = realloc(s->bi, cap * ACCESS_BI_BYTES);
        if (!bi)
            return DV_ENOMEM;
        s->bi = bi;
        kind = realloc(s->kind, cap);
        if (!kind)
            return DV_ENOMEM;
        s->kind = kind;
        s->cap = cap;
    }
    memcpy(s->bi + s->n * ACCESS_BI_BYTES, g->target_bi, ACCESS_BI_BYTES);
    s->kind[s->n] = (uint8_t)((g->patient ? KIND_PATIENT : 0u) |
                              (!strcmp(g->source, "break-glass") ? KIND_BREAKGLASS : 0u));
    s->n++;
    return DV_OK;
}

dv_err access_relset_load(const access_env *env, const char *user, const char *team, int64_t now,
                          access_relset *out, dv_errinfo *ei)
{
    dv_err e;

    memset(out, 0, sizeof(*out));
    e = index_grant_list(env->db, user, team, now, relset_add, out, ei);
    if (e == DV_ENOMEM || e == DV_ELIMIT)
        e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "grants: too many or out of memory");
    if (e)
        access_relset_free(out);
    return e;
}

access_rel access_relset_of(const access_relset *s, const uint8_t *study_bi,
                            const uint8_t *patient_bi)
{
    access_rel best = ACCESS_REL_NONE;
    const uint8_t *want;
    size_t i;

    for (i = 0; i < s->n && best != ACCESS_REL_GRANT; i++) {
        want = (s->kind[i] & KIND_PATIENT) ? patient_bi : study_bi;
        if (!want || memcmp(s->bi + i * ACCESS_BI_BYTES, want, ACCESS_BI_BYTES) != 0)
            continue;
        best = (s->kind[i] & KIND_BREAKGLASS) ? ACCESS_REL_BREAKGLASS : ACCESS_REL_GRANT;
    }
    return best;
}

void access_relset_free(access_relset *s)
{
    if (!s)
        return;
    free(s->bi);
    free(s->kind);
    memset(s, 0, sizeof(*s));
}

/* ---- break-glass -------------------------------------------------------------------------- */

dv_err access_breakglass(const access_env *env, const char *user, const uint8_t *study_bi,
                         const char *reason, int64_t now, int64_t *id, dv_errinfo *ei)
{
    access_grant_req g;
    char detail[160];
    int64_t gid = 0;
    dv_err e;

    if (!reason[0])
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "break-glass needs a reason");
    memset(&g, 0, sizeof(g));
    g.grantee = user;
    g.target_bi = study_bi;
    g.expires = now + env->pol->breakglass_seconds;
    g.source = "break-glass";
    g.reason = reason;
    g.created_by = user;
    e = access_grant_add(env, &g, now, &gid, ei);
    if (!e) {
        /* DCM 110127 "Emergency Override Started"; the reason stays in the grant */
        (void)snprintf(detail, sizeof(detail),
                       "emergency override started (DCM 110127): opening %lld for %lld minutes",
                       (long long)gid, (long long)(env->pol->breakglass_seconds / 60));
        e = access_alert(env, user, "break-glass", 2, detail, now, ei);
    }
    if (id)
        *id = gid;
    return e;
}
