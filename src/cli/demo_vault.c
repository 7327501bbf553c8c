/* SPDX-License-Identifier: Apache-2.0 */
/* demo_vault.c - the demo's vault step: create a vault, import the synthetic study, find it,
 * export it byte for byte, check it, and show that no patient identifier is left in clear in
 * the vault folder. */
#include <errno.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/demo_login.h"
#include "cli/demo_vault.h"
#include "vault/vault.h"

#include "common/banned.h"

#define DV_PATH  4096
#define SCAN_MAX (256u << 20)

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes a previous demo vault (the demo's own folder only). */
static void remove_tree(const char *path)
{
    struct stat st;

    if (lstat(path, &st) == 0)
        (void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int fail(const char *what, dv_err e, const dv_errinfo *ei)
{
    char msg[400];

    dv_errinfo_format(ei, e, msg, sizeof(msg));
    fprintf(stderr, "dcmvault demo: vault: %s: %s\n", what, msg);
    return -1;
}

typedef struct scan {
    const char *needles[8];
    size_t n;
    uint64_t files, bytes, hits;
} scan;

static int has_bytes(const uint8_t *p, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    return n && memmem(p, len, needle, n) != NULL;
}

static scan *g_scan; /* nftw has no context pointer; the demo is single-threaded */

static int scan_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    FILE *fp;
    uint8_t *buf;
    size_t i, got;

    (void)ftw;
    if (flag != FTW_F || sb->st_size <= 0 || (uint64_t)sb->st_size > SCAN_MAX)
        return 0;
    buf = malloc((size_t)sb->st_size);
    fp = buf ? fopen(path, "rb") : NULL;
    if (!fp) {
        free(buf);
        return -1;
    }
    got = fread(buf, 1, (size_t)sb->st_size, fp);
    (void)fclose(fp);
    g_scan->files++;
    g_scan->bytes += got;
    for (i = 0; i < g_scan->n; i++)
        g_scan->hits += (uint64_t)has_bytes(buf, got, g_scan->needles[i]);
    free(buf);
    return 0;
}

static int same_as_file(const char *path, const uint8_t *p, size_t len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = malloc(len + 1);
    size_t got = 0;
    int same;

    if (fp && buf)
        got = fread(buf, 1, len + 1, fp);
    same = fp && buf && got == len && memcmp(buf, p, len) == 0;
    if (fp)
        (void)fclose(fp);
    free(buf);
    return same;
}

typedef struct exp_ctx {
    char *const *files;
    uint32_t nfiles;
    uint64_t identical;
} exp_ctx;

/* Each exported object must equal one of the files that were imported. */
static dv_err on_export(void *cb, const char *sop_uid, int64_t id, const uint8_t *p, size_t len,
                        dv_errinfo *ei)
{
    exp_ctx *x = cb;
    uint32_t i;

    (void)sop_uid;
    for (i = 0; i < x->nfiles; i++)
        if (same_as_file(x->files[i], p, len)) {
            x->identical++;
            return DV_OK;
        }
    return dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                   "exported instance #%lld equals no imported file", (long long)id);
}

static dv_err on_found(void *cb, const vault_result *r)
{
    (void)cb;
    (void)r;
    return DV_OK;
}

static void on_import(void *cb, const char *path, vault_import_status st, dv_err e,
                      const dv_errinfo *ei)
{
    unsigned *bad = cb;

    (void)path;
    if (st == VAULT_REJECTED || e) {
        (*bad)++;
        (void)fail("import", e ? e : DV_EMALFORMED, ei);
    }
}

static int use_vault(vault *v, const vault_ctx *ctx, const vault_ctx *admin,
                     const demo_vault_in *in)
{
    unsigned rejected = 0;
    vault_query q;
    vault_check_result cr;
    exp_ctx x = {in->files, in->nfiles, 0};
    uint64_t n = 0, nexp = 0;
    dv_errinfo ei;
    dv_err e;

    e = vault_import_paths(v, ctx, in->files, in->nfiles, 0, on_import, &rejected, &ei);
    if (e)
        return fail("import", e, &ei);
    if (rejected)
        return -1;
    memset(&q, 0, sizeof(q));
    q.level = VAULT_LEVEL_INSTANCE;
    q.patient_id = in->patient_id;
    e = vault_find(v, ctx, &q, on_found, NULL, &n, &ei);
    if (e)
        return fail("find", e, &ei);
    printf("      imported %u files; find --patient-id %s (synthetic): %llu instances\n",
           in->nfiles, in->patient_id, (unsigned long long)n);
    e = vault_export_original(v, ctx, VAULT_SEL_STUDY, in->study_uid, on_export, &x, &nexp, &ei);
    if (e)
        return fail("export", e, &ei);
    printf("      export --study --original: %llu files, %llu byte-identical to what was "
           "imported\n",
           (unsigned long long)nexp, (unsigned long long)x.identical);
    memset(&cr, 0, sizeof(cr));
    e = vault_check(v, admin, 0, NULL, NULL, &cr, &ei);
    if (e)
        return fail("check", e, &ei);
    printf("      check: %llu instances open and authenticate, %llu problems\n",
           (unsigned long long)cr.instances,
           (unsigned long long)cr.bad_objects + cr.bad_records + cr.orphans + cr.tmp_files);
    if (n != in->nfiles || nexp != in->nfiles || x.identical != nexp || cr.bad_objects ||
        cr.bad_records || cr.orphans)
        return fail("results", DV_ETAMPER, NULL);
    return 0;
}

static int scan_vault(const char *vdir, const demo_vault_in *in)
{
    scan s;
    int rc;

    char name[80], *eq;

    /* whole name groups, not single components: a 3-byte ideograph would match random
     * ciphertext by chance about once per 16 MiB */
    (void)snprintf(name, sizeof(name), "%s", in->patient_name);
    eq = strchr(name, '=');
    if (eq)
        *eq++ = 0;
    memset(&s, 0, sizeof(s));
    s.needles[s.n++] = in->patient_id;
    s.needles[s.n++] = name;
    if (eq && *eq)
        s.needles[s.n++] = eq;
    s.needles[s.n++] = in->birth_date;
    s.needles[s.n++] = in->accession;
    g_scan = &s;
    rc = nftw(vdir, scan_entry, 16, FTW_PHYS);
    g_scan = NULL;
    if (rc != 0) {
        fprintf(stderr, "dcmvault demo: vault: cannot read the vault folder\n");
        return -1;
    }
    printf("      searched %llu files, %llu bytes under the vault folder for the patient's\n"
           "      ID, name (Latin and Chinese groups), birth date and accession: %llu hits\n",
           (unsigned long long)s.files, (unsigned long long)s.bytes, (unsigned long long)s.hits);
    return s.hits ? -1 : 0;
}

/* The demo's people: the administrator (its one-time password changed, a second factor
 * enrolled) and a technologist it creates, who imports, finds and exports. */
static int open_accounts(vault *v, const vault_init_result *res, demo_account *admin,
                         demo_account *tech)
{
    dv_errinfo ei;
    dv_err e = demo_activate(v, res->admin, res->admin_password, admin, &ei);

    if (e)
        return fail("login", e, &ei);
    e = demo_add_user(v, admin, "demo.technologist", "technologist", tech, &ei);
    if (e)
        return fail("user add", e, &ei);
    return 0;
}

static int run_vault(const char *vdir, vault_kek_src *src, vault_init_result *res,
                     const demo_vault_in *in)
{
    demo_account admin, tech;
    vault *v = NULL;
    dv_errinfo ei;
    dv_err e;
    int rc;

    e = vault_open(vdir, src, &v, &ei);
    if (e) {
        sodium_memzero(res->admin_password, sizeof(res->admin_password));
        return fail("open", e, &ei);
    }
    rc = open_accounts(v, res, &admin, &tech);
    sodium_memzero(res->admin_password, sizeof(res->admin_password)); /* never shown */
    if (!rc)
        rc = use_vault(v, &tech.ctx, &admin.ctx, in);
    demo_account_wipe(&admin);
    demo_account_wipe(&tech);
    vault_close(v);
    return rc;
}

int demo_vault_step(const demo_vault_in *in)
{
    char vdir[DV_PATH], kek[DV_PATH];
    vault_ctx_local local;
    vault_init_opts io;
    vault_init_result res;
    vault_kek_src src = {kek, NULL};
    dv_errinfo ei;
    dv_err e;
    int rc;

    if (snprintf(vdir, sizeof(vdir), "%s/vault", in->dir) >= (int)sizeof(vdir) ||
        snprintf(kek, sizeof(kek), "%s/vault.kek", in->dir) >= (int)sizeof(kek))
        return fail("path", DV_EINVAL, NULL);
    remove_tree(vdir);
    (void)unlink(kek);
    vault_ctx_local_admin(&local); /* init creates the administrator: no session yet */
    memset(&io, 0, sizeof(io));
    io.dir = vdir;
    io.kek.key_file = kek;
    e = vault_init(&local.ctx, &io, &res, &ei);
    if (e) {
        sodium_memzero(res.admin_password, sizeof(res.admin_password));
        return fail("init", e, &ei);
    }
    printf("      vault %s, key-encryption key in %s (0600, outside the vault)\n",
           vdir + strlen(in->dir) + 1, kek + strlen(in->dir) + 1);
    rc = run_vault(vdir, &src, &res, in);
    if (!rc)
        rc = scan_vault(vdir, in);
    if (!in->keep) {
        remove_tree(vdir);
        (void)unlink(kek);
    }
    return rc;
}
