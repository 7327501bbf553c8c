/* SPDX-License-Identifier: Apache-2.0 */
/* password.c - password rules, Argon2id hashing and one-time passwords.
 *
 * Hashes are libsodium crypto_pwhash_str (Argon2id v1.3) with t = 2 passes and 64 MiB
 * (libsodium's INTERACTIVE limits), above OWASP's minimum of 19 MiB and t = 2; the
 * _Static_asserts below keep it so (with lockout in front, slower settings are not needed).
 * A password is never logged, never put in an error message, and the caller's copies are wiped by
 * the caller.
 */
#include <ctype.h>
#include <sodium.h>
#include <string.h>

#include "access/access_int.h"
#include "crypto/crypto.h"

#include "common/banned.h"

#define PW_OPSLIMIT 2u
#define PW_MEMLIMIT ((size_t)64 << 20)

_Static_assert(PW_MEMLIMIT >= ((size_t)19 << 20), "OWASP Argon2id memory floor");
_Static_assert(PW_OPSLIMIT >= 2, "OWASP Argon2id iterations floor");
_Static_assert(crypto_pwhash_STRBYTES <= ACCESS_HASH_MAX, "hash buffer");

static void lower(const char *s, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[n] = '\0';
}

int access_password_common(const char *pw)
{
    char low[ACCESS_PASSWORD_MAX + 1];
    const char *p = access_common_pw, *end = access_common_pw + access_common_pw_len;
    size_t n = strnlen(pw, ACCESS_PASSWORD_MAX + 1), len;
    int found = 0;

    if (n > ACCESS_PASSWORD_MAX)
        return 0;
    lower(pw, n, low);
    while (p < end && !found) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));

        len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        found = len == n && memcmp(p, low, n) == 0;
        p += len + 1;
    }
    sodium_memzero(low, sizeof(low));
    return found;
}

/* Case-insensitive: does hay contain needle? */
static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle), h = strlen(hay), i, j;

    if (n == 0 || n > h)
        return 0;
    for (i = 0; i + n <= h; i++) {
        for (j = 0; j < n; j++)
            if (tolower((unsigned char)hay[i + j]) != tolower((unsigned char)needle[j]))
                break;
        if (j == n)
            return 1;
    }
    return 0;
}

dv_err access_password_check(const char *user, const char *pw, dv_errinfo *ei)
{
    size_t n = strnlen(pw, ACCESS_PASSWORD_MAX + 1);

    if (n < ACCESS_PASSWORD_MIN)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "the password must have at least %d characters", ACCESS_PASSWORD_MIN);
    if (n > ACCESS_PASSWORD_MAX)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "the password must have at most %d characters", ACCESS_PASSWORD_MAX);
    if (user && contains_ci(pw, user))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "the password must not contain the user name");
    if (access_password_common(pw))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "the password is in the list of common passwords");
    return DV_OK;
}

dv_err access_password_hash(const char *pw, char out[ACCESS_HASH_MAX], dv_errinfo *ei)
{
    size_t n = strnlen(pw, ACCESS_PASSWORD_MAX + 1);

    memset(out, 0, ACCESS_HASH_MAX);
    if (n > ACCESS_PASSWORD_MAX)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "password too long");
    if (crypto_pwhash_str(out, pw, n, PW_OPSLIMIT, PW_MEMLIMIT) != 0)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "password hashing failed");
    return DV_OK;
}

int access_password_verify(const char *hash, const char *pw)
{
    size_t n = strnlen(pw, ACCESS_PASSWORD_MAX + 1);

    if (n > ACCESS_PASSWORD_MAX)
        return 0;
    return crypto_pwhash_str_verify(hash, pw, n) == 0;
}

void access_onetime_password(char out[ACCESS_ONETIME_LEN + 1])
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t r[ACCESS_ONETIME_LEN];
    size_t i;

    crypto_random(r, sizeof(r));
    for (i = 0; i < ACCESS_ONETIME_LEN; i++)
        out[i] = alpha[r[i] & 63];
    out[ACCESS_ONETIME_LEN] = '\0';
    sodium_memzero(r, sizeof(r));
}
