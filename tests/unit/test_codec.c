/* SPDX-License-Identifier: Apache-2.0 */
/* test_codec.c - the compressed pixel decoders on hand-made and library-made streams.
 *
 * RLE frames and lossless JPEG streams are built by hand from PS3.5 Annex G and ISO 10918-1
 * Annex H (the expected pixels are the values the bits were chosen to encode).  The own 8/12-bit
 * DCT decoder is compared with libjpeg-turbo on streams libjpeg-turbo encodes here; JPEG-LS is
 * round-tripped through CharLS's encoder.  Error cases assert the exact dv_err. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <charls/charls.h>
#include <cmocka.h>
#include <jpeglib.h>

#include "common/buf.h"
#include "dicom/codec.h"

#include "common/banned.h"

static dcm_codec_geom geom(uint32_t rows, uint32_t cols, uint32_t samples, uint32_t bytes)
{
    dcm_codec_geom g;

    memset(&g, 0, sizeof(g));
    g.rows = rows;
    g.cols = cols;
    g.samples = samples;
    g.bytes = bytes;
    g.bits_stored = 8 * bytes;
    return g;
}

/* ---- RLE --------------------------------------------------------------------------------- */

/* Builds an RLE frame: header with nseg offsets, then the segments one after another. */
static size_t rle_frame(uint8_t *out, unsigned nseg, const uint8_t *const *segs, const size_t *lens)
{
    size_t at = 64;
    unsigned i;

    memset(out, 0, 64);
    dv_put_le32(out, nseg);
    for (i = 0; i < nseg; i++) {
        dv_put_le32(out + 4 + 4 * i, (uint32_t)at);
        memcpy(out + at, segs[i], lens[i]);
        at += lens[i];
    }
    return at;
}

static void rle_literal_and_replicate(void **state)
{
    /* 2x3 pixels: literal run of 3 (n=2), no-op byte -128, replicate 3 times (n=-2) */
    static const uint8_t seg[] = {0x02, 10, 20, 30, 0x80, 0xFE, 77};
    const uint8_t *segs[] = {seg};
    size_t lens[] = {sizeof(seg)}, n;
    uint8_t frame[128], out[6];
    const uint8_t want[] = {10, 20, 30, 77, 77, 77};
    dcm_codec_geom g = geom(2, 3, 1, 1);
    dv_errinfo ei;

    (void)state;
    n = rle_frame(frame, 1, segs, lens);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, sizeof(out), &ei), DV_OK);
    assert_memory_equal(out, want, sizeof(want));
}

static void rle_16bit_is_little_endian(void **state)
{
    /* segment 0 holds the high bytes, segment 1 the low bytes */
    static const uint8_t hi[] = {0x01, 0x12, 0x34}, lo[] = {0xFF, 0xAB};
    const uint8_t *segs[] = {hi, lo};
    size_t lens[] = {sizeof(hi), sizeof(lo)}, n;
    uint8_t frame[128], out[4];
    dcm_codec_geom g = geom(1, 2, 1, 2);
    dv_errinfo ei;

    (void)state;
    n = rle_frame(frame, 2, segs, lens);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, sizeof(out), &ei), DV_OK);
    assert_int_equal(dv_le16(out), 0x12AB);
    assert_int_equal(dv_le16(out + 2), 0x34AB);
}

static void rle_rgb_is_interleaved(void **state)
{
    static const uint8_t r[] = {0xFF, 1}, gg[] = {0x01, 2, 3}, b[] = {0xFF, 9};
    const uint8_t *segs[] = {r, gg, b};
    size_t lens[] = {sizeof(r), sizeof(gg), sizeof(b)}, n;
    uint8_t frame[128], out[6];
    const uint8_t want[] = {1, 2, 9, 1, 3, 9};
    dcm_codec_geom g = geom(1, 2, 3, 1);
    dv_errinfo ei;

    (void)state;
    n = rle_frame(frame, 3, segs, lens);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, sizeof(out), &ei), DV_OK);
    assert_memory_equal(out, want, sizeof(want));
}

static void rle_trailing_padding_ignored(void **state)
{
    static const uint8_t seg[] = {0xFD, 5, 0x00, 0x00}; /* 4 pixels, then a stray run */
    const uint8_t *segs[] = {seg};
    size_t lens[] = {sizeof(seg)}, n;
    uint8_t frame[128], out[4];
    dcm_codec_geom g = geom(2, 2, 1, 1);
    dv_errinfo ei;

    (void)state;
    n = rle_frame(frame, 1, segs, lens);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, sizeof(out), &ei), DV_OK);
    assert_int_equal(out[0], 5);
    assert_int_equal(out[3], 5);
}

static void rle_errors(void **state)
{
    static const uint8_t seg[] = {0xFD, 5};
    const uint8_t *segs[] = {seg, seg};
    size_t lens[] = {sizeof(seg), sizeof(seg)}, n;
    uint8_t frame[128], out[4];
    dcm_codec_geom g = geom(2, 2, 1, 1);
    dv_errinfo ei;

    (void)state;
    n = rle_frame(frame, 1, segs, lens);
    /* segment count 0 and > 15 */
    dv_put_le32(frame, 0);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, 4, &ei), DV_ECODEC);
    dv_put_le32(frame, 16);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, 4, &ei), DV_ECODEC);
    /* two segments where 8-bit grey needs one */
    n = rle_frame(frame, 2, segs, lens);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, 4, &ei), DV_ECODEC);
    /* offset past the end, offset inside the header, first offset not 64 */
    n = rle_frame(frame, 1, segs, lens);
    dv_put_le32(frame + 4, (uint32_t)n);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, 4, &ei), DV_ECODEC);
    dv_put_le32(frame + 4, 60);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, 4, &ei), DV_ECODEC);
    /* header shorter than 64 bytes */
    assert_int_equal(dcm_codec_rle(frame, 40, &g, out, 4, &ei), DV_ECODEC);
    /* output buffer of the wrong size */
    n = rle_frame(frame, 1, segs, lens);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, 3, &ei), DV_EINVAL);
}

static void rle_truncated(void **state)
{
    static const uint8_t short_seg[] = {0xFE, 5};        /* 3 of 4 pixels */
    static const uint8_t cut_lit[] = {0x03, 1, 2};       /* literal of 4 with 2 bytes */
    static const uint8_t cut_rep[] = {0x01, 1, 2, 0xFE}; /* replicate without its byte */
    const uint8_t *segs[1];
    size_t lens[1], n;
    uint8_t frame[128], out[4];
    dcm_codec_geom g = geom(2, 2, 1, 1);
    dv_errinfo ei;

    (void)state;
    segs[0] = short_seg;
    lens[0] = sizeof(short_seg);
    n = rle_frame(frame, 1, segs, lens);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, 4, &ei), DV_ECODEC);
    segs[0] = cut_lit;
    lens[0] = sizeof(cut_lit);
    n = rle_frame(frame, 1, segs, lens);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, 4, &ei), DV_ECODEC);
    segs[0] = cut_rep;
    lens[0] = sizeof(cut_rep);
    n = rle_frame(frame, 1, segs, lens);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, 4, &ei), DV_ECODEC);
}

static void rle_segments_out_of_order(void **state)
{
    static const uint8_t seg[] = {0xFD, 5};
    const uint8_t *segs[] = {seg, seg};
    size_t lens[] = {sizeof(seg), sizeof(seg)}, n;
    uint8_t frame[128], out[8];
    dcm_codec_geom g = geom(2, 2, 1, 2);
    dv_errinfo ei;

    (void)state;
    n = rle_frame(frame, 2, segs, lens);
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, 8, &ei), DV_OK);
    dv_put_le32(frame + 8, 63); /* second offset before the first */
    assert_int_equal(dcm_codec_rle(frame, n, &g, out, 8, &ei), DV_ECODEC);
}

/* ---- lossless JPEG (hand-made streams) --------------------------------------------------- */

static uint8_t *encode_jpeg(uint32_t w, uint32_t h, int comps, int restart, unsigned long *len);

/* 2x2, P bits, one component, Huffman table {0:'0', 1:'10', 2:'110'}, predictor sel, point
 * transform pt.  Unshifted samples 2^(P-pt-1) + {0, 2, -1, ...}: diffs 0, +2, -1, 0. */
static size_t ll_stream(uint8_t *s, unsigned p, unsigned sel, unsigned pt, int restart)
{
    /* DHT: class 0 table 0; BITS = one code each of lengths 1, 2, 3; HUFFVAL = 0, 1, 2 */
    static const uint8_t dht[] = {0xFF, 0xC4, 0x00, 0x16, 0x00, /* */
                                  1,    1,    1,    0,    0,    0, 0, 0, 0, 0,
                                  0,    0,    0,    0,    0,    0, 0, 1, 2};
    size_t n = 0;
    const uint8_t sof[] = {0xFF, 0xD8, 0xFF, 0xC3, 0x00, 0x0B, (uint8_t)p, 0,
                           2,    0,    2,    1,    1,    0x11, 0};
    const uint8_t sos[] = {0xFF, 0xDA, 0x00, 0x08, 1, 1, 0x00, (uint8_t)sel, 0, (uint8_t)pt};
    const uint8_t dri[] = {0xFF, 0xDD, 0x00, 0x04, 0x00, 0x02};

    memcpy(s + n, sof, sizeof(sof));
    n += sizeof(sof);
    memcpy(s + n, dht, sizeof(dht));
    n += sizeof(dht);
    if (restart) {
        memcpy(s + n, dri, sizeof(dri));
        n += sizeof(dri);
    }
    memcpy(s + n, sos, sizeof(sos));
    n += sizeof(sos);
    if (!restart) {
        /* 0 | 110 10 | 10 0 | 0 -> 0110101000, padded with ones */
        s[n++] = 0x6A;
        s[n++] = 0x3F;
    } else {
        /* row 0: 0 | 110 10, pad; RST0; row 1 restarts the prediction: 10 0 | 0, pad */
        s[n++] = 0x6B;
        s[n++] = 0xFF;
        s[n++] = 0xD0;
        s[n++] = 0x8F;
    }
    s[n++] = 0xFF;
    s[n++] = 0xD9;
    return n;
}

static void jpegll_predictor1_8bit(void **state)
{
    uint8_t s[128], out[4];
    const uint8_t want[] = {128, 130, 127, 127};
    dcm_codec_geom g = geom(2, 2, 1, 1);
    dv_errinfo ei;
    size_t n = ll_stream(s, 8, 1, 0, 0);

    (void)state;
    assert_int_equal(dcm_codec_jpegll(s, n, &g, out, 4, &ei), DV_OK);
    assert_memory_equal(out, want, 4);
}

static void jpegll_predictor7_point_transform_12bit(void **state)
{
    /* P=12, Pt=2: first prediction 512; (1,1) predicted (511 + 514) / 2 = 512 */
    uint8_t s[128], out[8];
    dcm_codec_geom g = geom(2, 2, 1, 2);
    dv_errinfo ei;
    size_t n = ll_stream(s, 12, 7, 2, 0);

    (void)state;
    assert_int_equal(dcm_codec_jpegll(s, n, &g, out, 8, &ei), DV_OK);
    assert_int_equal(dv_le16(out), 512 << 2);
    assert_int_equal(dv_le16(out + 2), 514 << 2);
    assert_int_equal(dv_le16(out + 4), 511 << 2);
    assert_int_equal(dv_le16(out + 6), 512 << 2);
}

static void jpegll_restart_interval(void **state)
{
    uint8_t s[128], out[4];
    const uint8_t want[] = {128, 130, 127, 127};
    dcm_codec_geom g = geom(2, 2, 1, 1);
    dv_errinfo ei;
    size_t n = ll_stream(s, 8, 1, 0, 1);

    (void)state;
    assert_int_equal(dcm_codec_jpegll(s, n, &g, out, 4, &ei), DV_OK);
    assert_memory_equal(out, want, 4);
    /* any-JPEG dispatch reaches the lossless decoder too */
    {
        int rgb = 1;

        assert_int_equal(dcm_codec_jpeg_any(s, n, &g, out, 4, &rgb, &ei), DV_OK);
        assert_int_equal(rgb, 0);
        assert_memory_equal(out, want, 4);
    }
}

static void jpeg_missing_eoi_tolerated(void **state)
{
    /* some encoders end the stream right after the last scan: every pixel is there */
    uint8_t s[128], out[4];
    const uint8_t want[] = {128, 130, 127, 127};
    dcm_codec_geom g = geom(2, 2, 1, 1);
    dv_errinfo ei;
    size_t n = ll_stream(s, 8, 1, 0, 0);
    unsigned long len = 0;
    uint8_t *jpg = encode_jpeg(16, 16, 1, 0, &len), a[256], b[256];
    int rgb;

    (void)state;
    assert_int_equal(dcm_codec_jpegll(s, n - 2, &g, out, 4, &ei), DV_OK);
    assert_memory_equal(out, want, 4);
    g = geom(16, 16, 1, 1);
    assert_int_equal(jpg[len - 2], 0xFF);
    assert_int_equal(jpg[len - 1], 0xD9);
    assert_int_equal(dcm_codec_jpeg8(jpg, len, &g, a, 256, &rgb, &ei), DV_OK);
    assert_int_equal(dcm_codec_jpeg8(jpg, len - 2, &g, b, 256, &rgb, &ei), DV_OK);
    assert_memory_equal(a, b, 256);
    assert_int_equal(dcm_codec_jpeg12(jpg, len - 2, &g, b, 256, &ei), DV_OK);
    assert_memory_equal(a, b, 256);
    free(jpg);
}

static void jpegll_errors(void **state)
{
    uint8_t s[128], t[128], out[8];
    dcm_codec_geom g = geom(2, 2, 1, 1);
    dv_errinfo ei;
    size_t n = ll_stream(s, 8, 1, 0, 0), sos;

    (void)state;
    /* truncated: the entropy-coded data and EOI cut off */
    assert_int_equal(dcm_codec_jpegll(s, n - 4, &g, out, 4, &ei), DV_ECODEC);
    /* truncated inside the header */
    assert_int_equal(dcm_codec_jpegll(s, 20, &g, out, 4, &ei), DV_ECODEC);
    /* restart marker missing */
    n = ll_stream(s, 8, 1, 0, 1);
    memcpy(t, s, n);
    t[n - 4] = 0xD3; /* RST3 instead of RST0 */
    assert_int_equal(dcm_codec_jpegll(t, n, &g, out, 4, &ei), DV_ECODEC);
    n = ll_stream(s, 8, 1, 0, 0);
    /* geometry mismatch: rows, samples, precision wider than the output */
    g.rows = 3;
    assert_int_equal(dcm_codec_jpegll(s, n, &g, out, 6, &ei), DV_ECODEC);
    g = geom(2, 2, 3, 1); /* 12 bytes needed: an 8-byte buffer is the caller's mistake */
    assert_int_equal(dcm_codec_jpegll(s, n, &g, out, 8, &ei), DV_EINVAL);
    g = geom(1, 2, 3, 1);
    assert_int_equal(dcm_codec_jpegll(s, n, &g, out, 6, &ei), DV_ECODEC);
    g = geom(2, 2, 1, 1);
    n = ll_stream(s, 12, 1, 0, 0);
    assert_int_equal(dcm_codec_jpegll(s, n, &g, out, 4, &ei), DV_ECODEC);
    /* predictor 0 and point transform >= precision */
    n = ll_stream(s, 8, 0, 0, 0);
    assert_int_equal(dcm_codec_jpegll(s, n, &g, out, 4, &ei), DV_ECODEC);
    n = ll_stream(s, 8, 1, 8, 0);
    assert_int_equal(dcm_codec_jpegll(s, n, &g, out, 4, &ei), DV_ECODEC);
    /* a scan using Huffman table 1, which is not defined */
    n = ll_stream(s, 8, 1, 0, 0);
    sos = n - 2 - 2 - 10;
    assert_int_equal(s[sos + 1], 0xDA);
    s[sos + 6] = 0x10;
    assert_int_equal(dcm_codec_jpegll(s, n, &g, out, 4, &ei), DV_ECODEC);
    /* a code that is not in the table: 111... */
    n = ll_stream(s, 8, 1, 0, 0);
    s[n - 4] = 0xEF;
    assert_int_equal(dcm_codec_jpegll(s, n, &g, out, 4, &ei), DV_ECODEC);
    /* no SOI */
    n = ll_stream(s, 8, 1, 0, 0);
    assert_int_equal(dcm_codec_jpegll(s + 2, n - 2, &g, out, 4, &ei), DV_ECODEC);
    /* arithmetic coding (SOF11) is reported as unsupported */
    s[3] = 0xCB;
    assert_int_equal(dcm_codec_jpegll(s, n, &g, out, 4, &ei), DV_EUNSUPPORTED);
}

/* ---- DCT: own decoder vs libjpeg-turbo ---------------------------------------------------- */

/* Encodes a w x h test pattern with libjpeg-turbo (8-bit, 1 or 3 components, 1x1 sampling,
 * no colour transform) into a malloc'd buffer. */
static uint8_t *encode_jpeg(uint32_t w, uint32_t h, int comps, int restart, unsigned long *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *mem = NULL;
    JSAMPLE *row = malloc((size_t)w * comps);
    uint32_t x, y;
    int k;

    assert_non_null(row);
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, len);
    c.image_width = w;
    c.image_height = h;
    c.input_components = comps;
    c.in_color_space = comps == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    if (comps == 3) {
        jpeg_set_colorspace(&c, JCS_RGB);
        for (k = 0; k < 3; k++)
            c.comp_info[k].h_samp_factor = c.comp_info[k].v_samp_factor = 1;
    }
    jpeg_set_quality(&c, 75, TRUE);
    c.restart_interval = (unsigned)restart;
    jpeg_start_compress(&c, TRUE);
    for (y = 0; y < h; y++) {
        for (x = 0; x < w * (uint32_t)comps; x++)
            row[x] = (JSAMPLE)((x * 7 + y * 3 + ((x * y) % 29) * 5) & 0xFF);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return mem;
}

static void dct_matches_libjpeg(uint32_t w, uint32_t h, int comps, int restart)
{
    unsigned long len = 0;
    uint8_t *jpg = encode_jpeg(w, h, comps, restart, &len);
    dcm_codec_geom g = geom(h, w, (uint32_t)comps, 1);
    size_t n = dcm_codec_frame_bytes(&g);
    uint8_t *a = malloc(n), *b = malloc(n), *c = malloc(2 * n);
    dv_errinfo ei;
    size_t i;
    int rgb = 1;

    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(dcm_codec_jpeg8(jpg, len, &g, a, n, &rgb, &ei), DV_OK);
    assert_int_equal(rgb, 0);
    assert_int_equal(dcm_codec_jpeg12(jpg, len, &g, b, n, &ei), DV_OK);
    assert_memory_equal(a, b, n);
    /* 8-bit data in a 16-bit allocation is widened */
    g.bytes = 2;
    assert_int_equal(dcm_codec_jpeg8(jpg, len, &g, c, 2 * n, &rgb, &ei), DV_OK);
    for (i = 0; i < n; i++)
        assert_int_equal(dv_le16(c + 2 * i), a[i]);
    free(a);
    free(b);
    free(c);
    free(jpg);
}

static void dct_own_equals_libjpeg_gray(void **state)
{
    (void)state;
    dct_matches_libjpeg(37, 21, 1, 0);
    dct_matches_libjpeg(64, 64, 1, 3); /* restart every 3 MCUs */
}

static void dct_own_equals_libjpeg_rgb(void **state)
{
    (void)state;
    dct_matches_libjpeg(19, 10, 3, 0);
}

static void dct_errors(void **state)
{
    unsigned long len = 0;
    uint8_t *jpg = encode_jpeg(16, 16, 1, 0, &len), out[256 * 2];
    dcm_codec_geom g = geom(16, 16, 1, 1);
    dv_errinfo ei;
    int rgb;

    (void)state;
    /* truncated stream: both decoders refuse (libjpeg would fill grey) */
    assert_int_equal(dcm_codec_jpeg8(jpg, len / 2, &g, out, 256, &rgb, &ei), DV_ECODEC);
    assert_int_equal(dcm_codec_jpeg12(jpg, len / 2, &g, out, 256, &ei), DV_ECODEC);
    assert_int_equal(dcm_codec_jpeg_any(jpg, 30, &g, out, 256, &rgb, &ei), DV_ECODEC);
    /* geometry mismatch */
    g = geom(16, 8, 1, 2);
    assert_int_equal(dcm_codec_jpeg8(jpg, len, &g, out, 256, &rgb, &ei), DV_ECODEC);
    assert_int_equal(dcm_codec_jpeg12(jpg, len, &g, out, 256, &ei), DV_ECODEC);
    g = geom(16, 16, 3, 1); /* 768 bytes needed */
    assert_int_equal(dcm_codec_jpeg8(jpg, len, &g, out, 512, &rgb, &ei), DV_EINVAL);
    g = geom(8, 8, 3, 1);
    assert_int_equal(dcm_codec_jpeg8(jpg, len, &g, out, 192, &rgb, &ei), DV_ECODEC);
    /* not a JPEG at all */
    g = geom(16, 16, 1, 1);
    memset(out, 0x5A, 64);
    assert_int_equal(dcm_codec_jpeg8(out, 64, &g, out + 64, 256, &rgb, &ei), DV_ECODEC);
    assert_int_equal(dcm_codec_jpeg_any(out, 64, &g, out + 64, 256, &rgb, &ei), DV_ECODEC);
    free(jpg);
}

/* ---- JPEG-LS round trip through CharLS ---------------------------------------------------- */

static uint8_t *encode_jls(const void *pix, size_t pixlen, uint32_t w, uint32_t h, int bits,
                           int comps, charls_interleave_mode mode, size_t *len)
{
    charls_jpegls_encoder *e = charls_jpegls_encoder_create();
    charls_frame_info fi = {w, h, bits, comps};
    size_t cap = 0;
    uint8_t *buf;

    assert_non_null(e);
    assert_int_equal(charls_jpegls_encoder_set_frame_info(e, &fi), 0);
    assert_int_equal(charls_jpegls_encoder_set_interleave_mode(e, mode), 0);
    assert_int_equal(charls_jpegls_encoder_get_estimated_destination_size(e, &cap), 0);
    buf = malloc(cap);
    assert_non_null(buf);
    assert_int_equal(charls_jpegls_encoder_set_destination_buffer(e, buf, cap), 0);
    assert_int_equal(charls_jpegls_encoder_encode_from_buffer(e, pix, pixlen, 0), 0);
    assert_int_equal(charls_jpegls_encoder_get_bytes_written(e, len), 0);
    charls_jpegls_encoder_destroy(e);
    return buf;
}

static void jls_roundtrip(void **state)
{
    uint16_t px16[6 * 5];
    uint8_t planes[3 * 4 * 3], out16[sizeof(px16)], out8[sizeof(planes)];
    dcm_codec_geom g = geom(5, 6, 1, 2);
    dv_errinfo ei;
    size_t len, i;
    uint8_t *s;

    (void)state;
    for (i = 0; i < 30; i++)
        px16[i] = (uint16_t)((i * 2017u) & 0xFFF);
    s = encode_jls(px16, sizeof(px16), 6, 5, 12, 1, CHARLS_INTERLEAVE_MODE_NONE, &len);
    assert_int_equal(dcm_codec_jls(s, len, &g, out16, sizeof(out16), &ei), DV_OK);
    for (i = 0; i < 30; i++)
        assert_int_equal(dv_le16(out16 + 2 * i), px16[i]);
    /* truncated, and a size mismatch */
    assert_int_equal(dcm_codec_jls(s, len / 2, &g, out16, sizeof(out16), &ei), DV_ECODEC);
    g = geom(6, 5, 1, 2);
    assert_int_equal(dcm_codec_jls(s, len, &g, out16, sizeof(out16), &ei), DV_ECODEC);
    g = geom(5, 6, 1, 1);
    assert_int_equal(dcm_codec_jls(s, len, &g, out16, 30, &ei), DV_ECODEC); /* 12 bits > 8 */
    free(s);
    /* three components coded plane by plane come out colour by pixel */
    for (i = 0; i < sizeof(planes); i++)
        planes[i] = (uint8_t)(i * 13);
    s = encode_jls(planes, sizeof(planes), 4, 3, 8, 3, CHARLS_INTERLEAVE_MODE_NONE, &len);
    g = geom(3, 4, 3, 1);
    assert_int_equal(dcm_codec_jls(s, len, &g, out8, sizeof(out8), &ei), DV_OK);
    for (i = 0; i < 12; i++) {
        assert_int_equal(out8[3 * i], planes[i]);
        assert_int_equal(out8[3 * i + 1], planes[12 + i]);
        assert_int_equal(out8[3 * i + 2], planes[24 + i]);
    }
    g = geom(3, 4, 1, 1);
    assert_int_equal(dcm_codec_jls(s, len, &g, out8, 12, &ei), DV_ECODEC);
    free(s);
}

/* ---- JPEG 2000 error paths (decoding is checked against opj_decompress in test_pixels.sh) -- */

static void j2k_errors(void **state)
{
    /* SOC + a SIZ marker segment cut short */
    static const uint8_t cut[] = {0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00, 0x00, 0x00};
    uint8_t junk[64], out[16];
    dcm_codec_geom g = geom(4, 4, 1, 1);
    dv_errinfo ei;

    (void)state;
    memset(junk, 0xA5, sizeof(junk));
    assert_int_equal(dcm_codec_j2k(junk, sizeof(junk), &g, out, 16, &ei), DV_ECODEC);
    assert_int_equal(dcm_codec_j2k(cut, sizeof(cut), &g, out, 16, &ei), DV_ECODEC);
    assert_int_equal(dcm_codec_j2k(cut, 1, &g, out, 16, &ei), DV_ECODEC);
    assert_int_equal(dcm_codec_j2k(cut, sizeof(cut), &g, out, 15, &ei), DV_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rle_literal_and_replicate),
        cmocka_unit_test(rle_16bit_is_little_endian),
        cmocka_unit_test(rle_rgb_is_interleaved),
        cmocka_unit_test(rle_trailing_padding_ignored),
        cmocka_unit_test(rle_errors),
        cmocka_unit_test(rle_truncated),
        cmocka_unit_test(rle_segments_out_of_order),
        cmocka_unit_test(jpegll_predictor1_8bit),
        cmocka_unit_test(jpegll_predictor7_point_transform_12bit),
        cmocka_unit_test(jpegll_restart_interval),
        cmocka_unit_test(jpegll_errors),
        cmocka_unit_test(jpeg_missing_eoi_tolerated),
        cmocka_unit_test(dct_own_equals_libjpeg_gray),
        cmocka_unit_test(dct_own_equals_libjpeg_rgb),
        cmocka_unit_test(dct_errors),
        cmocka_unit_test(jls_roundtrip),
        cmocka_unit_test(j2k_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
