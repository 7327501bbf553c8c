/* SPDX-License-Identifier: Apache-2.0 */
/* geom.c - finds the tile lattice (scale, rotation, any affine) from the autocorrelation of a
 * whitened central crop of at most 1024 x 1024 pixels.
 *
 * The tiling makes the whitened image periodic, so its autocorrelation has peaks at the lattice
 * vectors v1 (the tile's x axis) and v2 (its y axis).  JPEG block edges (period 8 along the
 * image axes) are removed by zeroing the spectral lines of period 8 before the inverse FFT.
 * Peaks are searched in an annulus of radii 0.45..2.2 tiles, within 10 degrees of the axes,
 * refined to sub-pixel precision (parabola) and through their harmonics 2 v, 3 v ...
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mark/geom.h"
#include "mark/mark_int.h"

#include "common/banned.h"

#define MAX_N      1024u
#define MIN_N      256u
#define ANGLE_MAX  10.0 /* degrees */
#define Z_MIN      4.5
#define CLIP_POWER 20.0 /* times the mean power */

typedef struct acf {
    float *a; /* N x N autocorrelation, lag (dx, dy) at ((dy mod N) N + dx mod N) */
    uint32_t n;
    double mean, sd; /* over the search annulus */
} acf;

static float at(const acf *c, long dx, long dy)
{
    long n = (long)c->n;
    return c->a[(size_t)(((dy % n) + n) % n) * c->n + (size_t)(((dx % n) + n) % n)];
}

static void set_identity(mark_geom *g, uint32_t w, uint32_t h)
{
    memset(g, 0, sizeof(*g));
    g->x1 = w;
    g->y1 = h;
    g->fwd[0] = g->fwd[3] = g->inv[0] = g->inv[3] = 1;
    g->scale = 1;
}

static dv_err whiten_crop(const float *img, uint32_t w, uint32_t h, uint32_t n, uint32_t rad,
                          float *re, float *t1, float *t2, float *t3)
{
    uint32_t x0 = (w - n) / 2;
    uint32_t y0 = (h - n) / 2;
    size_t nn = (size_t)n * n;
    double mean = 0;
    uint32_t y;
    size_t i;

    for (y = 0; y < n; y++)
        memcpy(re + (size_t)y * n, img + (size_t)(y0 + y) * w + x0, n * sizeof(float));
    if (mark_box_mean(re, t1, t2, n, n, rad))
        return DV_ENOMEM;
    for (i = 0; i < nn; i++) {
        re[i] -= t1[i];
        t2[i] = re[i] * re[i];
    }
    if (mark_box_mean(t2, t1, t3, n, n, 8))
        return DV_ENOMEM;
    for (i = 0; i < nn; i++) {
        float v = re[i] / (sqrtf(t1[i] > 0 ? t1[i] : 0) + 0.5f);
        re[i] = v > 3 ? 3 : v < -3 ? -3 : v;
        mean += re[i];
    }
    mean /= (double)nn;
    for (i = 0; i < nn; i++)
        re[i] -= (float)mean;
    return DV_OK;
}

/* Autocorrelation by FFT, period-8 lines (and the axes) removed from the power spectrum and
 * outliers clipped. */
static void autocorr(float *re, float *im, uint32_t n, float *tmp)
{
    size_t nn = (size_t)n * n;
    uint32_t x;
    uint32_t y;
    size_t i;

    memset(im, 0, nn * sizeof(float));
    double mean = 0;
    float cap;

    mark_fft2(re, im, n, 0, tmp);
    for (y = 0; y < n; y++) {
        for (x = 0; x < n; x++) {
            i = (size_t)y * n + x;
            re[i] = re[i] * re[i] + im[i] * im[i];
            im[i] = 0;
            if (x % (n / 8) == 0 || y % (n / 8) == 0)
                re[i] = 0;
            mean += re[i];
        }
    }
    /* a strong periodic pattern (moire, a screen's pixel grid) is a few spectral lines far
     * above the rest: clip them, the tile's comb of many weak lines stays */
    cap = (float)(CLIP_POWER * mean / (double)nn);
    for (i = 0; i < nn; i++)
        re[i] = re[i] > cap ? cap : re[i];
    mark_fft2(re, im, n, 1, tmp);
}

static double rmin(void)
{
    return 0.45 * MARK_TILE;
}

static double rmax(const acf *c)
{
    double r = 2.2 * MARK_TILE;
    return r < c->n / 2.0 - 6 ? r : c->n / 2.0 - 6;
}

static void annulus_stats(acf *c)
{
    long r = (long)rmax(c);
    double s = 0;
    double q = 0;
    double k = 0;
    long dx;
    long dy;

    for (dy = 0; dy <= r; dy++)
        for (dx = -r; dx <= r; dx++) {
            double rr = sqrt((double)dx * dx + (double)dy * dy);
            if (rr < rmin() || rr > r)
                continue;
            s += at(c, dx, dy);
            q += (double)at(c, dx, dy) * at(c, dx, dy);
            k++;
        }
    c->mean = k > 0 ? s / k : 0;
    c->sd = k > 0 ? sqrt(q / k - c->mean * c->mean) : 0;
}

/* The K strongest local maxima within ANGLE_MAX of the x axis in the annulus. */
#define TOPK 8
static uint32_t top_peaks(const acf *c, long px[TOPK], long py[TOPK])
{
    long r = (long)rmax(c);
    float val[TOPK];
    uint32_t n = 0;
    uint32_t i;
    long dx;
    long dy;

    for (dy = -r; dy <= r; dy++)
        for (dx = 1; dx <= r; dx++) {
            double rr = sqrt((double)dx * dx + (double)dy * dy);
            double a = atan2((double)dy, (double)dx) * 180 / M_PI;
            float v = at(c, dx, dy);
            if (rr < rmin() || rr > r || fabs(a) > ANGLE_MAX || v < at(c, dx - 1, dy) ||
                v < at(c, dx + 1, dy) || v < at(c, dx, dy - 1) || v < at(c, dx, dy + 1))
                continue;
            if (n == TOPK && v <= val[TOPK - 1])
                continue;
            i = n < TOPK ? n++ : TOPK - 1;
            for (; i > 0 && val[i - 1] < v; i--) {
                val[i] = val[i - 1];
                px[i] = px[i - 1];
                py[i] = py[i - 1];
            }
            val[i] = v;
            px[i] = dx;
            py[i] = dy;
        }
    return n;
}

/* Largest value within +-rad of (x, y): position and value. */
static float local_max(const acf *c, long *x, long *y, long rad)
{
    long bx = *x;
    long by = *y;
    long dx;
    long dy;

    for (dy = -rad; dy <= rad; dy++)
        for (dx = -rad; dx <= rad; dx++)
            if (at(c, *x + dx, *y + dy) > at(c, bx, by)) {
                bx = *x + dx;
                by = *y + dy;
            }
    *x = bx;
    *y = by;
    return at(c, bx, by);
}

static double parab(float l, float m, float r)
{
    double den = (double)l - 2.0 * m + r;
    double o = den < 0 ? 0.5 * ((double)l - r) / den : 0;
    return o > 0.5 ? 0.5 : o < -0.5 ? -0.5 : o;
}

/* Refines peak p (integer lag) through its sub-pixel position and its harmonics. */
static void refine(const acf *c, long px, long py, double *vx, double *vy)
{
    float v0 = at(c, px, py);
    long k;

    *vx = px + parab(at(c, px - 1, py), v0, at(c, px + 1, py));
    *vy = py + parab(at(c, px, py - 1), v0, at(c, px, py + 1));
    for (k = 2; k < 8; k++) {
        long hx = lrint(*vx * k);
        long hy = lrint(*vy * k);
        float hv;
        if (sqrt((double)hx * hx + (double)hy * hy) > c->n / 2.0 - 4)
            break;
        hv = local_max(c, &hx, &hy, 2);
        if (hv < 0.25f * v0 || (hv - c->mean) < Z_MIN * c->sd)
            break;
        *vx = (hx + parab(at(c, hx - 1, hy), hv, at(c, hx + 1, hy))) / k;
        *vy = (hy + parab(at(c, hx, hy - 1), hv, at(c, hx, hy + 1))) / k;
    }
}

static double zof(const acf *c, float v)
{
    return (v - c->mean) / c->sd;
}

/* Scores v1 = (px, py) as a lattice vector: v2 searched near v1 turned by 90 degrees, the
 * diagonal v1 + v2 checked; the score is the smallest z of the three (0 when one is weak). */
static double lattice_score(const acf *c, long px, long py, long *qx, long *qy)
{
    long rad = (long)(0.1 * sqrt((double)px * px + (double)py * py)) + 2;
    long dx;
    long dy;
    double z1 = zof(c, at(c, px, py));
    double z2;
    double z3;

    *qx = -py;
    *qy = px;
    (void)local_max(c, qx, qy, rad);
    z2 = zof(c, at(c, *qx, *qy));
    dx = px + *qx;
    dy = py + *qy;
    z3 = zof(c, local_max(c, &dx, &dy, 2));
    z1 = z1 < z2 ? z1 : z2;
    return z1 < z3 ? z1 : z3;
}

/* Finds the lattice (v1, v2) with the best score; 0 when none is significant. */
static int find_lattice(const acf *c, double v[4])
{
    long px[TOPK];
    long py[TOPK];
    long qx;
    long qy;
    long bx[2] = {0, 0};
    long by[2] = {0, 0};
    double best = Z_MIN;
    uint32_t n;
    uint32_t i;

    if (!(c->sd > 0))
        return 0;
    n = top_peaks(c, px, py);
    for (i = 0; i < n; i++) {
        double sc = lattice_score(c, px[i], py[i], &qx, &qy);
        if (sc > best) {
            best = sc;
            bx[0] = px[i];
            by[0] = py[i];
            bx[1] = qx;
            by[1] = qy;
        }
    }
    if (best <= Z_MIN)
        return 0;
    for (i = 0; i < 2; i++) { /* a harmonic 2 v found first: take v when it is a lattice too */
        long hx = bx[0] / 2;
        long hy = by[0] / 2;
        if (sqrt((double)hx * hx + (double)hy * hy) < rmin())
            break;
        (void)local_max(c, &hx, &hy, 1);
        if (lattice_score(c, hx, hy, &qx, &qy) <= Z_MIN)
            break;
        bx[0] = hx;
        by[0] = hy;
        bx[1] = qx;
        by[1] = qy;
    }
    refine(c, bx[0], by[0], &v[0], &v[1]);
    refine(c, bx[1], by[1], &v[2], &v[3]);
    return 1;
}

static int make_geom(double v1x, double v1y, double v2x, double v2y, mark_geom *g)
{
    double det;

    g->fwd[0] = v1x / MARK_TILE;
    g->fwd[1] = v2x / MARK_TILE;
    g->fwd[2] = v1y / MARK_TILE;
    g->fwd[3] = v2y / MARK_TILE;
    det = g->fwd[0] * g->fwd[3] - g->fwd[1] * g->fwd[2];
    if (!(fabs(det) > 0.1))
        return 0;
    g->inv[0] = g->fwd[3] / det;
    g->inv[1] = -g->fwd[1] / det;
    g->inv[2] = -g->fwd[2] / det;
    g->inv[3] = g->fwd[0] / det;
    g->scale = sqrt(fabs(det));
    g->angle_deg = atan2(v1y, v1x) * 180 / M_PI;
    return g->scale >= 0.4 && g->scale <= 2.3;
}

/* Differs enough from every candidate so far to be worth a try. */
static int is_new(const mark_geom *g, uint32_t n, const mark_geom *c)
{
    uint32_t i;
    int k;

    for (i = 0; i < n; i++) {
        double d = 0;
        for (k = 0; k < 4; k++)
            d = fmax(d, fabs(g[i].fwd[k] - c->fwd[k]));
        if (d < 2e-3)
            return 0;
    }
    return 1;
}

/* Autocorrelation of the central nn x nn crop whitened with rad; a new lattice goes to g. */
static dv_err try_crop(const float *img, uint32_t w, uint32_t h, uint32_t nn, uint32_t rad,
                       int local, mark_geom *g, uint32_t *n)
{
    float *buf = malloc((size_t)4 * nn * nn * sizeof(float) + (size_t)2 * nn * sizeof(float));
    acf c;
    double v[4];
    mark_geom cand;
    dv_err e;

    if (!buf)
        return DV_ENOMEM;
    memset(&c, 0, sizeof(c));
    c.a = buf;
    c.n = nn;
    e = whiten_crop(img, w, h, nn, rad, buf, buf + 2 * (size_t)nn * nn, buf + 3 * (size_t)nn * nn,
                    buf + (size_t)nn * nn);
    if (!e) {
        autocorr(buf, buf + (size_t)nn * nn, nn, buf + 4 * (size_t)nn * nn);
        annulus_stats(&c);
    }
    set_identity(&cand, w, h);
    if (local) {
        cand.x0 = (w - nn) / 2;
        cand.y0 = (h - nn) / 2;
        cand.x1 = cand.x0 + nn;
        cand.y1 = cand.y0 + nn;
    }
    if (!e && find_lattice(&c, v) && make_geom(v[0], v[1], v[2], v[3], &cand) &&
        (local || is_new(g, *n, &cand)))
        g[(*n)++] = cand;
    free(buf);
    return e;
}

dv_err mark_geom_candidates(const float *img, uint32_t w, uint32_t h, mark_geom *g, uint32_t *n,
                            dv_errinfo *ei)
{
    uint32_t side = w < h ? w : h;
    uint32_t nn = MAX_N;
    dv_err e = DV_OK;

    set_identity(&g[0], w, h);
    *n = 1;
    while (nn > side)
        nn /= 2;
    if (nn < MIN_N)
        return DV_OK;
    e = try_crop(img, w, h, nn, 2, 0, g, n); /* fine detail */
    if (!e)
        e = try_crop(img, w, h, nn, 4, 0, g, n); /* what JPEG leaves */
    if (!e && nn == MAX_N)
        e = try_crop(img, w, h, nn / 2, 3, 1, g, n); /* local: perspective */
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "mark: out of memory");
    return DV_OK;
}
