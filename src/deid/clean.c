/* SPDX-License-Identifier: Apache-2.0 */
/* clean.c - cleans free text: the patient's own identifiers and phone-, ID-card- and
 * date-like numbers are overwritten with 'X' (same byte length, so no VR length is passed
 * and the text stays valid UTF-8).
 *
 * The needle search runs on the normalised text with a map from each normalised byte back to
 * its raw byte, so "Wang, Xiaoming" is found for the needle "wang xiaoming".  deid_norm is the
 * same normalisation without the map: one loop, so needles and text are normalised alike.
 */
#include <stdlib.h>
#include <string.h>

#include "deid/deid_int.h"

#include "common/banned.h"

static int is_sep(uint8_t c)
{
    return c < 0x20 || c == 0x7F || c == ' ' || c == '^' || c == '=' || c == '\\' || c == ',' ||
           c == '_';
}

/* deid_norm, with a position map when map is not NULL: map[i] is the raw index of normalised
 * byte i (out is empty at the start then). */
static dv_err norm_map(const uint8_t *p, size_t n, dv_buf *out, size_t *map)
{
    size_t i;
    int pend = 0, any = 0;
    dv_err e;

    for (i = 0; i < n; i++) {
        uint8_t c = p[i];

        if (is_sep(c)) {
            pend = any;
            continue;
        }
        if (pend) {
            if (map)
                map[out->len] = i - 1;
            e = dv_buf_addc(out, ' ');
            if (e)
                return e;
            pend = 0;
        }
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        if (map)
            map[out->len] = i;
        e = dv_buf_addc(out, c);
        if (e)
            return e;
        any = 1;
    }
    return DV_OK;
}

dv_err deid_norm(const uint8_t *p, size_t n, dv_buf *out)
{
    return norm_map(p, n, out, NULL);
}

static void blank(uint8_t *p, size_t from, size_t to)
{
    size_t i;

    for (i = from; i < to; i++)
        p[i] = 'X';
}

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Phone-like, ID-card-like and date-like numbers: a run of digits and - . / ( ) + (and
 * single spaces) holding >= 7 digits (runs with spaces: starting with '+' or holding exactly
 * 11 digits, a mobile number written in groups); an ID card's trailing X check character is
 * part of the run. */
static uint32_t clean_numbers(uint8_t *p, size_t n)
{
    uint32_t spans = 0;
    size_t i = 0;

    while (i < n) {
        size_t j = i, last = i, nd = 0;
        int spaces = 0;

        if (!(is_digit(p[i]) || (p[i] == '+' && i + 1 < n && is_digit(p[i + 1])))) {
            i++;
            continue;
        }
        if (i > 0 &&
            ((p[i - 1] >= 'a' && p[i - 1] <= 'z') || (p[i - 1] >= 'A' && p[i - 1] <= 'Z'))) {
            while (i < n && is_digit(p[i]))
                i++;
            continue; /* part of a word such as "T1W3" */
        }
        for (; j < n; j++) {
            if (is_digit(p[j])) {
                nd++;
                last = j;
            } else if (p[j] == ' ' && j + 1 < n && is_digit(p[j + 1]) && p[j - 1] != ' ') {
                spaces = 1;
            } else if (!(p[j] == '-' || p[j] == '.' || p[j] == '/' || p[j] == '(' || p[j] == ')' ||
                         p[j] == '+')) {
                break;
            }
        }
        if (nd == 17 && last + 1 < n && (p[last + 1] == 'X' || p[last + 1] == 'x'))
            last++;
        if (nd >= 7 && (!spaces || p[i] == '+' || nd == 11)) {
            blank(p, i, last + 1);
            spans++;
        }
        i = last + 1 > i ? last + 1 : i + 1;
    }
    return spans;
}

dv_err deid_clean_text(const deid_needles *nd, const uint8_t *p, size_t n, dv_buf *out,
                       uint32_t *nspans)
{
    dv_buf h;
    size_t *map, at = 0, pos = 0;
    const deid_needle *x;
    dv_err e;

    dv_buf_reset(out);
    *nspans = 0;
    e = dv_buf_add(out, p, n);
    if (e || !n)
        return e;
    map = malloc(n * sizeof(*map));
    if (!map)
        return DV_ENOMEM;
    dv_buf_init(&h, n + 16);
    e = norm_map(p, n, &h, map);
    while (!e && nd && pos < h.len) {
        x = deid_needles_match(nd, (const char *)h.p, h.len, pos, &at);
        if (!x)
            break;
        blank(out->p, map[at], map[at + x->len - 1] + 1);
        /* a multi-byte character cut at the end: blank its continuation bytes too */
        for (pos = map[at + x->len - 1] + 1; pos < n && (out->p[pos] & 0xC0) == 0x80; pos++)
            out->p[pos] = 'X';
        (*nspans)++;
        pos = at + x->len;
    }
    dv_buf_release(&h);
    free(map);
    if (!e)
        *nspans += clean_numbers(out->p, out->len);
    return e;
}
