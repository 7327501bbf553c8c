/* SPDX-License-Identifier: Apache-2.0 */
/* imgio.c - reads PNG (libpng simplified API) and JPEG (libjpeg) images into 8-bit gray or RGB
 * render_images, for `dcmvault trace` and `dcmvault mark` on image files.
 *
 * Both decoders learn the size from the header and refuse more than MARK_MAX_PIXELS before
 * allocating; libjpeg errors longjmp back here and become DV_ECODEC, never exit().
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

#include "mark/mark.h"

#include "common/banned.h"

#define MAX_FILE ((size_t)1 << 30)

mark_imgtype mark_img_sniff(const uint8_t *p, size_t n)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    if (n >= 8 && !memcmp(p, png_sig, 8))
        return MARK_IMG_PNG;
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
        return MARK_IMG_JPEG;
    return MARK_IMG_UNKNOWN;
}

static dv_err too_big(uint64_t w, uint64_t h, dv_errinfo *ei)
{
    if (w == 0 || h == 0)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG, "image has no pixels");
    if (w * h > MARK_MAX_PIXELS)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "image over %u pixels",
                       MARK_MAX_PIXELS);
    return DV_OK;
}

static dv_err decode_png(const uint8_t *p, size_t n, render_image *out, dv_errinfo *ei)
{
    png_image pi;
    dv_err e;

    memset(&pi, 0, sizeof(pi));
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&pi, p, n))
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "PNG header unreadable");
    e = too_big(pi.width, pi.height, ei);
    if (e) {
        png_image_free(&pi);
        return e;
    }
    out->channels = pi.format & PNG_FORMAT_FLAG_COLOR ? 3 : 1;
    pi.format = out->channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    out->width = pi.width;
    out->height = pi.height;
    out->pixels = malloc((size_t)pi.width * pi.height * out->channels);
    if (!out->pixels) {
        png_image_free(&pi);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory for the image");
    }
    if (!png_image_finish_read(&pi, NULL, out->pixels, 0, NULL)) {
        png_image_free(&pi);
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "PNG data does not decode");
    }
    return DV_OK;
}

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} jerr;

static void jerr_exit(j_common_ptr cinfo)
{
    jerr *je = (jerr *)cinfo->err;
    longjmp(je->jb, 1);
}

static void jerr_silent(j_common_ptr cinfo)
{
    (void)cinfo;
}

/* The scanline loop; returns nonzero when libjpeg raised an error. */
static int jpeg_rows(struct jpeg_decompress_struct *ci, render_image *out)
{
    JSAMPROW row;

    while (ci->output_scanline < ci->output_height) {
        row = out->pixels + (size_t)ci->output_scanline * out->width * out->channels;
        if (jpeg_read_scanlines(ci, &row, 1) != 1)
            return 1;
    }
    return 0;
}

static dv_err decode_jpeg(const uint8_t *p, size_t n, render_image *out, dv_errinfo *ei)
{
    struct jpeg_decompress_struct ci;
    jerr je;
    dv_err e = DV_OK;

    memset(&ci, 0, sizeof(ci));
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jerr_exit;
    je.pub.output_message = jerr_silent;
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&ci);
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "JPEG data does not decode");
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, p, (unsigned long)n);
    if (jpeg_read_header(&ci, TRUE) != JPEG_HEADER_OK) {
        jpeg_destroy_decompress(&ci);
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "JPEG header unreadable");
    }
    if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&ci);
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG, "CMYK JPEG not supported");
    }
    e = too_big(ci.image_width, ci.image_height, ei);
    if (e) {
        jpeg_destroy_decompress(&ci);
        return e;
    }
    ci.out_color_space = ci.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    out->channels = ci.num_components == 1 ? 1 : 3;
    out->width = ci.image_width;
    out->height = ci.image_height;
    out->pixels = malloc((size_t)out->width * out->height * out->channels);
    if (!out->pixels) {
        jpeg_destroy_decompress(&ci);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory for the image");
    }
    (void)jpeg_start_decompress(&ci);
    if (ci.output_width != out->width || ci.output_height != out->height ||
        (uint32_t)ci.output_components != out->channels || jpeg_rows(&ci, out))
        e = dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "JPEG data does not decode");
    else
        (void)jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    return e;
}

dv_err mark_img_decode(const uint8_t *p, size_t n, render_image *out, mark_imgtype *type,
                       dv_errinfo *ei)
{
    mark_imgtype t = mark_img_sniff(p, n);
    dv_err e;

    memset(out, 0, sizeof(*out));
    if (type)
        *type = t;
    if (t == MARK_IMG_PNG)
        e = decode_png(p, n, out, ei);
    else if (t == MARK_IMG_JPEG)
        e = decode_jpeg(p, n, out, ei);
    else
        e = dv_fail(ei, DV_EUNSUPPORTED, 0, DV_NO_TAG, "neither a PNG nor a JPEG file");
    if (e)
        render_image_release(out);
    return e;
}

static dv_err slurp(const char *path, uint8_t **p, size_t *n, dv_errinfo *ei)
{
    struct stat st;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *p = NULL;
    if (fd < 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot open: %s", strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE) {
        close(fd);
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "not a regular file of at most 1 GiB");
    }
    *n = (size_t)st.st_size;
    *p = malloc(*n ? *n : 1);
    if (!*p) {
        close(fd);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    }
    while (got < *n) {
        ssize_t r = read(fd, *p + got, *n - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            close(fd);
            free(*p);
            *p = NULL;
            return dv_fail(ei, DV_EIO, got, DV_NO_TAG, "read failed");
        }
        got += (size_t)r;
    }
    close(fd);
    return DV_OK;
}

dv_err mark_img_read(const char *path, render_image *out, mark_imgtype *type, dv_errinfo *ei)
{
    uint8_t *p = NULL;
    size_t n = 0;
    dv_err e;

    memset(out, 0, sizeof(*out));
    e = slurp(path, &p, &n, ei);
    if (e || !p)
        return e ? e : DV_EIO;
    e = mark_img_decode(p, n, out, type, ei);
    free(p);
    return e;
}
