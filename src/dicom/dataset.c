/* SPDX-License-Identifier: Apache-2.0 */
/* dataset.c - dcm_file lifetime and element access: sorted arrays in the file's arena.
 *
 * A dcm_ds grows by doubling into a new arena block (the old one is abandoned to the arena);
 * elements stay sorted by tag so lookup is a binary search.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dicom/dicom.h"

#include "common/banned.h"

void dcm_limits_default(dcm_limits *l)
{
    l->max_depth = 32;
    l->max_elements = 1000000;
    l->max_value = 0xFFFFFFFEu;
    l->max_total = (uint64_t)8 << 30;
}

dv_err dcm_file_new(dcm_file **out)
{
    dcm_file *f = dv_fault_hit() ? NULL : calloc(1, sizeof(*f));

    *out = NULL;
    if (!f)
        return DV_ENOMEM;
    dv_arena_init(&f->arena, SIZE_MAX / 2);
    f->ts = &dcm_ts_explicit_le;
    *out = f;
    return DV_OK;
}

void dcm_file_free(dcm_file *f)
{
    if (!f)
        return;
    dv_arena_release(&f->arena);
    if (f->owned_map)
        (void)munmap(f->owned_map, f->owned_map_len);
    free(f->owned_heap);
    free(f);
}

void dcm_warn(dcm_file *f, uint64_t offset, uint32_t tag, const char *fmt, ...)
{
    va_list ap;
    dcm_warning *w;

    f->nwarn_total++;
    if (f->nwarn >= DCM_MAX_WARNINGS)
        return;
    w = &f->warn[f->nwarn++];
    w->offset = offset;
    w->tag = tag;
    va_start(ap, fmt);
    (void)vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
    va_end(ap);
}

/* Index of the first element with tag >= t. */
static uint32_t lower_bound(const dcm_ds *ds, uint32_t t)
{
    uint32_t lo = 0, hi = ds->n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (ds->e[mid].tag < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

dcm_elem *dcm_ds_find(const dcm_ds *ds, uint32_t tag)
{
    uint32_t i = lower_bound(ds, tag);

    return i < ds->n && ds->e[i].tag == tag ? &ds->e[i] : NULL;
}

static dv_err ds_grow(dcm_file *f, dcm_ds *ds)
{
    uint32_t ncap = ds->cap ? ds->cap * 2 : 4; /* items often hold a few elements */
    dcm_elem *ne;

    if (ncap < ds->cap || ncap > 0x7FFFFFFFu)
        return DV_ELIMIT;
    ne = dv_arena_alloc(&f->arena, (size_t)ncap * sizeof(*ne));
    if (!ne)
        return dv_arena_over(&f->arena, (size_t)ncap * sizeof(*ne)) ? DV_ELIMIT : DV_ENOMEM;
    if (ds->n)
        memcpy(ne, ds->e, (size_t)ds->n * sizeof(*ne));
    ds->e = ne;
    ds->cap = ncap;
    return DV_OK;
}

dv_err dcm_ds_insert(dcm_file *f, dcm_ds *ds, uint32_t tag, dcm_vr vr, dcm_elem **out)
{
    uint32_t i;
    dv_err e;

    if (ds->n && ds->e[ds->n - 1].tag < tag) {
        i = ds->n; /* the common case while parsing: append */
    } else {
        i = lower_bound(ds, tag);
        if (i < ds->n && ds->e[i].tag == tag) {
            *out = &ds->e[i];
            return DV_OK;
        }
    }
    if (ds->n == ds->cap) {
        e = ds_grow(f, ds);
        if (e)
            return e;
    }
    if (i < ds->n)
        memmove(&ds->e[i + 1], &ds->e[i], (size_t)(ds->n - i) * sizeof(ds->e[0]));
    memset(&ds->e[i], 0, sizeof(ds->e[i]));
    ds->e[i].tag = tag;
    ds->e[i].vr = vr;
    ds->e[i].offset = UINT64_MAX;
    ds->n++;
    *out = &ds->e[i];
    return DV_OK;
}

dv_err dcm_ds_set(dcm_file *f, dcm_ds *ds, uint32_t tag, dcm_vr vr, const void *val, uint32_t len)
{
    dcm_elem *el;
    void *copy = NULL;
    dv_err e;

    if (len) {
        copy = dv_arena_dup(&f->arena, val, len);
        if (!copy)
            return DV_ENOMEM;
    }
    e = dcm_ds_insert(f, ds, tag, vr, &el);
    if (e)
        return e;
    el->vr = vr;
    el->val = copy;
    el->len = len;
    el->items = NULL;
    el->nitems = 0;
    el->frags = NULL;
    el->nfrags = 0;
    el->undef_len = 0;
    return DV_OK;
}

dv_err dcm_ds_set_str(dcm_file *f, dcm_ds *ds, uint32_t tag, dcm_vr vr, const char *s)
{
    size_t n = strlen(s);
    char *tmp;
    dv_err e;

    if (n >= 0xFFFFFFFEu)
        return DV_ELIMIT;
    if (!(n & 1))
        return dcm_ds_set(f, ds, tag, vr, s, (uint32_t)n);
    tmp = malloc(n + 1);
    if (!tmp)
        return DV_ENOMEM;
    memcpy(tmp, s, n);
    tmp[n] = vr == DCM_VR_UI ? '\0' : ' ';
    e = dcm_ds_set(f, ds, tag, vr, tmp, (uint32_t)(n + 1));
    free(tmp);
    return e;
}

void dcm_ds_remove(dcm_ds *ds, uint32_t tag)
{
    uint32_t i = lower_bound(ds, tag);

    if (i >= ds->n || ds->e[i].tag != tag)
        return;
    memmove(&ds->e[i], &ds->e[i + 1], (size_t)(ds->n - i - 1) * sizeof(ds->e[0]));
    ds->n--;
}

dv_err dcm_elem_add_item(dcm_file *f, dcm_elem *sq, dcm_ds **item)
{
    dcm_ds *ni;

    if (sq->nitems >= 0x7FFFFFFFu)
        return DV_ELIMIT;
    ni = dv_arena_alloc(&f->arena, (size_t)(sq->nitems + 1) * sizeof(*ni));
    if (!ni)
        return DV_ENOMEM;
    if (sq->nitems)
        memcpy(ni, sq->items, (size_t)sq->nitems * sizeof(*ni));
    sq->items = ni;
    *item = &ni[sq->nitems++];
    return DV_OK;
}

long dcm_ds_get_str(const dcm_ds *ds, uint32_t tag, char *out, size_t outlen)
{
    const dcm_elem *el = dcm_ds_find(ds, tag);
    size_t n, c;

    if (outlen)
        out[0] = 0;
    if (!el)
        return -1;
    n = el->len;
    while (n && (el->val[n - 1] == ' ' || el->val[n - 1] == '\0'))
        n--;
    if (outlen) {
        c = n < outlen - 1 ? n : outlen - 1;
        if (c)
            memcpy(out, el->val, c);
        out[c] = 0;
    }
    return (long)n;
}

/* Copies value number idx of a backslash-separated string into out (trimmed). */
static int str_value(const dcm_elem *el, unsigned idx, char *out, size_t outlen)
{
    size_t i = 0, start, end, n;
    unsigned k = 0;

    while (k < idx) {
        while (i < el->len && el->val[i] != '\\')
            i++;
        if (i >= el->len)
            return -1;
        i++;
        k++;
    }
    start = i;
    while (i < el->len && el->val[i] != '\\')
        i++;
    end = i;
    while (start < end && (el->val[start] == ' ' || el->val[start] == 0))
        start++;
    while (end > start && (el->val[end - 1] == ' ' || el->val[end - 1] == 0))
        end--;
    n = end - start;
    if (n == 0 || n >= outlen)
        return -1;
    memcpy(out, el->val + start, n);
    out[n] = 0;
    return 0;
}

static dv_err binary_number(const dcm_elem *el, unsigned idx, double *d, long *l)
{
    unsigned w = dcm_vr_swap_width(el->vr);
    const uint8_t *p;

    if (w < 2 || (uint64_t)(idx + 1) * w > el->len)
        return DV_ENOTFOUND;
    p = el->val + (size_t)idx * w;
    switch (el->vr) {
    case DCM_VR_US:
        *l = dv_le16(p);
        break;
    case DCM_VR_SS:
        *l = (int16_t)dv_le16(p);
        break;
    case DCM_VR_UL:
        *l = (long)dv_le32(p);
        break;
    case DCM_VR_SL:
        *l = (int32_t)dv_le32(p);
        break;
    case DCM_VR_FL: {
        uint32_t u = dv_le32(p);
        float fl;

        memcpy(&fl, &u, 4);
        *d = fl;
        *l = (long)fl;
        return DV_OK;
    }
    case DCM_VR_FD: {
        uint64_t u = (uint64_t)dv_le32(p) | ((uint64_t)dv_le32(p + 4) << 32);
        double db;

        memcpy(&db, &u, 8);
        *d = db;
        *l = (long)db;
        return DV_OK;
    }
    default:
        return DV_ENOTFOUND;
    }
    *d = (double)*l;
    return DV_OK;
}

static dv_err get_number(const dcm_ds *ds, uint32_t tag, unsigned idx, double *d, long *l)
{
    const dcm_elem *el = dcm_ds_find(ds, tag);
    char tmp[68], *end;

    if (!el || !el->len)
        return DV_ENOTFOUND;
    if (el->vr != DCM_VR_IS && el->vr != DCM_VR_DS && el->vr != DCM_VR_UN &&
        dcm_vr_swap_width(el->vr) >= 2)
        return binary_number(el, idx, d, l);
    if (str_value(el, idx, tmp, sizeof(tmp)))
        return DV_ENOTFOUND;
    errno = 0;
    *d = strtod(tmp, &end);
    if (end == tmp || *end || errno)
        return DV_EMALFORMED;
    if (*d < -2147483648.0 || *d > 4294967295.0)
        return DV_EMALFORMED;
    *l = (long)*d;
    return DV_OK;
}

dv_err dcm_ds_get_int(const dcm_ds *ds, uint32_t tag, unsigned idx, long *out)
{
    double d;

    return get_number(ds, tag, idx, &d, out);
}

dv_err dcm_ds_get_double(const dcm_ds *ds, uint32_t tag, unsigned idx, double *out)
{
    long l;

    return get_number(ds, tag, idx, out, &l);
}
