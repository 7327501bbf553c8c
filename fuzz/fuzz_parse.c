/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_parse.c - libFuzzer target for the Part 10 reader, the dump formatter and the writer:
 * whatever parses must dump, re-encode in every native syntax and parse again. */
#include <stddef.h>
#include <stdint.h>

#include "dicom/dicom.h"
#include "dicom/dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode(dcm_file *f)
{
    const dcm_ts *all[] = {&dcm_ts_implicit_le, &dcm_ts_explicit_le, &dcm_ts_explicit_be,
                           &dcm_ts_deflated_le};
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        dv_errinfo ei;
        dv_buf out;
        dcm_file *g = NULL;

        if (f->ts->encapsulated)
            break; /* relabelling compressed pixels is refused by design */
        dv_buf_init(&out, 64u << 20);
        if (dcm_write_part10(f, all[i], &out, &ei) == DV_OK &&
            dcm_parse(out.p, out.len, 0, NULL, &g, &ei) == DV_OK)
            dcm_file_free(g);
        dv_buf_release(&out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dcm_limits lim;
    dcm_file *f = NULL;
    dv_errinfo ei;
    dv_buf out;

    dcm_limits_default(&lim);
    lim.max_total = 256u << 20;
    lim.max_elements = 100000;
    if (dcm_parse(data, size, 0, &lim, &f, &ei) != DV_OK)
        return 0;
    dv_buf_init(&out, 64u << 20);
    (void)dcm_dump(f, DCM_DUMP_ALL, &out);
    dv_buf_release(&out);
    reencode(f);
    dcm_file_free(f);
    return 0;
}
