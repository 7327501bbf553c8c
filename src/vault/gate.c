/* SPDX-License-Identifier: Apache-2.0 */
/* gate.c - the vault's access gate: from a request context to access_decide() and back.
 *
 * Every vault_* entry calls vault_gate() first.  The gate trusts nothing in the context but
 * the session token (ctx->session): it opens the session (access_session_open), takes the
 * purpose of use from ctx->purpose ("default": the session's), looks up the care
 * relationship with the study (grants and break-glass openings valid now), the export usage and
 * quota and any approved request, decides, records the decision in the access log (which runs
 * the anomaly rules), and turns "needs approval" into a pending request.
 *
 * Invariants of struct vault_access: pol is loaded from DIR/access.conf (defaults when absent)
 * once per vault handle; env points at pol, sealer and the vault's index; the sealer seals
 * TOTP secrets with the vault's field key, bound to "totp" and the user name.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access/access.h"
#include "vault/gate.h"
#include "vault/vault_int.h"

#include "common/banned.h"

#define ACCESS_CONF_NAME "access.conf"

/* ---- the TOTP sealer ------------------------------------------------------------------------ */

static dv_err totp_ad(const char *user, uint8_t *ad, size_t cap, size_t *len)
{
    int n = snprintf((char *)ad, cap, "totp:%s", user);

    if (n < 0 || (size_t)n >= cap)
        return DV_ELIMIT;
    *len = (size_t)n;
    return DV_OK;
}

static dv_err seal_cb(void *ctx, const char *user, const uint8_t *pt, size_t len, uint8_t *out,
                      size_t cap, size_t *outlen)
{
    vault *v = ctx;
    uint8_t ad[96];
    size_t adlen = 0;
    dv_buf b;
    dv_err e = totp_ad(user, ad, sizeof(ad), &adlen);

    if (e)
        return e;
    dv_buf_init(&b, 4096);
    e = crypto_field_seal(&v->seal_key, pt, len, ad, adlen, &b);
    if (!e && b.len > cap)
        e = DV_ELIMIT;
    if (!e) {
        memcpy(out, b.p, b.len);
        *outlen = b.len;
    }
    dv_buf_release(&b);
    return e;
}

static dv_err open_cb(void *ctx, const char *user, const uint8_t *ct, size_t len, uint8_t *out,
                      size_t cap, size_t *outlen)
{
    vault *v = ctx;
    uint8_t ad[96];
    size_t adlen = 0;
    dv_buf b;
    dv_err e = totp_ad(user, ad, sizeof(ad), &adlen);

    if (e)
        return e;
    dv_buf_init(&b, 4096);
    e = crypto_field_open(&v->seal_key, ct, len, ad, adlen, &b, NULL);
    if (!e && b.len > cap)
        e = DV_ELIMIT;
    if (!e) {
        memcpy(out, b.p, b.len);
        *outlen = b.len;
    }
    if (b.p)
        sodium_memzero(b.p, b.len);
    dv_buf_release(&b);
    return e;
}

/* ---- the state ------------------------------------------------------------------------------ */

void vault_access_free(struct vault_access *acc)
{
    free(acc);
}

dv_err vault_access_env(vault *v, const access_env **env, dv_errinfo *ei)
{
    char path[VAULT_PATH_MAX];
    struct vault_access *a;
    dv_err e;

    if (v->acc) {
        *env = &v->acc->env;
        return DV_OK;
    }
    a = calloc(1, sizeof(*a));
    if (!a)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    e = vault_path(path, sizeof(path), v->dir, ACCESS_CONF_NAME);
    if (!e)
        e = access_policy_load(path, &a->pol, ei);
    if (e) {
        free(a);
        return e;
    }
    a->sealer.ctx = v;
    a->sealer.seal = seal_cb;
    a->sealer.open = open_cb;
    a->env.db = v->db;
    a->env.pol = &a->pol;
    a->env.sealer = &a->sealer;
    v->acc = a;
    *env = &a->env;
    return DV_OK;
}

int64_t vault_access_now(void)
{
    return (int64_t)time(NULL);
}

/* ---- sessions ------------------------------------------------------------------------------- */

dv_err vault_session(vault *v, const vault_ctx *ctx, access_session_info *si, access_subject *who,
                     dv_errinfo *ei)
{
    const access_env *env = NULL;
    access_purpose p = ACCESS_PURPOSE_COUNT;
    dv_err e;

    if (!vault_ctx_valid(ctx))
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                       "no valid request context (user, role, purpose, session, client)");
    e = vault_access_env(v, &env, ei);
    if (!e && env)
        e = access_session_open(env, ctx->session, vault_access_now(), si, ei);
    if (!e && !env)
        e = DV_EINVAL;
    if (e)
        return e;
    if (strcmp(ctx->purpose, "default") != 0 && access_purpose_from_name(ctx->purpose, &p) != 0)
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                       "unknown purpose of use (HL7 v3 ActReason code, e.g. TREAT)");
    v->session_ctx = ctx; /* the request's entries record the purpose decided on */
    (void)snprintf(v->session_purpose, sizeof(v->session_purpose), "%s",
                   access_purpose_name(p == ACCESS_PURPOSE_COUNT ? si->purpose : p));
    if (who)
        access_subject_of(si, p, who);
    return DV_OK;
}

/* ---- the gate ------------------------------------------------------------------------------- */

/* The facts of an export: usage, quota, whether the patient is new today. */
static dv_err export_facts(const access_env *env, const access_subject *who,
                           const vault_gate_obj *o, access_object *obj, dv_errinfo *ei)
{
    int seen = 0;
    dv_err e =
        access_usage_get(env, who->user, o->patient_bi, vault_access_now(), &obj->usage, &seen, ei);

    if (e)
        return e;
    access_policy_quota(env->pol, who->user, who->roles, &obj->quota);
    obj->studies = o->studies ? o->studies : 1;
    obj->patients = o->patients ? o->patients : (seen ? 0 : 1);
    obj->bytes = o->bytes;
    return DV_OK;
}

static dv_err relationship(const access_env *env, const access_session_info *si,
                           const vault_gate_obj *o, access_rel *rel, dv_errinfo *ei)
{
    access_relset rs;
    dv_err e;

    *rel = ACCESS_REL_NONE;
    if (!o || (!o->study_bi && !o->patient_bi))
        return DV_OK;
    e = access_relset_load(env, si->user, si->team, vault_access_now(), &rs, ei);
    if (!e)
        *rel = access_relset_of(&rs, o->study_bi, o->patient_bi);
    access_relset_free(&rs);
    return e;
}

/* Decides, and for an export that needs approval uses an approved request if there is one. */
static dv_err decide(const access_env *env, const access_subject *who, access_action a,
                     const vault_gate_obj *o, access_object *obj, access_decision *d,
                     dv_errinfo *ei)
{
    int64_t used = 0;
    dv_err e;

    access_decide(env->pol, who, a, obj, d);
    if (a != ACCESS_EXPORT || d->result != ACCESS_NEEDS_APPROVAL || !o || !o->study_bi)
        return DV_OK;
    e = access_approval_consume(env, who->user, a, o->study_bi, vault_access_now(), &used, ei);
    if (e || !used)
        return e;
    obj->approved = 1;
    access_decide(env->pol, who, a, obj, d);
    return DV_OK;
}

static dv_err verdict(const access_env *env, const access_subject *who, access_action a,
                      const vault_gate_obj *o, const access_object *obj, const access_decision *d,
                      dv_errinfo *ei)
{
    int64_t id = 0;
    dv_err e;

    if (d->result == ACCESS_ALLOW)
        return DV_OK;
    if (d->result == ACCESS_DENY || !o || !o->study_bi)
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG, "%s", d->text);
    e = access_approval_request(env, who->user, a, o->study_bi, obj, d, vault_access_now(), &id,
                                ei);
    if (e)
        return e;
    return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                   "%s: pending request %lld (dcmvault approvals approve %lld, by another user)",
                   d->text, (long long)id, (long long)id);
}

/* The gate's reads and writes (inside the caller's transaction): session, relationship,
 * export facts, decision, access log. */
static dv_err gate_steps(vault *v, const vault_ctx *ctx, access_action a, const vault_gate_obj *o,
                         access_session_info *si, access_subject *who, access_object *obj,
                         access_decision *d, dv_errinfo *ei)
{
    const access_env *env = NULL;
    dv_err e = vault_session(v, ctx, si, who, ei);

    if (!e)
        e = vault_access_env(v, &env, ei);
    if (!e && !who->user)
        e = DV_EINVAL;
    if (e || !env)
        return e ? e : DV_EINVAL;
    e = relationship(env, si, o, &obj->rel, ei);
    if (e)
        return e;
    obj->owner = o ? o->owner : NULL;
    obj->deidentified = o ? o->deidentified : 0;
    if (a == ACCESS_EXPORT && o)
        e = export_facts(env, who, o, obj, ei);
    if (!e)
        e = decide(env, who, a, o, obj, d, ei);
    if (!e)
        e = access_record(env, who, a, d, o ? o->study_bi : NULL, o ? o->patient_bi : NULL,
                          d->result == ACCESS_ALLOW ? obj->bytes : 0, vault_access_now(), NULL, ei);
    return e;
}

/* A refused request goes in the audit log too ("denied", naming the action); the denial is
 * reported either way. */
static dv_err audit_denial(vault *v, const vault_ctx *ctx, access_action a, dv_err e)
{
    vault_actor_buf b;
    dv_errinfo local;
    dv_err ae = DV_OK;

    if (e == DV_EPERM && vault_ctx_valid(ctx))
        ae = vault_audit_event(v, vault_actor(v, ctx, &b), "denied", access_action_name(a), &local);
    (void)ae; /* the denial is reported either way */
    return e;
}

static dv_err gate_run(vault *v, const vault_ctx *ctx, int action, const vault_gate_obj *o,
                       access_session_info *si, dv_errinfo *ei)
{
    const access_env *env = NULL;
    access_subject who;
    access_object obj;
    access_decision d;
    access_action a = (access_action)action;
    dv_err e;

    memset(&obj, 0, sizeof(obj));
    memset(&who, 0, sizeof(who));
    memset(&d, 0, sizeof(d));
    e = index_begin(v->db, ei); /* one commit for the gate's writes */
    if (e)
        return e;
    e = gate_steps(v, ctx, a, o, si, &who, &obj, &d, ei);
    if (e) {
        vault_rollback(v);
        return e;
    }
    e = index_commit(v->db, ei);
    if (!e)
        e = vault_access_env(v, &env, ei);
    if (e || !env)
        return e ? e : DV_EINVAL;
    return verdict(env, &who, a, o, &obj, &d, ei);
}

dv_err vault_gate_as(vault *v, const vault_ctx *ctx, int action, const vault_gate_obj *o,
                     access_session_info *si, dv_errinfo *ei)
{
    return audit_denial(v, ctx, (access_action)action, gate_run(v, ctx, action, o, si, ei));
}

/* ---- filtering rows (find) ------------------------------------------------------------------ */

dv_err vault_view_filter_load(vault *v, const vault_ctx *ctx, vault_view_filter *f, dv_errinfo *ei)
{
    const access_env *env = NULL;
    dv_err e;

    memset(f, 0, sizeof(*f));
    e = vault_session(v, ctx, &f->si, &f->who, ei);
    if (!e)
        e = vault_access_env(v, &env, ei);
    if (!e && !env)
        e = DV_EINVAL;
    if (!e)
        e = access_relset_load(env, f->si.user, f->si.team, vault_access_now(), &f->rs, ei);
    if (e)
        return e;
    f->pol = env->pol;
    f->loaded = 1;
    return DV_OK;
}

int vault_view_allowed(const vault_view_filter *f, const uint8_t *study_bi,
                       const uint8_t *patient_bi)
{
    access_object obj;
    access_decision d;

    if (!f->loaded)
        return 0;
    memset(&obj, 0, sizeof(obj));
    memset(&d, 0, sizeof(d));
    obj.rel = access_relset_of(&f->rs, study_bi, patient_bi);
    access_decide(f->pol, &f->who, ACCESS_VIEW, &obj, &d);
    return d.result == ACCESS_ALLOW;
}

void vault_view_filter_free(vault_view_filter *f)
{
    if (f->loaded)
        access_relset_free(&f->rs);
    f->loaded = 0;
}

dv_err vault_gate(vault *v, const vault_ctx *ctx, int action, const vault_gate_obj *o,
                  dv_errinfo *ei)
{
    access_session_info si = {0};

    return vault_gate_as(v, ctx, action, o, &si, ei);
}

dv_err vault_door(vault *v, const vault_ctx *ctx, int action, const vault_gate_obj *o,
                  const char *event, const char *object, dv_errinfo *ei)
{
    dv_err e;

    if (!vault_ctx_valid(ctx)) /* vault_enter records the denial and refuses */
        return vault_enter(v, ctx, event, object, ei);
    e = vault_gate(v, ctx, action, o, ei);
    if (!e)
        e = vault_enter(v, ctx, event, object, ei);
    return e;
}

dv_err vault_door_import(vault *v, const vault_ctx *ctx, dv_errinfo *ei)
{
    access_session_info si;
    dv_err e;

    v->importer[0] = '\0';
    if (!vault_ctx_valid(ctx))
        return vault_enter(v, ctx, "import", NULL, ei);
    memset(&si, 0, sizeof(si));
    e = vault_gate_as(v, ctx, ACCESS_IMPORT, NULL, &si, ei);
    if (!e)
        e = vault_enter(v, ctx, "import", NULL, ei);
    if (!e)
        (void)snprintf(v->importer, sizeof(v->importer), "%s", si.user);
    return e;
}

#define IMPORT_GRANT_SECONDS ((int64_t)30 * 86400) /* the importer's grant on what it stored */

/* The referring physician's account, when the map names one that may hold a care grant. */
static const char *referring_account(vault *v, const access_env *env, const char *pn)
{
    const char *user = pn ? access_policy_referring(env->pol, pn) : NULL;
    index_account a;
    unsigned roles = 0;
    dv_errinfo local;

    if (!user || index_account_get(v->db, user, &a, &local) != DV_OK)
        return NULL;
    sodium_memzero(a.pwhash, sizeof(a.pwhash));
    if (a.disabled || access_roles_parse(a.roles, &roles) != 0 || !access_roles_phi(roles))
        return NULL;
    return user;
}

static dv_err rule_grant(const access_env *env, const char *grantee, const char *creator,
                         const uint8_t *study_bi, int64_t seconds, const char *reason,
                         dv_errinfo *ei)
{
    access_grant_req r;
    int64_t id = 0, now = vault_access_now();

    memset(&r, 0, sizeof(r));
    r.grantee = grantee;
    r.target_bi = study_bi;
    r.expires = now + seconds;
    r.source = "import-rule";
    r.reason = reason;
    r.created_by = creator;
    return access_grant_add(env, &r, now, &id, ei);
}

dv_err vault_import_grant(vault *v, const uint8_t *study_bi, const char *referring, dv_errinfo *ei)
{
    const access_env *env = NULL;
    const char *doc;
    dv_err e;

    if (!v->importer[0] ||
        (v->import_granted_set && !memcmp(v->import_granted, study_bi, INDEX_BI_BYTES)))
        return DV_OK;
    e = vault_access_env(v, &env, ei);
    if (e || !env)
        return e ? e : DV_EINVAL;
    e = rule_grant(env, v->importer, v->importer, study_bi, IMPORT_GRANT_SECONDS,
                   "importer of the study", ei);
    doc = e ? NULL : referring_account(v, env, referring);
    if (doc && strcmp(doc, v->importer) != 0)
        e = rule_grant(env, doc, v->importer, study_bi, env->pol->referring_seconds,
                       "referring physician named in the study", ei);
    if (!e) {
        memcpy(v->import_granted, study_bi, INDEX_BI_BYTES);
        v->import_granted_set = 1;
    }
    return e;
}

const vault_ctx *vault_actor(vault *v, const vault_ctx *ctx, vault_actor_buf *b)
{
    access_session_info si;
    access_purpose p;
    dv_errinfo local;

    memset(&si, 0, sizeof(si));
    if (vault_session(v, ctx, &si, NULL, &local) != DV_OK || !si.user[0])
        return ctx;
    b->ctx = *ctx;
    if (access_purpose_from_name(ctx->purpose, &p) != 0)
        p = si.purpose;
    (void)snprintf(b->purpose, sizeof(b->purpose), "%s", access_purpose_name(p));
    b->ctx.purpose = b->purpose;
    (void)snprintf(b->user, sizeof(b->user), "%s", si.user);
    access_roles_format(si.roles, b->roles, sizeof(b->roles));
    b->ctx.user = b->user;
    b->ctx.role = b->roles[0] ? b->roles : ctx->role;
    return &b->ctx;
}

int vault_overlay_forced(vault *v, const vault_ctx *ctx)
{
    const access_env *env = NULL;
    access_session_info si;
    dv_errinfo local;

    memset(&si, 0, sizeof(si));
    if (vault_access_env(v, &env, &local) != DV_OK || !env || !env->pol->overlay_roles)
        return 0;
    if (vault_session(v, ctx, &si, NULL, &local) != DV_OK)
        return 0;
    return (si.roles & env->pol->overlay_roles) != 0;
}
