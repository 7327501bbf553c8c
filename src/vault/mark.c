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
#include <sodium.h>
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

/* The first mark of an operation: its payload is the access's own entry (the newest), and the
 * marks' record goes on the log before the first marked copy leaves. */
static dv_err mark_begin(vault *v, const vault_ctx *ctx, vault_mark_state *ms, const char *what,
                         dv_errinfo *ei)
{
    char detail[96];
    dv_err e;

    if (ms->started)
        return DV_OK;
    ms->payload = v->last_audit_seq;
    (void)snprintf(detail, sizeof(detail), "mark of entry %llu in the %s%s",
                   (unsigned long long)ms->payload, what, ms->overlay ? ", visible overlay" : "");
    e = vault_audit_detail(v, ctx, "watermark", detail, ei);
    if (!e)
        ms->started = 1;
    return e;
}

dv_err vault_mark_render(vault *v, const vault_ctx *ctx, vault_mark_state *ms, render_image *im,
                         dv_errinfo *ei)
{
    crypto_key key;
    dv_err e = mark_begin(v, ctx, ms, "rendered images", ei);

    if (e)
        return e;
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

/* ---- DICOM copies ---------------------------------------------------------------------- */

#define TAG_PHOTOMETRIC 0x00280004u
#define TAG_PLANAR      0x00280006u
#define TAG_EOT         0x7FE00001u
#define TAG_EOT_LENGTHS 0x7FE00002u
#define MARK_NATIVE_MAX ((size_t)0xFFFFFFF0u)

/* Decodes, marks and concatenates every frame of f (monochrome 8/16-bit in stored depth,
 * 8-bit RGB on its luminance) into px (malloc'd); *pi is the decoded geometry. */
static dv_err mark_frames(const crypto_key *key, uint64_t payload, const dcm_file *f, uint8_t **px,
                          size_t *pxlen, dcm_pixinfo *pi, dv_errinfo *ei)
{
    dcm_frame fr;
    mark_window w;
    render_image im;
    uint32_t i, frames = 1;
    size_t fsz = 0;
    dv_err e = DV_OK;

    *px = NULL;
    *pxlen = 0;
    for (i = 0; !e && i < frames; i++) {
        e = dcm_frame_decode(f, i, &fr, ei);
        if (e)
            break;
        if (i == 0) {
            *pi = fr.pi;
            frames = fr.pi.frames ? fr.pi.frames : 1;
            fsz = fr.len;
            if (!fsz || frames > MARK_NATIVE_MAX / fsz)
                e = dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                            "marked pixel data would not fit one element");
            *px = e ? NULL : malloc(fsz * frames);
            if (!e && !*px)
                e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
        }
        if (!e && fr.len != fsz)
            e = dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "frames differ in size");
        if (!e && fr.pi.samples == 1 && (fr.pi.bits_alloc == 8 || fr.pi.bits_alloc == 16)) {
            mark_window_of(&f->ds, &fr, &w);
            e = mark_embed_frame(key, payload, &fr, &w, NULL, ei);
        } else if (!e && fr.pi.samples == 3 && fr.pi.bits_alloc == 8) {
            if (!strncmp(fr.pi.photometric, "YBR_FULL", 8) && !strstr(fr.pi.photometric, "422"))
                dcm_ybr_to_rgb(&fr);
            im = (render_image){fr.pi.cols, fr.pi.rows, 3, fr.data};
            e = strcmp(fr.pi.photometric, "RGB") != 0
                    ? dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, TAG_PHOTOMETRIC,
                              "colour model the mark does not handle")
                    : mark_embed_gray8(key, payload, &im, NULL, ei);
            *pi = fr.pi;
        } else if (!e) {
            e = dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                        "pixel layout the mark does not handle");
        }
        if (!e && *px)
            memcpy(*px + (size_t)i * fsz, fr.data, fsz);
        dcm_frame_release(&fr);
    }
    *pxlen = fsz * frames;
    if (e) {
        free(*px);
        *px = NULL;
    }
    return e;
}

/* An image the mark cannot carry: DV_EUNSUPPORTED, keeping what went wrong (ENOMEM stays). */
static dv_err unmarkable(dv_err e, dv_errinfo *ei)
{
    char why[sizeof(ei->msg)];

    if (e == DV_ENOMEM)
        return e;
    (void)snprintf(why, sizeof(why), "%s", ei->msg);
    return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, ei->tag, "%.200s", why);
}

dv_err vault_mark_dicom(vault *v, const vault_ctx *ctx, vault_mark_state *ms, const uint8_t *p,
                        size_t len, dv_buf *out, int *marked, dv_errinfo *ei)
{
    dcm_file *f = NULL;
    dcm_pixinfo pi;
    crypto_key key;
    uint8_t *px = NULL;
    size_t pxlen = 0;
    const dcm_ts *ts;
    dv_err e;

    *marked = 0;
    e = dcm_parse(p, len, 0, NULL, &f, ei);
    if (e)
        return unmarkable(e, ei);
    e = dcm_pixinfo_get(&f->ds, &pi, ei);
    if (e == DV_ENOTFOUND) {
        dcm_file_free(f); /* not an image: it leaves as it is */
        dv_errinfo_clear(ei);
        return DV_OK;
    }
    if (e) {
        dcm_file_free(f);
        return unmarkable(e, ei);
    }
    if (!e)
        e = mark_begin(v, ctx, ms, "exported files", ei);
    if (!e)
        e = vault_mark_key(v, &key);
    if (!e) {
        e = mark_frames(&key, ms->payload, f, &px, &pxlen, &pi, ei);
        crypto_key_wipe(&key);
        if (e) /* a layout or stream the mark cannot carry */
            e = unmarkable(e, ei);
    }
    if (!e)
        e = dcm_ds_set(f, &f->ds, DCM_TAG_PIXEL_DATA, pi.bits_alloc > 8 ? DCM_VR_OW : DCM_VR_OB, px,
                       (uint32_t)pxlen);
    free(px);
    if (!e && pi.samples > 1)
        e = dcm_ds_set(f, &f->ds, TAG_PLANAR, DCM_VR_US, "\0\0", 2);
    if (!e)
        e = dcm_ds_set_str(f, &f->ds, TAG_PHOTOMETRIC, DCM_VR_CS, pi.photometric);
    if (!e) { /* compressed input leaves as native pixels, explicit VR little endian */
        ts = f->ts && !f->ts->encapsulated ? f->ts : &dcm_ts_explicit_le;
        dcm_ds_remove(&f->ds, TAG_EOT);
        dcm_ds_remove(&f->ds, TAG_EOT_LENGTHS);
        e = dcm_write_part10(f, ts, out, ei);
    }
    dcm_file_free(f);
    *marked = !e;
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

#define TRACE_MAX_CANDIDATES 1000000u

/* The informed mode's candidates: the entries of the study's accesses that leave a copy (view,
 * export, print, share) -- the payloads its marks can carry. */
static dv_err study_events(vault *v, const uint8_t *bi, uint64_t **out, size_t *n, dv_errinfo *ei)
{
    uint8_t ps[AUDIT_PSEUDONYM_BYTES];
    char dir[VAULT_PATH_MAX];
    audit_reader *r = NULL;
    audit_record rec;
    uint64_t seq, size, *c = NULL, *nc;
    size_t cap = 0, k;
    dv_err e;

    *out = NULL;
    *n = 0;
    vault_audit_pseudonym(v, "audit-study", bi, ps);
    e = vault_path(dir, sizeof(dir), v->dir, "audit")
            ? dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "vault path too long")
            : audit_reader_open(dir, &r, ei);
    size = e ? 0 : audit_reader_size(r);
    for (seq = 0; !e && seq < size && *n < TRACE_MAX_CANDIDATES; seq++) {
        e = audit_reader_get(r, seq, &rec, ei);
        if (e || (rec.action != AUDIT_ACT_VIEW && rec.action != AUDIT_ACT_EXPORT &&
                  rec.action != AUDIT_ACT_PRINT && rec.action != AUDIT_ACT_SHARE))
            continue;
        for (k = 0; k < rec.nobjects; k++)
            if (rec.objects[k].type == AUDIT_OBJ_STUDY &&
                !memcmp(rec.objects[k].pseudonym, ps, sizeof(ps)))
                break;
        if (k == rec.nobjects)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            nc = realloc(c, cap * sizeof(*c));
            if (!nc) {
                e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
                break;
            }
            c = nc;
        }
        c[(*n)++] = seq;
    }
    audit_reader_close(r);
    if (e) {
        free(c);
        *n = 0;
        return e;
    }
    *out = c;
    return DV_OK;
}

/* ---- the perceptual search: which stored image does the leak show? ---- */

#define PHASH_MATCH  12       /* bits of 64: copies of one image differ by fewer */
#define PHASH_MAX_IN 1000000u /* instances looked at, at most */

typedef struct ph_ref {
    int64_t study_id, instance_id;
    char key[INDEX_KEY_LEN + 1];
    uint8_t study_bi[INDEX_BI_BYTES];
    uint8_t dek[INDEX_DEK_MAX];
    size_t dek_len;
} ph_ref;

typedef struct ph_list {
    ph_ref *r;
    size_t n, cap;
} ph_list;

static dv_err keep_ref(void *cb, const index_row *row)
{
    ph_list *l = cb;
    ph_ref *r;

    if (l->n >= PHASH_MAX_IN)
        return DV_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        ph_ref *nr = realloc(l->r, cap * sizeof(*nr));

        if (!nr)
            return DV_ENOMEM;
        l->r = nr;
        l->cap = cap;
    }
    r = &l->r[l->n++];
    r->study_id = row->study_id;
    r->instance_id = row->instance_id;
    memcpy(r->key, row->object_key, sizeof(r->key));
    memcpy(r->study_bi, row->study_bi, INDEX_BI_BYTES);
    memcpy(r->dek, row->dek_wrapped, row->dek_len);
    r->dek_len = row->dek_len;
    return DV_OK;
}

/* The perceptual hash of one stored instance's first frame (default rendering); -1 when it
 * is not an image. */
static int stored_phash(vault *v, const ph_ref *r, uint64_t *h)
{
    index_row row;
    crypto_key dek;
    render_image im = {0};
    dcm_file *f = NULL;
    dv_buf pt;
    int rc = -1;

    memset(&row, 0, sizeof(row));
    row.study_id = r->study_id;
    memcpy(row.study_bi, r->study_bi, INDEX_BI_BYTES);
    memcpy(row.dek_wrapped, r->dek, r->dek_len);
    row.dek_len = r->dek_len;
    dv_buf_init(&pt, VAULT_IMPORT_MAX);
    if (vault_study_dek(v, &row, &dek, NULL) == DV_OK) {
        if (vault_object_open(v, &dek, r->instance_id, r->key, &pt, NULL) == DV_OK &&
            dcm_parse(pt.p, pt.len, 0, NULL, &f, NULL) == DV_OK &&
            render_frame(f, 0, NULL, &im, NULL) == DV_OK)
            rc = mark_phash(&im, h);
        crypto_key_wipe(&dek);
    }
    render_image_release(&im);
    dcm_file_free(f);
    if (pt.p)
        sodium_memzero(pt.p, pt.len);
    dv_buf_release(&pt);
    return rc;
}

/* The study whose image looks most like the leak, when one is close enough. */
static dv_err find_study(vault *v, const render_image *leak, uint8_t bi[INDEX_BI_BYTES], int *found,
                         vault_trace_res *res, dv_errinfo *ei)
{
    index_query q;
    ph_list l = {NULL, 0, 0};
    uint64_t lh, h;
    unsigned best = 65, d;
    size_t i;
    dv_err e;

    *found = 0;
    if (mark_phash(leak, &lh) != 0)
        return DV_OK;
    memset(&q, 0, sizeof(q));
    q.level = INDEX_LEVEL_INSTANCE;
    e = index_find(v->db, &q, keep_ref, &l, NULL, ei);
    for (i = 0; !e && i < l.n; i++) {
        if (stored_phash(v, &l.r[i], &h) != 0)
            continue;
        res->searched++;
        d = mark_phash_distance(lh, h);
        if (d < best) {
            best = d;
            memcpy(bi, l.r[i].study_bi, INDEX_BI_BYTES);
        }
    }
    if (l.r)
        sodium_memzero(l.r, l.cap * sizeof(*l.r));
    free(l.r);
    res->phash_distance = best;
    *found = !e && best <= PHASH_MATCH;
    return e;
}

/* Blind first; then the informed mode on the named study, or on the study the perceptual
 * search finds. */
static dv_err trace_detect(vault *v, const render_image *im, const char *study_uid,
                           vault_trace_res *res, dv_errinfo *ei)
{
    uint8_t bi[INDEX_BI_BYTES];
    uint64_t *cand = NULL;
    size_t ncand = 0;
    crypto_key key;
    int have = 0;
    dv_err e = vault_mark_key(v, &key);

    if (!e)
        e = mark_detect_image(&key, im, &res->mark, ei);
    if (!e && !res->mark.found && study_uid) {
        vault_blind(v, "study-uid", study_uid, bi);
        have = 1;
    } else if (!e && !res->mark.found) {
        e = find_study(v, im, bi, &have, res, ei);
        res->by_phash = have;
    }
    if (!e && have) {
        e = study_events(v, bi, &cand, &ncand, ei);
        if (!e && ncand)
            e = mark_detect_image_candidates(&key, im, cand, ncand, &res->mark, ei);
        res->informed = 1;
        res->candidates = ncand;
        free(cand);
    }
    crypto_key_wipe(&key);
    return e;
}

dv_err vault_trace(vault *v, const vault_ctx *ctx, const render_image *im, const char *study_uid,
                   vault_trace_res *res, dv_errinfo *ei)
{
    char detail[128];
    dv_err e = vault_gate(v, ctx, ACCESS_AUDIT, NULL, ei); /* the privacy officer's */

    res->in_log = 0;
    res->informed = 0;
    res->candidates = 0;
    res->by_phash = 0;
    res->searched = 0;
    res->phash_distance = 65;
    res->entry[0] = '\0';
    if (!e)
        e = trace_detect(v, im, study_uid, res, ei);
    if (e)
        return e;
    if (res->mark.found)
        (void)snprintf(detail, sizeof(detail), "trace%s: mark of entry %llu found (p %.1e)",
                       !res->informed  ? ""
                       : res->by_phash ? " (informed; study found by perceptual hash)"
                                       : " (informed, one study's accesses)",
                       (unsigned long long)res->mark.payload, res->mark.fp_probability);
    else
        (void)snprintf(detail, sizeof(detail), "trace: no mark found");
    e = vault_audit_detail(v, ctx, "audit-read", detail, ei); /* trace is on the record first */
    if (!e && res->mark.found)
        e = trace_entry(v, res->mark.payload, res, ei);
    return e;
}
