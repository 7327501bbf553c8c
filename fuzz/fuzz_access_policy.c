/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_access_policy.c - libFuzzer target for the access.conf parser (access_policy_parse):
 * any text is parsed or refused; a parsed policy keeps every bound (user quotas, referring
 * map, person names, account names) and its referring map finds each of its own names. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TEXT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static access_policy p;
    dv_errinfo ei;
    char *text;
    unsigned i;

    if (size > MAX_TEXT)
        return 0;
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* the file loader hands the parser a NUL-terminated text */
    access_policy_default(&p);
    if (access_policy_parse(text, &p, &ei) == DV_OK) {
        if (p.n_user_quota > ACCESS_USER_QUOTAS_MAX || p.n_referring > ACCESS_REFERRING_MAX)
            abort();
        for (i = 0; i < p.n_referring; i++) {
            const char *u = access_policy_referring(&p, p.referring[i].pn);

            if (strlen(p.referring[i].pn) > ACCESS_PN_MAX || !u || !u[0] ||
                strlen(u) > INDEX_USER_NAME_MAX)
                abort();
        }
    } else if (!ei.msg[0]) {
        abort(); /* a refusal always says why */
    }
    free(text);
    return 0;
}
