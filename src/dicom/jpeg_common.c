/* SPDX-License-Identifier: Apache-2.0 */
/* jpeg_common.c - JPEG marker segments, Huffman tables and the entropy bit reader (ISO 10918-1
 * Annex B, C and F.2.2) for the own decoders.
 *
 * Every segment length is checked against the bytes left before it is read; tables are
 * checked as libjpeg does (code space not overrun, at most 256 symbols).
 */
#include <string.h>

#include "common/buf.h"
#include "dicom/codec.h"
#include "dicom/jpeg_common.h"

#include "common/banned.h"

#define M_SOI 0xD8
#define M_EOI 0xD9
#define M_SOS 0xDA
#define M_DQT 0xDB
#define M_DNL 0xDC
#define M_DRI 0xDD
#define M_DHT 0xC4
#define M_DAC 0xCC

static dv_err jfail(dv_errinfo *ei, size_t pos, const char *what)
{
    return dv_fail(ei, DV_ECODEC, pos, DV_NO_TAG, "JPEG: %s", what);
}

dv_err dcm_jpg_open(dcm_jpg_stream *s, const uint8_t *p, size_t len, dv_errinfo *ei)
{
    memset(s, 0, sizeof(*s));
    s->p = p;
    s->len = len;
    if (len < 4 || p[0] != 0xFF || p[1] != M_SOI)
        return jfail(ei, 0, "stream does not start with SOI");
    s->pos = 2;
    return DV_OK;
}

/* Builds a decoding table from BITS (counts[1..16]) and HUFFVAL. */
static int huff_build(dcm_jpg_huff *h, const uint8_t counts[17], const uint8_t *vals)
{
    uint32_t code = 0;
    unsigned l, k = 0, i;

    memset(h, 0, sizeof(*h));
    for (l = 1; l <= 16; l++) {
        h->valoff[l] = (int32_t)k - (int32_t)code;
        for (i = 0; i < counts[l]; i++) {
            if (l <= 8) {
                unsigned lo = (code << (8 - l)) & 0xFF, n = 1u << (8 - l), j;

                for (j = 0; j < n; j++) {
                    h->fast_len[lo + j] = (uint8_t)l;
                    h->fast_val[lo + j] = vals[k];
                }
            }
            code++;
            k++;
        }
        h->maxcode[l] = counts[l] ? (int32_t)code - 1 : -1;
        if (code >= (1u << l))
            return -1; /* overruns the code space or uses an all-ones code, as IJG rejects */
        code <<= 1;
    }
    h->maxcode[17] = INT32_MAX;
    memcpy(h->vals, vals, k);
    h->valid = 1;
    return 0;
}

static dv_err seg_dht(dcm_jpg_stream *s, const uint8_t *q, size_t n, dv_errinfo *ei)
{
    while (n > 0) {
        uint8_t counts[17] = {0};
        unsigned tc, th, l, total = 0;

        if (n < 17)
            return jfail(ei, s->pos, "DHT segment too short");
        tc = q[0] >> 4;
        th = q[0] & 15;
        for (l = 1; l <= 16; l++) {
            counts[l] = q[l];
            total += q[l];
        }
        if (tc > 1 || th > 3 || total > 256 || total > n - 17)
            return jfail(ei, s->pos, "bad DHT table header");
        if (huff_build(tc ? &s->ac[th] : &s->dc[th], counts, q + 17))
            return jfail(ei, s->pos, "bad Huffman table");
        q += 17 + total;
        n -= 17 + total;
    }
    return DV_OK;
}

static dv_err seg_dqt(dcm_jpg_stream *s, const uint8_t *q, size_t n, dv_errinfo *ei)
{
    while (n > 0) {
        unsigned pq = q[0] >> 4, tq = q[0] & 15, i;
        size_t need = 1 + (pq ? 128u : 64u);

        if (pq > 1 || tq > 3 || n < need)
            return jfail(ei, s->pos, "bad DQT segment");
        for (i = 0; i < 64; i++)
            s->qt[tq][i] = pq ? dv_be16(q + 1 + (size_t)2 * i) : q[1 + i];
        s->qt_valid[tq] = 1;
        q += need;
        n -= need;
    }
    return DV_OK;
}

static dv_err seg_sof(dcm_jpg_stream *s, uint8_t m, const uint8_t *q, size_t n, dv_errinfo *ei)
{
    unsigned i, j;

    if (s->sof)
        return jfail(ei, s->pos, "second SOF marker");
    if (n < 6)
        return jfail(ei, s->pos, "SOF segment too short");
    s->sof = m;
    s->precision = q[0];
    s->y = dv_be16(q + 1);
    s->x = dv_be16(q + 3);
    s->ncomp = q[5];
    if (s->ncomp < 1 || s->ncomp > DCM_JPG_MAX_COMP || n != 6 + 3u * s->ncomp)
        return jfail(ei, s->pos, "bad SOF component count or length");
    for (i = 0; i < s->ncomp; i++) {
        dcm_jpg_comp *c = &s->comp[i];

        c->id = q[6 + 3 * i];
        c->h = q[7 + 3 * i] >> 4;
        c->v = q[7 + 3 * i] & 15;
        c->tq = q[8 + 3 * i];
        if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4 || c->tq > 3)
            return jfail(ei, s->pos, "bad SOF sampling factor or table");
        for (j = 0; j < i; j++)
            if (s->comp[j].id == c->id)
                return jfail(ei, s->pos, "duplicate component id in SOF");
    }
    return DV_OK;
}

static dv_err seg_sos(dcm_jpg_stream *s, const uint8_t *q, size_t n, dv_errinfo *ei)
{
    unsigned i, j;

    if (!s->sof)
        return jfail(ei, s->pos, "scan before frame header");
    if (n < 1)
        return jfail(ei, s->pos, "SOS segment too short");
    s->ns = q[0];
    if (s->ns < 1 || s->ns > s->ncomp || n != 4 + 2u * s->ns)
        return jfail(ei, s->pos, "bad SOS component count or length");
    for (i = 0; i < s->ns; i++) {
        uint8_t id = q[1 + 2 * i];

        for (j = 0; j < s->ncomp && s->comp[j].id != id; j++)
            ;
        if (j == s->ncomp)
            return jfail(ei, s->pos, "scan names a component not in the frame");
        s->scomp[i] = (uint8_t)j;
        s->comp[j].td = q[2 + 2 * i] >> 4;
        s->comp[j].ta = q[2 + 2 * i] & 15;
        if (s->comp[j].td > 3 || s->comp[j].ta > 3)
            return jfail(ei, s->pos, "bad scan table selector");
    }
    s->ss = q[1 + 2 * s->ns];
    s->se = q[2 + 2 * s->ns];
    s->ah = q[3 + 2 * s->ns] >> 4;
    s->al = q[3 + 2 * s->ns] & 15;
    return DV_OK;
}

/* Dispatches one marker segment whose payload is q[0..n). */
static dv_err segment(dcm_jpg_stream *s, uint8_t m, const uint8_t *q, size_t n, dv_errinfo *ei)
{
    if (m == M_DHT)
        return seg_dht(s, q, n, ei);
    if (m == M_DQT)
        return seg_dqt(s, q, n, ei);
    if (m == M_DRI) {
        if (n != 2)
            return jfail(ei, s->pos, "bad DRI segment");
        s->restart = dv_be16(q);
        return DV_OK;
    }
    if (m == M_SOS)
        return seg_sos(s, q, n, ei);
    if (m == M_DAC)
        return dv_fail(ei, DV_EUNSUPPORTED, s->pos, DV_NO_TAG, "JPEG: arithmetic coding");
    if (m == M_DNL)
        return dv_fail(ei, DV_EUNSUPPORTED, s->pos, DV_NO_TAG, "JPEG: DNL marker");
    if (m >= 0xC0 && m <= 0xCF)
        return seg_sof(s, m, q, n, ei);
    return DV_OK; /* APPn, COM, JPGn, EXP: skipped */
}

dv_err dcm_jpg_next(dcm_jpg_stream *s, int *marker, dv_errinfo *ei)
{
    for (;;) {
        uint8_t m;
        size_t n;
        dv_err e;

        /* the end of the data after a scan stands for a missing EOI: the decoders check that
         * every scan was complete and every component decoded */
        if (s->pos >= s->len && s->sof) {
            *marker = M_EOI;
            return DV_OK;
        }
        /* fill bytes (0xFF) may precede a marker */
        if (s->pos >= s->len || s->p[s->pos] != 0xFF)
            return jfail(ei, s->pos, "marker expected");
        while (s->pos + 1 < s->len && s->p[s->pos + 1] == 0xFF)
            s->pos++;
        if (s->pos + 1 >= s->len)
            return jfail(ei, s->pos, "stream ends inside a marker");
        m = s->p[s->pos + 1];
        if (m == M_EOI) {
            *marker = M_EOI;
            s->pos += 2;
            return DV_OK;
        }
        if (m == 0x00 || m == M_SOI || (m >= 0xD0 && m <= 0xD7))
            return jfail(ei, s->pos, "unexpected marker");
        if (s->len - s->pos < 4)
            return jfail(ei, s->pos, "stream ends inside a segment length");
        n = dv_be16(s->p + s->pos + 2);
        if (n < 2 || n > s->len - s->pos - 2)
            return jfail(ei, s->pos, "segment length passes the end of the stream");
        e = segment(s, m, s->p + s->pos + 4, n - 2, ei);
        if (e)
            return e;
        s->pos += 2 + n;
        if (m == M_SOS) {
            *marker = M_SOS;
            return DV_OK;
        }
    }
}

void dcm_jpg_skip_ecs(dcm_jpg_stream *s, const dcm_jpg_bits *b)
{
    size_t i = (size_t)(b->p - s->p);

    while (i + 1 < s->len) {
        if (s->p[i] == 0xFF && s->p[i + 1] != 0x00 && s->p[i + 1] != 0xFF &&
            !(s->p[i + 1] >= 0xD0 && s->p[i + 1] <= 0xD7))
            break;
        i++;
    }
    s->pos = i + 1 < s->len ? i : s->len;
}

void dcm_jpg_bits_init(dcm_jpg_bits *b, const uint8_t *p, const uint8_t *end)
{
    memset(b, 0, sizeof(*b));
    b->p = p;
    b->end = end;
}

/* Next byte of entropy-coded data, 0 after a marker or the end. */
static uint8_t next_byte(dcm_jpg_bits *b)
{
    uint8_t c;

    if (b->at_marker || b->p >= b->end) {
        b->pad_bytes++;
        return 0;
    }
    c = *b->p;
    if (c != 0xFF) {
        b->p++;
        return c;
    }
    if (b->p + 1 < b->end && b->p[1] == 0x00) {
        b->p += 2;
        return 0xFF;
    }
    b->at_marker = 1; /* leave p on the marker */
    b->pad_bytes++;
    return 0;
}

void dcm_jpg_fill(dcm_jpg_bits *b)
{
    while (b->nbits <= 56) {
        b->acc = (b->acc << 8) | next_byte(b);
        b->nbits += 8;
    }
}

int dcm_jpg_decode(dcm_jpg_bits *b, const dcm_jpg_huff *h)
{
    uint32_t look, code;
    int l;

    if (b->nbits < 16)
        dcm_jpg_fill(b);
    look = (uint32_t)(b->acc >> (b->nbits - 8)) & 0xFF;
    if (h->fast_len[look]) {
        b->nbits -= h->fast_len[look];
        return h->fast_val[look];
    }
    for (l = 9; l <= 16; l++) {
        code = (uint32_t)(b->acc >> (b->nbits - l)) & ((1u << l) - 1u);
        if ((int32_t)code <= h->maxcode[l]) {
            int32_t idx = h->valoff[l] + (int32_t)code;

            if (idx < 0 || idx > 255)
                return -1;
            b->nbits -= l;
            return h->vals[idx];
        }
    }
    return -1;
}

dv_err dcm_jpg_restart(dcm_jpg_bits *b, unsigned expect, dv_errinfo *ei)
{
    if (dcm_jpg_overrun(b))
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG: entropy-coded data ends before a restart interval is complete");
    /* skip whatever is left before the marker (only fill bits in a valid stream) */
    while (!b->at_marker && b->p < b->end)
        (void)next_byte(b);
    if (b->p + 1 >= b->end || b->p[0] != 0xFF || b->p[1] != (0xD0 | (expect & 7)))
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG: expected restart marker RST%u is missing", expect & 7);
    b->p += 2;
    b->at_marker = 0;
    b->acc = 0;
    b->nbits = 0;
    b->pad_bytes = 0;
    return DV_OK;
}
