/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_access.h - the CLI's session (session.c) and the access commands (cmd_access*.c):
 * login, logout, whoami, passwd, user, grant, revoke, grants, approvals, alerts, breakglass. */
#ifndef DV_CLI_CMD_ACCESS_H
#define DV_CLI_CMD_ACCESS_H

#include <stddef.h>

#include "vault/vault.h"

typedef struct cli_session {
    vault_ctx ctx;
    char token[VAULT_TOKEN_LEN + 2];
    char user[65], roles[256]; /* the session's account (cli_vault_session), for the record */
    char session_purpose[32];  /* the session's default purpose (cli_vault_session) */
} cli_session;

/* The HL7 code of the request's purpose: its --purpose ("research" is HRESCH), else the
 * session's default; "" when unknown (the vault refuses such a request). */
const char *cli_request_purpose(const cli_session *s);

/* The token file of the vault at vault_dir ($DCMVAULT_SESSION, else ~/.dcmvault/session-HASH).
 * -1 when there is no place for it. */
int cli_session_path(const char *vault_dir, char *out, size_t cap);
/* Writes the token to path, mode 0600 (the folder 0700 when made).  -1 on failure. */
int cli_session_save(const char *path, const char *token);
/* The request context of the logged-in session (purpose NULL: the session's).  Returns an
 * exit code (0 ok) after printing why not. */
int cli_session_ctx(const char *cmd, const char *vault_dir, const char *purpose, cli_session *s);
void cli_session_wipe(cli_session *s);
/* The first line of a file / a line typed without echo (a terminal only).  -1 when none. */
int cli_read_secret_file(const char *path, char *out, size_t cap);
int cli_prompt_secret(const char *prompt, char *out, size_t cap);

int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_whoami(int argc, char **argv);
int cmd_passwd(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_grant(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_grants(int argc, char **argv);
int cmd_approvals(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_breakglass(int argc, char **argv);

#endif
