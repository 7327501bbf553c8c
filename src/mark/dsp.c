/* SPDX-License-Identifier: Apache-2.0 */
/* dsp.c - signal helpers of the watermark: keyed tile layout, radix-2 FFT, box filters.
 *
 * The layout comes from randombytes_buf_deterministic() seeded with a sub-key of the mark key
 * ("dcmvault mark v1 layout"): a Fisher-Yates permutation of the cells (the first MARK_NSYNC
 * are sync cells, the next ones carry coded bits 0, 1, ... in turn), one sign per cell and the
 * CRC mask.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mark/mark_int.h"

#include "common/banned.h"

dv_err mark_layout_make(const crypto_key *key, mark_layout *l, dv_errinfo *ei)
{
    crypto_key sub;
    uint32_t rnd[MARK_NCELLS + MARK_NCELLS / 32 + 1];
    uint16_t perm[MARK_NCELLS];
    uint32_t i;
    uint32_t j;
    uint16_t t;

    if (crypto_key_derive(key, "dcmvault mark v1 layout", &sub))
        return dv_fail(ei, DV_ECRYPTO, DV_NO_OFFSET, DV_NO_TAG, "mark sub-key derivation failed");
    randombytes_buf_deterministic(rnd, sizeof(rnd), sub.k);
    crypto_key_wipe(&sub);
    for (i = 0; i < MARK_NCELLS; i++)
        perm[i] = (uint16_t)i;
    for (i = MARK_NCELLS - 1; i > 0; i--) {
        j = (uint32_t)(((uint64_t)rnd[i] * (i + 1)) >> 32);
        t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (i = 0; i < MARK_NCELLS; i++) {
        uint32_t word = rnd[MARK_NCELLS + i / 32];
        l->sign[perm[i]] = (int8_t)((word >> (i % 32)) & 1u ? 1 : -1);
        l->bit[perm[i]] =
            (int16_t)(i < MARK_NSYNC ? -1 : (int)((i - MARK_NSYNC) % MARK_CODED_BITS));
    }
    l->crc_mask = rnd[MARK_NCELLS + MARK_NCELLS / 32] & 0xFFFFFFu;
    sodium_memzero(rnd, sizeof(rnd));
    return DV_OK;
}

void mark_tile_chips(const mark_layout *l, uint64_t payload, int8_t tile[MARK_TT])
{
    uint8_t coded[MARK_CODED_BITS];
    int8_t cell[MARK_NCELLS];
    uint32_t c;
    uint32_t x;
    uint32_t y;

    mark_code_encode(payload, l->crc_mask, coded);
    for (c = 0; c < MARK_NCELLS; c++) {
        int v = l->bit[c] < 0 ? 1 : (coded[l->bit[c]] ? 1 : -1);
        cell[c] = (int8_t)(v * l->sign[c]);
    }
    for (y = 0; y < MARK_TILE; y++)
        for (x = 0; x < MARK_TILE; x++)
            tile[y * MARK_TILE + x] = cell[(y / MARK_CELL) * MARK_CSIDE + x / MARK_CELL];
}

/* Radix-2 FFT with twiddles tw[k] = exp(-2 pi i k / n), k < n / 2 (conjugated for inv). */
static void fft_tw(float *re, float *im, uint32_t n, int inv, const float *twr, const float *twi)
{
    uint32_t i;
    uint32_t j = 0;
    uint32_t len;
    uint32_t k;
    float t;

    for (i = 1; i < n; i++) {
        uint32_t bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (len = 2; len <= n; len <<= 1) {
        uint32_t step = n / len;
        for (k = 0; k < len / 2; k++) {
            float wr = twr[(size_t)k * step];
            float wi = inv ? -twi[(size_t)k * step] : twi[(size_t)k * step];
            for (i = k; i < n; i += len) {
                uint32_t m = i + len / 2;
                float xr = re[m] * wr - im[m] * wi;
                float xi = re[m] * wi + im[m] * wr;
                re[m] = re[i] - xr;
                im[m] = im[i] - xi;
                re[i] += xr;
                im[i] += xi;
            }
        }
    }
}

#define TW_MAX 4096u

/* Twiddles of size n into tw (2 * (n / 2) floats). */
static void twiddles(uint32_t n, float *tw)
{
    uint32_t k;

    for (k = 0; k < n / 2; k++) {
        tw[k] = (float)cos(2 * M_PI * k / n);
        tw[n / 2 + k] = (float)-sin(2 * M_PI * k / n);
    }
}

void mark_fft(float *re, float *im, uint32_t n, int inv)
{
    float tw[TW_MAX] = {0};

    if (n < 2 || n > TW_MAX)
        return;
    twiddles(n, tw);
    fft_tw(re, im, n, inv, tw, tw + n / 2);
}

void mark_fft2(float *re, float *im, uint32_t n, int inv, float *tmp)
{
    float tw[TW_MAX] = {0};
    uint32_t x;
    uint32_t y;

    if (n < 2 || n > TW_MAX)
        return;
    twiddles(n, tw);
    for (y = 0; y < n; y++)
        fft_tw(re + (size_t)y * n, im + (size_t)y * n, n, inv, tw, tw + n / 2);
    for (x = 0; x < n; x++) {
        for (y = 0; y < n; y++) {
            tmp[y] = re[(size_t)y * n + x];
            tmp[n + y] = im[(size_t)y * n + x];
        }
        fft_tw(tmp, tmp + n, n, inv, tw, tw + n / 2);
        for (y = 0; y < n; y++) {
            re[(size_t)y * n + x] = tmp[y];
            im[(size_t)y * n + x] = tmp[n + y];
        }
    }
}

static void box_rows(const float *in, float *out, uint32_t w, uint32_t h, uint32_t r)
{
    uint32_t x;
    uint32_t y;

    for (y = 0; y < h; y++) {
        const float *p = in + (size_t)y * w;
        float *o = out + (size_t)y * w;
        double s = 0;
        uint32_t lo = 0;
        uint32_t hi = 0; /* window [lo, hi) */
        for (x = 0; x < w; x++) {
            uint32_t want_hi = x + r + 1 < w ? x + r + 1 : w;
            uint32_t want_lo = x > r ? x - r : 0;
            for (; hi < want_hi; hi++)
                s += p[hi];
            for (; lo < want_lo; lo++)
                s -= p[lo];
            o[x] = (float)(s / (hi - lo));
        }
    }
}

dv_err mark_box_mean(const float *in, float *out, float *tmp, uint32_t w, uint32_t h, uint32_t r)
{
    double *acc = calloc(w, sizeof(double));
    uint32_t x;
    uint32_t y;
    uint32_t lo = 0;
    uint32_t hi = 0;

    if (!acc)
        return DV_ENOMEM;
    box_rows(in, tmp, w, h, r);
    for (y = 0; y < h; y++) {
        uint32_t want_hi = y + r + 1 < h ? y + r + 1 : h;
        uint32_t want_lo = y > r ? y - r : 0;
        for (; hi < want_hi; hi++)
            for (x = 0; x < w; x++)
                acc[x] += tmp[(size_t)hi * w + x];
        for (; lo < want_lo; lo++)
            for (x = 0; x < w; x++)
                acc[x] -= tmp[(size_t)lo * w + x];
        for (x = 0; x < w; x++)
            out[(size_t)y * w + x] = (float)(acc[x] / (hi - lo));
    }
    free(acc);
    return DV_OK;
}

double mark_q(double z)
{
    return 0.5 * erfc(z / M_SQRT2);
}
