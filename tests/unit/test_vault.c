/* SPDX-License-Identifier: Apache-2.0 */
/* test_vault.c - unit tests of vault/: config parsing (exact errors, nothing created), name
 * normalisation and tokens, date ranges and months, wildcards, records, retention rules, the
 * local administrator context, and one small vault end to end (init, import, duplicate, find,
 * export byte for byte, wrong key, shred, check). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/demo_login.h"
#include "dicom/dicom.h"
#include "vault/vault_int.h"

/* ---- config ------------------------------------------------------------------------------ */

static const char *good_conf = "[vault]\ncipher = xchacha20poly1305\nchunk_size = 8192\n"
                               "[kek]\nmode = keyfile\npath = /srv/v.kek\n"
                               "[retention]\nCR = 10\nCT = 7\ndefault = 30\n";

static void test_config_good(void **state)
{
    vault_config c;
    dv_errinfo ei;

    (void)state;
    assert_int_equal(vault_config_parse_string(good_conf, &c, &ei), DV_OK);
    assert_int_equal(c.alg, CRYPTO_ALG_XCHACHA20POLY1305);
    assert_int_equal(c.chunk_size, 8192);
    assert_int_equal(c.kek_mode, VAULT_KEK_KEYFILE);
    assert_string_equal(c.kek_path, "/srv/v.kek");
    assert_int_equal(c.nrules, 3);
    assert_int_equal(vault_config_retention_years(&c, "CR"), 10);
    assert_int_equal(vault_config_retention_years(&c, "CR\\CT"), 10);
    assert_int_equal(vault_config_retention_years(&c, "MR"), 30); /* default */
    assert_int_equal(vault_config_retention_years(&c, ""), 30);
}

static void test_config_roundtrip(void **state)
{
    vault_config c, back;
    dv_buf b;

    (void)state;
    assert_int_equal(vault_config_parse_string(good_conf, &c, NULL), DV_OK);
    dv_buf_init(&b, 65536);
    assert_int_equal(vault_config_format(&c, &b), DV_OK);
    assert_int_equal(vault_config_parse_string((const char *)b.p, &back, NULL), DV_OK);
    assert_int_equal(back.alg, c.alg);
    assert_string_equal(back.kek_path, c.kek_path);
    assert_int_equal(back.nrules, c.nrules);
    dv_buf_release(&b);
}

static void expect_conf_error(const char *text, const char *msg)
{
    vault_config c;
    dv_errinfo ei;

    dv_errinfo_clear(&ei);
    assert_int_equal(vault_config_parse_string(text, &c, &ei), DV_EMALFORMED);
    assert_string_equal(ei.msg, msg);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_conf_error("[vault]\ncipher = aes256gcm\nbogus = 1\n[kek]\nmode = keyfile\n",
                      "dcmvault.conf line 3: unknown key (key 'bogus' in [vault])");
    expect_conf_error("[vault]\ncipher = rot13\n[kek]\nmode = keyfile\n",
                      "dcmvault.conf line 2: unknown or unavailable cipher (key 'cipher' in "
                      "[vault])");
    expect_conf_error("[vault]\ncipher = xchacha20poly1305\n[kek]\nmode = keyfile\nno equals\n",
                      "dcmvault.conf line 5: not a [section] or key = value line");
    expect_conf_error("[kek]\nmode = keyfile\n", "dcmvault.conf: [vault] cipher is missing");
    expect_conf_error("[vault]\ncipher = xchacha20poly1305\n[kek]\nmode = passphrase\n",
                      "dcmvault.conf: [kek] salt is missing for mode = passphrase");
    expect_conf_error("[vault]\ncipher = xchacha20poly1305\n[kek]\nmode = keyfile\n"
                      "[retention]\nCR = 0\n",
                      "dcmvault.conf line 6: retention must be 1..200 years (key 'CR' in "
                      "[retention])");
    expect_conf_error("[vault]\ncipher = xchacha20poly1305\n[kek]\nmode = keyfile\n"
                      "[retention]\ncr = 5\n",
                      "dcmvault.conf line 6: a retention key is a modality code (CR, CT ...) or "
                      "default (key 'cr' in [retention])");
    expect_conf_error(
        "[vault]\ncipher = xchacha20poly1305\nchunk_size = 12\n[kek]\nmode = keyfile\n",
        "dcmvault.conf line 3: chunk_size must be 4096..16777216 (key "
        "'chunk_size' in [vault])");
    expect_conf_error("[other]\nx = 1\n",
                      "dcmvault.conf line 2: unknown section (key 'x' in [other])");
}

/* A vault folder whose config is bad: opening it fails with the line and creates nothing. */
static void test_config_bad_creates_nothing(void **state)
{
    char dir[] = "/tmp/dv_vault_conf_XXXXXX", path[256];
    vault_kek_src src = {NULL, NULL};
    vault *v = NULL;
    dv_errinfo ei;
    FILE *f;
    struct stat st;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof(path), "%s/dcmvault.conf", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("[vault]\ncipher = aes256gcm\nbogus = 1\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(vault_open(dir, &src, &v, &ei), DV_EMALFORMED);
    assert_null(v);
    assert_string_equal(ei.msg, "dcmvault.conf line 3: unknown key (key 'bogus' in [vault])");
    (void)snprintf(path, sizeof(path), "%s/index.sqlite", dir);
    assert_int_not_equal(stat(path, &st), 0);
    (void)snprintf(path, sizeof(path), "%s/objects", dir);
    assert_int_not_equal(stat(path, &st), 0);
    (void)snprintf(path, sizeof(path), "%s/dcmvault.conf", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* ---- names ------------------------------------------------------------------------------- */

static void norm_is(const char *in, const char *want)
{
    dv_buf b;

    dv_buf_init(&b, 4096);
    assert_int_equal(vault_norm_name(in, strlen(in), &b), DV_OK);
    assert_int_equal(dv_buf_addc(&b, 0), DV_OK);
    assert_string_equal((const char *)b.p, want);
    dv_buf_release(&b);
}

static void test_norm_name(void **state)
{
    (void)state;
    norm_is("Wang^XiaoMing", "WANG XIAOMING");
    norm_is("  wang ^^ xiao   ming  ", "WANG XIAO MING");
    norm_is("Äneas^Rüdiger", "ÄNEAS RÜDIGER");
    norm_is("äneas^rüdiger", "ÄNEAS RÜDIGER");
    norm_is("ÿ", "Ÿ");
    norm_is("łódź", "ŁÓDŹ");
    norm_is("σοφία", "ΣΟΦΊΑ");
    norm_is("ς", "Σ");
    norm_is("иванов^пётр", "ИВАНОВ ПЁТР");
    norm_is("王^小东", "王 小东");
    norm_is("a\xe3\x80\x80"
            "b",
            "A B"); /* ideographic space */
    norm_is("^^^", "");
    norm_is("", "");
}

static void test_name_tokens(void **state)
{
    const char *pn = "Yamada^Tarou=山田^太郎=やまだ^たろう";
    dv_buf b;
    size_t n = 0, off = 0, i;
    const char *want[] = {"YAMADA TAROU", "YAMADA",        "TAROU",  "山田 太郎", "山田",
                          "太郎",         "やまだ たろう", "やまだ", "たろう"};

    (void)state;
    dv_buf_init(&b, 65536);
    assert_int_equal(vault_name_tokens(pn, strlen(pn), &b, 16, &n), DV_OK);
    assert_int_equal(n, 9);
    for (i = 0; i < n; i++) {
        assert_string_equal((const char *)b.p + off, want[i]);
        off += strlen(want[i]) + 1;
    }
    dv_buf_reset(&b);
    /* duplicates collapse; a one-component name gives one token; the cap holds */
    assert_int_equal(vault_name_tokens("DOE", 3, &b, 16, &n), DV_OK);
    assert_int_equal(n, 1);
    dv_buf_reset(&b);
    assert_int_equal(vault_name_tokens(pn, strlen(pn), &b, 4, &n), DV_OK);
    assert_int_equal(n, 4);
    dv_buf_release(&b);
}

/* ---- dates and wildcards ------------------------------------------------------------------ */

static void test_date_range(void **state)
{
    uint32_t lo, hi;

    (void)state;
    assert_int_equal(vault_date_range("20240101-20241231", &lo, &hi), DV_OK);
    assert_int_equal(lo, 20240101);
    assert_int_equal(hi, 20241231);
    assert_int_equal(vault_date_range("20240229", &lo, &hi), DV_OK);
    assert_int_equal(lo, 20240229);
    assert_int_equal(hi, 20240229);
    assert_int_equal(vault_date_range("-20000101", &lo, &hi), DV_OK);
    assert_int_equal(lo, 0);
    assert_int_equal(vault_date_range("20000101-", &lo, &hi), DV_OK);
    assert_int_equal(hi, 99991231);
    assert_int_equal(vault_date_range("20230229", &lo, &hi), DV_EINVAL); /* not a leap year */
    assert_int_equal(vault_date_range("20241301", &lo, &hi), DV_EINVAL);
    assert_int_equal(vault_date_range("20241231-20240101", &lo, &hi), DV_EINVAL);
    assert_int_equal(vault_date_range("2024-13", &lo, &hi), DV_EINVAL);
    assert_int_equal(vault_date_range("-", &lo, &hi), DV_EINVAL);
    assert_int_equal(vault_date_range("", &lo, &hi), DV_EINVAL);
}

static void test_date_months(void **state)
{
    uint32_t m[1200];
    size_t n = 0;

    (void)state;
    assert_int_equal(vault_date_months(20240101, 20241231, m, 1200, &n), DV_OK);
    assert_int_equal(n, 12);
    assert_int_equal(m[0], 202401);
    assert_int_equal(m[11], 202412);
    assert_int_equal(vault_date_months(20231115, 20240205, m, 1200, &n), DV_OK);
    assert_int_equal(n, 4);
    assert_int_equal(m[0], 202311);
    assert_int_equal(m[1], 202312);
    assert_int_equal(m[2], 202401);
    assert_int_equal(m[3], 202402);
    assert_int_equal(vault_date_months(20240510, 20240520, m, 1200, &n), DV_OK);
    assert_int_equal(n, 1);
    /* a hundred years and more: too many buckets, the caller filters by date only */
    assert_int_equal(vault_date_months(18000101, 20241231, m, 1200, &n), DV_ELIMIT);
}

static void test_wildcard(void **state)
{
    (void)state;
    assert_true(vault_has_wildcard("WANG*"));
    assert_false(vault_has_wildcard("WANG"));
    assert_true(vault_wildcard_match("WANG*", "WANG XIAOMING"));
    assert_true(vault_wildcard_match("WANG*", "WANG"));
    assert_false(vault_wildcard_match("WANG*", "WAN"));
    assert_true(vault_wildcard_match("*MING", "WANG XIAOMING"));
    assert_true(vault_wildcard_match("W?NG*", "WANG X"));
    assert_true(vault_wildcard_match("王?", "王小"));
    assert_false(vault_wildcard_match("王?", "王小东"));
    assert_true(vault_wildcard_match("*", ""));
    assert_true(vault_wildcard_match("A*B*C", "AXXBYYC"));
    assert_false(vault_wildcard_match("A*B*C", "AXXBYY"));
}

/* ---- records ------------------------------------------------------------------------------ */

static void test_record(void **state)
{
    vault_rec r, back;
    uint8_t bad[] = {1, 0x10, 0, 0x10, 0, 0xFF, 0, 0, 0};
    dv_buf b;

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(vault_rec_set(&r, 0x00100010u, "Doe^John", 8), DV_OK);
    assert_int_equal(vault_rec_set(&r, 0x00100020u, "12345", 5), DV_OK);
    assert_int_equal(vault_rec_set(&r, 0x00100020u, "67890", 5), DV_OK); /* replaces */
    dv_buf_init(&b, 4096);
    assert_int_equal(vault_rec_encode(&r, &b), DV_OK);
    assert_int_equal(vault_rec_decode(b.p, b.len, &back, NULL), DV_OK);
    assert_string_equal(vault_rec_get(&back, 0x00100010u), "Doe^John");
    assert_string_equal(vault_rec_get(&back, 0x00100020u), "67890");
    assert_string_equal(vault_rec_get(&back, 0x00100030u), "");
    vault_rec_free(&back);
    /* a field longer than what is left is refused */
    assert_int_equal(vault_rec_decode(bad, sizeof(bad), &back, NULL), DV_EMALFORMED);
    assert_int_equal(vault_rec_decode(b.p, b.len - 1, &back, NULL), DV_EMALFORMED);
    vault_rec_free(&r);
    dv_buf_release(&b);
}

/* ---- context ------------------------------------------------------------------------------ */

static void test_local_admin_ctx(void **state)
{
    vault_ctx_local a, b;
    vault_ctx bad;

    (void)state;
    vault_ctx_local_admin(&a);
    vault_ctx_local_admin(&b);
    assert_true(vault_ctx_valid(&a.ctx));
    assert_string_equal(a.ctx.role, VAULT_ROLE_LOCAL_ADMIN);
    assert_string_equal(a.ctx.client, "local");
    assert_true(strncmp(a.ctx.user, "local:", 6) == 0);
    assert_int_equal(strlen(a.ctx.session), 32);
    assert_string_not_equal(a.ctx.session, b.ctx.session); /* a fresh session each time */
    bad = a.ctx;
    bad.user = "";
    assert_false(vault_ctx_valid(&bad));
    bad = a.ctx;
    bad.purpose = NULL;
    assert_false(vault_ctx_valid(&bad));
    bad = a.ctx;
    bad.client = "x\ny";
    assert_false(vault_ctx_valid(&bad));
    assert_false(vault_ctx_valid(NULL));
}

/* ---- one small vault end to end ------------------------------------------------------------ */

static void make_file(const char *sop, const char *name, dv_buf *out)
{
    dcm_file *f = NULL;
    dv_errinfo ei;

    assert_int_equal(dcm_file_new(&f), DV_OK);
    assert_int_equal(
        dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0008, 0x0016), DCM_VR_UI, "1.2.840.10008.5.1.4.1.1.7"),
        DV_OK);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0008, 0x0018), DCM_VR_UI, sop), DV_OK);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0008, 0x0020), DCM_VR_DA, "20240315"),
                     DV_OK);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0008, 0x0060), DCM_VR_CS, "OT"), DV_OK);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0010, 0x0010), DCM_VR_PN, name), DV_OK);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0010, 0x0020), DCM_VR_LO, "PID-4711"),
                     DV_OK);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0020, 0x000D), DCM_VR_UI, "1.2.3.4.1"),
                     DV_OK);
    assert_int_equal(dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0020, 0x000E), DCM_VR_UI, "1.2.3.4.2"),
                     DV_OK);
    dv_buf_init(out, 1 << 20);
    assert_int_equal(dcm_write_part10(f, &dcm_ts_explicit_le, out, &ei), DV_OK);
    dcm_file_free(f);
}

static dv_err count_row(void *cb, const vault_result *r)
{
    (*(int *)cb)++;
    assert_string_equal(r->PatientID, "PID-4711");
    return DV_OK;
}

typedef struct got {
    dv_buf b;
    int n;
} got;

static dv_err keep_bytes(void *cb, const char *sop, int64_t id, const uint8_t *p, size_t len,
                         dv_errinfo *ei)
{
    got *g = cb;

    (void)sop;
    (void)id;
    (void)ei;
    g->n++;
    return dv_buf_add(&g->b, p, len);
}

static int find_n(vault *v, const vault_ctx *ctx, vault_level lv, const char *name,
                  const char *date)
{
    vault_query q;
    int n = 0;

    memset(&q, 0, sizeof(q));
    q.level = lv;
    q.patient_name = name;
    q.study_date = date;
    assert_int_equal(vault_find(v, ctx, &q, count_row, &n, NULL, NULL), DV_OK);
    return n;
}

static dv_err find_n_rc(vault *v, const vault_ctx *ctx)
{
    vault_query q;
    int n = 0;

    memset(&q, 0, sizeof(q));
    q.level = VAULT_LEVEL_PATIENT;
    return vault_find(v, ctx, &q, count_row, &n, NULL, NULL);
}

static void e2e_queries(vault *v, const vault_ctx *ctx)
{
    assert_int_equal(find_n(v, ctx, VAULT_LEVEL_PATIENT, "doe", NULL), 1);
    assert_int_equal(find_n(v, ctx, VAULT_LEVEL_PATIENT, "DOE^JOHN", NULL), 1);
    assert_int_equal(find_n(v, ctx, VAULT_LEVEL_PATIENT, "john", NULL), 1);
    assert_int_equal(find_n(v, ctx, VAULT_LEVEL_PATIENT, "JO*", NULL), 1);
    assert_int_equal(find_n(v, ctx, VAULT_LEVEL_PATIENT, "DOE JOHNNY", NULL), 0);
    assert_int_equal(find_n(v, ctx, VAULT_LEVEL_INSTANCE, NULL, "20240301-20240331"), 1);
    assert_int_equal(find_n(v, ctx, VAULT_LEVEL_PATIENT, NULL, "20240316-20240331"), 0);
    assert_int_equal(find_n(v, ctx, VAULT_LEVEL_STUDY, NULL, "-20240315"), 1);
}

/* ctx: a technologist (import, find, export); adm: the administrator (check, shred,
 * certificates; never PHI). */
static void e2e_checks(vault *v, const vault_ctx *ctx, const vault_ctx *adm, const dv_buf *file)
{
    vault_import_status st;
    vault_check_result cr;
    vault_shred_result sr;
    got g;
    uint64_t n = 0, bad = 1;
    vault_ctx nobody = *ctx;

    assert_int_equal(vault_import_mem(v, ctx, file->p, file->len, 0, &st, NULL), DV_OK);
    assert_int_equal(st, VAULT_IMPORTED);
    assert_int_equal(vault_import_mem(v, ctx, file->p, file->len, 0, &st, NULL), DV_OK);
    assert_int_equal(st, VAULT_DUPLICATE);
    assert_int_equal(vault_import_mem(v, ctx, (const uint8_t *)"nope", 4, 0, &st, NULL), DV_OK);
    assert_int_equal(st, VAULT_REJECTED);
    e2e_queries(v, ctx);
    memset(&g, 0, sizeof(g));
    dv_buf_init(&g.b, 1 << 20);
    assert_int_equal(
        vault_export_original(v, ctx, VAULT_SEL_STUDY, "1.2.3.4.1", keep_bytes, &g, &n, NULL),
        DV_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.b.len, file->len);
    assert_memory_equal(g.b.p, file->p, file->len); /* the archival copy: byte for byte */
    dv_buf_release(&g.b);
    nobody.user = "";
    assert_int_equal(
        vault_export(v, &nobody, VAULT_SEL_STUDY, "1.2.3.4.1", keep_bytes, &g, &n, NULL), DV_EPERM);
    /* the administrator never sees PHI; the technologist does not run the health check */
    assert_int_equal(vault_export(v, adm, VAULT_SEL_STUDY, "1.2.3.4.1", keep_bytes, &g, &n, NULL),
                     DV_EPERM);
    assert_int_equal(find_n_rc(v, adm), DV_EPERM);
    assert_int_equal(vault_check(v, ctx, 0, NULL, NULL, &cr, NULL), DV_EPERM);
    assert_int_equal(vault_check(v, adm, 0, NULL, NULL, &cr, NULL), DV_OK);
    assert_int_equal(cr.instances, 1);
    assert_int_equal(cr.bad_objects + cr.orphans + cr.bad_records, 0);
    assert_int_equal(vault_shred_study(v, ctx, "1.2.3.4.1", "unit test", &sr, NULL), DV_EPERM);
    assert_int_equal(vault_shred_study(v, adm, "1.2.3.4.1", "unit test", &sr, NULL), DV_OK);
    assert_int_equal(sr.instances, 1);
    assert_int_equal(find_n(v, ctx, VAULT_LEVEL_PATIENT, "doe", NULL), 0);
    assert_int_equal(vault_certificates(v, adm, NULL, NULL, &n, &bad, NULL), DV_OK);
    assert_int_equal(n, 1);
    assert_int_equal(bad, 0);
    assert_int_equal(vault_check(v, adm, 0, NULL, NULL, &cr, NULL), DV_OK);
    assert_int_equal(cr.instances + cr.orphans, 0);
}

static void test_end_to_end(void **state)
{
    char parent[] = "/tmp/dv_vault_e2e_XXXXXX", dir[128], other[160], cmd[200];
    vault_init_opts o;
    vault_init_result res, first;
    vault_kek_src src = {NULL, NULL}, wrong = {NULL, NULL};
    vault_ctx_local lc;
    demo_account admin, tech;
    crypto_key k;
    vault *v = NULL;
    dv_buf file;
    dv_errinfo ei;

    (void)state;
    assert_non_null(mkdtemp(parent));
    (void)snprintf(dir, sizeof(dir), "%s/v", parent);
    (void)snprintf(other, sizeof(other), "%s/other.kek", parent);
    vault_ctx_local_admin(&lc);
    memset(&o, 0, sizeof(o));
    o.dir = dir;
    o.cipher = "xchacha20poly1305";
    assert_int_equal(vault_init(&lc.ctx, &o, &res, &ei), DV_OK);
    assert_int_equal(strlen(res.admin_password), VAULT_PASSWORD_LEN);
    assert_int_equal(res.key_file_created, 1);
    first = res;
    assert_int_equal(vault_init(&lc.ctx, &o, &res, &ei), DV_EEXIST); /* never over a vault */
    assert_int_equal(crypto_keyfile_create(other, &k, NULL), DV_OK);
    wrong.key_file = other;
    assert_int_equal(vault_open(dir, &wrong, &v, &ei), DV_ECRYPTO);
    assert_string_equal(ei.msg, "the key does not open this vault");
    assert_int_equal(vault_open(dir, &src, &v, &ei), DV_OK);
    /* the context of every call is a session: the administrator's (one-time password changed,
     * second factor) and a technologist's it creates */
    assert_int_equal(demo_activate(v, first.admin, first.admin_password, &admin, &ei), DV_OK);
    memset(first.admin_password, 0, sizeof(first.admin_password));
    assert_int_equal(demo_add_user(v, &admin, "tech", "technologist", &tech, &ei), DV_OK);
    make_file("1.2.3.4.3", "Doe^John", &file);
    e2e_checks(v, &tech.ctx, &admin.ctx, &file);
    demo_account_wipe(&admin);
    demo_account_wipe(&tech);
    dv_buf_release(&file);
    vault_close(v);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", parent);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_good),     cmocka_unit_test(test_config_roundtrip),
        cmocka_unit_test(test_config_errors),   cmocka_unit_test(test_config_bad_creates_nothing),
        cmocka_unit_test(test_norm_name),       cmocka_unit_test(test_name_tokens),
        cmocka_unit_test(test_date_range),      cmocka_unit_test(test_date_months),
        cmocka_unit_test(test_wildcard),        cmocka_unit_test(test_record),
        cmocka_unit_test(test_local_admin_ctx), cmocka_unit_test(test_end_to_end),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
