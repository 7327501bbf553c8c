/* SPDX-License-Identifier: Apache-2.0 */
/* align.c - the last step of the registration: the homography refined on every pixel at once
 * (Gauss-Newton on the leak's intensities, robust weights), to the fraction of a pixel the
 * mark's 4-pixel cells need -- feature points alone leave errors of a pixel or more, and a leak
 * of a few hundred pixels has few of them.
 *
 * The model: leak(H(u)) = f(original(u)) + noise, f the intensity curve (mean leak value per
 * quantile bin of the original, linear between bins: any window, gamma or negative).  Both
 * images are smoothed first (the first rounds coarser), the original sampled about once per
 * leak pixel, and coordinates normalised to about [-1, 1] so that the 8 unknowns are on one
 * scale.  A step is kept only when it lowers the robust cost.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mark/mark_int.h"

#include "common/banned.h"

#define NB          128 /* intensity curve bins */
#define MAX_SAMPLES 120000u
#define ITERS       10

typedef struct sample {
    float u, v; /* normalised original coordinates */
    float r;    /* smoothed original value */
    uint16_t bin;
    float t; /* position between bin centres, 0..1 */
} sample;

typedef struct aligner {
    sample *s;
    size_t n;
    float *l, *gx, *gy; /* smoothed leak and its gradient, w x h */
    uint32_t w, h;
    double cu, cv, su; /* original: centre and scale of the normalisation */
    double cx, cy, sx; /* leak */
    double y[NB];      /* the curve's values at the bin centres */
    double xc[NB];
} aligner;

/* Maps a normalised original point through hn to leak pixels. */
static int warp(const aligner *a, const double hn[9], double u, double v, double *x, double *y,
                double *xn, double *yn, double *q)
{
    *q = hn[6] * u + hn[7] * v + hn[8];
    if (fabs(*q) < 1e-9)
        return -1;
    *xn = (hn[0] * u + hn[1] * v + hn[2]) / *q;
    *yn = (hn[3] * u + hn[4] * v + hn[5]) / *q;
    *x = *xn / a->sx + a->cx;
    *y = *yn / a->sx + a->cy;
    return *x >= 2 && *y >= 2 && *x <= a->w - 3.0 && *y <= a->h - 3.0 ? 0 : -1;
}

static int cmp_r(const void *p, const void *q)
{
    float x = ((const sample *)p)->r, y = ((const sample *)q)->r;
    return x < y ? -1 : x > y;
}

/* Samples of the original, each with its curve bin (quantiles of the samples' values). */
static int make_samples(aligner *a, const mark_smooth *ref, uint32_t rw, uint32_t rh, double step,
                        double margin)
{
    size_t cap = (size_t)(rw / step + 1) * (size_t)(rh / step + 1), i, b, iu, iv;
    double u, v;

    while (cap > MAX_SAMPLES) {
        step *= 1.25;
        cap = (size_t)(rw / step + 1) * (size_t)(rh / step + 1);
    }
    a->s = malloc(cap * sizeof(*a->s));
    if (!a->s)
        return -1;
    a->n = 0;
    for (iv = 0; margin + (double)iv * step < rh - margin && a->n < cap; iv++)
        for (iu = 0; margin + (double)iu * step < rw - margin && a->n < cap; iu++) {
            u = margin + (double)iu * step;
            v = margin + (double)iv * step;
            a->s[a->n++] = (sample){(float)((u - a->cu) * a->su), (float)((v - a->cv) * a->su),
                                    mark_smooth_at(ref, u, v), 0, 0};
        }
    if (a->n < (size_t)4 * NB)
        return 1;
    qsort(a->s, a->n, sizeof(*a->s), cmp_r);
    for (b = 0; b < NB; b++) { /* bin centres: the mean value of each quantile bin */
        double sum = 0;
        size_t lo = a->n * b / NB, hi = a->n * (b + 1) / NB;
        for (i = lo; i < hi; i++) {
            sum += a->s[i].r;
            a->s[i].bin = (uint16_t)b;
        }
        a->xc[b] = sum / (double)(hi - lo);
    }
    for (i = 0; i < a->n; i++) { /* the segment between bin centres each sample lies on */
        b = a->s[i].bin;
        if (b > 0 && (b == NB - 1 || a->s[i].r < a->xc[b]))
            b--;
        a->s[i].bin = (uint16_t)b;
        a->s[i].t = a->xc[b + 1] > a->xc[b]
                        ? (float)((a->s[i].r - a->xc[b]) / (a->xc[b + 1] - a->xc[b]))
                        : 0.5f;
    }
    return 0;
}

/* The curve for the current hn: mean leak value per bin (empty bins keep their old value). */
static void fit_curve(aligner *a, const double hn[9])
{
    double sum[NB] = {0}, cnt[NB] = {0}, x, y, xn, yn, q;
    size_t i;
    int b;

    for (i = 0; i < a->n; i++) {
        const sample *s = &a->s[i];
        if (warp(a, hn, s->u, s->v, &x, &y, &xn, &yn, &q))
            continue;
        b = s->t < 0.5f ? s->bin : s->bin + 1;
        sum[b] += mark_bilinear(a->l, a->w, a->h, x, y);
        cnt[b] += 1;
    }
    for (b = 0; b < NB; b++)
        if (cnt[b] > 0)
            a->y[b] = sum[b] / cnt[b];
}

static double predict(const aligner *a, const sample *s)
{
    return a->y[s->bin] + (a->y[s->bin + 1] - a->y[s->bin]) * s->t;
}

/* Robust cost (Huber, scale k) and, when ata is given, the normal equations of one step. */
static double cost(const aligner *a, const double hn[9], double k, double *ata, double *atb,
                   size_t *used)
{
    double c = 0, x, y, xn, yn, q, e, wgt, j[8];
    size_t i;
    int p, r;

    *used = 0;
    for (i = 0; i < a->n; i++) {
        const sample *s = &a->s[i];
        if (warp(a, hn, s->u, s->v, &x, &y, &xn, &yn, &q))
            continue;
        e = mark_bilinear(a->l, a->w, a->h, x, y) - predict(a, s);
        wgt = fabs(e) <= k ? 1 : k / fabs(e);
        c += fabs(e) <= k ? e * e / 2 : k * (fabs(e) - k / 2);
        (*used)++;
        if (!ata)
            continue;
        {
            double gx = mark_bilinear(a->gx, a->w, a->h, x, y) / a->sx;
            double gy = mark_bilinear(a->gy, a->w, a->h, x, y) / a->sx;
            j[0] = gx * s->u / q;
            j[1] = gx * s->v / q;
            j[2] = gx / q;
            j[3] = gy * s->u / q;
            j[4] = gy * s->v / q;
            j[5] = gy / q;
            j[6] = -(gx * xn + gy * yn) * s->u / q;
            j[7] = -(gx * xn + gy * yn) * s->v / q;
        }
        for (p = 0; p < 8; p++) {
            atb[p] -= wgt * j[p] * e;
            for (r = p; r < 8; r++)
                ata[p * 8 + r] += wgt * j[p] * j[r];
        }
    }
    return *used ? c / (double)*used : INFINITY;
}

/* One damped Gauss-Newton step; 1 when it lowered the cost (hn updated). */
static int step(aligner *a, double hn[9], double k, double *c0)
{
    double ata[64] = {0}, atb[8] = {0}, trial[9], c1;
    size_t used, used1;
    int p, r;

    fit_curve(a, hn);
    *c0 = cost(a, hn, k, ata, atb, &used);
    if (used < 64)
        return 0;
    for (p = 0; p < 8; p++) {
        for (r = 0; r < p; r++)
            ata[p * 8 + r] = ata[r * 8 + p];
        ata[p * 8 + p] *= 1.0001;
    }
    if (mark_solve(ata, atb, 8))
        return 0;
    memcpy(trial, hn, sizeof(trial));
    for (p = 0; p < 8; p++)
        trial[p] += atb[p];
    c1 = cost(a, trial, k, NULL, NULL, &used1);
    if (!(c1 < *c0) || used1 < used / 2)
        return 0;
    memcpy(hn, trial, sizeof(trial));
    *c0 = c1;
    return 1;
}

/* Smoothed leak and its central-difference gradient. */
static int leak_images(aligner *a, const float *img, double sigma)
{
    size_t n = (size_t)a->w * a->h;
    float *tmp = malloc(n * sizeof(float));
    uint32_t x, y;

    if (!tmp)
        return -1;
    memcpy(a->l, img, n * sizeof(float));
    mark_blur(a->l, a->w, a->h, tmp, sigma);
    free(tmp);
    for (y = 0; y < a->h; y++)
        for (x = 0; x < a->w; x++) {
            size_t i = (size_t)y * a->w + x;
            a->gx[i] = x > 0 && x + 1 < a->w ? (a->l[i + 1] - a->l[i - 1]) / 2 : 0;
            a->gy[i] = y > 0 && y + 1 < a->h ? (a->l[i + a->w] - a->l[i - a->w]) / 2 : 0;
        }
    return 0;
}

/* hn = Tl * h * Tr^-1 (normalised coordinates), scaled so that hn[8] = 1. */
static void normalise_h(const aligner *a, const double h[9], double hn[9])
{
    const double tl[9] = {a->sx, 0, -a->sx * a->cx, 0, a->sx, -a->sx * a->cy, 0, 0, 1};
    const double tri[9] = {1 / a->su, 0, a->cu, 0, 1 / a->su, a->cv, 0, 0, 1};
    double m[9];
    int i;

    mark_mat3_mul(tl, h, m);
    mark_mat3_mul(m, tri, hn);
    for (i = 0; i < 9 && fabs(hn[8]) > 1e-12; i++)
        hn[i] /= i == 8 ? 1 : hn[8];
    hn[8] = fabs(hn[8]) > 1e-12 ? 1 : hn[8];
}

/* h = Tl^-1 * hn * Tr, scaled so that h[8] = 1; -1 when degenerate. */
static int denormalise_h(const aligner *a, const double hn[9], double h[9])
{
    const double tli[9] = {1 / a->sx, 0, a->cx, 0, 1 / a->sx, a->cy, 0, 0, 1};
    const double tr[9] = {a->su, 0, -a->su * a->cu, 0, a->su, -a->su * a->cv, 0, 0, 1};
    double m[9], o[9];
    int i;

    mark_mat3_mul(tli, hn, m);
    mark_mat3_mul(m, tr, o);
    if (fabs(o[8]) < 1e-12)
        return -1;
    for (i = 0; i < 9; i++)
        h[i] = o[i] / o[8];
    return 0;
}

/* The original smoothed like the leak will be (sigma leak pixels, at s leak pixels per original
 * pixel), sampled about once per leak pixel. */
static int round_samples(aligner *a, const float *ref, uint32_t rw, uint32_t rh, double s,
                         double sigma)
{
    mark_smooth sm;
    int rc;

    if (mark_smoothed(ref, rw, rh, sqrt(sigma * sigma + 0.25) / s, &sm))
        return -1;
    free(a->s);
    a->s = NULL;
    /* away from the border: the leak's surround, smoothed in, is not the original's */
    rc = make_samples(a, &sm, rw, rh, s < 1 ? 1 / s : 1, 1 + 3 * sigma / s);
    free(sm.p);
    return rc;
}

int mark_align(const float *ref, uint32_t rw, uint32_t rh, const float *img, uint32_t w, uint32_t h,
               double hom[9])
{
    static const double sigmas[3] = {4.0, 2.0, 1.0};
    aligner a;
    double hn[9], s, c = 0, k;
    size_t n = (size_t)w * h;
    int rc = -1, round, it, r;

    memset(&a, 0, sizeof(a));
    a.w = w;
    a.h = h;
    a.cu = rw / 2.0;
    a.cv = rh / 2.0;
    a.su = 2.0 / (rw > rh ? rw : rh);
    a.cx = w / 2.0;
    a.cy = h / 2.0;
    a.sx = 2.0 / (w > h ? w : h);
    s = sqrt(fabs(hom[0] * hom[4] - hom[1] * hom[3])); /* leak pixels per original pixel */
    s = s < 0.05 ? 0.05 : s > 20 ? 20 : s;
    a.l = malloc(n * sizeof(float));
    a.gx = malloc(n * sizeof(float));
    a.gy = malloc(n * sizeof(float));
    if (!a.l || !a.gx || !a.gy)
        goto out;
    normalise_h(&a, hom, hn);
    for (round = 0; round < 3; round++) {
        r = round_samples(&a, ref, rw, rh, s, sigmas[round]);
        if (r < 0 || leak_images(&a, img, sigmas[round]))
            goto out;
        if (r > 0) /* too small to refine */
            break;
        k = 1e9;
        for (it = 0; it < ITERS; it++) {
            if (!step(&a, hn, k, &c))
                break;
            k = 2 * sqrt(2 * c); /* about two noise deviations */
        }
    }
    rc = denormalise_h(&a, hn, hom) ? -1 : 0;
out:
    free(a.s);
    free(a.l);
    free(a.gx);
    free(a.gy);
    return rc;
}
