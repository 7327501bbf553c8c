/* SPDX-License-Identifier: Apache-2.0 */
/* pixels_grow.c - the frame as OCR sees it (value plane, extreme-value masks, display window)
 * and the growth of OCR word boxes over the glyphs they belong to.
 *
 * "Extreme" values: burned-in text is drawn at (or near) the brightest or darkest value of the
 * frame.  The thresholds hi/lo are chosen from the histogram: walking in from the maximum
 * (minimum), as long as the pixels passed stay under EXTREME_PC % of the frame and within
 * EXTREME_RANGE_PC % of the value range, so a large dark background next to the minimum does
 * not swallow black text drawn on it.
 *
 * Invariants: a px_plane owns v (w*h values) and win (w*h bytes or NULL); a component list
 * holds at most MAX_COMPONENTS bounding boxes.
 */
#include <stdlib.h>
#include <string.h>

#include "deid/pixels_int.h"
#include "render/render.h"

#include "common/banned.h"

#define HIST_BINS        1024u
#define EXTREME_PC       3u  /* of the pixels */
#define EXTREME_RANGE_PC 24u /* of the value range */
#define MAX_COMPONENTS   (1u << 20)
#define MAX_PIXELS       ((uint64_t)1 << 26) /* 64 Mpixel per frame for OCR */
#define GROW_ROUNDS      64
#define SATURATED_PC     40u /* % of the extreme class in the outermost bin */
#define BLOB_MIN_H       4u
#define BLOB_MIN_PIX     8u

/* ---- value plane -------------------------------------------------------------------------- */

int32_t px_stored_value(const dcm_frame *fr, size_t i)
{
    const dcm_pixinfo *pi = &fr->pi;
    uint32_t raw, shift = pi->high_bit + 1 - pi->bits_stored, bits = pi->bits_stored;

    if (pi->bits_alloc <= 8)
        raw = fr->data[i];
    else if (pi->bits_alloc == 16)
        raw = dv_le16(fr->data + 2 * i);
    else
        raw = dv_le32(fr->data + 4 * i);
    if (pi->bits_alloc == 1)
        return (int32_t)(raw & 1u);
    raw >>= shift;
    if (bits < 32)
        raw &= (1u << bits) - 1u;
    if (pi->pixel_rep && bits < 32 && (raw >> (bits - 1)) & 1u)
        raw |= ~((1u << bits) - 1u);
    return (int32_t)raw;
}

static int is_mono(const dcm_pixinfo *pi)
{
    return pi->samples == 1 && !strncmp(pi->photometric, "MONOCHROME", 10);
}

/* Gray bytes of a render (luminance for RGB), malloc'd. */
static uint8_t *render_gray(const render_image *im)
{
    size_t n = (size_t)im->width * im->height, i;
    uint8_t *g = calloc(n ? n : 1, 1);

    if (!g)
        return NULL;
    for (i = 0; i < n; i++) {
        const uint8_t *p = im->pixels + i * im->channels;

        g[i] =
            im->channels == 1 ? p[0] : (uint8_t)((299u * p[0] + 587u * p[1] + 114u * p[2]) / 1000u);
    }
    return g;
}

/* Walks the histogram in from one end to where the bulk of the frame starts (EXTREME_PC % of
 * the pixels passed, or EXTREME_RANGE_PC % of the range); returns half that many bins, so
 * the extreme class stays well clear of the noise tail of a background next to it. */
static uint32_t extreme_bins(const uint32_t *hist, size_t npix, int from_top)
{
    uint64_t cum = 0, cap = npix * EXTREME_PC / 100u;
    uint32_t k, lim = HIST_BINS * EXTREME_RANGE_PC / 100u;

    for (k = 0; k < lim; k++) {
        uint32_t b = from_top ? HIST_BINS - 1 - k : k;

        if (k > 0 && cum + hist[b] > cap)
            break;
        cum += hist[b];
    }
    return k / 2 > 0 ? k / 2 : 1;
}

/* True when most of the extreme class sits in its outermost bin: values drawn at the extreme
 * (burned-in graphics), not the tail of a continuous distribution (anatomy). */
static int saturated(const uint32_t *hist, uint32_t k, int from_top)
{
    uint64_t all = 0;
    uint32_t i, edge = hist[from_top ? HIST_BINS - 1 : 0];

    for (i = 0; i < k; i++)
        all += hist[from_top ? HIST_BINS - 1 - i : i];
    return edge >= 64 && (uint64_t)edge * 100 >= all * SATURATED_PC;
}

static dv_err thresholds(px_plane *pl, dv_errinfo *ei)
{
    size_t n = (size_t)pl->w * pl->h, i;
    uint32_t *hist = calloc(HIST_BINS, sizeof(*hist)), kt, kb;
    int64_t range = (int64_t)pl->max - pl->min + 1;

    if (!hist)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    for (i = 0; i < n; i++)
        hist[(uint64_t)((int64_t)pl->v[i] - pl->min) * HIST_BINS / (uint64_t)range]++;
    kt = extreme_bins(hist, n, 1);
    kb = extreme_bins(hist, n, 0);
    pl->hi_sat = saturated(hist, kt, 1);
    pl->lo_sat = saturated(hist, kb, 0);
    free(hist);
    /* bin b holds values min + [b*range/BINS, (b+1)*range/BINS) */
    pl->hi = (int32_t)(pl->min + (int64_t)(HIST_BINS - kt) * range / HIST_BINS);
    pl->lo = (int32_t)(pl->min + (int64_t)kb * range / HIST_BINS - 1);
    if (pl->hi > pl->max)
        pl->hi = pl->max;
    if (pl->lo < pl->min)
        pl->lo = pl->min;
    return DV_OK;
}

static dv_err fill_values(px_plane *pl, const dcm_frame *fr, const render_image *im, int mono)
{
    size_t n = (size_t)pl->w * pl->h, i;

    if (n == 0)
        return DV_EINVAL;
    if (mono) {
        for (i = 0; i < n; i++)
            pl->v[i] = px_stored_value(fr, i);
    } else {
        for (i = 0; i < n; i++)
            pl->v[i] = pl->win[i];
    }
    pl->min = pl->max = pl->v[0];
    for (i = 1; i < n; i++) {
        pl->min = pl->v[i] < pl->min ? pl->v[i] : pl->min;
        pl->max = pl->v[i] > pl->max ? pl->v[i] : pl->max;
    }
    (void)im;
    return DV_OK;
}

dv_err px_plane_make(const dcm_ds *ds, uint32_t frame, dcm_frame *fr, px_plane *pl, dv_errinfo *ei)
{
    render_image im = {0};
    int mono = is_mono(&fr->pi);
    uint64_t n = (uint64_t)fr->pi.rows * fr->pi.cols;
    dv_err e;

    memset(pl, 0, sizeof(*pl));
    if (n == 0 || n > MAX_PIXELS)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                       "frame larger than 64 Mpixel for OCR");
    pl->w = fr->pi.cols;
    pl->h = fr->pi.rows;
    e = render_decoded(ds, frame, fr, NULL, &im, ei);
    if (e && !mono)
        return e;
    if (!e && (im.width != pl->w || im.height != pl->h)) {
        render_image_release(&im);
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "render size differs");
    }
    if (!e) {
        pl->win = render_gray(&im);
        render_image_release(&im);
        if (!pl->win)
            return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    }
    pl->v = malloc((size_t)n * sizeof(*pl->v));
    if (!pl->v) {
        px_plane_release(pl);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    }
    e = fill_values(pl, fr, &im, mono);
    if (!e)
        e = thresholds(pl, ei);
    if (e)
        px_plane_release(pl);
    return e;
}

void px_plane_release(px_plane *pl)
{
    if (!pl)
        return;
    free(pl->v);
    free(pl->win);
    memset(pl, 0, sizeof(*pl));
}

int px_display_is_mask(int k)
{
    return k < 2;
}

int px_display(const px_plane *pl, int k, uint8_t *out)
{
    size_t n = (size_t)pl->w * pl->h, i;

    if (k < 2 && pl->min == pl->max)
        return 0;
    if (k >= 2 && !pl->win)
        return 0;
    for (i = 0; i < n; i++) {
        switch (k) {
        case 0:
            out[i] = pl->v[i] >= pl->hi ? 0 : 255;
            break;
        case 1:
            out[i] = pl->v[i] <= pl->lo ? 0 : 255;
            break;
        case 2:
            out[i] = pl->win[i];
            break;
        default:
            out[i] = (uint8_t)(255 - pl->win[i]);
            break;
        }
    }
    return 1;
}

/* ---- components --------------------------------------------------------------------------- */

typedef struct comp {
    uint32_t x0, y0, x1, y1; /* [x0, x1) x [y0, y1) */
    uint32_t npix;
    int bright; /* of the bright (hi) class, else the dark one */
} comp;

typedef struct comps {
    comp *v;
    uint32_t n;
} comps;

static int extreme(const px_plane *pl, size_t i)
{
    return pl->min != pl->max && (pl->v[i] >= pl->hi || pl->v[i] <= pl->lo);
}

/* Flood fill (8-connected) from seed; marks visited in seen and returns the bounding box. */
static comp flood(const px_plane *pl, uint8_t *seen, uint32_t *stack, size_t seed)
{
    comp c = {pl->w, pl->h, 0, 0, 0, pl->v[seed] >= pl->hi};
    size_t sp = 0;

    stack[sp++] = (uint32_t)seed;
    seen[seed] = 1;
    while (sp) {
        uint32_t p = stack[--sp], x = p % pl->w, y = p / pl->w;
        int dx, dy;

        c.npix++;
        c.x0 = x < c.x0 ? x : c.x0;
        c.y0 = y < c.y0 ? y : c.y0;
        c.x1 = x + 1 > c.x1 ? x + 1 : c.x1;
        c.y1 = y + 1 > c.y1 ? y + 1 : c.y1;
        for (dy = -1; dy <= 1; dy++)
            for (dx = -1; dx <= 1; dx++) {
                int64_t nx = (int64_t)x + dx, ny = (int64_t)y + dy;
                size_t q;

                if (nx < 0 || ny < 0 || nx >= pl->w || ny >= pl->h)
                    continue;
                q = (size_t)ny * pl->w + (size_t)nx;
                if (!seen[q] && extreme(pl, q)) {
                    seen[q] = 1;
                    stack[sp++] = (uint32_t)q; /* each pixel is pushed once: sp <= w*h */
                }
            }
    }
    return c;
}

static dv_err label(const px_plane *pl, comps *out, dv_errinfo *ei)
{
    size_t n = (size_t)pl->w * pl->h, i;
    uint8_t *seen = calloc(n, 1);
    uint32_t *stack = malloc(n * sizeof(*stack)), cap = 0;
    dv_err e = DV_OK;

    memset(out, 0, sizeof(*out));
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    }
    for (i = 0; !e && i < n && out->n < MAX_COMPONENTS; i++) {
        if (seen[i] || !extreme(pl, i))
            continue;
        if (out->n == cap) {
            comp *v = realloc(out->v, (size_t)(cap ? cap * 2 : 256) * sizeof(*v));

            if (!v) {
                e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
                break;
            }
            out->v = v;
            cap = cap ? cap * 2 : 256;
        }
        out->v[out->n++] = flood(pl, seen, stack, i);
    }
    free(seen);
    free(stack);
    return e;
}

/* ---- growth ------------------------------------------------------------------------------- */

/* Grows b over components within reach along its line; h0 is the word's own height. */
static void grow_one(const comps *cs, int64_t b[4], int64_t h0)
{
    int64_t gx = h0 * 3 / 4 + 2, gy = h0 / 6 + 1;
    int round, changed = 1;
    uint32_t i;

    for (round = 0; round < GROW_ROUNDS && changed; round++) {
        changed = 0;
        for (i = 0; i < cs->n; i++) {
            const comp *c = &cs->v[i];
            int64_t ch = (int64_t)c->y1 - c->y0, cw = (int64_t)c->x1 - c->x0;

            if (ch > 3 * h0 + 4 || cw > 64 * h0 + 8)
                continue;
            if (c->x1 + gx <= b[0] || c->x0 >= b[2] + gx || c->y1 + gy <= b[1] ||
                c->y0 >= b[3] + gy)
                continue;
            if (c->x0 >= b[0] && c->y0 >= b[1] && c->x1 <= b[2] && c->y1 <= b[3])
                continue;
            b[0] = c->x0 < b[0] ? c->x0 : b[0];
            b[1] = c->y0 < b[1] ? c->y0 : b[1];
            b[2] = c->x1 > b[2] ? c->x1 : b[2];
            b[3] = c->y1 > b[3] ? c->y1 : b[3];
            changed = 1;
        }
    }
}

static int contained(const px_boxes *b, uint32_t first, const comp *c)
{
    uint32_t i;

    for (i = first; i < b->n; i++) {
        const deid_box *d = &b->v[i];

        if (c->x0 >= d->x && c->y0 >= d->y && c->x1 <= d->x + d->w && c->y1 <= d->y + d->h)
            return 1;
    }
    return 0;
}

/* Text-like groups of saturated components that OCR did not report (small or low-contrast
 * glyphs, text on a backing box): a seed component of glyph size, grown along its line, kept
 * when the group is at least 1.5 times as wide as high and no taller than 1/6 of the frame. */
static dv_err blob_boxes(const px_plane *pl, const comps *cs, uint32_t frame, px_boxes *out,
                         uint32_t first, dv_errinfo *ei)
{
    uint32_t side = pl->w < pl->h ? pl->w : pl->h, i;
    dv_err e = DV_OK;

    for (i = 0; !e && i < cs->n; i++) {
        const comp *c = &cs->v[i];
        int64_t h0 = (int64_t)c->y1 - c->y0, b[4] = {c->x0, c->y0, c->x1, c->y1}, m;

        if (!(c->bright ? pl->hi_sat : pl->lo_sat) || c->npix < BLOB_MIN_PIX || h0 < BLOB_MIN_H ||
            h0 > side / 8 || contained(out, first, c))
            continue;
        grow_one(cs, b, h0);
        if ((b[2] - b[0]) * 2 < (b[3] - b[1]) * 3 || (b[3] - b[1]) > side / 6)
            continue;
        m = h0 / 6 + 2;
        e = px_boxes_add(out, frame, b[0] - m, b[1] - m, b[2] + m, b[3] + m, pl->h, pl->w,
                         DEID_BOX_OCR, ei);
    }
    return e;
}

dv_err px_grow_boxes(const px_plane *pl, const px_boxes *words, uint32_t frame, px_boxes *out,
                     dv_errinfo *ei)
{
    uint32_t i, first = out->n;
    comps cs;
    dv_err e;

    e = label(pl, &cs, ei);
    for (i = 0; !e && i < words->n; i++) {
        const deid_box *w = &words->v[i];
        int64_t b[4] = {w->x, w->y, (int64_t)w->x + w->w, (int64_t)w->y + w->h};
        int64_t h0 = w->h ? w->h : 1, m;

        grow_one(&cs, b, h0);
        m = h0 / 6 + 2;
        e = px_boxes_add(out, frame, b[0] - m, b[1] - m, b[2] + m, b[3] + m, pl->h, pl->w,
                         DEID_BOX_OCR, ei);
    }
    if (!e)
        e = blob_boxes(pl, &cs, frame, out, first, ei);
    free(cs.v);
    return e;
}
