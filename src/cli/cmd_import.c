/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_import.c - `dcmvault import`: files, folders and DICOMDIRs into the vault, with a
 * progress line on a terminal and a summary.  Messages name files and the rule a file broke,
 * never a value from it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_access.h"
#include "cli/cmd_vault.h"

#include "common/banned.h"

static void import_help(FILE *out)
{
    fprintf(out,
            "usage: dcmvault import [OPTIONS] PATH...\n"
            "Stores DICOM files in the vault, sealed.  PATH may be a file, a folder (read\n"
            "recursively; symbolic links inside it are not followed) or a DICOMDIR (the files\n"
            "its records reference are imported).  An instance whose SOP Instance UID is already\n"
            "stored is skipped as a duplicate unless --replace is given.  Bad input is rejected\n"
            "with the reason (offset, tag, rule) and changes nothing.\n"
            "  --replace   overwrite instances with the same SOP Instance UID\n"
            "  --verbose   print one line per file once it is durably stored\n" CLI_VAULT_OPTS_HELP
            "Exit status: 0 nothing rejected, 1 some files rejected, 2 usage, 3 I/O,\n"
            "4 key refused, 5 internal.\n");
}

typedef struct import_ui {
    int verbose, tty;
    uint64_t imported, replaced, dup, rejected, other;
    double last;
} import_ui;

static double mono_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(import_ui *u, int final)
{
    double now = mono_now();

    if (!u->tty || (!final && now - u->last < 1.0))
        return;
    u->last = now;
    fprintf(stderr, "\rimporting: %llu stored, %llu duplicates, %llu rejected%s",
            (unsigned long long)u->imported + (unsigned long long)u->replaced,
            (unsigned long long)u->dup, (unsigned long long)u->rejected, final ? "\n" : "");
}

static void on_file(void *cb, const char *path, vault_import_status st, dv_err e,
                    const dv_errinfo *ei)
{
    import_ui *u = cb;
    static const char *const words[] = {"imported", "replaced", "duplicate", "rejected",
                                        "skipped (DICOMDIR)"};

    switch (st) {
    case VAULT_IMPORTED:
        u->imported++;
        break;
    case VAULT_REPLACED:
        u->replaced++;
        break;
    case VAULT_DUPLICATE:
        u->dup++;
        break;
    case VAULT_REJECTED:
        u->rejected++;
        if (u->tty)
            fputc('\r', stderr);
        cli_report("import", path, e, ei);
        break;
    case VAULT_NOT_IMAGE:
        u->other++;
        break;
    }
    if (u->verbose && st != VAULT_REJECTED) {
        printf("%s %s\n", words[st], path);
        (void)fflush(stdout);
    }
    progress(u, 0);
}

int cmd_import(int argc, char **argv)
{
    cli_vault_opts vo = {NULL, NULL, NULL};
    import_ui u;
    cli_session lc;
    unsigned flags = 0;
    dv_errinfo ei;
    vault *v = NULL;
    int i, rc, npaths = 0, opts_done = 0;
    dv_err e;

    if (cli_wants_help(argc, argv)) {
        import_help(stdout);
        return DV_EXIT_OK;
    }
    memset(&u, 0, sizeof(u));
    for (i = 1; i < argc; i++) {
        rc = opts_done ? 0 : cli_vault_opt("import", &vo, argc, argv, &i);
        if (rc < 0)
            return DV_EXIT_USAGE;
        if (rc)
            continue;
        if (!opts_done && !strcmp(argv[i], "--replace")) {
            flags |= VAULT_IMPORT_REPLACE;
        } else if (!opts_done && !strcmp(argv[i], "--verbose")) {
            u.verbose = 1;
        } else if (!opts_done && !strcmp(argv[i], "--")) {
            opts_done = 1;
        } else if (!opts_done && argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "dcmvault import: unknown option '%s'\n", argv[i]);
            return DV_EXIT_USAGE;
        } else {
            argv[1 + npaths++] = argv[i]; /* compact the paths in place */
        }
    }
    if (!npaths) {
        import_help(stderr);
        return DV_EXIT_USAGE;
    }
    rc = cli_vault_session("import", &vo, &v, &lc);
    if (rc)
        return rc;
    u.tty = isatty(STDERR_FILENO);
    u.last = mono_now();
    dv_errinfo_clear(&ei);
    e = vault_import_paths(v, &lc.ctx, argv + 1, (size_t)npaths, flags, on_file, &u, &ei);
    vault_close(v);
    progress(&u, 1);
    printf("summary: imported %llu, replaced %llu, skipped %llu (duplicates), rejected %llu\n",
           (unsigned long long)u.imported, (unsigned long long)u.replaced,
           (unsigned long long)u.dup, (unsigned long long)u.rejected);
    if (e) {
        cli_report("import", vo.dir, e, &ei);
        return cli_exit_code(e) == DV_EXIT_FAIL ? DV_EXIT_IO : cli_exit_code(e);
    }
    if (fflush(stdout) != 0)
        return DV_EXIT_IO;
    return u.rejected ? DV_EXIT_FAIL : DV_EXIT_OK;
}
