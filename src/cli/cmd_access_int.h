/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_access_int.h - option parsing shared by cmd_access.c and cmd_access2.c. */
#ifndef DV_CLI_CMD_ACCESS_INT_H
#define DV_CLI_CMD_ACCESS_INT_H

#include "cli/cmd_access.h"
#include "cli/cmd_vault.h"

#define ACC_POS_MAX    4
#define ACC_SECRET_MAX 300

/* One option: a value into *val, or (val NULL) a flag set in *flag. */
typedef struct acc_opt {
    const char *name;
    const char **val;
    int *flag;
} acc_opt;

typedef struct acc_args {
    cli_vault_opts vo;
    const char *purpose; /* --purpose CODE */
    const acc_opt *opts;
    size_t nopts;
    const char *pos[ACC_POS_MAX];
    size_t npos;
} acc_args;

/* Parses argv[first..]: vault options, --purpose, opts, up to ACC_POS_MAX positionals.
 * Returns an exit code (0 ok; the message is printed). */
int acc_parse(const char *cmd, int argc, char **argv, int first, acc_args *a);
/* Opens the vault and the session; an exit code (0 ok). */
int acc_open(const char *cmd, acc_args *a, vault **v, cli_session *s);
/* Reports e and returns its exit code. */
int acc_fail(const char *cmd, dv_err e, const dv_errinfo *ei);
/* Flushes stdout: DV_EXIT_OK or DV_EXIT_IO. */
int acc_done(void);

#endif
