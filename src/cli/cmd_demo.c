/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_demo.c - placeholder until the command lands. */
#include <stdio.h>

#include "cli/cli.h"

#include "common/banned.h"

int cmd_demo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "dcmvault demo: not built yet\n");
    return DV_EXIT_INTERNAL;
}
