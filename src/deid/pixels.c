/* SPDX-License-Identifier: Apache-2.0 */
/* pixels.c - burned-in text redaction: the entry points of pixels.h and the frame loop.
 *
 * For every frame: decode it (dcm_frame_decode), collect the rule rectangles that apply to the
 * object and, in OCR mode, the text boxes Tesseract finds (pixels_ocr.c), then fill them
 * (pixels_fill.c).  Native pixel data is copied into f's arena and filled in its stored
 * layout, so every byte outside the boxes stays as it was.  Encapsulated pixel data is decoded
 * frame by frame, filled, and either re-encoded (RLE Lossless: pixels_rle.c) or replaced by
 * native Explicit VR Little Endian data (rep->ts says which).  Nothing is changed in f unless
 * a box was filled; on failure f is unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "common/dv.h"
#include "deid/pixels_int.h"
#include "dicom/pixel.h"

#include "common/banned.h"

#define TAG_SOP_CLASS      DCM_TAG(0x0008, 0x0016)
#define TAG_PLANAR         DCM_TAG(0x0028, 0x0006)
#define TAG_PHOTOMETRIC    DCM_TAG(0x0028, 0x0004)
#define TAG_BURNED_IN      DCM_TAG(0x0028, 0x0301)
#define TAG_EOT            DCM_TAG(0x7FE0, 0x0001)
#define TAG_EOT_LENGTHS    DCM_TAG(0x7FE0, 0x0002)
#define DEFAULT_MAX_FRAMES 4096u
#define TS_RLE             "1.2.840.10008.1.2.5"
#define SOP_VL_PHOTO       "1.2.840.10008.5.1.4.1.1.77.1.4"
#define SOP_SC             "1.2.840.10008.5.1.4.1.1.7"
#define MAX_NATIVE         0xFFFFFFFEu /* one element value */

void deid_pixels_opts_init(deid_pixels_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->mode = DEID_PIXELS_OCR;
}

void deid_pixels_report_release(deid_pixels_report *rep)
{
    if (rep == NULL)
        return;
    free(rep->boxes);
    memset(rep, 0, sizeof(*rep));
}

dv_err px_boxes_add(px_boxes *b, uint32_t frame, int64_t x0, int64_t y0, int64_t x1, int64_t y1,
                    uint32_t rows, uint32_t cols, deid_box_source src, dv_errinfo *ei)
{
    deid_box *d;

    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > cols ? cols : x1;
    y1 = y1 > rows ? rows : y1;
    if (x0 >= x1 || y0 >= y1)
        return DV_OK;
    if (b->n == b->cap) {
        uint32_t ncap = b->cap ? b->cap * 2 : 16;

        if (b->n >= PX_MAX_BOXES)
            return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                           "more than %u redaction boxes", PX_MAX_BOXES);
        d = realloc(b->v, (size_t)ncap * sizeof(*d));
        if (!d)
            return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
        b->v = d;
        b->cap = ncap;
    }
    d = &b->v[b->n++];
    d->frame = frame;
    d->x = (uint32_t)x0;
    d->y = (uint32_t)y0;
    d->w = (uint32_t)(x1 - x0);
    d->h = (uint32_t)(y1 - y0);
    d->source = src;
    return DV_OK;
}

/* ---- rules and policy --------------------------------------------------------------------- */

static dv_err load_rules(const deid_pixels_opts *o, deid_rules *r, dv_errinfo *ei)
{
    dv_err e = deid_rules_load(o->rules_path ? o->rules_path : DEID_RULES_PATH, r, ei);

    if (e == DV_ENOTFOUND && !o->rules_path) {
        dv_errinfo_clear(ei);
        return DV_OK; /* no default rule file installed: OCR only */
    }
    return e;
}

/* The rectangles of every matching rule, as boxes of frame 0 (copied to each frame). */
static dv_err rule_boxes(const dcm_file *f, const deid_pixels_opts *o, const dcm_pixinfo *pi,
                         px_boxes *out, dv_errinfo *ei)
{
    deid_rules rules;
    uint32_t i, k;
    dv_err e = load_rules(o, &rules, ei);

    for (i = 0; !e && i < rules.n; i++) {
        const deid_rule *r = &rules.v[i];

        if (!deid_rule_matches(r, &f->ds, pi->rows, pi->cols))
            continue;
        for (k = 0; !e && k < r->nrects; k++)
            e = px_boxes_add(
                out, 0, r->rects[k].x, r->rects[k].y, (int64_t)r->rects[k].x + r->rects[k].w,
                (int64_t)r->rects[k].y + r->rects[k].h, pi->rows, pi->cols, DEID_BOX_RULE, ei);
    }
    deid_rules_release(&rules);
    return e;
}

static int photographic(const dcm_file *f, const dcm_pixinfo *pi)
{
    char sop[65];

    if (dcm_ds_get_str(&f->ds, TAG_SOP_CLASS, sop, sizeof(sop)) < 0)
        return 0;
    if (!strcmp(sop, SOP_VL_PHOTO))
        return 1;
    return !strcmp(sop, SOP_SC) && pi->samples == 3 &&
           (!strcmp(pi->photometric, "RGB") || !strncmp(pi->photometric, "YBR", 3));
}

static dv_err check_object(const dcm_file *f, const deid_pixels_opts *o, const dcm_pixinfo *pi,
                           dv_errinfo *ei)
{
    uint32_t maxf = o->max_frames ? o->max_frames : DEFAULT_MAX_FRAMES;

    if (pi->frames > maxf)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DCM_TAG(0x0028, 0x0008), "more than %u frames",
                       (unsigned)maxf);
    if (photographic(f, pi) && !o->allow_photographic)
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, TAG_SOP_CLASS,
                       "photographic object: faces may be visible");
    return DV_OK;
}

/* ---- the frame loop ----------------------------------------------------------------------- */

typedef struct job {
    dcm_file *f;
    const deid_pixels_opts *o;
    dcm_pixinfo pi;     /* as stored */
    dcm_pixinfo out_pi; /* of the decoded frames (photometric as decoded) */
    int native;         /* stored pixel data is native */
    int rle;            /* encapsulated RLE: re-encode as RLE */
    uint8_t *nat;       /* native output (arena for native input, malloc'd otherwise) */
    size_t nat_len;
    dv_buf rle_out;  /* RLE frames, back to back */
    size_t *rle_end; /* end offset of each RLE frame in rle_out */
    px_boxes boxes;  /* every box so far */
    px_boxes rules;  /* rule boxes (frame 0) */
} job;

static int is_422(const char *ph)
{
    return !strcmp(ph, "YBR_FULL_422") || !strcmp(ph, "YBR_PARTIAL_422");
}

/* Collects the boxes of frame i (rules + OCR) into j->boxes. */
static dv_err frame_boxes(job *j, uint32_t i, dcm_frame *fr, dv_errinfo *ei)
{
    uint32_t k, first = j->boxes.n;
    dv_err e = DV_OK;

    for (k = 0; !e && k < j->rules.n; k++) {
        const deid_box *b = &j->rules.v[k];

        e = px_boxes_add(&j->boxes, i, b->x, b->y, (int64_t)b->x + b->w, (int64_t)b->y + b->h,
                         j->pi.rows, j->pi.cols, DEID_BOX_RULE, ei);
    }
    if (!e && j->o->mode == DEID_PIXELS_OCR)
        e = px_ocr_frame(&j->f->ds, i, fr, j->o->tessdata, &j->boxes, NULL, ei);
    if (!e && j->native && j->pi.samples == 3 && is_422(j->pi.photometric)) {
        for (k = first; k < j->boxes.n; k++) { /* 4:2:2 pairs: even column boundaries */
            deid_box *b = &j->boxes.v[k];
            uint32_t x1 = b->x + b->w;

            b->x &= ~1u;
            x1 = x1 + (x1 & 1u) > j->pi.cols ? j->pi.cols : x1 + (x1 & 1u);
            b->w = x1 - b->x;
        }
    }
    return e;
}

static dv_err store_frame(job *j, uint32_t i, dcm_frame *fr, uint32_t first, dv_errinfo *ei)
{
    uint32_t n = j->boxes.n - first;
    dv_err e;

    if (j->native)
        return px_fill_native(j->nat, j->nat_len, &j->pi, fr, j->boxes.v + first, n, i, ei);
    px_fill_decoded(fr, j->boxes.v + first, n, i);
    j->out_pi = fr->pi;
    if (j->rle) {
        e = px_rle_encode(fr, &j->rle_out, ei);
        j->rle_end[i] = j->rle_out.len;
        return e;
    }
    if (fr->len != j->nat_len / j->pi.frames)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                       "frame %u decoded to an unexpected size", (unsigned)i);
    memcpy(j->nat + (size_t)i * fr->len, fr->data, fr->len);
    return DV_OK;
}

static dv_err run_frames(job *j, deid_pixels_report *rep, dv_errinfo *ei)
{
    uint32_t i;
    dv_err e = DV_OK;

    for (i = 0; !e && i < j->pi.frames; i++) {
        dcm_frame fr;
        uint32_t first = j->boxes.n;

        e = dcm_frame_decode(j->f, i, &fr, ei);
        if (e)
            break;
        e = frame_boxes(j, i, &fr, ei);
        if (!e)
            e = store_frame(j, i, &fr, first, ei);
        dcm_frame_release(&fr);
        rep->frames++;
    }
    return e;
}

/* ---- output ------------------------------------------------------------------------------- */

static dv_err prepare_output(job *j, dv_errinfo *ei)
{
    const dcm_elem *pe = dcm_ds_find(&j->f->ds, DCM_TAG_PIXEL_DATA);
    size_t fsz = dcm_frame_size(&j->pi);

    if (j->native) {
        j->nat_len = pe->len;
        j->nat = dv_arena_dup(&j->f->arena, pe->val, pe->len);
        if (!j->nat)
            return dv_fail(ei, dv_arena_over(&j->f->arena, pe->len) ? DV_ELIMIT : DV_ENOMEM,
                           DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "no room for a copy of the pixels");
        return DV_OK;
    }
    if (j->rle) {
        dv_buf_init(&j->rle_out, (size_t)MAX_NATIVE);
        j->rle_end = calloc(j->pi.frames, sizeof(*j->rle_end));
        return j->rle_end ? DV_OK
                          : dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    }
    if (!fsz || fsz == SIZE_MAX || j->pi.frames > MAX_NATIVE / fsz)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                       "decoded pixel data would not fit one element");
    j->nat_len = fsz * j->pi.frames;
    j->nat = malloc(j->nat_len);
    return j->nat ? DV_OK : dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
}

/* Replaces the fragments with the RLE frames (one fragment each, empty offset table). */
static dv_err commit_rle(job *j, dv_errinfo *ei)
{
    dcm_file *f = j->f;
    dcm_frag *frags = dv_arena_alloc(&f->arena, ((size_t)j->pi.frames + 1) * sizeof(*frags));
    uint8_t *all = dv_arena_dup(&f->arena, j->rle_out.p, j->rle_out.len);
    dcm_elem *pe = dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA);
    uint32_t i;
    size_t at = 0;

    if (!frags || !all || !pe)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "no room for RLE frames");
    for (i = 0; i < j->pi.frames; i++) {
        frags[i + 1].p = all + at;
        frags[i + 1].len = (uint32_t)(j->rle_end[i] - at);
        at = j->rle_end[i];
    }
    frags[0].p = NULL;
    frags[0].len = 0;
    pe->frags = frags;
    pe->nfrags = j->pi.frames + 1;
    dcm_ds_remove(&f->ds, TAG_EOT);
    dcm_ds_remove(&f->ds, TAG_EOT_LENGTHS);
    return DV_OK;
}

static dv_err commit_native(job *j, deid_pixels_report *rep, dv_errinfo *ei)
{
    dcm_file *f = j->f;
    dv_err e;

    e = dcm_ds_set(f, &f->ds, DCM_TAG_PIXEL_DATA, j->pi.bits_alloc > 8 ? DCM_VR_OW : DCM_VR_OB,
                   j->nat, (uint32_t)j->nat_len);
    if (!e && j->pi.samples > 1)
        e = dcm_ds_set(f, &f->ds, TAG_PLANAR, DCM_VR_US, "\0\0", 2);
    if (!e)
        e = dcm_ds_set_str(f, &f->ds, TAG_PHOTOMETRIC, DCM_VR_CS, j->out_pi.photometric);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "cannot store native pixels");
    dcm_ds_remove(&f->ds, TAG_EOT);
    dcm_ds_remove(&f->ds, TAG_EOT_LENGTHS);
    rep->ts = &dcm_ts_explicit_le;
    return DV_OK;
}

static dv_err commit(job *j, deid_pixels_report *rep, dv_errinfo *ei)
{
    dv_err e = DV_OK;

    if (j->native) {
        dcm_ds_find(&j->f->ds, DCM_TAG_PIXEL_DATA)->val = j->nat;
    } else {
        e = j->rle ? commit_rle(j, ei) : commit_native(j, rep, ei);
        rep->reencoded = !e;
    }
    if (!e)
        e = dcm_ds_set_str(j->f, &j->f->ds, TAG_BURNED_IN, DCM_VR_CS, "NO");
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, TAG_BURNED_IN, "cannot update the dataset");
    return DV_OK;
}

static dv_err redact(job *j, deid_pixels_report *rep, dv_errinfo *ei)
{
    dv_err e = rule_boxes(j->f, j->o, &j->pi, &j->rules, ei);

    if (e)
        return e;
    if (j->o->mode == DEID_PIXELS_RULES && j->rules.n == 0) {
        rep->frames = j->pi.frames;
        return DV_OK; /* nothing can apply: no decoding */
    }
    e = prepare_output(j, ei);
    if (!e)
        e = run_frames(j, rep, ei);
    if (!e && j->boxes.n)
        e = commit(j, rep, ei);
    if (!e) {
        rep->boxes = j->boxes.v;
        rep->nboxes = j->boxes.n;
        j->boxes.v = NULL;
    }
    return e;
}

dv_err deid_pixels_redact(dcm_file *f, const deid_pixels_opts *o, deid_pixels_report *rep,
                          dv_errinfo *ei)
{
    const dcm_elem *pe = dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA);
    job j;
    dv_err e;

    memset(rep, 0, sizeof(*rep));
    rep->ts = f->ts;
    dv_errinfo_clear(ei);
    if (o->mode == DEID_PIXELS_OFF || !pe)
        return DV_OK;
    memset(&j, 0, sizeof(j));
    j.f = f;
    j.o = o;
    e = dcm_pixinfo_get(&f->ds, &j.pi, ei);
    if (e == DV_ENOTFOUND) {
        dv_errinfo_clear(ei);
        return DV_OK;
    }
    if (!e)
        e = check_object(f, o, &j.pi, ei);
    if (e)
        return e;
    j.native = !pe->frags;
    j.rle = !j.native && f->ts && !strcmp(f->ts->uid, TS_RLE) && j.pi.bits_alloc >= 8;
    e = redact(&j, rep, ei);
    if (!j.native)
        free(j.nat);
    dv_buf_release(&j.rle_out);
    free(j.rle_end);
    free(j.boxes.v);
    free(j.rules.v);
    if (e) {
        deid_pixels_report_release(rep);
        rep->ts = f->ts;
    }
    return e;
}

dv_err deid_pixels_ocr_text(const dcm_file *f, const deid_pixels_opts *o, dv_buf *out,
                            dv_errinfo *ei)
{
    dcm_pixinfo pi;
    uint32_t i, maxf = o->max_frames ? o->max_frames : DEFAULT_MAX_FRAMES;
    dv_err e;

    dv_errinfo_clear(ei);
    e = dcm_pixinfo_get(&f->ds, &pi, ei);
    if (e == DV_ENOTFOUND) {
        dv_errinfo_clear(ei);
        return DV_OK;
    }
    if (!e && pi.frames > maxf)
        e = dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DCM_TAG(0x0028, 0x0008), "more than %u frames",
                    (unsigned)maxf);
    for (i = 0; !e && i < pi.frames; i++) {
        dcm_frame fr;

        e = dcm_frame_decode(f, i, &fr, ei);
        if (e)
            break;
        e = px_ocr_frame(&f->ds, i, &fr, o->tessdata, NULL, out, ei);
        dcm_frame_release(&fr);
    }
    return e;
}
