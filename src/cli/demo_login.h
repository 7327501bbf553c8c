/* SPDX-License-Identifier: Apache-2.0 */
/* demo_login.h - an account made ready for use without a person at a terminal (the demo, the
 * unit tests and the fuzz target): first login with its one-time password, a new random
 * password, a TOTP second factor enrolled and a session opened with a code computed here. */
#ifndef DV_CLI_DEMO_LOGIN_H
#define DV_CLI_DEMO_LOGIN_H

#include "vault/vault.h"

typedef struct demo_account {
    vault_ctx ctx; /* points into this struct: do not copy it */
    char user[65];
    char token[VAULT_TOKEN_LEN + 1];
    char password[VAULT_PASSWORD_LEN + 1];
} demo_account;

/* Activates user (one-time password otp) and fills *a with a session opened with the second
 * factor (purpose: the session's default). */
dv_err demo_activate(vault *v, const char *user, const char *otp, demo_account *a,
                     dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 4);
/* Adds user with roles through admin's session and activates it. */
dv_err demo_add_user(vault *v, const demo_account *admin, const char *user, const char *roles,
                     demo_account *a, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 4, 5);
/* Wipes the password and token. */
void demo_account_wipe(demo_account *a) DV_NONNULL(1);

#endif
