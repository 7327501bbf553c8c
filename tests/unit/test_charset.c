/* SPDX-License-Identifier: Apache-2.0 */
/* test_charset.c - Specific Character Set parsing and conversion to UTF-8.
 *
 * The multi-byte byte strings are the examples printed in PS3.5 Annexes H (Japanese), I
 * (Korean), J (GB18030) and K (GB2312); the single-byte ones are the names of David Clunie's
 * character set test files; expected texts are the names those examples spell. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "dicom/charset.h"
#include "dicom/dicom.h"

#include "common/banned.h"

/* Converts val under the character set spelled cs_value; returns flags, fills out. */
static unsigned conv(const char *cs_value, dcm_vr vr, const char *val, size_t len, dv_buf *out)
{
    dcm_charset cs;
    dv_errinfo ei;
    unsigned flags = 0;

    assert_int_equal(dcm_charset_parse_value((const uint8_t *)cs_value, strlen(cs_value), &cs, &ei),
                     DV_OK);
    dv_buf_init(out, 1 << 16);
    assert_int_equal(
        dcm_charset_to_utf8_flags(&cs, vr, (const uint8_t *)val, len, out, &flags, &ei), DV_OK);
    assert_int_equal(dcm_utf8_valid_prefix(out->p, out->len), out->len);
    return flags;
}

static void expect(const char *cs_value, dcm_vr vr, const char *val, size_t len, const char *want,
                   unsigned want_flags)
{
    dv_buf out;
    unsigned flags = conv(cs_value, vr, val, len, &out);

    assert_non_null(out.p);
    assert_string_equal((const char *)out.p, want);
    assert_int_equal(out.len, strlen(want));
    assert_int_equal(flags, want_flags);
    dv_buf_release(&out);
}

#define EXPECT(cs, vr, lit, want, fl) expect(cs, vr, lit, sizeof(lit) - 1, want, fl)

/* ---- parsing ----------------------------------------------------------------------------- */

static void parse_terms(void **state)
{
    dcm_charset cs;
    dv_errinfo ei;
    (void)state;

    assert_int_equal(dcm_charset_parse_value(NULL, 0, &cs, &ei), DV_OK);
    assert_int_equal(cs.n, 0);
    assert_int_equal(dcm_charset_parse_value((const uint8_t *)"  ", 2, &cs, &ei), DV_OK);
    assert_int_equal(cs.n, 0);
    assert_int_equal(dcm_charset_parse_value((const uint8_t *)"ISO_IR 100", 10, &cs, &ei), DV_OK);
    assert_int_equal(cs.n, 1);
    assert_int_equal(cs.term[0], DCM_CS_IR100);
    assert_int_equal(cs.iso2022, 0);
    assert_int_equal(dcm_charset_parse_value((const uint8_t *)"\\ISO 2022 IR 87 ", 16, &cs, &ei),
                     DV_OK);
    assert_int_equal(cs.n, 2);
    assert_int_equal(cs.term[0], DCM_CS_IR6);
    assert_int_equal(cs.term[1], DCM_CS_IR87);
    assert_int_equal(cs.iso2022, 1);
    assert_int_equal(cs.lenient, 0);
    assert_int_equal(dcm_charset_parse_value((const uint8_t *)"ISO_IR 192\0", 11, &cs, &ei), DV_OK);
    assert_int_equal(cs.term[0], DCM_CS_IR192);
    assert_int_equal(dcm_charset_parse_value((const uint8_t *)"GB18030", 7, &cs, &ei), DV_OK);
    assert_int_equal(cs.term[0], DCM_CS_GB18030);
}

static void parse_lenient(void **state)
{
    dcm_charset cs;
    dv_errinfo ei;
    (void)state;

    assert_int_equal(dcm_charset_parse_value((const uint8_t *)"iso-ir 100", 10, &cs, &ei), DV_OK);
    assert_int_equal(cs.term[0], DCM_CS_IR100);
    assert_int_equal(cs.lenient, 1);
    assert_int_equal(dcm_charset_parse_value((const uint8_t *)"ISO_2022_IR_149", 15, &cs, &ei),
                     DV_OK);
    assert_int_equal(cs.term[0], DCM_CS_IR149);
}

static void parse_unknown(void **state)
{
    static const char v[] = "ISO_IR 100\\SECRET_NAME";
    dcm_charset cs;
    dv_errinfo ei;
    (void)state;

    dv_errinfo_clear(&ei);
    assert_int_equal(dcm_charset_parse_value((const uint8_t *)v, sizeof(v) - 1, &cs, &ei),
                     DV_ECHARSET);
    assert_int_equal(cs.n, 2); /* still usable */
    assert_int_equal(cs.term[0], DCM_CS_IR100);
    assert_int_equal(cs.term[1], DCM_CS_UNKNOWN);
    assert_non_null(strstr(ei.msg, "value 2"));
    assert_null(strstr(ei.msg, "SECRET")); /* never the value itself */
    assert_int_equal(ei.tag, DCM_TAG_SPECIFIC_CHARSET);
}

static void parse_too_many(void **state)
{
    static const char v[] = "\\ISO 2022 IR 87\\ISO 2022 IR 87\\ISO 2022 IR 87\\ISO 2022 IR 87"
                            "\\ISO 2022 IR 87\\ISO 2022 IR 87\\ISO 2022 IR 87\\ISO 2022 IR 87";
    dcm_charset cs;
    dv_errinfo ei;
    (void)state;

    assert_int_equal(dcm_charset_parse_value((const uint8_t *)v, sizeof(v) - 1, &cs, &ei),
                     DV_ECHARSET);
    assert_int_equal(cs.n, DCM_CHARSET_MAX);
}

static void parse_from_dataset(void **state)
{
    dcm_file *f = NULL;
    dcm_charset cs;
    dv_errinfo ei;
    (void)state;

    assert_int_equal(dcm_file_new(&f), DV_OK);
    assert_int_equal(dcm_charset_parse(&f->ds, &cs, &ei), DV_OK);
    assert_int_equal(cs.n, 0);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG_SPECIFIC_CHARSET, DCM_VR_CS,
                                    "ISO 2022 IR 13\\ISO 2022 IR 87"),
                     DV_OK);
    assert_int_equal(dcm_charset_parse(&f->ds, &cs, &ei), DV_OK);
    assert_int_equal(cs.n, 2);
    assert_int_equal(cs.term[0], DCM_CS_IR13);
    assert_int_equal(cs.term[1], DCM_CS_IR87);
    dcm_file_free(f);
}

/* ---- PS3.5 annex examples ------------------------------------------------------------------ */

static void annex_h_example1(void **state)
{
    (void)state;
    EXPECT("\\ISO 2022 IR 87", DCM_VR_PN,
           "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
           "Yamada^Tarou=山田^太郎=やまだ^たろう", 0);
}

static void annex_h_example2(void **state)
{
    (void)state;
    EXPECT("ISO 2022 IR 13\\ISO 2022 IR 87", DCM_VR_PN,
           "\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J=\x1b$B$d$^$@\x1b(J^"
           "\x1b$B$?$m$&\x1b(J",
           "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう", 0);
}

static void annex_i_korean(void **state)
{
    (void)state;
    EXPECT("\\ISO 2022 IR 149", DCM_VR_PN,
           "Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6"
           "\xb5\xbf",
           "Hong^Gildong=洪^吉洞=홍^길동", 0);
}

static void annex_j_gb18030(void **state)
{
    (void)state;
    EXPECT("GB18030", DCM_VR_PN,
           "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=", "Wang^XiaoDong=王^小东=", 0);
    /* a four-byte GB18030 sequence */
    EXPECT("GB18030", DCM_VR_LO, "\x81\x30\x81\x30", "\xc2\x80", 0);
}

static void annex_k_gb2312(void **state)
{
    (void)state;
    EXPECT(
        "\\ISO 2022 IR 58", DCM_VR_PN,
        "Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab= ", "Zhang^XiaoDong=张^小东= ", 0);
}

static void jis_x0212(void **state)
{
    (void)state;
    /* ISO 2022 IR 159, supplementary kanji: row 0x30 cell 0x21 */
    EXPECT("\\ISO 2022 IR 87\\ISO 2022 IR 159", DCM_VR_LO, "\x1b$(D\x30\x21\x1b(BA", "丂A", 0);
}

static void utf8_name(void **state)
{
    (void)state;
    EXPECT("ISO_IR 192", DCM_VR_PN,
           "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1=", "Wang^XiaoDong=王^小東=", 0);
}

/* ---- single-byte sets ---------------------------------------------------------------------- */

static void single_byte_sets(void **state)
{
    (void)state;
    EXPECT("ISO_IR 100", DCM_VR_PN, "Buc^J\xe9r\xf4me", "Buc^Jérôme", 0);
    EXPECT("ISO_IR 100", DCM_VR_PN,
           "\xc4neas^R\xfc"
           "diger",
           "Äneas^Rüdiger", 0);
    EXPECT("ISO_IR 126", DCM_VR_PN, "\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2", "Διονυσιος", 0);
    EXPECT("ISO_IR 144", DCM_VR_PN, "\xbb\xee\xda\x63\x65\xdc\xd1\x79\x70\xd3", "Люкceмбypг", 0);
    EXPECT("ISO_IR 127", DCM_VR_PN, "\xe2\xc8\xc7\xe6\xea^\xe4\xe6\xd2\xc7\xd1", "قباني^لنزار", 0);
    EXPECT("ISO_IR 138", DCM_VR_PN, "\xf9\xf8\xe5\xef^\xe3\xe1\xe5\xf8\xe4", "שרון^דבורה", 0);
    EXPECT("ISO_IR 101", DCM_VR_LO, "\xb1", "ą", 0);
    EXPECT("ISO_IR 109", DCM_VR_LO, "\xa1", "Ħ", 0);
    EXPECT("ISO_IR 110", DCM_VR_LO, "\xa1", "Ą", 0);
    EXPECT("ISO_IR 148", DCM_VR_LO, "\xf0", "ğ", 0);
    EXPECT("ISO_IR 203", DCM_VR_LO, "\xa4", "€", 0);
    EXPECT("ISO_IR 166", DCM_VR_LO, "\xa1", "ก", 0);
    EXPECT("ISO_IR 13", DCM_VR_LO, "\xb1", "ｱ", 0);
}

static void code_extension_single_byte(void **state)
{
    (void)state;
    /* value 1 Latin-1, then a switch of G1 to Greek in the same value */
    EXPECT("ISO 2022 IR 100\\ISO 2022 IR 126", DCM_VR_LO, "\xe9 \x1b-F\xc4", "é Δ", 0);
    /* the switch ends at the value delimiter: back to Latin-1 */
    EXPECT("ISO 2022 IR 100\\ISO 2022 IR 126", DCM_VR_LO, "\x1b-F\xc4\\\xc4", "Δ\\Ä", 0);
}

/* ---- delimiters and JIS X 0201 Roman ------------------------------------------------------- */

static void control_resets_g0(void **state)
{
    (void)state;
    /* no ESC ( B before CR: the CR itself restores ASCII (PS3.5 6.1.2.5.3) */
    EXPECT("\\ISO 2022 IR 87", DCM_VR_ST, "\x1b$B;3ED\r\nA", "山田\r\nA", 0);
}

static void delimiter_resets_g1(void **state)
{
    (void)state;
    /* after '^' G1 is back to none: a KS X 1001 byte pair is not Korean any more */
    EXPECT("\\ISO 2022 IR 149", DCM_VR_PN, "\x1b$)C\xb1\xe8^\xb1\xe8", "김^±è", DCM_CS_GUESSED);
    /* in LO, '^' is not a delimiter, so G1 stays */
    EXPECT("\\ISO 2022 IR 149", DCM_VR_LO, "\x1b$)C\xb1\xe8^\xb1\xe8", "김^김", 0);
}

static void kanji_with_delimiter_bytes(void **state)
{
    (void)state;
    /* JIS X 0208 row 0x5E and cell 0x5C: bytes of a kanji, not delimiters */
    EXPECT("\\ISO 2022 IR 87", DCM_VR_PN, "\x1b$B\x5e\x5c\x1b(B", "湃", 0);
}

static void romaji_backslash(void **state)
{
    (void)state;
    EXPECT("ISO 2022 IR 13", DCM_VR_LT, "a\\b~", "a¥b‾", 0);
    EXPECT("ISO 2022 IR 13", DCM_VR_LO, "a\\b", "a\\b", 0);
}

static void gbk_second_byte_backslash(void **state)
{
    dv_buf out;
    (void)state;

    /* 0x81 0x5C is one GBK/GB18030 character: no '\\' may appear in the output */
    conv("GBK", DCM_VR_LO, "\x81\x5c", 2, &out);
    assert_null(memchr(out.p, '\\', out.len));
    assert_int_equal(out.len, 3);
    dv_buf_release(&out);
    conv("GB18030", DCM_VR_LO, "\x81\x5c\\A", 4, &out);
    assert_int_equal(out.len, 5);
    assert_int_equal(out.p[3], '\\');
    dv_buf_release(&out);
}

/* ---- bad input ----------------------------------------------------------------------------- */

static void broken_escapes(void **state)
{
    (void)state;
    EXPECT("\\ISO 2022 IR 87", DCM_VR_PN, "A\x1b", "A\xef\xbf\xbd",
           DCM_CS_REPLACED | DCM_CS_BAD_ESCAPE);
    EXPECT("\\ISO 2022 IR 87", DCM_VR_PN, "A\x1b$", "A\xef\xbf\xbd",
           DCM_CS_REPLACED | DCM_CS_BAD_ESCAPE);
    EXPECT("\\ISO 2022 IR 87", DCM_VR_PN, "A\x1b$)ZB",
           "A\xef\xbf\xbd"
           "B",
           DCM_CS_REPLACED | DCM_CS_BAD_ESCAPE);
    EXPECT("\\ISO 2022 IR 87", DCM_VR_PN,
           "\x1b\x01"
           "B",
           "\xef\xbf\xbd\x01"
           "B",
           DCM_CS_REPLACED | DCM_CS_BAD_ESCAPE);
}

static void undeclared_escape(void **state)
{
    (void)state;
    EXPECT("ISO_IR 100", DCM_VR_PN, "\x1b$B;3\x1b(B", "山", DCM_CS_UNDECLARED);
}

static void truncated_multibyte(void **state)
{
    (void)state;
    EXPECT("\\ISO 2022 IR 87", DCM_VR_PN, "\x1b$B;", "\xef\xbf\xbd", DCM_CS_REPLACED);
    EXPECT("\\ISO 2022 IR 149", DCM_VR_PN, "\x1b$)C\xb1", "\xef\xbf\xbd", DCM_CS_REPLACED);
    EXPECT("\\ISO 2022 IR 149", DCM_VR_PN,
           "\x1b$)C\xb1"
           "A",
           "\xef\xbf\xbd"
           "A",
           DCM_CS_REPLACED);
    EXPECT("GB18030", DCM_VR_PN, "A\x81", "A\xef\xbf\xbd", DCM_CS_REPLACED);
    EXPECT("GB18030", DCM_VR_PN,
           "\xff"
           "A",
           "\xef\xbf\xbd"
           "A",
           DCM_CS_REPLACED);
    EXPECT("\\ISO 2022 IR 87", DCM_VR_PN, "\x1b$B\x7f\x7f", "\x7f\x7f", 0);
}

static void invalid_utf8(void **state)
{
    (void)state;
    EXPECT("ISO_IR 192", DCM_VR_LO,
           "a\xff"
           "b",
           "a\xef\xbf\xbd"
           "b",
           DCM_CS_REPLACED);
    EXPECT("ISO_IR 192", DCM_VR_LO, "a\xe4\xb8", "a\xef\xbf\xbd", DCM_CS_REPLACED);
    EXPECT("ISO_IR 192", DCM_VR_LO, "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", DCM_CS_REPLACED);
    EXPECT("ISO_IR 192", DCM_VR_LO, "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
           DCM_CS_REPLACED);
    EXPECT("ISO_IR 192", DCM_VR_LO, "\xef\xbf\xbd", "\xef\xbf\xbd", 0);
    EXPECT("ISO_IR 192", DCM_VR_LO, "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", 0);
}

static void default_repertoire(void **state)
{
    (void)state;
    EXPECT("", DCM_VR_PN, "M\xfcller", "Müller", DCM_CS_GUESSED);
    EXPECT("", DCM_VR_PN, "a\x85", "a\xef\xbf\xbd", DCM_CS_REPLACED);
    EXPECT("ISO_IR 100", DCM_VR_LO, "\x96", "\xef\xbf\xbd", DCM_CS_REPLACED);
    /* VRs outside the character set's reach ignore escapes: ESC is a control character */
    EXPECT("\\ISO 2022 IR 87", DCM_VR_CS, "A\x1b$B", "A\x1b$B", 0);
}

static void output_limit(void **state)
{
    dcm_charset cs;
    dv_errinfo ei;
    dv_buf out;
    unsigned flags = 0;
    (void)state;

    dcm_charset_default(&cs);
    dv_buf_init(&out, 4);
    assert_int_equal(
        dcm_charset_to_utf8_flags(&cs, DCM_VR_LO, (const uint8_t *)"abcdef", 6, &out, &flags, &ei),
        DV_ELIMIT);
    assert_true(out.len <= 4);
    dv_buf_release(&out);
    assert_int_equal(dcm_charset_to_utf8(&cs, DCM_VR_LO, NULL, 3, &out, &ei), DV_EINVAL);
    assert_int_equal(dcm_charset_to_utf8(&cs, DCM_VR_LO, NULL, 0, &out, &ei), DV_OK);
}

static void affects(void **state)
{
    (void)state;
    assert_true(dcm_charset_affects(DCM_VR_PN));
    assert_true(dcm_charset_affects(DCM_VR_UT));
    assert_true(dcm_charset_affects(DCM_VR_UC));
    assert_false(dcm_charset_affects(DCM_VR_CS));
    assert_false(dcm_charset_affects(DCM_VR_UI));
    assert_false(dcm_charset_affects(DCM_VR_UR));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_terms),
        cmocka_unit_test(parse_lenient),
        cmocka_unit_test(parse_unknown),
        cmocka_unit_test(parse_too_many),
        cmocka_unit_test(parse_from_dataset),
        cmocka_unit_test(annex_h_example1),
        cmocka_unit_test(annex_h_example2),
        cmocka_unit_test(annex_i_korean),
        cmocka_unit_test(annex_j_gb18030),
        cmocka_unit_test(annex_k_gb2312),
        cmocka_unit_test(jis_x0212),
        cmocka_unit_test(utf8_name),
        cmocka_unit_test(single_byte_sets),
        cmocka_unit_test(code_extension_single_byte),
        cmocka_unit_test(control_resets_g0),
        cmocka_unit_test(delimiter_resets_g1),
        cmocka_unit_test(kanji_with_delimiter_bytes),
        cmocka_unit_test(romaji_backslash),
        cmocka_unit_test(gbk_second_byte_backslash),
        cmocka_unit_test(broken_escapes),
        cmocka_unit_test(undeclared_escape),
        cmocka_unit_test(truncated_multibyte),
        cmocka_unit_test(invalid_utf8),
        cmocka_unit_test(default_repertoire),
        cmocka_unit_test(output_limit),
        cmocka_unit_test(affects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
