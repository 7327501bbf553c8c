/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_j2k.c - libFuzzer target: JPEG 2000 / HTJ2K through OpenJPEG, with the geometry checks
 * and the copy into the caller's buffer.
 *
 * Input: rows (u16 LE), columns (u16 LE), flags (bit 0: 3 samples, bit 1: 2 bytes per
 * sample), then one codestream.  Geometry is capped at 256x256. */
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

    if (size < 5)
        return 0;
    g.rows = 1 + dv_le16(data) % 256;
    g.cols = 1 + dv_le16(data + 2) % 256;
    g.samples = (data[4] & 1) ? 3 : 1;
    g.bytes = (data[4] & 2) ? 2 : 1;
    g.bits_stored = 8 * g.bytes;
    n = dcm_codec_frame_bytes(&g);
    out = malloc(n);
    if (!out)
        return 0;
    (void)dcm_codec_j2k(data + 5, size - 5, &g, out, n, &ei);
    free(out);
    return 0;
}
