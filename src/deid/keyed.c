/* SPDX-License-Identifier: Apache-2.0 */
/* keyed.c - keyed, reproducible replacements: UIDs, pseudonyms, per-patient date offsets,
 * and the calendar arithmetic that shifts DA and DT values.
 *
 * Every value is a function of the key and the input only (HMAC-SHA256 via crypto_blind),
 * so two runs or two batches with the same key agree; a different key gives other values.
 */
#include <stdio.h>
#include <string.h>

#include "deid/deid_int.h"

#include "common/banned.h"

/* Decimal of a 128-bit big-endian number, by repeated division of the byte array by 10. */
static size_t dec128(const uint8_t in[16], char *out, size_t cap)
{
    uint8_t n[16];
    char tmp[48];
    size_t len = 0, i;
    int zero;

    memcpy(n, in, 16);
    do {
        unsigned rem = 0;

        zero = 1;
        for (i = 0; i < 16; i++) {
            unsigned cur = (rem << 8) | n[i];

            n[i] = (uint8_t)(cur / 10);
            rem = cur % 10;
            if (n[i])
                zero = 0;
        }
        tmp[len++] = (char)('0' + rem);
    } while (!zero && len < sizeof(tmp));
    for (i = 0; i < len && i + 1 < cap; i++)
        out[i] = tmp[len - 1 - i];
    out[i] = '\0';
    return i;
}

void deid_uid_remap(const crypto_key *k, const char *uid, size_t len, char out[64])
{
    uint8_t mac[CRYPTO_BLIND_BYTES];

    crypto_blind(k, "uid", (const uint8_t *)uid, len, mac);
    memcpy(out, "2.25.", 6); /* with its NUL; digits follow */
    dec128(mac, out + 5, 64 - 5);
}

static void base32(const uint8_t *in, size_t nchars, char *out)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t i;

    for (i = 0; i < nchars; i++) {
        size_t bit = i * 5, byte = bit / 8, sh = bit % 8;
        unsigned v = ((unsigned)in[byte] << 8) | in[byte + 1];

        out[i] = alpha[(v >> (11 - sh)) & 31u];
    }
    out[nchars] = '\0';
}

void deid_pseudo_id(const crypto_key *k, const char *pid, size_t len, char out[24])
{
    uint8_t mac[CRYPTO_BLIND_BYTES];

    crypto_blind(k, "pid", (const uint8_t *)pid, len, mac);
    out[0] = 'D';
    out[1] = 'V';
    base32(mac, 14, out + 2);
}

void deid_pseudo_name(const crypto_key *k, const char *pid, size_t len, char out[24])
{
    uint8_t mac[CRYPTO_BLIND_BYTES];

    crypto_blind(k, "pname", (const uint8_t *)pid, len, mac);
    out[0] = 'D';
    out[1] = 'V';
    base32(mac, 10, out + 2);
}

int32_t deid_date_offset(const crypto_key *k, const char *pid, size_t len)
{
    uint8_t mac[CRYPTO_BLIND_BYTES];
    uint32_t v;

    crypto_blind(k, "date", (const uint8_t *)pid, len, mac);
    v = dv_le32(mac);
    return -(int32_t)(365u + v % 3286u); /* -365 .. -3650 */
}

/* Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *v, size_t n, unsigned *out)
{
    size_t i;

    *out = 0;
    for (i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        *out = *out * 10 + (unsigned)(v[i] - '0');
    }
    return 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
    static const unsigned md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return md[m - 1];
}

/* Shifts a YYYY[MM[DD]] prefix of length n (4, 6 or 8); writes the same precision. */
static int shift_ymd(const char *v, size_t n, int32_t days, char *out, size_t cap)
{
    unsigned y, m = 1, d = 1, mo, dd;
    int64_t yy;

    if ((n != 4 && n != 6 && n != 8) || digits(v, 4, &y) || (n >= 6 && digits(v + 4, 2, &m)) ||
        (n == 8 && digits(v + 6, 2, &d)))
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > month_days(y, m))
        return -1;
    civil_from_days(days_from_civil(y, m, d) + days, &yy, &mo, &dd);
    if (yy < 0 || yy > 9999)
        return -1;
    if (n == 4)
        snprintf(out, cap, "%04u", (unsigned)yy);
    else if (n == 6)
        snprintf(out, cap, "%04u%02u", (unsigned)yy, mo);
    else
        snprintf(out, cap, "%04u%02u%02u", (unsigned)yy, mo, dd);
    return 0;
}

int deid_shift_da(const char *v, size_t len, int32_t days, char out[32])
{
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\0'))
        len--;
    return shift_ymd(v, len, days, out, 32);
}

int deid_shift_dt(const char *v, size_t len, int32_t days, char out[48])
{
    size_t n = 0, rest;

    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\0'))
        len--;
    while (n < len && n < 8 && v[n] >= '0' && v[n] <= '9')
        n++;
    rest = len - n;
    if (rest > 26 || shift_ymd(v, n, days, out, 48))
        return -1;
    memcpy(out + n, v + n, rest); /* time, fraction and offset kept */
    out[n + rest] = '\0';
    return 0;
}
