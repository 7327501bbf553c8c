/* SPDX-License-Identifier: Apache-2.0 */
/* png.c - render_image to PNG in memory with libpng (IHDR, IDAT, IEND only).
 *
 * libpng reports errors by longjmp: the error callback jumps back to the setjmp in
 * png_encode(), which owns no state that changes after setjmp (the output context lives in the
 * caller's frame), so nothing is indeterminate after the jump.  Nothing is printed.
 */
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include "render/render_int.h"

#include "common/banned.h"

typedef struct png_ctx {
    dv_buf *out;
    dv_err err; /* why the write callback failed, DV_OK otherwise */
} png_ctx;

dv_err render_image_check(const render_image *im, dv_errinfo *ei)
{
    if (!im->pixels || im->width == 0 || im->height == 0 ||
        (im->channels != 1 && im->channels != 3))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "image needs pixels, width and height >= 1 and 1 or 3 channels");
    if ((uint64_t)im->width * im->channels > SIZE_MAX / im->height)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "image is too large");
    return DV_OK;
}

static void png_write_cb(png_structp png, png_bytep data, size_t len)
{
    png_ctx *c = png_get_io_ptr(png);
    dv_err e = dv_buf_add(c->out, data, len);

    if (e != DV_OK) {
        c->err = e;
        png_error(png, "output buffer");
    }
}

static void png_flush_cb(png_structp png)
{
    (void)png;
}

static void png_error_cb(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

static void png_warn_cb(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Returns 0 on success, 1 when libpng jumped out with an error. */
static int png_encode(png_structp png, png_infop info, png_ctx *ctx, const render_image *im)
{
    size_t stride = (size_t)im->width * im->channels;
    uint32_t y;

    if (setjmp(png_jmpbuf(png)))
        return 1;
    png_set_write_fn(png, ctx, png_write_cb, png_flush_cb);
    png_set_IHDR(png, info, im->width, im->height, 8,
                 im->channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (y = 0; y < im->height; y++)
        png_write_row(png, im->pixels + (size_t)y * stride);
    png_write_end(png, NULL);
    return 0;
}

dv_err render_png(const render_image *im, dv_buf *out, dv_errinfo *ei)
{
    png_ctx ctx;
    png_structp png;
    png_infop info;
    size_t start = out->len;
    int failed;
    dv_err e = render_image_check(im, ei);

    if (e != DV_OK)
        return e;
    ctx.out = out;
    ctx.err = DV_OK;
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, png_error_cb, png_warn_cb);
    if (!png)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "libpng could not start");
    info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "libpng could not start");
    }
    failed = png_encode(png, info, &ctx, im);
    png_destroy_write_struct(&png, &info);
    if (!failed)
        return DV_OK;
    render_buf_truncate(out, start);
    if (ctx.err != DV_OK)
        return dv_fail(ei, ctx.err, DV_NO_OFFSET, DV_NO_TAG, "PNG output does not fit");
    return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "libpng failed to encode the image");
}
