/* SPDX-License-Identifier: Apache-2.0 */
/* norm.c - what blind indexes are computed over: normalised person names and their match
 * tokens, study-date ranges as year-month buckets, and DICOM wildcard matching (for the
 * bounded candidate set of a wildcard name search).
 *
 * Name normalisation is locale-independent: upper case by a small table (ASCII, Latin-1,
 * Latin Extended-A, Greek, Cyrillic; scripts without case, e.g. Han, are unchanged), the PN
 * component separator '^' and any run of white space (including U+3000) become one space,
 * leading and trailing spaces go.
 */
#include <string.h>

#include "vault/vault_int.h"

#include "common/banned.h"

/* Decodes one UTF-8 character at s[*i] (advancing *i); a bad byte is returned as itself. */
static uint32_t utf8_next(const uint8_t *s, size_t len, size_t *i)
{
    uint32_t c = s[*i];
    size_t need = 0, k;

    if (c < 0x80) {
        (*i)++;
        return c;
    }
    if ((c & 0xE0) == 0xC0)
        need = 1;
    else if ((c & 0xF0) == 0xE0)
        need = 2;
    else if ((c & 0xF8) == 0xF0)
        need = 3;
    if (!need || *i + need >= len) {
        (*i)++;
        return 0xFFFD;
    }
    c &= 0x3Fu >> need;
    for (k = 1; k <= need; k++) {
        if ((s[*i + k] & 0xC0) != 0x80) {
            (*i)++;
            return 0xFFFD;
        }
        c = c << 6 | (s[*i + k] & 0x3Fu);
    }
    *i += need + 1;
    return c;
}

static dv_err utf8_put(dv_buf *out, uint32_t c)
{
    uint8_t b[4];
    size_t n;

    if (c < 0x80) {
        b[0] = (uint8_t)c;
        n = 1;
    } else if (c < 0x800) {
        b[0] = (uint8_t)(0xC0 | c >> 6);
        b[1] = (uint8_t)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        b[0] = (uint8_t)(0xE0 | c >> 12);
        b[1] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
        b[2] = (uint8_t)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | c >> 18);
        b[1] = (uint8_t)(0x80 | (c >> 12 & 0x3F));
        b[2] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
        b[3] = (uint8_t)(0x80 | (c & 0x3F));
        n = 4;
    }
    return dv_buf_add(out, b, n);
}

static uint32_t upper_latin_ext_a(uint32_t c)
{
    /* U+0100..017F: mostly pairs (upper even, lower odd); 0139..0148 and 0179..017E the other
     * way round; 0138 (kra) and 0149 have no upper case here. */
    if ((c >= 0x0139 && c <= 0x0148) || (c >= 0x0179 && c <= 0x017E))
        return (c & 1) ? c : c - 1;
    if (c == 0x0138 || c == 0x0149 || c == 0x017F)
        return c;
    return (c & 1) ? c - 1 : c;
}

static uint32_t cp_upper(uint32_t c)
{
    if (c >= 'a' && c <= 'z')
        return c - 0x20;
    if (c < 0xE0)
        return c;
    if (c <= 0xFE)
        return c == 0xF7 ? c : c - 0x20;
    if (c == 0xFF)
        return 0x0178;
    if (c >= 0x0100 && c <= 0x017F)
        return upper_latin_ext_a(c);
    if (c == 0x03C2)
        return 0x03A3; /* final sigma */
    if (c >= 0x03B1 && c <= 0x03C9)
        return c - 0x20;
    if (c == 0x03AC)
        return 0x0386;
    if (c >= 0x03AD && c <= 0x03AF)
        return c - 0x25;
    if (c == 0x03CC)
        return 0x038C;
    if (c == 0x03CD || c == 0x03CE)
        return c - 0x3F;
    if (c >= 0x0430 && c <= 0x044F)
        return c - 0x20;
    if (c >= 0x0450 && c <= 0x045F)
        return c - 0x50;
    return c;
}

static int cp_space(uint32_t c)
{
    return c == ' ' || c == '^' || c == '\t' || c == '\r' || c == '\n' || c == 0x3000 || c == 0;
}

dv_err vault_norm_name(const char *s, size_t len, dv_buf *out)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    int pending_space = 0, any = 0;
    dv_err e = DV_OK;

    while (!e && i < len) {
        uint32_t c = utf8_next(p, len, &i);

        if (cp_space(c)) {
            pending_space = any;
            continue;
        }
        if (pending_space)
            e = dv_buf_addc(out, ' ');
        pending_space = 0;
        any = 1;
        if (!e)
            e = utf8_put(out, cp_upper(c));
    }
    return e;
}

/* Adds token [start, out->len) unless empty or already present; else drops it. */
static void token_keep(dv_buf *out, size_t start, size_t *n, size_t max)
{
    size_t tlen = out->len - start, off = 0, k;

    if (!tlen || *n >= max) {
        out->len = start;
        return;
    }
    for (k = 0; k < *n; k++) {
        size_t l = strlen((const char *)out->p + off);

        if (l == tlen && !memcmp(out->p + off, out->p + start, tlen)) {
            out->len = start;
            return;
        }
        off += l + 1;
    }
    (*n)++;
    out->p[out->len] = 0;
    out->len++; /* keep the NUL separator */
}

static dv_err tokens_group(const char *g, size_t len, dv_buf *out, size_t max, size_t *n)
{
    size_t start = out->len, i = 0, comp = 0;
    dv_err e;

    e = vault_norm_name(g, len, out);
    if (e)
        return e;
    token_keep(out, start, n, max);
    /* family, given, middle: the first three '^' components */
    while (!e && i <= len && comp < 3) {
        const char *c = g + i;
        const char *end = memchr(c, '^', len - i);
        size_t clen = end ? (size_t)(end - c) : len - i;

        start = out->len;
        e = vault_norm_name(c, clen, out);
        if (!e)
            token_keep(out, start, n, max);
        comp++;
        if (!end)
            break;
        i += clen + 1;
    }
    return e;
}

dv_err vault_name_tokens(const char *pn, size_t len, dv_buf *out, size_t max, size_t *n)
{
    size_t i = 0;
    dv_err e = DV_OK;

    *n = 0;
    while (!e && i <= len) {
        const char *g = pn + i;
        const char *end = memchr(g, '=', len - i);
        size_t glen = end ? (size_t)(end - g) : len - i;

        e = tokens_group(g, glen, out, max, n);
        if (!end)
            break;
        i += glen + 1;
    }
    return e;
}

/* ---- dates -------------------------------------------------------------------------------- */

static int leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

uint32_t vault_date_value(const char *s)
{
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, m, d, i;

    if (strlen(s) != 8)
        return 0;
    for (i = 0; i < 8; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    y = (unsigned)(s[0] - '0') * 1000 + (unsigned)(s[1] - '0') * 100 + (unsigned)(s[2] - '0') * 10 +
        (unsigned)(s[3] - '0');
    m = (unsigned)(s[4] - '0') * 10 + (unsigned)(s[5] - '0');
    d = (unsigned)(s[6] - '0') * 10 + (unsigned)(s[7] - '0');
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap(y)))
        return 0;
    return y * 10000 + m * 100 + d;
}

dv_err vault_date_range(const char *s, uint32_t *lo, uint32_t *hi)
{
    const char *dash = strchr(s, '-');
    char a[9], b[9];
    size_t la, lb;

    if (!dash) {
        *lo = *hi = vault_date_value(s);
        return *lo ? DV_OK : DV_EINVAL;
    }
    la = (size_t)(dash - s);
    lb = strlen(dash + 1);
    if ((la != 0 && la != 8) || (lb != 0 && lb != 8) || (!la && !lb))
        return DV_EINVAL;
    memcpy(a, s, la);
    a[la] = 0;
    memcpy(b, dash + 1, lb);
    b[lb] = 0;
    *lo = la ? vault_date_value(a) : 0;
    *hi = lb ? vault_date_value(b) : 99991231u;
    if ((la && !*lo) || (lb && !*hi) || *lo > *hi)
        return DV_EINVAL;
    return DV_OK;
}

dv_err vault_date_months(uint32_t lo, uint32_t hi, uint32_t *out, size_t max, size_t *n)
{
    uint32_t y = lo / 10000, m = lo / 100 % 100;
    uint32_t ey = hi / 10000, em = hi / 100 % 100;

    *n = 0;
    if (lo > hi || m < 1 || m > 12 || em < 1 || em > 12)
        return DV_EINVAL;
    while (y < ey || (y == ey && m <= em)) {
        if (*n >= max)
            return DV_ELIMIT;
        out[(*n)++] = y * 100 + m;
        if (++m > 12) {
            m = 1;
            y++;
        }
    }
    return DV_OK;
}

/* ---- wildcards ----------------------------------------------------------------------------- */

int vault_has_wildcard(const char *s)
{
    return strchr(s, '*') || strchr(s, '?');
}

/* Iterative glob with one backtrack point: linear enough for names, no recursion. */
int vault_wildcard_match(const char *pat, const char *s)
{
    const uint8_t *p = (const uint8_t *)pat, *t = (const uint8_t *)s;
    const uint8_t *star_p = NULL, *star_t = NULL;
    size_t tl = strlen(s);

    while (*t) {
        if (*p == '*') {
            star_p = ++p;
            star_t = t;
            continue;
        }
        if (*p == '?' || (*p && *p == *t)) {
            size_t i = 0;

            if (*p == '?') { /* one whole UTF-8 character */
                (void)utf8_next(t, tl - (size_t)(t - (const uint8_t *)s), &i);
                t += i;
            } else {
                t++;
            }
            p++;
            continue;
        }
        if (!star_p)
            return 0;
        p = star_p;
        t = ++star_t;
    }
    while (*p == '*')
        p++;
    return *p == 0;
}
