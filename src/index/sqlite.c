/* SPDX-License-Identifier: Apache-2.0 */
/* sqlite.c - the SQLite backend of the index: open, schema, pragmas, transactions, helpers.
 *
 * The database is WAL with synchronous=FULL (a committed import is on disk: the vault deletes
 * replaced objects only after that), secure_delete=ON (deleted rows and freed pages are
 * zeroed), foreign_keys=ON (deleting a study cascades to its series and instances), defensive
 * mode and trusted_schema=OFF.  The file (and so its -wal/-shm, which SQLite creates with the
 * database file's mode) is created 0600.  PRAGMA application_id marks a dcmvault index; the
 * schema version lives in meta('index.schema_version').
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/dv.h"
#include "index/index.h"
#include "index/index_int.h"
#include "index/phash_int.h"
#include "index/sqlite_int.h"

#include "common/banned.h"

#define APP_ID 0x64764958 /* "dvIX" */

/* The schema of version 1; access_schema.c adds the tables of version 2 (INDEX_SCHEMA_VERSION).
 * docs/index-schema.md explains every column. */
static const char SCHEMA[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE patient("
    " id INTEGER PRIMARY KEY,"
    " pid_bi BLOB NOT NULL UNIQUE CHECK(length(pid_bi) = 32),"
    " seal BLOB NOT NULL);"
    "CREATE TABLE patient_name_bi("
    " patient_id INTEGER NOT NULL REFERENCES patient(id) ON DELETE CASCADE,"
    " bi BLOB NOT NULL CHECK(length(bi) = 32),"
    " PRIMARY KEY(patient_id, bi)) WITHOUT ROWID;"
    "CREATE INDEX patient_name_bi_bi ON patient_name_bi(bi, patient_id);"
    "CREATE TABLE study("
    " id INTEGER PRIMARY KEY,"
    " patient_id INTEGER NOT NULL REFERENCES patient(id) ON DELETE CASCADE,"
    " uid_bi BLOB NOT NULL UNIQUE CHECK(length(uid_bi) = 32),"
    " acc_bi BLOB CHECK(acc_bi IS NULL OR length(acc_bi) = 32),"
    " month_bi BLOB CHECK(month_bi IS NULL OR length(month_bi) = 32),"
    " seal BLOB NOT NULL,"
    " dek_wrapped BLOB NOT NULL,"
    " modalities TEXT NOT NULL DEFAULT '',"
    " retention TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL);"
    "CREATE INDEX study_patient ON study(patient_id);"
    "CREATE INDEX study_acc ON study(acc_bi);"
    "CREATE INDEX study_month ON study(month_bi);"
    "CREATE TABLE series("
    " id INTEGER PRIMARY KEY,"
    " study_id INTEGER NOT NULL REFERENCES study(id) ON DELETE CASCADE,"
    " uid_bi BLOB NOT NULL UNIQUE CHECK(length(uid_bi) = 32),"
    " modality TEXT NOT NULL DEFAULT '',"
    " seal BLOB NOT NULL);"
    "CREATE INDEX series_study ON series(study_id);"
    "CREATE INDEX series_modality ON series(modality, study_id);"
    "CREATE TABLE instance("
    " id INTEGER PRIMARY KEY,"
    " series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,"
    " uid_bi BLOB NOT NULL UNIQUE CHECK(length(uid_bi) = 32),"
    " sop_class TEXT NOT NULL DEFAULT '',"
    " ts_uid TEXT NOT NULL DEFAULT '',"
    " object_key TEXT NOT NULL UNIQUE CHECK(length(object_key) = 32),"
    " size INTEGER NOT NULL CHECK(size >= 0),"
    " frames INTEGER NOT NULL CHECK(frames >= 0),"
    " seal BLOB NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE INDEX instance_series ON instance(series_id);"
    "CREATE TABLE shred_certificate("
    " id INTEGER PRIMARY KEY,"
    " study_pseudonym BLOB NOT NULL,"
    " body TEXT NOT NULL,"
    " signature BLOB NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE INDEX shred_certificate_pseudonym ON shred_certificate(study_pseudonym);"
    "CREATE TABLE users("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL,"
    " pwhash TEXT NOT NULL,"
    " must_change INTEGER NOT NULL DEFAULT 0,"
    " disabled INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL);";

/* ---- helpers shared by sqlite*.c ------------------------------------------------------------- */

dv_err index_sq_fail(index_db *db, int rc, const char *what, dv_errinfo *ei)
{
    sqlite3 *h = sq_of(db)->h;
    int ext = sqlite3_extended_errcode(h);
    dv_err e = DV_EDB;

    if (rc == SQLITE_NOMEM || ext == SQLITE_NOMEM)
        e = DV_ENOMEM;
    else if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        e = DV_EEXIST;
    else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
        e = DV_ENOTFOUND;
    return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "index: %s: %s", what, sqlite3_errmsg(h));
}

dv_err index_sq_stmt(index_db *db, sq_q q, const char *sql, sqlite3_stmt **out, dv_errinfo *ei)
{
    sq *s = sq_of(db);
    int rc;

    if (s->st[q]) {
        *out = s->st[q];
        return DV_OK;
    }
    rc = sqlite3_prepare_v3(s->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st[q], NULL);
    if (rc != SQLITE_OK) {
        s->st[q] = NULL;
        return index_sq_fail(db, rc, "prepare", ei);
    }
    *out = s->st[q];
    return DV_OK;
}

void index_sq_reset(sqlite3_stmt *st)
{
    (void)sqlite3_reset(st);          /* repeats the last step's error, already handled */
    (void)sqlite3_clear_bindings(st); /* always SQLITE_OK */
}

dv_err index_sq_exec(index_db *db, sqlite3_stmt *st, const char *what, dv_errinfo *ei)
{
    int rc = sqlite3_step(st);
    dv_err e = DV_OK;

    if (rc != SQLITE_DONE)
        e = index_sq_fail(db, rc, what, ei);
    index_sq_reset(st);
    return e;
}

static const uint8_t EMPTY[1] = {0};

int index_sq_bi(sqlite3_stmt *st, int i, const uint8_t *bi)
{
    return sqlite3_bind_blob(st, i, bi, INDEX_BI_BYTES, SQLITE_STATIC);
}

int index_sq_bi_null(sqlite3_stmt *st, int i, const uint8_t *bi)
{
    if (!bi)
        return sqlite3_bind_null(st, i);
    return index_sq_bi(st, i, bi);
}

int index_sq_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t n)
{
    if (n > (size_t)INT32_MAX)
        return SQLITE_TOOBIG;
    return sqlite3_bind_blob(st, i, n ? p : EMPTY, (int)n, SQLITE_STATIC);
}

int index_sq_text(sqlite3_stmt *st, int i, const char *s)
{
    return sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_STATIC);
}

int index_sq_int(sqlite3_stmt *st, int i, int64_t v)
{
    return sqlite3_bind_int64(st, i, v);
}

int index_sq_col_bi(sqlite3_stmt *st, int col, uint8_t out[INDEX_BI_BYTES])
{
    const void *p = sqlite3_column_blob(st, col);

    if (!p || sqlite3_column_bytes(st, col) != INDEX_BI_BYTES)
        return 0;
    memcpy(out, p, INDEX_BI_BYTES);
    return 1;
}

int index_sq_col_text(sqlite3_stmt *st, int col, char *out, size_t max)
{
    const unsigned char *p = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);

    out[0] = '\0';
    if (!p)
        return n == 0;
    if (n < 0 || (size_t)n > max || memchr(p, '\0', (size_t)n))
        return 0;
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    return 1;
}

void index_sq_col_blob(sqlite3_stmt *st, int col, index_bytes *x)
{
    const void *p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);

    x->p = (n > 0) ? p : NULL;
    x->len = (n > 0 && p) ? (size_t)n : 0;
}

dv_err index_sq_atomic_begin(index_db *db, dv_errinfo *ei)
{
    return index_begin(db, ei);
}

dv_err index_sq_atomic_end(index_db *db, dv_err e, dv_errinfo *ei)
{
    dv_err r;

    if (e == DV_OK)
        return index_commit(db, ei);
    r = index_rollback(db, NULL); /* the first error is the one to report */
    (void)r;
    return e;
}

/* ---- transactions ---------------------------------------------------------------------------- */

static dv_err run(index_db *db, const char *sql, const char *what, dv_errinfo *ei)
{
    int rc = sqlite3_exec(sq_of(db)->h, sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return index_sq_fail(db, rc, what, ei);
    return DV_OK;
}

/* A failed COMMIT leaves the transaction open: roll it back so the level really closes. */
static dv_err commit_outer(index_db *db, dv_errinfo *ei)
{
    dv_err e = run(db, "COMMIT", "commit", ei);

    if (e != DV_OK && !sqlite3_get_autocommit(sq_of(db)->h))
        (void)run(db, "ROLLBACK", "rollback", NULL);
    return e;
}

static dv_err sq_tx(index_db *db, index_tx op, unsigned depth, dv_errinfo *ei)
{
    char sql[64];

    if (depth == 1) {
        switch (op) {
        case INDEX_TX_BEGIN:
            return run(db, "BEGIN IMMEDIATE", "begin", ei);
        case INDEX_TX_COMMIT:
            return commit_outer(db, ei);
        case INDEX_TX_ROLLBACK:
            if (sqlite3_get_autocommit(sq_of(db)->h))
                return DV_OK; /* SQLite already rolled back after an error */
            return run(db, "ROLLBACK", "rollback", ei);
        }
        return DV_EINVAL;
    }
    switch (op) {
    case INDEX_TX_BEGIN:
        (void)snprintf(sql, sizeof(sql), "SAVEPOINT s%u", depth);
        return run(db, sql, "savepoint", ei);
    case INDEX_TX_COMMIT:
        (void)snprintf(sql, sizeof(sql), "RELEASE s%u", depth);
        return run(db, sql, "release savepoint", ei);
    case INDEX_TX_ROLLBACK:
        (void)snprintf(sql, sizeof(sql), "ROLLBACK TO s%u; RELEASE s%u", depth, depth);
        return run(db, sql, "rollback to savepoint", ei);
    }
    return DV_EINVAL;
}

static dv_err sq_checkpoint(index_db *db, int *complete, dv_errinfo *ei)
{
    int rc = sqlite3_wal_checkpoint_v2(sq_of(db)->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);

    if (complete)
        *complete = (rc == SQLITE_OK);
    if (rc == SQLITE_OK || rc == SQLITE_BUSY)
        return DV_OK;
    return index_sq_fail(db, rc, "checkpoint", ei);
}

/* ---- open / close ---------------------------------------------------------------------------- */

static void sq_close(index_db *db)
{
    sq *s = sq_of(db);
    size_t i;

    if (s) {
        for (i = 0; i < Q_SLOTS; i++)
            (void)sqlite3_finalize(s->st[i]); /* repeats past errors only */
        /* close_v2 rolls back an open transaction; with every statement finalized it
         * cannot be left busy */
        (void)sqlite3_close_v2(s->h);
        free(s);
    }
    index_db_free(db);
}

/* Reads a one-column integer result of sql into *v. */
static dv_err query_int(index_db *db, const char *sql, int64_t *v, dv_errinfo *ei)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(sq_of(db)->h, sql, -1, &st, NULL);
    dv_err e = DV_OK;

    if (rc != SQLITE_OK)
        return index_sq_fail(db, rc, "prepare", ei);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        *v = 0;
    else
        e = index_sq_fail(db, rc, "pragma", ei);
    (void)sqlite3_finalize(st); /* repeats the step's error */
    return e;
}

static dv_err set_pragmas(index_db *db, dv_errinfo *ei)
{
    sqlite3 *h = sq_of(db)->h;
    int64_t fk = 0, sd = 0;
    int on = 0;
    dv_err e;

    if (sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) != SQLITE_OK ||
        sqlite3_db_config(h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on) != SQLITE_OK)
        return index_sq_fail(db, SQLITE_ERROR, "configure", ei);
    if (sqlite3_busy_timeout(h, INDEX_BUSY_MS) != SQLITE_OK)
        return index_sq_fail(db, SQLITE_ERROR, "busy timeout", ei);
    e = run(db,
            "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; PRAGMA synchronous = FULL;"
            "PRAGMA cell_size_check = ON;",
            "pragma", ei);
    if (e == DV_OK)
        e = query_int(db, "PRAGMA foreign_keys", &fk, ei);
    if (e == DV_OK)
        e = query_int(db, "PRAGMA secure_delete", &sd, ei);
    if (e == DV_OK && (fk != 1 || sd != 1))
        e = dv_fail(ei, DV_EDB, DV_NO_OFFSET, DV_NO_TAG,
                    "index: SQLite refused foreign_keys or secure_delete");
    return e;
}

static dv_err set_wal(index_db *db, dv_errinfo *ei)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(sq_of(db)->h, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    dv_err e = DV_OK;
    const unsigned char *mode;

    if (rc != SQLITE_OK)
        return index_sq_fail(db, rc, "prepare", ei);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        e = index_sq_fail(db, rc, "journal mode", ei);
    } else {
        mode = sqlite3_column_text(st, 0);
        if (!mode || strcmp((const char *)mode, "wal") != 0)
            e = dv_fail(ei, DV_EDB, DV_NO_OFFSET, DV_NO_TAG, "index: cannot switch to WAL");
    }
    (void)sqlite3_finalize(st); /* repeats the step's error */
    return e;
}

static dv_err create_schema(index_db *db, dv_errinfo *ei)
{
    char sql[160];
    dv_err e = run(db, SCHEMA, "create schema", ei);

    if (e == DV_OK)
        e = index_sq_access_migrate(db, ei); /* version 1 -> 2 */
    if (e == DV_OK)
        e = index_sq_film_migrate(db, ei); /* version 2 -> 3 */
    if (e == DV_OK)
        e = index_sq_phash_migrate(db, ei); /* version 3 -> 4 */
    if (e != DV_OK)
        return e;
    (void)snprintf(sql, sizeof(sql),
                   "PRAGMA application_id = %d;"
                   "INSERT INTO meta(key, value) VALUES('index.schema_version', %d);",
                   APP_ID, INDEX_SCHEMA_VERSION);
    return run(db, sql, "create schema", ei);
}

_Static_assert(INDEX_SCHEMA_VERSION == 4, "check_schema migrates to version 4");

/* Inside BEGIN IMMEDIATE: create the schema in an empty file, or check the one there. */
static dv_err check_schema(index_db *db, unsigned flags, dv_errinfo *ei)
{
    int64_t app = 0, tables = 0, ver = 0;
    dv_err e = query_int(db, "PRAGMA application_id", &app, ei);

    if (e == DV_OK)
        e = query_int(db, "SELECT count(*) FROM sqlite_schema", &tables, ei);
    if (e != DV_OK)
        return e;
    if (app == 0 && tables == 0) {
        if (!(flags & INDEX_OPEN_CREATE))
            return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG,
                           "index: the database is empty (no index created yet)");
        return create_schema(db, ei);
    }
    if (app != APP_ID)
        return dv_fail(ei, DV_EDB, DV_NO_OFFSET, DV_NO_TAG,
                       "index: the file is not a dcmvault index");
    e = query_int(db, "SELECT value FROM meta WHERE key = 'index.schema_version'", &ver, ei);
    if (e != DV_OK)
        return e;
    if (ver > INDEX_SCHEMA_VERSION)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "index: schema version %lld is newer than this build's %d", (long long)ver,
                       INDEX_SCHEMA_VERSION);
    if (ver < 1)
        return dv_fail(ei, DV_EDB, DV_NO_OFFSET, DV_NO_TAG, "index: schema version missing");
    if (ver == 1) /* migrate: add the access tables (still inside BEGIN IMMEDIATE) */
        e = index_sq_access_migrate(db, ei);
    if (e == DV_OK && ver <= 2) /* and the film table */
        e = index_sq_film_migrate(db, ei);
    if (e == DV_OK && ver <= 3) /* and the image hash table */
        e = index_sq_phash_migrate(db, ei);
    if (e == DV_OK && ver < INDEX_SCHEMA_VERSION)
        e = run(db, "UPDATE meta SET value = 4 WHERE key = 'index.schema_version'",
                "migrate schema", ei);
    return e;
}

/* Creates the file 0600 when it is absent and allowed; refuses what is not a regular file. */
static dv_err prepare_file(const char *path, unsigned flags, dv_errinfo *ei)
{
    struct stat sb;
    int fd;

    if (lstat(path, &sb) == 0) {
        if (!S_ISREG(sb.st_mode))
            return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                           "index: the database path is not a regular file");
        return DV_OK;
    }
    if (errno != ENOENT)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "index: cannot stat the database: %s",
                       strerror(errno));
    if (!(flags & INDEX_OPEN_CREATE))
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "index: no database file");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "index: cannot create the database: %s",
                       strerror(errno));
    if (fd >= 0 && close(fd) != 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "index: cannot create the database: %s",
                       strerror(errno));
    return DV_OK;
}

static const index_ops SQ_OPS = {
    .close = sq_close,
    .tx = sq_tx,
    .checkpoint = sq_checkpoint,
    .patient_upsert = index_sq_patient_upsert,
    .patient_update = index_sq_patient_update,
    .patient_get = index_sq_patient_get,
    .study_upsert = index_sq_study_upsert,
    .study_update = index_sq_study_update,
    .study_get = index_sq_study_get,
    .study_delete = index_sq_study_delete,
    .study_rewrap = index_sq_study_rewrap,
    .series_upsert = index_sq_series_upsert,
    .series_update = index_sq_series_update,
    .series_get = index_sq_series_get,
    .instance_insert = index_sq_instance_insert,
    .instance_replace = index_sq_instance_replace,
    .instance_get = index_sq_instance_get,
    .instance_delete = index_sq_instance_delete,
    .instance_list = index_sq_instance_list,
    .find = index_sq_find,
    .object_keys = index_sq_object_keys,
    .object_key_exists = index_sq_object_key_exists,
    .count = index_sq_count,
    .cert_insert = index_sq_cert_insert,
    .cert_list = index_sq_cert_list,
    .user_insert = index_sq_user_insert,
    .user_get = index_sq_user_get,
    .user_set_password = index_sq_user_set_password,
    .user_set_disabled = index_sq_user_set_disabled,
    .meta_set = index_sq_meta_set,
    .meta_get = index_sq_meta_get,
};

/* Opens the handle of a new db (db->impl already allocated). */
static dv_err open_handle(index_db *db, const char *path, dv_errinfo *ei)
{
    sq *s = sq_of(db);
    int rc = sqlite3_open_v2(
        path, &s->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE, NULL);

    if (rc != SQLITE_OK) {
        if (!s->h)
            return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "index: open: out of memory");
        return index_sq_fail(db, rc, "open", ei);
    }
    return DV_OK;
}

dv_err index_open_sqlite(const char *path, unsigned flags, index_db **out, dv_errinfo *ei)
{
    index_db *db;
    sq *s = NULL;
    dv_err e;

    dv_errinfo_clear(ei);
    *out = NULL;
    e = prepare_file(path, flags, ei);
    if (e != DV_OK)
        return e;
    if (!dv_fault_hit())
        s = calloc(1, sizeof(*s));
    db = s ? index_db_new(&SQ_OPS, s) : NULL;
    if (!db) {
        free(s);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "index: open: out of memory");
    }
    e = open_handle(db, path, ei);
    if (e == DV_OK)
        e = set_pragmas(db, ei);
    if (e == DV_OK)
        e = set_wal(db, ei);
    if (e == DV_OK)
        e = index_begin(db, ei);
    if (e == DV_OK)
        e = index_sq_atomic_end(db, check_schema(db, flags, ei), ei);
    if (e != DV_OK) {
        sq_close(db);
        return e;
    }
    *out = db;
    return DV_OK;
}
