/* SPDX-License-Identifier: Apache-2.0 */
/* codec_jpeg.c - JPEG stream probing, dispatch between the JPEG decoders, and 8-bit DCT
 * decoding through libjpeg(-turbo) with a memory source and an error manager that longjmps
 * back here (libjpeg's default would exit the process).
 *
 * Colour: like dcmdjpeg, a 3-component frame whose dataset says YBR_* is converted YCbCr ->
 * RGB; any other frame is returned with no colour transform.  A stream that ends early, or
 * whose entropy-coded data is damaged, is an error (libjpeg would only warn and fill grey).
 *
 * Short frames (dcm_codec_jpeg_any only): a stream whose frame header announces no more
 * columns than Columns and no more lines than Rows (same component count and precision rules
 * as any frame) is decoded as DCMTK 3.6 dcmdjpeg/dcmj2pnm do it: its samples, in the stream's
 * own scanline width, fill the start of the output one line after another and the rest of the
 * output is zero.  When only the line count is short (the width equals Columns) that is the
 * image at the top of a black frame; when the width is short the lines run on without a gap,
 * exactly as DCMTK lays them out (tiled whole-slide images end each row of tiles so).  The
 * individual decoders below still require the exact Rows x Columns.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "common/buf.h"
#include "dicom/codec.h"

#include "common/banned.h"

/* Offset of the first SOF marker (its 0xFF byte); the segment holds at least P, Y, X, Nf. */
static dv_err find_sof(const uint8_t *src, size_t len, size_t *at, dv_errinfo *ei)
{
    size_t pos = 2;

    if (len < 4 || src[0] != 0xFF || src[1] != 0xD8)
        return dv_fail(ei, DV_ECODEC, 0, DV_NO_TAG, "JPEG: stream does not start with SOI");
    while (pos + 4 <= len) {
        uint8_t m;
        size_t n;

        if (src[pos] != 0xFF)
            return dv_fail(ei, DV_ECODEC, pos, DV_NO_TAG, "JPEG: marker expected");
        m = src[pos + 1];
        if (m == 0xFF) {
            pos++;
            continue;
        }
        n = dv_be16(src + pos + 2);
        if (n < 2 || n > len - pos - 2)
            return dv_fail(ei, DV_ECODEC, pos, DV_NO_TAG,
                           "JPEG: segment length passes the end of the stream");
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            if (n < 8)
                return dv_fail(ei, DV_ECODEC, pos, DV_NO_TAG, "JPEG: SOF segment too short");
            *at = pos;
            return DV_OK;
        }
        if (m == 0xDA || m == 0xD9)
            break;
        pos += 2 + n;
    }
    return dv_fail(ei, DV_ECODEC, pos, DV_NO_TAG, "JPEG: no frame header (SOF) found");
}

/* What the SOF segment at sof (checked by find_sof) announces. */
static void sof_info(const uint8_t *sof, dcm_jpeg_probe_info *info)
{
    info->sof = sof[1];
    info->precision = sof[4];
    info->ncomp = sof[9];
}

dv_err dcm_jpeg_probe(const uint8_t *src, size_t len, dcm_jpeg_probe_info *info, dv_errinfo *ei)
{
    size_t at = 0;
    dv_err e;

    memset(info, 0, sizeof(*info));
    e = find_sof(src, len, &at, ei);
    if (e)
        return e;
    sof_info(src + at, info);
    return DV_OK;
}

enum jpeg_path { JP_NONE, JP_LIBJPEG, JP_DCT12, JP_LOSSLESS };

static enum jpeg_path path_of(const dcm_jpeg_probe_info *pi)
{
    switch (pi->sof) {
    case 0xC3:
        return JP_LOSSLESS;
    case 0xC0:
    case 0xC1:
        return pi->precision == 8 ? JP_LIBJPEG : JP_DCT12;
    case 0xC2:
    case 0xC9:
    case 0xCA:
        return pi->precision == 8 ? JP_LIBJPEG : JP_NONE;
    default:
        return JP_NONE;
    }
}

/* The geometry of the frame the stream holds: g with the frame header's lines and columns when
 * they fit inside g (a short frame, see the top of the file).  A frame header with a zero
 * dimension (lines given by a DNL marker) keeps g: the decoder then refuses the stream. */
static dv_err frame_geom(const uint8_t *sof, const dcm_codec_geom *g, dcm_codec_geom *sub,
                         dv_errinfo *ei)
{
    uint32_t y = dv_be16(sof + 5), x = dv_be16(sof + 7);

    *sub = *g;
    if (x > g->cols)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "JPEG: frame is wider than Columns");
    if (y > g->rows)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "JPEG: frame is taller than Rows");
    if (x == 0 || y == 0)
        return DV_OK;
    sub->rows = y;
    sub->cols = x;
    return DV_OK;
}

dv_err dcm_codec_jpeg_any(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                          size_t outlen, int *rgb, dv_errinfo *ei)
{
    dcm_jpeg_probe_info pi;
    dcm_codec_geom sub;
    enum jpeg_path path;
    size_t at = 0, part;
    dv_err e;

    *rgb = 0;
    if (outlen == 0 || outlen != dcm_codec_frame_bytes(g))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "JPEG: bad output geometry");
    e = find_sof(src, len, &at, ei);
    if (e)
        return e;
    sof_info(src + at, &pi);
    path = path_of(&pi);
    if (path == JP_NONE)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG: frame type 0x%02X with %u-bit precision is not supported", pi.sof,
                       (unsigned)pi.precision);
    e = frame_geom(src + at, g, &sub, ei);
    if (e)
        return e;
    part = dcm_codec_frame_bytes(&sub); /* sub is no larger than g: no overflow, <= outlen */
    if (path == JP_LOSSLESS)
        e = dcm_codec_jpegll(src, len, &sub, out, part, ei);
    else if (path == JP_DCT12)
        e = dcm_codec_jpeg12(src, len, &sub, out, part, ei);
    else
        e = dcm_codec_jpeg8(src, len, &sub, out, part, rgb, ei);
    if (!e && part < outlen)
        memset(out + part, 0, outlen - part);
    return e;
}

/* ---- libjpeg glue ------------------------------------------------------------------------ */

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    int code; /* libjpeg message code of the failure */
    int truncated;
    int eof_inserted; /* the source ran dry and supplied a fake EOI */
} jerr;

static void j_error_exit(j_common_ptr c)
{
    jerr *m = (jerr *)c->err;

    m->code = c->err->msg_code;
    longjmp(m->jb, 1);
}

/* Warnings that mean the pixels would be wrong are turned into errors. */
static void j_emit(j_common_ptr c, int level)
{
    jerr *m = (jerr *)c->err;
    int code = c->err->msg_code;

    if (level >= 0)
        return;
    /* tolerated like IJG/dcmdjpeg do: extraneous bytes, zeroed Ss/Se, odd progression ... */
    if (code == JWRN_HIT_MARKER || code == JWRN_JPEG_EOF || code == JWRN_HUFF_BAD_CODE ||
        code == JWRN_MUST_RESYNC) {
        m->code = code;
        m->truncated = code == JWRN_HIT_MARKER || code == JWRN_JPEG_EOF;
        longjmp(m->jb, 1);
    }
}

static void j_output(j_common_ptr c)
{
    (void)c;
}

static void src_init(j_decompress_ptr c)
{
    (void)c;
}

/* The whole stream is in memory, so a refill means its end.  The first time a fake EOI is
 * supplied (as jpeg_mem_src does): a stream that only lacks its EOI decodes, and one cut inside
 * its entropy-coded data makes libjpeg warn JWRN_HIT_MARKER, which j_emit turns into an error.
 * A second refill means libjpeg read past the fake EOI: truncated. */
static boolean src_fill(j_decompress_ptr c)
{
    static const JOCTET eoi[2] = {0xFF, JPEG_EOI};
    jerr *m = (jerr *)c->err;

    if (!m->eof_inserted) {
        m->eof_inserted = 1;
        c->src->next_input_byte = eoi;
        c->src->bytes_in_buffer = sizeof(eoi);
        return TRUE;
    }
    m->truncated = 1;
    m->code = JWRN_JPEG_EOF;
    longjmp(m->jb, 1);
}

static void src_skip(j_decompress_ptr c, long n)
{
    if (n <= 0)
        return;
    if ((size_t)n > c->src->bytes_in_buffer) {
        c->src->next_input_byte += c->src->bytes_in_buffer; /* skip to the end ... */
        c->src->bytes_in_buffer = 0;
        (void)src_fill(c); /* ... where the fake EOI follows (or the stream is truncated) */
        return;
    }
    c->src->next_input_byte += n;
    c->src->bytes_in_buffer -= (size_t)n;
}

static void src_term(j_decompress_ptr c)
{
    (void)c;
}

/* Message for a libjpeg code: its static table text up to the first format directive. */
static dv_err j_fail(const jerr *m, dv_errinfo *ei)
{
    const char *t = "unknown error";
    char buf[120];
    size_t i;

    if (m->truncated)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG: stream ends before the image is complete");
    if (m->code > 0 && m->code <= m->pub.last_jpeg_message && m->pub.jpeg_message_table)
        t = m->pub.jpeg_message_table[m->code];
    for (i = 0; t[i] && t[i] != '%' && i + 1 < sizeof(buf); i++)
        buf[i] = t[i];
    buf[i] = '\0';
    return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "JPEG (libjpeg code %d): %s", m->code,
                   buf);
}

static dv_err j_check_header(const struct jpeg_decompress_struct *c, const dcm_codec_geom *g,
                             dv_errinfo *ei)
{
    if (c->image_width != g->cols || c->image_height != g->rows)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG: frame size differs from Rows/Columns");
    if ((uint32_t)c->num_components != g->samples)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG: component count differs from SamplesPerPixel");
    if (c->data_precision != 8)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "JPEG: precision is not 8");
    return DV_OK;
}

/* Reads the scanlines; 8-bit samples are widened when the dataset allocates 16 bits. */
static void j_read_rows(struct jpeg_decompress_struct *c, const dcm_codec_geom *g, uint8_t *out)
{
    size_t rowlen = (size_t)g->cols * g->samples;
    JSAMPARRAY tmp = NULL;

    if (g->bytes != 1)
        tmp = (*c->mem->alloc_sarray)((j_common_ptr)c, JPOOL_IMAGE, (JDIMENSION)rowlen, 1);
    while (c->output_scanline < c->output_height) {
        size_t y = c->output_scanline, i;
        JSAMPROW row = tmp ? tmp[0] : out + y * rowlen;

        if (jpeg_read_scanlines(c, &row, 1) != 1)
            j_error_exit((j_common_ptr)c); /* cannot happen: this source never suspends */
        for (i = 0; tmp && i < rowlen; i++)
            dv_put_le16(out + (y * rowlen + i) * 2, row[i]);
    }
}

/* The part that runs under setjmp; keeps no state of its own that longjmp could clobber. */
static dv_err j_run(struct jpeg_decompress_struct *c, jerr *m, const dcm_codec_geom *g,
                    uint8_t *out, int *rgb, dv_errinfo *ei)
{
    dv_err e;

    if (setjmp(m->jb))
        return j_fail(m, ei);
    (void)jpeg_read_header(c, TRUE);
    e = j_check_header(c, g, ei);
    if (e)
        return e;
    if (g->samples == 3 && g->ybr) {
        c->jpeg_color_space = JCS_YCbCr;
        c->out_color_space = JCS_RGB;
        *rgb = 1;
    } else if (g->samples == 3) {
        c->jpeg_color_space = JCS_UNKNOWN;
        c->out_color_space = JCS_UNKNOWN;
    }
    (void)jpeg_start_decompress(c);
    if ((uint32_t)c->output_components != g->samples || c->output_width != g->cols ||
        c->output_height != g->rows)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG: decoder output differs from the pixel description");
    j_read_rows(c, g, out);
    (void)jpeg_finish_decompress(c);
    /* a progressive stream reads every scan before the first row: the fake EOI would hide a
     * missing scan */
    if (m->eof_inserted && c->progressive_mode)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG,
                       "JPEG: progressive stream ends before its EOI");
    return DV_OK;
}

dv_err dcm_codec_jpeg8(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                       size_t outlen, int *rgb, dv_errinfo *ei)
{
    struct jpeg_decompress_struct c;
    struct jpeg_source_mgr sm;
    jerr m;
    dv_err e;

    *rgb = 0;
    if ((g->bytes != 1 && g->bytes != 2) || outlen == 0 || outlen != dcm_codec_frame_bytes(g))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "JPEG: bad output geometry");
    memset(&c, 0, sizeof(c));
    memset(&m, 0, sizeof(m));
    memset(&sm, 0, sizeof(sm));
    c.err = jpeg_std_error(&m.pub);
    m.pub.error_exit = j_error_exit;
    m.pub.emit_message = j_emit;
    m.pub.output_message = j_output;
    if (setjmp(m.jb))
        return j_fail(&m, ei); /* jpeg_create_decompress failed: nothing to destroy */
    jpeg_create_decompress(&c);
    sm.init_source = src_init;
    sm.fill_input_buffer = src_fill;
    sm.skip_input_data = src_skip;
    sm.resync_to_restart = jpeg_resync_to_restart;
    sm.term_source = src_term;
    sm.next_input_byte = src;
    sm.bytes_in_buffer = len;
    c.src = &sm;
    e = j_run(&c, &m, g, out, rgb, ei);
    jpeg_destroy_decompress(&c);
    return e;
}
