/* SPDX-License-Identifier: Apache-2.0 */
/* codec_j2k.c - JPEG 2000 Part 1 and HTJ2K (Part 15) decoding through OpenJPEG 2.5, reading
 * from memory with a custom opj_stream (read/skip/seek callbacks over a bounded buffer).
 *
 * The header is checked against the pixel description (size, components, 1x1 sub-sampling,
 * precision) before any tile is decoded.  Component samples (int32 in OpenJPEG) are written as
 * their low 8 or 16 bits, so signed data comes out two's complement.  OpenJPEG undoes a
 * multiple component transform itself: such frames come out RGB.
 */
#include <stdlib.h>
#include <string.h>

#include <openjpeg.h>

#include "common/buf.h"
#include "dicom/codec.h"

#include "common/banned.h"

typedef struct memsrc {
    const uint8_t *p;
    size_t len, pos;
} memsrc;

static OPJ_SIZE_T ms_read(void *buf, OPJ_SIZE_T n, void *user)
{
    memsrc *m = user;
    size_t left = m->len - m->pos;

    if (left == 0)
        return (OPJ_SIZE_T)-1;
    if (n > left)
        n = left;
    memcpy(buf, m->p + m->pos, n);
    m->pos += n;
    return n;
}

static OPJ_OFF_T ms_skip(OPJ_OFF_T n, void *user)
{
    memsrc *m = user;

    if (n < 0) {
        if ((uint64_t)(-(n + 1)) + 1 > m->pos)
            return -1;
        m->pos -= (size_t)(-n);
        return n;
    }
    if ((uint64_t)n > m->len - m->pos)
        n = (OPJ_OFF_T)(m->len - m->pos);
    m->pos += (size_t)n;
    return n;
}

static OPJ_BOOL ms_seek(OPJ_OFF_T n, void *user)
{
    memsrc *m = user;

    if (n < 0 || (uint64_t)n > m->len)
        return OPJ_FALSE;
    m->pos = (size_t)n;
    return OPJ_TRUE;
}

static void opj_quiet(const char *msg, void *data)
{
    (void)msg;
    (void)data;
}

static dv_err jfail(dv_errinfo *ei, const char *what)
{
    return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "JPEG 2000: %s", what);
}

static dv_err j2k_check(const opj_image_t *im, const dcm_codec_geom *g, dv_errinfo *ei)
{
    unsigned i;

    if (im->numcomps != g->samples)
        return jfail(ei, "component count differs from SamplesPerPixel");
    if (im->x1 - im->x0 != g->cols || im->y1 - im->y0 != g->rows)
        return jfail(ei, "image size differs from Rows/Columns");
    for (i = 0; i < im->numcomps; i++) {
        const opj_image_comp_t *c = &im->comps[i];

        if (c->dx != 1 || c->dy != 1)
            return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                           "JPEG 2000: sub-sampled components");
        if (c->w != g->cols || c->h != g->rows)
            return jfail(ei, "component size differs from Rows/Columns");
        if (c->prec < 1 || c->prec > 16 || c->prec > 8 * g->bytes)
            return jfail(ei, "component precision exceeds the bits allocated");
    }
    return DV_OK;
}

static dv_err j2k_copy(const opj_image_t *im, const dcm_codec_geom *g, uint8_t *out, dv_errinfo *ei)
{
    size_t npix = (size_t)g->rows * g->cols, i;
    unsigned c;

    for (c = 0; c < g->samples; c++) {
        const opj_image_comp_t *k = &im->comps[c];

        if (!k->data || k->w != g->cols || k->h != g->rows)
            return jfail(ei, "decoder returned no data for a component");
        for (i = 0; i < npix; i++) {
            uint32_t v = (uint32_t)k->data[i];
            size_t at = (i * g->samples + c) * g->bytes;

            if (g->bytes == 1)
                out[at] = (uint8_t)v;
            else
                dv_put_le16(out + at, (uint16_t)v);
        }
    }
    return DV_OK;
}

static int is_jp2(const uint8_t *p, size_t len)
{
    return len >= 12 && !memcmp(p + 4, "jP  ", 4);
}

static dv_err j2k_run(opj_codec_t *codec, opj_stream_t *st, const dcm_codec_geom *g, uint8_t *out,
                      dv_errinfo *ei)
{
    opj_dparameters_t par;
    opj_image_t *im = NULL;
    dv_err e;

    opj_set_default_decoder_parameters(&par);
    opj_set_error_handler(codec, opj_quiet, NULL);
    opj_set_warning_handler(codec, opj_quiet, NULL);
    opj_set_info_handler(codec, opj_quiet, NULL);
    if (!opj_setup_decoder(codec, &par))
        return jfail(ei, "decoder setup failed");
    if (!opj_read_header(st, codec, &im))
        return jfail(ei, "cannot read the codestream header");
    e = j2k_check(im, g, ei);
    if (!e && !opj_decode(codec, st, im))
        e = jfail(ei, "codestream failed to decode");
    if (!e && !opj_end_decompress(codec, st))
        e = jfail(ei, "codestream failed to decode to its end");
    if (!e)
        e = j2k_copy(im, g, out, ei);
    opj_image_destroy(im);
    return e;
}

dv_err dcm_codec_j2k(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                     size_t outlen, dv_errinfo *ei)
{
    memsrc m = {src, len, 0};
    opj_stream_t *st;
    opj_codec_t *codec;
    dv_err e;

    if ((g->bytes != 1 && g->bytes != 2) || outlen == 0 || outlen != dcm_codec_frame_bytes(g))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "JPEG 2000: bad output geometry");
    if (len < 2)
        return jfail(ei, "stream too short");
    st = opj_stream_create(65536, OPJ_TRUE);
    codec = opj_create_decompress(is_jp2(src, len) ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    if (!st || !codec) {
        opj_stream_destroy(st);
        opj_destroy_codec(codec);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "JPEG 2000: decoder");
    }
    opj_stream_set_user_data(st, &m, NULL);
    opj_stream_set_user_data_length(st, len);
    opj_stream_set_read_function(st, ms_read);
    opj_stream_set_skip_function(st, ms_skip);
    opj_stream_set_seek_function(st, ms_seek);
    e = j2k_run(codec, st, g, out, ei);
    opj_destroy_codec(codec);
    opj_stream_destroy(st);
    return e;
}
