/* SPDX-License-Identifier: Apache-2.0 */
/* util.c - helpers shared by the command implementations. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#include "common/banned.h"

int cli_wants_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return 0;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
    }
    return 0;
}

void cli_report(const char *cmd, const char *path, dv_err e, const dv_errinfo *ei)
{
    char msg[400];

    dv_errinfo_format(ei, e, msg, sizeof(msg));
    if (path)
        fprintf(stderr, "dcmvault %s: %s: %s\n", cmd, path, msg);
    else
        fprintf(stderr, "dcmvault %s: %s\n", cmd, msg);
}

int cli_exit_code(dv_err e)
{
    switch (e) {
    case DV_OK:
        return DV_EXIT_OK;
    case DV_EIO:
        return DV_EXIT_IO;
    case DV_EINVAL:
        return DV_EXIT_USAGE;
    case DV_EPERM:
    case DV_ECRYPTO:
    case DV_ETAMPER:
        return DV_EXIT_DENIED;
    case DV_ENOMEM:
    case DV_ERR_COUNT:
        return DV_EXIT_INTERNAL;
    case DV_ETRUNC:
    case DV_ELIMIT:
    case DV_EMALFORMED:
    case DV_EUNSUPPORTED:
    case DV_ECHARSET:
    case DV_ECODEC:
    case DV_ENOTFOUND:
    case DV_EEXIST:
    case DV_EDB:
        return DV_EXIT_FAIL;
    }
    return DV_EXIT_INTERNAL;
}

int cli_parse_window(const char *s, double *c, double *w)
{
    char *end;

    if (!s)
        return -1;
    errno = 0;
    *c = strtod(s, &end);
    if (errno || end == s || *end != ',')
        return -1;
    s = end + 1;
    *w = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(*c) || !isfinite(*w))
        return -1;
    return 0;
}
