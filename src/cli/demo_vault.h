/* SPDX-License-Identifier: Apache-2.0 */
/* demo_vault.h - the demo's vault step (see demo_vault.c). */
#ifndef DV_DEMO_VAULT_H
#define DV_DEMO_VAULT_H

#include <stdint.h>

typedef struct demo_vault_in {
    const char *dir;    /* the demo folder: the vault goes to DIR/vault, its key to DIR/vault.kek */
    char *const *files; /* the DICOM files of one synthetic study */
    uint32_t nfiles;
    const char *study_uid;
    const char *patient_id, *patient_name, *birth_date, *accession; /* synthetic */
    int keep; /* leave the vault and its key file in DIR */
} demo_vault_in;

/* Prints what it does; returns 0 when every check passed, -1 (message on stderr) otherwise. */
int demo_vault_step(const demo_vault_in *in);

#endif
