/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_audit_proof.c - libFuzzer target: proof text and proof verification.
 *
 * The input is parsed as proof text; a proof that parses must format back to text that parses
 * to the same proof, and is checked against a fixed pair of checkpoints (a tree of 1000 leaves
 * and its prefix of 300), which must not crash whatever the sizes and hashes claim.  The raw
 * bytes are also run through the RFC 9162 verifiers as hashes with sizes from the first bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static audit_proof pf, again;
    audit_checkpoint old, cp;
    uint64_t a = 0, b = 0;
    size_t i, nh;
    dv_buf t;

    memset(&old, 0, sizeof(old));
    memset(&cp, 0, sizeof(cp));
    old.size = 300;
    cp.size = 1000;
    memset(old.root, 1, 32);
    memset(cp.root, 2, 32);
    if (audit_proof_parse(data, size, &pf, NULL) == DV_OK) {
        dv_buf_init(&t, 1 << 20);
        if (audit_proof_format(&pf, &t) || audit_proof_parse(t.p, t.len, &again, NULL) ||
            memcmp(&pf, &again, sizeof(pf)) != 0)
            abort();
        dv_buf_release(&t);
        (void)audit_proof_check(&pf, &old, &cp, NULL);
    }
    for (i = 0; i < 8 && i < size; i++)
        a = (a << 8) | data[i];
    for (i = 8; i < 16 && i < size; i++)
        b = (b << 8) | data[i];
    nh = size > 48 ? (size - 48) / 32 : 0;
    if (nh > AUDIT_PROOF_MAX)
        nh = AUDIT_PROOF_MAX;
    if (size >= 48) {
        (void)audit_verify_inclusion(a, b, data + 16, (const uint8_t(*)[32])(data + 48), nh,
                                     cp.root);
        (void)audit_verify_consistency(a, b, data + 16, cp.root, (const uint8_t(*)[32])(data + 48),
                                       nh);
    }
    return 0;
}
