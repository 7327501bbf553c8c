/* SPDX-License-Identifier: Apache-2.0 */
/* test_deid.c - the de-identification engine beyond the table: keyed UIDs (checked against an
 * HMAC computed here with libsodium), consistency across runs, batches and sequences, a
 * different key, date shifts that keep intervals, pseudonyms and the mapping CSV (with its
 * exact error messages), the residual check (planted names in all their forms, Chinese
 * names, dates), cleaning of free text, safe private attributes, the de-identification marks,
 * and concurrent use of one context. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "deid/deid.h"
#include "demo/synth.h"
#include "dicom/dicom.h"

#include "common/banned.h"

#define T_STUDY_UID  DCM_TAG(0x0020, 0x000D)
#define T_SOP_UID    DCM_TAG(0x0008, 0x0018)
#define T_FOR_UID    DCM_TAG(0x0020, 0x0052)
#define T_REF_IMAGE  DCM_TAG(0x0008, 0x1140)
#define T_REF_SOP    DCM_TAG(0x0008, 0x1155)
#define T_PAT_ID     DCM_TAG(0x0010, 0x0020)
#define T_PAT_NAME   DCM_TAG(0x0010, 0x0010)
#define T_STUDY_DATE DCM_TAG(0x0008, 0x0020)
#define T_CONT_DATE  DCM_TAG(0x0008, 0x0023)
#define T_STUDY_DESC DCM_TAG(0x0008, 0x1030)
#define T_EXPLAIN    DCM_TAG(0x0028, 0x1055) /* not in Table E.1-1: kept */

static void key_of(crypto_key *k, uint8_t b)
{
    memset(k, b, sizeof(*k));
}

static deid_ctx *mkctx(uint8_t keybyte, unsigned options, const deid_mapping *m)
{
    deid_opts o;
    crypto_key k;
    deid_ctx *c = NULL;
    dv_errinfo ei;

    key_of(&k, keybyte);
    deid_opts_init(&o);
    o.pixels.mode = DEID_PIXELS_OFF;
    o.options = options;
    o.mapping = m;
    assert_int_equal(deid_ctx_new(&o, &k, &c, &ei), DV_OK);
    return c;
}

static dcm_file *ct_slice(uint32_t slice)
{
    synth_study st;
    dcm_file *f = NULL;
    dv_errinfo ei;

    synth_study_init(&st, 42);
    assert_int_equal(synth_ct_make(&st, NULL, slice, &f, &ei), DV_OK);
    return f;
}

static void str_of(const dcm_ds *ds, uint32_t tag, char *out, size_t n)
{
    assert_true(dcm_ds_get_str(ds, tag, out, n) >= 0);
}

/* ---- keyed UIDs ------------------------------------------------------------------------- */

/* "2.25." + decimal of the first 128 bits of HMAC-SHA256(key, "uid" | 0 | uid), computed here
 * with libsodium and unsigned __int128. */
static void expected_uid(uint8_t keybyte, const char *uid, char *out, size_t n)
{
    crypto_auth_hmacsha256_state st;
    uint8_t key[32], mac[32];
    unsigned __int128 v = 0;
    char dig[48];
    int i, k = 0;

    memset(key, keybyte, sizeof(key));
    crypto_auth_hmacsha256_init(&st, key, sizeof(key));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)"uid", 4); /* "uid" and its NUL */
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)uid, strlen(uid));
    crypto_auth_hmacsha256_final(&st, mac);
    for (i = 0; i < 16; i++)
        v = (v << 8) | mac[i];
    do {
        dig[k++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    snprintf(out, n, "2.25.");
    for (i = k - 1; i >= 0; i--)
        strncat(out, &dig[i], 1);
}

static void test_uid_formula(void **state)
{
    dcm_file *f = ct_slice(0);
    char orig[65], got[65], want[80];
    deid_ctx *c = mkctx(1, 0, NULL);
    deid_file_report rep;
    dv_errinfo ei;

    (void)state;
    str_of(&f->ds, T_STUDY_UID, orig, sizeof(orig));
    assert_int_equal(deid_file(c, f, &rep, &ei), DV_OK);
    str_of(&f->ds, T_STUDY_UID, got, sizeof(got));
    expected_uid(1, orig, want, sizeof(want));
    assert_string_equal(got, want);
    assert_true(strlen(got) <= 64);
    str_of(&f->ds, T_SOP_UID, got, sizeof(got));
    assert_string_equal(got, rep.new_sop_uid);
    dcm_file_free(f);
    deid_ctx_free(c);
}

/* ---- consistency ------------------------------------------------------------------------ */

typedef struct outv {
    char study[65], sop[65], forr[65], ref[65], pid[65], pname[80], date[16];
    uint8_t *bytes;
    size_t len;
} outv;

/* Slice `slice`, which (for slice 1) references slice 0 in a sequence, de-identified. */
static void run_one(deid_ctx *c, uint32_t slice, outv *o)
{
    dcm_file *f = ct_slice(slice), *f0;
    deid_file_report rep;
    dv_errinfo ei;
    dv_buf b;
    dcm_elem *sq;
    dcm_ds *it;
    char ref[65];

    memset(o, 0, sizeof(*o));
    if (slice == 1) {
        f0 = ct_slice(0);
        str_of(&f0->ds, T_SOP_UID, ref, sizeof(ref));
        dcm_file_free(f0);
        assert_int_equal(dcm_ds_insert(f, &f->ds, T_REF_IMAGE, DCM_VR_SQ, &sq), DV_OK);
        assert_int_equal(dcm_elem_add_item(f, sq, &it), DV_OK);
        assert_int_equal(
            dcm_ds_set_str(f, it, DCM_TAG(0x0008, 0x1150), DCM_VR_UI, SYNTH_CT_SOP_CLASS), DV_OK);
        assert_int_equal(dcm_ds_set_str(f, it, T_REF_SOP, DCM_VR_UI, ref), DV_OK);
    }
    assert_int_equal(deid_file(c, f, &rep, &ei), DV_OK);
    str_of(&f->ds, T_STUDY_UID, o->study, sizeof(o->study));
    str_of(&f->ds, T_SOP_UID, o->sop, sizeof(o->sop));
    str_of(&f->ds, T_FOR_UID, o->forr, sizeof(o->forr));
    str_of(&f->ds, T_PAT_ID, o->pid, sizeof(o->pid));
    str_of(&f->ds, T_PAT_NAME, o->pname, sizeof(o->pname));
    str_of(&f->ds, T_STUDY_DATE, o->date, sizeof(o->date));
    sq = dcm_ds_find(&f->ds, T_REF_IMAGE);
    if (sq && sq->nitems)
        str_of(&sq->items[0], T_REF_SOP, o->ref, sizeof(o->ref));
    dv_buf_init(&b, (size_t)1 << 30);
    assert_int_equal(dcm_write_part10(f, rep.ts, &b, &ei), DV_OK);
    o->bytes = dv_buf_detach(&b, &o->len);
    dcm_file_free(f);
}

static void test_consistency(void **state)
{
    unsigned opts = DEID_OPT(DEID_OPT_RETAIN_MODIFIED_DATES);
    deid_ctx *batch1 = mkctx(7, opts, NULL), *batch2 = mkctx(7, opts, NULL);
    deid_ctx *other = mkctx(8, opts, NULL);
    outv a0, a1, b0, c0;
    dcm_file *in = ct_slice(0);
    char pid[65], name[80];

    (void)state;
    run_one(batch1, 0, &a0);
    run_one(batch1, 1, &a1);
    run_one(batch2, 0, &b0); /* another batch, or another run: same key */
    run_one(other, 0, &c0);
    /* two runs give the same file, byte for byte */
    assert_int_equal(a0.len, b0.len);
    assert_memory_equal(a0.bytes, b0.bytes, a0.len);
    /* one study: same study UID, frame of reference, pseudonyms, shifted date */
    assert_string_equal(a0.study, a1.study);
    assert_string_equal(a0.forr, a1.forr);
    assert_string_equal(a0.pid, a1.pid);
    assert_string_equal(a0.pname, a1.pname);
    assert_string_equal(a0.date, a1.date);
    assert_string_not_equal(a0.sop, a1.sop);
    /* the reference in slice 1's sequence names slice 0's new SOP instance */
    assert_string_equal(a1.ref, a0.sop);
    /* nothing of the input's values */
    str_of(&in->ds, T_PAT_ID, pid, sizeof(pid));
    str_of(&in->ds, T_PAT_NAME, name, sizeof(name));
    assert_string_not_equal(a0.pid, pid);
    assert_null(strstr(a0.pname, "WANG"));
    /* a different key: different UIDs and pseudonyms */
    assert_string_not_equal(a0.study, c0.study);
    assert_string_not_equal(a0.sop, c0.sop);
    assert_string_not_equal(a0.pid, c0.pid);
    assert_string_not_equal(a0.pname, c0.pname);
    free(a0.bytes);
    free(a1.bytes);
    free(b0.bytes);
    free(c0.bytes);
    dcm_file_free(in);
    deid_ctx_free(batch1);
    deid_ctx_free(batch2);
    deid_ctx_free(other);
}

/* Days since 1970-01-01 for a YYYYMMDD string, counted naively here (tests only). */
static long days_of(const char *s)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[4] - '0') * 10 + (s[5] - '0'), d = (s[6] - '0') * 10 + (s[7] - '0'), i;
    long n = 0;

    for (i = 1970; i < y; i++)
        n += 365 + ((i % 4 == 0 && i % 100 != 0) || i % 400 == 0);
    for (i = 1; i < m; i++)
        n += mdays[i - 1] + (i == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    return n + d - 1;
}

static void test_date_shift(void **state)
{
    deid_ctx *c = mkctx(3, DEID_OPT(DEID_OPT_RETAIN_MODIFIED_DATES), NULL);
    dcm_file *f = ct_slice(0);
    deid_file_report rep;
    dv_errinfo ei;
    char sd[16], cd[16], sd2[16], cd2[16];
    long shift;

    (void)state;
    assert_int_equal(dcm_ds_set_str(f, &f->ds, T_STUDY_DATE, DCM_VR_DA, "20000301"), DV_OK);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, T_CONT_DATE, DCM_VR_DA, "20000228"), DV_OK);
    str_of(&f->ds, T_STUDY_DATE, sd, sizeof(sd));
    str_of(&f->ds, T_CONT_DATE, cd, sizeof(cd));
    assert_int_equal(deid_file(c, f, &rep, &ei), DV_OK);
    str_of(&f->ds, T_STUDY_DATE, sd2, sizeof(sd2));
    str_of(&f->ds, T_CONT_DATE, cd2, sizeof(cd2));
    shift = days_of(sd2) - days_of(sd);
    assert_true(shift >= -3650 && shift <= -365);
    assert_int_equal(days_of(cd2) - days_of(cd), shift); /* the interval is kept */
    assert_int_equal(days_of(sd2) - days_of(cd2), 2);    /* 2000 is a leap year */
    assert_int_equal(rep.dates >= 2, 1);
    {
        char lt[16];

        str_of(&f->ds, DCM_TAG(0x0028, 0x0303), lt, sizeof(lt));
        assert_string_equal(lt, "MODIFIED");
    }
    dcm_file_free(f);
    deid_ctx_free(c);
}

/* ---- mapping CSV ------------------------------------------------------------------------ */

static void map_err(const char *text, const char *msg)
{
    deid_mapping *m = (deid_mapping *)1;
    dv_errinfo ei;

    assert_int_equal(deid_mapping_parse((const uint8_t *)text, strlen(text), &m, &ei),
                     DV_EMALFORMED);
    assert_null(m);
    assert_string_equal(ei.msg, msg);
}

static void test_mapping(void **state)
{
    const char *good = "original_patient_id,new_patient_id,new_patient_name\r\n"
                       "# comment\n"
                       "\n"
                       "SYN0000042,RESEARCH-001,SUBJECT^ONE\n"
                       "OTHER,RESEARCH-002,\n";
    deid_mapping *m = NULL;
    const char *nid, *nname;
    dv_errinfo ei;
    synth_study st;
    dcm_file *f;
    deid_ctx *c;
    deid_file_report rep;
    char pid[65], name[80];

    (void)state;
    assert_int_equal(deid_mapping_parse((const uint8_t *)good, strlen(good), &m, &ei), DV_OK);
    assert_int_equal(deid_mapping_count(m), 2);
    assert_int_equal(deid_mapping_find(m, "OTHER", 5, &nid, &nname), 1);
    assert_string_equal(nid, "RESEARCH-002");
    assert_string_equal(nname, "");
    assert_int_equal(deid_mapping_find(m, "OTHE", 4, &nid, &nname), 0);
    /* the file's patient is mapped */
    synth_study_init(&st, 42);
    f = ct_slice(0);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, T_PAT_ID, DCM_VR_LO, "SYN0000042"), DV_OK);
    c = mkctx(9, 0, m);
    assert_int_equal(deid_file(c, f, &rep, &ei), DV_OK);
    assert_int_equal(rep.mapped, 1);
    str_of(&f->ds, T_PAT_ID, pid, sizeof(pid));
    str_of(&f->ds, T_PAT_NAME, name, sizeof(name));
    assert_string_equal(pid, "RESEARCH-001");
    assert_string_equal(name, "SUBJECT^ONE");
    dcm_file_free(f);
    deid_ctx_free(c);
    deid_mapping_free(m);
    map_err("a,b\n", "mapping line 1: 2 field(s), want 3 (original id, new id, new name)");
    map_err("a,b,c,d\n", "mapping line 1: more than 3 fields");
    map_err("a,b,c\na,d,e\n", "mapping: an original patient ID is listed twice");
    map_err("a,b,c\nx,y\tz,c\n", "mapping line 2, field 2: a control character");
    map_err(",b,c\n", "mapping line 1, field 1: an empty field");
    map_err("a,\"b\",c\n", "mapping line 1, field 2: a backslash or a quote");
    map_err("a,b,c\nx,yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy,c\n",
            "mapping line 2, field 2: a field longer than 64 bytes");
}

/* ---- residual check --------------------------------------------------------------------- */

/* De-identifies slice 0 with value v planted in an attribute the profile keeps; returns the
 * result of deid_file and leaves rep filled. */
static dv_err planted(const char *v, deid_file_report *rep, dv_errinfo *ei)
{
    deid_ctx *c = mkctx(5, 0, NULL);
    dcm_file *f = ct_slice(0);
    dv_err e;

    assert_int_equal(dcm_ds_set_str(f, &f->ds, T_EXPLAIN, DCM_VR_LO, v), DV_OK);
    e = deid_file(c, f, rep, ei);
    dcm_file_free(f);
    deid_ctx_free(c);
    return e;
}

static void test_residual_forms(void **state)
{
    /* the synthetic patient of seed 42, its birth date, and its ID, in common forms */
    synth_study st;
    char v[160];
    const char *forms[8];
    deid_file_report rep;
    dv_errinfo ei;
    size_t i;

    (void)state;
    synth_study_init(&st, 42);
    forms[0] = st.family; /* "WANG" alone, a name component of 4+ letters */
    snprintf(v, sizeof(v), "%s %s", st.given, st.family); /* reversed order */
    forms[1] = strdup(v);
    snprintf(v, sizeof(v), "%s%s", st.family_cjk, st.given_cjk); /* as written in Chinese */
    forms[2] = strdup(v);
    snprintf(v, sizeof(v), "%.4s-%.2s-%.2s", st.birth_date, st.birth_date + 4, st.birth_date + 6);
    forms[3] = strdup(v);
    snprintf(v, sizeof(v), "%.2s.%.2s.%.4s", st.birth_date + 6, st.birth_date + 4, st.birth_date);
    forms[4] = strdup(v);
    snprintf(v, sizeof(v), "id %s", st.patient_id);
    forms[5] = strdup(v);
    for (i = 0; i < 6; i++) {
        snprintf(v, sizeof(v), "note: %s.", forms[i]);
        assert_int_equal(planted(v, &rep, &ei), DV_EPERM);
        assert_int_equal(rep.residual_hits, 1);
        assert_non_null(strstr(rep.where[0], "(0028,1055)"));
        assert_null(strstr(ei.msg, forms[i])); /* where, never the value */
    }
    /* generic and short values are not searched */
    assert_int_equal(planted("CT", &rep, &ei), DV_OK);
    assert_int_equal(planted("UNKNOWN", &rep, &ei), DV_OK);
    for (i = 1; i < 6; i++)
        free((void *)forms[i]);
}

/* Planted names where the profile removes or replaces them: a private tag, a TextValue three
 * levels down a content tree, an overlay comment and overlay data; the job passes and none
 * of them survives (the residual check would fail otherwise). */
static void test_planted_removed(void **state)
{
    unsigned opt[2] = {0, DEID_OPT(DEID_OPT_CLEAN_STRUCTURED) | DEID_OPT(DEID_OPT_CLEAN_GRAPHICS)};
    int k;

    (void)state;
    for (k = 0; k < 2; k++) {
        deid_ctx *c = mkctx(5, opt[k], NULL);
        dcm_file *f = ct_slice(0);
        deid_file_report rep;
        dv_errinfo ei;
        dcm_elem *sq;
        dcm_ds *it = &f->ds;
        int d;

        assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0029, 0x0010), DCM_VR_LO, "ACME"),
                         DV_OK);
        assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0029, 0x1001), DCM_VR_LO, "WANG WU"),
                         DV_OK);
        for (d = 0; d < 3; d++) {
            assert_int_equal(dcm_ds_insert(f, it, DCM_TAG(0x0040, 0xA730), DCM_VR_SQ, &sq), DV_OK);
            assert_int_equal(dcm_elem_add_item(f, sq, &it), DV_OK);
        }
        assert_int_equal(dcm_ds_set_str(f, it, DCM_TAG(0x0040, 0xA160), DCM_VR_UT,
                                        "Findings for Wang Wu: normal"),
                         DV_OK);
        assert_int_equal(
            dcm_ds_set_str(f, &f->ds, DCM_TAG(0x6000, 0x4000), DCM_VR_LT, "drawn for WANG^WU"),
            DV_OK);
        assert_int_equal(dcm_ds_set(f, &f->ds, DCM_TAG(0x6000, 0x3000), DCM_VR_OW, "WANG^WU ", 8),
                         DV_OK);
        assert_int_equal(dcm_ds_set(f, &f->ds, DCM_TAG(0x6000, 0x0010), DCM_VR_US, "\x01\x00", 2),
                         DV_OK);
        assert_int_equal(deid_file(c, f, &rep, &ei), DV_OK);
        assert_true(rep.residual_ran && rep.residual_hits == 0);
        assert_null(dcm_ds_find(&f->ds, DCM_TAG(0x0029, 0x1001)));
        assert_null(dcm_ds_find(&f->ds, DCM_TAG(0x0029, 0x0010)));
        assert_null(dcm_ds_find(&f->ds, DCM_TAG(0x6000, 0x3000)));
        assert_null(dcm_ds_find(&f->ds, DCM_TAG(0x6000, 0x0010))); /* the whole overlay */
        dcm_file_free(f);
        deid_ctx_free(c);
    }
}

static void test_clean_descriptors(void **state)
{
    deid_ctx *c = mkctx(5, DEID_OPT(DEID_OPT_CLEAN_DESCRIPTORS), NULL);
    dcm_file *f = ct_slice(0);
    deid_file_report rep;
    dv_errinfo ei;
    char v[200];

    (void)state;
    assert_int_equal(dcm_ds_set_str(f, &f->ds, T_STUDY_DESC, DCM_VR_LO,
                                    "CT chest Wang Wu 王五 11010519491231002X 138 1234 5678"),
                     DV_OK);
    assert_int_equal(deid_file(c, f, &rep, &ei), DV_OK);
    str_of(&f->ds, T_STUDY_DESC, v, sizeof(v));
    assert_non_null(strstr(v, "CT chest "));
    assert_null(strstr(v, "Wang"));
    assert_null(strstr(v, "王"));
    assert_null(strstr(v, "1949"));
    assert_null(strstr(v, "5678"));
    assert_true(rep.spans >= 3);
    dcm_file_free(f);
    deid_ctx_free(c);
}

static void test_safe_private(void **state)
{
    unsigned opt[2] = {0, DEID_OPT(DEID_OPT_RETAIN_SAFE_PRIVATE)};
    int k;

    (void)state;
    for (k = 0; k < 2; k++) {
        deid_ctx *c = mkctx(5, opt[k], NULL);
        dcm_file *f = ct_slice(0);
        deid_file_report rep;
        dv_errinfo ei;

        assert_int_equal(
            dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0019, 0x0010), DCM_VR_LO, "SIEMENS MR HEADER"),
            DV_OK);
        assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0019, 0x100C), DCM_VR_IS, "1000"),
                         DV_OK); /* B_value: on the safe list */
        assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0019, 0x1010), DCM_VR_LO, "x"),
                         DV_OK); /* not on it */
        assert_int_equal(deid_file(c, f, &rep, &ei), DV_OK);
        assert_null(dcm_ds_find(&f->ds, DCM_TAG(0x0019, 0x1010)));
        if (k) {
            assert_non_null(dcm_ds_find(&f->ds, DCM_TAG(0x0019, 0x100C)));
            assert_non_null(dcm_ds_find(&f->ds, DCM_TAG(0x0019, 0x0010)));
        } else {
            assert_null(dcm_ds_find(&f->ds, DCM_TAG(0x0019, 0x100C)));
            assert_null(dcm_ds_find(&f->ds, DCM_TAG(0x0019, 0x0010)));
        }
        dcm_file_free(f);
        deid_ctx_free(c);
    }
}

static void test_marks(void **state)
{
    unsigned opts = DEID_OPT(DEID_OPT_RETAIN_UIDS) | DEID_OPT(DEID_OPT_CLEAN_DESCRIPTORS);
    deid_ctx *c = mkctx(5, opts, NULL);
    dcm_file *f = ct_slice(0);
    deid_file_report rep;
    dv_errinfo ei;
    const dcm_elem *sq;
    char v[80];
    int seen100 = 0, seen110 = 0, seen105 = 0, seen106 = 0;
    uint32_t i;

    (void)state;
    assert_int_equal(deid_file(c, f, &rep, &ei), DV_OK);
    str_of(&f->ds, DCM_TAG(0x0012, 0x0062), v, sizeof(v));
    assert_string_equal(v, "YES");
    str_of(&f->ds, DCM_TAG(0x0028, 0x0303), v, sizeof(v));
    assert_string_equal(v, "REMOVED");
    sq = dcm_ds_find(&f->ds, DCM_TAG(0x0012, 0x0064));
    assert_non_null(sq);
    for (i = 0; i < sq->nitems; i++) {
        str_of(&sq->items[i], DCM_TAG(0x0008, 0x0102), v, sizeof(v));
        assert_string_equal(v, "DCM");
        str_of(&sq->items[i], DCM_TAG(0x0008, 0x0100), v, sizeof(v));
        seen100 += !strcmp(v, "113100");
        seen110 += !strcmp(v, "113110");
        seen105 += !strcmp(v, "113105");
        seen106 += !strcmp(v, "113106");
    }
    assert_int_equal(seen100 + seen110 + seen105, 3);
    assert_int_equal(seen106, 0);
    assert_int_equal(sq->nitems, 3);
    dcm_file_free(f);
    deid_ctx_free(c);
}

/* ---- options and threads ---------------------------------------------------------------- */

static void test_options(void **state)
{
    unsigned o = 0;
    deid_opts d;
    crypto_key k;
    deid_ctx *c = NULL;
    dv_errinfo ei;
    int i;

    (void)state;
    for (i = 0; i < DEID_OPT_COUNT; i++)
        assert_int_equal(deid_option_parse(deid_option_name((deid_option)i), &o, &ei), DV_OK);
    assert_int_equal(o, (1u << DEID_OPT_COUNT) - 1);
    assert_int_equal(deid_option_parse("retain-everything", &o, &ei), DV_EINVAL);
    assert_null(deid_option_name(DEID_OPT_COUNT));
    deid_opts_init(&d);
    assert_int_equal(d.pixels.mode, DEID_PIXELS_OCR);
    d.options = DEID_OPT(DEID_OPT_RETAIN_FULL_DATES) | DEID_OPT(DEID_OPT_RETAIN_MODIFIED_DATES);
    key_of(&k, 1);
    assert_int_equal(deid_ctx_new(&d, &k, &c, &ei), DV_EINVAL);
    assert_null(c);
}

typedef struct thr {
    deid_ctx *c;
    outv o[6];
} thr;

static void *thr_main(void *arg)
{
    thr *t = arg;
    int i;

    for (i = 0; i < 6; i++)
        run_one(t->c, (uint32_t)(i % 2), &t->o[i]);
    return NULL;
}

static void test_threads(void **state)
{
    deid_ctx *c = mkctx(11, DEID_OPT(DEID_OPT_RETAIN_MODIFIED_DATES), NULL);
    thr t[4];
    pthread_t th[4];
    outv ref[2];
    int i, j;

    (void)state;
    run_one(c, 0, &ref[0]);
    run_one(c, 1, &ref[1]);
    for (i = 0; i < 4; i++) {
        t[i].c = c;
        assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
    }
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (i = 0; i < 4; i++)
        for (j = 0; j < 6; j++) {
            const outv *r = &ref[j % 2];

            assert_int_equal(t[i].o[j].len, r->len);
            assert_memory_equal(t[i].o[j].bytes, r->bytes, r->len);
            free(t[i].o[j].bytes);
        }
    free(ref[0].bytes);
    free(ref[1].bytes);
    deid_ctx_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uid_formula),
        cmocka_unit_test(test_consistency),
        cmocka_unit_test(test_date_shift),
        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_residual_forms),
        cmocka_unit_test(test_planted_removed),
        cmocka_unit_test(test_clean_descriptors),
        cmocka_unit_test(test_safe_private),
        cmocka_unit_test(test_marks),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_threads),
    };

    if (crypto_init())
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
