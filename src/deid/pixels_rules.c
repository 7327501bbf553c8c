/* SPDX-License-Identifier: Apache-2.0 */
/* pixels_rules.c - rule regions for burned-in text: a bounded parser for the tab-separated rule
 * file (one rule per line: manufacturer, model, rows, cols, rectangles) and the matcher.
 *
 * Invariants of a parsed deid_rules: n <= DEID_RULES_MAX_RULES; every pattern is NUL-terminated
 * and at most DEID_RULES_MAX_PAT bytes of printable ASCII; every rule has 1..DEID_RULES_MAX_RECTS
 * rectangles with w, h >= 1 and x, y, w, h <= 65535.  The parser never reads past len and
 * rejects (never truncates) anything beyond a limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/dv.h"
#include "deid/pixels.h"

#include "common/banned.h"

#define TAG_MANUFACTURER DCM_TAG(0x0008, 0x0070)
#define TAG_MODEL        DCM_TAG(0x0008, 0x1090)
#define MAX_FIELDS       5u

typedef struct span {
    const char *p;
    size_t n;
} span;

typedef struct line_ctx {
    unsigned long no; /* 1-based line number */
    uint64_t off;     /* byte offset of the line */
    dv_errinfo *ei;
} line_ctx;

static dv_err line_fail(const line_ctx *lc, dv_err e, const char *what)
{
    return dv_fail(lc->ei, e, lc->off, DV_NO_TAG, "pixel rules line %lu: %s", lc->no, what);
}

/* Parses a decimal in 0..65535 (or '*' as 0 when star_ok). -1 when malformed. */
static long parse_num(span s, int star_ok)
{
    long v = 0;
    size_t i;

    if (star_ok && s.n == 1 && s.p[0] == '*')
        return 0;
    if (s.n == 0 || s.n > 5)
        return -1;
    for (i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        v = v * 10 + (s.p[i] - '0');
    }
    return v <= 65535 ? v : -1;
}

static dv_err parse_pattern(span s, char *out, const line_ctx *lc)
{
    size_t i;

    if (s.n == 0)
        return line_fail(lc, DV_EMALFORMED, "empty pattern (use * for any)");
    if (s.n > DEID_RULES_MAX_PAT)
        return line_fail(lc, DV_ELIMIT, "pattern longer than 64 bytes");
    for (i = 0; i < s.n; i++)
        if ((unsigned char)s.p[i] < 0x20 || (unsigned char)s.p[i] > 0x7E)
            return line_fail(lc, DV_EMALFORMED, "pattern holds a byte that is not printable ASCII");
    memcpy(out, s.p, s.n);
    out[s.n] = '\0';
    return DV_OK;
}

/* One rectangle "x,y,w,h". */
static dv_err parse_rect(span s, deid_rect *r, const line_ctx *lc)
{
    long v[4];
    size_t i = 0, k;

    for (k = 0; k < 4; k++) {
        span f = {s.p + i, 0};

        while (i < s.n && s.p[i] != ',') {
            i++;
            f.n++;
        }
        if ((k < 3 && i >= s.n) || (k == 3 && i != s.n))
            return line_fail(lc, DV_EMALFORMED, "a rectangle is not x,y,w,h");
        v[k] = parse_num(f, 0);
        if (v[k] < 0)
            return line_fail(lc, DV_EMALFORMED, "a rectangle value is not a number in 0..65535");
        i++;
    }
    if (v[2] == 0 || v[3] == 0)
        return line_fail(lc, DV_EMALFORMED, "a rectangle has zero width or height");
    r->x = (uint32_t)v[0];
    r->y = (uint32_t)v[1];
    r->w = (uint32_t)v[2];
    r->h = (uint32_t)v[3];
    return DV_OK;
}

/* Rectangles separated by ';' (empty entries, e.g. a trailing ';', are not allowed). */
static dv_err parse_rects(span s, deid_rule *r, const line_ctx *lc)
{
    size_t i = 0;

    r->nrects = 0;
    while (i <= s.n) {
        span f = {s.p + i, 0};
        dv_err e;

        while (i < s.n && s.p[i] != ';') {
            i++;
            f.n++;
        }
        if (r->nrects == DEID_RULES_MAX_RECTS)
            return line_fail(lc, DV_ELIMIT, "more than 32 rectangles");
        e = parse_rect(f, &r->rects[r->nrects], lc);
        if (e)
            return e;
        r->nrects++;
        i++;
    }
    return DV_OK;
}

/* Splits a line at tabs into exactly MAX_FIELDS fields. */
static dv_err split_fields(span line, span *f, const line_ctx *lc)
{
    size_t i, k = 0;

    f[0].p = line.p;
    f[0].n = 0;
    for (i = 0; i < line.n; i++) {
        if (line.p[i] != '\t') {
            f[k].n++;
            continue;
        }
        if (++k == MAX_FIELDS)
            return line_fail(lc, DV_EMALFORMED, "more than 5 tab-separated fields");
        f[k].p = line.p + i + 1;
        f[k].n = 0;
    }
    if (k + 1 != MAX_FIELDS)
        return line_fail(lc, DV_EMALFORMED, "fewer than 5 tab-separated fields");
    return DV_OK;
}

static dv_err parse_line(span line, deid_rule *r, const line_ctx *lc)
{
    span f[MAX_FIELDS];
    long rows, cols;
    dv_err e;

    memset(r, 0, sizeof(*r));
    e = split_fields(line, f, lc);
    if (!e)
        e = parse_pattern(f[0], r->manufacturer, lc);
    if (!e)
        e = parse_pattern(f[1], r->model, lc);
    if (e)
        return e;
    rows = parse_num(f[2], 1);
    cols = parse_num(f[3], 1);
    if (rows < 0 || cols < 0 || (rows == 0 && f[2].p[0] != '*') || (cols == 0 && f[3].p[0] != '*'))
        return line_fail(lc, DV_EMALFORMED, "rows or columns is not a number in 1..65535 or *");
    r->rows = (uint32_t)rows;
    r->cols = (uint32_t)cols;
    return parse_rects(f[4], r, lc);
}

static int blank_or_comment(span line)
{
    size_t i;

    for (i = 0; i < line.n; i++) {
        if (line.p[i] == '#')
            return 1;
        if (line.p[i] != ' ' && line.p[i] != '\t')
            return 0;
    }
    return 1;
}

static dv_err add_rule(deid_rules *out, uint32_t *cap, const deid_rule *r, const line_ctx *lc)
{
    if (out->n == DEID_RULES_MAX_RULES)
        return line_fail(lc, DV_ELIMIT, "more than 4096 rules");
    if (out->n == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 16;
        deid_rule *v;

        if (ncap > DEID_RULES_MAX_RULES)
            ncap = DEID_RULES_MAX_RULES;
        v = realloc(out->v, (size_t)ncap * sizeof(*v));
        if (!v)
            return line_fail(lc, DV_ENOMEM, "out of memory");
        out->v = v;
        *cap = ncap;
    }
    out->v[out->n++] = *r;
    return DV_OK;
}

dv_err deid_rules_parse(const char *text, size_t len, deid_rules *out, dv_errinfo *ei)
{
    line_ctx lc = {0, 0, ei};
    uint32_t cap = 0;
    size_t i = 0;
    dv_err e = DV_OK;

    memset(out, 0, sizeof(*out));
    if (len > DEID_RULES_MAX_BYTES)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "pixel rules larger than 1 MiB");
    while (i < len && !e) {
        span line = {text + i, 0};
        deid_rule r;

        lc.no++;
        lc.off = i;
        while (i < len && text[i] != '\n') {
            i++;
            line.n++;
        }
        i++; /* the newline */
        if (line.n && line.p[line.n - 1] == '\r')
            line.n--;
        if (line.n > DEID_RULES_MAX_LINE)
            e = line_fail(&lc, DV_ELIMIT, "longer than 1024 bytes");
        else if (memchr(line.p, '\0', line.n))
            e = line_fail(&lc, DV_EMALFORMED, "holds a NUL byte");
        else if (blank_or_comment(line))
            continue;
        if (!e)
            e = parse_line(line, &r, &lc);
        if (!e)
            e = add_rule(out, &cap, &r, &lc);
    }
    if (e)
        deid_rules_release(out);
    return e;
}

static dv_err read_all(int fd, char *buf, size_t n, dv_errinfo *ei)
{
    size_t at = 0;

    while (at < n) {
        ssize_t got = read(fd, buf + at, n - at);

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot read the pixel rules");
        at += (size_t)got;
    }
    return DV_OK;
}

dv_err deid_rules_load(const char *path, deid_rules *out, dv_errinfo *ei)
{
    struct stat st;
    char *buf;
    int fd;
    dv_err e;

    memset(out, 0, sizeof(*out));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dv_fail(ei, errno == ENOENT ? DV_ENOTFOUND : DV_EIO, DV_NO_OFFSET, DV_NO_TAG,
                       "cannot open the pixel rules file (errno %d)", errno);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "pixel rules are not a regular file");
    }
    if ((uint64_t)st.st_size > DEID_RULES_MAX_BYTES) {
        close(fd);
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "pixel rules larger than 1 MiB");
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    }
    e = read_all(fd, buf, (size_t)st.st_size, ei);
    close(fd);
    if (!e)
        e = deid_rules_parse(buf, (size_t)st.st_size, out, ei);
    free(buf);
    return e;
}

void deid_rules_release(deid_rules *r)
{
    if (!r)
        return;
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

static char fold(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Iterative glob with one backtrack point: O(len(pat) * len(s)). */
int deid_glob_match(const char *pat, const char *s)
{
    const char *star = NULL, *retry = NULL;

    while (*s) {
        if (*pat == '*') {
            star = ++pat;
            retry = s;
        } else if (*pat && (*pat == '?' || fold(*pat) == fold(*s))) {
            pat++;
            s++;
        } else if (star) {
            pat = star;
            s = ++retry;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

static int field_matches(const char *pat, const dcm_ds *ds, uint32_t tag)
{
    char v[1024];
    long n = dcm_ds_get_str(ds, tag, v, sizeof(v));

    if (!strcmp(pat, "*"))
        return 1;
    if (n < 0 || (size_t)n >= sizeof(v))
        return 0; /* absent, or longer than any pattern could describe exactly */
    return deid_glob_match(pat, v);
}

int deid_rule_matches(const deid_rule *r, const dcm_ds *ds, uint32_t rows, uint32_t cols)
{
    if ((r->rows && r->rows != rows) || (r->cols && r->cols != cols))
        return 0;
    return field_matches(r->manufacturer, ds, TAG_MANUFACTURER) &&
           field_matches(r->model, ds, TAG_MODEL);
}
