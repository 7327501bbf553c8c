/* SPDX-License-Identifier: Apache-2.0 */
/* mapping.c - the user-supplied mapping CSV: original PatientID -> new PatientID, new
 * PatientName (format in deid.h).
 *
 * Invariants: rows are sorted by original ID with no duplicate; every string is a
 * NUL-terminated heap copy of 1..64 bytes (the new name may be empty).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deid/deid.h"

#include "common/banned.h"

#define MAP_FIELD_MAX 64
#define MAP_FILE_MAX  ((size_t)64 << 20)
#define MAP_HEADER    "original_patient_id,new_patient_id,new_patient_name"

typedef struct map_row {
    char *orig, *nid, *nname;
} map_row;

struct deid_mapping {
    map_row *rows;
    size_t n, cap;
};

void deid_mapping_free(deid_mapping *m)
{
    size_t i;

    if (!m)
        return;
    for (i = 0; i < m->n; i++) {
        free(m->rows[i].orig);
        free(m->rows[i].nid);
        free(m->rows[i].nname);
    }
    free(m->rows);
    free(m);
}

size_t deid_mapping_count(const deid_mapping *m)
{
    return m ? m->n : 0;
}

static char *dup_n(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s) {
        if (n)
            memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* Checks one field: length and characters (printable, no '\\', no control bytes). */
static const char *field_bad(const uint8_t *p, size_t n, int may_be_empty)
{
    size_t i;

    if (!n)
        return may_be_empty ? NULL : "an empty field";
    if (n > MAP_FIELD_MAX)
        return "a field longer than 64 bytes";
    for (i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7F)
            return "a control character";
        if (p[i] == '\\' || p[i] == '"')
            return "a backslash or a quote";
    }
    if (p[0] == ' ' || p[n - 1] == ' ')
        return "a leading or trailing space";
    return NULL;
}

static dv_err add_row(deid_mapping *m, const uint8_t *f[3], const size_t fl[3])
{
    map_row *r;

    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        map_row *nr = realloc(m->rows, nc * sizeof(*nr));

        if (!nr)
            return DV_ENOMEM;
        m->rows = nr;
        m->cap = nc;
    }
    r = &m->rows[m->n];
    r->orig = dup_n(f[0], fl[0]);
    r->nid = dup_n(f[1], fl[1]);
    r->nname = dup_n(f[2], fl[2]);
    m->n++;
    if (!r->orig || !r->nid || !r->nname)
        return DV_ENOMEM;
    return DV_OK;
}

/* Parses one line (without its end of line) into m. */
static dv_err parse_line(deid_mapping *m, const uint8_t *p, size_t n, size_t lineno, dv_errinfo *ei)
{
    const uint8_t *f[3];
    size_t fl[3], nf = 0, i, j = 0;
    const char *why;

    for (i = 0; i <= n; i++) {
        if (i < n && p[i] != ',')
            continue;
        if (nf == 3)
            return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                           "mapping line %zu: more than 3 fields", lineno);
        f[nf] = p + j;
        fl[nf++] = i - j;
        j = i + 1;
    }
    if (nf != 3)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                       "mapping line %zu: %zu field(s), want 3 (original id, new id, new name)",
                       lineno, nf);
    for (i = 0; i < 3; i++) {
        why = field_bad(f[i], fl[i], i == 2);
        if (why)
            return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                           "mapping line %zu, field %zu: %s", lineno, i + 1, why);
    }
    if (m->n >= DEID_MAPPING_MAX_ROWS)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "mapping: more than %u rows",
                       DEID_MAPPING_MAX_ROWS);
    if (add_row(m, f, fl))
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    return DV_OK;
}

static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const map_row *)a)->orig, ((const map_row *)b)->orig);
}

static dv_err check_dups(deid_mapping *m, dv_errinfo *ei)
{
    size_t i;

    if (m->n > 1)
        qsort(m->rows, m->n, sizeof(*m->rows), row_cmp);
    for (i = 1; i < m->n; i++)
        if (!strcmp(m->rows[i - 1].orig, m->rows[i].orig))
            return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                           "mapping: an original patient ID is listed twice");
    return DV_OK;
}

dv_err deid_mapping_parse(const uint8_t *p, size_t len, deid_mapping **out, dv_errinfo *ei)
{
    deid_mapping *m;
    size_t i = 0, lineno = 0;
    dv_err e = DV_OK;

    *out = NULL;
    if (len > MAP_FILE_MAX)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "mapping: larger than 64 MiB");
    m = calloc(1, sizeof(*m));
    if (!m)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    while (!e && i < len) {
        const uint8_t *nl = memchr(p + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - p) : len, n = end - i;

        lineno++;
        if (n && p[i + n - 1] == '\r')
            n--;
        if (n && p[i] != '#' &&
            !(lineno == 1 && n == strlen(MAP_HEADER) && !memcmp(p + i, MAP_HEADER, n)))
            e = parse_line(m, p + i, n, lineno, ei);
        i = end + 1;
    }
    if (!e)
        e = check_dups(m, ei);
    if (e) {
        deid_mapping_free(m);
        return e;
    }
    *out = m;
    return DV_OK;
}

dv_err deid_mapping_load(const char *path, deid_mapping **out, dv_errinfo *ei)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0;
    dv_err e;
    int fd;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "mapping: cannot open (%s)",
                       strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAP_FILE_MAX) {
        close(fd);
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG,
                       "mapping: not a regular file of at most 64 MiB");
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        free(buf);
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "mapping: short read");
    }
    e = deid_mapping_parse(buf, got, out, ei);
    free(buf);
    return e;
}

int deid_mapping_find(const deid_mapping *m, const char *pid, size_t len, const char **new_id,
                      const char **new_name)
{
    size_t lo = 0, hi = m->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *o = m->rows[mid].orig;
        size_t ol = strlen(o);
        int c = memcmp(o, pid, ol < len ? ol : len);

        if (!c)
            c = ol < len ? -1 : ol > len ? 1 : 0;
        if (!c) {
            *new_id = m->rows[mid].nid;
            *new_name = m->rows[mid].nname;
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}
