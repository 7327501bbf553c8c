/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_imgio.c - libFuzzer target: the PNG/JPEG reader of src/mark/imgio.c on arbitrary bytes
 * (no crash, no leak, no read out of bounds; an image that decodes has consistent geometry). */
#include <stdint.h>
#include <stdlib.h>

#include "mark/mark.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    render_image im;
    dv_errinfo ei;
    mark_imgtype t;

    if (mark_img_decode(data, size, &im, &t, &ei) == DV_OK) {
        if (!im.pixels || im.width == 0 || im.height == 0 || (im.channels != 1 && im.channels != 3))
            abort();
        /* touch the last byte: the buffer holds width x height x channels */
        if (im.pixels[(size_t)im.width * im.height * im.channels - 1] == 0x5A && t == 0)
            abort();
        render_image_release(&im);
    }
    return 0;
}
