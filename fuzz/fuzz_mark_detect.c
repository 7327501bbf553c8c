/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_mark_detect.c - libFuzzer target: blind watermark detection on arbitrary bytes taken as
 * an 8-bit image (bytes 0-1: width - 1 modulo 320, bytes 2-3: height - 1 modulo 320, byte 4:
 * 1 or 3 channels; the rest are the pixels, repeated to fill the image).  Nothing found in
 * random data is expected but not required; no crash, leak or undefined behaviour is. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "mark/mark.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    render_image im;
    crypto_key k;
    mark_result r;
    dv_errinfo ei;
    size_t n;
    size_t i;

    if (size < 6)
        return 0;
    if (!inited) {
        if (crypto_init())
            abort();
        inited = 1;
    }
    memset(&k, 0x42, sizeof(k));
    memset(&im, 0, sizeof(im));
    im.width = 1u + ((uint32_t)(data[0] | data[1] << 8) % 320u);
    im.height = 1u + ((uint32_t)(data[2] | data[3] << 8) % 320u);
    im.channels = data[4] & 1 ? 3 : 1;
    n = (size_t)im.width * im.height * im.channels;
    im.pixels = malloc(n);
    if (!im.pixels)
        return 0;
    for (i = 0; i < n; i++)
        im.pixels[i] = data[5 + i % (size - 5)];
    if (mark_detect_image(&k, &im, &r, &ei) == DV_OK && r.found && r.fp_probability >= MARK_FP_MAX)
        abort();
    if ((data[4] & 2) && mark_embed_gray8(&k, 7, &im, NULL, &ei) != DV_OK)
        abort();
    free(im.pixels);
    return 0;
}
