/* SPDX-License-Identifier: Apache-2.0 */
/* shred.c - crypto-shredding a study and its destruction certificate.
 *
 * One index transaction deletes the study's rows, with its wrapped data key (SQLite
 * secure_delete overwrites the freed bytes with zeros), and stores the certificate; after the
 * commit a WAL checkpoint truncates the -wal so no old page image keeps the key, then the
 * objects are deleted.  From the commit on nothing can decrypt the objects: a crash before
 * their deletion leaves unreadable orphans that `check --repair` removes.
 *
 * The certificate is JSON without PHI: the study's keyed pseudonym (HMAC-SHA-256 of the
 * StudyInstanceUID under the pseudonym key), counts, bytes, UTC time, actor and the operator's
 * reason, signed with Ed25519 (the audit signing key).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access/access.h"
#include "dicom/charset.h"
#include "vault/vault_int.h"

#include "common/banned.h"

#define REASON_MAX 1000

typedef struct shred_scan {
    uint64_t instances, bytes;
    int64_t series[4096];
    size_t nseries;
    uint64_t series_more; /* distinct series past the table: counted approximately */
    char **keys;
    size_t nkeys, cap;
} shred_scan;

static dv_err scan_row(void *cb, const index_row *row)
{
    shred_scan *s = cb;
    size_t i;

    s->instances++;
    s->bytes += row->size;
    for (i = 0; i < s->nseries; i++)
        if (s->series[i] == row->series_id)
            return DV_OK;
    if (s->nseries < sizeof(s->series) / sizeof(s->series[0]))
        s->series[s->nseries++] = row->series_id;
    else
        s->series_more++;
    return DV_OK;
}

static dv_err keep_key(void *cb, const char *key)
{
    shred_scan *s = cb;

    if (s->nkeys == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **n = realloc(s->keys, cap * sizeof(*n));

        if (!n)
            return DV_ENOMEM;
        s->keys = n;
        s->cap = cap;
    }
    s->keys[s->nkeys] = strdup(key);
    if (!s->keys[s->nkeys])
        return DV_ENOMEM;
    s->nkeys++;
    return DV_OK;
}

static void scan_free(shred_scan *s)
{
    size_t i;

    for (i = 0; i < s->nkeys; i++)
        free(s->keys[i]);
    free(s->keys);
}

/* JSON string body of printable text (the reason and the actor). */
static dv_err json_str(dv_buf *out, const char *s)
{
    dv_err e = dv_buf_addc(out, '"');

    for (; !e && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            e = dv_buf_printf(out, "\\%c", c);
        else if (c < 0x20)
            e = dv_buf_printf(out, "\\u%04x", c);
        else
            e = dv_buf_addc(out, c);
    }
    if (!e)
        e = dv_buf_addc(out, '"');
    return e;
}

static dv_err cert_body(const vault_ctx *ctx, const shred_scan *s, const char *pseud,
                        const char *reason, dv_buf *out)
{
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    dv_err e;

    if (!gmtime_r(&now, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return DV_EINVAL;
    e = dv_buf_printf(out,
                      "{\"type\":\"dcmvault-destruction-certificate\",\"version\":1,"
                      "\"study_pseudonym\":\"%s\",\"series\":%llu,\"instances\":%llu,"
                      "\"bytes\":%llu,\"time\":\"%s\",\"method\":\"crypto-shred: wrapped data "
                      "key, index rows and objects deleted\",\"actor\":",
                      pseud, (unsigned long long)s->nseries + (unsigned long long)s->series_more,
                      (unsigned long long)s->instances, (unsigned long long)s->bytes, when);
    if (!e)
        e = json_str(out, ctx->user);
    if (!e)
        e = dv_buf_adds(out, ",\"role\":");
    if (!e)
        e = json_str(out, ctx->role);
    if (!e)
        e = dv_buf_adds(out, ",\"reason\":");
    if (!e)
        e = json_str(out, reason);
    if (!e)
        e = dv_buf_adds(out, "}");
    return e;
}

static dv_err shred_commit(vault *v, const index_row *row, shred_scan *s, const uint8_t *pseud,
                           const dv_buf *body, vault_shred_result *res, dv_errinfo *ei)
{
    uint8_t sig[crypto_sign_BYTES];
    dv_err e;

    if (crypto_sign_detached(sig, NULL, body->p, body->len, v->sign_sk) != 0)
        return dv_fail(ei, DV_ECRYPTO, DV_NO_OFFSET, DV_NO_TAG, "signing the certificate failed");
    e = index_begin(v->db, ei);
    if (e)
        return e;
    e = index_study_delete(v->db, row->study_id, keep_key, s, NULL, ei);
    if (!e)
        e = index_cert_insert(v->db, pseud, INDEX_BI_BYTES, (const char *)body->p, sig, sizeof(sig),
                              0, &res->cert_id, ei);
    if (!e)
        e = index_commit(v->db, ei);
    else
        vault_rollback(v);
    return e;
}

dv_err vault_shred_row(vault *v, const vault_ctx *ctx, const index_row *row, const char *uid,
                       const char *reason, vault_shred_result *res, dv_errinfo *ei)
{
    uint8_t pseud[INDEX_BI_BYTES];
    vault_actor_buf actor;
    shred_scan s;
    dv_buf body;
    size_t i;
    dv_err e;

    memset(res, 0, sizeof(*res));
    memset(&s, 0, sizeof(s));
    crypto_blind(&v->pseud_key, "study-pseudonym", (const uint8_t *)uid, strlen(uid), pseud);
    vault_hex(pseud, sizeof(pseud), res->pseudonym);
    /* the log names the study as every other event does (pseudonym of its blind index), so a
     * privacy officer can follow one study from import to destruction */
    e = vault_audit_study(v, ctx, "shred", row->study_bi, row->patient_bi, ei);
    if (!e)
        e = index_instance_list(v->db, row->study_id, 0, scan_row, &s, ei);
    dv_buf_init(&body, INDEX_CERT_BODY_MAX);
    if (!e && cert_body(vault_actor(v, ctx, &actor), &s, res->pseudonym, reason, &body))
        e = dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "certificate too large");
    if (!e)
        e = shred_commit(v, row, &s, pseud, &body, res, ei);
    if (!e) {
        int complete = 0;

        if (index_checkpoint(v->db, &complete, NULL) != DV_OK || !complete)
            complete = 0; /* readers held it back: the next checkpoint finishes it */
        for (i = 0; i < s.nkeys; i++)
            vault_drop_object(v, s.keys[i]);
        res->series = s.nseries + s.series_more;
        res->instances = s.instances;
        res->bytes = s.bytes;
    }
    dv_buf_release(&body);
    scan_free(&s);
    return e;
}

static dv_err reason_ok(const char *reason, dv_errinfo *ei)
{
    size_t i, n = strlen(reason);

    if (!n || n > REASON_MAX)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "--reason must be 1..%d bytes",
                       REASON_MAX);
    for (i = 0; i < n; i++)
        if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7F)
            return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                           "--reason holds a control character");
    if (dcm_utf8_valid_prefix((const uint8_t *)reason, n) != n)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "--reason is not UTF-8");
    return DV_OK;
}

dv_err vault_shred_study(vault *v, const vault_ctx *ctx, const char *study_uid, const char *reason,
                         vault_shred_result *res, dv_errinfo *ei)
{
    uint8_t bi[INDEX_BI_BYTES];
    index_row row;
    dv_err e;

    memset(res, 0, sizeof(*res));
    e = vault_door(v, ctx, ACCESS_SHRED, NULL, "shred-request", NULL, ei);
    if (!e)
        e = reason_ok(reason, ei);
    if (e)
        return e;
    vault_blind(v, "study-uid", study_uid, bi);
    e = index_study_get(v->db, bi, &row, ei);
    if (e == DV_ENOTFOUND)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "no such study in the vault");
    if (e)
        return e;
    return vault_shred_row(v, ctx, &row, study_uid, reason, res, ei);
}

/* ---- certificates --------------------------------------------------------------------------- */

typedef struct cert_walk {
    const vault *v;
    vault_cert_fn fn;
    void *cb;
    uint64_t n, bad;
} cert_walk;

static dv_err on_cert(void *cb, const index_cert *c)
{
    cert_walk *w = cb;
    int ok = c->signature.len == crypto_sign_BYTES &&
             crypto_sign_verify_detached(c->signature.p, (const uint8_t *)c->body, c->body_len,
                                         w->v->sign_pk) == 0;

    w->n++;
    if (!ok)
        w->bad++;
    return w->fn ? w->fn(w->cb, c->id, c->body, ok) : DV_OK;
}

dv_err vault_certificates(vault *v, const vault_ctx *ctx, vault_cert_fn fn, void *cb, uint64_t *n,
                          uint64_t *bad, dv_errinfo *ei)
{
    cert_walk w = {v, fn, cb, 0, 0};
    dv_err e;

    e = vault_door(v, ctx, ACCESS_CERTS, NULL, "certificates", NULL, ei);
    if (!e)
        e = index_cert_list(v->db, NULL, 0, on_cert, &w, ei);
    if (n)
        *n = w.n;
    if (bad)
        *bad = w.bad;
    return e;
}
