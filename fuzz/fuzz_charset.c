/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_charset.c - libFuzzer target: character set conversion and the JSON writer.
 *
 * Input: byte 0 picks the mode.  Below 0x80: byte 0 picks a VR, then the (0008,0005) value up
 * to the first NUL, then the text value; the UTF-8 output must be valid.  From 0x80: the rest
 * is a DICOM file, parsed and written as DICOM JSON (with a small output limit part of the
 * time); the JSON must be valid UTF-8. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "dicom/charset.h"
#include "dicom/dicom.h"
#include "dicom/json.h"

#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const dcm_vr vrs[] = {DCM_VR_PN, DCM_VR_LO, DCM_VR_SH, DCM_VR_ST,
                             DCM_VR_LT, DCM_VR_UT, DCM_VR_UC, DCM_VR_CS};

static void check_utf8(const dv_buf *b)
{
    if (b->len && dcm_utf8_valid_prefix(b->p, b->len) != b->len)
        __builtin_trap();
}

static void fuzz_text(uint8_t sel, const uint8_t *p, size_t n)
{
    const uint8_t *nul = memchr(p, 0, n);
    size_t cslen = nul ? (size_t)(nul - p) : 0;
    dcm_charset cs;
    dv_errinfo ei;
    dv_buf out, js;
    unsigned flags = 0;

    (void)dcm_charset_parse_value(p, cslen, &cs, &ei);
    if (nul) {
        p += cslen + 1;
        n -= cslen + 1;
    }
    dv_buf_init(&out, (sel & 0x40) ? 16 : 1 << 20);
    if (dcm_charset_to_utf8_flags(&cs, vrs[sel % (sizeof(vrs) / sizeof(vrs[0]))], p, n, &out,
                                  &flags, &ei) == DV_OK &&
        out.len > 4 * n + 4)
        __builtin_trap(); /* output is bounded by the input */
    check_utf8(&out);
    dv_buf_init(&js, 1 << 22);
    if (dcm_json_add_string(&js, out.p ? out.p : (const uint8_t *)"", out.len) == DV_OK)
        check_utf8(&js);
    dv_buf_release(&js);
    dv_buf_release(&out);
}

static void fuzz_json(uint8_t sel, const uint8_t *p, size_t n)
{
    dcm_file *f = NULL;
    dv_errinfo ei;
    dv_buf out;
    unsigned notes = 0;
    dcm_json_opts o = {0, 0, NULL, NULL, &notes};

    if (dcm_parse(p, n, 0, NULL, &f, &ei) != DV_OK)
        return;
    o.flags = sel & (DCM_JSON_META | DCM_JSON_PRETTY | DCM_JSON_ENCAP_INLINE);
    dv_buf_init(&out, (sel & 0x40) ? 256 : 1 << 24);
    if (dcm_json_write(f, NULL, &o, &out, &ei) == DV_OK)
        check_utf8(&out);
    dv_buf_release(&out);
    dcm_file_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 0x80)
        fuzz_json(data[0], data + 1, size - 1);
    else
        fuzz_text(data[0], data + 1, size - 1);
    return 0;
}
