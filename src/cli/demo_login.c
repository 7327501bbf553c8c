/* SPDX-License-Identifier: Apache-2.0 */
/* demo_login.c - accounts made ready for scripted use: see demo_login.h. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "access/access.h"
#include "cli/demo_login.h"

#include "common/banned.h"

/* RFC 4648 base32 (upper case, no padding) into out; -1 when not base32 or too long. */
static int b32_decode(const char *s, uint8_t *out, size_t cap, size_t *len)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t n = 0;

    for (; *s && *s != '='; s++) {
        int c = (unsigned char)*s, v;

        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= '2' && c <= '7')
            v = c - '2' + 26;
        else
            return -1;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            if (n >= cap)
                return -1;
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    *len = n;
    return 0;
}

static void set_ctx(demo_account *a)
{
    a->ctx.user = a->user;
    a->ctx.role = "session";
    a->ctx.purpose = "default";
    a->ctx.session = a->token;
    a->ctx.client = "local";
}

/* The current TOTP code of a base32 secret. */
static dv_err code_of(const char *b32, char code[ACCESS_TOTP_DIGITS + 1], dv_errinfo *ei)
{
    uint8_t secret[64];
    size_t len = 0;
    dv_err e;

    if (b32_decode(b32, secret, sizeof(secret), &len) != 0 || !len)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "bad TOTP secret");
    e = access_totp_code(secret, len, (int64_t)time(NULL), ACCESS_TOTP_DIGITS, code);
    sodium_memzero(secret, sizeof(secret));
    return e;
}

dv_err demo_activate(vault *v, const char *user, const char *otp, demo_account *a, dv_errinfo *ei)
{
    vault_login_res lr;
    char b32[64], uri[512], code[ACCESS_TOTP_DIGITS + 1];
    dv_err e;

    memset(a, 0, sizeof(*a));
    (void)snprintf(a->user, sizeof(a->user), "%s", user);
    set_ctx(a);
    e = vault_login(v, user, otp, NULL, "local", &lr, ei);
    if (e)
        return e;
    (void)snprintf(a->token, sizeof(a->token), "%s", lr.token);
    access_onetime_password(a->password);
    e = vault_passwd(v, &a->ctx, otp, a->password, ei);
    if (!e)
        e = vault_totp_enrol(v, &a->ctx, b32, uri, ei);
    if (!e)
        e = code_of(b32, code, ei);
    sodium_memzero(b32, sizeof(b32));
    sodium_memzero(&lr, sizeof(lr));
    if (!e)
        e = vault_logout(v, a->token, ei);
    if (!e)
        e = vault_login(v, user, a->password, code, "local", &lr, ei);
    if (!e && !lr.mfa)
        e = dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG, "the second factor was not taken");
    if (!e)
        (void)snprintf(a->token, sizeof(a->token), "%s", lr.token);
    sodium_memzero(&lr, sizeof(lr));
    return e;
}

dv_err demo_add_user(vault *v, const demo_account *admin, const char *user, const char *roles,
                     demo_account *a, dv_errinfo *ei)
{
    char otp[VAULT_PASSWORD_LEN + 1];
    dv_err e = vault_user_add(v, &admin->ctx, user, roles, NULL, otp, ei);

    if (!e)
        e = demo_activate(v, user, otp, a, ei);
    sodium_memzero(otp, sizeof(otp));
    return e;
}

void demo_account_wipe(demo_account *a)
{
    sodium_memzero(a->token, sizeof(a->token));
    sodium_memzero(a->password, sizeof(a->password));
}
