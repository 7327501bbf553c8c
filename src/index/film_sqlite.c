/* SPDX-License-Identifier: Apache-2.0 */
/* film_sqlite.c - schema version 3 of the SQLite index: printed films (issue 7), from print to
 * physical destruction.  A film is named by a random serial printed on it; the row holds the
 * study's blind index, who printed it and when, the audit entry of the print, and once it is
 * destroyed who reported that, when and why (operator text).  No patient data.
 */
#include <string.h>

#include "index/access_int.h"
#include "index/sqlite_int.h"
#include "index/sqlite_step.h"

#include "common/banned.h"

static const char MIGRATE_3[] = "CREATE TABLE film("
                                " serial TEXT PRIMARY KEY,"
                                " study_bi BLOB NOT NULL CHECK(length(study_bi) = 32),"
                                " printed_by TEXT NOT NULL,"
                                " printed INTEGER NOT NULL,"
                                " audit_seq INTEGER NOT NULL,"
                                " pages INTEGER NOT NULL,"
                                " destroyed_by TEXT NOT NULL DEFAULT '',"
                                " destroyed INTEGER NOT NULL DEFAULT 0,"
                                " reason TEXT NOT NULL DEFAULT '') WITHOUT ROWID;";

#define FILM_COLS                                                                              \
    "SELECT serial, study_bi, printed_by, printed, audit_seq, pages, destroyed_by, destroyed," \
    " reason FROM film"

dv_err index_sq_film_migrate(index_db *db, dv_errinfo *ei)
{
    int rc = sqlite3_exec(sq_of(db)->h, MIGRATE_3, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return index_sq_fail(db, rc, "migrate to schema version 3", ei);
    return DV_OK;
}

/* A serial: 4..INDEX_FILM_SERIAL_MAX of [A-Z0-9-]. */
static int serial_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n < 4 || n > INDEX_FILM_SERIAL_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

static dv_err film_read(sqlite3_stmt *st, void *row, dv_errinfo *ei)
{
    index_film *f = row;

    memset(f, 0, sizeof(*f));
    if (!index_acc_col_text(st, 0, f->serial, INDEX_FILM_SERIAL_MAX) ||
        !index_sq_col_bi(st, 1, f->study_bi) ||
        !index_acc_col_text(st, 2, f->printed_by, INDEX_USER_NAME_MAX) ||
        !index_acc_col_text(st, 6, f->destroyed_by, INDEX_USER_NAME_MAX) ||
        !index_acc_col_text(st, 8, f->reason, INDEX_REASON_MAX))
        return index_acc_stored(ei, "film");
    f->printed = sqlite3_column_int64(st, 3);
    f->audit_seq = (uint64_t)sqlite3_column_int64(st, 4);
    f->pages = (uint32_t)sqlite3_column_int64(st, 5);
    f->destroyed = sqlite3_column_int64(st, 7);
    return DV_OK;
}

dv_err index_film_insert(index_db *db, const index_film *f, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    if (!serial_ok(f->serial) || !index_acc_name_ok(f->printed_by) || f->pages == 0)
        return index_acc_bad(ei, "film serial, printer or page count missing or bad");
    e = index_sq_stmt(db, Q_FILM_INSERT,
                      "INSERT INTO film(serial, study_bi, printed_by, printed, audit_seq, pages)"
                      " VALUES(?,?,?,?,?,?)",
                      &st, ei);
    if (e)
        return e;
    rc = index_sq_text(st, 1, f->serial) | index_sq_bi(st, 2, f->study_bi) |
         index_sq_text(st, 3, f->printed_by) | index_sq_int(st, 4, f->printed) |
         index_sq_int(st, 5, (int64_t)f->audit_seq) | index_sq_int(st, 6, f->pages);
    e = index_acc_bind(db, st, rc, ei);
    return e ? e : index_sq_exec(db, st, "insert film", ei);
}

dv_err index_film_get(index_db *db, const char *serial, index_film *out, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;

    dv_errinfo_clear(ei);
    if (!serial_ok(serial))
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "index: no such film");
    e = index_sq_stmt(db, Q_FILM_GET, FILM_COLS " WHERE serial = ?", &st, ei);
    if (!e)
        e = index_acc_bind(db, st, index_sq_text(st, 1, serial), ei);
    return e ? e : index_sq_get_one(db, st, film_read, out, "index: no such film", "get film", ei);
}

dv_err index_film_destroy(index_db *db, const char *serial, const char *by, int64_t when,
                          const char *reason, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    if (!serial_ok(serial) || !index_acc_name_ok(by) ||
        !index_acc_text_ok(reason, 1, INDEX_REASON_MAX) || when <= 0)
        return index_acc_bad(ei, "film serial, user, time or reason missing or bad");
    e = index_sq_stmt(db, Q_FILM_DESTROY,
                      "UPDATE film SET destroyed_by = ?2, destroyed = ?3, reason = ?4"
                      " WHERE serial = ?1 AND destroyed = 0",
                      &st, ei);
    if (e)
        return e;
    rc = index_sq_text(st, 1, serial) | index_sq_text(st, 2, by) | index_sq_int(st, 3, when) |
         index_sq_text(st, 4, reason);
    e = index_acc_bind(db, st, rc, ei);
    return e ? e
             : index_sq_exec_one(db, st, "destroy film", DV_ENOTFOUND,
                                 "index: no such film, or it is already destroyed", ei);
}

dv_err index_film_list(index_db *db, int outstanding, index_film_fn fn, void *ctx, dv_errinfo *ei)
{
    index_film f;
    sqlite3_stmt *st = NULL;
    dv_err e;

    dv_errinfo_clear(ei);
    if (outstanding)
        e = index_sq_stmt(db, Q_FILM_LIST_OPEN,
                          FILM_COLS " WHERE destroyed = 0 ORDER BY printed, serial", &st, ei);
    else
        e = index_sq_stmt(db, Q_FILM_LIST_ALL, FILM_COLS " ORDER BY printed, serial", &st, ei);
    while (index_sq_next(db, st, film_read, &f, &e, "list films", ei))
        e = fn(ctx, &f);
    if (st)
        index_sq_reset(st);
    return e;
}
