/* SPDX-License-Identifier: Apache-2.0 */
/* access_int.h - helpers shared by the SQLite access tables (src/index/access_sqlite*.c only). */
#ifndef DV_INDEX_ACCESS_INT_H
#define DV_INDEX_ACCESS_INT_H

#include <sqlite3.h>

#include "index/index.h"

/* 1 when s is 1..INDEX_USER_NAME_MAX characters of [A-Za-z0-9._@-]. */
int index_acc_name_ok(const char *s);
/* 1 when s has min..max bytes, none a control character. */
int index_acc_text_ok(const char *s, size_t min, size_t max);
/* DV_EINVAL "index: what". */
dv_err index_acc_bad(dv_errinfo *ei, const char *what);
/* DV_EDB "index: stored what breaks its limits". */
dv_err index_acc_stored(dv_errinfo *ei, const char *what);
/* DV_OK when rc is SQLITE_OK; else resets st and reports the bind failure. */
dv_err index_acc_bind(index_db *db, sqlite3_stmt *st, int rc, dv_errinfo *ei);
/* index_sq_col_text. */
int index_acc_col_text(sqlite3_stmt *st, int col, char *out, size_t max);

#endif
