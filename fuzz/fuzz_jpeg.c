/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_jpeg.c - libFuzzer target: JPEG baseline/extended (libjpeg-turbo and the own 12-bit DCT
 * decoder) and lossless JPEG (own decoder).
 *
 * Input: rows (u16 LE), columns (u16 LE), flags, then one JPEG stream.  Flags: bit 0: 3
 * samples; bit 1: 2 bytes per sample; bit 2: dataset says YBR; bits 3-4: 0 -> dispatch on the
 * SOF marker like pixel.c, 1 -> own DCT decoder, 2 -> own lossless decoder, 3 -> libjpeg.
 * Geometry is capped at 256x256. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/buf.h"
#include "dicom/codec.h"

#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dcm_codec_geom g = {0};
    dv_errinfo ei;
    const uint8_t *s = data + 5;
    size_t n, len = size - 5;
    uint8_t *out;
    int rgb = 0;

    if (size < 5)
        return 0;
    g.rows = 1 + dv_le16(data) % 256;
    g.cols = 1 + dv_le16(data + 2) % 256;
    g.samples = (data[4] & 1) ? 3 : 1;
    g.bytes = (data[4] & 2) ? 2 : 1;
    g.bits_stored = 8 * g.bytes;
    g.ybr = (data[4] >> 2) & 1;
    n = dcm_codec_frame_bytes(&g);
    out = malloc(n);
    if (!out)
        return 0;
    switch ((data[4] >> 3) & 3) {
    case 0:
        (void)dcm_codec_jpeg_any(s, len, &g, out, n, &rgb, &ei);
        break;
    case 1:
        (void)dcm_codec_jpeg12(s, len, &g, out, n, &ei);
        break;
    case 2:
        (void)dcm_codec_jpegll(s, len, &g, out, n, &ei);
        break;
    default:
        (void)dcm_codec_jpeg8(s, len, &g, out, n, &rgb, &ei);
        break;
    }
    free(out);
    return 0;
}
