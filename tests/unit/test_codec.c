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

typedef struct seg {
    const uint8_t *p;
    size_t n;
} seg;

/* Builds an RLE frame: header with nseg offsets, then the segments one after another. */
static size_t rle_frame(uint8_t *out, unsigned nseg, const seg *segs)
{
    size_t at = 64;
    unsigned i;

    memset(out, 0, 64);
    dv_put_le32(out, nseg);
    for (i = 0; i < nseg; i++) {
        dv_put_le32(out + 4 + 4 * i, (uint32_t)at);
        memcpy(out + at, segs[i].p, segs[i].n);
        at += segs[i].n;
    }
    return at;
}

/* The decoded samples: 8-bit ones as bytes, 16-bit ones little endian. */
static void assert_samples(const uint8_t *out, uint32_t bytes, const uint16_t *px, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        assert_int_equal(bytes == 2 ? dv_le16(out + 2 * i) : out[i], px[i]);
}

#define RLE_END UINT32_MAX /* a patched header word: the frame's length */

typedef struct rle_case {
    const char *what;
    unsigned nseg;
    seg segs[3];
    uint32_t rows, cols, samples, bytes;
    size_t cap;     /* output bytes the decoder is given */
    int patch_at;   /* a header word (le32) overwritten at this offset; -1: none */
    uint32_t patch; /* its value (RLE_END: the frame's length) */
    size_t cut;     /* the decoder gets only this many bytes; 0: the whole frame */
    dv_err want;
    uint16_t px[6]; /* with DV_OK: the first npx samples expected */
    size_t npx;
} rle_case;

static const uint8_t SEG_LIT_REP[] = {0x02, 10, 20, 30, 0x80, 0xFE, 77};
static const uint8_t SEG_HI[] = {0x01, 0x12, 0x34}, SEG_LO[] = {0xFF, 0xAB};
static const uint8_t SEG_R[] = {0xFF, 1}, SEG_G[] = {0x01, 2, 3}, SEG_B[] = {0xFF, 9};
static const uint8_t SEG_PAD[] = {0xFD, 5, 0x00, 0x00};  /* 4 pixels, then a stray run */
static const uint8_t SEG_4[] = {0xFD, 5};                /* 4 pixels */
static const uint8_t SEG_SHORT[] = {0xFE, 5};            /* 3 of 4 pixels */
static const uint8_t SEG_CUT_LIT[] = {0x03, 1, 2};       /* literal of 4 with 2 bytes */
static const uint8_t SEG_CUT_REP[] = {0x01, 1, 2, 0xFE}; /* replicate without its byte */

/* clang-format off */
#define S(a) {(a), sizeof(a)}

static const rle_case RLE[] = {
    /* 2x3 pixels: literal run of 3 (n=2), no-op byte -128, replicate 3 times (n=-2) */
    {"literal and replicate", 1, {S(SEG_LIT_REP)}, 2, 3, 1, 1, 6, -1, 0, 0,
     DV_OK, {10, 20, 30, 77, 77, 77}, 6},
    {"16 bits: segment 0 holds the high bytes, segment 1 the low bytes", 2, {S(SEG_HI), S(SEG_LO)},
     1, 2, 1, 2, 4, -1, 0, 0, DV_OK, {0x12AB, 0x34AB}, 2},
    {"RGB comes out interleaved", 3, {S(SEG_R), S(SEG_G), S(SEG_B)}, 1, 2, 3, 1, 6, -1, 0, 0,
     DV_OK, {1, 2, 9, 1, 3, 9}, 6},
    {"trailing padding ignored", 1, {S(SEG_PAD)}, 2, 2, 1, 1, 4, -1, 0, 0, DV_OK, {5, 5, 5, 5}, 4},
    {"segment count 0", 1, {S(SEG_4)}, 2, 2, 1, 1, 4, 0, 0, 0, DV_ECODEC, {0}, 0},
    {"segment count 16", 1, {S(SEG_4)}, 2, 2, 1, 1, 4, 0, 16, 0, DV_ECODEC, {0}, 0},
    {"two segments where 8-bit grey needs one", 2, {S(SEG_4), S(SEG_4)}, 2, 2, 1, 1, 4, -1, 0, 0,
     DV_ECODEC, {0}, 0},
    {"offset past the end", 1, {S(SEG_4)}, 2, 2, 1, 1, 4, 4, RLE_END, 0, DV_ECODEC, {0}, 0},
    {"offset inside the header, first offset not 64", 1, {S(SEG_4)}, 2, 2, 1, 1, 4, 4, 60, 0,
     DV_ECODEC, {0}, 0},
    /* cut at 40 bytes, its offset still 60 as in the case before */
    {"header shorter than 64 bytes", 1, {S(SEG_4)}, 2, 2, 1, 1, 4, 4, 60, 40, DV_ECODEC, {0}, 0},
    {"output buffer of the wrong size", 1, {S(SEG_4)}, 2, 2, 1, 1, 3, -1, 0, 0, DV_EINVAL, {0}, 0},
    {"segment short of pixels", 1, {S(SEG_SHORT)}, 2, 2, 1, 1, 4, -1, 0, 0, DV_ECODEC, {0}, 0},
    {"literal cut short", 1, {S(SEG_CUT_LIT)}, 2, 2, 1, 1, 4, -1, 0, 0, DV_ECODEC, {0}, 0},
    {"replicate without its byte", 1, {S(SEG_CUT_REP)}, 2, 2, 1, 1, 4, -1, 0, 0, DV_ECODEC, {0}, 0},
    {"two 16-bit segments in order", 2, {S(SEG_4), S(SEG_4)}, 2, 2, 1, 2, 8, -1, 0, 0,
     DV_OK, {0}, 0},
    {"second offset before the first", 2, {S(SEG_4), S(SEG_4)}, 2, 2, 1, 2, 8, 8, 63, 0,
     DV_ECODEC, {0}, 0},
};
/* clang-format on */

static void rle_cases(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(RLE) / sizeof(RLE[0]); i++) {
        const rle_case *c = &RLE[i];
        uint8_t frame[128], out[8];
        dcm_codec_geom g = geom(c->rows, c->cols, c->samples, c->bytes);
        dv_errinfo ei;

        size_t n = rle_frame(frame, c->nseg, c->segs);

        print_message("# %s\n", c->what);
        if (c->patch_at >= 0)
            dv_put_le32(frame + c->patch_at, c->patch == RLE_END ? (uint32_t)n : c->patch);
        assert_true(c->cap <= sizeof(out));
        assert_int_equal(dcm_codec_rle(frame, c->cut ? c->cut : n, &g, out, c->cap, &ei), c->want);
        assert_samples(out, c->bytes, c->px, c->npx);
    }
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

typedef struct ll_case {
    const char *what;
    unsigned p, sel, pt; /* precision, predictor, point transform (ll_stream) */
    int restart;
    uint32_t bytes;
    uint16_t px[4]; /* the 2x2 samples expected */
    int any;        /* also through dcm_codec_jpeg_any */
} ll_case;

/* clang-format off */
static const ll_case LL[] = {
    {"predictor 1, 8 bits", 8, 1, 0, 0, 1, {128, 130, 127, 127}, 0},
    /* P=12, Pt=2: first prediction 512; (1,1) predicted (511 + 514) / 2 = 512 */
    {"predictor 7, point transform 2, 12 bits", 12, 7, 2, 0, 2,
     {512 << 2, 514 << 2, 511 << 2, 512 << 2}, 0},
    /* any-JPEG dispatch reaches the lossless decoder too */
    {"restart interval", 8, 1, 0, 1, 1, {128, 130, 127, 127}, 1},
};
/* clang-format on */

static void jpegll_cases(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(LL) / sizeof(LL[0]); i++) {
        const ll_case *c = &LL[i];
        uint8_t s[128], out[8];
        dcm_codec_geom g = geom(2, 2, 1, c->bytes);
        dv_errinfo ei;
        size_t n = ll_stream(s, c->p, c->sel, c->pt, c->restart);
        int rgb = 1;

        print_message("# %s\n", c->what);
        assert_int_equal(dcm_codec_jpegll(s, n, &g, out, 4 * c->bytes, &ei), DV_OK);
        assert_samples(out, c->bytes, c->px, 4);
        if (!c->any)
            continue;
        assert_int_equal(dcm_codec_jpeg_any(s, n, &g, out, 4 * c->bytes, &rgb, &ei), DV_OK);
        assert_int_equal(rgb, 0);
        assert_samples(out, c->bytes, c->px, 4);
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

/* ---- JPEG frames smaller than Rows x Columns (dcm_codec_jpeg_any) ------------------------- */

/* Offset of the SOF segment's 0xFF in a stream of our own making. */
static size_t sof_offset(const uint8_t *s, size_t len)
{
    size_t i;

    for (i = 0; i + 1 < len; i++)
        if (s[i] == 0xFF && (s[i + 1] == 0xC0 || s[i + 1] == 0xC1 || s[i + 1] == 0xC3))
            return i;
    fail_msg("no SOF");
    return 0;
}

/* Decodes stream s (w x h) through dcm_codec_jpeg_any into a rows x cols frame: the first
 * w*h pixels equal the exact-size decode (the stream's own lines one after another, as DCMTK
 * lays them out), every later byte is zero even where the buffer held something else. */
static void short_frame_case(const uint8_t *s, size_t len, uint32_t w, uint32_t h, uint32_t rows,
                             uint32_t cols, uint32_t comps, uint32_t bytes)
{
    dcm_codec_geom exact = geom(h, w, comps, bytes), big = geom(rows, cols, comps, bytes);
    size_t ne = dcm_codec_frame_bytes(&exact), nb = dcm_codec_frame_bytes(&big), i;
    uint8_t *ref = malloc(ne), *out = malloc(nb);
    dv_errinfo ei;
    int rgb = 1;

    assert_non_null(ref);
    assert_non_null(out);
    assert_true(ne < nb);
    assert_int_equal(dcm_codec_jpeg_any(s, len, &exact, ref, ne, &rgb, &ei), DV_OK);
    memset(out, 0xA5, nb);
    assert_int_equal(dcm_codec_jpeg_any(s, len, &big, out, nb, &rgb, &ei), DV_OK);
    assert_int_equal(rgb, 0);
    assert_memory_equal(out, ref, ne);
    for (i = ne; i < nb; i++)
        assert_int_equal(out[i], 0);
    free(ref);
    free(out);
}

static void jpeg_short_frame_padded(void **state)
{
    unsigned long len = 0, len3 = 0;
    uint8_t *jpg = encode_jpeg(13, 9, 1, 0, &len), *rgbjpg = encode_jpeg(7, 5, 3, 0, &len3);
    uint8_t ll[128];
    size_t n;

    (void)state;
    short_frame_case(jpg, len, 13, 9, 9, 13 + 4, 1, 1); /* fewer columns */
    short_frame_case(jpg, len, 13, 9, 9 + 6, 13, 1, 1); /* fewer rows */
    short_frame_case(jpg, len, 13, 9, 16, 20, 1, 1);    /* both */
    short_frame_case(jpg, len, 13, 9, 16, 20, 1, 2);    /* widened to 16 bits */
    short_frame_case(rgbjpg, len3, 7, 5, 8, 8, 3, 1);   /* colour */
    n = ll_stream(ll, 8, 1, 0, 0);                      /* lossless, 2 x 2 */
    short_frame_case(ll, n, 2, 2, 3, 5, 1, 1);
    n = ll_stream(ll, 12, 7, 2, 0);
    short_frame_case(ll, n, 2, 2, 4, 2, 1, 2);
    /* the same DCT stream declared 12-bit goes to the own 12-bit decoder */
    jpg[sof_offset(jpg, len) + 4] = 12;
    short_frame_case(jpg, len, 13, 9, 10, 14, 1, 2);
    free(jpg);
    free(rgbjpg);
}

static void jpeg_short_frame_errors(void **state)
{
    unsigned long len = 0, len3 = 0;
    uint8_t *jpg = encode_jpeg(16, 8, 1, 0, &len), *rgbjpg = encode_jpeg(8, 8, 3, 0, &len3);
    uint8_t out[32 * 32 * 3], ll[128];
    dcm_codec_geom g;
    dv_errinfo ei;
    size_t n;
    int rgb;

    (void)state;
    /* larger than Rows x Columns in either direction: refused, the message says which */
    g = geom(32, 15, 1, 1);
    assert_int_equal(dcm_codec_jpeg_any(jpg, len, &g, out, 32 * 15, &rgb, &ei), DV_ECODEC);
    assert_non_null(strstr(ei.msg, "wider than Columns"));
    g = geom(7, 32, 1, 1);
    assert_int_equal(dcm_codec_jpeg_any(jpg, len, &g, out, 7 * 32, &rgb, &ei), DV_ECODEC);
    assert_non_null(strstr(ei.msg, "taller than Rows"));
    n = ll_stream(ll, 8, 1, 0, 0);
    g = geom(1, 4, 1, 1);
    assert_int_equal(dcm_codec_jpeg_any(ll, n, &g, out, 4, &rgb, &ei), DV_ECODEC);
    /* smaller but with another component count: refused either way round */
    g = geom(32, 32, 3, 1);
    assert_int_equal(dcm_codec_jpeg_any(jpg, len, &g, out, 32 * 32 * 3, &rgb, &ei), DV_ECODEC);
    assert_non_null(strstr(ei.msg, "component count"));
    g = geom(32, 32, 1, 1);
    assert_int_equal(dcm_codec_jpeg_any(rgbjpg, len3, &g, out, 32 * 32, &rgb, &ei), DV_ECODEC);
    assert_non_null(strstr(ei.msg, "component count"));
    g = geom(4, 4, 3, 1);
    assert_int_equal(dcm_codec_jpeg_any(ll, n, &g, out, 48, &rgb, &ei), DV_ECODEC);
    /* smaller but more precise than the samples can hold: 12-bit lossless into 8 bits */
    n = ll_stream(ll, 12, 1, 0, 0);
    g = geom(4, 4, 1, 1);
    assert_int_equal(dcm_codec_jpeg_any(ll, n, &g, out, 16, &rgb, &ei), DV_ECODEC);
    /* the output must still be the size of the whole frame */
    g = geom(32, 32, 1, 1);
    assert_int_equal(dcm_codec_jpeg_any(jpg, len, &g, out, 16 * 8, &rgb, &ei), DV_EINVAL);
    free(jpg);
    free(rgbjpg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rle_cases),
        cmocka_unit_test(jpegll_cases),
        cmocka_unit_test(jpegll_errors),
        cmocka_unit_test(jpeg_missing_eoi_tolerated),
        cmocka_unit_test(dct_own_equals_libjpeg_gray),
        cmocka_unit_test(dct_own_equals_libjpeg_rgb),
        cmocka_unit_test(dct_errors),
        cmocka_unit_test(jls_roundtrip),
        cmocka_unit_test(j2k_errors),
        cmocka_unit_test(jpeg_short_frame_padded),
        cmocka_unit_test(jpeg_short_frame_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
