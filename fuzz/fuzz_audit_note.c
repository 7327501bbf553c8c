/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_audit_note.c - libFuzzer target: signed notes, checkpoints and verifier keys.
 *
 * The input is opened as a signed checkpoint note with a fixed verifier key and without one,
 * parsed as a checkpoint body and as a vkey line.  A note that opens with the key must also
 * open without it and give the same checkpoint; a checkpoint that parses must re-sign and
 * re-open to the same values. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static audit_vkey vk;
static uint8_t seed[32];

static void init_once(void)
{
    uint8_t pk[32], sk[64];

    if (vk.name[0])
        return;
    if (sodium_init() < 0)
        abort();
    memset(seed, 7, sizeof(seed));
    crypto_sign_seed_keypair(pk, sk, seed);
    if (audit_vkey_make("fuzz.example/log", pk, &vk, NULL))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    audit_checkpoint a, b;
    audit_vkey k;
    dv_buf n;

    init_once();
    if (audit_note_open(data, size, &vk, &a, NULL) == DV_OK) {
        if (audit_note_open(data, size, NULL, &b, NULL) || memcmp(&a, &b, sizeof(a)) != 0)
            abort();
    }
    (void)audit_vkey_parse((const char *)data, size, &k, NULL);
    if (audit_checkpoint_parse(data, size, &a, NULL) == DV_OK) {
        dv_buf_init(&n, AUDIT_NOTE_MAX);
        if (audit_note_sign(&a, "fuzz.example/log", seed, &n, NULL) ||
            audit_note_open(n.p, n.len, &vk, &b, NULL) || a.size != b.size ||
            memcmp(a.root, b.root, 32) != 0 || strcmp(a.origin, b.origin) != 0)
            abort();
        dv_buf_release(&n);
    }
    return 0;
}
