/* SPDX-License-Identifier: Apache-2.0 */
/* informed.c - detection with the original: register the leak to it, predict the leak from the
 * original (geometry, blur, intensity curve), subtract, and search the residual for the mark.
 *
 * The picture is what hides a mark from blind detection (the whitening only weakens it); with
 * the original in hand it can be taken away.  The prediction: the original resampled into the
 * leak's pixels through the homography (anti-aliased when the leak is smaller), its values
 * mapped by the curve that best explains the leak's (mean leak value per bin of original value:
 * any window, gamma or negative), blurred by the Gaussian (of a few tried) that best explains
 * the leak (a photo's focus, a resize), and fitted once more by least squares.  The residual is
 * carried back onto the original's grid, where the mark's tiles are where they were embedded.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dicom/pixel.h"
#include "mark/mark_int.h"

#include "common/banned.h"

#define NBINS        256
#define KNOWN_RADIUS 3

static const double BLURS[] = {0, 0.7, 1.2, 2.0, 3.0};
#define NBLURS (sizeof(BLURS) / sizeof(BLURS[0]))

typedef struct work {
    const float *ref;
    uint32_t rw, rh;
    float *leak; /* w x h luminance */
    uint32_t w, h;
    double hf[9], hi[9]; /* original -> leak, leak -> original */
    float *pred;         /* w x h prediction */
    uint8_t *valid;      /* w x h: the pixel shows the original */
    float *tmp, *t2;     /* w x h */
} work;

/* Leak pixels per original pixel around the original's centre. */
static double local_scale(const double h[9], uint32_t rw, uint32_t rh)
{
    double x0, y0, x1, y1, x2, y2, cu = rw / 2.0, cv = rh / 2.0;

    if (mark_h_project(h, cu, cv, &x0, &y0) || mark_h_project(h, cu + 1, cv, &x1, &y1) ||
        mark_h_project(h, cu, cv + 1, &x2, &y2))
        return 1;
    return sqrt(fabs((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)));
}

/* pred = the original resampled at the leak's pixels; valid marks where it lands inside. */
static int resample_original(work *k)
{
    double s = local_scale(k->hf, k->rw, k->rh), u, v;
    mark_smooth src;
    uint32_t x, y;

    if (mark_smoothed(k->ref, k->rw, k->rh, s < 1 ? 0.5 * sqrt(1 / (s * s) - 1) : 0, &src))
        return -1;
    for (y = 0; y < k->h; y++)
        for (x = 0; x < k->w; x++) {
            size_t i = (size_t)y * k->w + x;
            int in = !mark_h_project(k->hi, x, y, &u, &v) && u >= 1 && v >= 1 && u <= k->rw - 2.0 &&
                     v <= k->rh - 2.0;
            k->valid[i] = (uint8_t)in;
            k->pred[i] = in ? mark_smooth_at(&src, u, v) : 0;
        }
    free(src.p);
    return 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Bin edges at quantiles of the valid predicted values (a sample of them): every bin holds about
 * as many pixels, however the original's values spread (a few outliers, a narrow window). */
static int quantile_edges(const work *k, float edge[NBINS + 1])
{
    size_t i, n = (size_t)k->w * k->h, m = 0, step = n / 65536 + 1;
    float *s = malloc((n / step + 1) * sizeof(float));
    int b;

    if (!s)
        return -1;
    for (i = 0; i < n; i += step)
        if (k->valid[i])
            s[m++] = k->pred[i];
    if (m < (size_t)2 * NBINS) {
        free(s);
        return 1;
    }
    qsort(s, m, sizeof(float), cmp_float);
    for (b = 0; b <= NBINS; b++)
        edge[b] = s[(m - 1) * (size_t)b / NBINS];
    free(s);
    return 0;
}

static int bin_of(const float edge[NBINS + 1], float v)
{
    int lo = 0, hi = NBINS - 1;

    while (lo < hi) { /* the last bin whose lower edge is <= v */
        int mid = (lo + hi + 1) / 2;
        if (edge[mid] <= v)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* pred = f(pred): f through the (mean predicted value, mean leak value) of every bin, linear
 * between them -- any window, gamma or negative the leak went through.  -1 out of memory. */
static int fit_curve(work *k)
{
    double sx[NBINS] = {0}, sy[NBINS] = {0}, cnt[NBINS] = {0}, x[NBINS], y[NBINS];
    float edge[NBINS + 1];
    size_t i, n = (size_t)k->w * k->h;
    int b, m = 0, rc = quantile_edges(k, edge);

    if (rc)
        return rc < 0 ? -1 : 0;
    for (i = 0; i < n; i++)
        if (k->valid[i]) {
            b = bin_of(edge, k->pred[i]);
            sx[b] += k->pred[i];
            sy[b] += k->leak[i];
            cnt[b] += 1;
        }
    for (b = 0; b < NBINS; b++)
        if (cnt[b] > 0 && (m == 0 || sx[b] / cnt[b] > x[m - 1])) {
            x[m] = sx[b] / cnt[b];
            y[m++] = sy[b] / cnt[b];
        }
    for (i = 0; i < n; i++) {
        int j;
        double t;
        if (!k->valid[i] || m < 2) {
            k->pred[i] = k->valid[i] && m == 1 ? (float)y[0] : k->leak[i];
            continue; /* outside: the leak itself, so no edge at the footprint's border */
        }
        j = bin_of(edge, k->pred[i]);
        j = j >= m - 1 ? m - 2 : j;
        while (j > 0 && k->pred[i] < x[j])
            j--;
        while (j < m - 2 && k->pred[i] > x[j + 1])
            j++;
        t = (k->pred[i] - x[j]) / (x[j + 1] - x[j]);
        t = t < -1 ? -1 : t > 2 ? 2 : t;
        k->pred[i] = (float)(y[j] + (y[j + 1] - y[j]) * t);
    }
    return 0;
}

/* Least-squares a, c of leak = a * p + c over the valid pixels; the residual energy. */
static double affine_fit(const work *k, const float *p, double *a, double *c)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0, m = 0, d;
    size_t i, n = (size_t)k->w * k->h;

    for (i = 0; i < n; i++)
        if (k->valid[i]) {
            sx += p[i];
            sy += k->leak[i];
            sxx += (double)p[i] * p[i];
            sxy += (double)p[i] * k->leak[i];
            syy += (double)k->leak[i] * k->leak[i];
            m += 1;
        }
    d = m * sxx - sx * sx;
    *a = m > 0 && d > 0 ? (m * sxy - sx * sy) / d : 1;
    *c = m > 0 ? (sy - *a * sx) / m : 0;
    return syy - 2 * *a * sxy - 2 * *c * sy + *a * *a * sxx + 2 * *a * *c * sx + *c * *c * m;
}

/* The blur that explains the leak best; pred becomes the final prediction. */
static double fit_blur(work *k)
{
    size_t i, n = (size_t)k->w * k->h, b;
    double a, c, e, best = INFINITY, bs = 0, ba = 1, bc = 0;

    for (b = 0; b < NBLURS; b++) {
        memcpy(k->t2, k->pred, n * sizeof(float));
        mark_blur(k->t2, k->w, k->h, k->tmp, BLURS[b]);
        e = affine_fit(k, k->t2, &a, &c);
        if (e < best) {
            best = e;
            bs = BLURS[b];
            ba = a;
            bc = c;
        }
    }
    mark_blur(k->pred, k->w, k->h, k->tmp, bs);
    for (i = 0; i < n; i++)
        k->pred[i] = (float)(ba * k->pred[i] + bc);
    return bs;
}

/* The part of the original's grid the leak shows: its footprint's bounding box, widened to
 * whole tiles so that the tiles' origin stays at the box's corner. */
typedef struct box {
    uint32_t x0, y0, w, h;
} box;

static box footprint(const work *k)
{
    const double cx[4] = {0, k->w, k->w, 0}, cy[4] = {0, 0, k->h, k->h};
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY}, u, v;
    box b = {0, 0, k->rw, k->rh};
    int i;

    for (i = 0; i < 4; i++) {
        if (mark_h_project(k->hi, cx[i], cy[i], &u, &v))
            return b; /* the leak reaches the horizon: all of it */
        lo[0] = fmin(lo[0], u);
        lo[1] = fmin(lo[1], v);
        hi[0] = fmax(hi[0], u);
        hi[1] = fmax(hi[1], v);
    }
    lo[0] = fmax(0, floor(lo[0] / MARK_TILE) * MARK_TILE);
    lo[1] = fmax(0, floor(lo[1] / MARK_TILE) * MARK_TILE);
    hi[0] = fmin(k->rw, ceil(hi[0] + 1));
    hi[1] = fmin(k->rh, ceil(hi[1] + 1));
    if (hi[0] - lo[0] >= MARK_MIN_SIDE && hi[1] - lo[1] >= MARK_MIN_SIDE)
        b = (box){(uint32_t)lo[0], (uint32_t)lo[1], (uint32_t)(hi[0] - lo[0]),
                  (uint32_t)(hi[1] - lo[1])};
    return b;
}

/* The residual on the original's grid, over box b (malloc'd, b.w x b.h): zero where the leak
 * shows nothing. */
static float *residual(work *k, box b)
{
    size_t i, n = (size_t)k->w * k->h;
    float *out = malloc((size_t)b.w * b.h * sizeof(float));
    uint32_t u, v;
    double x, y;

    if (!out)
        return NULL;
    for (i = 0; i < n; i++)
        k->tmp[i] = k->valid[i] ? k->leak[i] - k->pred[i] : 0;
    for (v = 0; v < b.h; v++)
        for (u = 0; u < b.w; u++) {
            size_t o = (size_t)v * b.w + u;
            out[o] = 0;
            if (mark_h_project(k->hf, u + b.x0, v + b.y0, &x, &y) || x < 1 || y < 1 ||
                x > k->w - 2.0 || y > k->h - 2.0)
                continue;
            if (k->valid[(size_t)lrint(y) * k->w + (size_t)lrint(x)])
                out[o] = mark_bilinear(k->tmp, k->w, k->h, x, y);
        }
    return out;
}

/* The residual is searched twice: at the known geometry (the tiles where they were embedded, a
 * registration error of up to KNOWN_RADIUS pixels), then as a blind search (a print's page
 * scale, a copy made from another render).  Either may be wrong, so each stage's probability
 * counts twice (Bonferroni): the whole procedure stays below MARK_FP_MAX. */
static int two_stages(mark_result *res)
{
    res->fp_probability = res->fp_probability * 2 < 1 ? res->fp_probability * 2 : 1;
    res->hypotheses = res->hypotheses < UINT32_MAX / 2 ? 2 * res->hypotheses : UINT32_MAX;
    res->found = res->found && res->fp_probability < MARK_FP_MAX;
    if (!res->found)
        res->payload = 0;
    return res->found;
}

static float *luminance(const render_image *im)
{
    size_t i, n = (size_t)im->width * im->height;
    float *px = malloc(n * sizeof(float));

    for (i = 0; px && i < n; i++) {
        const uint8_t *p = im->pixels + i * im->channels;
        px[i] = im->channels == 1 ? p[0] : .299f * p[0] + .587f * p[1] + .114f * p[2];
    }
    return px;
}

static dv_err predict_and_detect(const crypto_key *key, work *k, const uint64_t *cand, size_t ncand,
                                 mark_result *res, mark_reg *reg, dv_errinfo *ei)
{
    size_t n = (size_t)k->w * k->h;
    float *r;
    box b;
    dv_err e;

    k->pred = malloc(n * sizeof(float));
    k->tmp = malloc(n * sizeof(float));
    k->t2 = malloc(n * sizeof(float));
    k->valid = malloc(n);
    if (!k->pred || !k->tmp || !k->t2 || !k->valid || resample_original(k))
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "mark: out of memory");
    if (fit_curve(k))
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "mark: out of memory");
    reg->blur = fit_blur(k);
    b = footprint(k);
    r = residual(k, b);
    if (!r)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "mark: out of memory");
    e = mark_detect_float_known(key, r, b.w, b.h, cand, ncand, KNOWN_RADIUS, res, ei);
    if (!e && !two_stages(res)) {
        e = mark_detect_float(key, r, b.w, b.h, cand, ncand, res, ei);
        if (!e)
            (void)two_stages(res);
    }
    free(r);
    return e;
}

dv_err mark_detect_original(const crypto_key *key, const float *ref, uint32_t rw, uint32_t rh,
                            const render_image *leak, const uint64_t *cand, size_t ncand,
                            mark_result *res, mark_reg *reg, dv_errinfo *ei)
{
    mark_reg own = {0};
    work k;
    dv_err e;

    memset(res, 0, sizeof(*res));
    res->fp_probability = 1;
    reg = reg ? reg : &own;
    memset(reg, 0, sizeof(*reg));
    if (!leak->pixels || !leak->width || !leak->height ||
        (leak->channels != 1 && leak->channels != 3) || !rw || !rh)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "mark: not an 8-bit gray/RGB image");
    if ((uint64_t)leak->width * leak->height > MARK_MAX_PIXELS ||
        (uint64_t)rw * rh > MARK_MAX_PIXELS)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "mark: image over %u pixels",
                       MARK_MAX_PIXELS);
    memset(&k, 0, sizeof(k));
    k.ref = ref;
    k.rw = rw;
    k.rh = rh;
    k.w = leak->width;
    k.h = leak->height;
    k.leak = luminance(leak);
    if (!k.leak)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "mark: out of memory");
    e = mark_register(ref, rw, rh, k.leak, k.w, k.h, reg, ei);
    if (!e && reg->ok) {
        memcpy(k.hf, reg->h, sizeof(k.hf));
        if (mark_mat3_inv(k.hf, k.hi) == 0)
            e = predict_and_detect(key, &k, cand, ncand, res, reg, ei);
    }
    free(k.leak);
    free(k.pred);
    free(k.tmp);
    free(k.t2);
    free(k.valid);
    return e;
}

/* ---- the original of a stored object ---------------------------------------------------- */

static float sample_of(const dcm_frame *fr, size_t i)
{
    const uint8_t *p = fr->data;
    uint32_t bits = fr->pi.bits_alloc;

    if (bits == 8)
        return fr->pi.pixel_rep ? (float)(int8_t)p[i] : (float)p[i];
    if (bits == 16)
        return fr->pi.pixel_rep ? (float)(int16_t)dv_le16(p + 2 * i) : (float)dv_le16(p + 2 * i);
    return fr->pi.pixel_rep ? (float)(int32_t)dv_le32(p + 4 * i) : (float)dv_le32(p + 4 * i);
}

static dv_err from_render(const dcm_file *f, float **px, uint32_t *w, uint32_t *h, dv_errinfo *ei)
{
    render_image im = {0};
    dv_err e = render_frame(f, 0, NULL, &im, ei);

    if (e)
        return e;
    *px = luminance(&im);
    *w = im.width;
    *h = im.height;
    render_image_release(&im);
    return *px ? DV_OK : dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "mark: out of memory");
}

dv_err mark_reference_of(const dcm_file *f, float **px, uint32_t *w, uint32_t *h, dv_errinfo *ei)
{
    dcm_frame fr;
    size_t i, n;
    dv_err e;

    *px = NULL;
    e = dcm_frame_decode(f, 0, &fr, ei);
    if (e)
        return e;
    if (fr.pi.samples != 1 || strncmp(fr.pi.photometric, "MONOCHROME", 10) != 0 ||
        (fr.pi.bits_alloc != 8 && fr.pi.bits_alloc != 16 && fr.pi.bits_alloc != 32)) {
        dcm_frame_release(&fr); /* colour, palette, 1-bit: the default render's luminance */
        return from_render(f, px, w, h, ei);
    }
    n = (size_t)fr.pi.rows * fr.pi.cols;
    if ((uint64_t)fr.pi.rows * fr.pi.cols > MARK_MAX_PIXELS) {
        dcm_frame_release(&fr);
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "mark: image over %u pixels",
                       MARK_MAX_PIXELS);
    }
    *px = malloc(n * sizeof(float));
    for (i = 0; *px && i < n; i++)
        (*px)[i] = sample_of(&fr, i);
    *w = fr.pi.cols;
    *h = fr.pi.rows;
    dcm_frame_release(&fr);
    return *px ? DV_OK : dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "mark: out of memory");
}
