/* SPDX-License-Identifier: Apache-2.0 */
/* buf.c - growable byte buffer with a hard maximum. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

void dv_buf_init(dv_buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void dv_buf_release(dv_buf *b)
{
    if (!b)
        return;
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void dv_buf_reset(dv_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

dv_err dv_buf_reserve(dv_buf *b, size_t n)
{
    size_t need, ncap;
    uint8_t *np;

    if (n > b->max || b->len > b->max - n)
        return DV_ELIMIT;
    need = b->len + n + 1; /* room for the trailing NUL */
    if (need <= b->cap)
        return DV_OK;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    np = dv_fault_hit() ? NULL : realloc(b->p, ncap);
    if (!np)
        return DV_ENOMEM;
    b->p = np;
    b->cap = ncap;
    return DV_OK;
}

dv_err dv_buf_add(dv_buf *b, const void *p, size_t n)
{
    dv_err e = dv_buf_reserve(b, n);

    if (e)
        return e;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
    return DV_OK;
}

dv_err dv_buf_addc(dv_buf *b, uint8_t c)
{
    return dv_buf_add(b, &c, 1);
}

dv_err dv_buf_adds(dv_buf *b, const char *s)
{
    return dv_buf_add(b, s, strlen(s));
}

dv_err dv_buf_vprintf(dv_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    int n;
    dv_err e;

    /* one pass when the text fits the room already there, a second one otherwise */
    va_copy(ap2, ap);
    n = vsnprintf(room ? (char *)b->p + b->len : NULL, room, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return DV_EINVAL;
    if ((size_t)n < room && (size_t)n <= b->max - b->len) {
        b->len += (size_t)n;
        return DV_OK;
    }
    if (room)
        b->p[b->len] = 0;
    e = dv_buf_reserve(b, (size_t)n);
    if (e)
        return e;
    (void)vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return DV_OK;
}

dv_err dv_buf_printf(dv_buf *b, const char *fmt, ...)
{
    va_list ap;
    dv_err e;

    va_start(ap, fmt);
    e = dv_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return e;
}

dv_err dv_buf_add_u16le(dv_buf *b, uint16_t v)
{
    uint8_t t[2];

    dv_put_le16(t, v);
    return dv_buf_add(b, t, 2);
}

dv_err dv_buf_add_u32le(dv_buf *b, uint32_t v)
{
    uint8_t t[4];

    dv_put_le32(t, v);
    return dv_buf_add(b, t, 4);
}

dv_err dv_buf_add_u16be(dv_buf *b, uint16_t v)
{
    uint8_t t[2] = {(uint8_t)(v >> 8), (uint8_t)v};

    return dv_buf_add(b, t, 2);
}

dv_err dv_buf_add_u32be(dv_buf *b, uint32_t v)
{
    uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

    return dv_buf_add(b, t, 4);
}

uint8_t *dv_buf_detach(dv_buf *b, size_t *len)
{
    uint8_t *p = b->p;

    if (len)
        *len = b->len;
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
