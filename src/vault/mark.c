/* SPDX-License-Identifier: Apache-2.0 */
/* mark.c - the forensic watermark on every image that leaves the vault rendered (view, print,
 * share), and trace: from a leaked picture back to its audit entry.
 *
 * The mark's payload is the sequence number of the audit entry of the access that released
 * the image (the study's "view", "print" or "share" entry); before the first marked image of
 * an operation leaves, a "watermark" entry says which entry the marks carry.  The mark key is
 * derived from the vault's pseudonym key ("watermark"): only the vault can embed, read or
 * forge it.  Masters are never marked; only the rendered copy is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access/access.h"
#include "audit/audit.h"
#include "mark/mark.h"
#include "vault/gate.h"
#include "vault/vault_int.h"

#include "common/banned.h"

#define OVERLAY_ALPHA 0.18

dv_err vault_mark_key(const vault *v, crypto_key *out)
{
    return crypto_key_derive(&v->pseud_key, "watermark", out);
}

/* The visible overlay: who, when, which entry (no patient data). */
static dv_err overlay(vault *v, const vault_ctx *ctx, uint64_t payload, render_image *im,
                      dv_errinfo *ei)
{
    vault_actor_buf b;
    const vault_ctx *who = vault_actor(v, ctx, &b);
    char when[32], text[160];
    time_t now = time(NULL);
    struct tm tm;

    if (!gmtime_r(&now, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%MZ", &tm))
        when[0] = '\0';
    (void)snprintf(text, sizeof(text), "dcmvault  %s  %s  event %llu", who->user, when,
                   (unsigned long long)payload);
    return mark_overlay(im, text, OVERLAY_ALPHA, NULL, ei);
}

dv_err vault_mark_render(vault *v, const vault_ctx *ctx, vault_mark_state *ms, render_image *im,
                         dv_errinfo *ei)
{
    char detail[96];
    crypto_key key;
    dv_err e = DV_OK;

    if (!ms->started) { /* the access's own entry; the marks' record before the first leaves */
        ms->payload = v->last_audit_seq;
        (void)snprintf(detail, sizeof(detail), "mark of entry %llu in the rendered images%s",
                       (unsigned long long)ms->payload, ms->overlay ? ", visible overlay" : "");
        e = vault_audit_detail(v, ctx, "watermark", detail, ei);
        if (e)
            return e;
        ms->started = 1;
    }
    if (ms->overlay)
        e = overlay(v, ctx, ms->payload, im, ei);
    if (!e)
        e = vault_mark_key(v, &key);
    if (!e) {
        e = mark_embed_gray8(&key, ms->payload, im, NULL, ei);
        crypto_key_wipe(&key);
    }
    return e;
}

/* ---- trace ------------------------------------------------------------------------------- */

/* The entry the mark names, and its inclusion proof against a checkpoint written now. */
static dv_err trace_entry(vault *v, uint64_t seq, vault_trace_res *res, dv_errinfo *ei)
{
    char dir[VAULT_PATH_MAX];
    audit_reader *r = NULL;
    audit_checkpoint cp;
    audit_record rec;
    audit_proof *pf = calloc(1, sizeof(*pf));
    dv_buf line;
    dv_err e;

    if (!pf)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    memset(&cp, 0, sizeof(cp));
    dv_buf_init(&line, sizeof(res->entry));
    e = audit_log_checkpoint(v->alog, ei); /* the proof must cover the newest entries */
    if (!e && vault_path(dir, sizeof(dir), v->dir, "audit"))
        e = dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "vault path too long");
    if (!e)
        e = audit_reader_open(dir, &r, ei);
    if (!e && seq >= audit_reader_size(r))
        e = dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG,
                    "the mark names entry %llu, which this vault's log does not have",
                    (unsigned long long)seq);
    if (!e)
        e = audit_reader_get(r, seq, &rec, ei);
    if (!e)
        e = audit_format_text(&rec, NULL, NULL, &line);
    if (!e)
        e = audit_reader_checkpoint(r, &res->checkpoint, ei);
    if (!e)
        e = audit_note_open(res->checkpoint.p, res->checkpoint.len, NULL, &cp, ei);
    if (!e)
        e = audit_inclusion_proof(r, seq, cp.size, pf, ei);
    if (!e)
        e = audit_proof_format(pf, &res->proof);
    if (!e) {
        (void)snprintf(res->entry, sizeof(res->entry), "%.*s", (int)line.len, (char *)line.p);
        res->in_log = 1;
    }
    audit_reader_close(r);
    dv_buf_release(&line);
    free(pf);
    return e;
}

dv_err vault_trace(vault *v, const vault_ctx *ctx, const render_image *im, vault_trace_res *res,
                   dv_errinfo *ei)
{
    char detail[96];
    crypto_key key;
    dv_err e = vault_gate(v, ctx, ACCESS_AUDIT, NULL, ei); /* the privacy officer's */

    res->in_log = 0;
    res->entry[0] = '\0';
    if (!e)
        e = vault_mark_key(v, &key);
    if (e)
        return e;
    e = mark_detect_image(&key, im, &res->mark, ei);
    crypto_key_wipe(&key);
    if (e)
        return e;
    if (res->mark.found)
        (void)snprintf(detail, sizeof(detail), "trace: mark of entry %llu found (p %.1e)",
                       (unsigned long long)res->mark.payload, res->mark.fp_probability);
    else
        (void)snprintf(detail, sizeof(detail), "trace: no mark found");
    e = vault_audit_detail(v, ctx, "audit-read", detail, ei); /* trace is on the record first */
    if (!e && res->mark.found)
        e = trace_entry(v, res->mark.payload, res, ei);
    return e;
}
