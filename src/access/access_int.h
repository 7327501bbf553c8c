/* SPDX-License-Identifier: Apache-2.0 */
/* access_int.h - what the files of src/access share (and its unit tests).
 */
#ifndef DV_ACCESS_INT_H
#define DV_ACCESS_INT_H

#include "access/access.h"

/* common_pw_gen.c (generated from data/common-passwords.txt): lower-case entries, each ending
 * in '\n', sorted bytewise. */
extern const char access_common_pw[];
extern const size_t access_common_pw_len;

/* account.c: reads an account by name into *a (DV_ENOTFOUND with a message naming no user). */
dv_err access_account_load(const access_env *env, const char *name, index_account *a,
                           dv_errinfo *ei) DV_WUR;
/* The role set stored for an account; 0 when it does not parse. */
unsigned access_account_roles(const index_account *a);

/* guard.c: suspends user (severe alert). */
dv_err access_suspend(const access_env *env, const char *user, dv_errinfo *ei) DV_WUR;

#endif
