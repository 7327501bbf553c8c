/* SPDX-License-Identifier: Apache-2.0 */
/* err.c - messages for dv_err and the error detail record. */
#include "dv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

long dv_fault_countdown;

int dv_fault_hit(void)
{
    if (dv_fault_countdown <= 0)
        return 0;
    return --dv_fault_countdown == 0;
}

const char *dv_strerror(dv_err e)
{
    switch (e) {
    case DV_OK:
        return "success";
    case DV_ENOMEM:
        return "out of memory";
    case DV_EIO:
        return "input/output error";
    case DV_EINVAL:
        return "invalid argument";
    case DV_ETRUNC:
        return "truncated input";
    case DV_ELIMIT:
        return "limit exceeded";
    case DV_EMALFORMED:
        return "malformed input";
    case DV_EUNSUPPORTED:
        return "unsupported";
    case DV_ECHARSET:
        return "character set error";
    case DV_ECODEC:
        return "pixel codec error";
    case DV_ENOTFOUND:
        return "not found";
    case DV_EEXIST:
        return "already exists";
    case DV_EPERM:
        return "permission denied";
    case DV_ECRYPTO:
        return "cryptographic failure";
    case DV_EDB:
        return "index database error";
    case DV_ETAMPER:
        return "integrity check failed";
    case DV_ERR_COUNT:
        break;
    }
    return "unknown error";
}

void dv_errinfo_clear(dv_errinfo *ei)
{
    if (!ei)
        return;
    ei->offset = DV_NO_OFFSET;
    ei->tag = DV_NO_TAG;
    ei->msg[0] = '\0';
}

dv_err dv_fail(dv_errinfo *ei, dv_err e, uint64_t offset, uint32_t tag, const char *fmt, ...)
{
    va_list ap;

    if (!ei)
        return e;
    ei->offset = offset;
    ei->tag = tag;
    va_start(ap, fmt);
    (void)vsnprintf(ei->msg, sizeof(ei->msg), fmt, ap);
    va_end(ap);
    return e;
}

void dv_errinfo_format(const dv_errinfo *ei, dv_err e, char *out, size_t outlen)
{
    char where[80] = "";
    size_t n = 0;

    if (!outlen)
        return;
    if (ei && ei->offset != DV_NO_OFFSET)
        n += (size_t)snprintf(where + n, sizeof(where) - n, " at offset %llu",
                              (unsigned long long)ei->offset);
    if (ei && ei->tag != DV_NO_TAG && n < sizeof(where))
        (void)snprintf(where + n, sizeof(where) - n, "%s tag (%04X,%04X)", n ? "," : " at",
                       (unsigned)(ei->tag >> 16), (unsigned)(ei->tag & 0xFFFF));
    if (ei && ei->msg[0])
        (void)snprintf(out, outlen, "%s: %s%s", dv_strerror(e), ei->msg, where);
    else
        (void)snprintf(out, outlen, "%s%s", dv_strerror(e), where);
}
