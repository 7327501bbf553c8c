/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_vault.c - `dcmvault init`, `key rotate`, `shred`, `retention run` and `check`, and the
 * helpers every vault command shares (locating and opening the vault).
 *
 * Every command but init acts through vault_* with the logged-in session's context
 * (cli_session_ctx, src/cli/session.c; `dcmvault login` first); init, which creates the
 * vault and its administrator, is the one use of vault_ctx_local_admin().
 */
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_access.h"
#include "cli/cmd_vault.h"

#include "common/banned.h"

const char *cli_opt_value(const char *cmd, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "dcmvault %s: %s needs a value\n", cmd, argv[*i]);
        return NULL;
    }
    (*i)++;
    return argv[*i];
}

int cli_vault_opt(const char *cmd, cli_vault_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char **dst = NULL;

    if (!strcmp(a, "--vault"))
        dst = &o->dir;
    else if (!strcmp(a, "--key-file"))
        dst = &o->key_file;
    else if (!strcmp(a, "--passphrase-env"))
        dst = &o->pass_env;
    else if (!strcmp(a, "--purpose"))
        dst = &o->purpose;
    if (!dst)
        return 0;
    *dst = cli_opt_value(cmd, argc, argv, i);
    return *dst ? 1 : -1;
}

int cli_render_opt(const char *cmd, const char *opt, const char *v, vault_sel *sel,
                   const char **uid, int *nsel, vault_view_opts *o)
{
    char *end;
    long n;

    if (sel &&
        (!strcmp(opt, "--study") || !strcmp(opt, "--series") || !strcmp(opt, "--instance"))) {
        *sel = opt[2] == 's' ? (opt[3] == 't' ? VAULT_SEL_STUDY : VAULT_SEL_SERIES)
                             : VAULT_SEL_INSTANCE;
        *uid = v;
        (*nsel)++;
        return 1;
    }
    if (o && !strcmp(opt, "--window")) {
        if (!cli_parse_window(v, &o->ro.center, &o->ro.width)) {
            o->ro.has_window = 1;
            return 1;
        }
        fprintf(stderr, "dcmvault %s: --window needs CENTER,WIDTH: %s\n", cmd, v);
        return -1;
    }
    if (!o || strcmp(opt, "--frame") != 0)
        return 0;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || *end || v[0] < '0' || v[0] > '9' || n < 1 || n > (long)UINT32_MAX) {
        fprintf(stderr, "dcmvault %s: --frame needs a number >= 1: %s\n", cmd, v);
        return -1;
    }
    o->frame = (uint32_t)(n - 1);
    return 1;
}

int cli_vault_open(const char *cmd, cli_vault_opts *o, vault **v)
{
    vault_kek_src src;
    dv_errinfo ei;
    dv_err e;

    if (!o->dir)
        o->dir = getenv("DCMVAULT_DIR");
    if (!o->dir || !o->dir[0]) {
        fprintf(stderr, "dcmvault %s: no vault: give --vault DIR or set DCMVAULT_DIR\n", cmd);
        return DV_EXIT_USAGE;
    }
    src.key_file = o->key_file;
    src.pass_env = o->pass_env;
    dv_errinfo_clear(&ei);
    e = vault_open(o->dir, &src, v, &ei);
    if (e) {
        cli_report(cmd, o->dir, e, &ei);
        return e == DV_ENOTFOUND ? DV_EXIT_IO : cli_exit_code(e);
    }
    return DV_EXIT_OK;
}

int cli_vault_session(const char *cmd, cli_vault_opts *o, vault **v, cli_session *s)
{
    int rc = cli_vault_open(cmd, o, v);
    vault_whoami w;
    dv_errinfo ei;

    if (rc)
        return rc;
    rc = cli_session_ctx(cmd, o->dir, o->purpose, s);
    if (rc) {
        vault_close(*v);
        *v = NULL;
        return rc;
    }
    /* the log names the account, not "session" (the gate still decides from the token) */
    if (vault_whoami_get(*v, &s->ctx, &w, &ei) == DV_OK && w.user[0]) {
        (void)snprintf(s->user, sizeof(s->user), "%s", w.user);
        (void)snprintf(s->roles, sizeof(s->roles), "%s", w.roles[0] ? w.roles : "none");
        s->ctx.user = s->user;
        s->ctx.role = s->roles;
        (void)snprintf(s->session_purpose, sizeof(s->session_purpose), "%s", w.purpose);
    }
    return DV_EXIT_OK;
}

/* ---- init ----------------------------------------------------------------------------------- */

static void init_help(FILE *out)
{
    fprintf(out,
            "usage: dcmvault init DIR [--key-file PATH | --passphrase-env VAR] [--cipher C]\n"
            "                         [--admin NAME]\n"
            "Creates a vault in DIR (mode 0700): dcmvault.conf, keys.sealed, index.sqlite,\n"
            "objects/, tmp/.  The key-encryption key never lives in DIR:\n"
            "  (default)              a new key file DIR.kek beside DIR, mode 0600\n"
            "  --key-file PATH        use this key file (created 0600 when absent)\n"
            "  --passphrase-env VAR   derive the key from the passphrase in $VAR (Argon2id,\n"
            "                         at least 12 characters; the salt goes to the config)\n"
            "  --pkcs11 URI           not supported in this build\n"
            "  --cipher C             aes256gcm, xchacha20poly1305 or sm4 (SM4-CTR + HMAC-SM3)\n"
            "                         (default: AES-256-GCM with AES-NI, else XChaCha20-Poly1305)\n"
            "  --admin NAME           the administrator account (default: admin)\n\n"
            "Creates one administrator with a random one-time password, printed once on\n"
            "stdout; it must be changed at first use.  There is no default password or key.\n"
            "Exit status: 0 created, 2 usage, 3 I/O, 4 refused (e.g. a key file others can\n"
            "read), 5 internal.\n");
}

static int init_args(int argc, char **argv, vault_init_opts *o)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;

        if (!strcmp(a, "--key-file"))
            dst = &o->kek.key_file;
        else if (!strcmp(a, "--passphrase-env"))
            dst = &o->kek.pass_env;
        else if (!strcmp(a, "--cipher"))
            dst = &o->cipher;
        else if (!strcmp(a, "--admin"))
            dst = &o->admin;
        else if (!strcmp(a, "--pkcs11"))
            dst = &o->pkcs11;
        if (dst) {
            *dst = cli_opt_value("init", argc, argv, &i);
            if (!*dst)
                return DV_EXIT_USAGE;
        } else if (a[0] == '-' || o->dir) {
            fprintf(stderr, "dcmvault init: unexpected argument '%s'\n", a);
            return DV_EXIT_USAGE;
        } else {
            o->dir = a;
        }
    }
    if (!o->dir) {
        init_help(stderr);
        return DV_EXIT_USAGE;
    }
    return DV_EXIT_OK;
}

int cmd_init(int argc, char **argv)
{
    vault_init_opts o;
    vault_init_result res;
    vault_ctx_local lc;
    dv_errinfo ei;
    dv_err e;
    int rc;

    if (cli_wants_help(argc, argv)) {
        init_help(stdout);
        return DV_EXIT_OK;
    }
    memset(&o, 0, sizeof(o));
    rc = init_args(argc, argv, &o);
    if (rc)
        return rc;
    vault_ctx_local_admin(&lc);
    dv_errinfo_clear(&ei);
    e = vault_init(&lc.ctx, &o, &res, &ei);
    if (e) {
        cli_report("init", o.dir, e, &ei);
        return cli_exit_code(e);
    }
    printf("created vault %s\n", o.dir);
    if (res.key_file[0])
        printf("key file: %s (%s, mode 0600): keep it outside the vault folder and back it up;\n"
               "  without it the vault cannot be opened\n",
               res.key_file, res.key_file_created ? "created" : "existing");
    else
        printf("key: from the passphrase in $%s (Argon2id)\n", o.kek.pass_env);
    printf("administrator: %s\none-time password: %s\n"
           "  (shown only now; it must be changed at first use)\n",
           res.admin, res.admin_password);
    sodium_memzero(res.admin_password, sizeof(res.admin_password));
    return fflush(stdout) == 0 ? DV_EXIT_OK : DV_EXIT_IO;
}

/* ---- key rotate ---------------------------------------------------------------------------- */

static void key_help(FILE *out)
{
    fprintf(
        out,
        "usage: dcmvault key rotate [OPTIONS] [--new-key-file PATH | --new-passphrase-env VAR]\n"
        "Creates a new key-encryption key, re-wraps every study's data key and the vault's\n"
        "secrets under it in one transaction, then destroys the old key file (overwritten\n"
        "with random bytes, then removed).  By default the new key replaces the old one at\n"
        "the same path; with --new-key-file it lives at PATH and the config names it.  A\n"
        "copy of the old key file opens nothing afterwards.  A passphrase vault takes its\n"
        "new passphrase from $VAR (--new-passphrase-env, at least 12 characters) and a new\n"
        "salt; the old passphrase opens nothing afterwards.\n" CLI_VAULT_OPTS_HELP
        "Exit status: 0 rotated, 2 usage, 3 I/O, 4 key refused, 5 internal.\n");
}

int cmd_key(int argc, char **argv)
{
    cli_vault_opts vo = {NULL, NULL, NULL};
    const char *newk = NULL, *newpass = NULL;
    char newpath[VAULT_PATH_MAX];
    cli_session lc;
    dv_errinfo ei;
    uint64_t n = 0;
    vault *v = NULL;
    int i, rc;
    dv_err e;

    if (cli_wants_help(argc, argv) || argc < 2 || strcmp(argv[1], "rotate") != 0) {
        key_help(argc < 2 || cli_wants_help(argc, argv) ? stdout : stderr);
        return cli_wants_help(argc, argv) ? DV_EXIT_OK : DV_EXIT_USAGE;
    }
    for (i = 2; i < argc; i++) {
        rc = cli_vault_opt("key", &vo, argc, argv, &i);
        if (rc < 0)
            return DV_EXIT_USAGE;
        if (rc)
            continue;
        if (!strcmp(argv[i], "--new-key-file")) {
            newk = cli_opt_value("key", argc, argv, &i);
            if (!newk)
                return DV_EXIT_USAGE;
            continue;
        }
        if (!strcmp(argv[i], "--new-passphrase-env")) {
            newpass = cli_opt_value("key", argc, argv, &i);
            if (!newpass)
                return DV_EXIT_USAGE;
            continue;
        }
        fprintf(stderr, "dcmvault key: unexpected argument '%s'\n", argv[i]);
        return DV_EXIT_USAGE;
    }
    rc = cli_vault_session("key", &vo, &v, &lc);
    if (rc)
        return rc;
    dv_errinfo_clear(&ei);
    if (newk && newpass) {
        vault_close(v);
        fprintf(stderr, "dcmvault key: --new-key-file and --new-passphrase-env exclude each "
                        "other\n");
        return DV_EXIT_USAGE;
    }
    e = newpass ? vault_key_rotate_passphrase(v, &lc.ctx, newpass, &n, &ei)
                : vault_key_rotate(v, &lc.ctx, newk, &n, newpath, &ei);
    vault_close(v);
    if (e) {
        cli_report("key", vo.dir, e, &ei);
        return cli_exit_code(e);
    }
    if (newpass) {
        printf("rotated: %llu data key(s) re-wrapped under the new passphrase; the old one opens "
               "nothing\n",
               (unsigned long long)n);
        return fflush(stdout) == 0 ? DV_EXIT_OK : DV_EXIT_IO;
    }
    printf("rotated: %llu data key(s) re-wrapped; key file now %s; the old key was destroyed\n",
           (unsigned long long)n, newpath);
    return fflush(stdout) == 0 ? DV_EXIT_OK : DV_EXIT_IO;
}

/* ---- shred ---------------------------------------------------------------------------------- */

static void shred_help(FILE *out)
{
    fprintf(out,
            "usage: dcmvault shred [OPTIONS] --study UID --reason TEXT\n"
            "       dcmvault shred [OPTIONS] --list-certificates\n"
            "Crypto-shreds a study: its wrapped data key, index rows (SQLite secure_delete, then\n"
            "a WAL checkpoint) and objects are destroyed, and a destruction certificate is kept:\n"
            "the study's keyed pseudonym, counts, bytes, UTC time, actor and reason, signed with\n"
            "the vault's Ed25519 audit key.  --list-certificates prints every certificate and\n"
            "whether its signature verifies.\n"
            "  --reason TEXT   why (1..1000 bytes).  It is stored in the certificate as written:\n"
            "                  it MUST NOT contain patient data (names, IDs, dates of birth "
            "...).\n" CLI_VAULT_OPTS_HELP
            "Exit status: 0 done (all certificates verify), 1 no such study or a certificate\n"
            "does not verify, 2 usage, 3 I/O, 4 key refused, 5 internal.\n");
}

static dv_err print_cert(void *cb, int64_t id, const char *body, int verified)
{
    (void)cb;
    printf("certificate %lld: signature %s\n  %s\n", (long long)id, verified ? "valid" : "INVALID",
           body);
    return DV_OK;
}

static int shred_list(vault *v, const vault_ctx *ctx, const char *dir)
{
    uint8_t pk[32];
    char pkhex[65];
    uint64_t n = 0, bad = 0;
    dv_errinfo ei;
    dv_err e;

    vault_sign_public_key(v, pk);
    sodium_bin2hex(pkhex, sizeof(pkhex), pk, sizeof(pk));
    printf("audit signing public key (Ed25519): %s\n", pkhex);
    dv_errinfo_clear(&ei);
    e = vault_certificates(v, ctx, print_cert, NULL, &n, &bad, &ei);
    if (e) {
        cli_report("shred", dir, e, &ei);
        return cli_exit_code(e);
    }
    printf("%llu certificate(s), %llu with a bad signature\n", (unsigned long long)n,
           (unsigned long long)bad);
    return bad ? DV_EXIT_FAIL : DV_EXIT_OK;
}

static int shred_one(vault *v, const vault_ctx *ctx, const char *dir, const char *uid,
                     const char *reason)
{
    vault_shred_result res;
    dv_errinfo ei;
    dv_err e;

    dv_errinfo_clear(&ei);
    e = vault_shred_study(v, ctx, uid, reason, &res, &ei);
    if (e) {
        cli_report("shred", dir, e, &ei);
        return cli_exit_code(e);
    }
    printf("shredded study (pseudonym %s): %llu series, %llu instances, %llu bytes; "
           "certificate %lld\n",
           res.pseudonym, (unsigned long long)res.series, (unsigned long long)res.instances,
           (unsigned long long)res.bytes, (long long)res.cert_id);
    return DV_EXIT_OK;
}

int cmd_shred(int argc, char **argv)
{
    cli_vault_opts vo = {NULL, NULL, NULL};
    const char *uid = NULL, *reason = NULL;
    cli_session lc;
    vault *v = NULL;
    int i, rc, list = 0;

    if (cli_wants_help(argc, argv)) {
        shred_help(stdout);
        return DV_EXIT_OK;
    }
    for (i = 1; i < argc; i++) {
        const char **dst = NULL;

        rc = cli_vault_opt("shred", &vo, argc, argv, &i);
        if (rc < 0)
            return DV_EXIT_USAGE;
        if (rc)
            continue;
        if (!strcmp(argv[i], "--list-certificates")) {
            list = 1;
            continue;
        }
        if (!strcmp(argv[i], "--study"))
            dst = &uid;
        else if (!strcmp(argv[i], "--reason"))
            dst = &reason;
        if (!dst) {
            fprintf(stderr, "dcmvault shred: unexpected argument '%s'\n", argv[i]);
            return DV_EXIT_USAGE;
        }
        *dst = cli_opt_value("shred", argc, argv, &i);
        if (!*dst)
            return DV_EXIT_USAGE;
    }
    if (!list && (!uid || !reason)) {
        shred_help(stderr);
        return DV_EXIT_USAGE;
    }
    rc = cli_vault_session("shred", &vo, &v, &lc);
    if (rc)
        return rc;
    rc = list ? shred_list(v, &lc.ctx, vo.dir) : shred_one(v, &lc.ctx, vo.dir, uid, reason);
    vault_close(v);
    if (fflush(stdout) != 0)
        return DV_EXIT_IO;
    return rc;
}

/* ---- retention ------------------------------------------------------------------------------ */

static void retention_help(FILE *out)
{
    fprintf(out,
            "usage: dcmvault retention run [OPTIONS] [--dry-run]\n"
            "Lists the studies whose retention has expired (StudyDate + the longest [retention]\n"
            "rule of their modalities, in dcmvault.conf, is before today, UTC) and, without\n"
            "--dry-run, shreds each with the reason \"retention\" (see dcmvault shred).  Studies\n"
            "without a StudyDate are never expired; they are listed as kept.\n" CLI_VAULT_OPTS_HELP
            "Exit status: 0 done, 2 usage, 3 I/O, 4 key refused, 5 internal.\n");
}

static void print_retention(void *cb, const vault_retention_item *it)
{
    (void)cb;
    if (!it->expired)
        printf("kept (no study date): study %s, modalities %s\n", it->study_uid, it->modalities);
    else
        printf("%s: study %s, date %s, modalities %s, rule %u years\n",
               it->shredded ? "shredded" : "expired", it->study_uid, it->study_date, it->modalities,
               it->years);
}

int cmd_retention(int argc, char **argv)
{
    cli_vault_opts vo = {NULL, NULL, NULL};
    cli_session lc;
    dv_errinfo ei;
    uint64_t n = 0;
    vault *v = NULL;
    int i, rc, dry = 0;
    dv_err e;

    if (cli_wants_help(argc, argv) || argc < 2 || strcmp(argv[1], "run") != 0) {
        retention_help(cli_wants_help(argc, argv) ? stdout : stderr);
        return cli_wants_help(argc, argv) ? DV_EXIT_OK : DV_EXIT_USAGE;
    }
    for (i = 2; i < argc; i++) {
        rc = cli_vault_opt("retention", &vo, argc, argv, &i);
        if (rc < 0)
            return DV_EXIT_USAGE;
        if (!rc && strcmp(argv[i], "--dry-run") != 0) {
            fprintf(stderr, "dcmvault retention: unexpected argument '%s'\n", argv[i]);
            return DV_EXIT_USAGE;
        }
        dry |= !rc;
    }
    rc = cli_vault_session("retention", &vo, &v, &lc);
    if (rc)
        return rc;
    dv_errinfo_clear(&ei);
    e = vault_retention_run(v, &lc.ctx, dry, print_retention, NULL, &n, &ei);
    vault_close(v);
    if (e) {
        cli_report("retention", vo.dir, e, &ei);
        return cli_exit_code(e);
    }
    printf("%llu expired stud%s%s\n", (unsigned long long)n, n == 1 ? "y" : "ies",
           dry ? " (dry run: nothing shredded)" : "");
    return fflush(stdout) == 0 ? DV_EXIT_OK : DV_EXIT_IO;
}

/* ---- check ---------------------------------------------------------------------------------- */

static void check_help(FILE *out)
{
    fprintf(out,
            "usage: dcmvault check [OPTIONS] [--repair]\n"
            "Verifies that every study's data key unwraps, every sealed index record opens, every\n"
            "instance's object exists and decrypts and authenticates, and that there are no\n"
            "objects without an index row (orphans, e.g. after a crash) and no leftover\n"
            "temporary files.  Problems are named by instance id and object key, never by\n"
            "patient data.  --repair removes orphans and temporary files (never index "
            "rows).\n" CLI_VAULT_OPTS_HELP
            "Exit status: 0 clean (or everything found was repaired), 1 problems, 2 usage,\n"
            "3 I/O, 4 key refused, 5 internal.\n");
}

static void print_problem(void *cb, const char *kind, int64_t id, const char *key, const char *what)
{
    (void)cb;
    printf("problem: %s", kind);
    if (id)
        printf(" instance %lld", (long long)id);
    if (key[0])
        printf(" object %s", key);
    printf(": %s\n", what);
}

int cmd_check(int argc, char **argv)
{
    cli_vault_opts vo = {NULL, NULL, NULL};
    vault_check_result r;
    cli_session lc;
    dv_errinfo ei;
    vault *v = NULL;
    int i, rc, repair = 0;
    uint64_t bad;
    dv_err e;

    if (cli_wants_help(argc, argv)) {
        check_help(stdout);
        return DV_EXIT_OK;
    }
    for (i = 1; i < argc; i++) {
        rc = cli_vault_opt("check", &vo, argc, argv, &i);
        if (rc < 0)
            return DV_EXIT_USAGE;
        if (!rc && strcmp(argv[i], "--repair") != 0) {
            fprintf(stderr, "dcmvault check: unexpected argument '%s'\n", argv[i]);
            return DV_EXIT_USAGE;
        }
        repair |= !rc;
    }
    rc = cli_vault_session("check", &vo, &v, &lc);
    if (rc)
        return rc;
    dv_errinfo_clear(&ei);
    e = vault_check(v, &lc.ctx, repair, print_problem, NULL, &r, &ei);
    vault_close(v);
    if (e) {
        cli_report("check", vo.dir, e, &ei);
        return cli_exit_code(e);
    }
    printf("%llu patients, %llu studies, %llu series, %llu instances, %llu bytes sealed, "
           "%llu certificates\n",
           (unsigned long long)r.patients, (unsigned long long)r.studies,
           (unsigned long long)r.series, (unsigned long long)r.instances,
           (unsigned long long)r.bytes, (unsigned long long)r.certs);
    printf("bad objects %llu, bad records %llu, orphans %llu, temporary files %llu, "
           "repaired %llu\n",
           (unsigned long long)r.bad_objects, (unsigned long long)r.bad_records,
           (unsigned long long)r.orphans, (unsigned long long)r.tmp_files,
           (unsigned long long)r.repaired);
    bad = r.bad_objects + r.bad_records + r.orphans + r.tmp_files - r.repaired;
    if (fflush(stdout) != 0)
        return DV_EXIT_IO;
    return bad ? DV_EXIT_FAIL : DV_EXIT_OK;
}
