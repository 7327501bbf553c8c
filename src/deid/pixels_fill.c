/* SPDX-License-Identifier: Apache-2.0 */
/* pixels_fill.c - fills redaction boxes with a value that displays as background (black):
 * the frame's lowest stored value for MONOCHROME2 and PALETTE COLOR, its highest for
 * MONOCHROME1, zero for RGB, Y at its lowest with neutral chroma for YBR.  The value is taken
 * as the raw sample bytes of the decoded frame, so the bits above HighBit keep their layout.
 *
 * Only pixels inside a box are written; boxes are clipped to the frame.  Native stored data
 * is written in its own layout (colour-by-plane, 1-bit packing, 4:2:2 pairs: the caller makes
 * 4:2:2 boxes start and end on even columns).
 */
#include <string.h>

#include "deid/pixels_int.h"

#include "common/banned.h"

typedef struct fillval {
    uint8_t b[12]; /* samples * bytes per sample, little endian */
    uint32_t bps;  /* bytes per sample (1 for 1-bit) */
    uint32_t samples;
} fillval;

static void put_sample(uint8_t *p, uint32_t bps, uint32_t v)
{
    uint32_t k;

    for (k = 0; k < bps; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

/* Raw sample bytes of pixel i of fr. */
static void copy_pixel(const dcm_frame *fr, size_t i, fillval *fv)
{
    memcpy(fv->b, fr->data + i * fv->samples * fv->bps, (size_t)fv->samples * fv->bps);
}

/* pi describes the data being written (stored layout or decoded frame); fr is the decoded
 * frame, searched for its lowest/highest stored value. */
static void background(const dcm_frame *fr, const dcm_pixinfo *pi, fillval *fv)
{
    size_t n = (size_t)pi->rows * pi->cols, i, best = 0;
    int inv = !strcmp(pi->photometric, "MONOCHROME1");

    memset(fv, 0, sizeof(*fv));
    fv->bps = pi->bits_alloc <= 8 ? 1 : pi->bits_alloc / 8;
    fv->samples = pi->samples;
    if (pi->samples == 3) {
        if (!strncmp(pi->photometric, "YBR", 3)) {
            uint32_t mid = pi->bits_stored ? 1u << (pi->bits_stored - 1) : 128;

            put_sample(fv->b + fv->bps, fv->bps, mid);
            put_sample(fv->b + (size_t)2 * fv->bps, fv->bps, mid);
            if (strstr(pi->photometric, "PARTIAL"))
                put_sample(fv->b, fv->bps, mid >> 3); /* 16 of 256 */
        }
        return;
    }
    for (i = 1; i < n; i++) {
        int32_t a = px_stored_value(fr, i), b = px_stored_value(fr, best);

        if (inv ? a > b : a < b)
            best = i;
    }
    copy_pixel(fr, best, fv);
}

/* Clips box to rows x cols; 0 when nothing is left. */
static int clip(const deid_box *bx, const dcm_pixinfo *pi, uint32_t *x0, uint32_t *y0, uint32_t *x1,
                uint32_t *y1)
{
    uint64_t ex = (uint64_t)bx->x + bx->w, ey = (uint64_t)bx->y + bx->h;

    *x0 = bx->x;
    *y0 = bx->y;
    *x1 = (uint32_t)(ex < pi->cols ? ex : pi->cols);
    *y1 = (uint32_t)(ey < pi->rows ? ey : pi->rows);
    return *x0 < *x1 && *y0 < *y1;
}

void px_fill_decoded(dcm_frame *fr, const deid_box *boxes, uint32_t n, uint32_t frame)
{
    fillval fv;
    uint32_t k, x, y, x0, y0, x1, y1;
    size_t px;

    background(fr, &fr->pi, &fv);
    px = (size_t)fv.samples * fv.bps;
    for (k = 0; k < n; k++) {
        if (boxes[k].frame != frame || !clip(&boxes[k], &fr->pi, &x0, &y0, &x1, &y1))
            continue;
        for (y = y0; y < y1; y++)
            for (x = x0; x < x1; x++)
                memcpy(fr->data + ((size_t)y * fr->pi.cols + x) * px, fv.b, px);
    }
}

static int is_422(const char *ph)
{
    return !strcmp(ph, "YBR_FULL_422") || !strcmp(ph, "YBR_PARTIAL_422");
}

/* Writes the fill value into pixel (x, y) of the frame starting at p in stored layout. */
static void put_native(uint8_t *p, uint64_t bit0, const dcm_pixinfo *pi, const fillval *fv,
                       uint32_t x, uint32_t y)
{
    size_t npix = (size_t)pi->rows * pi->cols, at = (size_t)y * pi->cols + x;
    uint32_t c;

    if (pi->bits_alloc == 1) {
        uint64_t b = bit0 + at;

        if (fv->b[0] & 1u)
            p[b >> 3] = (uint8_t)(p[b >> 3] | (1u << (b & 7)));
        else
            p[b >> 3] = (uint8_t)(p[b >> 3] & ~(1u << (b & 7)));
        return;
    }
    if (pi->samples == 3 && is_422(pi->photometric)) {
        uint8_t *q = p + (at / 2) * 4;

        q[at & 1] = fv->b[0];
        q[2] = fv->b[1];
        q[3] = fv->b[2];
        return;
    }
    for (c = 0; c < pi->samples; c++) {
        size_t off = pi->planar ? (size_t)c * npix + at : at * pi->samples + c;

        memcpy(p + off * fv->bps, fv->b + (size_t)c * fv->bps, fv->bps);
    }
}

dv_err px_fill_native(uint8_t *p, size_t len, const dcm_pixinfo *pi, const dcm_frame *fr,
                      const deid_box *boxes, uint32_t n, uint32_t frame, dv_errinfo *ei)
{
    size_t fsize = dcm_frame_size(pi), stored = fsize;
    uint64_t bit0 = 0;
    uint32_t k, x, y, x0, y0, x1, y1;
    fillval fv;

    background(fr, pi, &fv);
    if (pi->bits_alloc == 1) {
        bit0 = (uint64_t)frame * fsize;
        if ((bit0 + fsize + 7) / 8 > len)
            return dv_fail(ei, DV_ETRUNC, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                           "pixel data shorter than its frames");
    } else {
        if (pi->samples == 3 && is_422(pi->photometric))
            stored = fsize / 3 * 2;
        if ((uint64_t)frame * stored + stored > len)
            return dv_fail(ei, DV_ETRUNC, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                           "pixel data shorter than its frames");
        p += (size_t)frame * stored;
    }
    for (k = 0; k < n; k++) {
        if (boxes[k].frame != frame || !clip(&boxes[k], pi, &x0, &y0, &x1, &y1))
            continue;
        for (y = y0; y < y1; y++)
            for (x = x0; x < x1; x++)
                put_native(p, bit0, pi, &fv, x, y);
    }
    return DV_OK;
}
