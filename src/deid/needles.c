/* SPDX-License-Identifier: Apache-2.0 */
/* needles.c - the identifiers of one input file, normalised for matching (deid_norm, in
 * clean.c), and the matcher shared by text cleaning and the residual check.
 *
 * Invariants: every needle is normalised (deid_norm), unique in its set, and long enough to
 * be searched (>= 4 bytes of ASCII, or >= 2 characters when it holds non-ASCII text).
 */
#include <stdlib.h>
#include <string.h>

#include "deid/deid_int.h"

#include "common/banned.h"

#define NEEDLE_MAX_LEN 256
#define NEEDLES_MAX    4096

static int is_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static const char *const generic[] = {
    "anonymous",
    "anonymized",
    "anonymised",
    "unknown",
    "none",
    "removed",
    "redacted",
    "patient",
    "test",
    "phantom",
    "other",
    "null",
    "empty",
    "male",
    "female",
    "doctor",
    "dummy",
    "unnamed",
    "not applicable",
    "research",
    "hospital",
    "clinic",
    /* dummy dates of de-identifiers (ours included) */
    "19000101",
    "1900-01-01",
    "1900/01/01",
    "01.01.1900",
};

static int all_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* True when s (normalised) is too short, generic or one repeated character. */
static int not_searched(const char *s, size_t n)
{
    size_t i, chars = 0;
    int ascii = 1, same = 1;

    for (i = 0; i < n; i++) {
        if ((uint8_t)s[i] >= 0x80)
            ascii = 0;
        if (((uint8_t)s[i] & 0xC0) != 0x80)
            chars++;
        if (s[i] != s[0])
            same = 0;
    }
    if (same || (ascii && n < 4) || (!ascii && chars < 2) || n > NEEDLE_MAX_LEN)
        return 1;
    if (all_digits(s, n) && n < 6) /* short numbers collide with counts and numbers */
        return 1;
    for (i = 0; i < sizeof(generic) / sizeof(generic[0]); i++)
        if (strlen(generic[i]) == n && !memcmp(generic[i], s, n))
            return 1;
    return 0;
}

dv_err deid_needles_add(deid_needles *nd, const char *s, size_t n, deid_needle_kind kind)
{
    dv_buf b;
    deid_needle *x;
    size_t i;
    dv_err e;

    dv_buf_init(&b, NEEDLE_MAX_LEN * 4 + 16);
    e = deid_norm((const uint8_t *)s, n, &b);
    if (e == DV_ELIMIT) {
        dv_buf_release(&b);
        return DV_OK; /* too long to be a name or ID: not a needle */
    }
    if (e || !b.len || not_searched((const char *)b.p, b.len)) {
        dv_buf_release(&b);
        return e;
    }
    for (i = 0; i < nd->n; i++)
        if (nd->v[i].len == b.len && !memcmp(nd->v[i].s, b.p, b.len)) {
            dv_buf_release(&b);
            return DV_OK;
        }
    if (nd->n >= NEEDLES_MAX) {
        dv_buf_release(&b);
        return DV_ELIMIT;
    }
    if (nd->n == nd->cap) {
        size_t nc = nd->cap ? nd->cap * 2 : 32;
        deid_needle *nv = realloc(nd->v, nc * sizeof(*nv));

        if (!nv) {
            dv_buf_release(&b);
            return DV_ENOMEM;
        }
        nd->v = nv;
        nd->cap = nc;
    }
    x = &nd->v[nd->n++];
    memset(x, 0, sizeof(*x));
    x->len = b.len;
    x->s = (char *)dv_buf_detach(&b, NULL);
    x->kind = (uint8_t)kind;
    x->uid = kind == DEID_N_UID;
    x->bounded = is_alnum((uint8_t)x->s[0]) || is_alnum((uint8_t)x->s[x->len - 1]);
    return DV_OK;
}

static int hit_ok(const deid_needle *nd, const char *h, size_t n, size_t at)
{
    uint8_t before = at > 0 ? (uint8_t)h[at - 1] : ' ';
    uint8_t after = at + nd->len < n ? (uint8_t)h[at + nd->len] : ' ';

    if (nd->uid)
        return !(before == '.' || (before >= '0' && before <= '9') || after == '.' ||
                 (after >= '0' && after <= '9'));
    if (!nd->bounded)
        return 1;
    if (is_alnum((uint8_t)nd->s[0]) && is_alnum(before))
        return 0;
    if (is_alnum((uint8_t)nd->s[nd->len - 1]) && is_alnum(after))
        return 0;
    return 1;
}

/* The first offset >= from at which needle x stands in h (n bytes) with proper bounds (hit_ok):
 * 1 and *at, or 0 when there is none. */
static int first_hit(const deid_needle *x, const char *h, size_t n, size_t from, size_t *at)
{
    while (from < n && n - from >= x->len) {
        const char *p = memmem(h + from, n - from, x->s, x->len);
        size_t off;

        if (!p)
            return 0;
        off = (size_t)(p - h);
        if (hit_ok(x, h, n, off)) {
            *at = off;
            return 1;
        }
        from = off + 1;
    }
    return 0;
}

void deid_needles_prune(deid_needles *nd, const char *h, size_t n)
{
    size_t i, j = 0, at;

    for (i = 0; i < nd->n; i++) {
        if (first_hit(&nd->v[i], h, n, 0, &at)) {
            free(nd->v[i].s);
            continue;
        }
        nd->v[j++] = nd->v[i];
    }
    nd->n = j;
}

const deid_needle *deid_needles_match(const deid_needles *nd, const char *h, size_t n, size_t start,
                                      size_t *at)
{
    const deid_needle *best = NULL;
    size_t best_at = SIZE_MAX, i;

    for (i = 0; i < nd->n; i++) {
        const deid_needle *x = &nd->v[i];
        size_t off;

        if (first_hit(x, h, n, start, &off) &&
            (!best || off < best_at || (off == best_at && x->len > best->len))) {
            best = x;
            best_at = off;
        }
    }
    if (best)
        *at = best_at;
    return best;
}

const char *deid_needle_kind_name(deid_needle_kind k)
{
    switch (k) {
    case DEID_N_NAME:
        return "person name";
    case DEID_N_ID:
        return "identifier";
    case DEID_N_DATE:
        return "date";
    case DEID_N_UID:
        return "original UID";
    case DEID_N_TEXT:
        return "institution, address or phone";
    case DEID_N_KIND_COUNT:
        break;
    }
    return "identifier";
}

size_t deid_needles_count(const deid_needles *nd)
{
    return nd ? nd->n : 0;
}

void deid_needles_free(deid_needles *nd)
{
    size_t i;

    if (!nd)
        return;
    for (i = 0; i < nd->n; i++)
        free(nd->v[i].s);
    free(nd->v);
    free(nd);
}
