/* SPDX-License-Identifier: Apache-2.0 */
/* ctx.c - request contexts: validation, and THE ONE PLACE where a local administrator context
 * is made for the CLI.
 *
 * Until the access issue lands (accounts, logins, roles, grants), every CLI command acts as
 * the local administrator of the machine: whoever can run dcmvault and read the key file.
 * When access/ exists, vault_ctx_local_admin() is replaced by a login that yields a real
 * user's context; nothing else in the CLI builds a vault_ctx.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vault/vault_int.h"

#include "common/banned.h"

#define CTX_FIELD_MAX 255

static int ctx_field_ok(const char *s)
{
    size_t i, n;

    if (!s)
        return 0;
    n = strlen(s);
    if (n == 0 || n > CTX_FIELD_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)
            return 0;
    return 1;
}

int vault_ctx_valid(const vault_ctx *ctx)
{
    return ctx && ctx_field_ok(ctx->user) && ctx_field_ok(ctx->role) &&
           ctx_field_ok(ctx->purpose) && ctx_field_ok(ctx->session) && ctx_field_ok(ctx->client);
}

/* The OS account name, or the numeric uid when there is none (printable ASCII kept). */
static void os_user(char *out, size_t outlen)
{
    struct passwd pw, *res = NULL;
    char buf[2048];
    size_t i;

    if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_name &&
        res->pw_name[0])
        (void)snprintf(out, outlen, "local:%s", res->pw_name);
    else
        (void)snprintf(out, outlen, "local:uid%lu", (unsigned long)getuid());
    for (i = 0; out[i]; i++)
        if ((unsigned char)out[i] < 0x21 || (unsigned char)out[i] > 0x7E)
            out[i] = '_';
}

void vault_ctx_local_admin(vault_ctx_local *l)
{
    uint8_t sid[16];

    memset(l, 0, sizeof(*l));
    os_user(l->user, sizeof(l->user));
    crypto_random(sid, sizeof(sid));
    vault_hex(sid, sizeof(sid), l->session);
    l->ctx.user = l->user;
    l->ctx.role = VAULT_ROLE_LOCAL_ADMIN;
    l->ctx.purpose = "HOPERAT";
    l->ctx.session = l->session;
    l->ctx.client = "local";
}
