/* SPDX-License-Identifier: Apache-2.0 */
/* dict.c - lookups in the generated data dictionary (build/gen/dict_gen.c). */
#include <string.h>

#include "dicom/dicom.h"

#include "common/banned.h"

extern const dcm_dict_entry dcm_dict_exact[];
extern const unsigned dcm_dict_exact_count;
extern const dcm_dict_entry dcm_dict_repeating[];
extern const unsigned dcm_dict_repeating_count;
extern const unsigned short dcm_dict_by_keyword[];

const dcm_dict_entry *dcm_dict_find(uint32_t tag)
{
    unsigned lo = 0, hi = dcm_dict_exact_count, i;

    if (DCM_GROUP(tag) & 1)
        return NULL;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;

        if (dcm_dict_exact[mid].tag == tag)
            return &dcm_dict_exact[mid];
        if (dcm_dict_exact[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (i = 0; i < dcm_dict_repeating_count; i++)
        if ((tag & dcm_dict_repeating[i].mask) == dcm_dict_repeating[i].tag)
            return &dcm_dict_repeating[i];
    return NULL;
}

const dcm_dict_entry *dcm_dict_find_keyword(const char *keyword)
{
    unsigned lo = 0, hi = dcm_dict_exact_count;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const dcm_dict_entry *e = &dcm_dict_exact[dcm_dict_by_keyword[mid]];
        int c = strcmp(e->keyword, keyword);

        if (c == 0)
            return e;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

dcm_vr dcm_dict_vr(uint32_t tag)
{
    const dcm_dict_entry *e;

    if (DCM_ELEM(tag) == 0)
        return DCM_VR_UL; /* group length */
    if ((DCM_GROUP(tag) & 1) && DCM_ELEM(tag) >= 0x10 && DCM_ELEM(tag) <= 0xFF)
        return DCM_VR_LO; /* private creator */
    e = dcm_dict_find(tag);
    if (!e || e->vr == DCM_VR_NONE)
        return DCM_VR_UN;
    if (e->vr == DCM_VR_OB && e->vr2 == DCM_VR_OW)
        return DCM_VR_OW; /* implicit VR pixel and overlay data are OW (PS3.5 A.1) */
    return e->vr;
}
