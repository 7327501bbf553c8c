/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_vault.h - what the vault commands (cmd_vault.c, cmd_import.c, cmd_find.c) share: the
 * options that locate a vault and its key, and opening it.
 */
#ifndef DV_CLI_CMD_VAULT_H
#define DV_CLI_CMD_VAULT_H

#include "vault/vault.h"

typedef struct cli_vault_opts {
    const char *dir;      /* --vault DIR, else $DCMVAULT_DIR */
    const char *key_file; /* --key-file PATH (default: the config's, else DIR.kek) */
    const char *pass_env; /* --passphrase-env VAR */
    const char *purpose;  /* --purpose P: this request's purpose of use (default: session's) */
} cli_vault_opts;

#define CLI_VAULT_OPTS_HELP                                                                      \
    "  --vault DIR            the vault folder (default: $DCMVAULT_DIR)\n"                       \
    "  --key-file PATH        the key file (default: the one in the config, else DIR.kek)\n"     \
    "  --passphrase-env VAR   read the passphrase of a passphrase vault from $VAR\n"             \
    "  --purpose P            purpose of use of this request: treatment, emergency, quality,\n"  \
    "                         legal, teaching, research, operations (or the HL7 code TREAT,\n"   \
    "                         ETREAT, HQUALIMP, HLEGAL, TRAIN, HRESCH, HOPERAT); default: the\n" \
    "                         session's\n"

/* Consumes a vault option at argv[*i] (and its value).  1: consumed, 0: not a vault option,
 * -1: the value is missing (message printed). */
int cli_vault_opt(const char *cmd, cli_vault_opts *o, int argc, char **argv, int *i);

/* Opens the vault; on failure prints why and returns the exit code (0 on success). */
int cli_vault_open(const char *cmd, cli_vault_opts *o, vault **v);

/* Opens the vault and the logged-in session's request context (cli_session_ctx); on failure
 * prints why, closes the vault and returns the exit code (0 on success). */
struct cli_session;
int cli_vault_session(const char *cmd, cli_vault_opts *o, vault **v, struct cli_session *s);

/* The options of the commands that pick stored images and render them: --study, --series or
 * --instance UID (sets *sel and *uid, counts in *nsel; sel/uid/nsel may be NULL when the
 * command takes no selection), and, when o is not NULL, --frame N (1-based) and --window C,W.
 * opt is the option, v its value (not NULL).  1: consumed; 0: not one of these; -1: a bad
 * value (message printed). */
int cli_render_opt(const char *cmd, const char *opt, const char *v, vault_sel *sel,
                   const char **uid, int *nsel, vault_view_opts *o);

/* Takes the value of an option: argv[*i + 1].  NULL (message printed) when missing. */
const char *cli_opt_value(const char *cmd, int argc, char **argv, int *i);

#endif
