/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_deid.c - libFuzzer target for the de-identification engine: whatever parses is
 * de-identified (pixels off) under the first input byte's options, written, and parsed again;
 * the residual check must never crash and the output must never be unparseable. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "deid/deid.h"
#include "dicom/dicom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static deid_ctx *ctx_for(unsigned options)
{
    static deid_ctx *ctx[1u << DEID_OPT_COUNT];
    deid_opts o;
    crypto_key k;
    dv_errinfo ei;

    if (ctx[options])
        return ctx[options];
    if (crypto_init() != DV_OK)
        abort();
    memset(&k, 0x42, sizeof(k));
    deid_opts_init(&o);
    o.pixels.mode = DEID_PIXELS_OFF;
    o.options = options;
    if (deid_ctx_new(&o, &k, &ctx[options], &ei) != DV_OK)
        return NULL;
    return ctx[options];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned presets[8] = {
        0,
        DEID_OPT(DEID_OPT_RETAIN_MODIFIED_DATES) | DEID_OPT(DEID_OPT_CLEAN_DESCRIPTORS),
        DEID_OPT(DEID_OPT_CLEAN_STRUCTURED) | DEID_OPT(DEID_OPT_CLEAN_GRAPHICS),
        DEID_OPT(DEID_OPT_RETAIN_SAFE_PRIVATE) | DEID_OPT(DEID_OPT_RETAIN_UIDS),
        DEID_OPT(DEID_OPT_RETAIN_FULL_DATES) | DEID_OPT(DEID_OPT_RETAIN_PATIENT_CHARS),
        DEID_OPT(DEID_OPT_RETAIN_DEVICE) | DEID_OPT(DEID_OPT_RETAIN_INSTITUTION),
        (1u << DEID_OPT_COUNT) - 1 - DEID_OPT(DEID_OPT_RETAIN_FULL_DATES),
        DEID_OPT(DEID_OPT_CLEAN_DESCRIPTORS),
    };
    dcm_limits lim;
    dcm_file *f = NULL, *g = NULL;
    deid_file_report rep;
    deid_ctx *ctx;
    dv_errinfo ei;
    dv_buf out;

    if (size < 1)
        return 0;
    ctx = ctx_for(presets[data[0] & 7]);
    if (!ctx)
        return 0;
    dcm_limits_default(&lim);
    lim.max_total = 256u << 20;
    lim.max_elements = 100000;
    if (dcm_parse(data + 1, size - 1, DCM_PARSE_COPY_VALUES, &lim, &f, &ei) != DV_OK)
        return 0;
    if (deid_file(ctx, f, &rep, &ei) == DV_OK) {
        dv_buf_init(&out, 64u << 20);
        if (dcm_write_part10(f, rep.ts, &out, &ei) == DV_OK) {
            if (dcm_parse(out.p, out.len, 0, NULL, &g, &ei) != DV_OK)
                abort(); /* we wrote something we cannot read back */
            dcm_file_free(g);
        }
        dv_buf_release(&out);
    }
    dcm_file_free(f);
    return 0;
}
