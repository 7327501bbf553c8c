/* SPDX-License-Identifier: Apache-2.0 */
/* render_int.h - internals shared by the files of src/render/ (not a public interface).
 *
 * A render_src describes the checked samples of one decoded frame: n samples of `bytes` bytes
 * each (little endian) starting at p, all inside the frame; the stored value of a sample is
 * (raw >> shift) & mask, sign-extended from bits_stored when is_signed.
 */
#ifndef DV_RENDER_INT_H
#define DV_RENDER_INT_H

#include "render/render.h"

typedef struct render_src {
    const uint8_t *p;
    size_t n;       /* samples (pixels * samples per pixel) */
    unsigned bytes; /* 1, 2 or 4 */
    unsigned shift; /* high_bit + 1 - bits_stored */
    unsigned bits;  /* bits_stored, 1..32 */
    uint32_t mask;  /* (1 << bits) - 1 */
    int is_signed;  /* PixelRepresentation 1 */
} render_src;

/* Stored value of sample i (i < s->n). */
static inline int64_t render_sample(const render_src *s, size_t i)
{
    const uint8_t *q = s->p + i * s->bytes;
    uint32_t raw;
    uint32_t v;

    if (s->bytes == 1)
        raw = q[0];
    else if (s->bytes == 2)
        raw = dv_le16(q);
    else
        raw = dv_le32(q);
    v = (raw >> s->shift) & s->mask;
    if (s->is_signed && ((v >> (s->bits - 1)) & 1u))
        return (int64_t)v - ((int64_t)1 << s->bits);
    return (int64_t)v;
}

/* Scales v of 0..maxval (maxval >= 1, v <= maxval) to 0..255, rounding to nearest. */
static inline uint8_t render_scale8(uint32_t v, uint32_t maxval)
{
    if (maxval == 255u)
        return (uint8_t)v;
    return (uint8_t)(((uint64_t)v * 255u + maxval / 2u) / maxval);
}

/* A lookup table from a LUT Descriptor (entries, first mapped value, bits per entry) and its
 * LUT Data.  Invariant: data holds n entries of `bytes` bytes; every entry <= maxval. */
typedef struct render_lut {
    const uint8_t *data;
    uint32_t n;      /* entries, 1..65536 */
    int64_t first;   /* input value mapped to entry 0 */
    unsigned bytes;  /* 1 (8-bit entries packed in bytes) or 2 */
    uint32_t maxval; /* 2^bits - 1, widened when the data holds larger entries */
} render_lut;

/* Reads the LUT whose descriptor is desc_tag and data data_tag in item.  first_signed: read the
 * descriptor's second value as signed (it is also read as signed when its VR is SS).
 * DV_ENOTFOUND when either element is absent, DV_EMALFORMED (with the tag) when broken. */
dv_err render_lut_read(const dcm_ds *item, uint32_t desc_tag, uint32_t data_tag, int first_signed,
                       render_lut *out, dv_errinfo *ei) DV_WUR;

/* Entry for input x (clamped to the first/last entry). */
uint32_t render_lut_at(const render_lut *l, int64_t x);

/* Grayscale pipeline: writes one byte per pixel of src into out (n bytes). */
dv_err render_gray(const dcm_ds *ds, uint32_t frame, const render_src *src, int monochrome1,
                   const render_opts *o, uint8_t *out, dv_errinfo *ei) DV_WUR;

/* Palette colour: one sample per pixel in src, three bytes per pixel out. */
dv_err render_palette(const dcm_ds *ds, const render_src *src, uint8_t *out, dv_errinfo *ei) DV_WUR;

/* DV_OK when im satisfies the render_image invariants (DV_EINVAL with a message otherwise). */
dv_err render_image_check(const render_image *im, dv_errinfo *ei) DV_WUR;

/* Drops what was appended to b after its first len bytes (keeps the NUL invariant). */
static inline void render_buf_truncate(dv_buf *b, size_t len)
{
    b->len = len;
    if (b->p)
        b->p[len] = 0;
}

#endif
