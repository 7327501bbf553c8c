/* SPDX-License-Identifier: Apache-2.0 */
/* totp.c - TOTP second factor (RFC 6238) through liboath: codes, constant-time checks with
 * replay protection, base32 and otpauth:// enrolment URIs.
 *
 * Secrets are ACCESS_TOTP_SECRET_BYTES random bytes (160 bits, RFC 4226's recommendation),
 * HMAC-SHA-1, 30-second steps from the Unix epoch, 6 digits (what authenticator apps expect).
 * Every buffer that held a secret or a code is wiped.
 */
#include <liboath/oath.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access_int.h"

#include "common/banned.h"

static int oath_ready(void)
{
    static int done;

    if (!done && oath_init() == OATH_OK)
        done = 1;
    return done;
}

dv_err access_totp_code(const uint8_t *secret, size_t len, int64_t now, unsigned digits, char *out)
{
    if (digits < 6 || digits > 8 || len == 0 || now < 0 || !oath_ready())
        return DV_EINVAL;
    if (oath_totp_generate((const char *)secret, len, (time_t)now, ACCESS_TOTP_STEP,
                           OATH_TOTP_DEFAULT_START_TIME, digits, out) != OATH_OK)
        return DV_ECRYPTO;
    return DV_OK;
}

dv_err access_totp_check(const uint8_t *secret, size_t len, int64_t now, const char *code,
                         int64_t last_step, int64_t *step)
{
    char want[ACCESS_TOTP_DIGITS + 1];
    int64_t s, base = now / ACCESS_TOTP_STEP;
    int match = 0, d;

    *step = 0;
    if (strlen(code) != ACCESS_TOTP_DIGITS || strspn(code, "0123456789") != ACCESS_TOTP_DIGITS)
        return DV_EPERM;
    /* every step of the window is computed and compared, whatever matched before */
    for (d = -ACCESS_TOTP_WINDOW; d <= ACCESS_TOTP_WINDOW; d++) {
        s = base + d;
        if (s < 0 || access_totp_code(secret, len, s * ACCESS_TOTP_STEP, ACCESS_TOTP_DIGITS, want))
            continue;
        if (sodium_memcmp(want, code, ACCESS_TOTP_DIGITS) == 0 && s > last_step && !match) {
            match = 1;
            *step = s;
        }
    }
    sodium_memzero(want, sizeof(want));
    return match ? DV_OK : DV_EPERM;
}

dv_err access_totp_base32(const uint8_t *secret, size_t len, char out[ACCESS_TOTP_B32_MAX])
{
    char *b = NULL;
    size_t n = 0, i, k = 0;
    int trunc = 0;

    out[0] = '\0';
    if (!oath_ready() || oath_base32_encode((const char *)secret, len, &b, &n) != OATH_OK || !b)
        return DV_ECRYPTO;
    for (i = 0; i < n && b[i] != '='; i++) {
        if (k + 1 >= ACCESS_TOTP_B32_MAX) {
            trunc = 1;
            break;
        }
        out[k++] = b[i];
    }
    out[k] = '\0';
    sodium_memzero(b, n);
    free(b);
    return trunc ? DV_ELIMIT : DV_OK;
}

/* Percent-encodes what is not unreserved (RFC 3986) into out. */
static void pct(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;

    for (; *s && k + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[k++] = (char)c;
        } else {
            out[k++] = '%';
            out[k++] = hex[c >> 4];
            out[k++] = hex[c & 15];
        }
    }
    out[k] = '\0';
}

dv_err access_totp_uri(const char *issuer, const char *user, const uint8_t *secret, size_t len,
                       char out[ACCESS_TOTP_URI_MAX])
{
    char b32[ACCESS_TOTP_B32_MAX], iss[128], usr[200];
    dv_err e = access_totp_base32(secret, len, b32);
    int n;

    out[0] = '\0';
    if (e)
        return e;
    pct(issuer, iss, sizeof(iss));
    pct(user, usr, sizeof(usr));
    n = snprintf(out, ACCESS_TOTP_URI_MAX,
                 "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d", iss,
                 usr, b32, iss, ACCESS_TOTP_DIGITS, ACCESS_TOTP_STEP);
    sodium_memzero(b32, sizeof(b32));
    return (n < 0 || n >= ACCESS_TOTP_URI_MAX) ? DV_ELIMIT : DV_OK;
}
