/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_mark_register.c - libFuzzer target: the informed detection with an original
 * (registration, refinement, the residual) on arbitrary bytes taken as an 8-bit leak (bytes 0-1:
 * width - 1 modulo 200, bytes 2-3: height - 1 modulo 200, byte 4: bit 0 three channels, bits
 * 1-2 how the original relates to it -- the same picture, mirrored, transposed, or a shifted
 * copy; the rest are the pixels, repeated).  No crash, leak or undefined behaviour; a mark is
 * never reported above MARK_FP_MAX. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "mark/mark.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static float *original_of(const render_image *im, int how, uint32_t *w, uint32_t *h)
{
    uint32_t x, y, iw = im->width, ih = im->height;
    float *o = malloc((size_t)iw * ih * sizeof(float));

    if (!o)
        return NULL;
    *w = how == 2 ? ih : iw;
    *h = how == 2 ? iw : ih;
    for (y = 0; y < ih; y++)
        for (x = 0; x < iw; x++) {
            float v = im->pixels[((size_t)y * iw + x) * im->channels];
            if (how == 1)
                o[(size_t)y * iw + (iw - 1 - x)] = v;
            else if (how == 2)
                o[(size_t)x * ih + y] = v;
            else if (how == 3)
                o[(size_t)y * iw + (x + 7) % iw] = v;
            else
                o[(size_t)y * iw + x] = v;
        }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t cand[2] = {1, 77};
    static int inited;
    render_image im;
    crypto_key k;
    mark_result r;
    mark_reg g;
    dv_errinfo ei;
    uint32_t rw = 0, rh = 0;
    float *ref;
    size_t n, i;

    if (size < 6)
        return 0;
    if (!inited) {
        if (crypto_init())
            abort();
        inited = 1;
    }
    memset(&k, 0x42, sizeof(k));
    memset(&im, 0, sizeof(im));
    im.width = 1u + ((uint32_t)(data[0] | data[1] << 8) % 200u);
    im.height = 1u + ((uint32_t)(data[2] | data[3] << 8) % 200u);
    im.channels = data[4] & 1 ? 3 : 1;
    n = (size_t)im.width * im.height * im.channels;
    im.pixels = malloc(n);
    if (!im.pixels)
        return 0;
    for (i = 0; i < n; i++)
        im.pixels[i] = data[5 + i % (size - 5)];
    ref = original_of(&im, (data[4] >> 1) & 3, &rw, &rh);
    if (ref &&
        mark_detect_original(&k, ref, rw, rh, &im, (data[4] & 8) ? cand : NULL, 2, &r, &g, &ei) ==
            DV_OK &&
        r.found && r.fp_probability >= MARK_FP_MAX)
        abort();
    free(ref);
    free(im.pixels);
    return 0;
}
