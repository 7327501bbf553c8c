/* SPDX-License-Identifier: Apache-2.0 */
/* lut.c - LUT Descriptor/LUT Data pairs (modality, VOI, palette) and palette colour rendering.
 *
 * A render_lut points into the dataset's value bytes: it is valid while the dataset is.  Every
 * entry was checked to lie inside the LUT Data value before the LUT is returned, so lookups need
 * no bounds checks beyond clamping the input to the table.
 */
#include <string.h>

#include "render/render_int.h"

#include "common/banned.h"

#define TAG_SEGMENTED_RED DCM_TAG(0x0028, 0x1221)

static uint32_t lut_entry(const render_lut *l, uint32_t i)
{
    if (l->bytes == 1)
        return l->data[i];
    return dv_le16(l->data + (size_t)i * 2);
}

/* Widens maxval when the data holds entries above 2^bits - 1 (writers that put 16-bit data
 * under an 8- or 12-bit descriptor are common; DCMTK accepts them too). */
static uint32_t lut_maxval(const render_lut *l, uint32_t bits)
{
    uint32_t maxv = (1u << bits) - 1u;
    uint32_t top = 0;
    uint32_t i;

    for (i = 0; i < l->n; i++) {
        uint32_t e = lut_entry(l, i);
        if (e > top)
            top = e;
    }
    while (top > maxv)
        maxv = (maxv << 1) | 1u;
    return maxv;
}

dv_err render_lut_read(const dcm_ds *item, uint32_t desc_tag, uint32_t data_tag, int first_signed,
                       render_lut *out, dv_errinfo *ei)
{
    const dcm_elem *d = dcm_ds_find(item, desc_tag);
    const dcm_elem *v = dcm_ds_find(item, data_tag);
    uint32_t bits;
    uint16_t first;

    memset(out, 0, sizeof(*out));
    if (!d || !v)
        return DV_ENOTFOUND;
    if (d->len < 6 || !d->val)
        return dv_fail(ei, DV_EMALFORMED, d->offset, desc_tag, "LUT Descriptor needs 3 values");
    out->n = dv_le16(d->val);
    if (out->n == 0)
        out->n = 65536;
    first = dv_le16(d->val + 2);
    bits = dv_le16(d->val + 4);
    if (bits < 1 || bits > 16)
        return dv_fail(ei, DV_EMALFORMED, d->offset, desc_tag,
                       "LUT Descriptor bits per entry must be 1..16");
    out->first = (first_signed || d->vr == DCM_VR_SS) ? (int64_t)(int16_t)first : (int64_t)first;
    if (v->val && v->len / 2 >= out->n)
        out->bytes = 2;
    else if (v->val && bits <= 8 && v->len >= out->n)
        out->bytes = 1;
    else
        return dv_fail(ei, DV_EMALFORMED, v->offset, data_tag,
                       "LUT Data is shorter than its descriptor announces");
    out->data = v->val;
    out->maxval = lut_maxval(out, bits);
    return DV_OK;
}

uint32_t render_lut_at(const render_lut *l, int64_t x)
{
    int64_t i = x - l->first;

    if (x <= l->first)
        return lut_entry(l, 0);
    if (i >= (int64_t)l->n)
        i = (int64_t)l->n - 1;
    return lut_entry(l, (uint32_t)i);
}

static dv_err palette_read(const dcm_ds *ds, render_lut lut[3], dv_errinfo *ei)
{
    unsigned c;

    for (c = 0; c < 3; c++) {
        uint32_t desc = DCM_TAG(0x0028, 0x1101 + c);
        dv_err e = render_lut_read(ds, desc, DCM_TAG(0x0028, 0x1201 + c), 0, &lut[c], ei);
        if (e == DV_ENOTFOUND && dcm_ds_find(ds, TAG_SEGMENTED_RED + c))
            return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, TAG_SEGMENTED_RED + c,
                           "segmented palette colour LUTs are not rendered");
        if (e == DV_ENOTFOUND)
            return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, desc,
                           "PALETTE COLOR image without its palette LUT");
        if (e != DV_OK)
            return e;
    }
    return DV_OK;
}

dv_err render_palette(const dcm_ds *ds, const render_src *src, uint8_t *out, dv_errinfo *ei)
{
    render_lut lut[3];
    size_t i;
    unsigned c;
    dv_err e = palette_read(ds, lut, ei);

    if (e != DV_OK)
        return e;
    for (i = 0; i < src->n; i++) {
        int64_t v = render_sample(src, i);
        for (c = 0; c < 3; c++)
            out[i * 3 + c] = render_scale8(render_lut_at(&lut[c], v), lut[c].maxval);
    }
    return DV_OK;
}
