/* SPDX-License-Identifier: Apache-2.0 */
/* buf.h - growable byte buffer with a hard maximum (curl dynbuf style).
 *
 * Invariants: len <= cap <= max; when cap > 0, p[len] is a NUL byte (so text can be used as a
 * C string), which is not counted in len.  A zeroed dv_buf with max set is valid and empty.
 */
#ifndef DV_BUF_H
#define DV_BUF_H

#include "dv.h"

#include <stdarg.h>

typedef struct dv_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t max; /* appends that would make len exceed max fail with DV_ELIMIT */
} dv_buf;

/* Starts an empty buffer that may hold at most max bytes.  Allocates nothing. */
void dv_buf_init(dv_buf *b, size_t max);

/* Frees the storage and leaves an empty buffer with the same max.  b may be NULL. */
void dv_buf_release(dv_buf *b);

/* Makes room for n more bytes.  DV_ELIMIT past max, DV_ENOMEM when allocation fails. */
dv_err dv_buf_reserve(dv_buf *b, size_t n) DV_WUR;

dv_err dv_buf_add(dv_buf *b, const void *p, size_t n) DV_WUR;
dv_err dv_buf_addc(dv_buf *b, uint8_t c) DV_WUR;
dv_err dv_buf_adds(dv_buf *b, const char *s) DV_WUR;
dv_err dv_buf_printf(dv_buf *b, const char *fmt, ...) DV_WUR DV_PRINTF(2, 3);
dv_err dv_buf_vprintf(dv_buf *b, const char *fmt, va_list ap) DV_WUR;
dv_err dv_buf_add_u16le(dv_buf *b, uint16_t v) DV_WUR;
dv_err dv_buf_add_u32le(dv_buf *b, uint32_t v) DV_WUR;
dv_err dv_buf_add_u16be(dv_buf *b, uint16_t v) DV_WUR;
dv_err dv_buf_add_u32be(dv_buf *b, uint32_t v) DV_WUR;

/* Empties the buffer, keeping its storage. */
void dv_buf_reset(dv_buf *b);

/* Hands the storage to the caller (free() it) and leaves b empty.  Returns NULL when empty. */
uint8_t *dv_buf_detach(dv_buf *b, size_t *len);

/* Little/big endian loads and stores on raw bytes (no alignment needed). */
static inline uint16_t dv_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t dv_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint16_t dv_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t dv_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline void dv_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void dv_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#endif
