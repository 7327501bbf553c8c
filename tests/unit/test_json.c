/* SPDX-License-Identifier: Apache-2.0 */
/* test_json.c - DICOM JSON Model writer (PS3.18 F.2).
 *
 * Datasets are built in memory; the expected fragments follow the rules of F.2.2-F.2.7.  Every
 * output also goes through a small RFC 8259 syntax checker and a UTF-8 check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "dicom/charset.h"
#include "dicom/dicom.h"
#include "dicom/json.h"

#include "common/banned.h"

/* ---- a minimal JSON syntax checker -------------------------------------------------------- */

typedef struct jp {
    const char *p, *end;
    int depth;
} jp;

static int jvalue(jp *j);

static void jws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static int jstring(jp *j)
{
    if (j->p >= j->end || *j->p != '"')
        return 0;
    for (j->p++; j->p < j->end; j->p++) {
        unsigned char c = (unsigned char)*j->p;
        if (c == '"') {
            j->p++;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            j->p++;
            if (j->p >= j->end || !strchr("\"\\/bfnrtu", *j->p))
                return 0;
        }
    }
    return 0;
}

static int jnumber(jp *j)
{
    const char *s = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
        return 0;
    if (*j->p == '0')
        j->p++;
    else
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return 0;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return 0;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    return j->p > s;
}

static int jcontainer(jp *j, char close, int object)
{
    j->p++;
    jws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 1;
    }
    for (;;) {
        jws(j);
        if (object) {
            if (!jstring(j))
                return 0;
            jws(j);
            if (j->p >= j->end || *j->p++ != ':')
                return 0;
        }
        if (!jvalue(j))
            return 0;
        jws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 1;
        }
        return 0;
    }
}

static int jvalue(jp *j)
{
    int ok;

    jws(j);
    if (j->p >= j->end || ++j->depth > 200)
        return 0;
    if (*j->p == '{')
        ok = jcontainer(j, '}', 1);
    else if (*j->p == '[')
        ok = jcontainer(j, ']', 0);
    else if (*j->p == '"')
        ok = jstring(j);
    else if (j->end - j->p >= 4 && !memcmp(j->p, "null", 4))
        ok = (j->p += 4, 1);
    else
        ok = jnumber(j);
    j->depth--;
    return ok;
}

static void assert_json(const dv_buf *b)
{
    jp j = {(const char *)b->p, (const char *)b->p + b->len, 0};

    assert_non_null(b->p);
    assert_int_equal(dcm_utf8_valid_prefix(b->p, b->len), b->len);
    assert_true(jvalue(&j));
    jws(&j);
    assert_true(j.p == j.end);
}

/* ---- helpers ------------------------------------------------------------------------------ */

static dcm_file *new_file(void)
{
    dcm_file *f = NULL;
    assert_int_equal(dcm_file_new(&f), DV_OK);
    return f;
}

static void set(dcm_file *f, dcm_ds *ds, uint32_t tag, dcm_vr vr, const void *v, size_t n)
{
    assert_int_equal(dcm_ds_set(f, ds, tag, vr, v, (uint32_t)n), DV_OK);
}

#define SET(f, ds, tag, vr, lit) set(f, ds, tag, vr, lit, sizeof(lit) - 1)

/* Writes ds compact into out (initialised here) and checks the syntax; returns notes. */
static unsigned write_json(const dcm_file *f, const dcm_ds *ds, unsigned flags, dv_buf *out)
{
    unsigned notes = 0;
    dcm_json_opts o = {flags, 0, NULL, NULL, &notes};
    dv_errinfo ei;

    dv_buf_init(out, 1 << 20);
    assert_int_equal(dcm_json_write(f, ds, &o, out, &ei), DV_OK);
    assert_json(out);
    return notes;
}

static void has(const dv_buf *b, const char *frag)
{
    if (!strstr((const char *)b->p, frag)) {
        print_error("missing %s in %s\n", frag, (const char *)b->p);
        fail();
    }
}

static void lacks(const dv_buf *b, const char *frag)
{
    if (strstr((const char *)b->p, frag)) {
        print_error("unexpected %s in %s\n", frag, (const char *)b->p);
        fail();
    }
}

/* ---- tests -------------------------------------------------------------------------------- */

static void empty_dataset(void **state)
{
    dcm_file *f = new_file();
    dv_buf out;
    (void)state;

    write_json(f, NULL, 0, &out);
    assert_string_equal((const char *)out.p, "{}");
    dv_buf_release(&out);
    dcm_file_free(f);
}

static void strings_and_padding(void **state)
{
    dcm_file *f = new_file();
    dv_buf out;
    (void)state;

    SET(f, &f->ds, DCM_TAG(0x0008, 0x0008), DCM_VR_CS, "ORIGINAL\\PRIMARY\\\\ AXIAL ");
    SET(f, &f->ds, DCM_TAG(0x0008, 0x0016), DCM_VR_UI, "1.2.3\0");
    SET(f, &f->ds, DCM_TAG(0x0008, 0x0050), DCM_VR_SH, "  ");
    SET(f, &f->ds, DCM_TAG(0x0008, 0x0020), DCM_VR_DA, "");
    SET(f, &f->ds, DCM_TAG(0x0020, 0x4000), DCM_VR_LT, "  keep\\lead ");
    write_json(f, NULL, 0, &out);
    has(&out, "\"00080008\":{\"vr\":\"CS\",\"Value\":[\"ORIGINAL\",\"PRIMARY\",null,\"AXIAL\"]}");
    has(&out, "\"00080016\":{\"vr\":\"UI\",\"Value\":[\"1.2.3\"]}");
    has(&out, "\"00080050\":{\"vr\":\"SH\"}"); /* only padding: empty */
    has(&out, "\"00080020\":{\"vr\":\"DA\"}");
    has(&out, "\"00204000\":{\"vr\":\"LT\",\"Value\":[\"  keep\\\\lead\"]}");
    /* members in ascending tag order */
    assert_true(strstr((char *)out.p, "00080008") < strstr((char *)out.p, "00080016"));
    assert_true(strstr((char *)out.p, "00080016") < strstr((char *)out.p, "00080020"));
    dv_buf_release(&out);
    dcm_file_free(f);
}

static void numbers_from_strings(void **state)
{
    dcm_file *f = new_file();
    dv_buf out;
    unsigned notes;
    (void)state;

    SET(f, &f->ds, DCM_TAG(0x0020, 0x0032), DCM_VR_DS, "+1.5\\-.5\\007\\1E3\\5.\\ 3.0 ");
    SET(f, &f->ds, DCM_TAG(0x0020, 0x0013), DCM_VR_IS, "+12\\-0\\1.5");
    SET(f, &f->ds, DCM_TAG(0x0018, 0x0050), DCM_VR_DS, "abc");
    notes = write_json(f, NULL, 0, &out);
    has(&out, "\"Value\":[1.5,-0.5,7,1e3,5,3.0]");
    has(&out, "\"00200013\":{\"vr\":\"IS\",\"Value\":[12,-0,\"1.5\"]}");
    has(&out, "\"00180050\":{\"vr\":\"DS\",\"Value\":[\"abc\"]}");
    assert_true(notes & DCM_JSON_N_NUMSTR);
    dv_buf_release(&out);
    dcm_file_free(f);
}

static void binary_numbers(void **state)
{
    dcm_file *f = new_file();
    dv_buf out;
    unsigned notes;
    const uint8_t us[] = {0x00, 0x02, 0xFF, 0xFF};
    const uint8_t ss[] = {0xFF, 0xFF};
    const uint8_t sl[] = {0xFE, 0xFF, 0xFF, 0xFF};
    const uint8_t ul[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    const uint8_t fl[] = {0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0xC0, 0x7F};
    const uint8_t fd[] = {0x9A, 0x99, 0x99, 0x99, 0x99, 0x99, 0xB9, 0x3F};
    const uint8_t sv[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                          0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00};
    const uint8_t uv[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    const uint8_t at[] = {0x10, 0x00, 0x20, 0x00, 0xE0, 0x7F, 0x10, 0x00};
    (void)state;

    set(f, &f->ds, DCM_TAG(0x0028, 0x0010), DCM_VR_US, us, sizeof(us));
    set(f, &f->ds, DCM_TAG(0x0028, 0x0106), DCM_VR_SS, ss, sizeof(ss));
    set(f, &f->ds, DCM_TAG(0x0018, 0x6020), DCM_VR_SL, sl, sizeof(sl));
    set(f, &f->ds, DCM_TAG(0x0018, 0x6022), DCM_VR_UL, ul, sizeof(ul));
    set(f, &f->ds, DCM_TAG(0x0018, 0x9087), DCM_VR_FL, fl, sizeof(fl));
    set(f, &f->ds, DCM_TAG(0x0018, 0x9089), DCM_VR_FD, fd, sizeof(fd));
    set(f, &f->ds, DCM_TAG(0x0019, 0x1001), DCM_VR_SV, sv, sizeof(sv));
    set(f, &f->ds, DCM_TAG(0x0019, 0x1002), DCM_VR_UV, uv, sizeof(uv));
    set(f, &f->ds, DCM_TAG(0x0020, 0x9165), DCM_VR_AT, at, sizeof(at));
    notes = write_json(f, NULL, 0, &out);
    has(&out, "\"00280010\":{\"vr\":\"US\",\"Value\":[512,65535]}");
    has(&out, "\"00280106\":{\"vr\":\"SS\",\"Value\":[-1]}");
    has(&out, "\"00186020\":{\"vr\":\"SL\",\"Value\":[-2]}");
    has(&out, "\"00186022\":{\"vr\":\"UL\",\"Value\":[4294967295]}"); /* partial value dropped */
    has(&out, "\"00189087\":{\"vr\":\"FL\",\"Value\":[1.5,\"NaN\"]}");
    has(&out, "\"00189089\":{\"vr\":\"FD\",\"Value\":[0.1]}");
    has(&out, "\"00191001\":{\"vr\":\"SV\",\"Value\":[-1,\"9007199254740992\"]}");
    has(&out, "\"00191002\":{\"vr\":\"UV\",\"Value\":[\"18446744073709551615\"]}");
    has(&out, "\"00209165\":{\"vr\":\"AT\",\"Value\":[\"00100020\",\"7FE00010\"]}");
    assert_true(notes & DCM_JSON_N_TRUNCVAL);
    assert_true(notes & DCM_JSON_N_NONFINITE);
    dv_buf_release(&out);
    dcm_file_free(f);
}

static void person_names(void **state)
{
    dcm_file *f = new_file();
    dv_buf out;
    (void)state;

    SET(f, &f->ds, DCM_TAG_SPECIFIC_CHARSET, DCM_VR_CS, "\\ISO 2022 IR 87 ");
    SET(f, &f->ds, DCM_TAG(0x0008, 0x0090), DCM_VR_PN, "^^^^");
    SET(f, &f->ds, DCM_TAG(0x0008, 0x1050), DCM_VR_PN, "A^B\\=\\Doe^John^^^ ");
    SET(f, &f->ds, DCM_TAG(0x0010, 0x0010), DCM_VR_PN,
        "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B");
    SET(f, &f->ds, DCM_TAG(0x0010, 0x1001), DCM_VR_PN, "==Phon");
    write_json(f, NULL, 0, &out);
    has(&out, "\"00080005\":{\"vr\":\"CS\",\"Value\":[null,\"ISO 2022 IR 87\"]}");
    has(&out, "\"00080090\":{\"vr\":\"PN\"}");
    has(&out, "\"00081050\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"A^B\"},null,"
              "{\"Alphabetic\":\"Doe^John\"}]}");
    has(&out, "\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"Yamada^Tarou\","
              "\"Ideographic\":\"山田^太郎\",\"Phonetic\":\"やまだ^たろう\"}]}");
    has(&out, "\"00101001\":{\"vr\":\"PN\",\"Value\":[{\"Phonetic\":\"Phon\"}]}");
    dv_buf_release(&out);
    dcm_file_free(f);
}

static void escaping(void **state)
{
    dcm_file *f = new_file();
    dv_buf out;
    unsigned notes;
    (void)state;

    SET(f, &f->ds, DCM_TAG(0x0020, 0x4000), DCM_VR_LT, "a\"b\\c\x01\r\n\td\x7f");
    SET(f, &f->ds, DCM_TAG(0x0010, 0x0010), DCM_VR_PN, "M\xfcller\xff");
    notes = write_json(f, NULL, 0, &out);
    has(&out, "\"Value\":[\"a\\\"b\\\\c\\u0001\\r\\n\\td\\u007f\"]");
    /* no character set: Latin-1 guess, reported */
    has(&out, "{\"Alphabetic\":\"Müllerÿ\"}");
    assert_true(notes & DCM_JSON_N_CHARSET);
    dv_buf_release(&out);
    dcm_file_free(f);
}

static void binary_inline(void **state)
{
    dcm_file *f = new_file();
    dv_buf out;
    (void)state;

    SET(f, &f->ds, DCM_TAG(0x0009, 0x1001), DCM_VR_OB, "Man");
    SET(f, &f->ds, DCM_TAG(0x0009, 0x1002), DCM_VR_UN, "Ma");
    SET(f, &f->ds, DCM_TAG(0x0009, 0x1003), DCM_VR_OW, "M\0");
    set(f, &f->ds, DCM_TAG(0x0009, 0x1004), DCM_VR_OB, NULL, 0);
    SET(f, &f->ds, DCM_TAG(0x0009, 0x1005), DCM_VR('Z', 'Z'), "xyz!");
    write_json(f, NULL, 0, &out);
    has(&out, "\"00091001\":{\"vr\":\"OB\",\"InlineBinary\":\"TWFu\"}");
    has(&out, "\"00091002\":{\"vr\":\"UN\",\"InlineBinary\":\"TWE=\"}");
    has(&out, "\"00091003\":{\"vr\":\"OW\",\"InlineBinary\":\"TQA=\"}");
    has(&out, "\"00091004\":{\"vr\":\"OB\"}");
    has(&out, "\"00091005\":{\"vr\":\"UN\",\"InlineBinary\":\"eHl6IQ==\"}");
    dv_buf_release(&out);
    dcm_file_free(f);
}

static dv_err bulk_cb(void *ctx, const uint32_t *tags, const uint32_t *items, unsigned depth,
                      const dcm_elem *e, dv_buf *uri)
{
    int *calls = ctx;

    (*calls)++;
    assert_int_equal(tags[depth - 1], e->tag);
    if (depth > 1)
        return dv_buf_printf(uri, "bulk/%08X/%u/%08X", (unsigned)tags[0], (unsigned)items[0],
                             (unsigned)e->tag);
    return dv_buf_printf(uri, "bulk/%08X", (unsigned)e->tag);
}

static void bulk_data(void **state)
{
    dcm_file *f = new_file();
    dcm_elem *sq;
    dcm_ds *item;
    dv_buf out;
    dv_errinfo ei;
    int calls = 0;
    dcm_json_opts o = {0, 4, bulk_cb, &calls, NULL};
    (void)state;

    SET(f, &f->ds, DCM_TAG(0x0009, 0x1001), DCM_VR_OB, "abc");
    SET(f, &f->ds, DCM_TAG(0x7FE0, 0x0010), DCM_VR_OW, "abcdef");
    assert_int_equal(dcm_ds_insert(f, &f->ds, DCM_TAG(0x0040, 0x0275), DCM_VR_SQ, &sq), DV_OK);
    assert_int_equal(dcm_elem_add_item(f, sq, &item), DV_OK);
    SET(f, item, DCM_TAG(0x0009, 0x1010), DCM_VR_OB, "12345678");
    dv_buf_init(&out, 1 << 20);
    assert_int_equal(dcm_json_write(f, NULL, &o, &out, &ei), DV_OK);
    assert_json(&out);
    has(&out, "\"00091001\":{\"vr\":\"OB\",\"InlineBinary\":\"YWJj\"}");
    has(&out, "\"7FE00010\":{\"vr\":\"OW\",\"BulkDataURI\":\"bulk/7FE00010\"}");
    has(&out, "\"00091010\":{\"vr\":\"OB\",\"BulkDataURI\":\"bulk/00400275/0/00091010\"}");
    assert_int_equal(calls, 2);
    dv_buf_release(&out);
    dcm_file_free(f);
}

static void sequences_and_item_charset(void **state)
{
    dcm_file *f = new_file();
    dcm_elem *sq;
    dcm_ds *item;
    dv_buf out;
    (void)state;

    SET(f, &f->ds, DCM_TAG_SPECIFIC_CHARSET, DCM_VR_CS, "ISO_IR 100");
    SET(f, &f->ds, DCM_TAG(0x0010, 0x0010), DCM_VR_PN, "J\xe9r\xf4me");
    assert_int_equal(dcm_ds_insert(f, &f->ds, DCM_TAG(0x0008, 0x1115), DCM_VR_SQ, &sq), DV_OK);
    assert_int_equal(dcm_elem_add_item(f, sq, &item), DV_OK);
    SET(f, item, DCM_TAG_SPECIFIC_CHARSET, DCM_VR_CS, "ISO_IR 144");
    SET(f, item, DCM_TAG(0x0010, 0x0010), DCM_VR_PN, "\xbb\xee\xda");
    assert_int_equal(dcm_elem_add_item(f, sq, &item), DV_OK); /* empty item */
    assert_int_equal(dcm_elem_add_item(f, sq, &item), DV_OK); /* inherits Latin-1 */
    SET(f, item, DCM_TAG(0x0010, 0x0020), DCM_VR_LO, "\xe9");
    assert_int_equal(dcm_ds_insert(f, &f->ds, DCM_TAG(0x0008, 0x1140), DCM_VR_SQ, &sq), DV_OK);
    write_json(f, NULL, 0, &out);
    has(&out, "{\"Alphabetic\":\"Jérôme\"}");
    has(&out, "\"00081115\":{\"vr\":\"SQ\",\"Value\":[{\"00080005\":{\"vr\":\"CS\",\"Value\":["
              "\"ISO_IR 144\"]},\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"Люк\"}]"
              "}},{},{\"00100020\":{\"vr\":\"LO\",\"Value\":[\"é\"]}}]}");
    has(&out, "\"00081140\":{\"vr\":\"SQ\"}");
    dv_buf_release(&out);
    dcm_file_free(f);
}

static void meta_and_group_length(void **state)
{
    dcm_file *f = new_file();
    dv_buf out;
    const uint8_t gl[4] = {10, 0, 0, 0};
    (void)state;

    set(f, &f->meta, DCM_TAG(0x0002, 0x0000), DCM_VR_UL, gl, 4);
    SET(f, &f->meta, DCM_TAG_TRANSFER_SYNTAX, DCM_VR_UI, "1.2.840.10008.1.2.1\0");
    set(f, &f->ds, DCM_TAG(0x0008, 0x0000), DCM_VR_UL, gl, 4);
    SET(f, &f->ds, DCM_TAG(0x0008, 0x0060), DCM_VR_CS, "CT");
    write_json(f, NULL, 0, &out);
    lacks(&out, "00020010");
    lacks(&out, "00080000");
    dv_buf_release(&out);
    write_json(f, NULL, DCM_JSON_META, &out);
    has(&out, "{\"00020010\":{\"vr\":\"UI\",\"Value\":[\"1.2.840.10008.1.2.1\"]},\"00080060\"");
    lacks(&out, "00020000");
    dv_buf_release(&out);
    dcm_file_free(f);
}

static void pretty(void **state)
{
    dcm_file *f = new_file();
    dv_buf out;
    (void)state;

    SET(f, &f->ds, DCM_TAG(0x0008, 0x0060), DCM_VR_CS, "CT");
    SET(f, &f->ds, DCM_TAG(0x0010, 0x0010), DCM_VR_PN, "A=B");
    write_json(f, NULL, DCM_JSON_PRETTY, &out);
    has(&out, "{\n  \"00080060\": {\n    \"vr\": \"CS\",\n    \"Value\": [\n      \"CT\"\n    ]\n"
              "  },");
    has(&out, "\"Ideographic\": \"B\"\n");
    dv_buf_release(&out);
    dcm_file_free(f);
}

static void encapsulated_pixels(void **state)
{
    dcm_file *f = new_file();
    dcm_elem *px;
    dv_buf out;
    unsigned notes;
    static const uint8_t frag[] = {0xFF, 0xD8, 0xFF, 0xD9};
    (void)state;

    assert_int_equal(dcm_ds_insert(f, &f->ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB, &px), DV_OK);
    px->frags = dv_arena_alloc(&f->arena, 2 * sizeof(dcm_frag));
    assert_non_null(px->frags);
    px->nfrags = 2;
    px->undef_len = 1;
    px->frags[0].p = NULL;
    px->frags[0].len = 0;
    px->frags[1].p = frag;
    px->frags[1].len = sizeof(frag);
    notes = write_json(f, NULL, 0, &out);
    has(&out, "\"7FE00010\":{\"vr\":\"OB\"}");
    assert_true(notes & DCM_JSON_N_OMITTED);
    dv_buf_release(&out);
    write_json(f, NULL, DCM_JSON_ENCAP_INLINE, &out);
    /* FE FF 00 E0 00 00 00 00 | FE FF 00 E0 04 00 00 00 FF D8 FF D9 | FE FF DD E0 00 00 00 00 */
    has(&out, "\"InlineBinary\":\"/v8A4AAAAAD+/wDgBAAAAP/Y/9n+/93gAAAAAA==\"");
    dv_buf_release(&out);
    dcm_file_free(f);
}

static void limits_and_errors(void **state)
{
    dcm_file *f = new_file();
    dcm_ds *ds = &f->ds;
    dcm_elem *sq;
    dv_buf out;
    dv_errinfo ei;
    dcm_json_opts strict = {DCM_JSON_STRICT, 0, NULL, NULL, NULL};
    (void)state;

    SET(f, ds, DCM_TAG(0x0008, 0x0060), DCM_VR_CS, "CT");
    dv_buf_init(&out, 8);
    assert_int_equal(dcm_json_write(f, NULL, NULL, &out, &ei), DV_ELIMIT);
    dv_buf_release(&out);
    assert_int_equal(dcm_json_write(NULL, NULL, NULL, &out, &ei), DV_EINVAL);
    strict.flags |= DCM_JSON_META;
    assert_int_equal(dcm_json_write(NULL, ds, &strict, &out, &ei), DV_EINVAL);
    strict.flags = DCM_JSON_STRICT;

    /* an unknown character set is an error only when strict */
    SET(f, ds, DCM_TAG_SPECIFIC_CHARSET, DCM_VR_CS, "ISO_IR 999");
    dv_buf_init(&out, 1 << 16);
    assert_int_equal(dcm_json_write(f, NULL, &strict, &out, &ei), DV_ECHARSET);
    dv_buf_reset(&out);
    assert_int_equal(dcm_json_write(f, NULL, NULL, &out, &ei), DV_OK);
    dv_buf_release(&out);

    /* nesting deeper than DCM_JSON_MAX_DEPTH */
    for (int i = 0; i < DCM_JSON_MAX_DEPTH + 2; i++) {
        assert_int_equal(dcm_ds_insert(f, ds, DCM_TAG(0x0040, 0xA730), DCM_VR_SQ, &sq), DV_OK);
        assert_int_equal(dcm_elem_add_item(f, sq, &ds), DV_OK);
    }
    dv_buf_init(&out, 1 << 20);
    assert_int_equal(dcm_json_write(f, NULL, NULL, &out, &ei), DV_ELIMIT);
    assert_int_equal(ei.tag, DCM_TAG(0x0040, 0xA730));
    dv_buf_release(&out);
    dcm_file_free(f);
}

static void add_string(void **state)
{
    dv_buf out;
    (void)state;

    dv_buf_init(&out, 64);
    assert_int_equal(dcm_json_add_string(&out, (const uint8_t *)"a\xff\"", 3), DV_OK);
    assert_string_equal((const char *)out.p, "\"a\xef\xbf\xbd\\\"\"");
    dv_buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_dataset),
        cmocka_unit_test(strings_and_padding),
        cmocka_unit_test(numbers_from_strings),
        cmocka_unit_test(binary_numbers),
        cmocka_unit_test(person_names),
        cmocka_unit_test(escaping),
        cmocka_unit_test(binary_inline),
        cmocka_unit_test(bulk_data),
        cmocka_unit_test(sequences_and_item_charset),
        cmocka_unit_test(meta_and_group_length),
        cmocka_unit_test(pretty),
        cmocka_unit_test(encapsulated_pixels),
        cmocka_unit_test(limits_and_errors),
        cmocka_unit_test(add_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
