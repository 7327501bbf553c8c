/* SPDX-License-Identifier: Apache-2.0 */
/* gate.h - the vault's access state and gate helpers (src/vault only; vault_gate itself is in
 * vault_int.h so every vault file can call it). */
#ifndef DV_VAULT_GATE_H
#define DV_VAULT_GATE_H

#include "access/access.h"
#include "vault/vault_int.h"

struct vault_access {
    access_policy pol;
    access_sealer sealer;
    access_env env;
};

/* The vault's access environment (made on first use: DIR/access.conf or the defaults). */
dv_err vault_access_env(vault *v, const access_env **env, dv_errinfo *ei) DV_WUR;
/* The clock of every access decision: unix seconds. */
int64_t vault_access_now(void);
/* Opens ctx's session; *who (may be NULL) is the subject with ctx's purpose. */
dv_err vault_session(vault *v, const vault_ctx *ctx, access_session_info *si, access_subject *who,
                     dv_errinfo *ei) DV_WUR;
/* vault_gate, also giving the session. */
dv_err vault_gate_as(vault *v, const vault_ctx *ctx, int action, const vault_gate_obj *o,
                     access_session_info *si, dv_errinfo *ei) DV_WUR;

/* The view decision for many rows (find): the session's subject and grants, loaded once. */
typedef struct vault_view_filter {
    access_session_info si;
    access_subject who; /* its user points into si */
    access_relset rs;
    const access_policy *pol;
    int loaded;
} vault_view_filter;
/* Loads the session's subject and its grants valid now (f must not move afterwards). */
dv_err vault_view_filter_load(vault *v, const vault_ctx *ctx, vault_view_filter *f,
                              dv_errinfo *ei) DV_WUR;
/* 1 when access_decide allows VIEW of that study (patient) for f's subject. */
int vault_view_allowed(const vault_view_filter *f, const uint8_t *study_bi,
                       const uint8_t *patient_bi);
void vault_view_filter_free(vault_view_filter *f);

#endif
