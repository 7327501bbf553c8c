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
#include "vault/mark_px.h"
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
#define TAG_FRAMES      0x00280008u
#define TAG_ROWS        0x00280010u
#define TAG_COLS        0x00280011u
#define TAG_SAMPLES     0x00280002u
#define TAG_EOT         0x7FE00001u
#define TAG_EOT_LENGTHS 0x7FE00002u
#define TAG_FLOAT_PIX   0x7FE00008u
#define TAG_DOUBLE_PIX  0x7FE00009u
#define MARK_NATIVE_MAX ((size_t)0xFFFFFFF0u)

/* One decoded frame, converted to a layout the mark embeds in (mark_px.h: palette and YBR_FULL
 * to RGB, 1-bit to 8-bit) and marked: 8-bit RGB on its luminance, everything else in its
 * stored depth (monochrome through the file's window, RGB and 1-bit images through their full
 * range). */
static dv_err mark_frame(const crypto_key *key, uint64_t payload, const dcm_ds *ds,
                         const vault_palette *pal, dcm_frame *fr, dv_errinfo *ei)
{
    int one_bit = fr->pi.bits_alloc == 1;
    mark_window w;
    render_image im;
    dv_err e = vault_mark_px_convert(fr, pal, ei);

    if (e)
        return e;
    if (fr->pi.samples == 3 && fr->pi.bits_alloc == 8) {
        if (strcmp(fr->pi.photometric, "RGB") != 0)
            return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, TAG_PHOTOMETRIC,
                           "colour model the mark does not handle");
        im = (render_image){fr->pi.cols, fr->pi.rows, 3, fr->data};
        return mark_embed_gray8(key, payload, &im, NULL, ei);
    }
    if (fr->pi.samples != 1 || one_bit)
        return mark_embed_frame(key, payload, fr, NULL, NULL, ei);
    mark_window_of(ds, fr, &w);
    return mark_embed_frame(key, payload, fr, &w, NULL, ei);
}

/* The buffer for frames x fsz marked bytes and a pad byte (an odd length is padded). */
static dv_err frames_alloc(size_t fsz, uint32_t frames, uint8_t **px, dv_errinfo *ei)
{
    if (!fsz || frames > MARK_NATIVE_MAX / fsz)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                       "marked pixel data would not fit one element");
    *px = malloc(fsz * frames + 1);
    if (!*px)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    return DV_OK;
}

/* A frame that does not decode: says which (1-based, as viewers count), keeping why. */
static dv_err undecodable(dv_err e, uint32_t i, dv_errinfo *ei)
{
    char why[sizeof(ei->msg)];

    (void)snprintf(why, sizeof(why), "%s", ei->msg);
    return dv_fail(ei, e, ei->offset, ei->tag, "frame %lu does not decode: %.150s",
                   (unsigned long)i + 1, why);
}

/* Decodes, converts and marks every frame of f (was: its stored geometry) into px (malloc'd,
 * *pxlen bytes and room for one more); *now is the geometry of the marked frames. */
static dv_err mark_frames(const crypto_key *key, uint64_t payload, const dcm_file *f,
                          const dcm_pixinfo *was, uint8_t **px, size_t *pxlen, dcm_pixinfo *now,
                          dv_errinfo *ei)
{
    vault_palette pal;
    dcm_frame fr;
    uint32_t i, frames = was->frames ? was->frames : 1;
    size_t fsz = 0;
    dv_err e = DV_OK;

    *px = NULL;
    *pxlen = 0;
    memset(&pal, 0, sizeof(pal));
    if (!strcmp(was->photometric, "PALETTE COLOR"))
        e = vault_palette_read(&f->ds, was->pixel_rep == 1, &pal, ei);
    for (i = 0; !e && i < frames; i++) {
        e = dcm_frame_decode(f, i, &fr, ei);
        if (e) {
            e = undecodable(e, i, ei);
            break;
        }
        e = mark_frame(key, payload, &f->ds, &pal, &fr, ei);
        if (!e && i == 0) {
            *now = fr.pi;
            now->frames = frames;
            fsz = fr.len;
            e = frames_alloc(fsz, frames, px, ei);
        }
        if (!e && fr.len != fsz)
            e = dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "frames differ in size");
        if (!e)
            memcpy(*px + (size_t)i * fsz, fr.data, fsz);
        dcm_frame_release(&fr);
    }
    vault_palette_release(&pal);
    if (e) {
        free(*px);
        *px = NULL;
        return e;
    }
    *pxlen = fsz * frames;
    return DV_OK;
}

/* Marks the Pixel Data of f in place: native pixels of the marked frames (padded to an even
 * length), the Image Pixel attributes they need, no offset tables. */
static dv_err mark_pixels(const crypto_key *key, uint64_t payload, dcm_file *f,
                          const dcm_pixinfo *was, dcm_pixinfo *now, dv_errinfo *ei)
{
    uint8_t *px = NULL;
    size_t pxlen = 0;
    dv_err e = mark_frames(key, payload, f, was, &px, &pxlen, now, ei);

    if (!e && pxlen % 2)
        px[pxlen++] = 0;
    if (!e && dcm_ds_set(f, &f->ds, DCM_TAG_PIXEL_DATA, now->bits_alloc > 8 ? DCM_VR_OW : DCM_VR_OB,
                         px, (uint32_t)pxlen) != DV_OK)
        e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "out of memory");
    free(px);
    if (!e)
        e = vault_mark_px_attrs(f, was, now, ei);
    dcm_ds_remove(&f->ds, TAG_EOT);
    dcm_ds_remove(&f->ds, TAG_EOT_LENGTHS);
    return e;
}

/* Rows, columns and frames of Float / Double Float Pixel Data (1 sample per pixel). */
static dv_err float_geometry(const dcm_ds *ds, long *rows, long *cols, long *frames, dv_errinfo *ei)
{
    long spp = 1;
    dv_err e;

    if (dcm_ds_get_int(ds, TAG_ROWS, 0, rows) || dcm_ds_get_int(ds, TAG_COLS, 0, cols) ||
        *rows < 1 || *rows > 65535 || *cols < 1 || *cols > 65535)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, TAG_ROWS,
                       "float pixel data needs rows and columns of 1..65535");
    e = dcm_ds_get_int(ds, TAG_FRAMES, 0, frames);
    if (e == DV_ENOTFOUND)
        *frames = 1;
    else if (e || *frames < 1 || *frames > INT32_MAX)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, TAG_FRAMES, "bad number of frames");
    e = dcm_ds_get_int(ds, TAG_SAMPLES, 0, &spp);
    if ((e && e != DV_ENOTFOUND) || spp != 1)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, TAG_SAMPLES,
                       "float pixel data with more than one sample per pixel");
    return DV_OK;
}

/* Marks Float (7FE0,0008) or Double Float (7FE0,0009) Pixel Data in place, frame by frame, in
 * its own values (displayed min..max). */
static dv_err mark_float(const crypto_key *key, uint64_t payload, dcm_file *f, uint32_t tag,
                         dv_errinfo *ei)
{
    const dcm_elem *el = dcm_ds_find(&f->ds, tag);
    unsigned bytes = tag == TAG_FLOAT_PIX ? 4 : 8;
    long rows = 0, cols = 0, frames = 1, i;
    uint8_t *buf;
    uint32_t len;
    size_t fsz;
    dv_err e = float_geometry(&f->ds, &rows, &cols, &frames, ei);

    if (e)
        return e;
    fsz = (size_t)rows * (size_t)cols * bytes;
    if (!el || !el->val || (uint64_t)frames > el->len / fsz) /* fsz >= 4 */
        return dv_fail(ei, DV_ETRUNC, DV_NO_OFFSET, tag,
                       "float pixel data shorter than its frames");
    len = el->len;
    buf = malloc(len);
    if (!buf)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    memcpy(buf, el->val, len);
    for (i = 0; !e && i < frames; i++)
        e = mark_embed_float(key, payload, buf + (size_t)i * fsz, (uint32_t)cols, (uint32_t)rows,
                             bytes, NULL, NULL, ei);
    if (!e && dcm_ds_set(f, &f->ds, tag, bytes == 4 ? DCM_VR_OF : DCM_VR_OD, buf, len) != DV_OK)
        e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, tag, "out of memory");
    free(buf);
    return e;
}

/* The pixel element of an image: Pixel Data, else Float or Double Float Pixel Data.  0 when f
 * holds no image: no pixel element, an empty one, or one without Rows and Columns (pixels
 * nothing can lay out or display); such an object leaves as it is. */
static uint32_t image_tag(const dcm_file *f)
{
    static const uint32_t tags[] = {DCM_TAG_PIXEL_DATA, TAG_FLOAT_PIX, TAG_DOUBLE_PIX};
    const dcm_elem *el = NULL;
    size_t i;

    for (i = 0; !el && i < sizeof(tags) / sizeof(tags[0]); i++)
        el = dcm_ds_find(&f->ds, tags[i]);
    if (!el || (!el->len && !el->frags && !el->nfrags))
        return 0;
    if (!dcm_ds_find(&f->ds, TAG_ROWS) && !dcm_ds_find(&f->ds, TAG_COLS))
        return 0;
    return el->tag;
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

/* Marks the image of f in place; *now is what its pixels are afterwards (Pixel Data only). */
static dv_err mark_image(vault *v, const vault_ctx *ctx, vault_mark_state *ms, dcm_file *f,
                         uint32_t tag, const dcm_pixinfo *was, dcm_pixinfo *now, dv_errinfo *ei)
{
    crypto_key key;
    dv_err e = mark_begin(v, ctx, ms, "exported files", ei);

    if (!e)
        e = vault_mark_key(v, &key);
    if (e)
        return e;
    e = tag == DCM_TAG_PIXEL_DATA ? mark_pixels(&key, ms->payload, f, was, now, ei)
                                  : mark_float(&key, ms->payload, f, tag, ei);
    crypto_key_wipe(&key);
    return e ? unmarkable(e, ei) : DV_OK; /* a layout or stream the mark cannot carry */
}

dv_err vault_mark_dicom(vault *v, const vault_ctx *ctx, vault_mark_state *ms, const uint8_t *p,
                        size_t len, dv_buf *out, int *marked, dv_errinfo *ei)
{
    dcm_file *f = NULL;
    dcm_pixinfo was, now;
    const dcm_ts *ts;
    uint32_t tag;
    dv_err e;

    *marked = 0;
    e = dcm_parse(p, len, 0, NULL, &f, ei);
    if (e)
        return unmarkable(e, ei);
    tag = image_tag(f);
    if (!tag) {
        dcm_file_free(f); /* not an image: it leaves as it is */
        dv_errinfo_clear(ei);
        return DV_OK;
    }
    memset(&was, 0, sizeof(was));
    memset(&now, 0, sizeof(now));
    e = tag == DCM_TAG_PIXEL_DATA ? dcm_pixinfo_get(&f->ds, &was, ei) : DV_OK;
    if (e) {
        dcm_file_free(f);
        return unmarkable(e, ei);
    }
    e = mark_image(v, ctx, ms, f, tag, &was, &now, ei);
    if (!e) { /* compressed input (and 32-bit samples of big endian input) leave explicit LE */
        ts = f->ts && !f->ts->encapsulated ? f->ts : &dcm_ts_explicit_le;
        if (ts->big_endian && now.bits_alloc == 32)
            ts = &dcm_ts_explicit_le;
        e = dcm_write_part10(f, ts, out, ei);
    }
    dcm_file_free(f);
    *marked = !e;
    return e;
}
