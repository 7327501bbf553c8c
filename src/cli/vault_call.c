/* SPDX-License-Identifier: Apache-2.0 */
/* vault_call.c - cli_vault_call: the tail every vault request command shares (open the vault and
 * the session, call the vault, close both, report the error).
 *
 * Invariant: the vault is closed and the session's token wiped before it returns, whatever the
 * outcome; a failure is reported once, here.
 */
#include "cli/cli.h"
#include "cli/cmd_access.h"
#include "cli/cmd_vault.h"
#include "vault/vault.h"

#include "common/banned.h"

int cli_vault_call(const char *cmd, cli_vault_opts *o, const char *const *path,
                   dv_err (*call)(vault *v, const cli_session *s, void *arg, dv_errinfo *ei),
                   dv_err (*after)(const cli_session *s, void *arg, dv_errinfo *ei), void *arg)
{
    cli_session s;
    dv_errinfo ei;
    vault *v = NULL;
    dv_err e;
    int rc = cli_vault_session(cmd, o, &v, &s);

    if (rc)
        return rc;
    dv_errinfo_clear(&ei);
    e = call(v, &s, arg, &ei);
    vault_close(v);
    if (!e && after)
        e = after(&s, arg, &ei);
    cli_session_wipe(&s);
    if (!e)
        return DV_EXIT_OK;
    cli_report(cmd, path ? *path : NULL, e, &ei);
    return cli_exit_code(e);
}
