/* SPDX-License-Identifier: Apache-2.0 */
/* audit.c - the vault's side of the tamper-evident log: every vault_* operation is appended
 * (durably, through audit_append) before its effect, and a failed append fails the operation.
 *
 * The log lives in DIR/audit, signed with the vault's audit signing key (from keys.sealed);
 * its verifier key is written to DIR/audit.vkey so that `dcmvault audit verify` needs nothing
 * but the folder and that public file.  Objects are named by keyed pseudonyms of their blind
 * indexes (vault_audit_study), never by a patient or study identifier.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "vault/vault_int.h"

#include "common/banned.h"

#define AUDIT_DIR_NAME  "audit"
#define AUDIT_VKEY_NAME "audit.vkey"

static const struct {
    const char *event;
    audit_action action;
} actions[] = {
    {"import", AUDIT_ACT_IMPORT},
    {"ingest", AUDIT_ACT_IMPORT},
    {"query", AUDIT_ACT_QUERY},
    {"export", AUDIT_ACT_EXPORT},
    {"view", AUDIT_ACT_VIEW},
    {"shred", AUDIT_ACT_SHRED},
    {"shred-request", AUDIT_ACT_SHRED},
    {"key-rotate", AUDIT_ACT_KEY_ROTATION},
    {"retention-list", AUDIT_ACT_RETENTION},
    {"retention-run", AUDIT_ACT_RETENTION},
    {"check", AUDIT_ACT_CONFIG},
    {"check-repair", AUDIT_ACT_CONFIG},
    {"certificates", AUDIT_ACT_AUDIT_READ},
    {"audit-read", AUDIT_ACT_AUDIT_READ},
    {"denied", AUDIT_ACT_DENIED},
    {"login", AUDIT_ACT_LOGIN},
    {"login-failed", AUDIT_ACT_LOGIN_FAILED},
    {"logout", AUDIT_ACT_LOGOUT},
    {"init", AUDIT_ACT_CONFIG},
};

static audit_action action_of(const char *event)
{
    size_t i;

    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (!strcmp(actions[i].event, event))
            return actions[i].action;
    return AUDIT_ACT_NONE;
}

static const char *or_dash(const char *s)
{
    return s && s[0] ? s : "-";
}

static dv_err append(vault *v, const vault_ctx *ctx, const char *event, audit_outcome out,
                     const audit_object *objs, size_t nobjs, const char *detail, dv_errinfo *ei)
{
    audit_event ev;
    uint64_t seq;
    dv_err e;

    memset(&ev, 0, sizeof(ev));
    ev.action = action_of(event);
    if (ev.action == AUDIT_ACT_NONE)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "unknown audit event '%s'", event);
    if (!v->alog)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "the audit log is not open");
    ev.outcome = out;
    ev.actor = or_dash(ctx ? ctx->user : NULL);
    ev.role = or_dash(ctx ? ctx->role : NULL);
    ev.purpose = or_dash(ctx ? ctx->purpose : NULL);
    ev.client = or_dash(ctx ? ctx->client : NULL);
    ev.session = or_dash(ctx ? ctx->session : NULL);
    ev.objects = objs;
    ev.nobjects = nobjs;
    ev.detail = detail;
    e = audit_append(v->alog, &ev, &seq, ei);
    if (e)
        return e; /* audit before effect: no log entry, no operation */
    v->last_audit_seq = seq;
    return DV_OK;
}

dv_err vault_audit_event(vault *v, const vault_ctx *ctx, const char *event, const char *object,
                         dv_errinfo *ei)
{
    audit_object obj;
    const char *detail = object;

    if (!event || !event[0])
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "audit event without a name");
    /* a 64-hex-digit object is a study pseudonym; anything else (an index id or an object
     * key, never PHI) goes in the detail field */
    if (object && strlen(object) == (size_t)2 * AUDIT_PSEUDONYM_BYTES &&
        !vault_unhex(object, obj.pseudonym, AUDIT_PSEUDONYM_BYTES)) {
        obj.type = AUDIT_OBJ_STUDY;
        return append(v, ctx, event, AUDIT_OUT_SUCCESS, &obj, 1, NULL, ei);
    }
    return append(v, ctx, event, AUDIT_OUT_SUCCESS, NULL, 0, detail, ei);
}

void vault_audit_pseudonym(const vault *v, const char *domain, const uint8_t *bi,
                           uint8_t out[AUDIT_PSEUDONYM_BYTES])
{
    crypto_blind(&v->pseud_key, domain, bi, INDEX_BI_BYTES, out);
}

dv_err vault_audit_study(vault *v, const vault_ctx *ctx, const char *event, const uint8_t *study_bi,
                         const uint8_t *patient_bi, dv_errinfo *ei)
{
    audit_object obj[2];
    size_t n = 0;

    if (patient_bi) {
        obj[n].type = AUDIT_OBJ_PATIENT;
        vault_audit_pseudonym(v, "audit-patient", patient_bi, obj[n++].pseudonym);
    }
    if (study_bi) {
        obj[n].type = AUDIT_OBJ_STUDY;
        vault_audit_pseudonym(v, "audit-study", study_bi, obj[n++].pseudonym);
    }
    return append(v, ctx, event, AUDIT_OUT_SUCCESS, obj, n, NULL, ei);
}

dv_err vault_enter(vault *v, const vault_ctx *ctx, const char *event, const char *object,
                   dv_errinfo *ei)
{
    if (!vault_ctx_valid(ctx)) {
        dv_err ae = append(v, ctx, "denied", AUDIT_OUT_MINOR, NULL, 0, event, NULL);

        (void)ae; /* the denial is reported either way */
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                       "%s: no valid request context (user, role, purpose, session, client)",
                       event);
    }
    return vault_audit_event(v, ctx, event, object, ei);
}

dv_err vault_audit_login(vault *v, const char *user, const char *client, const char *event, int ok,
                         dv_errinfo *ei)
{
    vault_ctx c = {user, "-", "-", "-", client ? client : "local"};
    dv_errinfo local;
    dv_err e;

    e = append(v, &c, event, ok ? AUDIT_OUT_SUCCESS : AUDIT_OUT_MINOR, NULL, 0, NULL, &local);
    if (e == DV_EINVAL) /* a user name the log will not take as a code (typed garbage) */
        e = append(v, NULL, event, ok ? AUDIT_OUT_SUCCESS : AUDIT_OUT_MINOR, NULL, 0, NULL, &local);
    if (e && ei)
        *ei = local;
    return e;
}

/* Writes DIR/audit.vkey (the public verifier key) when it is absent. */
static dv_err write_vkey(vault *v, const char *origin, dv_errinfo *ei)
{
    char path[VAULT_PATH_MAX], line[512];
    audit_vkey vk;
    size_t n;
    dv_err e;

    if (vault_path(path, sizeof(path), v->dir, AUDIT_VKEY_NAME))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "vault path too long");
    if (access(path, F_OK) == 0)
        return DV_OK;
    e = audit_vkey_make(origin, v->sign_pk, &vk, ei);
    if (!e)
        e = audit_vkey_format(&vk, line, sizeof(line) - 1);
    if (e)
        return e;
    n = strlen(line);
    line[n++] = '\n';
    return vault_write_atomic(path, (const uint8_t *)line, n, 0600,
                              ei); /* public, but private by default */
}

dv_err vault_audit_open(vault *v, dv_errinfo *ei)
{
    char dir[VAULT_PATH_MAX], origin[64], hex[17];
    audit_log_cfg cfg;
    audit_open_info info;
    dv_err e;

    if (vault_path(dir, sizeof(dir), v->dir, AUDIT_DIR_NAME))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "vault path too long");
    vault_hex(v->sign_pk, 8, hex);
    (void)snprintf(origin, sizeof(origin), "dcmvault/%s", hex);
    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = dir;
    cfg.origin = origin;
    cfg.sign_seed = v->sign_seed;
    e = audit_log_open(&cfg, &v->alog, &info, ei);
    if (!e)
        e = write_vkey(v, origin, ei);
    return e;
}

void vault_audit_close(vault *v)
{
    if (v->alog) {
        dv_err e = audit_log_close(v->alog, NULL);

        (void)e; /* the last checkpoint is best effort: entries are already durable */
        v->alog = NULL;
    }
}
