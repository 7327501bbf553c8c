/* SPDX-License-Identifier: Apache-2.0 */
/* phash.c - a perceptual hash of an image, to find which stored image a leaked copy shows: the
 * luminance reduced to 32 x 32 by area averaging, its 2-D DCT-II, and one bit per coefficient of
 * the 8 x 8 lowest frequencies after the DC row and column (above or below their median).  Close
 * under recompression, rescaling, noise and mild geometric or tonal change; not under large
 * crops or rotations.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mark/mark.h"

#include "common/banned.h"

#define PH_N 32
#define PH_K 8

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Area average of the luminance into PH_N x PH_N cells. */
static void reduce(const render_image *im, double out[PH_N][PH_N])
{
    double cnt[PH_N][PH_N];
    uint32_t x, y, cx, cy;

    memset(cnt, 0, sizeof(cnt));
    memset(out, 0, sizeof(double) * PH_N * PH_N);
    for (y = 0; y < im->height; y++) {
        cy = (uint32_t)((uint64_t)y * PH_N / im->height);
        for (x = 0; x < im->width; x++) {
            const uint8_t *p = im->pixels + ((size_t)y * im->width + x) * im->channels;

            cx = (uint32_t)((uint64_t)x * PH_N / im->width);
            out[cy][cx] += im->channels == 1 ? p[0] : .299 * p[0] + .587 * p[1] + .114 * p[2];
            cnt[cy][cx] += 1;
        }
    }
    for (y = 0; y < PH_N; y++)
        for (x = 0; x < PH_N; x++)
            out[y][x] = cnt[y][x] > 0 ? out[y][x] / cnt[y][x] : 0;
}

int mark_phash(const render_image *im, uint64_t *out)
{
    double a[PH_N][PH_N], c[PH_K][PH_N], coef[PH_K * PH_K], sorted[PH_K * PH_K], median, s;
    uint32_t u, v, x, y;

    *out = 0;
    if (!im->pixels || im->width < 1 || im->height < 1 || (im->channels != 1 && im->channels != 3))
        return -1;
    reduce(im, a);
    for (u = 0; u < PH_K; u++) /* frequencies 1..PH_K: the DC row and column are left out */
        for (x = 0; x < PH_N; x++)
            c[u][x] = cos(M_PI * (u + 1) * (2.0 * x + 1) / (2.0 * PH_N));
    for (v = 0; v < PH_K; v++)
        for (u = 0; u < PH_K; u++) {
            s = 0;
            for (y = 0; y < PH_N; y++)
                for (x = 0; x < PH_N; x++)
                    s += a[y][x] * c[v][y] * c[u][x];
            coef[v * PH_K + u] = s;
        }
    memcpy(sorted, coef, sizeof(coef));
    qsort(sorted, (size_t)PH_K * PH_K, sizeof(double), cmp_double);
    median = (sorted[PH_K * PH_K / 2 - 1] + sorted[PH_K * PH_K / 2]) / 2;
    for (u = 0; u < PH_K * PH_K; u++)
        if (coef[u] > median)
            *out |= (uint64_t)1 << u;
    return 0;
}

unsigned mark_phash_distance(uint64_t a, uint64_t b)
{
    uint64_t d = a ^ b;
    unsigned n = 0;

    while (d) {
        d &= d - 1;
        n++;
    }
    return n;
}
