/* SPDX-License-Identifier: Apache-2.0 */
/* jpeg_common.h - ISO 10918-1 pieces shared by the own JPEG decoders (lossless, 12-bit DCT):
 * marker segment parsing, Huffman tables and an entropy-coded-segment bit reader.
 *
 * Invariants: a dcm_jpg_stream never reads outside [p, p + len); a dcm_jpg_bits reader never
 * reads past its end and, once it meets a marker or the end, feeds zero bits and counts them
 * in pad_bytes, so a decoder can tell a truncated segment from a complete one.
 */
#ifndef DV_JPEG_COMMON_H
#define DV_JPEG_COMMON_H

#include "common/dv.h"

#define DCM_JPG_MAX_COMP 4

typedef struct dcm_jpg_huff {
    uint8_t valid;
    uint8_t fast_len[256]; /* code length for an 8-bit lookahead, 0 when longer than 8 */
    uint8_t fast_val[256];
    int32_t maxcode[18]; /* largest code of each length, -1 when none; [17] sentinel */
    int32_t valoff[17];  /* index into vals of the first code of a length, minus that code */
    uint8_t vals[256];
} dcm_jpg_huff;

typedef struct dcm_jpg_comp {
    uint8_t id, h, v, tq;
    uint8_t td, ta; /* tables chosen by the current scan */
} dcm_jpg_comp;

typedef struct dcm_jpg_stream {
    const uint8_t *p;
    size_t len, pos;
    /* frame header */
    uint8_t sof; /* marker code 0xC0.. , 0 before SOF */
    uint8_t precision;
    uint16_t y, x;
    uint8_t ncomp;
    dcm_jpg_comp comp[DCM_JPG_MAX_COMP];
    /* tables */
    dcm_jpg_huff dc[4], ac[4];
    uint16_t qt[4][64]; /* zig-zag order */
    uint8_t qt_valid[4];
    uint32_t restart; /* restart interval in MCUs, 0 = none */
    /* current scan */
    uint8_t ns;
    uint8_t scomp[DCM_JPG_MAX_COMP]; /* indexes into comp[] */
    uint8_t ss, se, ah, al;
} dcm_jpg_stream;

typedef struct dcm_jpg_bits {
    const uint8_t *p, *end;
    uint64_t acc;
    int nbits;
    uint32_t pad_bytes; /* zero bytes fed after a marker or the end */
    int at_marker;      /* p points at a marker (0xFF, code) */
} dcm_jpg_bits;

/* Starts parsing: checks SOI.  DV_ECODEC when absent. */
dv_err dcm_jpg_open(dcm_jpg_stream *s, const uint8_t *p, size_t len, dv_errinfo *ei) DV_WUR;

/* Reads marker segments (DHT, DQT, DRI, SOFn, APPn, COM ...) up to the next SOS or EOI.
 * Returns DV_OK with *marker = 0xDA (scan header parsed into s, s->pos at the entropy data)
 * or 0xD9 (end of image).  A second SOF, a scan before SOF, bad tables: DV_ECODEC. */
dv_err dcm_jpg_next(dcm_jpg_stream *s, int *marker, dv_errinfo *ei) DV_WUR;

/* After an entropy-coded segment: moves s->pos to the next marker that is not RSTn. */
void dcm_jpg_skip_ecs(dcm_jpg_stream *s, const dcm_jpg_bits *b);

void dcm_jpg_bits_init(dcm_jpg_bits *b, const uint8_t *p, const uint8_t *end);

/* Refills so that at least 57 bits are buffered (zeros past a marker or the end). */
void dcm_jpg_fill(dcm_jpg_bits *b);

/* Reads n (0..16) bits as an unsigned value. */
static inline uint32_t dcm_jpg_get(dcm_jpg_bits *b, int n)
{
    uint32_t v;

    if (n == 0)
        return 0;
    if (b->nbits < n)
        dcm_jpg_fill(b);
    b->nbits -= n;
    v = (uint32_t)(b->acc >> b->nbits) & ((1u << n) - 1u);
    return v;
}

/* Sign extension of a received n-bit magnitude (F.2.2.1 EXTEND). */
static inline int32_t dcm_jpg_extend(uint32_t v, int n)
{
    if (n == 0)
        return 0;
    if (v < (1u << (n - 1)))
        return (int32_t)v - (int32_t)(1u << n) + 1;
    return (int32_t)v;
}

/* Decodes one Huffman symbol; -1 for a code that is not in the table. */
int dcm_jpg_decode(dcm_jpg_bits *b, const dcm_jpg_huff *h);

/* Restart: drops buffered bits and consumes the marker RSTn (n = expect & 7).  DV_ECODEC when
 * the data before it was short (padding was consumed) or the marker is not the expected one. */
dv_err dcm_jpg_restart(dcm_jpg_bits *b, unsigned expect, dv_errinfo *ei) DV_WUR;

/* True when the decoder consumed bits that were padding (the segment was truncated). */
static inline int dcm_jpg_overrun(const dcm_jpg_bits *b)
{
    return (uint64_t)b->pad_bytes * 8u > (uint64_t)b->nbits;
}

#endif
