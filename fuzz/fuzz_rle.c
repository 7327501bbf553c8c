/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_rle.c - libFuzzer target: the DICOM RLE Lossless decoder.
 *
 * Input: rows (u16 LE), columns (u16 LE), flags (bit 0: 3 samples, bits 1-2: 0 -> 1 byte,
 * 1 -> 2 bytes, else 4 bytes per sample), then one RLE frame.  Geometry is capped at 256x256
 * so a run stays fast; the decoder must never read or write out of bounds. */
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
    uint8_t *out;
    size_t n;
    unsigned b;

    if (size < 5)
        return 0;
    g.rows = 1 + dv_le16(data) % 256;
    g.cols = 1 + dv_le16(data + 2) % 256;
    g.samples = (data[4] & 1) ? 3 : 1;
    b = (data[4] >> 1) & 3;
    g.bytes = b == 0 ? 1 : b == 1 ? 2 : 4;
    g.bits_stored = 8 * g.bytes;
    n = dcm_codec_frame_bytes(&g);
    out = malloc(n);
    if (!out)
        return 0;
    (void)dcm_codec_rle(data + 5, size - 5, &g, out, n, &ei);
    free(out);
    return 0;
}
