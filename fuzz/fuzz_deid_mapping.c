/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_deid_mapping.c - libFuzzer target for the de-identification mapping CSV parser: any
 * input is parsed or refused; a parsed mapping finds every original ID it lists. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deid/deid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    deid_mapping *m = NULL;
    const char *nid, *nname;
    dv_errinfo ei;
    size_t i = 0;

    if (deid_mapping_parse(data, size, &m, &ei) != DV_OK) {
        if (m)
            abort(); /* a refused input leaves nothing behind */
        return 0;
    }
    /* the first field of the first record line must be found again */
    while (i < size) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t end = nl ? (size_t)(nl - data) : size;
        const uint8_t *comma = memchr(data + i, ',', end - i);

        if (comma && data[i] != '#' && comma > data + i &&
            !(end - i > 11 && !memcmp(data + i, "original_pa", 11))) {
            if (!deid_mapping_find(m, (const char *)data + i, (size_t)(comma - (data + i)), &nid,
                                   &nname))
                abort();
            break;
        }
        i = end + 1;
    }
    deid_mapping_free(m);
    return 0;
}
