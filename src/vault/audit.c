/* SPDX-License-Identifier: Apache-2.0 */
/* audit.c - the vault's side of the tamper-evident log: every vault_* operation is appended
 * (durably, through audit_append) before its effect, and a failed append fails the operation.
 *
 * The log lives in DIR/audit, signed with the vault's audit signing key (from keys.sealed);
 * its verifier key is written to DIR/audit.vkey so that `dcmvault audit verify` needs nothing
 * but the folder and that public file.  Objects are named by keyed pseudonyms of their blind
 * indexes (vault_audit_study), never by a patient or study identifier.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/access.h"
#include "audit/audit.h"
#include "vault/gate.h"
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
    {"grant", AUDIT_ACT_GRANT},
    {"revoke", AUDIT_ACT_REVOKE},
    {"breakglass-start", AUDIT_ACT_BREAKGLASS_START},
    {"breakglass-stop", AUDIT_ACT_BREAKGLASS_STOP},
    {"approval", AUDIT_ACT_APPROVAL},
    {"init", AUDIT_ACT_CONFIG},
    {"config", AUDIT_ACT_CONFIG},
    {"log-start", AUDIT_ACT_LOG_START},
    {"log-stop", AUDIT_ACT_LOG_STOP},
    {"lockout", AUDIT_ACT_LOCKOUT},
    {"print", AUDIT_ACT_PRINT},
    {"film-destroy", AUDIT_ACT_FILM_DESTROY},
    {"deidentify", AUDIT_ACT_DEIDENTIFY},
    {"share", AUDIT_ACT_SHARE},
    {"watermark", AUDIT_ACT_WATERMARK},
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

/* The purpose an entry records: the HL7 code of the request's purpose ("treatment" is TREAT),
 * or, for "default", the session's as the gate just decided it for this request. */
static const char *purpose_of(const vault *v, const vault_ctx *ctx)
{
    access_purpose p;

    if (!ctx || !ctx->purpose)
        return "-";
    if (access_purpose_from_name(ctx->purpose, &p) == 0)
        return access_purpose_name(p);
    if (ctx == v->session_ctx && v->session_purpose[0])
        return v->session_purpose;
    return or_dash(ctx->purpose);
}

static dv_err append_as(vault *v, const vault_ctx *ctx, audit_event *ev, const char *user,
                        const char *roles, const char *event, const audit_object *objs,
                        size_t nobjs, const char *detail, dv_errinfo *ei);

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
    if (ctx && ctx->user && !strcmp(ctx->user, "session")) {
        /* a CLI session context: the log names the account and roles behind the token */
        access_session_info si;
        char roles[160];

        memset(&si, 0, sizeof(si));
        if (vault_session(v, ctx, &si, NULL, NULL) == DV_OK) {
            access_roles_format(si.roles, roles, sizeof(roles));
            return append_as(v, ctx, &ev, si.user, roles, event, objs, nobjs, detail, ei);
        }
    }
    ev.purpose = purpose_of(v, ctx);
    ev.client = or_dash(ctx ? ctx->client : NULL);
    /* a CLI session's token is a secret: it never goes into the log */
    ev.session = ctx && ctx->user && !strcmp(ctx->user, "session")
                     ? "-"
                     : or_dash(ctx ? ctx->session : NULL);
    ev.objects = objs;
    ev.nobjects = nobjs;
    ev.detail = detail;
    e = audit_append(v->alog, &ev, &seq, ei);
    if (e)
        return e; /* audit before effect: no log entry, no operation */
    v->last_audit_seq = seq;
    return DV_OK;
}

/* The rest of append() once the actor is known. */
static dv_err append_as(vault *v, const vault_ctx *ctx, audit_event *ev, const char *user,
                        const char *roles, const char *event, const audit_object *objs,
                        size_t nobjs, const char *detail, dv_errinfo *ei)
{
    uint64_t seq;
    dv_err e;

    (void)event;
    ev->actor = or_dash(user);
    ev->role = or_dash(roles);
    ev->purpose = purpose_of(v, ctx);
    ev->client = or_dash(ctx->client);
    ev->session = "-"; /* never the token itself */
    ev->objects = objs;
    ev->nobjects = nobjs;
    ev->detail = detail;
    e = audit_append(v->alog, ev, &seq, ei);
    if (e)
        return e;
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

dv_err vault_audit_detail(vault *v, const vault_ctx *ctx, const char *event, const char *detail,
                          dv_errinfo *ei)
{
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
    return vault_audit_study_detail(v, ctx, event, study_bi, patient_bi, NULL, ei);
}

dv_err vault_audit_study_detail(vault *v, const vault_ctx *ctx, const char *event,
                                const uint8_t *study_bi, const uint8_t *patient_bi,
                                const char *detail, dv_errinfo *ei)
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
    return append(v, ctx, event, AUDIT_OUT_SUCCESS, obj, n, detail, ei);
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

/* ---- configuration changes ------------------------------------------------------------------ */

#define CONF_WATCH_MAX ((size_t)1 << 20) /* config files are small; larger is refused elsewhere */

/* SHA-256 of DIR/name as 64 hex digits, or "absent". */
static dv_err conf_digest(const vault *v, const char *name, char out[65], dv_errinfo *ei)
{
    char path[VAULT_PATH_MAX];
    uint8_t h[crypto_hash_sha256_BYTES];
    dv_buf b;
    dv_err e;

    if (vault_path(path, sizeof(path), v->dir, name))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "vault path too long");
    if (access(path, F_OK) != 0) {
        (void)snprintf(out, 65, "absent");
        return DV_OK;
    }
    dv_buf_init(&b, CONF_WATCH_MAX);
    e = vault_read_file(path, CONF_WATCH_MAX, &b, ei);
    if (!e)
        crypto_hash_sha256(h, b.p ? b.p : (const uint8_t *)"", b.len);
    dv_buf_release(&b);
    if (!e)
        vault_hex(h, sizeof(h), out);
    return e;
}

/* A configuration file that differs from the digest recorded at the last open (or at init) is
 * a configuration change (DCM 110131): recorded before the vault acts under it.  Who edited the
 * file is not known here; the entry's actor is "system" and the detail names the file and the
 * first 16 hex digits of both digests. */
static dv_err conf_watch_one(vault *v, const char *name, int record, dv_errinfo *ei)
{
    vault_ctx sys = {"system", "system", "HOPERAT", "-", "local"};
    char key[64], now[65], was[65] = "never seen", detail[160];
    dv_buf b;
    dv_err e;

    (void)snprintf(key, sizeof(key), "config.%s.sha256", name);
    e = conf_digest(v, name, now, ei);
    if (e)
        return e;
    dv_buf_init(&b, sizeof(was));
    e = index_meta_get(v->db, key, &b, ei);
    if (!e && b.len < sizeof(was)) {
        memcpy(was, b.p, b.len);
        was[b.len] = '\0';
    }
    dv_buf_release(&b);
    if (e && e != DV_ENOTFOUND)
        return e;
    e = DV_OK;
    dv_errinfo_clear(ei);
    if (!strcmp(was, now))
        return DV_OK;
    (void)snprintf(detail, sizeof(detail), "%s changed: %.16s (was %.16s)", name, now, was);
    if (record)
        e = append(v, &sys, "config", AUDIT_OUT_SUCCESS, NULL, 0, detail, ei);
    return e ? e : index_meta_set(v->db, key, (const uint8_t *)now, strlen(now), ei);
}

dv_err vault_config_watch(vault *v, int record, dv_errinfo *ei)
{
    dv_err e = conf_watch_one(v, VAULT_CONF_NAME, record, ei);

    return e ? e : conf_watch_one(v, "access.conf", record, ei);
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
    /* Forwarding to [audit] syslog is done by `dcmvault audit forward --vault DIR [--follow]`
     * (a separate process reading DIR/audit, the spool): vault operations never wait on the
     * network, and a collector outage costs nothing but delay. */
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

/* ---- reading the log: the privacy officer's view ------------------------------------------- */

#define RESOLVE_MAX 100000u /* patients resolved in one read (a bound, stated in docs/audit.md) */

typedef struct pseud_ent {
    uint8_t pseud[AUDIT_PSEUDONYM_BYTES];
    char label[96]; /* "PatientID (PatientName)" */
} pseud_ent;

struct vault_audit_names {
    pseud_ent *e;
    size_t n, cap;
};

typedef struct names_ctx {
    vault *v;
    vault_audit_names *m;
} names_ctx;

static dv_err add_patient(void *cb, const index_row *row)
{
    names_ctx *c = cb;
    vault_audit_names *m = c->m;
    vault_rec rec;
    pseud_ent *ne;

    if (m->n >= RESOLVE_MAX)
        return DV_ELIMIT;
    if (m->n == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;

        ne = realloc(m->e, ncap * sizeof(*ne));
        if (!ne)
            return DV_ENOMEM;
        m->e = ne;
        m->cap = ncap;
    }
    ne = &m->e[m->n];
    vault_audit_pseudonym(c->v, "audit-patient", row->patient_bi, ne->pseud);
    memset(&rec, 0, sizeof(rec));
    if (vault_open_rec(c->v, "patient", row->patient_bi, row->patient_seal.p, row->patient_seal.len,
                       &rec, NULL) == DV_OK)
        (void)snprintf(ne->label, sizeof(ne->label), "%s (%s)", vault_rec_get(&rec, 0x00100020u),
                       vault_rec_get(&rec, 0x00100010u));
    else
        (void)snprintf(ne->label, sizeof(ne->label), "(record does not open)");
    vault_rec_free(&rec);
    m->n++;
    return DV_OK;
}

dv_err vault_audit_read(vault *v, const vault_ctx *ctx, const char *patient_id, uint8_t pseud[32],
                        int *have_pseud, vault_audit_names **names, dv_errinfo *ei)
{
    names_ctx c = {v, NULL};
    index_query q;
    uint8_t bi[INDEX_BI_BYTES];
    dv_err e;

    *have_pseud = 0;
    *names = NULL;
    e = vault_gate(v, ctx, ACCESS_AUDIT, NULL, ei); /* the privacy officer's, nobody else's */
    if (!e) /* reading the log is itself on the record, before anything is shown */
        e = vault_audit_event(v, ctx, "audit-read", patient_id ? "filtered by patient" : NULL, ei);
    if (e)
        return e;
    if (patient_id) {
        vault_blind(v, "pid", patient_id, bi);
        vault_audit_pseudonym(v, "audit-patient", bi, pseud);
        *have_pseud = 1;
    }
    c.m = calloc(1, sizeof(*c.m));
    if (!c.m)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    memset(&q, 0, sizeof(q));
    q.level = INDEX_LEVEL_PATIENT;
    e = index_find(v->db, &q, add_patient, &c, NULL, ei);
    if (e == DV_ELIMIT)
        e = DV_OK; /* resolve what fits; the rest stays pseudonymous */
    if (e) {
        vault_audit_names_free(c.m);
        return e;
    }
    *names = c.m;
    return DV_OK;
}

const char *vault_audit_name(const vault_audit_names *m, const uint8_t pseud[32])
{
    size_t i;

    for (i = 0; m && i < m->n; i++)
        if (!memcmp(m->e[i].pseud, pseud, AUDIT_PSEUDONYM_BYTES))
            return m->e[i].label;
    return NULL;
}

void vault_audit_names_free(vault_audit_names *m)
{
    if (!m)
        return;
    if (m->e)
        sodium_memzero(m->e, m->cap * sizeof(*m->e));
    free(m->e);
    free(m);
}

dv_err vault_forward_target(const char *dir, vault_forward_cfg *out, dv_errinfo *ei)
{
    vault_config cfg;
    dv_err e;

    memset(out, 0, sizeof(*out));
    e = vault_config_load(dir, &cfg, ei);
    if (e)
        return e;
    if (!cfg.syslog_url[0])
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG,
                       "dcmvault.conf has no [audit] syslog = tls://HOST:PORT");
    (void)snprintf(out->url, sizeof(out->url), "%s", cfg.syslog_url);
    (void)snprintf(out->ca, sizeof(out->ca), "%s", cfg.syslog_ca);
    (void)snprintf(out->cert, sizeof(out->cert), "%s", cfg.syslog_cert);
    (void)snprintf(out->key, sizeof(out->key), "%s", cfg.syslog_key);
    if (snprintf(out->log, sizeof(out->log), "%s/" AUDIT_DIR_NAME, dir) >= (int)sizeof(out->log))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "vault path too long");
    return DV_OK;
}
