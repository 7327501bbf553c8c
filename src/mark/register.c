/* SPDX-License-Identifier: Apache-2.0 */
/* register.c - the informed mode's registration: a leaked copy (a photo, a crop, a re-saved
 * file) aligned to the original it was made from, by features and a homography.
 *
 * Features: Harris corners on a half-octave pyramid of each image (so that any scale from 1/4 to
 * 4 meets a level within 2^(1/4)), each described by the 8 x 8 block means of its 32 x 32
 * neighbourhood at its own level, zero-mean and unit-norm (a window, gamma or level change is
 * about an affine change of intensity over so small a patch).  Descriptors are upright: the
 * blind lattice search already covers small rotations; the eight flips and quarter turns of
 * the leak and its negative are the same keypoints with permuted or negated descriptors, so
 * they cost one matching pass each and no new detection.
 * Matching: nearest neighbour with Lowe's ratio test; the homography by RANSAC over 4-point
 * samples (normalised DLT), refitted by least squares on its inliers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mark/mark_int.h"

#include "common/banned.h"

#define PYR_TOP      1024 /* largest level side */
#define PYR_MIN      64   /* smallest level side */
#define PYR_LEVELS   12
#define KP_PER_LEVEL 256
#define KP_GRID      4 /* keypoints are spread over a KP_GRID x KP_GRID grid of each level */
#define DESC_R       16
#define DESC_N       64
#define RATIO        0.85f
#define MIN_COS      0.6f
#define RANSAC_ITERS 2000
#define MIN_INLIERS  16
#define MIN_SHARE    15 /* per cent of the matches: chance consensus among wrong matches is lower */
#define MAX_MATCHES  8192

typedef struct fimg {
    float *p;
    uint32_t w, h;
} fimg;

typedef struct kpt {
    float x, y;  /* full-resolution coordinates */
    float unit;  /* full-resolution pixels per level pixel */
    float score; /* Harris response */
    float d[DESC_N];
} kpt;

typedef struct kset {
    kpt *k;
    size_t n, cap;
} kset;

typedef struct match {
    double u, v; /* reference */
    double x, y; /* leak */
    double tol;  /* leak pixels */
} match;

/* ---- small image tools ------------------------------------------------------------------ */

static void fimg_free(fimg *f)
{
    free(f->p);
    f->p = NULL;
}

static int fimg_alloc(fimg *f, uint32_t w, uint32_t h)
{
    f->w = w;
    f->h = h;
    f->p = malloc((size_t)w * h * sizeof(float));
    return f->p ? 0 : -1;
}

/* Separable Gaussian blur in place; tmp holds w*h floats. */
static void blur(fimg *f, float *tmp, double sigma)
{
    mark_blur(f->p, f->w, f->h, tmp, sigma);
}

void mark_blur(float *px, uint32_t w, uint32_t h, float *tmp, double sigma)
{
    float k[64] = {0};
    int r = (int)ceil(3 * sigma), i, x, y, iw = (int)w, ih = (int)h;
    double s = 0;

    if (sigma < 0.2)
        return;
    r = r > 31 ? 31 : r;
    for (i = -r; i <= r; i++) {
        k[i + r] = (float)exp(-0.5 * i * i / (sigma * sigma));
        s += k[i + r];
    }
    for (i = 0; i <= 2 * r; i++)
        k[i] = (float)(k[i] / s);
    for (y = 0; y < ih; y++) { /* rows into tmp, clamped at the borders */
        const float *row = px + (size_t)y * w;
        for (x = 0; x < iw; x++) {
            float a = 0;
            for (i = -r; i <= r; i++)
                a += k[i + r] * row[x + i < 0 ? 0 : x + i >= iw ? iw - 1 : x + i];
            tmp[(size_t)y * w + x] = a;
        }
    }
    for (y = 0; y < ih; y++) /* columns back into px */
        for (x = 0; x < iw; x++) {
            float a = 0;
            for (i = -r; i <= r; i++)
                a += k[i + r] * tmp[(size_t)(y + i < 0 ? 0 : y + i >= ih ? ih - 1 : y + i) * w + x];
            px[(size_t)y * w + x] = a;
        }
}

/* Bilinear sample with clamped borders. */
static float sample(const fimg *f, double x, double y)
{
    return mark_bilinear(f->p, f->w, f->h, x, y);
}

float mark_bilinear(const float *p, uint32_t w, uint32_t h, double x, double y)
{
    double fx, fy;
    long x0, y0, x1, y1;

    x = x < 0 ? 0 : x > w - 1 ? w - 1 : x;
    y = y < 0 ? 0 : y > h - 1 ? h - 1 : y;
    x0 = (long)x;
    y0 = (long)y;
    x1 = x0 + 1 < (long)w ? x0 + 1 : x0;
    y1 = y0 + 1 < (long)h ? y0 + 1 : y0;
    fx = x - x0;
    fy = y - y0;
    return (float)((1 - fy) * ((1 - fx) * p[y0 * w + x0] + fx * p[y0 * w + x1]) +
                   fy * ((1 - fx) * p[y1 * w + x0] + fx * p[y1 * w + x1]));
}

/* dst (already sized) = src resampled, anti-aliased by a Gaussian first (src is changed). */
static int resize(fimg *src, fimg *dst)
{
    double sx = (double)dst->w / src->w;
    double sy = (double)dst->h / src->h;
    double s = sx < sy ? sx : sy;
    float *tmp = malloc((size_t)src->w * src->h * sizeof(float));
    uint32_t x, y;

    if (!tmp)
        return -1;
    if (s < 1)
        blur(src, tmp, 0.5 * sqrt(1 / (s * s) - 1));
    free(tmp);
    for (y = 0; y < dst->h; y++)
        for (x = 0; x < dst->w; x++)
            dst->p[(size_t)y * dst->w + x] =
                sample(src, (x + 0.5) / sx - 0.5, (y + 0.5) / sy - 0.5);
    return 0;
}

/* Box average by an integer factor m (fast first step for large images). */
static int shrink(const float *px, uint32_t w, uint32_t h, uint32_t m, fimg *out)
{
    uint32_t x, y, i, j;

    if (fimg_alloc(out, w / m, h / m))
        return -1;
    for (y = 0; y < out->h; y++)
        for (x = 0; x < out->w; x++) {
            float a = 0;
            for (j = 0; j < m; j++)
                for (i = 0; i < m; i++)
                    a += px[((size_t)y * m + j) * w + (size_t)x * m + i];
            out->p[(size_t)y * out->w + x] = a / (float)(m * m);
        }
    return 0;
}

/* A copy of px smoothed by sigma (source pixels): box-shrunk by an integer factor first when the
 * blur is wide (a box of m pixels stands for a Gaussian of about 0.29 m), the rest by a
 * Gaussian on the smaller grid -- a wide blur of a large original in a few passes. */
int mark_smoothed(const float *px, uint32_t w, uint32_t h, double sigma, mark_smooth *out)
{
    uint32_t m = sigma > 2 ? (uint32_t)(sigma / 1.5) : 1;
    fimg f = {0};
    float *tmp;
    double rest;

    m = m > 64 ? 64 : m;
    while (m > 1 && (w / m < 16 || h / m < 16))
        m--;
    if (m > 1 ? shrink(px, w, h, m, &f) : fimg_alloc(&f, w, h))
        return -1;
    if (m == 1)
        memcpy(f.p, px, (size_t)w * h * sizeof(float));
    rest = sigma * sigma - 0.083 * m * m;
    tmp = rest > 0.04 * m * m ? malloc((size_t)f.w * f.h * sizeof(float)) : NULL;
    if (tmp)
        mark_blur(f.p, f.w, f.h, tmp, sqrt(rest) / m);
    else if (rest > 0.04 * m * m) {
        fimg_free(&f);
        return -1;
    }
    free(tmp);
    *out = (mark_smooth){f.p, f.w, f.h, m};
    return 0;
}

float mark_smooth_at(const mark_smooth *s, double u, double v)
{
    double o = (s->m - 1) / 2.0;

    return mark_bilinear(s->p, s->w, s->h, (u - o) / s->m, (v - o) / s->m);
}

/* ---- keypoints ------------------------------------------------------------------------------ */

typedef struct cand {
    float r;
    uint32_t x, y;
} cand;

static int by_score(const void *a, const void *b)
{
    float x = ((const cand *)a)->r, y = ((const cand *)b)->r;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Harris response of a level into resp (w*h); t1..t3 are work buffers of w*h. */
static void harris(const fimg *l, float *resp, float *t1, float *t2, float *t3)
{
    fimg a = {t1, l->w, l->h}, b = {t2, l->w, l->h}, c = {t3, l->w, l->h};
    uint32_t x, y;
    size_t i;

    for (y = 0; y < l->h; y++)
        for (x = 0; x < l->w; x++) {
            size_t k = (size_t)y * l->w + x;
            float gx = x > 0 && x + 1 < l->w ? (l->p[k + 1] - l->p[k - 1]) / 2 : 0;
            float gy = y > 0 && y + 1 < l->h ? (l->p[k + l->w] - l->p[k - l->w]) / 2 : 0;
            t1[k] = gx * gx;
            t2[k] = gy * gy;
            t3[k] = gx * gy;
        }
    blur(&a, resp, 1.5);
    blur(&b, resp, 1.5);
    blur(&c, resp, 1.5);
    for (i = 0; i < (size_t)l->w * l->h; i++)
        resp[i] = t1[i] * t2[i] - t3[i] * t3[i] - 0.04f * (t1[i] + t2[i]) * (t1[i] + t2[i]);
}

static int is_peak(const fimg *r, uint32_t x, uint32_t y)
{
    float v = r->p[(size_t)y * r->w + x];
    int dx, dy;

    if (v <= 0)
        return 0;
    for (dy = -3; dy <= 3; dy++)
        for (dx = -3; dx <= 3; dx++)
            if ((dx || dy) && r->p[(size_t)(y + dy) * r->w + x + dx] >= v)
                return 0;
    return 1;
}

/* The descriptor of (x, y) on level l; 0 when the patch is flat. */
static int describe(const fimg *l, uint32_t x, uint32_t y, float d[DESC_N])
{
    double mean = 0, norm = 0;
    int bx, by, i, j;

    for (by = 0; by < 8; by++)
        for (bx = 0; bx < 8; bx++) {
            float a = 0;
            for (j = 0; j < 4; j++)
                for (i = 0; i < 4; i++)
                    a += l->p[(size_t)(y - DESC_R + by * 4 + j) * l->w + x - DESC_R +
                              (size_t)bx * 4 + i];
            d[by * 8 + bx] = a / 16;
            mean += a / 16;
        }
    mean /= DESC_N;
    for (i = 0; i < DESC_N; i++) {
        d[i] -= (float)mean;
        norm += (double)d[i] * d[i];
    }
    if (norm < 1e-2)
        return 0;
    norm = 1 / sqrt(norm);
    for (i = 0; i < DESC_N; i++)
        d[i] = (float)(d[i] * norm);
    return 1;
}

static int kset_push(kset *s, const kpt *k)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        kpt *nk = realloc(s->k, cap * sizeof(*nk));
        if (!nk)
            return -1;
        s->k = nk;
        s->cap = cap;
    }
    s->k[s->n++] = *k;
    return 0;
}

/* Keypoints of one level, spread over a grid, at most KP_PER_LEVEL. */
static int level_points(const fimg *l, const fimg *resp, double ux, double uy, kset *out)
{
    cand *c;
    size_t nc = 0, i, cap = (size_t)l->w * l->h / 16 + 16;
    uint32_t x, y, cell[KP_GRID * KP_GRID] = {0}, taken = 0;
    const uint32_t per_cell = KP_PER_LEVEL / (KP_GRID * KP_GRID) * 2;
    kpt k;

    c = malloc(cap * sizeof(*c));
    if (!c)
        return -1;
    for (y = DESC_R + 1; y + DESC_R + 1 < l->h; y++)
        for (x = DESC_R + 1; x + DESC_R + 1 < l->w && nc < cap; x++)
            if (is_peak(resp, x, y))
                c[nc++] = (cand){resp->p[(size_t)y * l->w + x], x, y};
    qsort(c, nc, sizeof(*c), by_score);
    for (i = 0; i < nc && taken < KP_PER_LEVEL; i++) {
        uint32_t g = c[i].y * KP_GRID / l->h * KP_GRID + c[i].x * KP_GRID / l->w;
        if (cell[g] >= per_cell || !describe(l, c[i].x, c[i].y, k.d))
            continue;
        cell[g]++;
        taken++;
        k.x = (float)((c[i].x + 0.5) * ux - 0.5);
        k.y = (float)((c[i].y + 0.5) * uy - 0.5);
        k.unit = (float)sqrt(ux * uy);
        k.score = c[i].r;
        if (kset_push(out, &k)) {
            free(c);
            return -1;
        }
    }
    free(c);
    return 0;
}

/* 0..255 copy of px, or shrunk by an integer factor when larger than the pyramid's top. */
static int base_level(const float *px, uint32_t w, uint32_t h, fimg *b)
{
    uint32_t m = 1;
    float lo = INFINITY, hi = -INFINITY;
    size_t i, n;

    while ((w > h ? w : h) / (m + 1) >= PYR_TOP * 7 / 10 && (w > h ? w : h) / m > 2 * PYR_TOP)
        m++;
    if (m > 1 ? shrink(px, w, h, m, b) : fimg_alloc(b, w, h))
        return -1;
    n = (size_t)b->w * b->h;
    if (m == 1)
        memcpy(b->p, px, n * sizeof(float));
    for (i = 0; i < n; i++) {
        lo = b->p[i] < lo ? b->p[i] : lo;
        hi = b->p[i] > hi ? b->p[i] : hi;
    }
    for (i = 0; i < n; i++)
        b->p[i] = hi > lo ? (b->p[i] - lo) * 255 / (hi - lo) : 0;
    return 0;
}

/* Keypoints of every half-octave level whose sides lie within PYR_MIN .. PYR_TOP. */
static int keypoints(const float *px, uint32_t w, uint32_t h, kset *out)
{
    fimg cur = {0}, nxt = {0}, sm = {0}, resp = {0};
    float *t = NULL;
    int lvl, rc = -1;

    if (base_level(px, w, h, &cur))
        return -1;
    t = malloc(3 * (size_t)cur.w * cur.h * sizeof(float));
    if (!t || fimg_alloc(&resp, cur.w, cur.h) || fimg_alloc(&sm, cur.w, cur.h))
        goto out;
    for (lvl = 0; lvl < PYR_LEVELS && cur.w >= PYR_MIN && cur.h >= PYR_MIN; lvl++) {
        if (cur.w <= PYR_TOP && cur.h <= PYR_TOP) {
            sm.w = resp.w = cur.w;
            sm.h = resp.h = cur.h;
            memcpy(sm.p, cur.p, (size_t)cur.w * cur.h * sizeof(float));
            blur(&sm, t, 1.0);
            harris(&sm, resp.p, t, t + (size_t)cur.w * cur.h, t + 2 * (size_t)cur.w * cur.h);
            if (level_points(&sm, &resp, (double)w / cur.w, (double)h / cur.h, out))
                goto out;
        }
        if (fimg_alloc(&nxt, (uint32_t)lrint(cur.w / M_SQRT2), (uint32_t)lrint(cur.h / M_SQRT2)) ||
            resize(&cur, &nxt))
            goto out;
        fimg_free(&cur);
        cur = nxt;
        nxt.p = NULL;
    }
    rc = 0;
out:
    fimg_free(&cur);
    fimg_free(&nxt);
    fimg_free(&sm);
    fimg_free(&resp);
    free(t);
    return rc;
}

/* ---- matching ------------------------------------------------------------------------------- */

/* Where descriptor cell i of the leak lands in the reference under variant t (bit 0: mirror x,
 * bit 1: mirror y, bit 2: transpose). */
static void variant_perm(int t, uint8_t perm[DESC_N])
{
    int i, j;

    for (j = 0; j < 8; j++)
        for (i = 0; i < 8; i++) {
            int a = t & 1 ? 7 - i : i, b = t & 2 ? 7 - j : j;
            perm[j * 8 + i] = (uint8_t)(t & 4 ? a * 8 + b : b * 8 + a);
        }
}

static float dot64(const float *a, const float *b)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int c;

    for (c = 0; c < DESC_N; c += 4) {
        s0 += a[c] * b[c];
        s1 += a[c + 1] * b[c + 1];
        s2 += a[c + 2] * b[c + 2];
        s3 += a[c + 3] * b[c + 3];
    }
    return (s0 + s1) + (s2 + s3);
}

/* Lowe's ratio test on cosines (distance sqrt(2 - 2 cos)). */
static int distinct(float b1, float b2)
{
    return b1 >= MIN_COS && sqrtf(2 - 2 * b1) <= RATIO * sqrtf(2 - 2 * (b2 > -1 ? b2 : -1));
}

/* Matches of every leak keypoint under variant t: pos[] for the leak as it is, neg[] for its
 * negative (the same dot products, negated); their counts in *np, *nn. */
static void match_pass(const kset *ref, const kset *leak, int t, match *pos, size_t *np, match *neg,
                       size_t *nn)
{
    uint8_t perm[DESC_N];
    float q[DESC_N];
    size_t i, j;
    int c;

    *np = *nn = 0;
    variant_perm(t, perm);
    for (i = 0; i < leak->n && *np < MAX_MATCHES && *nn < MAX_MATCHES; i++) {
        float p1 = -2, p2 = -2, n1 = -2, n2 = -2;
        size_t pj = 0, nj = 0;
        const kpt *l = &leak->k[i];
        for (c = 0; c < DESC_N; c++)
            q[perm[c]] = l->d[c];
        for (j = 0; j < ref->n; j++) {
            float s = dot64(q, ref->k[j].d);
            if (s > p1) {
                p2 = p1;
                p1 = s;
                pj = j;
            } else if (s > p2) {
                p2 = s;
            }
            if (-s > n1) {
                n2 = n1;
                n1 = -s;
                nj = j;
            } else if (-s > n2) {
                n2 = -s;
            }
        }
        if (distinct(p1, p2))
            pos[(*np)++] = (match){ref->k[pj].x, ref->k[pj].y, l->x, l->y, 2.5 * l->unit};
        if (distinct(n1, n2))
            neg[(*nn)++] = (match){ref->k[nj].x, ref->k[nj].y, l->x, l->y, 2.5 * l->unit};
    }
}

/* ---- homography ----------------------------------------------------------------------------- */

/* Solves the n x n system a x = b (a row-major, destroyed) by Gaussian elimination with partial
 * pivoting; -1 when singular. */
int mark_solve(double *a, double *b, int n)
{
    int i, j, k, p;

    for (i = 0; i < n; i++) {
        p = i;
        for (k = i + 1; k < n; k++)
            if (fabs(a[k * n + i]) > fabs(a[p * n + i]))
                p = k;
        if (fabs(a[p * n + i]) < 1e-12)
            return -1;
        for (k = 0; k < n && p != i; k++) {
            double t = a[i * n + k];
            a[i * n + k] = a[p * n + k];
            a[p * n + k] = t;
        }
        if (p != i) {
            double t = b[i];
            b[i] = b[p];
            b[p] = t;
        }
        for (k = i + 1; k < n; k++) {
            double f = a[k * n + i] / a[i * n + i];
            for (j = i; j < n; j++)
                a[k * n + j] -= f * a[i * n + j];
            b[k] -= f * b[i];
        }
    }
    for (i = n - 1; i >= 0; i--) {
        for (j = i + 1; j < n; j++)
            b[i] -= a[i * n + j] * b[j];
        b[i] /= a[i * n + i];
    }
    return 0;
}

void mark_mat3_mul(const double a[9], const double b[9], double out[9])
{
    int i, j;

    for (i = 0; i < 3; i++)
        for (j = 0; j < 3; j++)
            out[3 * (size_t)i + j] = a[3 * (size_t)i] * b[j] + a[3 * (size_t)i + 1] * b[3 + j] +
                                     a[3 * (size_t)i + 2] * b[6 + j];
}

/* Similarity normalisation (Hartley) of the reference and leak points of the chosen matches. */
typedef struct norm2 {
    double cu, cv, su; /* reference: centre, scale */
    double cx, cy, sx; /* leak */
} norm2;

static void normalise(const match *m, const size_t *idx, size_t n, norm2 *t)
{
    double du = 0, dx = 0;
    size_t i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < n; i++) {
        t->cu += m[idx[i]].u / n;
        t->cv += m[idx[i]].v / n;
        t->cx += m[idx[i]].x / n;
        t->cy += m[idx[i]].y / n;
    }
    for (i = 0; i < n; i++) {
        du += hypot(m[idx[i]].u - t->cu, m[idx[i]].v - t->cv) / n;
        dx += hypot(m[idx[i]].x - t->cx, m[idx[i]].y - t->cy) / n;
    }
    t->su = du > 1e-9 ? M_SQRT2 / du : 1;
    t->sx = dx > 1e-9 ? M_SQRT2 / dx : 1;
}

/* Least-squares homography (h[8] = 1) through the matches idx[0..n), n >= 4. */
static int fit(const match *m, const size_t *idx, size_t n, double h[9])
{
    double ata[64] = {0}, atb[8] = {0}, r[2][9];
    norm2 t;
    size_t i;
    int a, b, k;

    normalise(m, idx, n, &t);
    for (i = 0; i < n; i++) {
        double u = (m[idx[i]].u - t.cu) * t.su, v = (m[idx[i]].v - t.cv) * t.su;
        double x = (m[idx[i]].x - t.cx) * t.sx, y = (m[idx[i]].y - t.cy) * t.sx;
        double r0[9] = {u, v, 1, 0, 0, 0, -u * x, -v * x, x};
        double r1[9] = {0, 0, 0, u, v, 1, -u * y, -v * y, y};
        memcpy(r[0], r0, sizeof(r0));
        memcpy(r[1], r1, sizeof(r1));
        for (k = 0; k < 2; k++)
            for (a = 0; a < 8; a++) {
                atb[a] += r[k][a] * r[k][8];
                for (b = 0; b < 8; b++)
                    ata[a * 8 + b] += r[k][a] * r[k][b];
            }
    }
    if (mark_solve(ata, atb, 8))
        return -1;
    /* h = T_leak^-1 * Hn * T_ref */
    {
        const double hn[9] = {atb[0], atb[1], atb[2], atb[3], atb[4], atb[5], atb[6], atb[7], 1};
        const double tr[9] = {t.su, 0, -t.su * t.cu, 0, t.su, -t.su * t.cv, 0, 0, 1};
        const double tl[9] = {1 / t.sx, 0, t.cx, 0, 1 / t.sx, t.cy, 0, 0, 1};
        double p[9];
        mark_mat3_mul(hn, tr, p);
        mark_mat3_mul(tl, p, h);
    }
    if (fabs(h[8]) < 1e-12)
        return -1;
    for (a = 0; a < 9; a++)
        h[a] /= h[8];
    return 0;
}

int mark_h_project(const double h[9], double u, double v, double *x, double *y)
{
    double w = h[6] * u + h[7] * v + h[8];

    if (fabs(w) < 1e-9)
        return -1;
    *x = (h[0] * u + h[1] * v + h[2]) / w;
    *y = (h[3] * u + h[4] * v + h[5]) / w;
    return 0;
}

int mark_mat3_inv(const double a[9], double o[9])
{
    double d = a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) +
               a[2] * (a[3] * a[7] - a[4] * a[6]);
    int i;

    if (fabs(d) < 1e-15)
        return -1;
    o[0] = a[4] * a[8] - a[5] * a[7];
    o[1] = a[2] * a[7] - a[1] * a[8];
    o[2] = a[1] * a[5] - a[2] * a[4];
    o[3] = a[5] * a[6] - a[3] * a[8];
    o[4] = a[0] * a[8] - a[2] * a[6];
    o[5] = a[2] * a[3] - a[0] * a[5];
    o[6] = a[3] * a[7] - a[4] * a[6];
    o[7] = a[1] * a[6] - a[0] * a[7];
    o[8] = a[0] * a[4] - a[1] * a[3];
    for (i = 0; i < 9; i++)
        o[i] /= d;
    return 0;
}

static size_t inliers(const double h[9], const match *m, size_t n, size_t *idx)
{
    size_t i, k = 0;
    double x, y;

    for (i = 0; i < n; i++)
        if (!mark_h_project(h, m[i].u, m[i].v, &x, &y) &&
            hypot(x - m[i].x, y - m[i].y) < m[i].tol) {
            if (idx)
                idx[k] = i;
            k++;
        }
    return k;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int collinear(const match *m, const size_t s[4])
{
    int a, b, c;

    for (a = 0; a < 4; a++)
        for (b = a + 1; b < 4; b++)
            for (c = b + 1; c < 4; c++) {
                double cr = (m[s[b]].u - m[s[a]].u) * (m[s[c]].v - m[s[a]].v) -
                            (m[s[b]].v - m[s[a]].v) * (m[s[c]].u - m[s[a]].u);
                if (fabs(cr) < 25)
                    return 1;
            }
    return 0;
}

/* RANSAC then least squares on the inliers; the number of inliers (0: none). */
static size_t ransac(const match *m, size_t n, size_t *idx, double h[9])
{
    uint64_t seed = 0x5EEDu + n;
    size_t s[4], best = 0, k, it, iters = RANSAC_ITERS;
    double hh[9], w;

    if (n < MIN_INLIERS)
        return 0;
    for (it = 0; it < iters; it++) {
        for (k = 0; k < 4; k++) {
            s[k] = (size_t)(rng_next(&seed) % n);
            if ((k > 0 && s[k] == s[0]) || (k > 1 && s[k] == s[1]) || (k > 2 && s[k] == s[2]))
                k--; /* draw again: n >= MIN_INLIERS > 4, so this ends */
        }
        if (collinear(m, s) || fit(m, s, 4, hh))
            continue;
        k = inliers(hh, m, n, NULL);
        if (k > best) {
            best = k;
            memcpy(h, hh, sizeof(hh));
            /* enough draws for a 99.9 % chance of one all-inlier sample at this inlier share */
            w = pow((double)best / (double)n, 4);
            if (w > 1e-9 && w < 1 && log(0.001) / log(1 - w) < (double)iters)
                iters = (size_t)ceil(log(0.001) / log(1 - w)) + 10;
        }
    }
    for (it = 0; it < 3 && best >= MIN_INLIERS; it++) {
        k = inliers(h, m, n, idx);
        if (k < MIN_INLIERS || fit(m, idx, k, hh))
            break;
        memcpy(h, hh, sizeof(hh));
        best = inliers(h, m, n, idx);
    }
    return best >= MIN_INLIERS ? best : 0;
}

/* A plausible copy: the reference's corners map to a convex quadrilateral with the same turn
 * everywhere, its area between 1/25 and 25 times the reference's. */
static int plausible(const double h[9], uint32_t rw, uint32_t rh)
{
    double cx[4], cy[4], area = 0, turn[4];
    const double u[4] = {0, rw, rw, 0}, v[4] = {0, 0, rh, rh};
    int i;

    for (i = 0; i < 4; i++)
        if (mark_h_project(h, u[i], v[i], &cx[i], &cy[i]))
            return 0;
    for (i = 0; i < 4; i++) {
        int j = (i + 1) % 4, k = (i + 2) % 4;
        turn[i] = (cx[j] - cx[i]) * (cy[k] - cy[j]) - (cy[j] - cy[i]) * (cx[k] - cx[j]);
        area += cx[i] * cy[j] - cx[j] * cy[i];
    }
    for (i = 1; i < 4; i++)
        if ((turn[i] > 0) != (turn[0] > 0))
            return 0;
    area = fabs(area) / 2 / ((double)rw * rh);
    return area > 1.0 / 25 && area < 25;
}

/* ---- refinement: block matching under the homography ---------------------------------------- */

#define REF_GRID  12  /* points per side */
#define REF_PATCH 16  /* half side of the matched patch, leak pixels */
#define REF_SHIFT 4   /* search radius, leak pixels */
#define REF_NCC   0.3 /* a block matches above this correlation */

typedef struct refiner {
    const mark_smooth *ref; /* anti-aliased for the leak's scale */
    const float *img;       /* the leak, iw x ih */
    uint32_t iw, ih;
    double h[9], hi[9];
    float sign; /* -1 for a negative */
    float pred[(2 * REF_PATCH + 1) * (2 * REF_PATCH + 1)];
} refiner;

static double ncc_at(const refiner *r, long cx, long cy, int sx, int sy)
{
    double a = 0, b = 0, ab = 0, aa = 0, bb = 0, n = 0;
    int i, j;

    for (j = -REF_PATCH; j <= REF_PATCH; j++)
        for (i = -REF_PATCH; i <= REF_PATCH; i++) {
            double p = r->pred[(j + REF_PATCH) * (2 * REF_PATCH + 1) + i + REF_PATCH];
            double q = r->img[(size_t)(cy + j + sy) * r->iw + (size_t)(cx + i + sx)];
            a += p;
            b += q;
            ab += p * q;
            aa += p * p;
            bb += q * q;
            n += 1;
        }
    aa -= a * a / n;
    bb -= b * b / n;
    ab -= a * b / n;
    return aa > 1e-6 && bb > 1e-6 ? r->sign * ab / sqrt(aa * bb) : -1;
}

static double parab3(double l, double m, double r)
{
    double d = l - 2 * m + r;
    double o = d < 0 ? 0.5 * (l - r) / d : 0;

    return o < -0.5 ? -0.5 : o > 0.5 ? 0.5 : o;
}

/* A correspondence near the reference point (u, v): the leak pixel nearest its projection, the
 * reference point that pixel shows under h, and where the patch around it really lies in the
 * leak (normalised cross-correlation, parabolic peak).  -1 when the patch does not match. */
static int refine_point(refiner *r, double u, double v, match *m)
{
    double best = REF_NCC, c[3][3], cc, px, py, uu, vv;
    long cx, cy;
    int i, j, bx = 0, by = 0;

    if (mark_h_project(r->h, u, v, &px, &py) || !(px > 0 && py > 0 && px < r->iw && py < r->ih))
        return -1;
    cx = lrint(px);
    cy = lrint(py);
    if (cx < REF_PATCH + REF_SHIFT + 2 || cy < REF_PATCH + REF_SHIFT + 2 ||
        cx + REF_PATCH + REF_SHIFT + 2 >= (long)r->iw ||
        cy + REF_PATCH + REF_SHIFT + 2 >= (long)r->ih)
        return -1;
    for (j = -REF_PATCH; j <= REF_PATCH; j++)
        for (i = -REF_PATCH; i <= REF_PATCH; i++) {
            if (mark_h_project(r->hi, (double)(cx + i), (double)(cy + j), &uu, &vv))
                return -1;
            r->pred[(j + REF_PATCH) * (2 * REF_PATCH + 1) + i + REF_PATCH] =
                mark_smooth_at(r->ref, uu, vv);
        }
    for (j = -REF_SHIFT; j <= REF_SHIFT; j++)
        for (i = -REF_SHIFT; i <= REF_SHIFT; i++) {
            cc = ncc_at(r, cx, cy, i, j);
            if (cc > best) {
                best = cc;
                bx = i;
                by = j;
            }
        }
    if (best <= REF_NCC || abs(bx) == REF_SHIFT || abs(by) == REF_SHIFT ||
        mark_h_project(r->hi, (double)cx, (double)cy, &uu, &vv))
        return -1;
    for (j = -1; j <= 1; j++)
        for (i = -1; i <= 1; i++)
            c[j + 1][i + 1] = ncc_at(r, cx, cy, bx + i, by + j);
    *m = (match){uu, vv, cx + bx + parab3(c[1][0], c[1][1], c[1][2]),
                 cy + by + parab3(c[0][1], c[1][1], c[2][1]), 1.5};
    return 0;
}

/* Refits reg->h on block matches over a grid of the leak (twice: the second pass starts
 * from the first's better homography).  Keeps the old one when too few blocks match. */
static int refine(const float *ref, uint32_t rw, uint32_t rh, const float *img, uint32_t w,
                  uint32_t h, mark_reg *reg)
{
    mark_smooth rf = {0};
    refiner *r = calloc(1, sizeof(*r));
    match m[REF_GRID * REF_GRID];
    size_t idx[REF_GRID * REF_GRID], n, k;
    double hh[9], s, u, v;
    int pass, i, j;

    s = sqrt(fabs(reg->h[0] * reg->h[4] - reg->h[1] * reg->h[3])); /* about the leak's scale */
    if (!r || mark_smoothed(ref, rw, rh, s < 1 ? 0.5 * sqrt(1 / (s * s) - 1) : 0, &rf)) {
        free(r);
        return -1;
    }
    r->ref = &rf;
    r->img = img;
    r->iw = w;
    r->ih = h;
    r->sign = reg->inverted ? -1.0f : 1.0f;
    for (pass = 0; pass < 2; pass++) {
        memcpy(r->h, reg->h, sizeof(r->h));
        if (mark_mat3_inv(r->h, r->hi))
            break;
        /* a grid over the leak, where it shows the original */
        for (n = 0, j = 0; j < REF_GRID; j++)
            for (i = 0; i < REF_GRID; i++)
                if (!mark_h_project(r->hi, (i + 0.5) * w / REF_GRID, (j + 0.5) * h / REF_GRID, &u,
                                    &v) &&
                    u >= 0 && v >= 0 && u < rw && v < rh)
                    n += !refine_point(r, u, v, &m[n]);
        for (k = 0; k < n; k++)
            idx[k] = k;
        if (n < 8 || fit(m, idx, n, hh))
            break;
        k = inliers(hh, m, n, idx); /* drop the blocks the fit does not explain, refit */
        if (k < 8 || fit(m, idx, k, hh) || !plausible(hh, rw, rh))
            break;
        memcpy(reg->h, hh, sizeof(hh));
        reg->refined = (uint32_t)k;
    }
    free(rf.p);
    free(r);
    return 0;
}

static int same_h(const double a[9], const double b[9])
{
    int i;

    for (i = 0; i < 9; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* ---- the registration ----------------------------------------------------------------------- */

dv_err mark_register(const float *ref, uint32_t rw, uint32_t rh, const float *img, uint32_t w,
                     uint32_t h, mark_reg *reg, dv_errinfo *ei)
{
    kset kr = {0}, kl = {0};
    match *m = NULL;
    size_t *idx = NULL, nm[2], k, best = 0;
    double hh[9];
    dv_err e = DV_OK;
    int t, sg;

    memset(reg, 0, sizeof(*reg));
    if ((uint64_t)rw * rh > MARK_MAX_PIXELS || (uint64_t)w * h > MARK_MAX_PIXELS)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "mark: image over %u pixels",
                       MARK_MAX_PIXELS);
    if (rw < PYR_MIN || rh < PYR_MIN || w < PYR_MIN || h < PYR_MIN)
        return DV_OK;
    m = malloc((size_t)2 * MAX_MATCHES * sizeof(*m));
    idx = malloc(MAX_MATCHES * sizeof(*idx));
    if (!m || !idx || keypoints(ref, rw, rh, &kr) || keypoints(img, w, h, &kl)) {
        e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "mark: out of memory in registration");
        goto out;
    }
    reg->ref_points = (uint32_t)kr.n;
    reg->points = (uint32_t)kl.n;
    for (t = 0; t < 8; t++) { /* every variant: a symmetric body also fits its mirror image */
        match_pass(&kr, &kl, t, m, &nm[0], m + MAX_MATCHES, &nm[1]);
        for (sg = 0; sg < 2; sg++) {
            reg->tries++;
            k = ransac(m + (size_t)sg * MAX_MATCHES, nm[sg], idx, hh);
            if (k && k > best && k * 100 >= MIN_SHARE * nm[sg] && plausible(hh, rw, rh)) {
                best = k;
                reg->ok = 1;
                memcpy(reg->h, hh, sizeof(hh));
                reg->variant = t;
                reg->inverted = sg;
                reg->matches = (uint32_t)nm[sg];
                reg->inliers = (uint32_t)k;
            } else if (!reg->ok && k > reg->inliers) { /* the best failure, for the report */
                reg->matches = (uint32_t)nm[sg];
                reg->inliers = (uint32_t)k;
            }
        }
    }
    if (reg->ok && refine(ref, rw, rh, img, w, h, reg))
        e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "mark: out of memory in registration");
    if (!e && reg->ok) { /* to a fraction of a pixel, on every pixel */
        memcpy(hh, reg->h, sizeof(hh));
        if (mark_align(ref, rw, rh, img, w, h, hh) < 0)
            e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG,
                        "mark: out of memory in registration");
        else if (plausible(hh, rw, rh) && !same_h(hh, reg->h)) {
            memcpy(reg->h, hh, sizeof(hh));
            reg->aligned = 1;
        }
    }
out:
    free(kr.k);
    free(kl.k);
    free(m);
    free(idx);
    return e;
}
