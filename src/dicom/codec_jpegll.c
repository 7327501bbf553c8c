/* SPDX-License-Identifier: Apache-2.0 */
/* codec_jpegll.c - own decoder for lossless JPEG (ISO 10918-1 Annex H, process 14, SOF3 with
 * Huffman coding): predictors 1-7, point transform, precision 2-16, 1-4 components with 1x1
 * sampling, one interleaved scan or one scan per component.
 *
 * Reconstruction is done modulo 2^16 as H.2.1 requires; a sample is written as
 * (value << Pt) in the low g->bytes bytes of the output.  Per scan, two rows (previous and
 * current) of unshifted samples per component serve as the prediction neighbourhood.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "dicom/codec.h"
#include "dicom/jpeg_common.h"

#include "common/banned.h"

typedef struct ll_scan {
    dcm_jpg_stream *s;
    const dcm_codec_geom *g;
    uint8_t *out;
    dcm_jpg_bits b;
    uint16_t *rows;   /* ns * 2 * cols: [i][0] previous row, [i][1] current row */
    unsigned pred;    /* Ss */
    unsigned pt;      /* Al */
    uint32_t restart; /* MCUs per restart interval, 0 = none */
} ll_scan;

static dv_err llfail(dv_errinfo *ei, const char *what)
{
    return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "lossless JPEG: %s", what);
}

/* floor(v / 2) without relying on the sign behaviour of >> */
static int32_t half(int32_t v)
{
    return v >= 0 ? v >> 1 : -((-v + 1) >> 1);
}

static int32_t predict(unsigned sel, int32_t ra, int32_t rb, int32_t rc)
{
    switch (sel) {
    case 1:
        return ra;
    case 2:
        return rb;
    case 3:
        return rc;
    case 4:
        return ra + rb - rc;
    case 5:
        return ra + half(rb - rc);
    case 6:
        return rb + half(ra - rc);
    default:
        return half(ra + rb);
    }
}

static void put_sample(const ll_scan *sc, uint32_t x, uint32_t y, unsigned comp, uint32_t v)
{
    const dcm_codec_geom *g = sc->g;
    size_t at = (((size_t)y * g->cols + x) * g->samples + comp) * g->bytes;

    v <<= sc->pt;
    if (g->bytes == 1)
        sc->out[at] = (uint8_t)v;
    else
        dv_put_le16(sc->out + at, (uint16_t)v);
}

/* Decodes one difference (H.1.2.2: category 16 means 32768 with no extra bits). */
static int decode_diff(dcm_jpg_bits *b, const dcm_jpg_huff *h, int32_t *diff)
{
    int t = dcm_jpg_decode(b, h);

    if (t < 0 || t > 16)
        return -1;
    if (t == 16)
        *diff = 32768;
    else
        *diff = dcm_jpg_extend(dcm_jpg_get(b, t), t);
    return 0;
}

/* Decodes one row of every scan component.  first: first line of the image or interval. */
static dv_err ll_row(ll_scan *sc, uint32_t y, int first, uint32_t *mcus, unsigned *rst,
                     dv_errinfo *ei)
{
    const dcm_jpg_stream *s = sc->s;
    uint32_t cols = sc->g->cols, x;
    int32_t init = (int32_t)(1u << (s->precision - sc->pt - 1));
    unsigned i;

    for (x = 0; x < cols; x++) {
        if (sc->restart && *mcus == sc->restart) {
            dv_err e = dcm_jpg_restart(&sc->b, (*rst)++, ei);

            if (e)
                return e;
            *mcus = 0;
        }
        (*mcus)++;
        for (i = 0; i < s->ns; i++) {
            const dcm_jpg_comp *c = &s->comp[s->scomp[i]];
            uint16_t *prev = sc->rows + (size_t)i * 2 * cols, *cur = prev + cols;
            int32_t px, diff;

            if (decode_diff(&sc->b, &s->dc[c->td], &diff))
                return llfail(ei, "bad Huffman code");
            if (first)
                px = x == 0 ? init : cur[x - 1];
            else if (x == 0)
                px = prev[0];
            else
                px = predict(sc->pred, cur[x - 1], prev[x], prev[x - 1]);
            cur[x] = (uint16_t)((uint32_t)(px + diff) & 0xFFFFu);
            put_sample(sc, x, y, s->scomp[i], cur[x]);
        }
    }
    for (i = 0; i < s->ns; i++) {
        uint16_t *prev = sc->rows + (size_t)i * 2 * cols;

        memcpy(prev, prev + cols, cols * sizeof(*prev));
    }
    return DV_OK;
}

static dv_err ll_decode_scan(ll_scan *sc, dv_errinfo *ei)
{
    dcm_jpg_stream *s = sc->s;
    uint32_t y, mcus = 0;
    unsigned rst = 0;
    int first = 1;
    dv_err e;

    dcm_jpg_bits_init(&sc->b, s->p + s->pos, s->p + s->len);
    for (y = 0; y < sc->g->rows; y++) {
        /* a restart interval (whole rows, checked by the caller) starts a new first line */
        if (y > 0 && sc->restart && mcus == sc->restart)
            first = 1;
        e = ll_row(sc, y, first, &mcus, &rst, ei);
        if (e)
            return e;
        if (dcm_jpg_overrun(&sc->b))
            return llfail(ei, "entropy-coded data ends before the last row");
        first = 0;
    }
    dcm_jpg_skip_ecs(s, &sc->b);
    return DV_OK;
}

static dv_err ll_check_frame(const dcm_jpg_stream *s, const dcm_codec_geom *g, dv_errinfo *ei)
{
    unsigned i;

    if (s->sof != 0xC3)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "lossless JPEG: frame type 0x%02X is not SOF3", s->sof);
    if (s->precision < 2 || s->precision > 16)
        return llfail(ei, "precision outside 2..16");
    if (s->precision > 8 * g->bytes)
        return llfail(ei, "precision exceeds the bits allocated");
    if (s->x != g->cols || s->y != g->rows)
        return llfail(ei, "frame size differs from Rows/Columns");
    if (s->ncomp != g->samples)
        return llfail(ei, "component count differs from SamplesPerPixel");
    for (i = 0; i < s->ncomp && s->ncomp > 1; i++)
        if (s->comp[i].h != 1 || s->comp[i].v != 1)
            return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                           "lossless JPEG: subsampled components");
    return DV_OK;
}

/* Checks the scan header just read and decodes its entropy-coded data. */
static dv_err ll_scan_run(dcm_jpg_stream *s, const dcm_codec_geom *g, uint8_t *out, uint16_t *rows,
                          unsigned *seen, dv_errinfo *ei)
{
    ll_scan sc;
    unsigned i;

    memset(&sc, 0, sizeof(sc));
    sc.s = s;
    sc.g = g;
    sc.out = out;
    sc.rows = rows;
    sc.pred = s->ss;
    sc.pt = s->al;
    sc.restart = s->restart;
    if (sc.pred < 1 || sc.pred > 7)
        return llfail(ei, "predictor selection outside 1..7");
    if (sc.pt >= s->precision)
        return llfail(ei, "point transform not below the precision");
    if (sc.restart && sc.restart % g->cols)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "lossless JPEG: restart interval that is not whole rows");
    for (i = 0; i < s->ns; i++) {
        unsigned ci = s->scomp[i];

        if (!s->dc[s->comp[ci].td].valid)
            return llfail(ei, "scan uses an undefined Huffman table");
        if (*seen & (1u << ci))
            return llfail(ei, "component coded in two scans");
        *seen |= 1u << ci;
    }
    return ll_decode_scan(&sc, ei);
}

dv_err dcm_codec_jpegll(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                        size_t outlen, dv_errinfo *ei)
{
    dcm_jpg_stream *s;
    uint16_t *rows = NULL;
    unsigned seen = 0;
    int marker = 0;
    dv_err e;

    if ((g->bytes != 1 && g->bytes != 2) || outlen == 0 || outlen != dcm_codec_frame_bytes(g))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "lossless JPEG: bad output geometry");
    s = malloc(sizeof(*s));
    if (!s)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "lossless JPEG: state");
    e = dcm_jpg_open(s, src, len, ei);
    while (!e) {
        e = dcm_jpg_next(s, &marker, ei);
        if (e || marker != 0xDA)
            break;
        if (!rows) {
            e = ll_check_frame(s, g, ei);
            if (e)
                break;
            rows = calloc((size_t)s->ncomp * 2, (size_t)g->cols * sizeof(*rows));
            if (!rows) {
                e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "lossless JPEG: rows");
                break;
            }
        }
        e = ll_scan_run(s, g, out, rows, &seen, ei);
    }
    if (!e && seen != (1u << g->samples) - 1u)
        e = llfail(ei, "a component has no scan");
    free(rows);
    free(s);
    return e;
}
