/* SPDX-License-Identifier: Apache-2.0 */
/* embed.c - adds the keyed tile to an 8-bit render (display domain) or to a stored frame (its
 * own bit depth), shaped by a masking model.
 *
 * Masking: the image is cut into MARK_CELL x MARK_CELL blocks aligned with the tile's cells;
 * each block's amplitude (display grey levels) is min(amax, standard deviation of the displayed
 * values over the 3 x 3 blocks around it), so a flat region (air, background, saturated
 * pixels) gets nothing and noise-level regions get at most their noise level.  A global gain
 * (bisection) keeps the expected PSNR at native depth at MARK_MIN_PSNR_DB or above.  Changes
 * are rounded with a dither (unbiased), so sub-unit amplitudes survive on average.
 *
 * Wide samples (32-bit integers, RGB of 16 or 32 bits, IEEE floats) are read as doubles and kept
 * as whole steps of q native units above the frame's minimum, so the int32 rows, the gain and
 * the dither work on them unchanged; q is a power of two for integer samples (every change is a
 * whole number of native units) and is chosen so that a display level is at most 1024 steps.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mark/mark_int.h"

#include "common/banned.h"

typedef enum kind { K_GRAY8, K_RGB8, K_U8, K_U16, K_S16, K_WIDE } kind;

/* The sample layouts behind K_WIDE (RGB: the luminance .299 R + .587 G + .114 B). */
typedef enum wide_kind { W_U32, W_S32, W_RGB16, W_RGB32, W_F32, W_F64 } wide_kind;

#define WIDE_LIM  1073741824.0 /* 2^30: |internal value| of a wide sample */
#define WIDE_STEP 1024.0       /* at most this many steps per display level */

/* How to read, display and write one image. */
typedef struct target {
    kind k;
    uint8_t *p;
    uint32_t w, h;
    int32_t vmin, vmax;  /* stored range */
    uint32_t mask;       /* stored bits (frames) */
    double dscale, doff; /* display = clamp(v * dscale + doff, 0, 255) */
    double unit;         /* native units per display level */
    double peak;         /* PSNR peak */
    double amax;         /* display levels */
    /* K_WIDE: internal value = floor((native - base) / q), within +-WIDE_LIM */
    wide_kind ws;
    double base, q;
    double nmin, nmax; /* native range of one sample (RGB: of one channel) */
} target;

/* Native value of pixel i of a wide target (a non-finite float reads as base: left alone). */
static double wide_native(const target *t, size_t i)
{
    const uint8_t *p = t->p;
    uint32_t u32;
    uint64_t u;
    double d;
    float f;

    switch (t->ws) {
    case W_U32:
        return (double)(dv_le32(p + 4 * i) & t->mask);
    case W_S32:
        d = (double)(dv_le32(p + 4 * i) & t->mask);
        return d > t->nmax ? d - (double)t->mask - 1 : d;
    case W_RGB16:
        p += 6 * i;
        return .299 * (dv_le16(p) & t->mask) + .587 * (dv_le16(p + 2) & t->mask) +
               .114 * (dv_le16(p + 4) & t->mask);
    case W_RGB32:
        p += 12 * i;
        return .299 * (dv_le32(p) & t->mask) + .587 * (dv_le32(p + 4) & t->mask) +
               .114 * (dv_le32(p + 8) & t->mask);
    case W_F32:
        u32 = dv_le32(p + 4 * i);
        memcpy(&f, &u32, sizeof(f));
        return isfinite(f) ? (double)f : t->base;
    case W_F64:
        u = dv_le32(p + 8 * i) | (uint64_t)dv_le32(p + 8 * i + 4) << 32;
        memcpy(&d, &u, sizeof(d));
        return isfinite(d) ? d : t->base;
    }
    return 0;
}

static int32_t wide_get(const target *t, size_t i)
{
    double v = floor((wide_native(t, i) - t->base) / t->q);

    return (int32_t)(v < -WIDE_LIM ? -WIDE_LIM : v > WIDE_LIM ? WIDE_LIM : v);
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Adds d steps to pixel i of a wide target (RGB: to each channel), within the native range. */
static void wide_put(const target *t, size_t i, int32_t d)
{
    double dn = (double)d * t->q;
    uint8_t *p = t->p;
    uint32_t u32;
    uint64_t u;
    double x;
    float f;
    size_t c;

    switch (t->ws) {
    case W_U32:
    case W_S32:
        x = clampd(wide_native(t, i) + dn, t->nmin, t->nmax);
        u = dv_le32(p + 4 * i);
        dv_put_le32(p + 4 * i, (uint32_t)((u & ~t->mask) | ((uint32_t)(int64_t)x & t->mask)));
        return;
    case W_RGB16:
        for (c = 0; c < 3; c++) {
            u = dv_le16(p + 6 * i + 2 * c);
            x = clampd((double)(u & t->mask) + dn, 0, t->nmax);
            dv_put_le16(p + 6 * i + 2 * c, (uint16_t)((u & ~t->mask) | ((uint32_t)x & t->mask)));
        }
        return;
    case W_RGB32:
        for (c = 0; c < 3; c++) {
            u = dv_le32(p + 12 * i + 4 * c);
            x = clampd((double)(u & t->mask) + dn, 0, t->nmax);
            dv_put_le32(p + 12 * i + 4 * c, (uint32_t)((u & ~t->mask) | ((uint32_t)x & t->mask)));
        }
        return;
    case W_F32:
        u32 = dv_le32(p + 4 * i);
        memcpy(&f, &u32, sizeof(f));
        x = (double)f + dn;
        if (!isfinite(f) || !(fabs(x) <= FLT_MAX)) /* a cast out of float's range is undefined */
            return;
        f = (float)x;
        memcpy(&u32, &f, sizeof(f));
        dv_put_le32(p + 4 * i, u32);
        return;
    case W_F64:
        u = dv_le32(p + 8 * i) | (uint64_t)dv_le32(p + 8 * i + 4) << 32;
        memcpy(&x, &u, sizeof(x));
        if (!isfinite(x))
            return;
        x += dn;
        memcpy(&u, &x, sizeof(x));
        dv_put_le32(p + 8 * i, (uint32_t)u);
        dv_put_le32(p + 8 * i + 4, (uint32_t)(u >> 32));
        return;
    }
}

static int32_t get_v(const target *t, size_t i)
{
    switch (t->k) {
    case K_GRAY8:
    case K_U8:
        return t->p[i];
    case K_RGB8:
        return (int32_t)lrint(.299 * t->p[3 * i] + .587 * t->p[3 * i + 1] + .114 * t->p[3 * i + 2]);
    case K_U16:
        return (int32_t)(dv_le16(t->p + 2 * i) & t->mask);
    case K_S16: {
        int32_t v = (int32_t)(dv_le16(t->p + 2 * i) & t->mask);
        return v > t->vmax ? v - (int32_t)t->mask - 1 : v;
    }
    case K_WIDE:
        return wide_get(t, i);
    }
    return 0;
}

static int32_t clampi(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void put_delta(const target *t, size_t i, int32_t d)
{
    int c;

    switch (t->k) {
    case K_GRAY8:
    case K_U8:
        t->p[i] = (uint8_t)clampi(t->p[i] + d, t->vmin, t->vmax);
        break;
    case K_RGB8:
        for (c = 0; c < 3; c++)
            t->p[3 * i + c] = (uint8_t)clampi(t->p[3 * i + c] + d, 0, 255);
        break;
    case K_U16:
    case K_S16: {
        uint16_t old = dv_le16(t->p + 2 * i);
        int32_t v = clampi(get_v(t, i) + d, t->vmin, t->vmax);
        dv_put_le16(t->p + 2 * i, (uint16_t)((old & ~t->mask) | ((uint32_t)v & t->mask)));
        break;
    }
    case K_WIDE:
        wide_put(t, i, d);
        break;
    }
}

/* Stored (or luminance) values of row y into v[0..w). */
static void row_load(const target *t, uint32_t y, int32_t *v)
{
    size_t base = (size_t)y * t->w;
    uint32_t x;

    switch (t->k) {
    case K_U16:
        for (x = 0; x < t->w; x++)
            v[x] = (int32_t)(dv_le16(t->p + 2 * (base + x)) & t->mask);
        return;
    case K_GRAY8:
    case K_U8:
        for (x = 0; x < t->w; x++)
            v[x] = t->p[base + x];
        return;
    case K_RGB8:
    case K_S16:
    case K_WIDE:
        for (x = 0; x < t->w; x++)
            v[x] = get_v(t, base + x);
        return;
    }
}

/* Writes row y from old values o to new values v (only where they differ). */
static void row_store(const target *t, uint32_t y, const int32_t *o, const int32_t *v)
{
    size_t base = (size_t)y * t->w;
    uint32_t x;

    for (x = 0; x < t->w; x++) {
        if (v[x] == o[x])
            continue;
        if (t->k == K_U16 || t->k == K_S16) {
            uint16_t old = dv_le16(t->p + 2 * (base + x));
            dv_put_le16(t->p + 2 * (base + x),
                        (uint16_t)((old & ~t->mask) | ((uint32_t)v[x] & t->mask)));
        } else {
            put_delta(t, base + x, v[x] - o[x]);
        }
    }
}

/* Per-block sums of display values and their squares; row holds w values. */
static void block_sums(const target *t, uint32_t bw, uint32_t bh, float *s1, float *s2,
                       int32_t *row)
{
    float ds = (float)t->dscale;
    float d0 = (float)t->doff;
    uint32_t x;
    uint32_t y;

    memset(s1, 0, (size_t)bw * bh * sizeof(float));
    memset(s2, 0, (size_t)bw * bh * sizeof(float));
    for (y = 0; y < t->h; y++) {
        float *a = s1 + (size_t)(y / MARK_CELL) * bw;
        float *b = s2 + (size_t)(y / MARK_CELL) * bw;
        row_load(t, y, row);
        for (x = 0; x < t->w; x++) {
            float d = (float)row[x] * ds + d0;
            d = d < 0 ? 0 : d > 255 ? 255 : d;
            a[x / MARK_CELL] += d;
            b[x / MARK_CELL] += d * d;
        }
    }
}

/* Amplitude of every block (display levels), from the 3 x 3 block neighbourhood. */
static void block_amps(const target *t, uint32_t bw, uint32_t bh, const float *s1, const float *s2,
                       float *amp)
{
    uint32_t bx;
    uint32_t by;
    int dx;
    int dy;

    for (by = 0; by < bh; by++) {
        for (bx = 0; bx < bw; bx++) {
            double a = 0;
            double b = 0;
            double n = 0;
            for (dy = -1; dy <= 1; dy++) {
                for (dx = -1; dx <= 1; dx++) {
                    long xx = (long)bx + dx;
                    long yy = (long)by + dy;
                    uint32_t cw;
                    uint32_t ch;
                    if (xx < 0 || yy < 0 || xx >= (long)bw || yy >= (long)bh)
                        continue;
                    cw = (uint32_t)xx + 1 == bw ? t->w - (uint32_t)xx * MARK_CELL : MARK_CELL;
                    ch = (uint32_t)yy + 1 == bh ? t->h - (uint32_t)yy * MARK_CELL : MARK_CELL;
                    a += s1[(size_t)yy * bw + (size_t)xx];
                    b += s2[(size_t)yy * bw + (size_t)xx];
                    n += (double)cw * ch;
                }
            }
            a /= n;
            b = b / n - a * a;
            b = b > 0 ? sqrt(b) : 0;
            amp[(size_t)by * bw + bx] = (float)(b < t->amax ? b : t->amax);
        }
    }
}

/* Expected squared change of a dithered rounding of magnitude a (native units). */
static double dither_mse(double a)
{
    double fl = floor(a);
    double fr = a - fl;

    return fl * fl * (1 - fr) + (fl + 1) * (fl + 1) * fr;
}

#define GAIN_BINS 4096

/* The expected MSE at gain g of amplitudes binned in h (each bin counted at its upper edge, so
 * the estimate is never below the truth: dither_mse grows with the amplitude). */
static double binned_mse(const uint32_t *h, double amax, double g, size_t nb)
{
    double mse = 0;
    size_t b;

    for (b = 0; b < GAIN_BINS; b++)
        if (h[b])
            mse += h[b] * dither_mse(g * amax * (double)(b + 1) / GAIN_BINS);
    return mse / (double)nb;
}

/* The largest gain <= 1 whose expected MSE stays under the PSNR target: a binary search over a
 * histogram of the amplitudes (one pass over the blocks, then GAIN_BINS per step). */
static double gain_for_psnr(const target *t, const float *amp, size_t nb)
{
    double target_mse = t->peak * t->peak / pow(10, MARK_MIN_PSNR_DB / 10);
    double lo = 0, hi = 1, amax = 0, a;
    uint32_t h[GAIN_BINS];
    size_t i, b;
    int it;

    for (i = 0; i < nb; i++) {
        a = fabs((double)amp[i] * t->unit);
        amax = a > amax ? a : amax;
    }
    if (!(amax > 0) || !nb)
        return 1;
    memset(h, 0, sizeof(h));
    for (i = 0; i < nb; i++) {
        b = (size_t)(fabs((double)amp[i] * t->unit) / amax * GAIN_BINS);
        h[b < GAIN_BINS ? b : GAIN_BINS - 1]++;
    }
    if (binned_mse(h, amax, 1, nb) <= target_mse)
        return 1;
    for (it = 0; it < 20; it++) {
        double g = (lo + hi) / 2;

        if (binned_mse(h, amax, g, nb) <= target_mse)
            lo = g;
        else
            hi = g;
    }
    return lo;
}

/* Keyless position hash for the dither, uniform in [0, 1). */
static float dither_u(uint32_t x, uint32_t y)
{
    uint32_t h = x * 0x9E3779B1u ^ (y + 0x7F4A7C15u) * 0x85EBCA77u;

    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    return (float)(h >> 8) * (1.0f / 16777216.0f);
}

/* Changes of one row: new values into v (from the old ones in o); adds to the statistics
 * (changed, squared error, max change, max display change).  Branch-free inner loop. */
static void apply_row(const target *t, uint32_t y, const int8_t *trow, const float *arow, double g,
                      const int32_t *o, int32_t *v, double st[4])
{
    /* at most 1.9 display levels per change, so no display value moves by more than 2 */
    int32_t dmax = (int32_t)floor(1.9 * t->unit);
    float k = (float)(g * t->unit);
    float ds = (float)t->dscale;
    float d0 = (float)t->doff;
    int32_t changed = 0;
    int32_t maxc = (int32_t)st[2];
    int32_t maxd = (int32_t)st[3];
    int64_t se = 0;
    uint32_t x;

    for (x = 0; x < t->w; x++) {
        /* floor(a + u) without a libm call (|a| kept below 4000; in double, u < 1 stays < 1) */
        float a = k * arow[x / MARK_CELL] * trow[x % MARK_TILE];
        float before = (float)o[x] * ds + d0;
        float after;
        int32_t d;
        int32_t nv;
        int32_t dd;
        a = a > 4000.0f ? 4000.0f : a < -4000.0f ? -4000.0f : a;
        d = (int32_t)((double)a + dither_u(x, y) + 4096.0) - 4096;
        d = d > dmax ? dmax : d < -dmax ? -dmax : d;
        nv = o[x] + d;
        nv = nv < t->vmin ? t->vmin : nv > t->vmax ? t->vmax : nv;
        v[x] = nv;
        after = (float)nv * ds + d0;
        before = before < 0 ? 0 : before > 255 ? 255 : before;
        after = after < 0 ? 0 : after > 255 ? 255 : after;
        dd = (int32_t)(after + 0.5f) - (int32_t)(before + 0.5f);
        dd = dd < 0 ? -dd : dd;
        d = nv - o[x];
        changed += d != 0;
        se += (int64_t)d * d;
        d = d < 0 ? -d : d;
        maxc = d > maxc ? d : maxc;
        maxd = dd > maxd ? dd : maxd;
    }
    st[0] += changed;
    st[1] += (double)se;
    st[2] = maxc;
    st[3] = maxd;
}

/* The same changes without the statistics (what the vault uses: nobody reads them there). */
static void apply_row_fast(const target *t, uint32_t y, const int8_t *trow, const float *arow,
                           double g, const int32_t *o, int32_t *v)
{
    int32_t dmax = (int32_t)floor(1.9 * t->unit);
    float k = (float)(g * t->unit);
    uint32_t x;

    for (x = 0; x < t->w; x++) {
        float a = k * arow[x / MARK_CELL] * trow[x % MARK_TILE];
        int32_t d;
        int32_t nv;

        a = a > 4000.0f ? 4000.0f : a < -4000.0f ? -4000.0f : a;
        d = (int32_t)((double)a + dither_u(x, y) + 4096.0) - 4096;
        d = d > dmax ? dmax : d < -dmax ? -dmax : d;
        nv = o[x] + d;
        v[x] = nv < t->vmin ? t->vmin : nv > t->vmax ? t->vmax : nv;
    }
}

static void apply(const target *t, const int8_t *tile, const float *amp, uint32_t bw, double g,
                  int32_t *o, mark_stats *st)
{
    double acc[4] = {0, 0, 0, 0}; /* changed, squared error, max change, max display */
    int32_t *v = o + t->w;
    double n = (double)t->w * t->h;
    uint32_t y;

    for (y = 0; y < t->h; y++) {
        row_load(t, y, o);
        if (st)
            apply_row(t, y, tile + (size_t)(y % MARK_TILE) * MARK_TILE,
                      amp + (size_t)(y / MARK_CELL) * bw, g, o, v, acc);
        else
            apply_row_fast(t, y, tile + (size_t)(y % MARK_TILE) * MARK_TILE,
                           amp + (size_t)(y / MARK_CELL) * bw, g, o, v);
        row_store(t, y, o, v);
    }
    if (!st)
        return;
    /* RGB: the luminance moves by the change unless a channel clipped; close enough here */
    st->psnr_db = acc[1] > 0 ? 10 * log10(t->peak * t->peak / (acc[1] / n)) : INFINITY;
    acc[2] = t->k == K_WIDE ? acc[2] * t->q : acc[2]; /* native units */
    st->max_change = acc[2] < 4294967295.0 ? (uint32_t)acc[2] : UINT32_MAX;
    st->max_display = (uint32_t)acc[3];
    st->marked_fraction = acc[0] / n;
}

static dv_err embed(const crypto_key *key, uint64_t payload, const target *t, mark_stats *st,
                    dv_errinfo *ei)
{
    uint32_t bw = (t->w + MARK_CELL - 1) / MARK_CELL;
    uint32_t bh = (t->h + MARK_CELL - 1) / MARK_CELL;
    size_t nb = (size_t)bw * bh;
    mark_layout lay;
    int8_t *tile = malloc(MARK_TT);
    float *s1 = malloc(nb * sizeof(float));
    float *s2 = malloc(nb * sizeof(float));
    float *amp = malloc(nb * sizeof(float));
    int32_t *rows = malloc(2 * (size_t)t->w * sizeof(int32_t));
    dv_err e = DV_OK;

    if (!tile || !s1 || !s2 || !amp || !rows) {
        e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory for the mark");
        goto out;
    }
    e = mark_layout_make(key, &lay, ei);
    if (e)
        goto out;
    mark_tile_chips(&lay, payload, tile);
    block_sums(t, bw, bh, s1, s2, rows);
    block_amps(t, bw, bh, s1, s2, amp);
    apply(t, tile, amp, bw, gain_for_psnr(t, amp, nb), rows, st);
out:
    free(rows);
    free(tile);
    free(s1);
    free(s2);
    free(amp);
    return e;
}

dv_err mark_embed_gray8(const crypto_key *key, uint64_t payload, render_image *im, mark_stats *st,
                        dv_errinfo *ei)
{
    target t;

    if (!im->pixels || im->width == 0 || im->height == 0 ||
        (im->channels != 1 && im->channels != 3))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "mark: not an 8-bit gray/RGB image");
    if ((uint64_t)im->width * im->height > MARK_MAX_PIXELS)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "mark: image over %u pixels",
                       MARK_MAX_PIXELS);
    memset(&t, 0, sizeof(t));
    t.k = im->channels == 3 ? K_RGB8 : K_GRAY8;
    t.p = im->pixels;
    t.w = im->width;
    t.h = im->height;
    t.vmin = 0;
    t.vmax = 255;
    t.dscale = 1;
    t.unit = 1;
    t.peak = 255;
    t.amax = MARK_AMP8_MAX;
    return embed(key, payload, &t, st, ei);
}

/* Range of the native values of a wide target (a non-finite float is skipped: it reads as base,
 * set to NaN here, and no comparison with NaN holds).  lo > hi when there is none. */
static void wide_range(target *t, double *lo, double *hi)
{
    size_t n = (size_t)t->w * t->h;
    size_t i;

    t->base = NAN;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (i = 0; i < n; i++) {
        double v = wide_native(t, i);
        if (v < *lo)
            *lo = v;
        if (v > *hi)
            *hi = v;
    }
}

/* The rest of a wide target: base lo, the step q, the display mapping (dscale, doff: native
 * value to display level) and the PSNR peak, all in steps. */
static void wide_finish(target *t, double lo, double hi, double dscale, double doff, double peak,
                        int integer)
{
    double q = 1 / fabs(dscale) / WIDE_STEP;
    double p = 1;

    if (!(lo <= hi))
        lo = hi = 0;
    if ((hi - lo) / (WIDE_LIM / 2) > q)
        q = (hi - lo) / (WIDE_LIM / 2);
    if (!(q > 0) || !isfinite(q))
        q = 1;
    if (integer) { /* a power of two, 1 .. 2^32 */
        while (p < q && p < 4294967296.0)
            p *= 2;
        q = p;
    }
    t->base = lo;
    t->q = q;
    t->dscale = dscale * q;
    t->doff = doff + lo * dscale;
    t->unit = 1 / fabs(t->dscale);
    t->peak = peak / q;
    t->vmin = (int32_t)clampd(floor((t->nmin - lo) / q), -WIDE_LIM, WIDE_LIM);
    t->vmax = (int32_t)clampd(floor((t->nmax - lo) / q), -WIDE_LIM, WIDE_LIM);
}

static void frame_range(const dcm_frame *fr, double *lo, double *hi)
{
    target t;
    size_t n = (size_t)fr->pi.rows * fr->pi.cols;
    size_t i;
    int wide = fr->pi.bits_alloc == 32;

    if (fr->pi.samples != 1 ||
        (fr->pi.bits_alloc != 8 && fr->pi.bits_alloc != 16 && fr->pi.bits_alloc != 32) ||
        fr->len < n * (fr->pi.bits_alloc / 8)) { /* nothing this module can read: no range */
        *lo = 0;
        *hi = -1;
        return;
    }
    memset(&t, 0, sizeof(t));
    t.p = fr->data;
    t.w = fr->pi.cols;
    t.h = fr->pi.rows;
    t.mask = fr->pi.bits_stored >= 32 ? 0xFFFFFFFFu : (1u << fr->pi.bits_stored) - 1;
    if (wide) {
        t.k = K_WIDE;
        t.ws = fr->pi.pixel_rep ? W_S32 : W_U32;
        t.nmax = fr->pi.pixel_rep ? (double)(t.mask >> 1) : (double)t.mask;
        wide_range(&t, lo, hi);
        return;
    }
    t.vmax = fr->pi.pixel_rep ? (int32_t)(t.mask >> 1) : (int32_t)t.mask;
    t.k = fr->pi.bits_alloc == 8 ? K_U8 : fr->pi.pixel_rep ? K_S16 : K_U16;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (i = 0; i < n; i++) {
        double v = get_v(&t, i);
        *lo = v < *lo ? v : *lo;
        *hi = v > *hi ? v : *hi;
    }
}

void mark_window_of(const dcm_ds *ds, const dcm_frame *fr, mark_window *w)
{
    double lo;
    double hi;

    w->slope = 1;
    w->intercept = 0;
    if (dcm_ds_get_double(ds, DCM_TAG(0x0028, 0x1053), 0, &w->slope) || !isfinite(w->slope) ||
        w->slope == 0)
        w->slope = 1;
    if (dcm_ds_get_double(ds, DCM_TAG(0x0028, 0x1052), 0, &w->intercept) || !isfinite(w->intercept))
        w->intercept = 0;
    if (!dcm_ds_get_double(ds, DCM_TAG(0x0028, 0x1050), 0, &w->center) &&
        !dcm_ds_get_double(ds, DCM_TAG(0x0028, 0x1051), 0, &w->width) && isfinite(w->center) &&
        isfinite(w->width) && w->width >= 1)
        return;
    frame_range(fr, &lo, &hi);
    if (!(lo <= hi)) {
        lo = 0;
        hi = 1;
    }
    w->center = (lo + hi) / 2 * w->slope + w->intercept;
    w->width = fabs((hi - lo) * w->slope);
    if (w->width < 1)
        w->width = 1;
}

/* What every frame must be before its samples are read. */
static dv_err frame_check(const dcm_frame *fr, dv_errinfo *ei)
{
    const dcm_pixinfo *pi = &fr->pi;
    int ba = (int)pi->bits_alloc;
    int mono = pi->samples == 1 && strncmp(pi->photometric, "MONOCHROME", 10) == 0;
    int rgb = pi->samples == 3 && strcmp(pi->photometric, "RGB") == 0;

    if (!((mono && (ba == 8 || ba == 16 || ba == 32)) || (rgb && (ba == 16 || ba == 32))) ||
        pi->bits_stored < 2 || pi->bits_stored > pi->bits_alloc ||
        pi->high_bit != pi->bits_stored - 1)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "mark: only MONOCHROME 8/16/32-bit and RGB 16/32-bit frames with HighBit "
                       "= BitsStored - 1");
    if (pi->rows == 0 || pi->cols == 0 || !fr->data || fr->len < dcm_frame_size(pi))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "mark: frame shorter than rows x cols");
    if ((uint64_t)pi->rows * pi->cols > MARK_MAX_PIXELS)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "mark: image over %u pixels",
                       MARK_MAX_PIXELS);
    return DV_OK;
}

/* RGB of 16 or 32 bits: displayed as renderers show colour, each sample scaled from BitsStored
 * to 8 bits (the window is not used). */
static void rgb_target(dcm_frame *fr, target *t)
{
    double lo;
    double hi;

    t->k = K_WIDE;
    t->ws = fr->pi.bits_alloc == 16 ? W_RGB16 : W_RGB32;
    t->nmin = 0;
    t->nmax = (double)t->mask;
    wide_range(t, &lo, &hi);
    wide_finish(t, lo, hi, 255 / (double)t->mask, 0, (double)t->mask, 1);
}

static dv_err frame_target(dcm_frame *fr, const mark_window *mw, target *t, dv_errinfo *ei)
{
    const dcm_pixinfo *pi = &fr->pi;
    mark_window def;
    double lo;
    double hi;
    dv_err e = frame_check(fr, ei);

    if (e)
        return e;
    memset(t, 0, sizeof(*t));
    t->p = fr->data;
    t->w = pi->cols;
    t->h = pi->rows;
    t->mask = pi->bits_stored >= 32 ? 0xFFFFFFFFu : (1u << pi->bits_stored) - 1;
    t->amax = MARK_AMP16_MAX;
    if (pi->samples == 3) {
        rgb_target(fr, t);
        return DV_OK;
    }
    t->k = pi->bits_alloc == 8 ? K_U8 : pi->pixel_rep ? K_S16 : K_U16;
    t->vmin = pi->pixel_rep ? -(int32_t)(t->mask >> 1) - 1 : 0;
    t->vmax = pi->pixel_rep ? (int32_t)(t->mask >> 1) : (int32_t)t->mask;
    if (pi->bits_alloc == 8 && pi->pixel_rep)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG, "mark: signed 8-bit frame");
    if (!mw || !(mw->width > 0) || !isfinite(mw->slope) || mw->slope == 0) {
        memset(&def, 0, sizeof(def));
        mark_window_of(&(dcm_ds){0}, fr, &def);
    } else {
        def = *mw;
    }
    mw = &def;
    t->dscale = mw->slope / mw->width * 255;
    t->doff = (mw->intercept - (mw->center - mw->width / 2)) / mw->width * 255;
    t->unit = 1 / fabs(t->dscale);
    t->peak = (double)t->mask;
    if (pi->bits_alloc == 32) { /* the same mapping, in steps of the wide target */
        t->k = K_WIDE;
        t->ws = pi->pixel_rep ? W_S32 : W_U32;
        t->nmin = pi->pixel_rep ? -(double)(t->mask >> 1) - 1 : 0;
        t->nmax = pi->pixel_rep ? (double)(t->mask >> 1) : (double)t->mask;
        wide_range(t, &lo, &hi);
        wide_finish(t, lo, hi, t->dscale, t->doff, (double)t->mask, 1);
    }
    return DV_OK;
}

dv_err mark_embed_frame(const crypto_key *key, uint64_t payload, dcm_frame *fr,
                        const mark_window *w, mark_stats *st, dv_errinfo *ei)
{
    target t;
    dv_err e;

    memset(&t, 0, sizeof(t));
    e = frame_target(fr, w, &t, ei);

    if (e)
        return e;
    return embed(key, payload, &t, st, ei);
}

dv_err mark_embed_float(const crypto_key *key, uint64_t payload, uint8_t *px, uint32_t w,
                        uint32_t h, unsigned bytes, const mark_window *mw, mark_stats *st,
                        dv_errinfo *ei)
{
    target t;
    mark_window def;
    double lo;
    double hi;

    if (w == 0 || h == 0 || (bytes != 4 && bytes != 8))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "mark: not a float image");
    if ((uint64_t)w * h > MARK_MAX_PIXELS)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "mark: image over %u pixels",
                       MARK_MAX_PIXELS);
    memset(&t, 0, sizeof(t));
    t.k = K_WIDE;
    t.ws = bytes == 4 ? W_F32 : W_F64;
    t.p = px;
    t.w = w;
    t.h = h;
    t.nmin = -INFINITY;
    t.nmax = INFINITY;
    t.amax = MARK_AMP16_MAX;
    wide_range(&t, &lo, &hi);
    if (mw && mw->width > 0 && isfinite(mw->width) && isfinite(mw->center) && isfinite(mw->slope) &&
        mw->slope != 0 && isfinite(mw->intercept)) {
        def = *mw;
    } else { /* min..max of the finite values */
        def.slope = 1;
        def.intercept = 0;
        def.center = lo <= hi ? (lo + hi) / 2 : 0;
        def.width = lo < hi ? hi - lo : 1;
    }
    wide_finish(&t, lo, hi, def.slope / def.width * 255,
                (def.intercept - (def.center - def.width / 2)) / def.width * 255,
                lo < hi ? hi - lo : 1, 0);
    return embed(key, payload, &t, st, ei);
}
