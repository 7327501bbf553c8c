/* SPDX-License-Identifier: Apache-2.0 */
/* sqlite_step.c - one row read back, each row of a list, one row changed, one row added (see
 * sqlite_step.h).
 *
 * Invariant: every statement handed in is reset (bindings cleared) before the function
 * returns, so none holds a read transaction open between calls (index_sq_next: by its caller).
 */
#include "common/dv.h"
#include "index/access_int.h"
#include "index/sqlite_int.h"
#include "index/sqlite_step.h"

#include "common/banned.h"

dv_err index_sq_get_one(index_db *db, sqlite3_stmt *st, index_sq_read_fn read, void *row,
                        const char *missing, const char *what, dv_errinfo *ei)
{
    dv_err e;
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        e = read(st, row, ei);
    else if (rc == SQLITE_DONE)
        e = dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "%s", missing);
    else
        e = index_sq_fail(db, rc, what, ei);
    index_sq_reset(st);
    return e;
}

dv_err index_sq_get_id(index_db *db, sq_q q, const char *sql, int64_t id, index_sq_read_fn read,
                       void *row, const char *missing, const char *what, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, q, sql, &st, ei);

    if (!e)
        e = index_acc_bind(db, st, index_sq_int(st, 1, id), ei);
    return e ? e : index_sq_get_one(db, st, read, row, missing, what, ei);
}

int index_sq_next(index_db *db, sqlite3_stmt *st, index_sq_read_fn read, void *row, dv_err *e,
                  const char *what, dv_errinfo *ei)
{
    int rc;

    if (*e != DV_OK)
        return 0;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *e = read(st, row, ei);
    else if (rc != SQLITE_DONE)
        *e = index_sq_fail(db, rc, what, ei);
    return rc == SQLITE_ROW && *e == DV_OK;
}

dv_err index_sq_exec_one(index_db *db, sqlite3_stmt *st, const char *what, dv_err none,
                         const char *none_msg, dv_errinfo *ei)
{
    dv_err e = index_sq_exec(db, st, what, ei);

    if (!e && sqlite3_changes(sq_of(db)->h) != 1)
        e = dv_fail(ei, none, DV_NO_OFFSET, DV_NO_TAG, "%s", none_msg);
    return e;
}

dv_err index_sq_exec_insert(index_db *db, sqlite3_stmt *st, const char *what, int64_t *id,
                            dv_errinfo *ei)
{
    dv_err e = index_sq_exec(db, st, what, ei);

    if (!e && id)
        *id = sqlite3_last_insert_rowid(sq_of(db)->h);
    return e;
}
