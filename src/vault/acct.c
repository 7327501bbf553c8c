/* SPDX-License-Identifier: Apache-2.0 */
/* acct.c - the vault's account, grant, approval and alert entry points (issue 5).
 *
 * Each is a thin door over access/: it opens the caller's session, decides the action through
 * vault_gate (access_decide), and only then changes anything.  Patients and studies are named
 * to access/ by the vault's blind indexes ("pid", "study-uid"), never by their identifiers.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "vault/gate.h"
#include "vault/vault_int.h"

#include "common/banned.h"

static dv_err env_of(vault *v, const access_env **env, dv_errinfo *ei)
{
    return vault_access_env(v, env, ei);
}

/* ---- login, sessions, own account ----------------------------------------------------------- */

dv_err vault_login(vault *v, const char *user, const char *password, const char *totp,
                   const char *client, vault_login_res *res, dv_errinfo *ei)
{
    access_login_req rq = {user, password, totp, client ? client : "local", vault_access_now()};
    access_login_res r;
    const access_env *env = NULL;
    index_account a;
    dv_err e = env_of(v, &env, ei);

    memset(res, 0, sizeof(*res));
    if (!e)
        e = access_login(env, &rq, &r, ei);
    if (e) {
        dv_err ae = vault_audit_login(v, user, rq.client, "login-failed", 0, NULL);

        /* this failure locked the account (DCM 110137 User Security Attributes Changed) */
        if (env && index_account_get(v->db, user, &a, NULL) == DV_OK &&
            a.locked_until == rq.now + env->pol->lockout_seconds && env->pol->lockout_seconds)
            ae = vault_audit_login(v, user, rq.client, "lockout", 1, NULL);
        sodium_memzero(&a, sizeof(a));
        (void)ae; /* the failure is reported either way */
        return e;
    }
    /* audit before effect: the session token leaves only once its login is on the record */
    e = vault_audit_login(v, user, rq.client, "login", 1, ei);
    if (e) {
        sodium_memzero(&r, sizeof(r));
        return e;
    }
    memcpy(res->token, r.token, sizeof(res->token));
    res->must_change = r.must_change;
    res->mfa = r.mfa;
    access_roles_format(r.roles, res->roles, sizeof(res->roles));
    if (index_account_get(v->db, user, &a, NULL) == DV_OK)
        res->totp_enrolled = a.totp_on;
    sodium_memzero(&r, sizeof(r));
    sodium_memzero(&a, sizeof(a));
    return DV_OK;
}

dv_err vault_logout(vault *v, const char *token, dv_errinfo *ei)
{
    const access_env *env = NULL;
    vault_ctx c = {"session", "session", "default", token, "local"};
    access_session_info si = {0};
    dv_errinfo local;
    dv_err e = env_of(v, &env, ei);

    /* DCM 110123 Logout, before the session ends; an unknown or expired token ends nothing */
    if (!e && vault_session(v, &c, &si, NULL, &local) == DV_OK && si.user[0])
        e = vault_audit_login(v, si.user, c.client, "logout", 1, ei);
    return e ? e : access_logout(env, token, ei);
}

dv_err vault_whoami_get(vault *v, const vault_ctx *ctx, vault_whoami *out, dv_errinfo *ei)
{
    access_session_info si = {0};
    dv_err e = vault_session(v, ctx, &si, NULL, ei);

    memset(out, 0, sizeof(*out));
    if (e)
        return e;
    memcpy(out->user, si.user, sizeof(out->user));
    memcpy(out->team, si.team, sizeof(out->team));
    access_roles_format(si.roles, out->roles, sizeof(out->roles));
    (void)snprintf(out->purpose, sizeof(out->purpose), "%s", access_purpose_name(si.purpose));
    out->mfa = si.mfa;
    out->must_change = si.must_change;
    out->suspended = si.suspended;
    out->expires = si.expires;
    return DV_OK;
}

dv_err vault_passwd(vault *v, const vault_ctx *ctx, const char *old_pw, const char *new_pw,
                    dv_errinfo *ei)
{
    access_session_info si = {0};
    const access_env *env = NULL;
    dv_err e = vault_session(v, ctx, &si, NULL, ei);

    if (!e)
        e = env_of(v, &env, ei);
    return e ? e : access_passwd(env, si.user, old_pw, new_pw, vault_access_now(), ei);
}

dv_err vault_totp_enrol(vault *v, const vault_ctx *ctx, char b32[64], char uri[512], dv_errinfo *ei)
{
    access_session_info si = {0};
    const access_env *env = NULL;
    index_account a;
    dv_err e = vault_session(v, ctx, &si, NULL, ei);

    b32[0] = uri[0] = '\0';
    if (!e)
        e = env_of(v, &env, ei);
    if (!e)
        e = index_account_get(v->db, si.user, &a, ei);
    if (e)
        return e;
    if (si.must_change)
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                       "change the one-time password first (dcmvault passwd)");
    if (a.totp_on && !si.mfa)
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                       "a second factor is active: log in with it to replace it");
    return access_totp_enrol(env, si.user, b32, uri, ei);
}

/* ---- user administration -------------------------------------------------------------------- */

dv_err vault_user_add(vault *v, const vault_ctx *ctx, const char *name, const char *roles,
                      const char *team, char pw[VAULT_PASSWORD_LEN + 1], dv_errinfo *ei)
{
    const access_env *env = NULL;
    unsigned set = 0;
    dv_err e = vault_gate(v, ctx, ACCESS_USER_ADMIN, NULL, ei);

    pw[0] = '\0';
    if (e)
        return e;
    if (access_roles_parse(roles, &set) != 0)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "unknown role (docs/access.md lists them)");
    e = env_of(v, &env, ei);
    return e ? e : access_user_add(env, name, set, team, vault_access_now(), pw, ei);
}

/* The adapter of every list below: the caller's callback (the member its list fills) and its
 * argument, handed to the index's list function, whose rows the *_one functions convert. */
typedef struct list_ctx {
    union {
        vault_user_fn user;
        vault_grant_fn grant;
        vault_approval_fn approval;
        vault_alert_fn alert;
    } fn;
    void *cb;
    int64_t now; /* users: an account is locked until a time after now */
} list_ctx;

static dv_err list_one(void *cb, const index_account *a)
{
    const list_ctx *l = cb;
    vault_user_info u = {.name = a->name,
                         .roles = a->roles,
                         .team = a->team,
                         .must_change = a->must_change,
                         .disabled = a->disabled,
                         .suspended = a->suspended,
                         .totp = a->totp_on,
                         .locked = a->locked_until > l->now,
                         .last_login = a->last_login};

    return l->fn.user(l->cb, &u);
}

dv_err vault_user_list(vault *v, const vault_ctx *ctx, vault_user_fn fn, void *cb, dv_errinfo *ei)
{
    list_ctx l = {.fn.user = fn, .cb = cb, .now = vault_access_now()};
    dv_err e = vault_gate(v, ctx, ACCESS_USER_ADMIN, NULL, ei);

    return e ? e : index_account_list(v->db, list_one, &l, ei);
}

dv_err vault_user_disable(vault *v, const vault_ctx *ctx, const char *name, int on, dv_errinfo *ei)
{
    const access_env *env = NULL;
    dv_err e = vault_gate(v, ctx, ACCESS_USER_ADMIN, NULL, ei);

    if (!e)
        e = env_of(v, &env, ei);
    return e ? e : access_user_disable(env, name, on, ei);
}

dv_err vault_user_reset(vault *v, const vault_ctx *ctx, const char *name, int totp,
                        char pw[VAULT_PASSWORD_LEN + 1], dv_errinfo *ei)
{
    const access_env *env = NULL;
    dv_err e = vault_gate(v, ctx, ACCESS_USER_ADMIN, NULL, ei);

    pw[0] = '\0';
    if (!e)
        e = env_of(v, &env, ei);
    return e ? e : access_user_reset(env, name, totp, pw, ei);
}

/* ---- grants and break-glass ----------------------------------------------------------------- */

dv_err vault_grant(vault *v, const vault_ctx *ctx, const vault_grant_in *g, int64_t *id,
                   dv_errinfo *ei)
{
    uint8_t bi[INDEX_BI_BYTES];
    access_session_info si = {0};
    vault_gate_obj o;
    access_grant_req r;
    const access_env *env = NULL;
    dv_err e;

    if (!g->grantee || !g->reason || !g->reason[0] || (!g->study_uid == !g->patient_id))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "a grant needs a grantee, a reason and --study or --patient");
    memset(&o, 0, sizeof(o));
    if (g->study_uid) {
        vault_blind(v, "study-uid", g->study_uid, bi);
        o.study_bi = bi;
    } else {
        vault_blind(v, "pid", g->patient_id, bi);
        o.patient_bi = bi;
    }
    o.owner = g->grantee;
    e = vault_gate_as(v, ctx, ACCESS_GRANT, &o, &si, ei);
    if (!e)
        e = env_of(v, &env, ei);
    if (!e) /* audit before effect */
        e = vault_audit_study(v, ctx, "grant", o.study_bi, o.patient_bi, ei);
    if (e)
        return e;
    memset(&r, 0, sizeof(r));
    r.grantee = g->grantee;
    r.group = g->group;
    r.target_bi = bi;
    r.patient = g->patient_id != NULL;
    r.expires = g->until;
    r.source = (si.roles & ACCESS_ROLE_BIT(ACCESS_ADMIN)) ? "assignment" : "reading-radiologist";
    r.reason = g->reason;
    r.created_by = si.user;
    return access_grant_add(env, &r, vault_access_now(), id, ei);
}

dv_err vault_revoke(vault *v, const vault_ctx *ctx, int64_t id, dv_errinfo *ei)
{
    const access_env *env = NULL;
    vault_gate_obj o;
    index_grant g;
    dv_err e = index_grant_get(v->db, id, &g, ei);

    if (e == DV_ENOTFOUND)
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "no such grant");
    if (e)
        return e;
    memset(&o, 0, sizeof(o));
    o.study_bi = g.patient ? NULL : g.target_bi;
    o.patient_bi = g.patient ? g.target_bi : NULL;
    e = vault_gate(v, ctx, ACCESS_GRANT, &o, ei);
    if (!e)
        e = env_of(v, &env, ei);
    /* ending an emergency opening early is DCM 110138 Emergency Override Stopped */
    if (!e)
        e = vault_audit_study(v, ctx,
                              strcmp(g.source, "break-glass") ? "revoke" : "breakglass-stop",
                              o.study_bi, o.patient_bi, ei);
    return e ? e : access_grant_revoke(env, id, ei);
}

dv_err vault_breakglass_stop(vault *v, const vault_ctx *ctx, int64_t id, dv_errinfo *ei)
{
    access_session_info si = {0};
    const access_env *env = NULL;
    vault_gate_obj o;
    index_grant g;
    dv_err e = vault_session(v, ctx, &si, NULL, ei);

    if (!e)
        e = index_grant_get(v->db, id, &g, ei);
    if (e == DV_ENOTFOUND ||
        (!e && (strcmp(g.source, "break-glass") != 0 || g.group ||
                strcmp(g.grantee, si.user) != 0 || g.revoked || g.expires <= vault_access_now())))
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG,
                       "no emergency override %lld of yours is open", (long long)id);
    if (e)
        return e;
    memset(&o, 0, sizeof(o));
    o.study_bi = g.target_bi;
    e = vault_gate(v, ctx, ACCESS_BREAKGLASS, &o, ei);
    if (!e)
        e = env_of(v, &env, ei);
    if (!e)
        e = vault_audit_study(v, ctx, "breakglass-stop", g.target_bi, NULL, ei);
    return e ? e : access_grant_revoke(env, id, ei);
}

static dv_err grant_one(void *cb, const index_grant *g)
{
    const list_ctx *l = cb;
    vault_grant_info i = {.id = g->id,
                          .created = g->created,
                          .expires = g->expires,
                          .grantee = g->grantee,
                          .source = g->source,
                          .reason = g->reason,
                          .created_by = g->created_by,
                          .group = g->group,
                          .patient = g->patient};

    vault_hex(g->target_bi, 8, i.target);
    return l->fn.grant(l->cb, &i);
}

dv_err vault_grants(vault *v, const vault_ctx *ctx, const char *user, vault_grant_fn fn, void *cb,
                    dv_errinfo *ei)
{
    access_session_info si = {0};
    list_ctx l = {.fn.grant = fn, .cb = cb};
    dv_err e = vault_session(v, ctx, &si, NULL, ei);

    if (e)
        return e;
    /* one's own grants: anyone who may search; everyone's: who may grant */
    if (user && !strcmp(user, si.user))
        e = vault_gate(v, ctx, ACCESS_FIND, NULL, ei);
    else
        e = vault_gate(v, ctx, ACCESS_GRANT, NULL, ei);
    if (e)
        return e;
    return index_grant_list(v->db, user, user && !strcmp(user, si.user) ? si.team : NULL,
                            vault_access_now(), grant_one, &l, ei);
}

dv_err vault_breakglass(vault *v, const vault_ctx *ctx, const char *study_uid, const char *reason,
                        int64_t *id, dv_errinfo *ei)
{
    uint8_t bi[INDEX_BI_BYTES];
    access_session_info si = {0};
    const access_env *env = NULL;
    vault_gate_obj o;
    dv_err e;

    *id = 0;
    memset(&o, 0, sizeof(o));
    vault_blind(v, "study-uid", study_uid, bi);
    o.study_bi = bi;
    e = vault_gate_as(v, ctx, ACCESS_BREAKGLASS, &o, &si, ei);
    if (!e)
        e = env_of(v, &env, ei);
    if (!e) /* DICOM 110127 Emergency Override Started, before the access it opens */
        e = vault_audit_study(v, ctx, "breakglass-start", bi, NULL, ei);
    return e ? e : access_breakglass(env, si.user, bi, reason, vault_access_now(), id, ei);
}

/* ---- approvals and alerts ------------------------------------------------------------------- */

static dv_err appr_one(void *cb, const index_approval *a)
{
    const list_ctx *l = cb;
    vault_approval_info i = {.id = a->id,
                             .created = a->created,
                             .decided = a->decided,
                             .requester = a->requester,
                             .action = a->action,
                             .reason = a->reason,
                             .state = a->state,
                             .decided_by = a->decided_by,
                             .studies = a->studies,
                             .patients = a->patients,
                             .bytes = a->bytes};

    return l->fn.approval(l->cb, &i);
}

dv_err vault_approvals(vault *v, const vault_ctx *ctx, int pending_only, vault_approval_fn fn,
                       void *cb, dv_errinfo *ei)
{
    list_ctx l = {.fn.approval = fn, .cb = cb};
    dv_err e = vault_gate(v, ctx, ACCESS_APPROVE, NULL, ei);

    return e ? e : index_approval_list(v->db, pending_only ? "pending" : NULL, appr_one, &l, ei);
}

dv_err vault_approval_decide(vault *v, const vault_ctx *ctx, int64_t id, int approve,
                             dv_errinfo *ei)
{
    access_session_info si = {0};
    const access_env *env = NULL;
    index_approval a;
    vault_gate_obj o;
    dv_err e = index_approval_get(v->db, id, &a, ei);

    if (e == DV_ENOTFOUND)
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "no such request");
    if (e)
        return e;
    memset(&o, 0, sizeof(o));
    o.owner = a.requester;
    e = vault_gate_as(v, ctx, ACCESS_APPROVE, &o, &si, ei);
    if (!e)
        e = env_of(v, &env, ei);
    if (!e)
        e = vault_audit_event(v, ctx, "approval", approve ? "approved" : "denied", ei);
    return e ? e : access_approval_decide(env, si.user, id, approve, vault_access_now(), ei);
}

static dv_err alert_one(void *cb, const index_alert *a)
{
    const list_ctx *l = cb;
    vault_alert_info i = {.id = a->id,
                          .time = a->time,
                          .acked = a->acked,
                          .user = a->user,
                          .rule = a->rule,
                          .detail = a->detail,
                          .acked_by = a->acked_by,
                          .severity = a->severity};

    return l->fn.alert(l->cb, &i);
}

dv_err vault_alerts(vault *v, const vault_ctx *ctx, int open_only, vault_alert_fn fn, void *cb,
                    dv_errinfo *ei)
{
    list_ctx l = {.fn.alert = fn, .cb = cb};
    dv_err e = vault_gate(v, ctx, ACCESS_ALERTS, NULL, ei);

    return e ? e : index_alert_list(v->db, open_only, alert_one, &l, ei);
}

dv_err vault_alert_ack(vault *v, const vault_ctx *ctx, int64_t id, dv_errinfo *ei)
{
    access_session_info si = {0};
    dv_err e = vault_gate_as(v, ctx, ACCESS_ALERTS, NULL, &si, ei);

    return e ? e : index_alert_ack(v->db, id, si.user, vault_access_now(), ei);
}

dv_err vault_lift(vault *v, const vault_ctx *ctx, const char *user, int *lifted, dv_errinfo *ei)
{
    access_session_info si = {0};
    const access_env *env = NULL;
    vault_gate_obj o;
    dv_err e;

    *lifted = 0;
    memset(&o, 0, sizeof(o));
    o.owner = user;
    e = vault_gate_as(v, ctx, ACCESS_LIFT, &o, &si, ei);
    if (!e)
        e = env_of(v, &env, ei);
    return e ? e : access_lift(env, si.user, si.roles, user, lifted, ei);
}
