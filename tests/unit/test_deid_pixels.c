/* SPDX-License-Identifier: Apache-2.0 */
/* test_deid_pixels.c - burned-in text redaction (src/deid/pixels.h): the rule file parser and
 * its limits, rule regions filled in every pixel layout (8/16/32/1-bit, signed, MONOCHROME1,
 * RGB by pixel and by plane, multi-frame), RLE re-encoding and compressed-to-native output, and
 * OCR redaction of synthetic radiographs (src/demo/synth.h) with names in Latin and Chinese,
 * IDs and dates at varied sizes, positions and polarities.
 *
 * The OCR checks compare with the same radiograph generated without text (same seed, so the
 * same anatomy and noise): every pixel the text changed must lie in a filled box, every pixel
 * outside the filled boxes must be byte-identical to the input, and OCR of the output must
 * not find the strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "deid/pixels.h"
#include "deid/pixels_int.h"
#include "demo/synth.h"
#include "dicom/codec.h"
#include "dicom/dicom.h"
#include "dicom/pixel.h"

#include "common/banned.h"

#define TAG_MANUFACTURER DCM_TAG(0x0008, 0x0070)
#define TAG_MODEL        DCM_TAG(0x0008, 0x1090)
#define TAG_SOP_CLASS    DCM_TAG(0x0008, 0x0016)
#define TAG_BURNED_IN    DCM_TAG(0x0028, 0x0301)
#define REPO_RULES       "data/deid/pixel-rules.tsv"

/* ---- rule parser -------------------------------------------------------------------------- */

static void rules_parse_ok(void **state)
{
    static const char txt[] = "# comment\n"
                              "\n"
                              "GE*\tLOGIQ ?\t512\t*\t0,0,10,20;5,6,7,8\r\n"
                              "   # indented comment\n"
                              "*\t*\t*\t*\t1,2,3,4";
    deid_rules r;
    dv_errinfo ei;

    (void)state;
    assert_int_equal(deid_rules_parse(txt, sizeof(txt) - 1, &r, &ei), DV_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.v[0].manufacturer, "GE*");
    assert_string_equal(r.v[0].model, "LOGIQ ?");
    assert_int_equal(r.v[0].rows, 512);
    assert_int_equal(r.v[0].cols, 0);
    assert_int_equal(r.v[0].nrects, 2);
    assert_int_equal(r.v[0].rects[1].x, 5);
    assert_int_equal(r.v[0].rects[1].h, 8);
    assert_int_equal(r.v[1].rects[0].w, 3);
    deid_rules_release(&r);
}

typedef struct bad_case {
    const char *text;
    dv_err err;
    unsigned line;
} bad_case;

static void rules_parse_errors(void **state)
{
    static const bad_case cases[] = {
        {"a\tb\t1\t1\n", DV_EMALFORMED, 1},
        {"#\na\tb\t1\t1\t0,0,1,1\tx\n", DV_EMALFORMED, 2},
        {"\n\na\tb\tx\t1\t0,0,1,1\n", DV_EMALFORMED, 3},
        {"a\tb\t0\t1\t0,0,1,1\n", DV_EMALFORMED, 1},
        {"a\tb\t65536\t1\t0,0,1,1\n", DV_EMALFORMED, 1},
        {"a\tb\t1\t1\t0,0,1\n", DV_EMALFORMED, 1},
        {"a\tb\t1\t1\t0,0,1,1,\n", DV_EMALFORMED, 1},
        {"a\tb\t1\t1\t0,0,0,1\n", DV_EMALFORMED, 1},
        {"a\tb\t1\t1\t0,0,1,1;\n", DV_EMALFORMED, 1},
        {"a\tb\t1\t1\t-1,0,1,1\n", DV_EMALFORMED, 1},
        {"\tb\t1\t1\t0,0,1,1\n", DV_EMALFORMED, 1},
        {"a\xc3\xa9\tb\t1\t1\t0,0,1,1\n", DV_EMALFORMED, 1},
        {"*\t*\t*\t*\t1,1,1,1\n*\t*\t*\t*\t99999999999,1,1,1\n", DV_EMALFORMED, 2},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        deid_rules r;
        dv_errinfo ei;
        char want[32];

        assert_int_equal(deid_rules_parse(cases[i].text, strlen(cases[i].text), &r, &ei),
                         cases[i].err);
        (void)snprintf(want, sizeof(want), "line %u:", cases[i].line);
        assert_non_null(strstr(ei.msg, want));
        assert_null(r.v);
        assert_int_equal(r.n, 0);
    }
}

static void rules_nul_byte(void **state)
{
    static const char txt[] = "a\tb\t1\t1\t0,0,1,1\na\0b\t1\t1\t0,0,1,1\n";
    deid_rules r;
    dv_errinfo ei;

    (void)state;
    assert_int_equal(deid_rules_parse(txt, sizeof(txt) - 1, &r, &ei), DV_EMALFORMED);
    assert_non_null(strstr(ei.msg, "line 2:"));
}

/* Builds n repetitions of a line into a malloc'd buffer. */
static char *repeat(const char *line, size_t n, size_t *len)
{
    size_t l = strlen(line), i;
    char *p = malloc(l * n + 1);

    assert_non_null(p);
    for (i = 0; i < n; i++)
        memcpy(p + i * l, line, l);
    *len = l * n;
    p[*len] = '\0';
    return p;
}

static void rules_limits(void **state)
{
    char line[2048], pat[80];
    deid_rules r;
    dv_errinfo ei;
    size_t len, i, at;
    char *big;

    (void)state;
    /* 32 rectangles are fine, 33 are not */
    for (at = 0, i = 0; i < 33; i++)
        at += (size_t)snprintf(line + at, sizeof(line) - at, "%s1,1,1,1", i ? ";" : "a\tb\t1\t1\t");
    assert_int_equal(deid_rules_parse(line, at, &r, &ei), DV_ELIMIT);
    assert_non_null(strstr(ei.msg, "line 1:"));
    at -= 8; /* drop ";1,1,1,1" */
    assert_int_equal(deid_rules_parse(line, at, &r, &ei), DV_OK);
    assert_int_equal(r.v[0].nrects, 32);
    deid_rules_release(&r);
    /* patterns: 64 bytes fine, 65 not */
    memset(pat, 'A', 65);
    (void)snprintf(line, sizeof(line), "%.64s\t*\t*\t*\t0,0,1,1\n", pat);
    assert_int_equal(deid_rules_parse(line, strlen(line), &r, &ei), DV_OK);
    deid_rules_release(&r);
    (void)snprintf(line, sizeof(line), "%.65s\t*\t*\t*\t0,0,1,1\n", pat);
    assert_int_equal(deid_rules_parse(line, strlen(line), &r, &ei), DV_ELIMIT);
    /* a line longer than 1024 bytes, even a comment */
    memset(line, '#', 1100);
    line[1100] = '\n';
    assert_int_equal(deid_rules_parse(line, 1101, &r, &ei), DV_ELIMIT);
    /* 4096 rules fine, 4097 not */
    big = repeat("*\t*\t*\t*\t0,0,1,1\n", DEID_RULES_MAX_RULES + 1, &len);
    assert_int_equal(deid_rules_parse(big, len - 16, &r, &ei), DV_OK);
    assert_int_equal(r.n, DEID_RULES_MAX_RULES);
    deid_rules_release(&r);
    assert_int_equal(deid_rules_parse(big, len, &r, &ei), DV_ELIMIT);
    assert_non_null(strstr(ei.msg, "line 4097:"));
    free(big);
    big = repeat("#\n", DEID_RULES_MAX_BYTES / 2 + 1, &len);
    assert_int_equal(deid_rules_parse(big, len, &r, &ei), DV_ELIMIT);
    free(big);
}

static void glob(void **state)
{
    (void)state;
    assert_true(deid_glob_match("*", ""));
    assert_true(deid_glob_match("GE*", "ge medical systems"));
    assert_true(deid_glob_match("*med*", "GE MEDICAL"));
    assert_true(deid_glob_match("a?c", "abc"));
    assert_false(deid_glob_match("a?c", "ac"));
    assert_false(deid_glob_match("abc", "abcd"));
    assert_true(deid_glob_match("*b*b*", "abxxb"));
    assert_false(deid_glob_match("*b*b*", "abxx"));
}

static void repo_rules_load(void **state)
{
    deid_rules r;
    dv_errinfo ei;

    (void)state;
    assert_int_equal(deid_rules_load(REPO_RULES, &r, &ei), DV_OK);
    assert_true(r.n >= 2);
    deid_rules_release(&r);
    assert_int_equal(deid_rules_load("/nonexistent/rules.tsv", &r, &ei), DV_ENOTFOUND);
}

/* ---- rule regions in every layout --------------------------------------------------------- */

typedef struct layout {
    uint32_t rows, cols, samples, ba, bs, pr, planar, frames;
    const char *photo;
} layout;

static void set_us(dcm_file *f, uint32_t tag, uint32_t v)
{
    uint8_t b[2];

    dv_put_le16(b, (uint16_t)v);
    assert_int_equal(dcm_ds_set(f, &f->ds, tag, DCM_VR_US, b, 2), DV_OK);
}

/* A native image of pseudo-random stored bytes. */
static dcm_file *make_image(const layout *l, uint32_t seed)
{
    dcm_file *f = NULL;
    size_t n = (size_t)l->rows * l->cols * l->samples * l->frames, bytes, i;
    uint8_t *p;
    char frames[16];
    synth_rng r;

    bytes = l->ba == 1 ? (n + 7) / 8 : n * (l->ba / 8);
    bytes += bytes & 1;
    assert_int_equal(dcm_file_new(&f), DV_OK);
    set_us(f, DCM_TAG(0x0028, 0x0002), l->samples);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0028, 0x0004), DCM_VR_CS, l->photo),
                     DV_OK);
    if (l->samples == 3)
        set_us(f, DCM_TAG(0x0028, 0x0006), l->planar);
    (void)snprintf(frames, sizeof(frames), "%u", l->frames);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0028, 0x0008), DCM_VR_IS, frames), DV_OK);
    set_us(f, DCM_TAG(0x0028, 0x0010), l->rows);
    set_us(f, DCM_TAG(0x0028, 0x0011), l->cols);
    set_us(f, DCM_TAG(0x0028, 0x0100), l->ba);
    set_us(f, DCM_TAG(0x0028, 0x0101), l->bs);
    set_us(f, DCM_TAG(0x0028, 0x0102), l->bs - 1);
    set_us(f, DCM_TAG(0x0028, 0x0103), l->pr);
    p = malloc(bytes);
    assert_non_null(p);
    synth_rng_init(&r, seed, 7);
    for (i = 0; i < bytes; i++)
        p[i] = (uint8_t)synth_rng_next(&r);
    assert_int_equal(dcm_ds_set(f, &f->ds, DCM_TAG_PIXEL_DATA, l->ba > 8 ? DCM_VR_OW : DCM_VR_OB, p,
                                (uint32_t)bytes),
                     DV_OK);
    free(p);
    return f;
}

static const char *write_rules(const char *text)
{
    static char path[64];
    FILE *fp;

    (void)snprintf(path, sizeof(path), "/tmp/test_deid_pixels_%ld.tsv", (long)getpid());
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
    return path;
}

typedef struct rect {
    uint32_t x, y, w, h;
} rect;

static int in_rect(const rect *r, uint32_t x, uint32_t y)
{
    return x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h;
}

/* Decoded frames of before and after: outside r identical, inside r one constant pixel value
 * that is the frame's lowest stored value (highest for MONOCHROME1; zero for RGB). */
static void check_rect_frames(const dcm_file *before, const dcm_file *after, const rect *r)
{
    dcm_pixinfo pi;
    dv_errinfo ei;
    uint32_t k, x, y;

    assert_int_equal(dcm_pixinfo_get(&before->ds, &pi, &ei), DV_OK);
    for (k = 0; k < pi.frames; k++) {
        dcm_frame a, b;
        size_t px;
        const uint8_t *fill = NULL;

        assert_int_equal(dcm_frame_decode(before, k, &a, &ei), DV_OK);
        assert_int_equal(dcm_frame_decode(after, k, &b, &ei), DV_OK);
        assert_int_equal(a.len, b.len);
        px = a.len / ((size_t)pi.rows * pi.cols);
        for (y = 0; y < pi.rows; y++)
            for (x = 0; x < pi.cols; x++) {
                size_t at = ((size_t)y * pi.cols + x) * px;

                if (!in_rect(r, x, y)) {
                    assert_memory_equal(a.data + at, b.data + at, px);
                    continue;
                }
                if (!fill)
                    fill = b.data + at;
                assert_memory_equal(fill, b.data + at, px);
            }
        if (pi.samples == 3) {
            for (x = 0; x < px; x++)
                assert_int_equal(fill[x], 0);
        } else {
            size_t i, n = (size_t)pi.rows * pi.cols, fi = (size_t)(fill - b.data) / px;
            int inv = !strcmp(pi.photometric, "MONOCHROME1");

            for (i = 0; i < n; i++) {
                int32_t v = px_stored_value(&a, i), fv = px_stored_value(&b, fi);

                assert_true(inv ? v <= fv : v >= fv);
            }
        }
        dcm_frame_release(&a);
        dcm_frame_release(&b);
    }
}

static void rules_layouts(void **state)
{
    static const layout ls[] = {
        {40, 50, 1, 8, 8, 0, 0, 1, "MONOCHROME2"},   {40, 50, 1, 16, 12, 1, 0, 1, "MONOCHROME2"},
        {40, 50, 1, 16, 16, 0, 0, 2, "MONOCHROME1"}, {40, 50, 3, 8, 8, 0, 0, 1, "RGB"},
        {40, 50, 3, 8, 8, 0, 1, 3, "RGB"},           {40, 50, 1, 1, 1, 0, 0, 2, "MONOCHROME2"},
        {40, 50, 1, 32, 32, 1, 0, 1, "MONOCHROME2"}, {41, 33, 1, 1, 1, 0, 0, 3, "MONOCHROME2"},
    };
    const char *rules = write_rules("*\t*\t*\t*\t7,3,9,5\n");
    const rect r = {7, 3, 9, 5};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ls) / sizeof(ls[0]); i++) {
        dcm_file *f = make_image(&ls[i], (uint32_t)i + 1), *g = make_image(&ls[i], (uint32_t)i + 1);
        deid_pixels_opts o;
        deid_pixels_report rep;
        dv_errinfo ei;
        char v[8];

        deid_pixels_opts_init(&o);
        o.mode = DEID_PIXELS_RULES;
        o.rules_path = rules;
        assert_int_equal(deid_pixels_redact(g, &o, &rep, &ei), DV_OK);
        assert_int_equal(rep.frames, ls[i].frames);
        assert_int_equal(rep.nboxes, ls[i].frames);
        assert_int_equal(rep.boxes[0].source, DEID_BOX_RULE);
        assert_ptr_equal(rep.ts, g->ts);
        check_rect_frames(f, g, &r);
        assert_int_equal(dcm_ds_get_str(&g->ds, TAG_BURNED_IN, v, sizeof(v)), 2);
        assert_string_equal(v, "NO");
        deid_pixels_report_release(&rep);
        dcm_file_free(f);
        dcm_file_free(g);
    }
    (void)remove(rules);
}

/* The repository's test rule applies only to its manufacturer and model. */
static void repo_rule_matches(void **state)
{
    static const layout l = {64, 256, 1, 16, 12, 0, 0, 1, "MONOCHROME2"};
    dcm_file *f = make_image(&l, 9), *g = make_image(&l, 9);
    deid_pixels_opts o;
    deid_pixels_report rep;
    dv_errinfo ei;

    (void)state;
    deid_pixels_opts_init(&o);
    o.mode = DEID_PIXELS_RULES;
    o.rules_path = REPO_RULES;
    assert_int_equal(deid_pixels_redact(g, &o, &rep, &ei), DV_OK);
    assert_int_equal(rep.nboxes, 0);
    assert_null(dcm_ds_find(&g->ds, TAG_BURNED_IN));
    deid_pixels_report_release(&rep);
    assert_int_equal(dcm_ds_set_str(g, &g->ds, TAG_MANUFACTURER, DCM_VR_LO, "DCMVAULT TEST"),
                     DV_OK);
    assert_int_equal(dcm_ds_set_str(g, &g->ds, TAG_MODEL, DCM_VR_LO, "rule-phantom"), DV_OK);
    assert_int_equal(deid_pixels_redact(g, &o, &rep, &ei), DV_OK);
    assert_int_equal(rep.nboxes, 2);
    {
        const rect r = {10, 20, 100, 30};

        assert_int_equal(rep.boxes[0].x, 10);
        assert_int_equal(rep.boxes[1].w, 12);
        (void)r;
    }
    deid_pixels_report_release(&rep);
    dcm_file_free(f);
    dcm_file_free(g);
}

/* ---- compressed input --------------------------------------------------------------------- */

/* Replaces the native pixels of f by one fragment per frame made by enc. */
typedef dv_err (*frame_enc)(const dcm_frame *fr, dv_buf *out);

static dv_err enc_rle(const dcm_frame *fr, dv_buf *out)
{
    dv_errinfo ei;

    return px_rle_encode(fr, out, &ei);
}

static dv_err enc_deflate(const dcm_frame *fr, dv_buf *out)
{
    z_stream z;
    uint8_t tmp[1 << 16];
    int rc;
    dv_err e = DV_OK;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return DV_ECODEC;
    z.next_in = fr->data;
    z.avail_in = (uInt)fr->len;
    do {
        z.next_out = tmp;
        z.avail_out = sizeof(tmp);
        rc = deflate(&z, Z_FINISH);
        if (!e)
            e = dv_buf_add(out, tmp, sizeof(tmp) - z.avail_out);
    } while (rc == Z_OK);
    deflateEnd(&z);
    if (!e && out->len % 2)
        e = dv_buf_addc(out, 0);
    return rc == Z_STREAM_END ? e : DV_ECODEC;
}

static void encapsulate(dcm_file *f, const char *ts_uid, frame_enc enc)
{
    dcm_pixinfo pi;
    dv_errinfo ei;
    dcm_elem *pe;
    dcm_frag *frags;
    uint32_t k;

    assert_int_equal(dcm_pixinfo_get(&f->ds, &pi, &ei), DV_OK);
    frags = dv_arena_alloc(&f->arena, (pi.frames + 1) * sizeof(*frags));
    assert_non_null(frags);
    for (k = 0; k < pi.frames; k++) {
        dcm_frame fr;
        dv_buf b;

        dv_buf_init(&b, (size_t)1 << 28);
        assert_int_equal(dcm_frame_decode(f, k, &fr, &ei), DV_OK);
        assert_int_equal(enc(&fr, &b), DV_OK);
        frags[k + 1].p = dv_arena_dup(&f->arena, b.p, b.len);
        frags[k + 1].len = (uint32_t)b.len;
        dcm_frame_release(&fr);
        dv_buf_release(&b);
    }
    pe = dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA);
    pe->val = NULL;
    pe->len = 0;
    pe->vr = DCM_VR_OB;
    pe->undef_len = 1;
    pe->frags = frags;
    pe->nfrags = pi.frames + 1;
    f->ts = dcm_ts_find(ts_uid, strlen(ts_uid));
    assert_non_null(f->ts);
}

/* Writes f in ts and reads it back (the output is a valid Part 10 file). */
static dcm_file *reparse(dcm_file *f, const dcm_ts *ts, dv_buf *keep)
{
    dcm_file *g = NULL;
    dv_errinfo ei;

    dv_buf_init(keep, (size_t)1 << 30);
    assert_int_equal(dcm_write_part10(f, ts, keep, &ei), DV_OK);
    assert_int_equal(dcm_parse(keep->p, keep->len, 0, NULL, &g, &ei), DV_OK);
    assert_ptr_equal(g->ts, ts);
    return g;
}

static void compressed_inputs(void **state)
{
    static const layout ls[] = {
        {40, 50, 1, 16, 12, 0, 0, 2, "MONOCHROME2"},
        {40, 50, 3, 8, 8, 0, 0, 2, "RGB"},
        {40, 50, 1, 8, 8, 0, 0, 1, "MONOCHROME1"},
    };
    const char *rules = write_rules("*\t*\t40\t50\t30,30,100,100\n");
    const rect r = {30, 30, 100, 100};
    size_t i;
    int rle;

    (void)state;
    for (rle = 0; rle < 2; rle++)
        for (i = 0; i < sizeof(ls) / sizeof(ls[0]); i++) {
            dcm_file *f = make_image(&ls[i], 3), *g = make_image(&ls[i], 3), *h;
            deid_pixels_opts o;
            deid_pixels_report rep;
            dv_errinfo ei;
            dv_buf keep;

            encapsulate(g, rle ? "1.2.840.10008.1.2.5" : "1.2.840.10008.1.2.8.1",
                        rle ? enc_rle : enc_deflate);
            deid_pixels_opts_init(&o);
            o.mode = DEID_PIXELS_RULES;
            o.rules_path = rules;
            assert_int_equal(deid_pixels_redact(g, &o, &rep, &ei), DV_OK);
            assert_int_equal(rep.reencoded, 1);
            if (rle)
                assert_ptr_equal(rep.ts, g->ts);
            else
                assert_ptr_equal(rep.ts, &dcm_ts_explicit_le);
            h = reparse(g, rep.ts, &keep);
            check_rect_frames(f, h, &r);
            deid_pixels_report_release(&rep);
            dcm_file_free(h);
            dv_buf_release(&keep);
            dcm_file_free(f);
            dcm_file_free(g);
        }
    (void)remove(rules);
}

/* The RLE encoder against the project's decoder on runs, literals and row boundaries. */
static void rle_roundtrip(void **state)
{
    static const uint32_t sizes[][2] = {{1, 1}, {3, 130}, {17, 5}, {64, 257}};
    size_t i, k;

    (void)state;
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        dcm_frame fr;
        dcm_codec_geom g;
        dv_buf b;
        dv_errinfo ei;
        uint8_t *out;
        synth_rng r;

        memset(&fr, 0, sizeof(fr));
        fr.pi.rows = sizes[i][0];
        fr.pi.cols = sizes[i][1];
        fr.pi.samples = 3;
        fr.pi.bits_alloc = 16;
        fr.len = (size_t)fr.pi.rows * fr.pi.cols * 6;
        fr.data = malloc(fr.len);
        assert_non_null(fr.data);
        synth_rng_init(&r, i, 1);
        for (k = 0; k < fr.len; k++) /* runs of random length */
            fr.data[k] =
                k && synth_rng_below(&r, 3) ? fr.data[k - 1] : (uint8_t)synth_rng_below(&r, 4);
        dv_buf_init(&b, (size_t)1 << 24);
        assert_int_equal(px_rle_encode(&fr, &b, &ei), DV_OK);
        assert_int_equal(b.len % 2, 0);
        memset(&g, 0, sizeof(g));
        g.rows = fr.pi.rows;
        g.cols = fr.pi.cols;
        g.samples = 3;
        g.bytes = 2;
        g.bits_stored = 16;
        out = malloc(fr.len);
        assert_non_null(out);
        assert_int_equal(dcm_codec_rle(b.p, b.len, &g, out, fr.len, &ei), DV_OK);
        assert_memory_equal(out, fr.data, fr.len);
        free(out);
        free(fr.data);
        dv_buf_release(&b);
    }
}

/* ---- policy ------------------------------------------------------------------------------- */

static void policy(void **state)
{
    static const layout l = {40, 50, 3, 8, 8, 0, 0, 1, "RGB"};
    dcm_file *f = make_image(&l, 4);
    deid_pixels_opts o;
    deid_pixels_report rep;
    dv_errinfo ei;

    (void)state;
    deid_pixels_opts_init(&o);
    o.mode = DEID_PIXELS_RULES;
    o.rules_path = REPO_RULES;
    assert_int_equal(
        dcm_ds_set_str(f, &f->ds, TAG_SOP_CLASS, DCM_VR_UI, "1.2.840.10008.5.1.4.1.1.77.1.4"),
        DV_OK);
    assert_int_equal(deid_pixels_redact(f, &o, &rep, &ei), DV_EPERM);
    assert_non_null(strstr(ei.msg, "faces"));
    o.allow_photographic = 1;
    assert_int_equal(deid_pixels_redact(f, &o, &rep, &ei), DV_OK);
    deid_pixels_report_release(&rep);
    o.allow_photographic = 0;
    assert_int_equal(
        dcm_ds_set_str(f, &f->ds, TAG_SOP_CLASS, DCM_VR_UI, "1.2.840.10008.5.1.4.1.1.7"), DV_OK);
    assert_int_equal(deid_pixels_redact(f, &o, &rep, &ei), DV_EPERM);
    o.max_frames = 1;
    o.allow_photographic = 1;
    assert_int_equal(deid_pixels_redact(f, &o, &rep, &ei), DV_OK);
    deid_pixels_report_release(&rep);
    dcm_ds_remove(&f->ds, DCM_TAG_PIXEL_DATA);
    assert_int_equal(deid_pixels_redact(f, &o, &rep, &ei), DV_OK);
    assert_int_equal(rep.frames, 0);
    dcm_file_free(f);
}

/* ---- OCR on synthetic radiographs --------------------------------------------------------- */

static int in_report(const deid_pixels_report *rep, uint32_t x, uint32_t y)
{
    uint32_t i;

    for (i = 0; i < rep->nboxes; i++) {
        const deid_box *b = &rep->boxes[i];

        if (b->frame == 0 && x >= b->x && x < b->x + b->w && y >= b->y && y < b->y + b->h)
            return 1;
    }
    return 0;
}

static uint16_t px16(const dcm_file *f, size_t i)
{
    return dv_le16(dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA)->val + 2 * i);
}

/* OCR text with whitespace removed and ASCII upper-cased. */
static char *ocr_squeezed(const dcm_file *f)
{
    deid_pixels_opts o;
    dv_errinfo ei;
    dv_buf text;
    size_t i, n = 0;
    char *s;

    deid_pixels_opts_init(&o);
    dv_buf_init(&text, (size_t)1 << 24);
    assert_int_equal(deid_pixels_ocr_text(f, &o, &text, &ei), DV_OK);
    s = calloc(text.len + 1, 1);
    assert_non_null(s);
    for (i = 0; i < text.len; i++) {
        char c = (char)text.p[i];

        if (c == ' ' || c == '\n' || c == '\t')
            continue;
        s[n++] = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
    }
    dv_buf_release(&text);
    return s;
}

static void assert_text_gone(const char *ocr, const synth_xr *x)
{
    uint32_t i;

    for (i = 0; i < x->nboxes; i++) {
        char want[96];
        size_t n = 0, k;

        for (k = 0; x->boxes[i].text[k] && n + 1 < sizeof(want); k++)
            if (x->boxes[i].text[k] != ' ')
                want[n++] = x->boxes[i].text[k];
        want[n] = '\0';
        if (strstr(ocr, want)) {
            print_error("OCR still reads text %u of the radiograph\n", (unsigned)i);
            fail();
        }
    }
}

/* Redacts the radiograph of (seed, o) and checks cover, untouched outside and OCR. */
static double check_ocr_case(uint64_t seed, const synth_xr_opts *o)
{
    synth_xr_opts none = *o;
    synth_study st;
    synth_xr t, n;
    deid_pixels_opts po;
    deid_pixels_report rep;
    dv_errinfo ei;
    size_t npix = (size_t)o->rows * o->cols, i;
    uint16_t *before = malloc(npix * 2), tol = (uint16_t)((1u << o->bits_stored) / 100);
    struct timespec t0, t1;
    char *ocr;

    assert_non_null(before);
    synth_study_init(&st, seed);
    none.ntexts = 0;
    assert_int_equal(synth_xr_make(&st, o, &t, &ei), DV_OK);
    assert_int_equal(synth_xr_make(&st, &none, &n, &ei), DV_OK);
    for (i = 0; i < npix; i++)
        before[i] = px16(t.file, i);
    deid_pixels_opts_init(&po);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(deid_pixels_redact(t.file, &po, &rep, &ei), DV_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (i = 0; i < npix; i++) {
        uint32_t x = (uint32_t)(i % o->cols), y = (uint32_t)(i / o->cols);
        uint16_t a = px16(t.file, i), b = px16(n.file, i);
        int covered = in_report(&rep, x, y);

        if (!covered && a != before[i])
            fail_msg("pixel (%u,%u) outside every box changed", x, y);
        if (!covered && (a > b ? a - b : b - a) > tol)
            fail_msg("seed %lu: text pixel (%u,%u) not covered", (unsigned long)seed, x, y);
    }
    ocr = ocr_squeezed(t.file);
    assert_text_gone(ocr, &t);
    free(ocr);
    deid_pixels_report_release(&rep);
    synth_xr_release(&t);
    synth_xr_release(&n);
    free(before);
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* The default layout (2048 x 2048): also measures the time of one frame. */
static void ocr_default(void **state)
{
    synth_xr_opts o;
    double s;

    (void)state;
    synth_xr_opts_init(&o);
    s = check_ocr_case(11, &o);
    print_message("# OCR redaction of one 2048x2048 frame: %.2f s (ASan build)\n", s);
}

static void ocr_varied(void **state)
{
    uint64_t seed;

    (void)state;
    for (seed = 1; seed <= 6; seed++) {
        synth_xr_opts o;

        synth_xr_opts_init(&o);
        o.rows = o.cols = seed % 2 ? 1024 : 1280;
        o.monochrome1 = seed % 3 == 0;
        o.bits_stored = seed % 2 ? 12 : 14;
        synth_xr_opts_vary_texts(&o, seed * 7919);
        (void)check_ocr_case(seed, &o);
    }
}

/* OCR finds the strings in the input (so the absence in the output means something). */
static void ocr_reads_input(void **state)
{
    synth_xr_opts o;
    synth_study st;
    synth_xr t;
    dv_errinfo ei;
    char *ocr;

    (void)state;
    synth_xr_opts_init(&o);
    o.rows = o.cols = 1024;
    synth_study_init(&st, 5);
    assert_int_equal(synth_xr_make(&st, &o, &t, &ei), DV_OK);
    ocr = ocr_squeezed(t.file);
    assert_non_null(strstr(ocr, st.patient_id));
    assert_non_null(strstr(ocr, st.family));
    free(ocr);
    synth_xr_release(&t);
}

static int teardown_all(void **state)
{
    (void)state;
    deid_pixels_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_parse_ok),
        cmocka_unit_test(rules_parse_errors),
        cmocka_unit_test(rules_nul_byte),
        cmocka_unit_test(rules_limits),
        cmocka_unit_test(glob),
        cmocka_unit_test(repo_rules_load),
        cmocka_unit_test(rules_layouts),
        cmocka_unit_test(repo_rule_matches),
        cmocka_unit_test(compressed_inputs),
        cmocka_unit_test(rle_roundtrip),
        cmocka_unit_test(policy),
        cmocka_unit_test(ocr_reads_input),
        cmocka_unit_test(ocr_default),
        cmocka_unit_test(ocr_varied),
    };

    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
