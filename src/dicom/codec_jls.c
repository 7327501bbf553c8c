/* SPDX-License-Identifier: Apache-2.0 */
/* codec_jls.c - JPEG-LS (ISO 14495-1, lossless and near-lossless) through the CharLS C API.
 *
 * CharLS writes samples of up to 8 bits as bytes and wider ones as 16-bit native-endian words;
 * frames coded without interleave come out plane by plane and are interleaved here.  The
 * frame header is checked against the pixel description before CharLS writes a byte.
 */
#include <stdlib.h>
#include <string.h>

#include <charls/charls.h>

#include "common/buf.h"
#include "dicom/codec.h"

#include "common/banned.h"

static dv_err jls_err(charls_jpegls_errc rc, dv_errinfo *ei)
{
    const char *m = charls_get_error_message(rc);

    return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "JPEG-LS (CharLS %d): %s", (int)rc,
                   m ? m : "error");
}

static dv_err jls_check(const charls_frame_info *fi, const dcm_codec_geom *g, dv_errinfo *ei)
{
    if (fi->width != g->cols || fi->height != g->rows)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG-LS: frame size differs from Rows/Columns");
    if (fi->component_count < 0 || (uint32_t)fi->component_count != g->samples)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG-LS: component count differs from SamplesPerPixel");
    if (fi->bits_per_sample < 2 || fi->bits_per_sample > 16 ||
        (uint32_t)fi->bits_per_sample > 8 * g->bytes)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG-LS: sample precision exceeds the bits allocated");
    return DV_OK;
}

/* Copies CharLS output (tmp: w bytes per sample, planar when planar != 0) into out. */
static void jls_copy(const uint8_t *tmp, unsigned w, int planar, const dcm_codec_geom *g,
                     uint8_t *out)
{
    size_t npix = (size_t)g->rows * g->cols, i;
    unsigned c;

    for (c = 0; c < g->samples; c++) {
        for (i = 0; i < npix; i++) {
            size_t from = planar ? (size_t)c * npix + i : i * g->samples + c;
            size_t to = (i * g->samples + c) * g->bytes;
            uint16_t v;

            if (w == 1)
                v = tmp[from];
            else
                memcpy(&v, tmp + from * 2, 2); /* native endian, as CharLS writes it */
            if (g->bytes == 1)
                out[to] = (uint8_t)v;
            else
                dv_put_le16(out + to, v);
        }
    }
}

/* Length of the stream up to and including its EOI, or 0 when no EOI is among its last 18
 * bytes (encoders pad after EOI with 0x00 or 0xFF; inside JPEG-LS entropy-coded data 0xFF is
 * never followed by a byte >= 0x80, so FF D9 there is the marker).  CharLS 2.4 can spin for
 * seconds on a scan that runs into the end of the buffer instead of a marker, so truncated
 * streams never reach it. */
static size_t jls_eoi_len(const uint8_t *src, size_t len)
{
    size_t i, stop = len > 18 ? len - 18 : 0;

    for (i = len; i >= stop + 2; i--)
        if (src[i - 2] == 0xFF && src[i - 1] == 0xD9)
            return i;
    return 0;
}

static dv_err jls_run(charls_jpegls_decoder *d, const uint8_t *src, size_t len,
                      const dcm_codec_geom *g, uint8_t *out, dv_errinfo *ei)
{
    charls_frame_info fi;
    charls_interleave_mode mode;
    charls_jpegls_errc rc;
    size_t need;
    uint8_t *tmp;
    unsigned w;
    dv_err e;

    len = jls_eoi_len(src, len);
    if (len == 0)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG-LS: stream does not end with EOI (truncated)");
    rc = charls_jpegls_decoder_set_source_buffer(d, src, len);
    if (!rc)
        rc = charls_jpegls_decoder_read_header(d);
    if (!rc)
        rc = charls_jpegls_decoder_get_frame_info(d, &fi);
    if (!rc)
        rc = charls_jpegls_decoder_get_interleave_mode(d, &mode);
    if (rc)
        return jls_err(rc, ei);
    e = jls_check(&fi, g, ei);
    if (e)
        return e;
    w = fi.bits_per_sample > 8 ? 2 : 1;
    need = (size_t)g->rows * g->cols * g->samples * w;
    rc = charls_jpegls_decoder_get_destination_size(d, 0, &need);
    if (rc)
        return jls_err(rc, ei);
    if (need != (size_t)g->rows * g->cols * g->samples * w)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG-LS: decoded size differs from the pixel description");
    tmp = malloc(need);
    if (!tmp)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "JPEG-LS: frame buffer");
    rc = charls_jpegls_decoder_decode_to_buffer(d, tmp, need, 0);
    if (rc)
        e = jls_err(rc, ei);
    else
        jls_copy(tmp, w, g->samples > 1 && mode == CHARLS_INTERLEAVE_MODE_NONE, g, out);
    free(tmp);
    return e;
}

dv_err dcm_codec_jls(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                     size_t outlen, dv_errinfo *ei)
{
    charls_jpegls_decoder *d;
    dv_err e;

    if ((g->bytes != 1 && g->bytes != 2) || outlen == 0 || outlen != dcm_codec_frame_bytes(g))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "JPEG-LS: bad output geometry");
    d = charls_jpegls_decoder_create();
    if (!d)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "JPEG-LS: decoder");
    e = jls_run(d, src, len, g, out, ei);
    charls_jpegls_decoder_destroy(d);
    return e;
}
