/* SPDX-License-Identifier: Apache-2.0 */
/* codec_jpeg12.c - own decoder for sequential Huffman DCT JPEG (ISO 10918-1 processes 1, 2
 * and 4: SOF0/SOF1), written for the 12-bit streams of JPEG Extended that the 8-bit
 * libjpeg-turbo of Debian cannot read.  8-bit streams decode too (used by the tests).
 *
 * The inverse DCT is the IJG integer "islow" algorithm (Loeffler-Ligtenberg-Moschytz with
 * 13-bit constants, PASS1_BITS 2 for 8-bit and 1 for 12-bit samples) followed by IJG's
 * range-limit table semantics, so output equals that of IJG-based decoders such as dcmdjpeg.
 * Limits: one scan with every component; colour only with 1x1 sampling; no colour transform.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "dicom/codec.h"
#include "dicom/jpeg_common.h"

#include "common/banned.h"

/* zig-zag index -> natural (row-major) index */
static const uint8_t natural[64] = {0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,
                                    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28,
                                    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
                                    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

#define CONST_BITS 13
#define FIX_0_298  2446
#define FIX_0_390  3196
#define FIX_0_541  4433
#define FIX_0_765  6270
#define FIX_0_899  7373
#define FIX_1_175  9633
#define FIX_1_501  12299
#define FIX_1_847  15137
#define FIX_1_961  16069
#define FIX_2_053  16819
#define FIX_2_562  20995
#define FIX_3_072  25172

typedef struct dct_state {
    dcm_jpg_stream *s;
    const dcm_codec_geom *g;
    uint8_t *out;
    dcm_jpg_bits b;
    int32_t qt[DCM_JPG_MAX_COMP][64]; /* natural order, per scan component */
    int32_t dcpred[DCM_JPG_MAX_COMP];
    int pass1; /* PASS1_BITS */
    int maxj;  /* 255 or 4095 */
} dct_state;

static dv_err dfail(dv_errinfo *ei, const char *what)
{
    return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "JPEG DCT: %s", what);
}

static int64_t descale(int64_t x, int n)
{
    return (x + ((int64_t)1 << (n - 1))) >> n;
}

/* One 1-D pass of the islow IDCT on in[0], in[st], ... into out[0], out[ost], ... */
static void idct_1d(const int64_t *in, size_t st, int64_t *out, size_t ost, int shift)
{
    int64_t z1, z2, z3, z4, z5, t0, t1, t2, t3, t10, t11, t12, t13;

    z2 = in[2 * st];
    z3 = in[6 * st];
    z1 = (z2 + z3) * FIX_0_541;
    t2 = z1 - z3 * FIX_1_847;
    t3 = z1 + z2 * FIX_0_765;
    t0 = (in[0] + in[4 * st]) * ((int64_t)1 << CONST_BITS);
    t1 = (in[0] - in[4 * st]) * ((int64_t)1 << CONST_BITS);
    t10 = t0 + t3;
    t13 = t0 - t3;
    t11 = t1 + t2;
    t12 = t1 - t2;
    t0 = in[7 * st];
    t1 = in[5 * st];
    t2 = in[3 * st];
    t3 = in[1 * st];
    z1 = t0 + t3;
    z2 = t1 + t2;
    z3 = t0 + t2;
    z4 = t1 + t3;
    z5 = (z3 + z4) * FIX_1_175;
    t0 *= FIX_0_298;
    t1 *= FIX_2_053;
    t2 *= FIX_3_072;
    t3 *= FIX_1_501;
    z1 *= -FIX_0_899;
    z2 *= -FIX_2_562;
    z3 = z3 * -FIX_1_961 + z5;
    z4 = z4 * -FIX_0_390 + z5;
    t0 += z1 + z3;
    t1 += z2 + z4;
    t2 += z2 + z3;
    t3 += z1 + z4;
    out[0] = descale(t10 + t3, shift);
    out[7 * ost] = descale(t10 - t3, shift);
    out[1 * ost] = descale(t11 + t2, shift);
    out[6 * ost] = descale(t11 - t2, shift);
    out[2 * ost] = descale(t12 + t1, shift);
    out[5 * ost] = descale(t12 - t1, shift);
    out[3 * ost] = descale(t13 + t0, shift);
    out[4 * ost] = descale(t13 - t0, shift);
}

/* IJG's post-IDCT range limit: wraps modulo 4 * (maxj + 1) like its table does. */
static int32_t range_limit(const dct_state *d, int64_t x)
{
    int32_t m = d->maxj + 1, center = m / 2;
    int32_t v = (int32_t)(x & (int64_t)(4 * m - 1));

    if (v < center)
        return v + center;
    if (v < 2 * m)
        return d->maxj;
    if (v < 4 * m - center)
        return 0;
    return v - (4 * m - center);
}

/* Dequantizes and transforms one block (natural order) into 64 samples. */
static void idct_block(const dct_state *d, const int32_t *coef, const int32_t *qt, int32_t *pix)
{
    int64_t in[64], ws[64], row[8];
    size_t i, j;

    for (i = 0; i < 64; i++)
        in[i] = (int64_t)coef[i] * qt[i];
    for (i = 0; i < 8; i++)
        idct_1d(in + i, 8, ws + i, 8, CONST_BITS - d->pass1);
    for (i = 0; i < 8; i++) {
        idct_1d(ws + 8 * i, 1, row, 1, CONST_BITS + d->pass1 + 3);
        for (j = 0; j < 8; j++)
            pix[8 * i + j] = range_limit(d, row[j]);
    }
}

/* Huffman-decodes one block (F.2.2) into coef (natural order). */
static dv_err decode_block(dct_state *d, const dcm_jpg_comp *c, unsigned ci, int32_t *coef,
                           dv_errinfo *ei)
{
    const dcm_jpg_huff *dc = &d->s->dc[c->td], *ac = &d->s->ac[c->ta];
    int t, k;

    memset(coef, 0, 64 * sizeof(*coef));
    t = dcm_jpg_decode(&d->b, dc);
    if (t < 0 || t > 15)
        return dfail(ei, "bad DC Huffman code");
    d->dcpred[ci] += dcm_jpg_extend(dcm_jpg_get(&d->b, t), t);
    coef[0] = (int16_t)(uint16_t)d->dcpred[ci]; /* JCOEF is 16 bits in IJG */
    for (k = 1; k < 64; k++) {
        int rs = dcm_jpg_decode(&d->b, ac), r, sz;

        if (rs < 0)
            return dfail(ei, "bad AC Huffman code");
        r = rs >> 4;
        sz = rs & 15;
        if (sz) {
            k += r;
            if (k > 63)
                return dfail(ei, "AC run passes the end of the block");
            coef[natural[k]] = dcm_jpg_extend(dcm_jpg_get(&d->b, sz), sz);
        } else if (r == 15) {
            k += 15;
        } else {
            break;
        }
    }
    return DV_OK;
}

static void put_block(const dct_state *d, const int32_t *pix, uint32_t bx, uint32_t by,
                      unsigned comp)
{
    const dcm_codec_geom *g = d->g;
    uint32_t i, j;

    for (i = 0; i < 8 && by * 8 + i < g->rows; i++) {
        for (j = 0; j < 8 && bx * 8 + j < g->cols; j++) {
            size_t at =
                (((size_t)(by * 8 + i) * g->cols + (size_t)bx * 8 + j) * g->samples + comp) *
                g->bytes;

            if (g->bytes == 1)
                d->out[at] = (uint8_t)pix[8 * i + j];
            else
                dv_put_le16(d->out + at, (uint16_t)pix[8 * i + j]);
        }
    }
}

static dv_err dct_scan(dct_state *d, dv_errinfo *ei)
{
    dcm_jpg_stream *s = d->s;
    uint32_t bw = (d->g->cols + 7u) / 8u, bh = (d->g->rows + 7u) / 8u, bx, by, mcus = 0;
    int32_t coef[64], pix[64];
    unsigned rst = 0, i;
    dv_err e;

    dcm_jpg_bits_init(&d->b, s->p + s->pos, s->p + s->len);
    for (by = 0; by < bh; by++) {
        for (bx = 0; bx < bw; bx++) {
            if (s->restart && mcus == s->restart) {
                e = dcm_jpg_restart(&d->b, rst++, ei);
                if (e)
                    return e;
                memset(d->dcpred, 0, sizeof(d->dcpred));
                mcus = 0;
            }
            mcus++;
            for (i = 0; i < s->ns; i++) {
                e = decode_block(d, &s->comp[s->scomp[i]], i, coef, ei);
                if (e)
                    return e;
                idct_block(d, coef, d->qt[i], pix);
                put_block(d, pix, bx, by, s->scomp[i]);
            }
        }
        if (dcm_jpg_overrun(&d->b))
            return dfail(ei, "entropy-coded data ends before the last block row");
    }
    dcm_jpg_skip_ecs(s, &d->b);
    return DV_OK;
}

static dv_err dct_check(dct_state *d, dv_errinfo *ei)
{
    const dcm_jpg_stream *s = d->s;
    const dcm_codec_geom *g = d->g;
    unsigned i, j;

    if (s->sof != 0xC0 && s->sof != 0xC1)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG DCT: frame type 0x%02X is not sequential Huffman", s->sof);
    if ((s->precision != 8 && s->precision != 12) || s->precision > 8 * g->bytes)
        return dfail(ei, "precision is not 8 or 12, or exceeds the bits allocated");
    if (s->x != g->cols || s->y != g->rows || s->ncomp != g->samples)
        return dfail(ei, "frame size or components differ from the pixel description");
    /* Ss/Se/Ah/Al are not checked: IJG only warns, and real encoders write zeros there */
    if (s->ns != s->ncomp)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG DCT: only one full sequential scan holding every component");
    for (i = 0; i < s->ns; i++) {
        const dcm_jpg_comp *c = &s->comp[s->scomp[i]];

        if (s->ncomp > 1 && (c->h != 1 || c->v != 1))
            return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                           "JPEG DCT: subsampled colour in the own decoder");
        if (!s->qt_valid[c->tq] || !s->dc[c->td].valid || !s->ac[c->ta].valid)
            return dfail(ei, "scan uses an undefined table");
        for (j = 0; j < 64; j++)
            d->qt[i][natural[j]] = s->qt[c->tq][j];
    }
    d->pass1 = s->precision == 8 ? 2 : 1;
    d->maxj = (1 << s->precision) - 1;
    return DV_OK;
}

dv_err dcm_codec_jpeg12(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                        size_t outlen, dv_errinfo *ei)
{
    dct_state *d;
    int marker = 0, scans = 0;
    dv_err e;

    if ((g->bytes != 1 && g->bytes != 2) || outlen == 0 || outlen != dcm_codec_frame_bytes(g))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "JPEG DCT: bad output geometry");
    d = calloc(1, sizeof(*d));
    if (d)
        d->s = malloc(sizeof(*d->s));
    if (!d || !d->s) {
        free(d);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "JPEG DCT: state");
    }
    d->g = g;
    d->out = out;
    e = dcm_jpg_open(d->s, src, len, ei);
    while (!e) {
        e = dcm_jpg_next(d->s, &marker, ei);
        if (e || marker != 0xDA)
            break;
        if (scans++)
            e = dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                        "JPEG DCT: more than one scan");
        if (!e)
            e = dct_check(d, ei);
        if (!e)
            e = dct_scan(d, ei);
    }
    if (!e && scans == 0)
        e = dfail(ei, "no scan before EOI");
    free(d->s);
    free(d);
    return e;
}
