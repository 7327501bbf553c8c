/* SPDX-License-Identifier: Apache-2.0 */
/* codec_rle.c - DICOM RLE Lossless decoder (PS3.5 Annex G).
 *
 * A frame is a 64-byte header (segment count, then 15 offsets, all 32-bit little endian)
 * followed by PackBits segments.  Segment s * bytes + b holds byte b (0 = most significant) of
 * sample s of every pixel, row by row.  A segment that decodes to fewer than rows * cols bytes
 * is an error; bytes past that count (encoder padding) are ignored.
 */
#include <string.h>

#include "common/buf.h"
#include "dicom/codec.h"

#include "common/banned.h"

#define RLE_HEADER   64u
#define RLE_MAX_SEGS 15u

size_t dcm_codec_frame_bytes(const dcm_codec_geom *g)
{
    size_t n = 0;

    if (__builtin_mul_overflow((size_t)g->rows, (size_t)g->cols, &n) ||
        __builtin_mul_overflow(n, (size_t)g->samples, &n) ||
        __builtin_mul_overflow(n, (size_t)g->bytes, &n))
        return 0;
    return n;
}

/* Decodes one PackBits segment into out[0], out[stride], ... (npix bytes). */
static dv_err rle_segment(const uint8_t *p, size_t len, uint8_t *out, size_t stride, size_t npix,
                          unsigned seg, dv_errinfo *ei)
{
    size_t i = 0, done = 0;

    while (done < npix && i < len) {
        int8_t n = (int8_t)p[i++];
        size_t run, k;

        if (n >= 0) {
            run = (size_t)n + 1;
            if (run > len - i)
                return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                               "RLE segment %u: literal run passes the end of the segment", seg);
            if (run > npix - done)
                run = npix - done;
            for (k = 0; k < run; k++)
                out[(done + k) * stride] = p[i + k];
            i += (size_t)n + 1;
            done += run;
        } else if (n != -128) {
            uint8_t v;

            if (i >= len)
                return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                               "RLE segment %u: replicate run passes the end of the segment", seg);
            v = p[i++];
            run = (size_t)(1 - n);
            if (run > npix - done)
                run = npix - done;
            for (k = 0; k < run; k++)
                out[(done + k) * stride] = v;
            done += run;
        }
    }
    if (done < npix)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                       "RLE segment %u decodes to fewer bytes than rows*columns", seg);
    return DV_OK;
}

/* Reads and checks the header: nseg segments, offsets ascending inside the frame. */
static dv_err rle_header(const uint8_t *src, size_t len, unsigned want, uint32_t off[16],
                         dv_errinfo *ei)
{
    uint32_t nseg;
    unsigned i;

    if (len < RLE_HEADER)
        return dv_fail(ei, DV_ECODEC, 0, DV_NO_TAG, "RLE frame shorter than its 64-byte header");
    nseg = dv_le32(src);
    if (nseg == 0 || nseg > RLE_MAX_SEGS)
        return dv_fail(ei, DV_ECODEC, 0, DV_NO_TAG, "RLE segment count %u is not within 1..15",
                       (unsigned)nseg);
    if (nseg != want)
        return dv_fail(ei, DV_ECODEC, 0, DV_NO_TAG,
                       "RLE frame has %u segments, the pixel description needs %u", (unsigned)nseg,
                       want);
    for (i = 0; i < nseg; i++) {
        off[i] = dv_le32(src + 4 + (size_t)4 * i);
        if (off[i] < RLE_HEADER || off[i] >= len || (i > 0 && off[i] < off[i - 1]))
            return dv_fail(ei, DV_ECODEC, 4 + 4 * (uint64_t)i, DV_NO_TAG,
                           "RLE segment %u offset is outside the frame or out of order", i);
    }
    if (off[0] != RLE_HEADER)
        return dv_fail(ei, DV_ECODEC, 4, DV_NO_TAG, "RLE first segment does not start at 64");
    off[nseg] = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
    return DV_OK;
}

dv_err dcm_codec_rle(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                     size_t outlen, dv_errinfo *ei)
{
    uint32_t off[RLE_MAX_SEGS + 1] = {0};
    size_t npix, stride;
    unsigned want, s, b;
    dv_err e;

    if ((g->bytes != 1 && g->bytes != 2 && g->bytes != 4) || g->samples < 1 || g->samples > 4 ||
        outlen == 0 || outlen != dcm_codec_frame_bytes(g))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "RLE: bad output geometry");
    if (len > UINT32_MAX)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "RLE frame larger than 4 GiB");
    want = g->samples * g->bytes;
    e = rle_header(src, len, want, off, ei);
    if (e)
        return e;
    npix = (size_t)g->rows * g->cols;
    stride = (size_t)g->samples * g->bytes;
    for (s = 0; s < g->samples; s++) {
        for (b = 0; b < g->bytes; b++) {
            unsigned seg = s * g->bytes + b;
            /* segment b of a sample is byte (bytes-1-b) of the little-endian output */
            uint8_t *dst = out + (size_t)s * g->bytes + (g->bytes - 1 - b);

            e = rle_segment(src + off[seg], off[seg + 1] - off[seg], dst, stride, npix, seg, ei);
            if (e)
                return e;
        }
    }
    return DV_OK;
}
