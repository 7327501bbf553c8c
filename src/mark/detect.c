/* SPDX-License-Identifier: Apache-2.0 */
/* detect.c - blind detection: whitening, folding modulo the tile under a candidate geometry,
 * sync search by FFT cross-correlation, soft decoding, false-positive probability.
 *
 * Whitening: r = image - local mean (box of about 7 x 7 marked pixels), divided by the local
 * RMS of r (box of about 17 x 17) and clipped to +-3, so that edges and flat areas weigh like
 * textured ones.  The fold F(u) is the mean of r over the pixels whose marked position is u
 * modulo the tile; its 8 x 8-periodic part (JPEG block edges) is removed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mark/geom.h"
#include "mark/mark_int.h"

#include "common/banned.h"

typedef struct detector {
    const float *img; /* normalised to 0..255 */
    uint32_t w, h;
    mark_layout lay;
    float *sre, *sim;        /* FFT of the sync pattern */
    float *r, *t1, *t2, *t3; /* w*h work buffers */
    float *fre, *fim, *fcnt; /* tile-sized work buffers */
    float tmp[2 * MARK_TILE];
    uint32_t nhyp;
    const uint64_t *cand; /* informed mode: the only payloads tested (NULL: blind decoding) */
    size_t ncand;
    uint32_t ngeom;
} detector;

static dv_err whiten(detector *d, double s)
{
    size_t n = (size_t)d->w * d->h;
    uint32_t r1 = (uint32_t)lrint(3 * s);
    uint32_t r2 = (uint32_t)lrint(8 * s);
    size_t i;

    r1 = r1 < 1 ? 1 : r1 > 12 ? 12 : r1;
    r2 = r2 < 4 ? 4 : r2 > 32 ? 32 : r2;
    if (mark_box_mean(d->img, d->t1, d->t2, d->w, d->h, r1))
        return DV_ENOMEM;
    for (i = 0; i < n; i++) {
        d->r[i] = d->img[i] - d->t1[i];
        d->t1[i] = d->r[i] * d->r[i];
    }
    if (mark_box_mean(d->t1, d->t3, d->t2, d->w, d->h, r2))
        return DV_ENOMEM;
    for (i = 0; i < n; i++) {
        float v = d->r[i] / (sqrtf(d->t3[i] > 0 ? d->t3[i] : 0) + 0.5f);
        d->r[i] = v > 3 ? 3 : v < -3 ? -3 : v;
    }
    return DV_OK;
}

/* Folds r under the inverse map ai (image -> marked) into fre (mean per tile position). */
static void fold(detector *d, const mark_geom *g)
{
    const double *ai = g->inv;
    uint32_t x;
    uint32_t y;
    uint32_t i;
    const uint32_t m = MARK_TILE - 1;
    double p8[64];
    double c8[64];

    memset(d->fre, 0, MARK_TT * sizeof(float));
    memset(d->fcnt, 0, MARK_TT * sizeof(float));
    for (y = g->y0; y < g->y1; y++) {
        double ux = ai[1] * y + ai[0] * g->x0 + 0.5;
        double uy = ai[3] * y + ai[2] * g->x0 + 0.5;
        const float *row = d->r + (size_t)y * d->w;
        for (x = g->x0; x < g->x1; x++) {
            uint32_t ix = (uint32_t)(int64_t)floor(ux) & m;
            uint32_t iy = (uint32_t)(int64_t)floor(uy) & m;
            d->fre[iy * MARK_TILE + ix] += row[x];
            d->fcnt[iy * MARK_TILE + ix] += 1;
            ux += ai[0];
            uy += ai[2];
        }
    }
    memset(p8, 0, sizeof(p8));
    memset(c8, 0, sizeof(c8));
    for (i = 0; i < MARK_TT; i++) {
        if (d->fcnt[i] > 0)
            d->fre[i] /= d->fcnt[i];
        p8[(i / MARK_TILE % 8) * 8 + i % 8] += d->fre[i];
        c8[(i / MARK_TILE % 8) * 8 + i % 8] += 1;
    }
    for (i = 0; i < MARK_TT; i++)
        d->fre[i] -=
            (float)(p8[(i / MARK_TILE % 8) * 8 + i % 8] / c8[(i / MARK_TILE % 8) * 8 + i % 8]);
}

/* Cross-correlates the fold with the sync pattern; returns the offset of the strongest peak
 * (either sign), its z-score and polarity.  Shifts are normalised within their phase class
 * (shift modulo the cell size): cell-aligned shifts spread more than the others, and a single
 * spread for all would overstate their peaks. */
static void sync_search(detector *d, uint32_t *off, double *z, int *pol)
{
    double sum[MARK_CELL * MARK_CELL];
    double sq[MARK_CELL * MARK_CELL];
    double cnt = (double)MARK_TT / (MARK_CELL * MARK_CELL);
    double best = 0;
    uint32_t i;

    memset(d->fim, 0, MARK_TT * sizeof(float));
    mark_fft2(d->fre, d->fim, MARK_TILE, 0, d->tmp);
    for (i = 0; i < MARK_TT; i++) {
        float a = d->fre[i] * d->sre[i] + d->fim[i] * d->sim[i];
        float b = d->fim[i] * d->sre[i] - d->fre[i] * d->sim[i];
        d->fre[i] = a;
        d->fim[i] = b;
    }
    mark_fft2(d->fre, d->fim, MARK_TILE, 1, d->tmp);
    memset(sum, 0, sizeof(sum));
    memset(sq, 0, sizeof(sq));
    for (i = 0; i < MARK_TT; i++) {
        uint32_t k = (i / MARK_TILE % MARK_CELL) * MARK_CELL + i % MARK_CELL;
        sum[k] += d->fre[i];
        sq[k] += (double)d->fre[i] * d->fre[i];
    }
    *off = 0;
    *z = 0;
    *pol = 1;
    for (i = 0; i < MARK_TT; i++) {
        uint32_t k = (i / MARK_TILE % MARK_CELL) * MARK_CELL + i % MARK_CELL;
        double mean = sum[k] / cnt;
        double var = sq[k] / cnt - mean * mean;
        double zz = var > 0 ? (d->fre[i] - mean) / sqrt(var) : 0;
        if (fabs(zz) > best) {
            best = fabs(zz);
            *off = i;
            *z = best;
            *pol = zz < 0 ? -1 : 1;
        }
    }
}

/* Soft values of the coded bits from the fold (restored into fre by the caller). */
static void soft_bits(const detector *d, const float *f, uint32_t off, int pol,
                      float soft[MARK_CODED_BITS])
{
    uint32_t dx = off % MARK_TILE;
    uint32_t dy = off / MARK_TILE;
    double acc[MARK_CODED_BITS];
    double e = 0;
    uint32_t c;
    uint32_t x;
    uint32_t y;
    int i;

    memset(acc, 0, sizeof(acc));
    for (c = 0; c < MARK_NCELLS; c++) {
        double v = 0;
        if (d->lay.bit[c] < 0)
            continue;
        for (y = 0; y < MARK_CELL; y++)
            for (x = 0; x < MARK_CELL; x++) {
                uint32_t ux = ((c % MARK_CSIDE) * MARK_CELL + x + dx) % MARK_TILE;
                uint32_t uy = ((c / MARK_CSIDE) * MARK_CELL + y + dy) % MARK_TILE;
                v += f[uy * MARK_TILE + ux];
            }
        acc[d->lay.bit[c]] += pol * d->lay.sign[c] * v;
    }
    for (i = 0; i < MARK_CODED_BITS; i++)
        e += acc[i] * acc[i];
    e = e > 0 ? sqrt(e / MARK_CODED_BITS) : 1;
    for (i = 0; i < MARK_CODED_BITS; i++)
        soft[i] = (float)(acc[i] / e);
}

/* Informed mode: the soft values against each candidate's codeword.  Under no mark (or another
 * payload) the normalised correlation is about N(0, 1); the false-positive probability counts
 * every candidate, geometry and polarity. */
static void informed(const detector *d, const float soft[MARK_CODED_BITS], mark_result *r)
{
    uint8_t coded[MARK_CODED_BITS];
    double best_t = -INFINITY, t, p;
    size_t k;
    uint32_t i, errs = 0;

    for (k = 0; k < d->ncand; k++) {
        mark_code_encode(d->cand[k], d->lay.crc_mask, coded);
        t = 0;
        for (i = 0; i < MARK_CODED_BITS; i++)
            t += coded[i] ? soft[i] : -soft[i];
        t /= sqrt((double)MARK_CODED_BITS);
        if (t > best_t) {
            best_t = t;
            r->payload = d->cand[k];
        }
    }
    mark_code_encode(r->payload, d->lay.crc_mask, coded);
    for (i = 0; i < MARK_CODED_BITS; i++)
        errs += (soft[i] > 0) != (coded[i] != 0);
    p = (double)d->ncand * d->ngeom * 2 * mark_q(best_t);
    r->fp_probability = p < 1 ? p : 1;
    r->bit_errors = errs;
    r->hypotheses =
        (uint32_t)(d->ncand * d->ngeom * 2 < UINT32_MAX ? d->ncand * d->ngeom * 2 : UINT32_MAX);
    r->found = best_t > 0 && r->fp_probability < MARK_FP_MAX;
}

static dv_err try_geometry(detector *d, const mark_geom *g, mark_result *best)
{
    float *fold_copy = d->fcnt; /* fcnt is free after fold() */
    float soft[MARK_CODED_BITS];
    mark_result r;
    uint32_t off;
    double z;
    int pol;
    dv_err e;

    e = whiten(d, g->scale);
    if (e)
        return e;
    fold(d, g);
    memcpy(fold_copy, d->fre, MARK_TT * sizeof(float));
    sync_search(d, &off, &z, &pol);
    memset(&r, 0, sizeof(r));
    soft_bits(d, fold_copy, off, pol, soft);
    r.sync_z = z;
    if (d->ncand) {
        informed(d, soft, &r);
    } else {
        r.fp_probability = (double)d->nhyp * mark_q(z) / 16777216.0;
        r.found = mark_code_decode(soft, d->lay.crc_mask, &r.payload, &r.bit_errors) &&
                  r.fp_probability < MARK_FP_MAX;
        r.hypotheses = d->nhyp;
    }
    r.scale = g->scale;
    r.angle_deg = g->angle_deg;
    memcpy(r.a, g->fwd, sizeof(r.a));
    r.offset_x = off % MARK_TILE;
    r.offset_y = off / MARK_TILE;
    r.inverted = pol < 0;
    if (!r.found)
        r.payload = 0;
    if (r.found || (!best->found &&
                    (d->ncand ? r.fp_probability < best->fp_probability : r.sync_z > best->sync_z)))
        *best = r;
    return DV_OK;
}

/* The known geometry (the residual of the informed mode lies on the marked grid): identity,
 * tile origin within +-radius pixels of the image's corner, both polarities; every candidate
 * at every offset and polarity is counted in the false-positive probability. */
static dv_err try_known(detector *d, uint32_t radius, mark_result *best)
{
    float soft[MARK_CODED_BITS];
    mark_geom g;
    mark_result r;
    int dx, dy, pol, rad = (int)radius;
    uint32_t i;
    dv_err e;

    memset(&g, 0, sizeof(g));
    g.fwd[0] = g.fwd[3] = g.inv[0] = g.inv[3] = 1;
    g.scale = 1;
    g.x1 = d->w;
    g.y1 = d->h;
    e = whiten(d, 1);
    if (e)
        return e;
    fold(d, &g);
    d->ngeom = (uint32_t)((2 * rad + 1) * (2 * rad + 1));
    for (dy = -rad; dy <= rad; dy++)
        for (dx = -rad; dx <= rad; dx++)
            for (pol = -1; pol <= 1; pol += 2) {
                uint32_t off = ((uint32_t)(dy + MARK_TILE) % MARK_TILE) * MARK_TILE +
                               (uint32_t)(dx + MARK_TILE) % MARK_TILE;
                memset(&r, 0, sizeof(r));
                soft_bits(d, d->fre, off, pol, soft);
                informed(d, soft, &r);
                if (r.fp_probability < best->fp_probability) {
                    *best = r;
                    best->offset_x = off % MARK_TILE;
                    best->offset_y = off / MARK_TILE;
                    best->inverted = pol < 0;
                    best->scale = 1;
                    best->a[0] = best->a[3] = 1;
                }
            }
    for (i = 0; i < 4; i++)
        best->a[i] = i == 0 || i == 3;
    if (!best->found)
        best->payload = 0;
    return DV_OK;
}

static dv_err make_sync(detector *d)
{
    uint32_t i;

    for (i = 0; i < MARK_TT; i++) {
        uint32_t c = (i / MARK_TILE / MARK_CELL) * MARK_CSIDE + (i % MARK_TILE) / MARK_CELL;
        d->sre[i] = d->lay.bit[c] < 0 ? d->lay.sign[c] : 0;
        d->sim[i] = 0;
    }
    mark_fft2(d->sre, d->sim, MARK_TILE, 0, d->tmp);
    return DV_OK;
}

static dv_err run(detector *d, mark_result *res, dv_errinfo *ei)
{
    mark_geom g[MARK_GEOM_MAX];
    uint32_t ng = 0;
    uint32_t i;
    dv_err e;

    e = mark_geom_candidates(d->img, d->w, d->h, g, &ng, ei);
    if (e)
        return e;
    d->nhyp = (uint32_t)((size_t)ng * 2 * MARK_TT);
    d->ngeom = ng;
    for (i = 0; i < ng && !res->found; i++) {
        e = try_geometry(d, &g[i], res);
        if (e)
            return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "mark: out of memory in detection");
    }
    return DV_OK;
}

static float *normalised(const float *px, size_t n, dv_errinfo *ei, dv_err *e)
{
    float lo = INFINITY;
    float hi = -INFINITY;
    float *img;
    float k;
    size_t i;

    for (i = 0; i < n; i++) {
        if (!isfinite(px[i])) {
            *e = dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "mark: non-finite sample");
            return NULL;
        }
        lo = px[i] < lo ? px[i] : lo;
        hi = px[i] > hi ? px[i] : hi;
    }
    img = malloc(n * sizeof(float));
    if (!img) {
        *e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "mark: out of memory");
        return NULL;
    }
    k = hi > lo ? 255.0f / (hi - lo) : 0;
    for (i = 0; i < n; i++)
        img[i] = (px[i] - lo) * k;
    return img;
}

static dv_err detect(const crypto_key *key, const float *px, uint32_t w, uint32_t h,
                     const uint64_t *cand, size_t ncand, int known, uint32_t radius,
                     mark_result *res, dv_errinfo *ei)
{
    detector d;
    size_t n = (size_t)w * h;
    dv_err e = DV_OK;

    memset(res, 0, sizeof(*res));
    res->fp_probability = 1;
    res->scale = 1;
    if (w == 0 || h == 0)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "mark: empty image");
    if ((uint64_t)w * h > MARK_MAX_PIXELS)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "mark: image over %u pixels",
                       MARK_MAX_PIXELS);
    if (w < MARK_MIN_SIDE || h < MARK_MIN_SIDE)
        return DV_OK;
    memset(&d, 0, sizeof(d));
    d.w = w;
    d.h = h;
    d.cand = cand;
    d.ncand = cand ? ncand : 0;
    e = mark_layout_make(key, &d.lay, ei);
    if (e)
        return e;
    d.img = normalised(px, n, ei, &e);
    if (!d.img)
        return e;
    d.r = malloc(n * sizeof(float));
    d.t1 = malloc(n * sizeof(float));
    d.t2 = malloc(n * sizeof(float));
    d.t3 = malloc(n * sizeof(float));
    d.sre = malloc(5 * MARK_TT * sizeof(float));
    if (!d.r || !d.t1 || !d.t2 || !d.t3 || !d.sre) {
        e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "mark: out of memory");
    } else {
        d.sim = d.sre + MARK_TT;
        d.fre = d.sim + MARK_TT;
        d.fim = d.fre + MARK_TT;
        d.fcnt = d.fim + MARK_TT;
        e = make_sync(&d);
        if (!e && known)
            e = try_known(&d, radius, res) ? dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG,
                                                     "mark: out of memory in detection")
                                           : DV_OK;
        else if (!e)
            e = run(&d, res, ei);
    }
    free((void *)d.img);
    free(d.r);
    free(d.t1);
    free(d.t2);
    free(d.t3);
    free(d.sre);
    return e;
}

dv_err mark_detect_float(const crypto_key *key, const float *px, uint32_t w, uint32_t h,
                         const uint64_t *cand, size_t ncand, mark_result *res, dv_errinfo *ei)
{
    return detect(key, px, w, h, cand, ncand, 0, 0, res, ei);
}

dv_err mark_detect_float_known(const crypto_key *key, const float *px, uint32_t w, uint32_t h,
                               const uint64_t *cand, size_t ncand, uint32_t radius,
                               mark_result *res, dv_errinfo *ei)
{
    if (!cand || !ncand || radius > MARK_TILE / 4) {
        memset(res, 0, sizeof(*res));
        res->fp_probability = 1;
        return DV_OK;
    }
    return detect(key, px, w, h, cand, ncand, 1, radius, res, ei);
}

dv_err mark_detect(const crypto_key *key, const float *px, uint32_t w, uint32_t h, mark_result *res,
                   dv_errinfo *ei)
{
    return detect(key, px, w, h, NULL, 0, 0, 0, res, ei);
}

static dv_err detect_image(const crypto_key *key, const render_image *im, const uint64_t *cand,
                           size_t ncand, mark_result *res, dv_errinfo *ei)
{
    size_t n = (size_t)im->width * im->height;
    float *px;
    size_t i;
    dv_err e;

    memset(res, 0, sizeof(*res));
    res->fp_probability = 1;
    if (!im->pixels || n == 0 || (im->channels != 1 && im->channels != 3))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "mark: not an 8-bit gray/RGB image");
    if ((uint64_t)im->width * im->height > MARK_MAX_PIXELS)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "mark: image over %u pixels",
                       MARK_MAX_PIXELS);
    px = malloc(n * sizeof(float));
    if (!px)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "mark: out of memory");
    for (i = 0; i < n; i++) {
        const uint8_t *p = im->pixels + i * im->channels;
        px[i] = im->channels == 1 ? p[0] : .299f * p[0] + .587f * p[1] + .114f * p[2];
    }
    e = detect(key, px, im->width, im->height, cand, ncand, 0, 0, res, ei);
    free(px);
    return e;
}

dv_err mark_detect_image(const crypto_key *key, const render_image *im, mark_result *res,
                         dv_errinfo *ei)
{
    return detect_image(key, im, NULL, 0, res, ei);
}

dv_err mark_detect_image_candidates(const crypto_key *key, const render_image *im,
                                    const uint64_t *cand, size_t ncand, mark_result *res,
                                    dv_errinfo *ei)
{
    if (!ncand) {
        memset(res, 0, sizeof(*res));
        res->fp_probability = 1;
        return DV_OK;
    }
    return detect_image(key, im, cand, ncand, res, ei);
}
