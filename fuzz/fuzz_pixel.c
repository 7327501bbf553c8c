/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_pixel.c - libFuzzer target: a DICOM file through the parser, then the Image Pixel
 * module and frame decoding (offset tables, fragment assembly, native layouts, every codec).
 *
 * Input: a DICOM file.  At most 4 frames of at most 4 MiB each are decoded so a run stays
 * fast; every decoded frame must have the size dcm_frame_size() announces. */
#include <stddef.h>
#include <stdint.h>

#include "dicom/dicom.h"
#include "dicom/pixel.h"

#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dcm_file *f = NULL;
    dcm_pixinfo pi;
    dv_errinfo ei;
    uint32_t i;

    if (dcm_parse(data, size, 0, NULL, &f, &ei))
        return 0;
    if (!dcm_pixinfo_get(&f->ds, &pi, &ei) && dcm_frame_size(&pi) <= ((size_t)4 << 20)) {
        for (i = 0; i < pi.frames && i < 4; i++) {
            dcm_frame fr;

            if (dcm_frame_decode(f, i, &fr, &ei))
                continue;
            if (fr.len != dcm_frame_size(&pi) || !fr.data)
                __builtin_trap();
            dcm_ybr_to_rgb(&fr);
            dcm_frame_release(&fr);
        }
    }
    dcm_file_free(f);
    return 0;
}
