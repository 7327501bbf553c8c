/* SPDX-License-Identifier: Apache-2.0 */
/* render.c - frame checks, photometric dispatch and the render_image lifecycle.
 *
 * Before a sample is read, the frame's geometry is checked (rows, cols, samples, bit depths)
 * and its byte count computed with overflow checks and compared with the bytes it holds; the
 * output size is checked against render_opts.max_bytes before it is allocated.
 */
#include <stdlib.h>
#include <string.h>

#include "render/render_int.h"

#include "common/banned.h"

void render_opts_init(render_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->voi = RENDER_VOI_AUTO;
    o->max_bytes = RENDER_DEFAULT_MAX_BYTES;
}

void render_image_release(render_image *im)
{
    if (!im)
        return;
    free(im->pixels);
    memset(im, 0, sizeof(*im));
}

typedef enum photo {
    PHOTO_MONO1,
    PHOTO_MONO2,
    PHOTO_PALETTE,
    PHOTO_RGB, /* also YBR_RCT / YBR_ICT, already transformed by the JPEG 2000 decoder */
    PHOTO_YBR_FULL,
    PHOTO_OTHER
} photo;

static photo photo_of(const dcm_pixinfo *pi)
{
    char s[sizeof(pi->photometric) + 1];

    memcpy(s, pi->photometric, sizeof(pi->photometric));
    s[sizeof(pi->photometric)] = '\0';
    if (!strcmp(s, "MONOCHROME1"))
        return PHOTO_MONO1;
    if (!strcmp(s, "MONOCHROME2") || (s[0] == '\0' && pi->samples == 1))
        return PHOTO_MONO2;
    if (!strcmp(s, "PALETTE COLOR"))
        return PHOTO_PALETTE;
    if (!strcmp(s, "RGB") || !strcmp(s, "YBR_RCT") || !strcmp(s, "YBR_ICT"))
        return PHOTO_RGB;
    if (!strcmp(s, "YBR_FULL"))
        return PHOTO_YBR_FULL;
    return PHOTO_OTHER;
}

/* Checks fr against its pixinfo and describes its samples in *src. */
static dv_err frame_check(const dcm_frame *fr, render_src *src, dv_errinfo *ei)
{
    const dcm_pixinfo *pi = &fr->pi;
    uint64_t n;

    memset(src, 0, sizeof(*src));
    if (pi->rows == 0 || pi->cols == 0 || (pi->samples != 1 && pi->samples != 3))
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                       "frame needs rows, columns >= 1 and 1 or 3 samples per pixel");
    if (pi->bits_alloc != 1 && pi->bits_alloc != 8 && pi->bits_alloc != 16 && pi->bits_alloc != 32)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DCM_TAG(0x0028, 0x0100),
                       "bits allocated must be 1, 8, 16 or 32");
    if (pi->bits_stored < 1 || pi->bits_stored > pi->bits_alloc)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DCM_TAG(0x0028, 0x0101),
                       "bits stored must be 1..bits allocated");
    src->bytes = pi->bits_alloc == 1 ? 1u : pi->bits_alloc / 8u;
    src->bits = pi->bits_stored;
    src->mask = src->bits == 32 ? 0xFFFFFFFFu : (1u << src->bits) - 1u;
    /* A high bit outside the allocated bits is ignored: values sit in the low bits. */
    if (pi->high_bit < pi->bits_alloc && pi->high_bit + 1 >= pi->bits_stored)
        src->shift = pi->high_bit + 1 - pi->bits_stored;
    src->is_signed = pi->pixel_rep == 1;
    n = (uint64_t)pi->rows * pi->cols; /* < 2^64: both are 32-bit */
    if (n > (SIZE_MAX / 4) / 3)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "frame is too large");
    n *= pi->samples;
    if (!fr->data || fr->len / src->bytes < n)
        return dv_fail(ei, DV_ETRUNC, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                       "decoded frame is shorter than its geometry");
    src->p = fr->data;
    src->n = (size_t)n;
    return DV_OK;
}

/* RGB samples of any depth to 8 bits per channel. */
static void render_rgb(const render_src *src, uint8_t *out)
{
    size_t i;

    for (i = 0; i < src->n; i++) {
        uint32_t v = (uint32_t)render_sample(src, i) & src->mask;
        out[i] = src->bits == 8 ? (uint8_t)v : render_scale8(v, src->mask);
    }
}

static dv_err image_alloc(const dcm_pixinfo *pi, uint32_t channels, const render_opts *o,
                          render_image *out, dv_errinfo *ei)
{
    uint64_t bytes = (uint64_t)pi->rows * pi->cols * channels; /* checked in frame_check */

    if (bytes > o->max_bytes)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG,
                       "rendered image would exceed %llu bytes", (unsigned long long)o->max_bytes);
    out->pixels = malloc((size_t)bytes);
    if (!out->pixels)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory for the image");
    out->width = pi->cols;
    out->height = pi->rows;
    out->channels = channels;
    return DV_OK;
}

static dv_err dispatch(const dcm_ds *ds, uint32_t frame, dcm_frame *fr, const render_opts *o,
                       render_image *out, dv_errinfo *ei)
{
    photo ph = photo_of(&fr->pi);
    int color = ph == PHOTO_RGB || ph == PHOTO_YBR_FULL;
    render_src src;
    dv_err e;

    if (ph == PHOTO_OTHER)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DCM_TAG(0x0028, 0x0004),
                       "photometric interpretation is not rendered");
    if ((color && fr->pi.samples != 3) || (!color && fr->pi.samples != 1))
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DCM_TAG(0x0028, 0x0002),
                       "samples per pixel do not fit the photometric interpretation");
    if (ph == PHOTO_YBR_FULL && fr->pi.bits_alloc != 8)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DCM_TAG(0x0028, 0x0004),
                       "YBR_FULL is rendered only with 8 bits allocated");
    e = frame_check(fr, &src, ei);
    if (e == DV_OK)
        e = image_alloc(&fr->pi, color || ph == PHOTO_PALETTE ? 3u : 1u, o, out, ei);
    if (e != DV_OK)
        return e;
    switch (ph) {
    case PHOTO_MONO1:
    case PHOTO_MONO2:
        return render_gray(ds, frame, &src, ph == PHOTO_MONO1, o, out->pixels, ei);
    case PHOTO_PALETTE:
        return render_palette(ds, &src, out->pixels, ei);
    case PHOTO_YBR_FULL:
        dcm_ybr_to_rgb(fr);
        src.bits = 8; /* the conversion gives full 8-bit RGB */
        src.mask = 0xFFu;
        src.shift = 0;
        render_rgb(&src, out->pixels);
        return DV_OK;
    case PHOTO_RGB:
        render_rgb(&src, out->pixels);
        return DV_OK;
    case PHOTO_OTHER:
        break;
    }
    return DV_OK;
}

dv_err render_decoded(const dcm_ds *ds, uint32_t frame, dcm_frame *fr, const render_opts *o,
                      render_image *out, dv_errinfo *ei)
{
    render_opts def;
    dv_err e;

    memset(out, 0, sizeof(*out));
    if (!o) {
        render_opts_init(&def);
        o = &def;
    }
    e = dispatch(ds, frame, fr, o, out, ei);
    if (e != DV_OK)
        render_image_release(out);
    return e;
}

dv_err render_frame(const dcm_file *f, uint32_t frame, const render_opts *o, render_image *out,
                    dv_errinfo *ei)
{
    dcm_pixinfo pi;
    dcm_frame fr;
    dv_err e;

    memset(out, 0, sizeof(*out));
    memset(&fr, 0, sizeof(fr));
    e = dcm_pixinfo_get(&f->ds, &pi, ei);
    if (e != DV_OK)
        return e;
    if (frame >= pi.frames)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DCM_TAG(0x0028, 0x0008),
                       "frame %lu does not exist: the image has %lu frame(s)",
                       (unsigned long)frame + 1, (unsigned long)pi.frames);
    e = dcm_frame_decode(f, frame, &fr, ei);
    if (e == DV_OK)
        e = render_decoded(&f->ds, frame, &fr, o, out, ei);
    dcm_frame_release(&fr);
    return e;
}
