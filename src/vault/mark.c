/* SPDX-License-Identifier: Apache-2.0 */
/* mark.c - the forensic watermark on every image that leaves the vault: rendered (view, print,
 * share) and DICOM copies (export).  trace.c reads it back.
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

#include "mark/mark.h"
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
