/* SPDX-License-Identifier: Apache-2.0 */
/* pixels_rle.c - RLE Lossless encoder (PS3.5 Annex G) for re-encoding redacted frames.
 *
 * A frame is a 64-byte header (segment count, 15 offsets, 32-bit little endian) and one
 * PackBits segment per byte plane: segment s * bytes + b holds byte b (0 = most significant)
 * of sample s of every pixel.  Each row is encoded separately (G.3.1); each segment is padded
 * to an even length.  Runs of 3 or more equal bytes are replicated, the rest literal.
 */
#include <string.h>

#include "deid/pixels_int.h"

#include "common/banned.h"

#define RLE_HEADER 64u

/* PackBits of n bytes at src[0], src[stride], ... */
static dv_err pack_row(const uint8_t *src, size_t stride, size_t n, dv_buf *out)
{
    size_t i = 0;
    dv_err e = DV_OK;

    while (i < n && !e) {
        size_t run = 1, lit = 0;

        while (i + run < n && run < 128 && src[(i + run) * stride] == src[i * stride])
            run++;
        if (run >= 3) {
            e = dv_buf_addc(out, (uint8_t)(257 - run)); /* -(run - 1) as a byte */
            if (!e)
                e = dv_buf_addc(out, src[i * stride]);
            i += run;
            continue;
        }
        while (i + lit < n && lit < 128) {
            size_t j = i + lit;

            if (j + 2 < n && src[j * stride] == src[(j + 1) * stride] &&
                src[j * stride] == src[(j + 2) * stride])
                break;
            lit++;
        }
        e = dv_buf_addc(out, (uint8_t)(lit - 1));
        for (; !e && lit; lit--, i++)
            e = dv_buf_addc(out, src[i * stride]);
    }
    return e;
}

dv_err px_rle_encode(const dcm_frame *fr, dv_buf *out, dv_errinfo *ei)
{
    const dcm_pixinfo *pi = &fr->pi;
    uint32_t bps = pi->bits_alloc / 8, nseg = pi->samples * bps, s, b, y;
    size_t start = out->len, px = (size_t)pi->samples * bps;
    uint8_t hdr[RLE_HEADER];
    dv_err e = DV_OK;

    if (!bps || nseg == 0 || nseg > 15)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                       "RLE needs 1 to 15 byte planes");
    memset(hdr, 0, sizeof(hdr));
    dv_put_le32(hdr, nseg);
    e = dv_buf_add(out, hdr, sizeof(hdr));
    for (s = 0; !e && s < pi->samples; s++)
        for (b = 0; !e && b < bps; b++) {
            size_t seg_at = out->len - start;
            const uint8_t *base = fr->data + (size_t)s * bps + (bps - 1 - b);

            if (seg_at > UINT32_MAX) {
                e = DV_ELIMIT;
                break;
            }
            dv_put_le32(out->p + start + (size_t)4 * (1 + s * bps + b), (uint32_t)seg_at);
            for (y = 0; !e && y < pi->rows; y++)
                e = pack_row(base + (size_t)y * pi->cols * px, px, pi->cols, out);
            if (!e && (out->len - start) % 2)
                e = dv_buf_addc(out, 0x80); /* no-op byte as padding */
        }
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "RLE output too large");
    return DV_OK;
}
