/* SPDX-License-Identifier: Apache-2.0 */
/* jpeg.c - render_image to baseline JPEG in memory with libjpeg (JFIF header, no comments or
 * other application markers).
 *
 * libjpeg's error_exit is replaced by a longjmp back to jpeg_encode(); the destination manager
 * appends to a dv_buf through a fixed chunk.  The context and the compress struct live in the
 * caller's frame (heap), so nothing the jump skips over is left indeterminate.  Nothing is
 * printed: output_message is a no-op.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "render/render_int.h"

#include "common/banned.h"

#define JPEG_CHUNK 16384

typedef struct jpeg_ctx {
    struct jpeg_error_mgr pub; /* first: libjpeg hands back this pointer */
    struct jpeg_destination_mgr dest;
    struct jpeg_compress_struct ci;
    jmp_buf jb;
    dv_buf *out;
    dv_err err; /* why the destination failed, DV_OK otherwise */
    JOCTET chunk[JPEG_CHUNK];
} jpeg_ctx;

static void jerr_exit(j_common_ptr ci)
{
    jpeg_ctx *c = ci->client_data;

    longjmp(c->jb, 1);
}

static void jerr_output(j_common_ptr ci)
{
    (void)ci;
}

static void dest_init(j_compress_ptr ci)
{
    jpeg_ctx *c = ci->client_data;

    c->dest.next_output_byte = c->chunk;
    c->dest.free_in_buffer = sizeof(c->chunk);
}

static boolean dest_empty(j_compress_ptr ci)
{
    jpeg_ctx *c = ci->client_data;
    dv_err e = dv_buf_add(c->out, c->chunk, sizeof(c->chunk));

    if (e != DV_OK) {
        c->err = e;
        longjmp(c->jb, 1);
    }
    c->dest.next_output_byte = c->chunk;
    c->dest.free_in_buffer = sizeof(c->chunk);
    return TRUE;
}

static void dest_term(j_compress_ptr ci)
{
    jpeg_ctx *c = ci->client_data;
    dv_err e = dv_buf_add(c->out, c->chunk, sizeof(c->chunk) - c->dest.free_in_buffer);

    if (e != DV_OK) {
        c->err = e;
        longjmp(c->jb, 1);
    }
}

/* Returns 0 on success, 1 when libjpeg or the destination jumped out. */
static int jpeg_encode(jpeg_ctx *c, const render_image *im, int quality)
{
    size_t stride = (size_t)im->width * im->channels;

    if (setjmp(c->jb))
        return 1;
    jpeg_create_compress(&c->ci);
    c->ci.dest = &c->dest;
    c->ci.image_width = im->width;
    c->ci.image_height = im->height;
    c->ci.input_components = (int)im->channels;
    c->ci.in_color_space = im->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c->ci);
    jpeg_set_quality(&c->ci, quality, TRUE);
    jpeg_start_compress(&c->ci, TRUE);
    while (c->ci.next_scanline < c->ci.image_height) {
        JSAMPROW row = im->pixels + (size_t)c->ci.next_scanline * stride;
        if (jpeg_write_scanlines(&c->ci, &row, 1) != 1)
            return 1;
    }
    jpeg_finish_compress(&c->ci);
    return 0;
}

dv_err render_jpeg(const render_image *im, int quality, dv_buf *out, dv_errinfo *ei)
{
    jpeg_ctx *c;
    size_t start = out->len;
    int failed;
    dv_err e = render_image_check(im, ei);

    if (e != DV_OK)
        return e;
    if (quality < 1 || quality > 100)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "JPEG quality must be 1..100");
    if (im->width > JPEG_MAX_DIMENSION || im->height > JPEG_MAX_DIMENSION)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG holds at most %ld pixels per side", (long)JPEG_MAX_DIMENSION);
    c = calloc(1, sizeof(*c));
    if (!c)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory for libjpeg");
    c->out = out;
    c->ci.err = jpeg_std_error(&c->pub);
    c->pub.error_exit = jerr_exit;
    c->pub.output_message = jerr_output;
    c->ci.client_data = c;
    c->dest.init_destination = dest_init;
    c->dest.empty_output_buffer = dest_empty;
    c->dest.term_destination = dest_term;
    failed = jpeg_encode(c, im, quality);
    e = c->err;
    jpeg_destroy_compress(&c->ci);
    free(c);
    if (!failed)
        return DV_OK;
    render_buf_truncate(out, start);
    if (e != DV_OK)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "JPEG output does not fit");
    return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "libjpeg failed to encode the image");
}
