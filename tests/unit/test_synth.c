/* SPDX-License-Identifier: Apache-2.0 */
/* test_synth.c - the synthetic study generator: determinism (same seed, same bytes; other
 * seed, other bytes), UIDs, the generated objects parse back with the expected geometry and
 * values, burned-in text changes exactly the pixels inside its boxes, polarity and
 * MONOCHROME1, the CT series' geometry and UIDs, option checks and the missing-font error.
 *
 * Expectations come from the header's contract and PS3.3/PS3.5 rules, computed here; nothing
 * is copied from the program's output. */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "demo/synth.h"
#include "dicom/dicom.h"
#include "dicom/pixel.h"

#include "common/banned.h"

#define SMALL 384 /* radiograph side in these tests: big enough for text, fast under ASan */

/* ---- helpers ---------------------------------------------------------------------------- */

static void small_opts(synth_xr_opts *o)
{
    synth_xr_opts_init(o);
    o->rows = o->cols = SMALL;
}

static void make_xr(uint64_t seed, const synth_xr_opts *o, synth_xr *x)
{
    synth_study st;
    dv_errinfo ei;

    synth_study_init(&st, seed);
    assert_int_equal(synth_xr_make(&st, o, x, &ei), DV_OK);
    assert_non_null(x->file);
}

/* Part 10 bytes of f (explicit VR LE); caller frees out. */
static void encode(dcm_file *f, dv_buf *out)
{
    dv_errinfo ei;

    dv_buf_init(out, (size_t)1 << 30);
    assert_int_equal(dcm_write_part10(f, &dcm_ts_explicit_le, out, &ei), DV_OK);
}

/* Stored pixel i of a 16-bit dataset. */
static uint16_t pix(const dcm_file *f, size_t i)
{
    const dcm_elem *px = dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA);

    assert_non_null(px);
    assert_true(2 * i + 1 < px->len);
    return dv_le16(px->val + 2 * i);
}

static int in_box(const synth_box *b, uint32_t x, uint32_t y)
{
    return x >= b->x && x < b->x + b->w && y >= b->y && y < b->y + b->h;
}

static void get_str(const dcm_ds *ds, uint32_t tag, char *out, size_t cap)
{
    assert_true(dcm_ds_get_str(ds, tag, out, cap) >= 0);
}

/* ---- numbers and UIDs ------------------------------------------------------------------- */

static void rng_deterministic(void **state)
{
    synth_rng a, b, c;
    int i, differ = 0;
    double sum = 0, sum2 = 0;

    (void)state;
    synth_rng_init(&a, 42, 1);
    synth_rng_init(&b, 42, 1);
    synth_rng_init(&c, 42, 2);
    for (i = 0; i < 1000; i++) {
        uint64_t x = synth_rng_next(&a);

        assert_true(x == synth_rng_next(&b));
        differ += x != synth_rng_next(&c);
    }
    assert_int_equal(differ, 1000);
    for (i = 0; i < 100000; i++) {
        double u = synth_rng_unit(&a), n = synth_rng_normal(&b);

        assert_true(u >= 0.0 && u < 1.0);
        assert_true(synth_rng_below(&c, 7) < 7);
        sum += n;
        sum2 += n * n;
    }
    /* standard normal: mean 0 and variance 1 within a few standard errors */
    assert_true(fabs(sum / 100000) < 0.02);
    assert_true(fabs(sum2 / 100000 - 1.0) < 0.03);
    assert_int_equal(synth_rng_below(&c, 0), 0);
}

/* PS3.5 9.1: components of digits, no leading zero, at most 64 characters; 2.25 UUID-derived
 * values are at most 2^128 - 1 (39 digits). */
static void check_uid(const char *u)
{
    size_t n = strlen(u), i;

    assert_true(n <= 64);
    assert_memory_equal(u, "2.25.", 5);
    assert_true(n - 5 >= 1 && n - 5 <= 39);
    assert_true(u[5] != '0');
    for (i = 5; i < n; i++)
        assert_true(isdigit((unsigned char)u[i]));
    if (n - 5 == 39) /* 2^128 - 1 = 340282366920938463463374607431768211455 */
        assert_true(strcmp(u + 5, "340282366920938463463374607431768211455") <= 0);
}

static void uids(void **state)
{
    char a[65], b[65], c[65], d[65], e[65];

    (void)state;
    synth_uid(7, "study", 0, a);
    synth_uid(7, "study", 0, b);
    synth_uid(8, "study", 0, c);
    synth_uid(7, "series", 0, d);
    synth_uid(7, "study", 1, e);
    check_uid(a);
    check_uid(c);
    check_uid(d);
    check_uid(e);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_string_not_equal(a, e);
}

static int valid_date(const char *d)
{
    int y, m, day, i;

    if (strlen(d) != 8)
        return 0;
    for (i = 0; i < 8; i++)
        if (!isdigit((unsigned char)d[i]))
            return 0;
    y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
    m = (d[4] - '0') * 10 + (d[5] - '0');
    day = (d[6] - '0') * 10 + (d[7] - '0');
    return y >= 1900 && y <= 2030 && m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

static void study(void **state)
{
    synth_study a, b;
    char name[80];
    uint64_t s;
    int names_differ = 0;

    (void)state;
    synth_study_init(&a, 5);
    synth_study_init(&b, 5);
    assert_memory_equal(&a, &b, sizeof(a));
    for (s = 0; s < 20; s++) {
        synth_study_init(&b, s);
        assert_memory_equal(b.patient_id, "SYN", 3);
        assert_int_equal(strlen(b.patient_id), 10);
        assert_true(valid_date(b.birth_date));
        assert_true(valid_date(b.study_date));
        assert_true(strcmp(b.birth_date, b.study_date) < 0);
        assert_true(b.sex[0] == 'M' || b.sex[0] == 'F');
        check_uid(b.study_uid);
        /* PN: alphabetic group "FAMILY^GIVEN", then the ideographic group after '=' */
        (void)snprintf(name, sizeof(name), "%s^%s=%s^%s", b.family, b.given, b.family_cjk,
                       b.given_cjk);
        assert_string_equal(b.patient_name, name);
        assert_true((unsigned char)b.family_cjk[0] >= 0xE0); /* a 3-byte UTF-8 ideograph */
        assert_string_not_equal(b.referring, b.patient_name);
        names_differ += strcmp(a.patient_name, b.patient_name) != 0;
    }
    assert_true(names_differ > 0);
}

/* ---- the radiograph --------------------------------------------------------------------- */

static void xr_deterministic(void **state)
{
    synth_xr_opts o;
    synth_xr x1, x2, x3;
    dv_buf b1, b2, b3;

    (void)state;
    small_opts(&o);
    make_xr(11, &o, &x1);
    make_xr(11, &o, &x2);
    make_xr(12, &o, &x3);
    encode(x1.file, &b1);
    encode(x2.file, &b2);
    encode(x3.file, &b3);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.p, b2.p, b1.len);
    assert_true(b1.len != b3.len || memcmp(b1.p, b3.p, b1.len) != 0);
    assert_memory_equal(x1.boxes, x2.boxes, sizeof(x1.boxes));
    dv_buf_release(&b1);
    dv_buf_release(&b2);
    dv_buf_release(&b3);
    synth_xr_release(&x1);
    synth_xr_release(&x2);
    synth_xr_release(&x3);
}

static void xr_parses(void **state)
{
    synth_xr_opts o;
    synth_xr x;
    synth_study st;
    dcm_file *f = NULL;
    dcm_pixinfo pi;
    dv_errinfo ei;
    dv_buf b;
    char s[128];
    size_t i, n;
    uint16_t lo = 0xFFFF, hi = 0;

    (void)state;
    small_opts(&o);
    o.cols = SMALL + 64; /* not square: rows and columns must not be swapped */
    synth_study_init(&st, 3);
    make_xr(3, &o, &x);
    encode(x.file, &b);
    assert_int_equal(dcm_parse(b.p, b.len, 0, NULL, &f, &ei), DV_OK);
    assert_int_equal(f->nwarn_total, 0);
    assert_true(f->ts == &dcm_ts_explicit_le);
    assert_int_equal(dcm_pixinfo_get(&f->ds, &pi, &ei), DV_OK);
    assert_int_equal(pi.rows, SMALL);
    assert_int_equal(pi.cols, SMALL + 64);
    assert_int_equal(pi.bits_alloc, 16);
    assert_int_equal(pi.bits_stored, 12);
    assert_int_equal(pi.high_bit, 11);
    assert_int_equal(pi.pixel_rep, 0);
    assert_int_equal(pi.samples, 1);
    assert_string_equal(pi.photometric, "MONOCHROME2");
    get_str(&f->ds, DCM_TAG(0x0008, 0x0016), s, sizeof(s));
    assert_string_equal(s, SYNTH_CR_SOP_CLASS);
    get_str(&f->ds, DCM_TAG_SPECIFIC_CHARSET, s, sizeof(s));
    assert_string_equal(s, "ISO_IR 192");
    get_str(&f->ds, DCM_TAG(0x0010, 0x0010), s, sizeof(s));
    assert_string_equal(s, st.patient_name);
    get_str(&f->ds, DCM_TAG(0x0028, 0x0301), s, sizeof(s));
    assert_string_equal(s, "YES");
    get_str(&f->ds, DCM_TAG(0x0020, 0x000D), s, sizeof(s));
    assert_string_equal(s, st.study_uid);
    n = (size_t)pi.rows * pi.cols;
    for (i = 0; i < n; i++) {
        uint16_t v = pix(f, i);

        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    assert_true(hi <= 4095);
    assert_true(hi - lo > 2000); /* a real image, not a flat field */
    dcm_file_free(f);
    dv_buf_release(&b);
    synth_xr_release(&x);
}

/* The same image with and without text: pixels differ inside the boxes only. */
static void text_boxes(void **state)
{
    synth_xr_opts o, bare;
    synth_xr x, y;
    uint32_t r, c, i;
    size_t inside_changed[SYNTH_MAX_TEXTS] = {0};

    (void)state;
    small_opts(&o);
    bare = o;
    bare.ntexts = 0;
    make_xr(21, &o, &x);
    make_xr(21, &bare, &y);
    assert_int_equal(x.nboxes, o.ntexts);
    assert_int_equal(y.nboxes, 0);
    for (i = 0; i < x.nboxes; i++) {
        assert_true(x.boxes[i].w > 0 && x.boxes[i].h > 0);
        assert_true(x.boxes[i].x + x.boxes[i].w <= SMALL);
        assert_true(x.boxes[i].y + x.boxes[i].h <= SMALL);
        assert_int_equal(x.boxes[i].kind, o.texts[i].kind);
    }
    for (r = 0; r < SMALL; r++)
        for (c = 0; c < SMALL; c++) {
            size_t k = (size_t)r * SMALL + c;
            int inside = 0;

            for (i = 0; i < x.nboxes; i++)
                if (in_box(&x.boxes[i], c, r)) {
                    inside = 1;
                    inside_changed[i] += pix(x.file, k) != pix(y.file, k);
                }
            if (!inside)
                assert_int_equal(pix(x.file, k), pix(y.file, k));
        }
    for (i = 0; i < x.nboxes; i++) /* ink covers a good part of a tight text box */
        assert_true(inside_changed[i] * 10 >= (size_t)x.boxes[i].w * x.boxes[i].h);
    synth_xr_release(&x);
    synth_xr_release(&y);
}

static void box_texts(void **state)
{
    synth_xr_opts o;
    synth_study st;
    synth_xr x;
    char want[96];

    (void)state;
    small_opts(&o);
    synth_study_init(&st, 4);
    make_xr(4, &o, &x);
    assert_int_equal(x.nboxes, 4);
    (void)snprintf(want, sizeof(want), "%s %s", st.family, st.given);
    assert_string_equal(x.boxes[0].text, want);
    (void)snprintf(want, sizeof(want), "%s%s", st.family_cjk, st.given_cjk);
    assert_string_equal(x.boxes[1].text, want);
    assert_string_equal(x.boxes[2].text, st.patient_id);
    (void)snprintf(want, sizeof(want), "%.4s-%.2s-%.2s", st.study_date, st.study_date + 4,
                   st.study_date + 6);
    assert_string_equal(x.boxes[3].text, want);
    synth_xr_release(&x);
}

/* Counts the pixels of box b whose stored value is v. */
static size_t count_value(const dcm_file *f, const synth_box *b, uint16_t v)
{
    size_t n = 0;
    uint32_t r, c;

    for (r = b->y; r < b->y + b->h; r++)
        for (c = b->x; c < b->x + b->w; c++)
            n += pix(f, (size_t)r * SMALL + c) == v;
    return n;
}

/* White text is the brightest value (max in MONOCHROME2, 0 in MONOCHROME1), black the
 * darkest; a backing box takes the other polarity. */
static void polarity(void **state)
{
    synth_xr_opts o;
    synth_xr x;
    int mono1;

    (void)state;
    for (mono1 = 0; mono1 < 2; mono1++) {
        uint16_t white = mono1 ? 0 : 4095, black = mono1 ? 4095 : 0;

        small_opts(&o);
        o.monochrome1 = mono1;
        o.ntexts = 3;
        o.texts[0].dark = 0;
        o.texts[1].dark = 1;
        o.texts[2].dark = 0;
        o.texts[2].backing = 1;
        o.texts[0].px = o.texts[1].px = o.texts[2].px = 24; /* fully covered pixels */
        make_xr(9, &o, &x);
        assert_true(count_value(x.file, &x.boxes[0], white) > 20);
        assert_int_equal(count_value(x.file, &x.boxes[0], black), 0);
        assert_true(count_value(x.file, &x.boxes[1], black) > 20);
        /* backing: the box's border rows are all black, the text inside is white */
        assert_true(count_value(x.file, &x.boxes[2], black) >
                    (size_t)x.boxes[2].w * x.boxes[2].h / 2);
        assert_true(count_value(x.file, &x.boxes[2], white) > 20);
        assert_int_equal(pix(x.file, (size_t)x.boxes[2].y * SMALL + x.boxes[2].x), black);
        synth_xr_release(&x);
    }
}

static void monochrome1_inverts(void **state)
{
    synth_xr_opts o;
    synth_xr a, b;
    size_t i;
    char s[32];

    (void)state;
    small_opts(&o);
    make_xr(13, &o, &a);
    o.monochrome1 = 1;
    make_xr(13, &o, &b);
    get_str(&b.file->ds, DCM_TAG(0x0028, 0x0004), s, sizeof(s));
    assert_string_equal(s, "MONOCHROME1");
    for (i = 0; i < (size_t)SMALL * SMALL; i++)
        assert_int_equal(pix(b.file, i), 4095 - pix(a.file, i));
    synth_xr_release(&a);
    synth_xr_release(&b);
}

static void dx_14bit(void **state)
{
    synth_xr_opts o;
    synth_xr x;
    dcm_pixinfo pi;
    dv_errinfo ei;
    char s[64];
    size_t i;
    uint16_t hi = 0;

    (void)state;
    small_opts(&o);
    o.modality = SYNTH_XR_DX;
    o.bits_stored = 14;
    make_xr(14, &o, &x);
    assert_int_equal(dcm_pixinfo_get(&x.file->ds, &pi, &ei), DV_OK);
    assert_int_equal(pi.bits_stored, 14);
    assert_int_equal(pi.high_bit, 13);
    for (i = 0; i < (size_t)SMALL * SMALL; i++)
        hi = pix(x.file, i) > hi ? pix(x.file, i) : hi;
    assert_int_equal(hi, 16383); /* white text reaches full scale, nothing above */
    get_str(&x.file->ds, DCM_TAG(0x0008, 0x0016), s, sizeof(s));
    assert_string_equal(s, SYNTH_DX_SOP_CLASS);
    get_str(&x.file->ds, DCM_TAG(0x0008, 0x0068), s, sizeof(s));
    assert_string_equal(s, "FOR PRESENTATION");
    get_str(&x.file->ds, DCM_TAG(0x2050, 0x0020), s, sizeof(s));
    assert_string_equal(s, "IDENTITY");
    synth_xr_release(&x);
}

/* A CJK string asked in the Latin font falls back to the CJK font glyph by glyph, so it
 * draws the same pixels as when asked in the CJK font. */
static void cjk_fallback(void **state)
{
    synth_xr_opts o;
    synth_study st;
    synth_xr a, b;
    size_t chars;

    (void)state;
    synth_study_init(&st, 2);
    chars = (strlen(st.family_cjk) + strlen(st.given_cjk)) / 3; /* 3-byte UTF-8 ideographs */
    small_opts(&o);
    o.ntexts = 1;
    o.texts[0] = (synth_text){SYNTH_TEXT_NAME_CJK, NULL, 0.1, 0.1, 30, 0, 0, SYNTH_FONT_CJK};
    make_xr(2, &o, &a);
    o.texts[0].font = SYNTH_FONT_LATIN;
    make_xr(2, &o, &b);
    assert_memory_equal(&a.boxes[0], &b.boxes[0], sizeof(a.boxes[0]));
    /* 30-pixel ideographs side by side, not missing-glyph boxes */
    assert_true(a.boxes[0].w >= 30 * (chars - 1) + 20);
    assert_true(a.boxes[0].h >= 20);
    assert_memory_equal(dcm_ds_find(&a.file->ds, DCM_TAG_PIXEL_DATA)->val,
                        dcm_ds_find(&b.file->ds, DCM_TAG_PIXEL_DATA)->val,
                        (size_t)SMALL * SMALL * 2);
    synth_xr_release(&a);
    synth_xr_release(&b);
}

static void boxes_disjoint(const synth_xr *x)
{
    uint32_t i, k;

    for (i = 0; i < x->nboxes; i++)
        for (k = i + 1; k < x->nboxes; k++) {
            const synth_box *p = &x->boxes[i], *q = &x->boxes[k];

            assert_true(p->x + p->w <= q->x || q->x + q->w <= p->x || p->y + p->h <= q->y ||
                        q->y + q->h <= p->y);
        }
}

static void vary_texts(void **state)
{
    synth_xr_opts a, b;
    synth_xr x;
    uint64_t s;
    uint32_t i;

    (void)state;
    small_opts(&a);
    small_opts(&b);
    synth_xr_opts_vary_texts(&a, 77);
    synth_xr_opts_vary_texts(&b, 77);
    assert_memory_equal(a.texts, b.texts, sizeof(a.texts));
    for (s = 0; s < 4; s++) {
        small_opts(&a);
        synth_xr_opts_vary_texts(&a, s);
        for (i = 0; i < a.ntexts; i++)
            assert_true(a.texts[i].px >= SMALL / 80 && a.texts[i].px <= SMALL / 20);
        make_xr(s, &a, &x);
        assert_int_equal(x.nboxes, a.ntexts);
        boxes_disjoint(&x);
        synth_xr_release(&x);
    }
}

static void bad_options(void **state)
{
    synth_xr_opts o;
    synth_study st;
    synth_xr x;
    dv_errinfo ei;

    (void)state;
    synth_study_init(&st, 1);
    small_opts(&o);
    o.bits_stored = 13;
    assert_int_equal(synth_xr_make(&st, &o, &x, &ei), DV_EINVAL);
    assert_null(x.file);
    small_opts(&o);
    o.rows = 10;
    assert_int_equal(synth_xr_make(&st, &o, &x, &ei), DV_EINVAL);
    small_opts(&o);
    o.ntexts = SYNTH_MAX_TEXTS + 1;
    assert_int_equal(synth_xr_make(&st, &o, &x, &ei), DV_EINVAL);
    small_opts(&o);
    o.texts[0].px = SMALL; /* "WANG XIAOMING" at 384 px cannot fit 384 columns */
    assert_int_equal(synth_xr_make(&st, &o, &x, &ei), DV_EINVAL);
    assert_null(x.file);
    small_opts(&o);
    o.texts[0].kind = SYNTH_TEXT_FREE;
    o.texts[0].utf8 = "   ";
    assert_int_equal(synth_xr_make(&st, &o, &x, &ei), DV_EINVAL);
}

static void missing_font(void **state)
{
    synth_xr_opts o;
    synth_study st;
    synth_xr x;
    dv_errinfo ei;

    (void)state;
    synth_study_init(&st, 1);
    small_opts(&o);
    o.cjk_ttf = "/nonexistent/fonts/none.ttc";
    assert_int_equal(synth_xr_make(&st, &o, &x, &ei), DV_ENOTFOUND);
    assert_null(x.file);
    assert_non_null(strstr(ei.msg, "/nonexistent/fonts/none.ttc"));
    o.ntexts = 0; /* no text: no font needed */
    assert_int_equal(synth_xr_make(&st, &o, &x, &ei), DV_OK);
    synth_xr_release(&x);
    synth_xr_release(NULL);
}

/* ---- CT --------------------------------------------------------------------------------- */

static double get_d(const dcm_ds *ds, uint32_t tag, unsigned idx)
{
    double d = 0;

    assert_int_equal(dcm_ds_get_double(ds, tag, idx, &d), DV_OK);
    return d;
}

static void ct_slice_checks(const dcm_file *f, const synth_ct_opts *o, uint32_t k)
{
    dcm_pixinfo pi;
    dv_errinfo ei;
    char s[32];

    assert_int_equal(dcm_pixinfo_get(&f->ds, &pi, &ei), DV_OK);
    assert_int_equal(pi.rows, o->rows);
    assert_int_equal(pi.cols, o->cols);
    assert_int_equal(pi.bits_alloc, 16);
    assert_int_equal(pi.pixel_rep, 1);
    get_str(&f->ds, DCM_TAG(0x0008, 0x0016), s, sizeof(s));
    assert_string_equal(s, SYNTH_CT_SOP_CLASS);
    assert_true(get_d(&f->ds, DCM_TAG(0x0028, 0x1052), 0) == -1024.0);
    assert_true(get_d(&f->ds, DCM_TAG(0x0028, 0x1053), 0) == 1.0);
    assert_true(fabs(get_d(&f->ds, DCM_TAG(0x0028, 0x0030), 0) - o->spacing) < 1e-4);
    /* head to feet: z and SliceLocation step down by the thickness */
    assert_true(fabs(get_d(&f->ds, DCM_TAG(0x0020, 0x0032), 2) -
                     ((o->slices - 1) / 2.0 - k) * o->thickness) < 1e-3);
    assert_true(fabs(get_d(&f->ds, DCM_TAG(0x0020, 0x1041), 0) -
                     get_d(&f->ds, DCM_TAG(0x0020, 0x0032), 2)) < 1e-3);
}

static void ct_series(void **state)
{
    synth_ct_opts o;
    synth_study st;
    char study[65], series0[65], for0[65], sop[4][65], s[65];
    uint32_t k, i;

    (void)state;
    synth_ct_opts_init(&o);
    o.slices = 4;
    o.rows = 64;
    o.cols = 80;
    o.spacing = 5.0; /* 400 x 320 mm: the corners are outside the body */
    synth_study_init(&st, 31);
    for (k = 0; k < o.slices; k++) {
        dcm_file *f = NULL;
        dv_errinfo ei;
        double hu_corner, hu_center;

        assert_int_equal(synth_ct_make(&st, &o, k, &f, &ei), DV_OK);
        ct_slice_checks(f, &o, k);
        get_str(&f->ds, DCM_TAG(0x0020, 0x000D), study, sizeof(study));
        assert_string_equal(study, st.study_uid);
        get_str(&f->ds, DCM_TAG(0x0008, 0x0018), sop[k], sizeof(sop[k]));
        check_uid(sop[k]);
        get_str(&f->ds, DCM_TAG(0x0020, 0x000E), s, sizeof(s));
        if (!k)
            memcpy(series0, s, sizeof(s));
        assert_string_equal(s, series0);
        get_str(&f->ds, DCM_TAG(0x0020, 0x0052), s, sizeof(s));
        if (!k)
            memcpy(for0, s, sizeof(s));
        assert_string_equal(s, for0);
        /* HU = stored (signed) - 1024: air in the corner, soft tissue or blood at the
         * mediastinum in front of the spine (x = 0, y = +45 mm) */
        hu_corner = (int16_t)pix(f, 0) - 1024.0;
        hu_center = (int16_t)pix(f, (size_t)(o.rows / 2 + (uint32_t)(45 / o.spacing)) * o.cols +
                                        o.cols / 2) -
                    1024.0;
        assert_true(hu_corner > -1000 - 6 * o.noise_hu && hu_corner < -1000 + 6 * o.noise_hu);
        assert_true(hu_center > 40 - 6 * o.noise_hu && hu_center < 50 + 6 * o.noise_hu);
        dcm_file_free(f);
    }
    for (k = 0; k < o.slices; k++)
        for (i = k + 1; i < o.slices; i++)
            assert_string_not_equal(sop[k], sop[i]);
    assert_string_not_equal(series0, st.study_uid);
}

static void ct_bad_options(void **state)
{
    synth_ct_opts o;
    synth_study st;
    dcm_file *f = (dcm_file *)&st; /* must be reset to NULL */
    dv_errinfo ei;

    (void)state;
    synth_study_init(&st, 1);
    synth_ct_opts_init(&o);
    assert_int_equal(synth_ct_make(&st, &o, o.slices, &f, &ei), DV_EINVAL);
    assert_null(f);
    o.rows = 8;
    assert_int_equal(synth_ct_make(&st, &o, 0, &f, &ei), DV_EINVAL);
    synth_ct_opts_init(&o);
    o.spacing = 0;
    assert_int_equal(synth_ct_make(&st, &o, 0, &f, &ei), DV_EINVAL);
}

/* ---- files ------------------------------------------------------------------------------ */

typedef struct seen {
    unsigned files, xr;
} seen;

static dv_err count_cb(void *ctx, const char *path, const dcm_file *f, const synth_xr *xr)
{
    seen *s = ctx;

    (void)path;
    (void)f;
    s->files++;
    s->xr += xr != NULL && xr->nboxes == 4;
    return DV_OK;
}

static void write_study(void **state)
{
    char dir[] = "/tmp/test_synth_XXXXXX", path[256];
    synth_xr_opts xo;
    synth_ct_opts co;
    synth_study st;
    seen s = {0, 0};
    dv_errinfo ei;
    struct stat sb;
    dcm_file *f = NULL;
    uint32_t i;

    (void)state;
    assert_non_null(mkdtemp(dir));
    small_opts(&xo);
    synth_ct_opts_init(&co);
    co.slices = 3;
    co.rows = co.cols = 32;
    synth_study_init(&st, 6);
    assert_int_equal(synth_write_study(dir, &st, &xo, &co, count_cb, &s, &ei), DV_OK);
    assert_int_equal(s.files, 4);
    assert_int_equal(s.xr, 1);
    for (i = 0; i < 4; i++) {
        (void)snprintf(path, sizeof(path), "%s/%s_%04u.dcm", dir, i ? "ct" : "cr", i ? i : 1);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        assert_int_equal(dcm_read_file(path, 0, NULL, &f, &ei), DV_OK);
        assert_true(f->has_preamble);
        dcm_file_free(f);
        assert_int_equal(unlink(path), 0);
    }
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rng_deterministic),
        cmocka_unit_test(uids),
        cmocka_unit_test(study),
        cmocka_unit_test(xr_deterministic),
        cmocka_unit_test(xr_parses),
        cmocka_unit_test(text_boxes),
        cmocka_unit_test(box_texts),
        cmocka_unit_test(polarity),
        cmocka_unit_test(monochrome1_inverts),
        cmocka_unit_test(dx_14bit),
        cmocka_unit_test(cjk_fallback),
        cmocka_unit_test(vary_texts),
        cmocka_unit_test(bad_options),
        cmocka_unit_test(missing_font),
        cmocka_unit_test(ct_series),
        cmocka_unit_test(ct_bad_options),
        cmocka_unit_test(write_study),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
