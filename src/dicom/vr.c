/* SPDX-License-Identifier: Apache-2.0 */
/* vr.c - value representation properties (PS3.5 Table 6.2-1) and transfer syntaxes. */
#include <string.h>

#include "dicom/dicom.h"

#include "common/banned.h"

int dcm_vr_known(dcm_vr vr)
{
    switch (vr) {
    case DCM_VR_AE:
    case DCM_VR_AS:
    case DCM_VR_AT:
    case DCM_VR_CS:
    case DCM_VR_DA:
    case DCM_VR_DS:
    case DCM_VR_DT:
    case DCM_VR_FD:
    case DCM_VR_FL:
    case DCM_VR_IS:
    case DCM_VR_LO:
    case DCM_VR_LT:
    case DCM_VR_OB:
    case DCM_VR_OD:
    case DCM_VR_OF:
    case DCM_VR_OL:
    case DCM_VR_OV:
    case DCM_VR_OW:
    case DCM_VR_PN:
    case DCM_VR_SH:
    case DCM_VR_SL:
    case DCM_VR_SQ:
    case DCM_VR_SS:
    case DCM_VR_ST:
    case DCM_VR_SV:
    case DCM_VR_TM:
    case DCM_VR_UC:
    case DCM_VR_UI:
    case DCM_VR_UL:
    case DCM_VR_UN:
    case DCM_VR_UR:
    case DCM_VR_US:
    case DCM_VR_UT:
    case DCM_VR_UV:
        return 1;
    default:
        return 0;
    }
}

int dcm_vr_long_length(dcm_vr vr)
{
    switch (vr) {
    case DCM_VR_OB:
    case DCM_VR_OD:
    case DCM_VR_OF:
    case DCM_VR_OL:
    case DCM_VR_OV:
    case DCM_VR_OW:
    case DCM_VR_SQ:
    case DCM_VR_SV:
    case DCM_VR_UC:
    case DCM_VR_UN:
    case DCM_VR_UR:
    case DCM_VR_UT:
    case DCM_VR_UV:
        return 1;
    default:
        return 0;
    }
}

unsigned dcm_vr_swap_width(dcm_vr vr)
{
    switch (vr) {
    case DCM_VR_US:
    case DCM_VR_SS:
    case DCM_VR_OW:
    case DCM_VR_AT:
        return 2;
    case DCM_VR_UL:
    case DCM_VR_SL:
    case DCM_VR_FL:
    case DCM_VR_OF:
    case DCM_VR_OL:
        return 4;
    case DCM_VR_FD:
    case DCM_VR_OD:
    case DCM_VR_SV:
    case DCM_VR_UV:
    case DCM_VR_OV:
        return 8;
    default:
        return 1;
    }
}

int dcm_vr_is_string(dcm_vr vr)
{
    switch (vr) {
    case DCM_VR_AE:
    case DCM_VR_AS:
    case DCM_VR_CS:
    case DCM_VR_DA:
    case DCM_VR_DS:
    case DCM_VR_DT:
    case DCM_VR_IS:
    case DCM_VR_LO:
    case DCM_VR_LT:
    case DCM_VR_PN:
    case DCM_VR_SH:
    case DCM_VR_ST:
    case DCM_VR_TM:
    case DCM_VR_UC:
    case DCM_VR_UI:
    case DCM_VR_UR:
    case DCM_VR_UT:
        return 1;
    default:
        return 0;
    }
}

void dcm_vr_str(dcm_vr vr, char out[3])
{
    out[0] = (char)(vr >> 8);
    out[1] = (char)(vr & 0xFF);
    out[2] = 0;
}

/* ---- transfer syntaxes ------------------------------------------------------------------ */

const dcm_ts dcm_ts_implicit_le = {"1.2.840.10008.1.2", "Little Endian Implicit", 0, 0, 0, 0};
const dcm_ts dcm_ts_explicit_le = {"1.2.840.10008.1.2.1", "Little Endian Explicit", 1, 0, 0, 0};
const dcm_ts dcm_ts_explicit_be = {"1.2.840.10008.1.2.2", "Big Endian Explicit", 1, 1, 0, 0};
const dcm_ts dcm_ts_deflated_le = {
    "1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", 1, 0, 1, 0};

static const dcm_ts encapsulated[] = {
    {"1.2.840.10008.1.2.4.50", "JPEG Baseline", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.51", "JPEG Extended", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.57", "JPEG Lossless", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-hierarchical, First-Order Prediction", 1, 0, 0,
     1},
    {"1.2.840.10008.1.2.4.80", "JPEG-LS Lossless", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-lossless)", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.90", "JPEG 2000 (Lossless only)", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.91", "JPEG 2000", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multicomponent (Lossless only)", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multicomponent", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.100", "MPEG2 Main Profile @ Main Level", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.101", "MPEG2 Main Profile @ High Level", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", 1, 0, 0,
     1},
    {"1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 (Lossless Only)", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)", 1, 0,
     0, 1},
    {"1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.110", "JPEG XL Lossless", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.4.112", "JPEG XL", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.5", "RLE Lossless", 1, 0, 0, 1},
    {"1.2.840.10008.1.2.8.1", "Deflated Image Frame Compression", 1, 0, 0, 1},
};

static int uid_eq(const char *uid, const char *v, size_t len)
{
    size_t n = strlen(uid);

    while (len > 0 && (v[len - 1] == '\0' || v[len - 1] == ' '))
        len--;
    return len == n && memcmp(uid, v, n) == 0;
}

const dcm_ts *dcm_ts_find(const char *uid, size_t len)
{
    static const dcm_ts *const native[] = {&dcm_ts_implicit_le, &dcm_ts_explicit_le,
                                           &dcm_ts_explicit_be, &dcm_ts_deflated_le};
    size_t i;

    for (i = 0; i < sizeof(native) / sizeof(native[0]); i++)
        if (uid_eq(native[i]->uid, uid, len))
            return native[i];
    for (i = 0; i < sizeof(encapsulated) / sizeof(encapsulated[0]); i++)
        if (uid_eq(encapsulated[i].uid, uid, len))
            return &encapsulated[i];
    return NULL;
}
