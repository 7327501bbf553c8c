/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_access.c - `dcmvault login`, `logout`, `whoami`, `passwd`, `user ...`, and the option
 * parsing the access commands share (cmd_access2.c has grants, approvals, alerts, break-glass).
 *
 * Secrets (passwords, TOTP codes) come from --password-file / --totp-file (first line) or are
 * typed without echo on a terminal; they are wiped after use and never printed, except the
 * one-time passwords that `user add` and `user reset` exist to hand out.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cmd_access.h"
#include "cli/cmd_access_int.h"
#include "cli/cmd_vault.h"

#include "common/banned.h"

/* ---- shared parsing ------------------------------------------------------------------------ */

int acc_parse(const char *cmd, int argc, char **argv, int first, acc_args *a)
{
    int i, rc;
    size_t k;

    for (i = first; i < argc; i++) {
        rc = cli_vault_opt(cmd, &a->vo, argc, argv, &i);
        if (rc < 0)
            return DV_EXIT_USAGE;
        if (rc)
            continue;
        for (k = 0; k < a->nopts; k++)
            if (!strcmp(argv[i], a->opts[k].name))
                break;
        if (k < a->nopts && a->opts[k].flag) {
            *a->opts[k].flag = 1;
        } else if (k < a->nopts) {
            *a->opts[k].val = cli_opt_value(cmd, argc, argv, &i);
            if (!*a->opts[k].val)
                return DV_EXIT_USAGE;
        } else if (argv[i][0] == '-' || a->npos >= ACC_POS_MAX) {
            fprintf(stderr, "dcmvault %s: unexpected argument '%s'\n", cmd, argv[i]);
            return DV_EXIT_USAGE;
        } else {
            a->pos[a->npos++] = argv[i];
        }
    }
    return DV_EXIT_OK;
}

int acc_open(const char *cmd, acc_args *a, vault **v, cli_session *s)
{
    int rc = cli_vault_open(cmd, &a->vo, v);

    if (rc)
        return rc;
    rc = cli_session_ctx(cmd, a->vo.dir, a->purpose ? a->purpose : a->vo.purpose, s);
    if (rc) {
        vault_close(*v);
        *v = NULL;
    }
    return rc;
}

int acc_fail(const char *cmd, dv_err e, const dv_errinfo *ei)
{
    cli_report(cmd, NULL, e, ei);
    return cli_exit_code(e);
}

int acc_done(void)
{
    return fflush(stdout) == 0 ? DV_EXIT_OK : DV_EXIT_IO;
}

/* A secret from a file, else from the terminal; -1 (message printed) when neither. */
static int get_secret(const char *cmd, const char *file, const char *prompt, char *out, size_t cap,
                      int required)
{
    if (file) {
        if (cli_read_secret_file(file, out, cap) == 0)
            return 0;
        fprintf(stderr, "dcmvault %s: cannot read %s\n", cmd, file);
        return -1;
    }
    if (cli_prompt_secret(prompt, out, cap) == 0 || !required)
        return 0;
    fprintf(stderr, "dcmvault %s: no terminal to ask on: give the file option\n", cmd);
    return -1;
}

/* ---- login / logout / whoami ----------------------------------------------------------------- */

static void login_help(FILE *out)
{
    fprintf(out,
            "usage: dcmvault login [--as USER] [--password-file F] [--totp-file F] [OPTIONS]\n"
            "Opens a session: checks the password and, when the account has one, the TOTP code\n"
            "(the first code after `dcmvault user totp` activates the second factor).  The\n"
            "session token goes to $DCMVAULT_SESSION, else ~/.dcmvault/session-<vault hash>,\n"
            "mode 0600; every other command uses it.  Five wrong attempts lock the account for\n"
            "15 minutes.  A one-time password must be changed first (dcmvault passwd).\n"
            "  --as USER            the account (default: $USER)\n"
            "  --password-file F    read the password from F's first line (else asked)\n"
            "  --totp-file F        read the 6-digit TOTP code from F (else asked on a "
            "terminal)\n" CLI_VAULT_OPTS_HELP
            "Exit status: 0 logged in, 2 usage, 3 I/O, 4 refused.\n");
}

static int login_print(const char *user, const vault_login_res *r, const char *path)
{
    printf("logged in as %s (%s)%s; session file %s\n", user, r->roles,
           r->mfa ? " with a second factor" : "", path);
    if (r->must_change)
        printf("the password is a one-time password: change it now (dcmvault passwd)\n");
    else if (!r->totp_enrolled)
        printf("no second factor: enrol one (dcmvault user totp) if your role needs it\n");
    return acc_done();
}

int cmd_login(int argc, char **argv)
{
    const char *as = NULL, *pwf = NULL, *totpf = NULL;
    acc_opt opts[] = {
        {"--as", &as, NULL}, {"--password-file", &pwf, NULL}, {"--totp-file", &totpf, NULL}};
    acc_args a = {{NULL, NULL, NULL}, NULL, opts, 3, {NULL}, 0};
    char pw[ACC_SECRET_MAX], code[32], path[4096];
    vault_login_res res;
    dv_errinfo ei;
    vault *v = NULL;
    int rc;
    dv_err e;

    if (cli_wants_help(argc, argv)) {
        login_help(stdout);
        return DV_EXIT_OK;
    }
    rc = acc_parse("login", argc, argv, 1, &a);
    if (!rc && a.npos)
        rc = DV_EXIT_USAGE;
    if (!as)
        as = getenv("USER");
    if (!rc && !as)
        rc = DV_EXIT_USAGE;
    if (!rc)
        rc = cli_vault_open("login", &a.vo, &v);
    if (!rc && cli_session_path(a.vo.dir, path, sizeof(path)) != 0)
        rc = DV_EXIT_USAGE;
    if (!rc && (get_secret("login", pwf, "password: ", pw, sizeof(pw), 1) ||
                get_secret("login", totpf, "TOTP code (empty if none): ", code, sizeof(code), 0)))
        rc = DV_EXIT_USAGE;
    if (!rc) {
        dv_errinfo_clear(&ei);
        e = vault_login(v, as, pw, code, "local", &res, &ei);
        rc = e ? acc_fail("login", e, &ei) : 0;
        if (!rc && cli_session_save(path, res.token) != 0) {
            fprintf(stderr, "dcmvault login: cannot write the session file %s\n", path);
            rc = DV_EXIT_IO;
        }
        if (!rc)
            rc = login_print(as, &res, path);
        sodium_memzero(&res, sizeof(res));
    }
    sodium_memzero(pw, sizeof(pw));
    sodium_memzero(code, sizeof(code));
    vault_close(v);
    return rc;
}

int cmd_logout(int argc, char **argv)
{
    acc_args a = {{NULL, NULL, NULL}, NULL, NULL, 0, {NULL}, 0};
    char path[4096];
    cli_session s;
    dv_errinfo ei;
    vault *v = NULL;
    int rc = acc_parse("logout", argc, argv, 1, &a);
    dv_err e;

    if (rc)
        return rc;
    rc = acc_open("logout", &a, &v, &s);
    if (rc)
        return rc;
    e = vault_logout(v, s.token, &ei);
    vault_close(v);
    cli_session_wipe(&s);
    if (e)
        return acc_fail("logout", e, &ei);
    if (cli_session_path(a.vo.dir, path, sizeof(path)) == 0)
        (void)remove(path);
    printf("logged out\n");
    return acc_done();
}

int cmd_whoami(int argc, char **argv)
{
    acc_args a = {{NULL, NULL, NULL}, NULL, NULL, 0, {NULL}, 0};
    vault_whoami w;
    cli_session s;
    dv_errinfo ei;
    vault *v = NULL;
    int rc = acc_parse("whoami", argc, argv, 1, &a);
    dv_err e;

    if (!rc)
        rc = acc_open("whoami", &a, &v, &s);
    if (rc)
        return rc;
    e = vault_whoami_get(v, &s.ctx, &w, &ei);
    vault_close(v);
    cli_session_wipe(&s);
    if (e)
        return acc_fail("whoami", e, &ei);
    printf("user %s\nroles %s\nteam %s\npurpose %s\nsecond factor %s\n", w.user, w.roles,
           w.team[0] ? w.team : "-", w.purpose, w.mfa ? "yes" : "no");
    if (w.must_change)
        printf("one-time password: change it (dcmvault passwd)\n");
    if (w.suspended)
        printf("SUSPENDED\n");
    return acc_done();
}

int cmd_passwd(int argc, char **argv)
{
    const char *oldf = NULL, *newf = NULL;
    acc_opt opts[] = {{"--old-password-file", &oldf, NULL}, {"--new-password-file", &newf, NULL}};
    acc_args a = {{NULL, NULL, NULL}, NULL, opts, 2, {NULL}, 0};
    char old[ACC_SECRET_MAX], nw[ACC_SECRET_MAX];
    cli_session s;
    dv_errinfo ei;
    vault *v = NULL;
    int rc = acc_parse("passwd", argc, argv, 1, &a);
    dv_err e = DV_OK;

    if (cli_wants_help(argc, argv)) {
        printf("usage: dcmvault passwd [--old-password-file F] [--new-password-file F]\n"
               "Changes your password: at least 12 characters, not containing your user name,\n"
               "not a common password.\n" CLI_VAULT_OPTS_HELP);
        return DV_EXIT_OK;
    }
    if (!rc)
        rc = acc_open("passwd", &a, &v, &s);
    if (rc)
        return rc;
    if (get_secret("passwd", oldf, "current password: ", old, sizeof(old), 1) ||
        get_secret("passwd", newf, "new password: ", nw, sizeof(nw), 1))
        rc = DV_EXIT_USAGE;
    if (!rc)
        e = vault_passwd(v, &s.ctx, old, nw, &ei);
    sodium_memzero(old, sizeof(old));
    sodium_memzero(nw, sizeof(nw));
    vault_close(v);
    cli_session_wipe(&s);
    if (rc)
        return rc;
    if (e)
        return acc_fail("passwd", e, &ei);
    printf("password changed\n");
    return acc_done();
}

/* ---- user --------------------------------------------------------------------------------- */

static void user_help(FILE *out)
{
    fprintf(out,
            "usage: dcmvault user add NAME --roles R[,R...] [--team T]\n"
            "       dcmvault user list | disable NAME | enable NAME | reset NAME [--totp]\n"
            "       dcmvault user totp\n"
            "Accounts (administrators; `user totp` enrols your own second factor and prints\n"
            "its secret and otpauth:// URI; the next login with a code activates it).  Roles:\n"
            "radiologist, referring-physician, technologist, researcher, privacy-officer,\n"
            "administrator, maintenance, service (administrator never with privacy-officer).\n"
            "add and reset print a one-time password that must be changed at first "
            "login.\n" CLI_VAULT_OPTS_HELP
            "Exit status: 0 done, 1 no such user, 2 usage, 4 refused.\n");
}

static dv_err print_user(void *cb, const vault_user_info *u)
{
    (void)cb;
    printf("%-20s %-40s team=%s%s%s%s%s%s\n", u->name, u->roles, u->team[0] ? u->team : "-",
           u->totp ? " totp" : "", u->must_change ? " one-time-password" : "",
           u->disabled ? " DISABLED" : "", u->suspended ? " SUSPENDED" : "",
           u->locked ? " LOCKED" : "");
    return DV_OK;
}

static dv_err user_run(vault *v, const vault_ctx *ctx, const char *sub, const acc_args *a,
                       const char *roles, const char *team, int totp, dv_errinfo *ei)
{
    char pw[VAULT_PASSWORD_LEN + 1], b32[64], uri[512];
    dv_err e = DV_EINVAL;

    pw[0] = '\0';
    if (!strcmp(sub, "list") && a->npos == 1)
        return vault_user_list(v, ctx, print_user, NULL, ei);
    if (!strcmp(sub, "totp") && a->npos == 1) {
        e = vault_totp_enrol(v, ctx, b32, uri, ei);
        if (!e)
            printf("TOTP secret (base32): %s\n%s\nlog in with a code to activate it\n", b32, uri);
        sodium_memzero(b32, sizeof(b32));
        sodium_memzero(uri, sizeof(uri));
        return e;
    }
    if (a->npos != 2)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "see dcmvault user --help");
    if (!strcmp(sub, "add") && roles)
        e = vault_user_add(v, ctx, a->pos[1], roles, team, pw, ei);
    else if (!strcmp(sub, "disable") || !strcmp(sub, "enable"))
        e = vault_user_disable(v, ctx, a->pos[1], !strcmp(sub, "disable"), ei);
    else if (!strcmp(sub, "reset"))
        e = vault_user_reset(v, ctx, a->pos[1], totp, pw, ei);
    else
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "see dcmvault user --help");
    if (!e && pw[0])
        printf("user %s: one-time password: %s\n  (shown only now; it must be changed at first "
               "login)\n",
               a->pos[1], pw);
    else if (!e)
        printf("user %s: %sd\n", a->pos[1], sub);
    sodium_memzero(pw, sizeof(pw));
    return e;
}

int cmd_user(int argc, char **argv)
{
    const char *roles = NULL, *team = NULL;
    int totp = 0;
    acc_opt opts[] = {{"--roles", &roles, NULL}, {"--team", &team, NULL}, {"--totp", NULL, &totp}};
    acc_args a = {{NULL, NULL, NULL}, NULL, opts, 3, {NULL}, 0};
    cli_session s;
    dv_errinfo ei;
    vault *v = NULL;
    int rc;
    dv_err e;

    if (cli_wants_help(argc, argv) || argc < 2) {
        user_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? DV_EXIT_USAGE : DV_EXIT_OK;
    }
    rc = acc_parse("user", argc, argv, 1, &a);
    if (!rc && a.npos == 0)
        rc = DV_EXIT_USAGE;
    if (!rc)
        rc = acc_open("user", &a, &v, &s);
    if (rc)
        return rc;
    dv_errinfo_clear(&ei);
    e = user_run(v, &s.ctx, a.pos[0], &a, roles, team, totp, &ei);
    vault_close(v);
    cli_session_wipe(&s);
    return e ? acc_fail("user", e, &ei) : acc_done();
}
