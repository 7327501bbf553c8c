/* SPDX-License-Identifier: Apache-2.0 */
/* test_parse.c - the Part 10 reader and writer: encodings, boundaries, hostile input, limits,
 * out-of-memory behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dicom/dicom.h"

/* ---- a tiny encoder for hand-made inputs ------------------------------------------------- */

typedef struct enc {
    uint8_t b[8192];
    size_t n;
    int be;
} enc;

static void put(enc *e, const void *p, size_t n)
{
    assert_true(e->n + n <= sizeof(e->b));
    memcpy(e->b + e->n, p, n);
    e->n += n;
}

static void u16(enc *e, uint16_t v)
{
    uint8_t t[2] = {(uint8_t)(e->be ? v >> 8 : v), (uint8_t)(e->be ? v : v >> 8)};
    put(e, t, 2);
}

static void u32(enc *e, uint32_t v)
{
    if (e->be) {
        u16(e, (uint16_t)(v >> 16));
        u16(e, (uint16_t)v);
    } else {
        u16(e, (uint16_t)v);
        u16(e, (uint16_t)(v >> 16));
    }
}

static void tag(enc *e, uint32_t t)
{
    u16(e, DCM_GROUP(t));
    u16(e, DCM_ELEM(t));
}

/* explicit VR element header */
static void ex(enc *e, uint32_t t, const char *vr, uint32_t len)
{
    tag(e, t);
    put(e, vr, 2);
    if (dcm_vr_long_length(DCM_VR(vr[0], vr[1]))) {
        u16(e, 0);
        u32(e, len);
    } else {
        u16(e, (uint16_t)len);
    }
}

static void im(enc *e, uint32_t t, uint32_t len)
{
    tag(e, t);
    u32(e, len);
}

static void part10_header(enc *e, const char *ts)
{
    size_t tl = strlen(ts) + (strlen(ts) & 1);
    uint8_t zero[128] = {0};

    put(e, zero, 128);
    put(e, "DICM", 4);
    ex(e, DCM_TAG(2, 0x10), "UI", (uint32_t)tl);
    put(e, ts, strlen(ts));
    if (strlen(ts) & 1)
        put(e, "", 1);
}

static dv_err parse(const enc *e, dcm_file **f, dv_errinfo *ei)
{
    return dcm_parse(e->b, e->n, 0, NULL, f, ei);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void explicit_le_values(void **state)
{
    enc e = {0};
    dcm_file *f;
    dv_errinfo ei;
    char s[32];
    long v;

    (void)state;
    part10_header(&e, "1.2.840.10008.1.2.1");
    ex(&e, DCM_TAG(0x10, 0x10), "PN", 8);
    put(&e, "DOE^JO  ", 8);
    ex(&e, DCM_TAG(0x28, 0x10), "US", 2);
    u16(&e, 512);
    assert_int_equal(parse(&e, &f, &ei), DV_OK);
    assert_int_equal(dcm_ds_get_str(&f->ds, DCM_TAG(0x10, 0x10), s, sizeof(s)), 6);
    assert_string_equal(s, "DOE^JO");
    assert_int_equal(dcm_ds_get_int(&f->ds, DCM_TAG(0x28, 0x10), 0, &v), DV_OK);
    assert_int_equal(v, 512);
    assert_true(f->has_preamble);
    assert_ptr_equal(f->ts, &dcm_ts_explicit_le);
    dcm_file_free(f);
}

static void big_endian_values_are_swapped(void **state)
{
    enc e = {0};
    dcm_file *f;
    dv_errinfo ei;
    long v;

    (void)state;
    part10_header(&e, "1.2.840.10008.1.2.2");
    e.be = 1;
    ex(&e, DCM_TAG(0x28, 0x10), "US", 2);
    u16(&e, 0x1234);
    ex(&e, DCM_TAG(0x28, 0x11), "UL", 4);
    u32(&e, 0x01020304);
    assert_int_equal(parse(&e, &f, &ei), DV_OK);
    assert_int_equal(dcm_ds_get_int(&f->ds, DCM_TAG(0x28, 0x10), 0, &v), DV_OK);
    assert_int_equal(v, 0x1234);
    assert_int_equal(dcm_ds_get_int(&f->ds, DCM_TAG(0x28, 0x11), 0, &v), DV_OK);
    assert_int_equal(v, 0x01020304);
    dcm_file_free(f);
}

static void bare_implicit_dataset_is_guessed(void **state)
{
    enc e = {0};
    dcm_file *f;
    dv_errinfo ei;
    long v;

    (void)state;
    im(&e, DCM_TAG(0x08, 0x60), 2);
    put(&e, "CT", 2);
    im(&e, DCM_TAG(0x28, 0x10), 2);
    u16(&e, 7);
    assert_int_equal(parse(&e, &f, &ei), DV_OK);
    assert_ptr_equal(f->ts, &dcm_ts_implicit_le);
    assert_false(f->has_preamble);
    assert_int_equal(dcm_ds_find(&f->ds, DCM_TAG(0x28, 0x10))->vr, DCM_VR_US);
    assert_int_equal(dcm_ds_get_int(&f->ds, DCM_TAG(0x28, 0x10), 0, &v), DV_OK);
    assert_int_equal(v, 7);
    dcm_file_free(f);
}

/* ---- hostile input: one table, each case an input built step by step ---------------------- */

typedef struct step {
    char op;       /* 'x' explicit VR header, 'i' implicit header, 'p' bytes, 'w' a 16-bit word;
                    * 0 ends the steps */
    uint32_t tag;  /* x, i */
    const void *s; /* x: the VR; p: the bytes */
    uint32_t n;    /* x, i: the value length; p: the byte count; w: the word */
} step;

typedef struct bad_case {
    const char *what;
    const char *ts; /* a Part 10 header with this transfer syntax first; NULL: none */
    step steps[4];
    uint64_t max_value; /* a smaller dcm_limits.max_value; 0: the default limits */
    dv_err want;
    uint32_t tag;    /* ei.tag, or 0: not checked */
    const char *msg; /* a part of ei.msg, or NULL */
    int back;        /* ei.offset is this many bytes before the end of the input; -1: unchecked */
} bad_case;

static const uint8_t ZEROS[64];

/* clang-format off */
#define EX_LE       "1.2.840.10008.1.2.1"
#define SQ_UNDEF(t) {'x', (t), "SQ", DCM_UNDEFINED_LENGTH}
#define CS_CT       {'x', DCM_TAG(0x0008, 0x0060), "CS", 2}, {'p', 0, "CT", 2}

static const bad_case BAD[] = {
    {"truncated header: 4 bytes of the next element header only", EX_LE,
     {{'x', DCM_TAG(0x10, 0x10), "PN", 4}, {'p', 0, "AB^C", 4},
      {'w', 0, NULL, 0x0010}, {'w', 0, NULL, 0x0020}},
     0, DV_ETRUNC, 0, "element header needs 8 bytes, 4 left", 4},
    {"value past the end", EX_LE,
     {{'x', DCM_TAG(0x10, 0x10), "PN", 40}, {'p', 0, "AB^C", 4}},
     0, DV_ETRUNC, DCM_TAG(0x10, 0x10), "value length 40 passes the 4 bytes left", -1},
    {"a huge length allocates nothing", EX_LE,
     {{'x', DCM_TAG(0x7FE0, 0x10), "OB", 0xFFFFFFF0u}},
     0, DV_ETRUNC, DCM_TAG_PIXEL_DATA, NULL, -1},
    {"a value over the limit", EX_LE,
     {{'x', DCM_TAG(0x7FE0, 0x10), "OB", 64}, {'p', 0, ZEROS, 64}},
     63, DV_ELIMIT, DCM_TAG_PIXEL_DATA, NULL, -1},
    {"unterminated sequence", EX_LE,
     {SQ_UNDEF(DCM_TAG(0x0008, 0x1115)), {'i', DCM_TAG_ITEM, NULL, 10}, CS_CT},
     0, DV_ETRUNC, 0, "inside a sequence of undefined length", -1},
    {"item outside a sequence", EX_LE,
     {{'i', DCM_TAG_ITEM, NULL, 0}},
     0, DV_EMALFORMED, 0, "outside a sequence", -1},
    {"non-item in a sequence", EX_LE,
     {SQ_UNDEF(DCM_TAG(0x0008, 0x1115)), CS_CT},
     0, DV_EMALFORMED, DCM_TAG(0x0008, 0x1115), NULL, -1},
    {"unknown transfer syntax", "1.2.3.4",
     {CS_CT},
     0, DV_EUNSUPPORTED, DCM_TAG_TRANSFER_SYNTAX, NULL, -1},
    {"corrupt deflate stream", "1.2.840.10008.1.2.1.99",
     {{'p', 0, "\xff\xff\xff\xff\xff\xff\xff\xff", 8}},
     0, DV_EMALFORMED, 0, "deflate stream is corrupt", -1},
    {"too short: \"DICM\" alone", NULL,
     {{'p', 0, "DICM", 4}},
     0, DV_ETRUNC, 0, NULL, -1},
};
/* clang-format on */

static void build(enc *e, const bad_case *c)
{
    const step *s;

    if (c->ts)
        part10_header(e, c->ts);
    for (s = c->steps; s < c->steps + 4 && s->op; s++) {
        if (s->op == 'x')
            ex(e, s->tag, s->s, s->n);
        else if (s->op == 'i')
            im(e, s->tag, s->n);
        else if (s->op == 'p')
            put(e, s->s, s->n);
        else
            u16(e, (uint16_t)s->n);
    }
}

static void hostile_input(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        const bad_case *c = &BAD[i];
        enc e = {0};
        dcm_file *f = (dcm_file *)1;
        dv_errinfo ei;
        dcm_limits lim;

        print_message("# %s\n", c->what);
        build(&e, c);
        dcm_limits_default(&lim);
        if (c->max_value)
            lim.max_value = c->max_value;
        assert_int_equal(dcm_parse(e.b, e.n, 0, &lim, &f, &ei), c->want);
        assert_null(f);
        if (c->tag)
            assert_int_equal(ei.tag, c->tag);
        if (c->msg)
            assert_non_null(strstr(ei.msg, c->msg));
        if (c->back >= 0)
            assert_int_equal(ei.offset, e.n - (size_t)c->back);
    }
}

/* n nested sequences of undefined length, each with one item */
static void nested(enc *e, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        ex(e, DCM_TAG(0x0008, 0x1115), "SQ", DCM_UNDEFINED_LENGTH);
        im(e, DCM_TAG_ITEM, DCM_UNDEFINED_LENGTH);
    }
    for (i = 0; i < n; i++) {
        im(e, DCM_TAG_ITEM_DELIM, 0);
        im(e, DCM_TAG_SEQ_DELIM, 0);
    }
}

static void nesting_limit(void **state)
{
    enc e = {0};
    dcm_file *f;
    dv_errinfo ei;
    dcm_limits lim;

    (void)state;
    dcm_limits_default(&lim);
    lim.max_depth = 4;
    part10_header(&e, "1.2.840.10008.1.2.1");
    nested(&e, 4);
    assert_int_equal(dcm_parse(e.b, e.n, 0, &lim, &f, &ei), DV_OK);
    assert_int_equal(dcm_ds_find(&f->ds, DCM_TAG(8, 0x1115))->nitems, 1);
    dcm_file_free(f);
    e.n = 0;
    part10_header(&e, "1.2.840.10008.1.2.1");
    nested(&e, 5);
    assert_int_equal(dcm_parse(e.b, e.n, 0, &lim, &f, &ei), DV_ELIMIT);
    assert_non_null(strstr(ei.msg, "nested deeper than 4"));
}

static void element_count_limit(void **state)
{
    enc e = {0};
    dcm_file *f;
    dv_errinfo ei;
    dcm_limits lim;
    unsigned i;

    (void)state;
    dcm_limits_default(&lim);
    lim.max_elements = 10;
    part10_header(&e, "1.2.840.10008.1.2.1");
    for (i = 0; i < 10; i++) {
        ex(&e, DCM_TAG(0x0009, 0x1000 + i), "LO", 2);
        put(&e, "xx", 2);
    }
    assert_int_equal(dcm_parse(e.b, e.n, 0, &lim, &f, &ei), DV_ELIMIT);
    assert_non_null(strstr(ei.msg, "more than 10 elements"));
    lim.max_elements = 11; /* the meta element counts too */
    assert_int_equal(dcm_parse(e.b, e.n, 0, &lim, &f, &ei), DV_OK);
    dcm_file_free(f);
}

static int has_warning(const dcm_file *f, uint32_t t, const char *msg)
{
    uint32_t i;

    for (i = 0; i < f->nwarn; i++)
        if (f->warn[i].tag == t && strstr(f->warn[i].msg, msg))
            return 1;
    return 0;
}

static void trailing_zero_padding_warns(void **state)
{
    enc e = {0};
    dcm_file *f;
    dv_errinfo ei;

    (void)state;
    part10_header(&e, "1.2.840.10008.1.2.1");
    ex(&e, DCM_TAG(0x0008, 0x0060), "CS", 2);
    put(&e, "CT", 2);
    put(&e, "\0\0\0", 3);
    assert_int_equal(parse(&e, &f, &ei), DV_OK);
    assert_true(has_warning(f, DV_NO_TAG, "3 trailing zero bytes ignored"));
    dcm_file_free(f);
}

static void duplicate_and_out_of_order_warn(void **state)
{
    enc e = {0};
    dcm_file *f;
    dv_errinfo ei;
    char s[8];

    (void)state;
    part10_header(&e, "1.2.840.10008.1.2.1");
    ex(&e, DCM_TAG(0x0010, 0x0020), "LO", 2);
    put(&e, "A1", 2);
    ex(&e, DCM_TAG(0x0008, 0x0060), "CS", 2);
    put(&e, "CT", 2);
    ex(&e, DCM_TAG(0x0010, 0x0020), "LO", 2);
    put(&e, "B2", 2);
    assert_int_equal(parse(&e, &f, &ei), DV_OK);
    assert_true(has_warning(f, DCM_TAG(0x0008, 0x0060), "element out of order"));
    assert_true(has_warning(f, DCM_TAG(0x0010, 0x0020), "duplicate element ignored"));
    assert_true(has_warning(f, DCM_TAG(0x0002, 0x0002), "lacks a required element"));
    assert_int_equal(dcm_ds_get_str(&f->ds, DCM_TAG(0x10, 0x20), s, sizeof(s)), 2);
    assert_string_equal(s, "A1");
    assert_true(f->ds.e[0].tag < f->ds.e[1].tag);
    dcm_file_free(f);
}

/* Builds a dataset with a nested sequence, text, numbers and native pixels. */
static dcm_file *sample(void)
{
    dcm_file *f;
    dcm_elem *sq;
    dcm_ds *item;
    uint16_t px[4] = {1, 2, 0x8000, 0xFFFF};
    float fl = 1.5f;

    assert_int_equal(dcm_file_new(&f), DV_OK);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(8, 0x16), DCM_VR_UI, "1.2.3"), DV_OK);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(8, 0x18), DCM_VR_UI, "1.2.3.4"), DV_OK);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x10, 0x10), DCM_VR_PN, "A^B"), DV_OK);
    assert_int_equal(dcm_ds_set(f, &f->ds, DCM_TAG(0x18, 0x1310), DCM_VR_FL, &fl, 4), DV_OK);
    assert_int_equal(dcm_ds_insert(f, &f->ds, DCM_TAG(8, 0x1115), DCM_VR_SQ, &sq), DV_OK);
    assert_int_equal(dcm_elem_add_item(f, sq, &item), DV_OK);
    assert_int_equal(dcm_ds_set_str(f, item, DCM_TAG(8, 0x1150), DCM_VR_UI, "1.2.840"), DV_OK);
    assert_int_equal(dcm_ds_set(f, &f->ds, DCM_TAG_PIXEL_DATA, DCM_VR_OW, px, 8), DV_OK);
    return f;
}

static void write_read_every_syntax(void **state)
{
    const dcm_ts *all[] = {&dcm_ts_implicit_le, &dcm_ts_explicit_le, &dcm_ts_explicit_be,
                           &dcm_ts_deflated_le};
    size_t i;

    (void)state;
    for (i = 0; i < 4; i++) {
        dcm_file *f = sample(), *g;
        dv_errinfo ei;
        dv_buf out;
        const dcm_elem *a, *b;

        dv_buf_init(&out, 1 << 20);
        assert_int_equal(dcm_write_part10(f, all[i], &out, &ei), DV_OK);
        assert_int_equal(dcm_parse(out.p, out.len, DCM_PARSE_COPY_VALUES, NULL, &g, &ei), DV_OK);
        assert_ptr_equal(g->ts, all[i]);
        assert_int_equal(g->ds.n, f->ds.n);
        a = dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA);
        b = dcm_ds_find(&g->ds, DCM_TAG_PIXEL_DATA);
        assert_int_equal(a->len, b->len);
        assert_memory_equal(a->val, b->val, a->len);
        a = dcm_ds_find(&f->ds, DCM_TAG(0x18, 0x1310));
        b = dcm_ds_find(&g->ds, DCM_TAG(0x18, 0x1310));
        assert_memory_equal(a->val, b->val, 4);
        b = dcm_ds_find(&g->ds, DCM_TAG(8, 0x1115));
        assert_int_equal(b->nitems, 1);
        assert_non_null(dcm_ds_find(&b->items[0], DCM_TAG(8, 0x1150)));
        assert_non_null(dcm_ds_find(&g->meta, DCM_TAG(2, 2)));
        dv_buf_release(&out);
        dcm_file_free(g);
        dcm_file_free(f);
    }
}

static void relabel_refused(void **state)
{
    dcm_file *f = sample();
    dv_errinfo ei;
    dv_buf out;
    const dcm_ts *jpeg = dcm_ts_find("1.2.840.10008.1.2.4.50", 22);

    (void)state;
    assert_non_null(jpeg);
    dv_buf_init(&out, 1 << 20);
    assert_int_equal(dcm_write_part10(f, jpeg, &out, &ei), DV_EUNSUPPORTED);
    dv_buf_release(&out);
    dcm_file_free(f);
}

static void out_of_memory_everywhere(void **state)
{
    long n;
    int ok = 0;

    (void)state;
    /* fail the 1st, 2nd, ... allocation until the whole job succeeds: each run must end in
     * DV_ENOMEM (or DV_ELIMIT for a reported size) or DV_OK, and leak nothing (ASan) */
    for (n = 1; n < 200 && !ok; n++) {
        dcm_file *f = NULL, *g = NULL;
        dv_errinfo ei;
        dv_buf out;
        dv_err e;

        dv_fault_countdown = n;
        e = dcm_file_new(&f);
        if (!e) {
            dcm_elem *sq;
            dcm_ds *item;

            e = dcm_ds_set_str(f, &f->ds, DCM_TAG(0x10, 0x10), DCM_VR_PN, "A^B");
            if (!e)
                e = dcm_ds_insert(f, &f->ds, DCM_TAG(8, 0x1115), DCM_VR_SQ, &sq);
            if (!e)
                e = dcm_elem_add_item(f, sq, &item);
        }
        dv_buf_init(&out, 1 << 20);
        if (!e)
            e = dcm_write_part10(f, &dcm_ts_deflated_le, &out, &ei);
        if (!e)
            e = dcm_parse(out.p, out.len, 0, NULL, &g, &ei);
        assert_true(e == DV_OK || e == DV_ENOMEM);
        ok = e == DV_OK;
        dcm_file_free(g);
        dcm_file_free(f);
        dv_buf_release(&out);
    }
    dv_fault_countdown = 0;
    assert_true(ok);
    assert_true(n > 3); /* the countdown really failed some allocations */
}

static void dictionary(void **state)
{
    const dcm_dict_entry *d;

    (void)state;
    d = dcm_dict_find(DCM_TAG(0x0010, 0x0010));
    assert_non_null(d);
    assert_string_equal(d->keyword, "PatientName");
    assert_int_equal(d->vr, DCM_VR_PN);
    d = dcm_dict_find(DCM_TAG(0x6002, 0x3000)); /* repeating group 60xx */
    assert_non_null(d);
    assert_string_equal(d->keyword, "OverlayData");
    assert_ptr_equal(dcm_dict_find_keyword("PatientID"), dcm_dict_find(DCM_TAG(0x10, 0x20)));
    assert_null(dcm_dict_find(DCM_TAG(0x0009, 0x1001)));
    assert_int_equal(dcm_dict_vr(DCM_TAG(0x0009, 0x0010)), DCM_VR_LO);
    assert_int_equal(dcm_dict_vr(DCM_TAG(0x0009, 0x1001)), DCM_VR_UN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(explicit_le_values),
        cmocka_unit_test(big_endian_values_are_swapped),
        cmocka_unit_test(bare_implicit_dataset_is_guessed),
        cmocka_unit_test(hostile_input),
        cmocka_unit_test(nesting_limit),
        cmocka_unit_test(element_count_limit),
        cmocka_unit_test(duplicate_and_out_of_order_warn),
        cmocka_unit_test(trailing_zero_padding_warns),
        cmocka_unit_test(write_read_every_syntax),
        cmocka_unit_test(relabel_refused),
        cmocka_unit_test(out_of_memory_everywhere),
        cmocka_unit_test(dictionary),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
