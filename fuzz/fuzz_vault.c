/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_vault.c - libFuzzer target for the vault's own parsers: the INI config, the sealed
 * record encoding, and the name / date-range / wildcard helpers that take user input.
 * The first byte picks the parser; the rest is its input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault/vault_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *cstr(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

static void fuzz_text(uint8_t which, const char *s, size_t n)
{
    vault_config cfg;
    dv_errinfo ei;
    dv_buf out;
    uint32_t lo, hi, months[64];
    size_t count;

    dv_buf_init(&out, 1u << 20);
    switch (which % 5) {
    case 0:
        if (vault_config_parse_string(s, &cfg, &ei) == DV_OK)
            (void)vault_config_format(&cfg, &out);
        break;
    case 1:
        (void)vault_norm_name(s, n, &out);
        break;
    case 2:
        (void)vault_name_tokens(s, n, &out, 16, &count);
        break;
    case 3:
        if (vault_date_range(s, &lo, &hi) == DV_OK)
            (void)vault_date_months(lo, hi, months, 64, &count);
        break;
    default: {
        const char *bar = memchr(s, '|', n);

        if (bar) /* pattern|subject */
            (void)vault_wildcard_match(s, bar + 1);
        break;
    }
    }
    dv_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vault_rec r;
    dv_errinfo ei;
    char *s;

    if (size < 1)
        return 0;
    if (data[0] == 0xFF) { /* sealed record decoding (after the AEAD has opened it) */
        memset(&r, 0, sizeof(r));
        if (vault_rec_decode(data + 1, size - 1, &r, &ei) == DV_OK) {
            dv_buf out;

            dv_buf_init(&out, 1u << 20);
            (void)vault_rec_encode(&r, &out);
            dv_buf_release(&out);
        }
        vault_rec_free(&r);
        return 0;
    }
    s = cstr(data + 1, size - 1);
    if (!s)
        return 0;
    fuzz_text(data[0], s, size - 1);
    free(s);
    return 0;
}
