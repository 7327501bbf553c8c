/* SPDX-License-Identifier: Apache-2.0 */
/* dv.h - the project's one error enum, error detail record and shared attributes.
 *
 * Every fallible function returns dv_err: 0 is success.  Values are append-only (they may be
 * stored or compared by scripts); DV_ERR_COUNT is the sentinel.  dv_strerror() has no default:
 * so -Wswitch-enum catches a code without a message.
 *
 * Error messages never carry values from a DICOM file (they could be PHI): only offsets,
 * tags, sizes and the rule that was broken.
 */
#ifndef DV_H
#define DV_H

#include <stddef.h>
#include <stdint.h>

#define DV_WUR          __attribute__((warn_unused_result))
#define DV_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define DV_PRINTF(f, a) __attribute__((format(printf, f, a)))

typedef enum dv_err {
    DV_OK = 0,
    DV_ENOMEM,       /* out of memory */
    DV_EIO,          /* an I/O call failed (errno kept in the detail) */
    DV_EINVAL,       /* a caller passed a bad argument or option */
    DV_ETRUNC,       /* input ended before a structure it announced */
    DV_ELIMIT,       /* input exceeds a configured hard limit */
    DV_EMALFORMED,   /* input breaks an encoding rule */
    DV_EUNSUPPORTED, /* valid input that this build cannot handle */
    DV_ECHARSET,     /* a character set is unknown or a value does not convert */
    DV_ECODEC,       /* compressed pixel data failed to decode or encode */
    DV_ENOTFOUND,    /* the requested element, object or record does not exist */
    DV_EEXIST,       /* the object already exists */
    DV_EPERM,        /* denied by policy */
    DV_ECRYPTO,      /* a cryptographic operation failed or authentication failed */
    DV_EDB,          /* the index database failed */
    DV_ETAMPER,      /* stored data does not verify */
    DV_ERR_COUNT     /* sentinel: keep last */
} dv_err;

/* Detail for an error: where it happened and what rule broke.  Fixed size, no allocation. */
typedef struct dv_errinfo {
    uint64_t offset; /* byte offset in the input, UINT64_MAX when not applicable */
    uint32_t tag;    /* DICOM tag (gggg<<16|eeee) being read, 0xFFFFFFFF when none */
    char msg[200];   /* NUL-terminated, PHI-free */
} dv_errinfo;

/* Static English message for a code; never NULL. */
const char *dv_strerror(dv_err e);

/* Clears ei (offset/tag unknown, empty message).  ei may be NULL. */
void dv_errinfo_clear(dv_errinfo *ei);

/* Fills ei (if not NULL) and returns e, so callers can write `return dv_fail(...)`. */
dv_err dv_fail(dv_errinfo *ei, dv_err e, uint64_t offset, uint32_t tag, const char *fmt, ...)
    DV_PRINTF(5, 6);

/* Formats "code: msg (at offset N, tag (gggg,eeee))" into out (always NUL-terminated). */
void dv_errinfo_format(const dv_errinfo *ei, dv_err e, char *out, size_t outlen);

/* Fault injection for out-of-memory tests: when dv_fault_countdown is positive, it is
 * decremented by every allocation of the arena and of dv_buf, and the allocation that brings
 * it to zero fails.  0 (the default) disables it.  Not thread-safe: tests only. */
extern long dv_fault_countdown;
int dv_fault_hit(void);

#define DV_NO_OFFSET UINT64_MAX
#define DV_NO_TAG    0xFFFFFFFFu

#endif
