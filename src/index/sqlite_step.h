/* SPDX-License-Identifier: Apache-2.0 */
/* sqlite_step.h - running a bound cached statement to its expected outcome (one row read back,
 * each row of a list, one row changed, one row added), shared by the SQLite backend files
 * (src/index only).
 *
 * Invariants: each function takes a statement from index_sq_stmt with every value bound (except
 * index_sq_get_id, which binds its id) and leaves it reset with its bindings cleared, whatever
 * the outcome, as sqlite_int.h requires; only index_sq_next leaves that to its caller, after
 * the loop.  SQLite errors are reported as index_sq_fail(what).
 */
#ifndef DV_INDEX_SQLITE_STEP_H
#define DV_INDEX_SQLITE_STEP_H

#include <sqlite3.h>

#include "index/sqlite_int.h"

/* Copies the current result row of st into row (the caller's struct, e.g. an index_grant);
 * DV_EDB when a stored value breaks its limits. */
typedef dv_err (*index_sq_read_fn)(sqlite3_stmt *st, void *row, dv_errinfo *ei);

/* Steps st, which yields at most one row, and reads that row into row with read.  No row:
 * DV_ENOTFOUND with the message missing ("index: no such grant"). */
dv_err index_sq_get_one(index_db *db, sqlite3_stmt *st, index_sq_read_fn read, void *row,
                        const char *missing, const char *what, dv_errinfo *ei);

/* index_sq_get_one of the cached select q (sql ends in "WHERE id = ?") with id bound; a bind
 * failure resets the statement and is reported as "bind" (index_acc_bind). */
dv_err index_sq_get_id(index_db *db, sq_q q, const char *sql, int64_t id, index_sq_read_fn read,
                       void *row, const char *missing, const char *what, dv_errinfo *ei);

/* One step of a loop over the rows of st:
 *     while (index_sq_next(db, st, read, &row, &e, "list grants", ei))
 *         e = fn(ctx, &row);
 *     index_sq_reset(st);
 * 1 when a row was read into row with read; 0 at the end of the rows, when *e is already an
 * error (the loop's body failed) or on an error, which goes to *e. */
int index_sq_next(index_db *db, sqlite3_stmt *st, index_sq_read_fn read, void *row, dv_err *e,
                  const char *what, dv_errinfo *ei);

/* Runs st, an UPDATE or DELETE of at most one row (index_sq_exec).  When it changed no row:
 * the error none with the message none_msg ("index: no such user"). */
dv_err index_sq_exec_one(index_db *db, sqlite3_stmt *st, const char *what, dv_err none,
                         const char *none_msg, dv_errinfo *ei);

/* Runs st, an INSERT of one row (index_sq_exec), and sets *id (when id is not NULL) to the new
 * row's id. */
dv_err index_sq_exec_insert(index_db *db, sqlite3_stmt *st, const char *what, int64_t *id,
                            dv_errinfo *ei);

#endif
