/* SPDX-License-Identifier: Apache-2.0 */
/* test_index.c - the patient/study/series/instance index (SQLite backend): schema, every API
 * path, uniqueness, nested transactions, find filters and plans, cascades, key rotation,
 * certificates, users, meta, file modes, secure deletion, error messages and out-of-memory.
 *
 * Blind indexes here are 32-byte labels ("pid-1" zero-padded): the index treats them as
 * opaque, so no crypto is needed.  Each test gets its own temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/buf.h"
#include "common/dv.h"
#include "index/index.h"
#include "index/index_int.h"

#include "common/banned.h"

typedef struct fx {
    char dir[128];
    char path[192];
    index_db *db;
} fx;

typedef struct bi {
    uint8_t b[INDEX_BI_BYTES];
} bi;

/* A fake blind index: the label and number, zero-padded to 32 bytes. */
static bi mk(const char *label, int n)
{
    bi x;

    memset(&x, 0, sizeof(x));
    (void)snprintf((char *)x.b, sizeof(x.b), "%s-%d", label, n);
    return x;
}

static void mkkey(char out[INDEX_KEY_LEN + 1], int n)
{
    (void)snprintf(out, INDEX_KEY_LEN + 1, "%032x", (unsigned)n);
}

/* a stand-in for a wrapped data key (73 bytes like CRYPTO_WRAPPED_BYTES) */
static const uint8_t DEK[73] = {1, 2, 3};

/* collects the ids of the rows find or list gives, at the row's level */
typedef struct got {
    int64_t ids[512];
    size_t n;
} got;

static int64_t row_id(const index_row *r)
{
    switch (r->level) {
    case INDEX_LEVEL_PATIENT:
        return r->patient_id;
    case INDEX_LEVEL_STUDY:
        return r->study_id;
    case INDEX_LEVEL_SERIES:
        return r->series_id;
    case INDEX_LEVEL_INSTANCE:
        return r->instance_id;
    }
    return -1;
}

static dv_err collect(void *ctx, const index_row *r)
{
    got *g = ctx;

    if (g->n >= 512)
        return DV_ELIMIT;
    g->ids[g->n++] = row_id(r);
    return DV_OK;
}

/* runs q and returns how many rows it gave (ids in g) */
static size_t find(index_db *db, const index_query *q, got *g)
{
    uint64_t n = 0;
    dv_errinfo ei;

    memset(g, 0, sizeof(*g));
    assert_int_equal(index_find(db, q, collect, g, &n, &ei), DV_OK);
    assert_int_equal(n, g->n);
    return g->n;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    dv_errinfo ei;

    assert_non_null(f);
    (void)snprintf(f->dir, sizeof(f->dir), "%s/dvidx.XXXXXX",
                   getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    (void)snprintf(f->path, sizeof(f->path), "%s/index.db", f->dir);
    assert_int_equal(index_open_sqlite(f->path, INDEX_OPEN_CREATE, &f->db, &ei), DV_OK);
    *state = f;
    return 0;
}

static void rm(const char *dir, const char *name)
{
    char p[256];

    (void)snprintf(p, sizeof(p), "%s/%s", dir, name);
    (void)unlink(p);
}

static int teardown(void **state)
{
    fx *f = *state;

    index_close(f->db);
    rm(f->dir, "index.db");
    rm(f->dir, "index.db-wal");
    rm(f->dir, "index.db-shm");
    rm(f->dir, "index.db-journal");
    rm(f->dir, "other.db");
    rm(f->dir, "junk.db");
    (void)rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- builders ----------------------------------------------------------------------------- */

static int64_t patient(index_db *db, int n, const bi *names, size_t n_names)
{
    bi pid = mk("pid", n);
    char seal[32];
    index_patient_in in = {0};
    int64_t id = 0;
    int created = -1;
    uint8_t nb[INDEX_NAME_BI_MAX * INDEX_BI_BYTES];
    size_t i;

    for (i = 0; i < n_names; i++)
        memcpy(nb + i * INDEX_BI_BYTES, names[i].b, INDEX_BI_BYTES);
    (void)snprintf(seal, sizeof(seal), "pseal-%d", n);
    in.pid_bi = pid.b;
    in.seal = (const uint8_t *)seal;
    in.seal_len = strlen(seal);
    in.name_bis = n_names ? nb : NULL;
    in.n_names = n_names;
    assert_int_equal(index_patient_upsert(db, &in, &id, &created, NULL, NULL), DV_OK);
    assert_true(id > 0);
    return id;
}

static int64_t study(index_db *db, int64_t pat, int n, int acc, int month)
{
    bi uid = mk("study", n), a = mk("acc", acc), m = mk("month", month);
    char seal[32];
    index_study_in in = {0};
    int64_t id = 0;

    (void)snprintf(seal, sizeof(seal), "sseal-%d", n);
    in.patient_id = pat;
    in.uid_bi = uid.b;
    in.acc_bi = acc ? a.b : NULL;
    in.month_bi = month ? m.b : NULL;
    in.seal = (const uint8_t *)seal;
    in.seal_len = strlen(seal);
    in.dek_wrapped = DEK;
    in.dek_len = sizeof(DEK);
    in.retention = "standard";
    in.created = 1700000000 + n;
    assert_int_equal(index_study_upsert(db, &in, &id, NULL, NULL, NULL), DV_OK);
    return id;
}

static int64_t series(index_db *db, int64_t st, int n, const char *modality)
{
    bi uid = mk("series", n);
    index_series_in in = {0};
    int64_t id = 0;

    in.study_id = st;
    in.uid_bi = uid.b;
    in.modality = modality;
    in.seal = (const uint8_t *)"se";
    in.seal_len = 2;
    assert_int_equal(index_series_upsert(db, &in, &id, NULL, NULL, NULL), DV_OK);
    return id;
}

static void inst_in(index_instance_in *in, bi *uid, char key[INDEX_KEY_LEN + 1], int64_t se, int n)
{
    *uid = mk("sop", n);
    mkkey(key, n);
    memset(in, 0, sizeof(*in));
    in->series_id = se;
    in->uid_bi = uid->b;
    in->sop_class = n % 2 ? "1.2.840.10008.5.1.4.1.1.2" : "1.2.840.10008.5.1.4.1.1.1";
    in->ts_uid = "1.2.840.10008.1.2.1";
    in->object_key = key;
    in->size = 1000u + (unsigned)n;
    in->frames = 1;
    in->seal = (const uint8_t *)"is";
    in->seal_len = 2;
    in->created = 1700000000;
}

static int64_t instance(index_db *db, int64_t se, int n)
{
    index_instance_in in;
    bi uid;
    char key[INDEX_KEY_LEN + 1];
    int64_t id = 0;

    inst_in(&in, &uid, key, se, n);
    assert_int_equal(index_instance_insert(db, &in, &id, NULL), DV_OK);
    return id;
}

static index_counts counts(index_db *db)
{
    index_counts c;

    assert_int_equal(index_count(db, &c, NULL), DV_OK);
    return c;
}

/* ---- open, schema, modes ----------------------------------------------------------------- */

static void open_create_reopen(void **state)
{
    fx *f = *state;
    char other[256];
    index_db *db2 = NULL;
    dv_errinfo ei;
    dv_buf v;
    FILE *fp;

    (void)patient(f->db, 1, NULL, 0);
    index_close(f->db);
    f->db = NULL;
    assert_int_equal(index_open_sqlite(f->path, 0, &f->db, &ei), DV_OK);
    assert_int_equal(counts(f->db).patients, 1);
    dv_buf_init(&v, 64);
    assert_int_equal(index_meta_get(f->db, "index.schema_version", &v, &ei), DV_OK);
    assert_int_equal(v.len, 1);
    assert_int_equal(v.p[0], '0' + INDEX_SCHEMA_VERSION);
    dv_buf_release(&v);

    (void)snprintf(other, sizeof(other), "%s/other.db", f->dir);
    assert_int_equal(index_open_sqlite(other, 0, &db2, &ei), DV_ENOTFOUND);
    assert_null(db2);
    /* a file that is not a database, and a database of another application */
    (void)snprintf(other, sizeof(other), "%s/junk.db", f->dir);
    fp = fopen(other, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite("this is not a database at all, just text........", 1, 48, fp), 48);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(index_open_sqlite(other, INDEX_OPEN_CREATE, &db2, &ei), DV_EDB);
    (void)snprintf(other, sizeof(other), "%s/other.db", f->dir);
    {
        sqlite3 *h;
        assert_int_equal(sqlite3_open(other, &h), SQLITE_OK);
        assert_int_equal(sqlite3_exec(h, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(h), SQLITE_OK);
    }
    assert_int_equal(index_open_sqlite(other, INDEX_OPEN_CREATE, &db2, &ei), DV_EDB);
    assert_non_null(strstr(ei.msg, "not a dcmvault index"));
    /* a directory */
    assert_int_equal(index_open_sqlite(f->dir, INDEX_OPEN_CREATE, &db2, &ei), DV_EINVAL);
    assert_null(db2);
}

static dv_err count_film(void *ctx, const index_film *fl)
{
    int *n = ctx;

    assert_true(fl->serial[0] != '\0');
    (*n)++;
    return DV_OK;
}

static void films_print_to_destruction(void **state)
{
    fx *f = *state;
    index_film fl, rd;
    dv_errinfo ei;
    sqlite3 *h;
    dv_buf v;
    int n = 0;

    memset(&fl, 0, sizeof(fl));
    memcpy(fl.serial, "F-7K3M-Q9XT", 12);
    memset(fl.study_bi, 0x5a, sizeof(fl.study_bi));
    memcpy(fl.printed_by, "rad", 4);
    fl.printed = 1700000000;
    fl.audit_seq = 42;
    fl.pages = 2;
    assert_int_equal(index_film_insert(f->db, &fl, &ei), DV_OK);
    assert_int_equal(index_film_insert(f->db, &fl, &ei), DV_EEXIST); /* the serial is the key */
    assert_int_equal(index_film_get(f->db, "F-7K3M-Q9XT", &rd, &ei), DV_OK);
    assert_int_equal(rd.audit_seq, 42);
    assert_int_equal(rd.pages, 2);
    assert_int_equal(rd.destroyed, 0);
    assert_memory_equal(rd.study_bi, fl.study_bi, sizeof(fl.study_bi));
    assert_int_equal(index_film_get(f->db, "F-NONE-0000", &rd, &ei), DV_ENOTFOUND);
    assert_int_equal(index_film_get(f->db, "bad serial; --", &rd, &ei), DV_ENOTFOUND);
    memcpy(fl.serial, "F-AAAA-BBBB", 12);
    assert_int_equal(index_film_insert(f->db, &fl, &ei), DV_OK);
    memcpy(fl.serial, "f-lower", 8);
    assert_int_equal(index_film_insert(f->db, &fl, &ei), DV_EINVAL);
    assert_int_equal(index_film_list(f->db, 1, count_film, &n, &ei), DV_OK);
    assert_int_equal(n, 2);
    assert_int_equal(
        index_film_destroy(f->db, "F-7K3M-Q9XT", "po", 1700000100, "shredded bin 4", &ei), DV_OK);
    assert_int_equal(index_film_destroy(f->db, "F-7K3M-Q9XT", "po", 1700000200, "again", &ei),
                     DV_ENOTFOUND);
    assert_int_equal(index_film_destroy(f->db, "F-AAAA-BBBB", "po", 1700000100, "", &ei),
                     DV_EINVAL);
    assert_int_equal(index_film_get(f->db, "F-7K3M-Q9XT", &rd, &ei), DV_OK);
    assert_int_equal(rd.destroyed, 1700000100);
    assert_string_equal(rd.destroyed_by, "po");
    assert_string_equal(rd.reason, "shredded bin 4");
    n = 0;
    assert_int_equal(index_film_list(f->db, 1, count_film, &n, &ei), DV_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(index_film_list(f->db, 0, count_film, &n, &ei), DV_OK);
    assert_int_equal(n, 2);

    /* a version-2 file (no film table) is migrated when it is opened */
    index_close(f->db);
    f->db = NULL;
    assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h,
                                  "DROP TABLE film; DROP TABLE image_hash;"
                                  " UPDATE meta SET value = 2 WHERE key ="
                                  " 'index.schema_version'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
    assert_int_equal(index_open_sqlite(f->path, 0, &f->db, &ei), DV_OK);
    dv_buf_init(&v, 64);
    assert_int_equal(index_meta_get(f->db, "index.schema_version", &v, &ei), DV_OK);
    assert_int_equal(v.p[0], '0' + INDEX_SCHEMA_VERSION); /* migrated all the way */
    dv_buf_release(&v);
    n = 0;
    assert_int_equal(index_film_list(f->db, 0, count_film, &n, &ei), DV_OK);
    assert_int_equal(n, 0);
    memcpy(fl.serial, "F-CCCC-DDDD", 12);
    assert_int_equal(index_film_insert(f->db, &fl, &ei), DV_OK);
}

static void newer_schema_refused(void **state)
{
    fx *f = *state;
    sqlite3 *h;
    dv_errinfo ei;

    index_close(f->db);
    f->db = NULL;
    assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h,
                                  "UPDATE meta SET value = 99 WHERE key ="
                                  " 'index.schema_version'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
    assert_int_equal(index_open_sqlite(f->path, 0, &f->db, &ei), DV_EUNSUPPORTED);
    assert_null(f->db);
}

static void mode_of(const char *path, const char *suffix, mode_t *mode)
{
    char p[256];
    struct stat sb;

    (void)snprintf(p, sizeof(p), "%s%s", path, suffix);
    assert_int_equal(stat(p, &sb), 0);
    *mode = sb.st_mode & 0777;
}

static void file_modes_0600(void **state)
{
    fx *f = *state;
    mode_t old = umask(0), m;
    sqlite3 *h;
    sqlite3_stmt *st;

    /* reopen under a permissive umask: the files must still be 0600 */
    index_close(f->db);
    rm(f->dir, "index.db");
    rm(f->dir, "index.db-wal");
    rm(f->dir, "index.db-shm");
    assert_int_equal(index_open_sqlite(f->path, INDEX_OPEN_CREATE, &f->db, NULL), DV_OK);
    (void)umask(old);
    (void)patient(f->db, 1, NULL, 0);
    mode_of(f->path, "", &m);
    assert_int_equal(m, 0600);
    mode_of(f->path, "-wal", &m);
    assert_int_equal(m, 0600);
    mode_of(f->path, "-shm", &m);
    assert_int_equal(m, 0600);
    /* the pragmas took: WAL mode is persistent in the file */
    assert_int_equal(sqlite3_open_v2(f->path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
}

/* ---- patients, studies, series ------------------------------------------------------------ */

static void patient_paths(void **state)
{
    fx *f = *state;
    bi names[2] = {mk("family", 1), mk("given", 1)}, pid = mk("pid", 7), n2 = mk("family", 2);
    index_patient_in in = {0};
    index_row row;
    index_query q = {0};
    dv_buf old;
    int64_t id, id2 = 0;
    int created = -1;
    got g;
    dv_errinfo ei;

    id = patient(f->db, 7, names, 2);
    in.pid_bi = pid.b;
    in.seal = (const uint8_t *)"other";
    in.seal_len = 5;
    dv_buf_init(&old, 1024);
    assert_int_equal(index_patient_upsert(f->db, &in, &id2, &created, &old, &ei), DV_OK);
    assert_int_equal(id2, id);
    assert_int_equal(created, 0);
    assert_int_equal(old.len, 7);
    assert_memory_equal(old.p, "pseal-7", 7);
    dv_buf_release(&old);

    assert_int_equal(index_patient_get(f->db, pid.b, &row, &ei), DV_OK);
    assert_int_equal(row.level, INDEX_LEVEL_PATIENT);
    assert_int_equal(row.patient_id, id);
    assert_memory_equal(row.patient_bi, pid.b, INDEX_BI_BYTES);
    assert_int_equal(row.patient_seal.len, 7);
    assert_memory_equal(row.patient_seal.p, "pseal-7", 7);
    assert_int_equal(row.study_id, 0);

    /* update: new seal, the names become {family-2} */
    in.name_bis = n2.b;
    in.n_names = 1;
    assert_int_equal(index_patient_update(f->db, id, &in, &ei), DV_OK);
    assert_int_equal(index_patient_get(f->db, pid.b, &row, &ei), DV_OK);
    assert_memory_equal(row.patient_seal.p, "other", 5);
    q.level = INDEX_LEVEL_PATIENT;
    q.name_bis = names[0].b;
    q.n_names = 1;
    assert_int_equal(find(f->db, &q, &g), 0);
    q.name_bis = n2.b;
    assert_int_equal(find(f->db, &q, &g), 1);
    assert_int_equal(g.ids[0], id);
    assert_int_equal(index_patient_update(f->db, 999, &in, &ei), DV_ENOTFOUND);
    pid = mk("pid", 8);
    assert_int_equal(index_patient_get(f->db, pid.b, &row, &ei), DV_ENOTFOUND);
    /* bad arguments */
    in.pid_bi = NULL;
    assert_int_equal(index_patient_upsert(f->db, &in, &id2, NULL, NULL, &ei), DV_EINVAL);
    in.pid_bi = pid.b;
    in.n_names = INDEX_NAME_BI_MAX + 1;
    assert_int_equal(index_patient_upsert(f->db, &in, &id2, NULL, NULL, &ei), DV_EINVAL);
    in.n_names = 0;
    in.seal_len = INDEX_SEAL_MAX + 1;
    assert_int_equal(index_patient_upsert(f->db, &in, &id2, NULL, NULL, &ei), DV_EINVAL);
    assert_int_equal(counts(f->db).patients, 1);
}

static void study_paths(void **state)
{
    fx *f = *state;
    int64_t p1 = patient(f->db, 1, NULL, 0), p2 = patient(f->db, 2, NULL, 0);
    int64_t s1 = study(f->db, p1, 1, 1, 202401), id = 0;
    bi uid = mk("study", 1), acc = mk("acc", 9), none = mk("study", 99);
    index_study_in in = {0};
    index_row row;
    dv_buf old;
    int created = -1;
    dv_errinfo ei;

    assert_true(s1 > 0);
    in.patient_id = p1;
    in.uid_bi = uid.b;
    in.seal = (const uint8_t *)"x";
    in.seal_len = 1;
    in.dek_wrapped = DEK;
    in.dek_len = sizeof(DEK);
    dv_buf_init(&old, 1024);
    assert_int_equal(index_study_upsert(f->db, &in, &id, &created, &old, &ei), DV_OK);
    assert_int_equal(id, s1);
    assert_int_equal(created, 0);
    assert_memory_equal(old.p, "sseal-1", 7);
    dv_buf_release(&old);
    in.patient_id = p2; /* the same StudyInstanceUID under another patient */
    assert_int_equal(index_study_upsert(f->db, &in, &id, &created, NULL, &ei), DV_EEXIST);
    in.patient_id = 12345; /* no such patient */
    in.uid_bi = none.b;
    assert_int_equal(index_study_upsert(f->db, &in, &id, &created, NULL, &ei), DV_ENOTFOUND);
    in.patient_id = p1;
    in.dek_len = 0;
    assert_int_equal(index_study_upsert(f->db, &in, &id, &created, NULL, &ei), DV_EINVAL);
    in.dek_len = INDEX_DEK_MAX + 1;
    assert_int_equal(index_study_upsert(f->db, &in, &id, &created, NULL, &ei), DV_EINVAL);
    in.dek_len = sizeof(DEK);
    in.retention = "bad\\class";
    assert_int_equal(index_study_upsert(f->db, &in, &id, &created, NULL, &ei), DV_EINVAL);

    assert_int_equal(index_study_get(f->db, uid.b, &row, &ei), DV_OK);
    assert_int_equal(row.level, INDEX_LEVEL_STUDY);
    assert_int_equal(row.patient_id, p1);
    assert_memory_equal(row.patient_seal.p, "pseal-1", 7);
    assert_int_equal(row.study_id, s1);
    assert_memory_equal(row.study_bi, uid.b, INDEX_BI_BYTES);
    assert_memory_equal(row.study_seal.p, "sseal-1", 7);
    assert_int_equal(row.dek_len, sizeof(DEK));
    assert_memory_equal(row.dek_wrapped, DEK, sizeof(DEK));
    assert_string_equal(row.retention, "standard");
    assert_string_equal(row.modalities, "");
    assert_int_equal(row.study_created, 1700000001);
    assert_int_equal(index_study_get(f->db, none.b, &row, &ei), DV_ENOTFOUND);

    /* update: seal, accession, month, retention; not the key */
    in.seal = (const uint8_t *)"new seal";
    in.seal_len = 8;
    in.acc_bi = acc.b;
    in.month_bi = NULL;
    in.retention = "legal-hold";
    in.dek_wrapped = NULL;
    in.dek_len = 0;
    assert_int_equal(index_study_update(f->db, s1, &in, &ei), DV_OK);
    assert_int_equal(index_study_get_by_id(f->db, s1, &row, &ei), DV_OK);
    assert_memory_equal(row.study_seal.p, "new seal", 8);
    assert_string_equal(row.retention, "legal-hold");
    assert_memory_equal(row.dek_wrapped, DEK, sizeof(DEK));
    assert_int_equal(index_study_update(f->db, 777, &in, &ei), DV_ENOTFOUND);
    assert_int_equal(index_study_get_by_id(f->db, 777, &row, &ei), DV_ENOTFOUND);
}

static void series_and_modalities(void **state)
{
    fx *f = *state;
    int64_t p = patient(f->db, 1, NULL, 0), s1 = study(f->db, p, 1, 0, 0);
    int64_t s2 = study(f->db, p, 2, 0, 0), se, id = 0;
    bi uid = mk("series", 1);
    index_series_in in = {0};
    index_row row;
    int created = -1;
    dv_errinfo ei;

    se = series(f->db, s1, 1, "CR");
    (void)series(f->db, s1, 2, "CT");
    (void)series(f->db, s1, 3, "CR"); /* not listed twice */
    (void)series(f->db, s1, 4, "");   /* no modality */
    assert_int_equal(index_study_get_by_id(f->db, s1, &row, &ei), DV_OK);
    assert_string_equal(row.modalities, "CR\\CT");

    in.study_id = s1;
    in.uid_bi = uid.b;
    in.modality = "MR"; /* an existing series: nothing changes */
    assert_int_equal(index_series_upsert(f->db, &in, &id, &created, NULL, &ei), DV_OK);
    assert_int_equal(id, se);
    assert_int_equal(created, 0);
    in.study_id = s2;
    assert_int_equal(index_series_upsert(f->db, &in, &id, &created, NULL, &ei), DV_EEXIST);
    in.modality = "ct"; /* not a CS value */
    assert_int_equal(index_series_upsert(f->db, &in, &id, &created, NULL, &ei), DV_EINVAL);
    in.modality = "ABCDEFGHIJKLMNOPQ";
    assert_int_equal(index_series_upsert(f->db, &in, &id, &created, NULL, &ei), DV_EINVAL);

    assert_int_equal(index_series_update(f->db, se, (const uint8_t *)"reseal", 6, &ei), DV_OK);
    assert_int_equal(index_series_get(f->db, uid.b, &row, &ei), DV_OK);
    assert_int_equal(row.level, INDEX_LEVEL_SERIES);
    assert_int_equal(row.series_id, se);
    assert_int_equal(row.study_id, s1);
    assert_int_equal(row.patient_id, p);
    assert_string_equal(row.modality, "CR");
    assert_memory_equal(row.series_seal.p, "reseal", 6);
    assert_int_equal(index_series_update(f->db, 999, NULL, 0, &ei), DV_ENOTFOUND);
    uid = mk("series", 50);
    assert_int_equal(index_series_get(f->db, uid.b, &row, &ei), DV_ENOTFOUND);
}

/* ---- instances -------------------------------------------------------------------------- */

static void instance_insert_get_unique(void **state)
{
    fx *f = *state;
    int64_t p = patient(f->db, 1, NULL, 0), s = study(f->db, p, 1, 0, 0);
    int64_t se = series(f->db, s, 1, "CT"), id = 0;
    index_instance_in in;
    bi uid;
    char key[INDEX_KEY_LEN + 1];
    index_row row;
    dv_errinfo ei;

    inst_in(&in, &uid, key, se, 5);
    in.frames = 12;
    assert_int_equal(index_instance_insert(f->db, &in, &id, &ei), DV_OK);
    assert_int_equal(index_instance_get(f->db, uid.b, &row, &ei), DV_OK);
    assert_int_equal(row.level, INDEX_LEVEL_INSTANCE);
    assert_int_equal(row.instance_id, id);
    assert_int_equal(row.series_id, se);
    assert_int_equal(row.study_id, s);
    assert_int_equal(row.patient_id, p);
    assert_string_equal(row.object_key, key);
    assert_string_equal(row.sop_class, "1.2.840.10008.5.1.4.1.1.2");
    assert_string_equal(row.ts_uid, "1.2.840.10008.1.2.1");
    assert_int_equal(row.size, 1005);
    assert_int_equal(row.frames, 12);
    assert_int_equal(row.created, 1700000000);
    assert_memory_equal(row.instance_seal.p, "is", 2);
    assert_memory_equal(row.study_seal.p, "sseal-1", 7);
    assert_string_equal(row.modality, "CT");

    /* the same SOP Instance UID again, with another object key */
    mkkey(key, 6);
    assert_int_equal(index_instance_insert(f->db, &in, &id, &ei), DV_EEXIST);
    assert_null(strstr(ei.msg, key));
    assert_null(strstr(ei.msg, "sop-5"));
    /* another SOP Instance UID with an object key already used */
    uid = mk("sop", 6);
    mkkey(key, 5);
    assert_int_equal(index_instance_insert(f->db, &in, &id, &ei), DV_EEXIST);
    assert_null(strstr(ei.msg, key));
    /* no such series; malformed key; malformed UID */
    mkkey(key, 7);
    in.series_id = 4242;
    assert_int_equal(index_instance_insert(f->db, &in, &id, &ei), DV_ENOTFOUND);
    in.series_id = se;
    key[3] = 'G';
    assert_int_equal(index_instance_insert(f->db, &in, &id, &ei), DV_EINVAL);
    mkkey(key, 7);
    in.ts_uid = "1.2.x";
    assert_int_equal(index_instance_insert(f->db, &in, &id, &ei), DV_EINVAL);
    in.ts_uid = NULL;
    in.size = (uint64_t)INT64_MAX + 1;
    assert_int_equal(index_instance_insert(f->db, &in, &id, &ei), DV_EINVAL);
    assert_int_equal(counts(f->db).instances, 1);
    assert_int_equal(index_instance_get(f->db, uid.b, &row, &ei), DV_ENOTFOUND);
}

static void instance_replace(void **state)
{
    fx *f = *state;
    int64_t p = patient(f->db, 1, NULL, 0), s = study(f->db, p, 1, 0, 0);
    int64_t se = series(f->db, s, 1, "CT"), se2 = series(f->db, s, 2, "CT");
    int64_t i1 = instance(f->db, se, 1), id = 0;
    index_instance_in in;
    bi uid;
    char key[INDEX_KEY_LEN + 1], old[INDEX_KEY_LEN + 1], k1[INDEX_KEY_LEN + 1];
    index_row row;
    int yes;
    dv_errinfo ei;

    (void)instance(f->db, se, 2);
    mkkey(k1, 1);
    inst_in(&in, &uid, key, se2, 1); /* same SOP UID as instance 1, moved to series 2 */
    mkkey(key, 100);
    in.seal = (const uint8_t *)"new";
    in.seal_len = 3;
    assert_int_equal(index_instance_replace(f->db, &in, &id, old, &ei), DV_OK);
    assert_int_equal(id, i1);
    assert_string_equal(old, k1);
    assert_int_equal(index_instance_get(f->db, uid.b, &row, &ei), DV_OK);
    assert_string_equal(row.object_key, key);
    assert_int_equal(row.series_id, se2);
    assert_memory_equal(row.instance_seal.p, "new", 3);
    assert_int_equal(index_object_key_exists(f->db, k1, &yes, &ei), DV_OK);
    assert_int_equal(yes, 0);
    /* the same key again is refused (the vault would delete the live object) */
    assert_int_equal(index_instance_replace(f->db, &in, &id, old, &ei), DV_EEXIST);
    assert_string_equal(old, "");
    /* a key of another instance is refused, nothing changes */
    mkkey(key, 2);
    assert_int_equal(index_instance_replace(f->db, &in, &id, old, &ei), DV_EEXIST);
    assert_int_equal(index_instance_get(f->db, uid.b, &row, &ei), DV_OK);
    mkkey(key, 100);
    assert_string_equal(row.object_key, key);
    /* replacing what is not there inserts */
    inst_in(&in, &uid, key, se, 3);
    assert_int_equal(index_instance_replace(f->db, &in, &id, old, &ei), DV_OK);
    assert_string_equal(old, "");
    assert_int_equal(counts(f->db).instances, 3);
}

static void instance_list_delete(void **state)
{
    fx *f = *state;
    int64_t p = patient(f->db, 1, NULL, 0), s = study(f->db, p, 1, 0, 0);
    int64_t s2 = study(f->db, p, 2, 0, 0);
    int64_t se1 = series(f->db, s, 1, "CT"), se2 = series(f->db, s, 2, "MR");
    int64_t se3 = series(f->db, s2, 3, "MR"), ids[5];
    char old[INDEX_KEY_LEN + 1], want[INDEX_KEY_LEN + 1];
    got g;
    dv_errinfo ei;

    ids[0] = instance(f->db, se1, 1);
    ids[1] = instance(f->db, se2, 2);
    ids[2] = instance(f->db, se1, 3);
    ids[3] = instance(f->db, se3, 4);
    ids[4] = instance(f->db, se2, 5);
    memset(&g, 0, sizeof(g));
    assert_int_equal(index_instance_list(f->db, s, 0, collect, &g, &ei), DV_OK);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.ids[0], ids[0]);
    assert_int_equal(g.ids[1], ids[1]);
    assert_int_equal(g.ids[2], ids[2]);
    assert_int_equal(g.ids[3], ids[4]);
    memset(&g, 0, sizeof(g));
    assert_int_equal(index_instance_list(f->db, 0, se2, collect, &g, &ei), DV_OK);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.ids[1], ids[4]);
    assert_int_equal(index_instance_list(f->db, 0, 0, collect, &g, &ei), DV_EINVAL);

    assert_int_equal(index_instance_delete(f->db, ids[1], old, &ei), DV_OK);
    mkkey(want, 2);
    assert_string_equal(old, want);
    assert_int_equal(index_instance_delete(f->db, ids[1], old, &ei), DV_ENOTFOUND);
    assert_int_equal(counts(f->db).instances, 4);
    assert_int_equal(counts(f->db).series, 3); /* the series stays */
}

/* ---- transactions -----------------------------------------------------------------------------
 */

static void transactions(void **state)
{
    fx *f = *state;
    int64_t p, s, se;
    index_instance_in in;
    bi uid;
    char key[INDEX_KEY_LEN + 1];
    dv_errinfo ei;

    assert_int_equal(index_commit(f->db, &ei), DV_EINVAL);
    assert_int_equal(index_rollback(f->db, &ei), DV_EINVAL);
    /* one import rolled back leaves nothing */
    assert_int_equal(index_begin(f->db, &ei), DV_OK);
    p = patient(f->db, 1, NULL, 0);
    s = study(f->db, p, 1, 1, 1);
    se = series(f->db, s, 1, "CT");
    (void)instance(f->db, se, 1);
    assert_int_equal(index_rollback(f->db, &ei), DV_OK);
    assert_int_equal(index_depth(f->db), 0);
    assert_int_equal(counts(f->db).patients, 0);
    assert_int_equal(counts(f->db).studies, 0);
    assert_int_equal(counts(f->db).instances, 0);

    /* a batch: inner levels commit or roll back on their own */
    assert_int_equal(index_begin(f->db, &ei), DV_OK);
    assert_int_equal(index_begin(f->db, &ei), DV_OK);
    p = patient(f->db, 1, NULL, 0);
    s = study(f->db, p, 1, 0, 0);
    se = series(f->db, s, 1, "CT");
    (void)instance(f->db, se, 1);
    assert_int_equal(index_commit(f->db, &ei), DV_OK);
    assert_int_equal(index_begin(f->db, &ei), DV_OK);
    (void)instance(f->db, se, 2);
    assert_int_equal(index_depth(f->db), 2);
    assert_int_equal(index_rollback(f->db, &ei), DV_OK);
    assert_int_equal(index_begin(f->db, &ei), DV_OK);
    inst_in(&in, &uid, key, se, 1); /* a duplicate inside the batch fails alone */
    mkkey(key, 50);
    assert_int_equal(index_instance_insert(f->db, &in, NULL, &ei), DV_EEXIST);
    (void)instance(f->db, se, 3);
    assert_int_equal(index_commit(f->db, &ei), DV_OK);
    assert_int_equal(index_commit(f->db, &ei), DV_OK);
    assert_int_equal(index_depth(f->db), 0);
    assert_int_equal(counts(f->db).instances, 2);
    uid = mk("sop", 2);
    {
        index_row row;
        assert_int_equal(index_instance_get(f->db, uid.b, &row, &ei), DV_ENOTFOUND);
    }
    /* checkpoint refuses to run inside a transaction */
    assert_int_equal(index_begin(f->db, &ei), DV_OK);
    assert_int_equal(index_checkpoint(f->db, NULL, &ei), DV_EINVAL);
    assert_int_equal(index_rollback(f->db, &ei), DV_OK);
}

/* ---- find ------------------------------------------------------------------------------------ */

/* P1 {family-1, given-1}: S1 (acc-1, 202401; SE1 CT {I1, I2}, SE2 MR {I3}),
 *                         S2 (acc-2, 202402; SE3 CR {I4})
 * P2 {family-2, given-1}: S3 (acc-3, 202401; SE4 CT {I5, I6})
 * P3 {family-3}:          S4 (no accession, no date; SE5 no modality {I7})
 * Instances with an odd number have SOP class ...1.1.2 (CT), even ...1.1.1 (CR). */
typedef struct tree {
    int64_t p[4], s[5], se[6], i[8];
} tree;

static void build_tree(index_db *db, tree *t)
{
    bi n1[2] = {mk("family", 1), mk("given", 1)}, n2[2] = {mk("family", 2), mk("given", 1)};
    bi n3[1] = {mk("family", 3)};

    t->p[1] = patient(db, 1, n1, 2);
    t->p[2] = patient(db, 2, n2, 2);
    t->p[3] = patient(db, 3, n3, 1);
    t->s[1] = study(db, t->p[1], 1, 1, 202401);
    t->s[2] = study(db, t->p[1], 2, 2, 202402);
    t->s[3] = study(db, t->p[2], 3, 3, 202401);
    t->s[4] = study(db, t->p[3], 4, 0, 0);
    t->se[1] = series(db, t->s[1], 1, "CT");
    t->se[2] = series(db, t->s[1], 2, "MR");
    t->se[3] = series(db, t->s[2], 3, "CR");
    t->se[4] = series(db, t->s[3], 4, "CT");
    t->se[5] = series(db, t->s[4], 5, NULL);
    t->i[1] = instance(db, t->se[1], 1);
    t->i[2] = instance(db, t->se[1], 2);
    t->i[3] = instance(db, t->se[2], 3);
    t->i[4] = instance(db, t->se[3], 4);
    t->i[5] = instance(db, t->se[4], 5);
    t->i[6] = instance(db, t->se[4], 6);
    t->i[7] = instance(db, t->se[5], 7);
}

/* asserts that q gives exactly the ids listed (in order), terminated by 0 */
static void expect_ids(index_db *db, const index_query *q, ...)
{
    got g;
    va_list ap;
    size_t k = 0;
    int64_t want;

    (void)find(db, q, &g);
    va_start(ap, q);
    while ((want = va_arg(ap, int64_t)) != 0) {
        assert_true(k < g.n);
        assert_int_equal(g.ids[k], want);
        k++;
    }
    va_end(ap);
    assert_int_equal(g.n, k);
}

#define NONE ((int64_t)0)

static void find_single_filters(void **state)
{
    fx *f = *state;
    tree t;
    bi b1, b2, b3, months[2];
    index_query q;

    build_tree(f->db, &t);
    memset(&q, 0, sizeof(q));
    q.level = INDEX_LEVEL_PATIENT;
    expect_ids(f->db, &q, t.p[1], t.p[2], t.p[3], NONE);
    q.level = INDEX_LEVEL_INSTANCE;
    expect_ids(f->db, &q, t.i[1], t.i[2], t.i[3], t.i[4], t.i[5], t.i[6], t.i[7], NONE);

    memset(&q, 0, sizeof(q));
    b1 = mk("pid", 1);
    q.patient_bi = b1.b;
    q.level = INDEX_LEVEL_STUDY;
    expect_ids(f->db, &q, t.s[1], t.s[2], NONE);

    memset(&q, 0, sizeof(q));
    {
        uint8_t names[2 * INDEX_BI_BYTES];
        b1 = mk("family", 1);
        b2 = mk("family", 3);
        memcpy(names, b1.b, INDEX_BI_BYTES);
        memcpy(names + INDEX_BI_BYTES, b2.b, INDEX_BI_BYTES);
        q.name_bis = names;
        q.n_names = 2;
        q.level = INDEX_LEVEL_PATIENT;
        expect_ids(f->db, &q, t.p[1], t.p[3], NONE);
    }
    b3 = mk("given", 1);
    q.name_bis = b3.b;
    q.n_names = 1;
    q.level = INDEX_LEVEL_STUDY;
    expect_ids(f->db, &q, t.s[1], t.s[2], t.s[3], NONE);

    memset(&q, 0, sizeof(q));
    b1 = mk("acc", 3);
    q.acc_bi = b1.b;
    q.level = INDEX_LEVEL_STUDY;
    expect_ids(f->db, &q, t.s[3], NONE);
    q.level = INDEX_LEVEL_PATIENT;
    expect_ids(f->db, &q, t.p[2], NONE);

    memset(&q, 0, sizeof(q));
    months[0] = mk("month", 202401);
    months[1] = mk("month", 202402);
    q.month_bis = months[0].b;
    q.n_months = 1;
    q.level = INDEX_LEVEL_STUDY;
    expect_ids(f->db, &q, t.s[1], t.s[3], NONE);
    {
        uint8_t two[2 * INDEX_BI_BYTES];
        memcpy(two, months[0].b, INDEX_BI_BYTES);
        memcpy(two + INDEX_BI_BYTES, months[1].b, INDEX_BI_BYTES);
        q.month_bis = two;
        q.n_months = 2;
        expect_ids(f->db, &q, t.s[1], t.s[2], t.s[3], NONE);
    }
}

static void find_deeper_filters(void **state)
{
    fx *f = *state;
    tree t;
    bi b;
    index_query q;

    build_tree(f->db, &t);
    memset(&q, 0, sizeof(q));
    q.modality = "CT";
    q.level = INDEX_LEVEL_STUDY;
    expect_ids(f->db, &q, t.s[1], t.s[3], NONE);
    q.level = INDEX_LEVEL_SERIES;
    expect_ids(f->db, &q, t.se[1], t.se[4], NONE);
    q.level = INDEX_LEVEL_INSTANCE;
    expect_ids(f->db, &q, t.i[1], t.i[2], t.i[5], t.i[6], NONE);
    q.modality = "MR";
    q.level = INDEX_LEVEL_PATIENT;
    expect_ids(f->db, &q, t.p[1], NONE);

    memset(&q, 0, sizeof(q));
    b = mk("study", 1);
    q.study_bi = b.b;
    q.level = INDEX_LEVEL_INSTANCE;
    expect_ids(f->db, &q, t.i[1], t.i[2], t.i[3], NONE);

    memset(&q, 0, sizeof(q));
    b = mk("series", 1);
    q.series_bi = b.b;
    q.level = INDEX_LEVEL_STUDY;
    expect_ids(f->db, &q, t.s[1], NONE);

    memset(&q, 0, sizeof(q));
    b = mk("sop", 5);
    q.sop_bi = b.b;
    q.level = INDEX_LEVEL_PATIENT;
    expect_ids(f->db, &q, t.p[2], NONE);

    memset(&q, 0, sizeof(q));
    q.sop_class = "1.2.840.10008.5.1.4.1.1.2";
    q.level = INDEX_LEVEL_STUDY;
    expect_ids(f->db, &q, t.s[1], t.s[3], t.s[4], NONE);
}

static void find_combinations_limits(void **state)
{
    fx *f = *state;
    tree t;
    bi pid = mk("pid", 1), month = mk("month", 202401), given = mk("given", 1);
    bi feb = mk("month", 202402);
    index_query q;
    uint8_t *many;
    size_t i;
    dv_errinfo ei;

    build_tree(f->db, &t);
    memset(&q, 0, sizeof(q));
    q.patient_bi = pid.b;
    q.month_bis = month.b;
    q.n_months = 1;
    q.modality = "MR";
    q.level = INDEX_LEVEL_INSTANCE;
    expect_ids(f->db, &q, t.i[3], NONE);

    memset(&q, 0, sizeof(q));
    q.name_bis = given.b;
    q.n_names = 1;
    q.modality = "CT";
    q.level = INDEX_LEVEL_STUDY;
    expect_ids(f->db, &q, t.s[1], t.s[3], NONE);
    q.month_bis = feb.b;
    q.n_months = 1;
    expect_ids(f->db, &q, NONE);
    /* our own filter with a broad deeper one (checked per row through the parents) */
    memset(&q, 0, sizeof(q));
    q.patient_bi = pid.b;
    q.sop_class = "1.2.840.10008.5.1.4.1.1.1";
    q.level = INDEX_LEVEL_PATIENT;
    expect_ids(f->db, &q, t.p[1], NONE);
    q.level = INDEX_LEVEL_SERIES;
    expect_ids(f->db, &q, t.se[1], t.se[3], NONE);
    pid = mk("pid", 3);
    q.level = INDEX_LEVEL_PATIENT;
    expect_ids(f->db, &q, NONE);
    /* one descendant must satisfy every deeper filter: S1 has CT and MR series, but its
     * SOP class ...1.1.1 instance (I2) is in the CT series, not in MR */
    memset(&q, 0, sizeof(q));
    q.modality = "MR";
    q.sop_class = "1.2.840.10008.5.1.4.1.1.1";
    q.level = INDEX_LEVEL_STUDY;
    expect_ids(f->db, &q, NONE);

    memset(&q, 0, sizeof(q));
    q.level = INDEX_LEVEL_STUDY;
    q.limit = 2;
    expect_ids(f->db, &q, t.s[1], t.s[2], NONE);
    q.offset = 2;
    expect_ids(f->db, &q, t.s[3], t.s[4], NONE);
    q.name_bis = given.b;
    q.n_names = 1;
    q.offset = 1;
    q.limit = 1;
    expect_ids(f->db, &q, t.s[2], NONE);

    /* a long month list (100 years) */
    many = calloc(INDEX_LIST_MAX, INDEX_BI_BYTES);
    assert_non_null(many);
    for (i = 0; i < INDEX_LIST_MAX; i++) {
        bi m = mk("month", 193001 + (int)(i / 12) * 100 + (int)(i % 12));
        memcpy(many + i * INDEX_BI_BYTES, m.b, INDEX_BI_BYTES);
    }
    memset(&q, 0, sizeof(q));
    q.level = INDEX_LEVEL_STUDY;
    q.month_bis = many;
    q.n_months = INDEX_LIST_MAX;
    expect_ids(f->db, &q, t.s[1], t.s[2], t.s[3], NONE);
    q.n_months = INDEX_LIST_MAX + 1;
    assert_int_equal(index_find(f->db, &q, collect, NULL, NULL, &ei), DV_EINVAL);
    free(many);
    memset(&q, 0, sizeof(q));
    assert_int_equal(index_find(f->db, &q, collect, NULL, NULL, &ei), DV_EINVAL);
    q.level = INDEX_LEVEL_STUDY;
    q.modality = "C\\T";
    assert_int_equal(index_find(f->db, &q, collect, NULL, NULL, &ei), DV_EINVAL);
}

/* checks one instance row of the tree carries all of its parents */
static dv_err check_parents(void *ctx, const index_row *r)
{
    const tree *t = ctx;

    if (r->instance_id != t->i[3])
        return DV_OK;
    if (r->series_id != t->se[2] || r->study_id != t->s[1] || r->patient_id != t->p[1] ||
        strcmp(r->modality, "MR") != 0 || strcmp(r->modalities, "CT\\MR") != 0 ||
        r->patient_seal.len != 7 || memcmp(r->patient_seal.p, "pseal-1", 7) != 0 ||
        r->dek_len != sizeof(DEK))
        return DV_ETAMPER;
    return DV_OK;
}

static dv_err stop_at_first(void *ctx, const index_row *r)
{
    (void)ctx;
    (void)r;
    return DV_EPERM;
}

static void find_rows_and_stop(void **state)
{
    fx *f = *state;
    tree t;
    index_query q;
    uint64_t n = 99;
    dv_errinfo ei;

    build_tree(f->db, &t);
    memset(&q, 0, sizeof(q));
    q.level = INDEX_LEVEL_INSTANCE;
    assert_int_equal(index_find(f->db, &q, check_parents, &t, &n, &ei), DV_OK);
    assert_int_equal(n, 7);
    assert_int_equal(index_find(f->db, &q, stop_at_first, NULL, &n, &ei), DV_EPERM);
    assert_int_equal(n, 1);
}

/* every filtered query looks rows up through an index: no full SCAN of a level's table */
static void find_uses_indexes(void **state)
{
    fx *f = *state;
    bi b = mk("x", 1);
    index_query q;
    dv_buf plan;
    int level, filt;
    dv_errinfo ei;

    for (level = INDEX_LEVEL_PATIENT; level <= INDEX_LEVEL_INSTANCE; level++) {
        for (filt = 0; filt < 11; filt++) {
            memset(&q, 0, sizeof(q));
            q.level = (index_level)level;
            q.limit = 100;
            switch (filt) {
            case 0:
                q.patient_bi = b.b;
                break;
            case 1:
                q.name_bis = b.b;
                q.n_names = 1;
                break;
            case 2:
                q.acc_bi = b.b;
                break;
            case 3:
                q.month_bis = b.b;
                q.n_months = 1;
                break;
            case 4:
                q.study_bi = b.b;
                break;
            case 5:
                q.series_bi = b.b;
                break;
            case 6:
                q.sop_bi = b.b;
                break;
            case 7:
                q.modality = "CT";
                break;
            case 8:
                q.name_bis = b.b;
                q.n_names = 1;
                q.modality = "CT";
                break;
            case 9:
                q.patient_bi = b.b;
                q.sop_class = "1.2.3";
                break;
            default:
                q.month_bis = b.b;
                q.n_months = 1;
                q.modality = "CT";
                break;
            }
            dv_buf_init(&plan, 1 << 16);
            assert_int_equal(index_sqlite_plan(f->db, &q, &plan, &ei), DV_OK);
            assert_non_null(plan.p);
            if (strstr((const char *)plan.p, "SCAN ")) {
                print_message("level %d filter %d:\n%s", level, filt, (const char *)plan.p);
                fail();
            }
            dv_buf_release(&plan);
        }
    }
}

/* ---- delete, rewrap, certificates ------------------------------------------------------------ */

typedef struct keys {
    char k[16][INDEX_KEY_LEN + 1];
    size_t n;
    int fail_at; /* return an error at this call (1-based), 0 = never */
} keys;

static dv_err take_key(void *ctx, const char *key)
{
    keys *k = ctx;

    if (k->n >= 16)
        return DV_ELIMIT;
    memcpy(k->k[k->n++], key, INDEX_KEY_LEN + 1);
    if (k->fail_at && (int)k->n == k->fail_at)
        return DV_EIO;
    return DV_OK;
}

static dv_err take_cert(void *ctx, const index_cert *c)
{
    int *n = ctx;

    if (c->body_len != strlen(c->body) || c->pseudonym.len == 0 || c->signature.len != 64)
        return DV_ETAMPER;
    (*n)++;
    return DV_OK;
}

static void study_delete_cascades(void **state)
{
    fx *f = *state;
    tree t;
    keys k;
    int gone = -1, ncert = 0;
    uint8_t ps[16] = "pseudonym-S1", sig[64] = {9};
    char want[INDEX_KEY_LEN + 1];
    index_counts c;
    index_row row;
    bi uid = mk("sop", 1), pid = mk("pid", 1);
    dv_errinfo ei;

    build_tree(f->db, &t);
    assert_int_equal(index_cert_insert(f->db, ps, sizeof(ps), "{\"study\":\"pseudonym-S1\"}", sig,
                                       sizeof(sig), 0, NULL, &ei),
                     DV_OK);
    /* a failing key callback deletes nothing */
    memset(&k, 0, sizeof(k));
    k.fail_at = 2;
    assert_int_equal(index_study_delete(f->db, t.s[1], take_key, &k, &gone, &ei), DV_EIO);
    assert_int_equal(counts(f->db).instances, 7);

    memset(&k, 0, sizeof(k));
    assert_int_equal(index_study_delete(f->db, t.s[1], take_key, &k, &gone, &ei), DV_OK);
    assert_int_equal(k.n, 3);
    mkkey(want, 1);
    assert_string_equal(k.k[0], want);
    mkkey(want, 3);
    assert_string_equal(k.k[2], want);
    assert_int_equal(gone, 0); /* P1 still has S2 */
    c = counts(f->db);
    assert_int_equal(c.studies, 3);
    assert_int_equal(c.series, 3);
    assert_int_equal(c.instances, 4);
    assert_int_equal(c.patients, 3);
    assert_int_equal(index_instance_get(f->db, uid.b, &row, &ei), DV_ENOTFOUND);

    assert_int_equal(index_study_delete(f->db, t.s[2], NULL, NULL, &gone, &ei), DV_OK);
    assert_int_equal(gone, 1);
    assert_int_equal(index_patient_get(f->db, pid.b, &row, &ei), DV_ENOTFOUND);
    assert_int_equal(index_study_delete(f->db, t.s[2], NULL, NULL, &gone, &ei), DV_ENOTFOUND);
    c = counts(f->db);
    assert_int_equal(c.patients, 2);
    assert_int_equal(c.certs, 1);
    /* the certificate outlives the study */
    assert_int_equal(index_cert_list(f->db, ps, sizeof(ps), take_cert, &ncert, &ei), DV_OK);
    assert_int_equal(ncert, 1);
    ncert = 0;
    assert_int_equal(index_cert_list(f->db, sig, 16, take_cert, &ncert, &ei), DV_OK);
    assert_int_equal(ncert, 0);
    assert_int_equal(index_cert_insert(f->db, ps, sizeof(ps), "", sig, sizeof(sig), 0, NULL, &ei),
                     DV_EINVAL);
    assert_int_equal(index_cert_insert(f->db, ps, 0, "{}", sig, sizeof(sig), 0, NULL, &ei),
                     DV_EINVAL);
    assert_int_equal(index_cert_list(f->db, NULL, 0, take_cert, &ncert, &ei), DV_OK);
    assert_int_equal(ncert, 1);
}

typedef struct rw {
    int calls;
    int fail_at;
} rw;

static dv_err rewrap(void *ctx, int64_t study_id, const uint8_t *uid_bi, const uint8_t *old,
                     size_t old_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    rw *r = ctx;

    (void)uid_bi;
    r->calls++;
    if (r->fail_at && r->calls == r->fail_at)
        return DV_ECRYPTO;
    if (old_len != sizeof(DEK) || memcmp(old, DEK, sizeof(DEK)) != 0 || out_cap < 10)
        return DV_ETAMPER;
    memset(out, (int)study_id, 10);
    *out_len = 10;
    return DV_OK;
}

static void rewrap_all_or_nothing(void **state)
{
    fx *f = *state;
    tree t;
    rw r = {0, 3};
    uint64_t n = 99;
    index_row row;
    uint8_t want[10];
    int s;
    dv_errinfo ei;

    build_tree(f->db, &t);
    assert_int_equal(index_study_rewrap(f->db, rewrap, &r, &n, &ei), DV_ECRYPTO);
    assert_int_equal(n, 0);
    assert_int_equal(index_study_get_by_id(f->db, t.s[1], &row, &ei), DV_OK);
    assert_int_equal(row.dek_len, sizeof(DEK)); /* the first two were rolled back */
    assert_memory_equal(row.dek_wrapped, DEK, sizeof(DEK));
    r.calls = 0;
    r.fail_at = 0;
    assert_int_equal(index_study_rewrap(f->db, rewrap, &r, &n, &ei), DV_OK);
    assert_int_equal(n, 4);
    for (s = 1; s <= 4; s++) {
        assert_int_equal(index_study_get_by_id(f->db, t.s[s], &row, &ei), DV_OK);
        memset(want, (int)t.s[s], sizeof(want));
        assert_int_equal(row.dek_len, 10);
        assert_memory_equal(row.dek_wrapped, want, 10);
    }
}

/* ---- users, meta, keys --------------------------------------------------------------------------
 */

static void users_table(void **state)
{
    fx *f = *state;
    index_user u, got_u;
    const char *h1 = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
    dv_errinfo ei;

    memset(&u, 0, sizeof(u));
    (void)snprintf(u.name, sizeof(u.name), "admin");
    (void)snprintf(u.role, sizeof(u.role), "administrator");
    (void)snprintf(u.pwhash, sizeof(u.pwhash), "%s", h1);
    u.must_change = 1;
    assert_int_equal(index_user_insert(f->db, &u, &ei), DV_OK);
    assert_true(u.id > 0);
    assert_true(u.created > 0);
    assert_int_equal(index_user_insert(f->db, &u, &ei), DV_EEXIST);
    assert_int_equal(index_user_get(f->db, "admin", &got_u, &ei), DV_OK);
    assert_int_equal(got_u.id, u.id);
    assert_string_equal(got_u.role, "administrator");
    assert_string_equal(got_u.pwhash, h1);
    assert_int_equal(got_u.must_change, 1);
    assert_int_equal(got_u.disabled, 0);
    assert_int_equal(index_user_set_password(f->db, u.id, "$argon2id$new", 0, &ei), DV_OK);
    assert_int_equal(index_user_set_disabled(f->db, u.id, 1, &ei), DV_OK);
    assert_int_equal(index_user_get(f->db, "admin", &got_u, &ei), DV_OK);
    assert_string_equal(got_u.pwhash, "$argon2id$new");
    assert_int_equal(got_u.must_change, 0);
    assert_int_equal(got_u.disabled, 1);
    assert_int_equal(index_user_get(f->db, "nobody", &got_u, &ei), DV_ENOTFOUND);
    assert_int_equal(index_user_set_password(f->db, 999, "x", 0, &ei), DV_ENOTFOUND);
    assert_int_equal(index_user_set_disabled(f->db, 999, 0, &ei), DV_ENOTFOUND);
    (void)snprintf(u.name, sizeof(u.name), "bad name");
    assert_int_equal(index_user_insert(f->db, &u, &ei), DV_EINVAL);
    (void)snprintf(u.name, sizeof(u.name), "ok");
    u.pwhash[0] = '\0';
    assert_int_equal(index_user_insert(f->db, &u, &ei), DV_EINVAL);
    assert_int_equal(counts(f->db).users, 1);
}

static void meta_values(void **state)
{
    fx *f = *state;
    dv_buf v;
    uint8_t salt[16] = {1, 2, 3, 0, 5};
    dv_errinfo ei;

    dv_buf_init(&v, 1024);
    assert_int_equal(index_meta_set(f->db, "vault.kek-salt", salt, sizeof(salt), &ei), DV_OK);
    assert_int_equal(index_meta_get(f->db, "vault.kek-salt", &v, &ei), DV_OK);
    assert_int_equal(v.len, sizeof(salt));
    assert_memory_equal(v.p, salt, sizeof(salt));
    dv_buf_reset(&v);
    assert_int_equal(index_meta_set(f->db, "vault.kek-salt", (const uint8_t *)"ab", 2, &ei), DV_OK);
    assert_int_equal(index_meta_get(f->db, "vault.kek-salt", &v, &ei), DV_OK);
    assert_int_equal(v.len, 2);
    dv_buf_release(&v);
    assert_int_equal(index_meta_get(f->db, "vault.none", &v, &ei), DV_ENOTFOUND);
    assert_int_equal(index_meta_set(f->db, "index.schema_version", salt, 1, &ei), DV_EINVAL);
    assert_int_equal(index_meta_set(f->db, "Bad Key", salt, 1, &ei), DV_EINVAL);
    assert_int_equal(index_meta_set(f->db, "k", NULL, 1, &ei), DV_EINVAL);
}

typedef struct ks {
    size_t n;
    uint64_t bytes;
} ks;

static dv_err count_key(void *ctx, const char *key, uint64_t size)
{
    ks *k = ctx;

    if (strlen(key) != INDEX_KEY_LEN)
        return DV_ETAMPER;
    k->n++;
    k->bytes += size;
    return DV_OK;
}

static void object_keys_and_counts(void **state)
{
    fx *f = *state;
    tree t;
    ks k = {0, 0};
    char key[INDEX_KEY_LEN + 1];
    int yes = 0;
    index_counts c;
    dv_errinfo ei;

    build_tree(f->db, &t);
    assert_int_equal(index_object_keys(f->db, count_key, &k, &ei), DV_OK);
    assert_int_equal(k.n, 7);
    assert_int_equal(k.bytes, 7 * 1000 + 1 + 2 + 3 + 4 + 5 + 6 + 7);
    c = counts(f->db);
    assert_int_equal(c.patients, 3);
    assert_int_equal(c.studies, 4);
    assert_int_equal(c.series, 5);
    assert_int_equal(c.instances, 7);
    assert_int_equal(c.bytes, k.bytes);
    mkkey(key, 4);
    assert_int_equal(index_object_key_exists(f->db, key, &yes, &ei), DV_OK);
    assert_int_equal(yes, 1);
    mkkey(key, 40);
    assert_int_equal(index_object_key_exists(f->db, key, &yes, &ei), DV_OK);
    assert_int_equal(yes, 0);
    assert_int_equal(index_object_key_exists(f->db, "../../etc/passwd", &yes, &ei), DV_EINVAL);
}

/* ---- at rest: secure deletion, damaged files, other connections ------------------------------ */

static long read_all(const char *path, uint8_t **out)
{
    FILE *fp = fopen(path, "rb");
    long n;

    *out = NULL;
    if (!fp)
        return -1; /* absent */
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    *out = malloc((size_t)n + 1);
    assert_non_null(*out);
    assert_int_equal(fread(*out, 1, (size_t)n, fp), (size_t)n);
    assert_int_equal(fclose(fp), 0);
    return n;
}

/* does the pattern occur in path or path-wal? */
static int on_disk(const char *path, const uint8_t *pat, size_t len)
{
    char p[256];
    const char *sfx[2] = {"", "-wal"};
    uint8_t *b;
    long n;
    int i, hit = 0;

    for (i = 0; i < 2; i++) {
        (void)snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
        n = read_all(p, &b);
        if (n > 0 && memmem(b, (size_t)n, pat, len))
            hit = 1;
        free(b);
    }
    return hit;
}

static void secure_delete_zeroes(void **state)
{
    fx *f = *state;
    uint8_t seal[64], dek[64];
    index_study_in in = {0};
    bi uid = mk("study", 1);
    int64_t p, s, se, id;
    int complete = 0;
    size_t i;
    dv_errinfo ei;

    for (i = 0; i < sizeof(seal); i++) {
        seal[i] = (uint8_t)("SHRED-ME-plaintext-marker!"[i % 26]);
        dek[i] = (uint8_t)(0xA5 ^ (i * 7));
    }
    p = patient(f->db, 1, NULL, 0);
    in.patient_id = p;
    in.uid_bi = uid.b;
    in.seal = seal;
    in.seal_len = sizeof(seal);
    in.dek_wrapped = dek;
    in.dek_len = sizeof(dek);
    assert_int_equal(index_study_upsert(f->db, &in, &s, NULL, NULL, &ei), DV_OK);
    se = series(f->db, s, 1, "CT");
    id = instance(f->db, se, 1);
    assert_true(id > 0);
    assert_int_equal(index_checkpoint(f->db, &complete, &ei), DV_OK);
    assert_int_equal(complete, 1);
    /* the scan finds them while they are live */
    assert_true(on_disk(f->path, seal, sizeof(seal)));
    assert_true(on_disk(f->path, dek, sizeof(dek)));

    assert_int_equal(index_study_delete(f->db, s, NULL, NULL, NULL, &ei), DV_OK);
    assert_int_equal(index_checkpoint(f->db, &complete, &ei), DV_OK);
    assert_int_equal(complete, 1);
    assert_false(on_disk(f->path, seal, sizeof(seal)));
    assert_false(on_disk(f->path, dek, sizeof(dek)));
    assert_false(on_disk(f->path, seal, 16));
}

static void damaged_values_refused(void **state)
{
    fx *f = *state;
    tree t;
    sqlite3 *h;
    index_row row;
    bi se = mk("series", 1), st = mk("study", 2), pid = mk("pid", 3);
    got g;
    index_query q;
    dv_errinfo ei;

    build_tree(f->db, &t);
    assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h,
                                  "UPDATE series SET modality = 'A_VERY_LONG_MODALITY_VALUE'"
                                  " WHERE id = 1;"
                                  "UPDATE study SET dek_wrapped = zeroblob(500) WHERE id = 2;"
                                  "UPDATE patient SET seal = zeroblob(70000) WHERE id = 3;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
    assert_int_equal(index_series_get(f->db, se.b, &row, &ei), DV_EDB);
    assert_int_equal(index_study_get(f->db, st.b, &row, &ei), DV_EDB);
    assert_int_equal(index_patient_get(f->db, pid.b, &row, &ei), DV_EDB);
    memset(&q, 0, sizeof(q));
    q.level = INDEX_LEVEL_SERIES;
    memset(&g, 0, sizeof(g));
    assert_int_equal(index_find(f->db, &q, collect, &g, NULL, &ei), DV_EDB);
}

static void second_connection(void **state)
{
    fx *f = *state;
    index_db *db2 = NULL;
    bi pid = mk("pid", 1);
    index_row row;
    dv_errinfo ei;

    assert_int_equal(index_open_sqlite(f->path, 0, &db2, &ei), DV_OK);
    assert_int_equal(index_begin(f->db, &ei), DV_OK);
    (void)patient(f->db, 1, NULL, 0);
    assert_int_equal(index_patient_get(db2, pid.b, &row, &ei), DV_ENOTFOUND);
    assert_int_equal(index_commit(f->db, &ei), DV_OK);
    assert_int_equal(index_patient_get(db2, pid.b, &row, &ei), DV_OK);
    index_close(db2);
}

/* ---- out of memory -----------------------------------------------------------------------------
 */

static void oom_index_allocations(void **state)
{
    fx *f = *state;
    tree t;
    index_db *db2;
    index_row row;
    index_query q;
    bi uid = mk("sop", 3);
    got g;
    long k;
    int failed = 0;
    dv_err e = DV_OK;
    dv_errinfo ei;

    build_tree(f->db, &t);
    for (k = 1; k < 20; k++) { /* open: the backend, the db object */
        db2 = NULL;
        dv_fault_countdown = k;
        e = index_open_sqlite(f->path, 0, &db2, &ei);
        dv_fault_countdown = 0;
        if (e == DV_OK)
            break;
        assert_int_equal(e, DV_ENOMEM);
        assert_null(db2);
        failed++;
    }
    assert_int_equal(e, DV_OK);
    index_close(db2);
    for (k = 1; k < 20; k++) { /* get: the scratch copy of the seals */
        dv_fault_countdown = k;
        e = index_instance_get(f->db, uid.b, &row, &ei);
        dv_fault_countdown = 0;
        if (e == DV_OK)
            break;
        assert_int_equal(e, DV_ENOMEM);
        failed++;
    }
    assert_int_equal(e, DV_OK);
    assert_memory_equal(row.instance_seal.p, "is", 2);
    memset(&q, 0, sizeof(q));
    q.level = INDEX_LEVEL_INSTANCE;
    q.modality = "CT";
    for (k = 1; k < 20; k++) { /* find: the statement text and its bindings */
        dv_fault_countdown = k;
        memset(&g, 0, sizeof(g));
        e = index_find(f->db, &q, collect, &g, NULL, &ei);
        dv_fault_countdown = 0;
        if (e == DV_OK)
            break;
        assert_int_equal(e, DV_ENOMEM);
        assert_int_equal(g.n, 0);
        failed++;
    }
    assert_int_equal(e, DV_OK);
    assert_int_equal(g.n, 4);
    assert_true(failed >= 4);
}

/* SQLite's own allocations fail one after another: every call reports an error or works, never
 * crashes or leaks, and the file stays usable. */
static long sq_countdown;
static sqlite3_mem_methods sq_default;

static void *sq_malloc(int n)
{
    if (sq_countdown > 0 && --sq_countdown == 0)
        return NULL;
    return sq_default.xMalloc(n);
}

static void *sq_realloc(void *p, int n)
{
    if (sq_countdown > 0 && --sq_countdown == 0)
        return NULL;
    return sq_default.xRealloc(p, n);
}

static void one_import(const char *path, dv_err *out)
{
    index_db *db = NULL;
    index_instance_in in;
    index_patient_in pin = {0};
    index_query q;
    bi pid = mk("pid", 1), uid;
    char key[INDEX_KEY_LEN + 1];
    int64_t id = 0;
    got g;
    dv_err e = index_open_sqlite(path, INDEX_OPEN_CREATE, &db, NULL);

    pin.pid_bi = pid.b;
    if (e == DV_OK)
        e = index_patient_upsert(db, &pin, &id, NULL, NULL, NULL);
    inst_in(&in, &uid, key, 1, 1);
    if (e == DV_OK)
        e = index_instance_insert(db, &in, NULL, NULL);
    if (e == DV_ENOTFOUND) /* no series 1 here: the foreign key refused it */
        e = DV_OK;
    memset(&q, 0, sizeof(q));
    memset(&g, 0, sizeof(g));
    q.level = INDEX_LEVEL_PATIENT;
    if (e == DV_OK)
        e = index_find(db, &q, collect, &g, NULL, NULL);
    index_close(db);
    *out = e;
}

static void oom_sqlite_allocations(void **state)
{
    fx *f = *state;
    long k;
    int failures = 0;
    dv_err e = DV_EDB;
    index_counts c;

    index_close(f->db);
    f->db = NULL;
    for (k = 1; k < 2000 && e != DV_OK; k++) {
        sq_countdown = k;
        one_import(f->path, &e);
        sq_countdown = 0;
        if (e != DV_OK) {
            if (!(e == DV_ENOMEM || e == DV_EDB))
                print_message("k=%ld e=%d\n", k, (int)e);
            assert_true(e == DV_ENOMEM || e == DV_EDB);
            failures++;
        }
    }
    assert_int_equal(e, DV_OK);
    assert_true(failures > 10);
    assert_int_equal(index_open_sqlite(f->path, 0, &f->db, NULL), DV_OK);
    assert_int_equal(index_count(f->db, &c, NULL), DV_OK);
    assert_int_equal(c.patients, 1);
}

/* ---- perceptual hashes (schema 4) ---------------------------------------------------------- */

typedef struct phs {
    index_phash h[16];
    size_t n;
} phs;

static dv_err keep_phash(void *ctx, const index_phash *h)
{
    phs *l = ctx;

    if (l->n >= 16)
        return DV_ELIMIT;
    l->h[l->n++] = *h;
    return DV_OK;
}

static size_t phash_list(index_db *db, const uint8_t *study_bi, phs *l)
{
    dv_errinfo ei;

    memset(l, 0, sizeof(*l));
    assert_int_equal(index_phash_list(db, study_bi, keep_phash, l, &ei), DV_OK);
    return l->n;
}

/* rows of image_hash, counted behind the API's back */
static int hash_rows(const char *path)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    int n = -1;

    assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM image_hash", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int(st, 0);
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
    return n;
}

static void phash_put_list(void **state)
{
    fx *f = *state;
    int64_t p = patient(f->db, 1, NULL, 0), s1 = study(f->db, p, 1, 0, 0);
    int64_t s2 = study(f->db, p, 2, 0, 0), se1 = series(f->db, s1, 1, "CR");
    int64_t se2 = series(f->db, s2, 2, "CR");
    int64_t i1 = instance(f->db, se1, 1), i2 = instance(f->db, se1, 2),
            i3 = instance(f->db, se2, 3);
    uint8_t a[48], b[64], big[INDEX_PHASH_SEAL_MAX + 1];
    bi st2 = mk("study", 2), none = mk("study", 99);
    char key[INDEX_KEY_LEN + 1];
    dv_errinfo ei;
    phs l;

    memset(a, 0xA1, sizeof(a));
    memset(b, 0xB2, sizeof(b));
    memset(big, 0xC3, sizeof(big));
    assert_int_equal(index_phash_put(f->db, i1, a, sizeof(a), &ei), DV_OK);
    assert_int_equal(index_phash_put(f->db, i3, b, sizeof(b), &ei), DV_OK);
    /* bad arguments, and an instance that does not exist */
    assert_int_equal(index_phash_put(f->db, i2, big, sizeof(big), &ei), DV_EINVAL);
    assert_int_equal(index_phash_put(f->db, i2, a, 0, &ei), DV_EINVAL);
    assert_int_equal(index_phash_put(f->db, i2, NULL, 8, &ei), DV_EINVAL);
    assert_int_equal(index_phash_put(f->db, 0, a, sizeof(a), &ei), DV_EINVAL);
    assert_int_equal(index_phash_put(f->db, i3 + 100, a, sizeof(a), &ei), DV_ENOTFOUND);
    assert_int_equal(hash_rows(f->path), 2);

    /* every instance, in id order, with its study's key and its hash when it has one */
    assert_int_equal(phash_list(f->db, NULL, &l), 3);
    assert_int_equal(l.h[0].instance_id, i1);
    assert_int_equal(l.h[1].instance_id, i2);
    assert_int_equal(l.h[2].instance_id, i3);
    assert_int_equal(l.h[0].study_id, s1);
    assert_int_equal(l.h[2].study_id, s2);
    assert_memory_equal(l.h[2].study_bi, st2.b, INDEX_BI_BYTES);
    mkkey(key, 2);
    assert_string_equal(l.h[1].object_key, key);
    assert_int_equal(l.h[0].dek_len, sizeof(DEK));
    assert_memory_equal(l.h[0].dek_wrapped, DEK, sizeof(DEK));
    assert_int_equal(l.h[0].frames, 1);
    assert_int_equal(l.h[0].sealed_len, sizeof(a));
    assert_memory_equal(l.h[0].sealed, a, sizeof(a));
    assert_int_equal(l.h[1].sealed_len, 0);
    assert_int_equal(l.h[2].sealed_len, sizeof(b));
    assert_memory_equal(l.h[2].sealed, b, sizeof(b));
    /* one study */
    assert_int_equal(phash_list(f->db, st2.b, &l), 1);
    assert_int_equal(l.h[0].instance_id, i3);
    assert_int_equal(phash_list(f->db, none.b, &l), 0);
    /* put replaces */
    assert_int_equal(index_phash_put(f->db, i1, b, 50, &ei), DV_OK);
    assert_int_equal(phash_list(f->db, NULL, &l), 3);
    assert_int_equal(l.h[0].sealed_len, 50);
    assert_memory_equal(l.h[0].sealed, b, 50);
    assert_int_equal(hash_rows(f->path), 2);
    /* a callback's error stops the walk and is returned */
    memset(&l, 0, sizeof(l));
    l.n = 15;
    assert_int_equal(index_phash_list(f->db, NULL, keep_phash, &l, &ei), DV_ELIMIT);
}

static void phash_gone_with_instance(void **state)
{
    fx *f = *state;
    int64_t p = patient(f->db, 1, NULL, 0), s1 = study(f->db, p, 1, 0, 0);
    int64_t s2 = study(f->db, p, 2, 0, 0), se1 = series(f->db, s1, 1, "CR");
    int64_t se2 = series(f->db, s2, 2, "CR");
    int64_t i1 = instance(f->db, se1, 1), i2 = instance(f->db, se1, 2),
            i3 = instance(f->db, se2, 3);
    int64_t i4 = instance(f->db, se2, 4), id = 0;
    char key[INDEX_KEY_LEN + 1], old[INDEX_KEY_LEN + 1];
    uint8_t h[48];
    index_instance_in in;
    dv_errinfo ei;
    bi uid;
    phs l;

    memset(h, 7, sizeof(h));
    assert_int_equal(index_phash_put(f->db, i1, h, sizeof(h), &ei), DV_OK);
    assert_int_equal(index_phash_put(f->db, i2, h, sizeof(h), &ei), DV_OK);
    assert_int_equal(index_phash_put(f->db, i3, h, sizeof(h), &ei), DV_OK);
    assert_int_equal(index_phash_put(f->db, i4, h, sizeof(h), &ei), DV_OK);
    assert_int_equal(hash_rows(f->path), 4);
    /* one instance deleted */
    assert_int_equal(index_instance_delete(f->db, i2, old, &ei), DV_OK);
    assert_int_equal(hash_rows(f->path), 3);
    /* replaced by another object: the old object's hash goes, a new one can be put */
    inst_in(&in, &uid, key, se1, 1);
    mkkey(key, 101);
    assert_int_equal(index_instance_replace(f->db, &in, &id, old, &ei), DV_OK);
    assert_int_equal(id, i1);
    assert_int_equal(hash_rows(f->path), 2);
    assert_int_equal(phash_list(f->db, NULL, &l), 3);
    assert_int_equal(l.h[0].instance_id, i1);
    assert_int_equal(l.h[0].sealed_len, 0);
    assert_int_equal(index_phash_put(f->db, i1, h, sizeof(h), &ei), DV_OK);
    assert_int_equal(hash_rows(f->path), 3);
    /* a study deleted (shred, retention): its instances' hashes go with it, in its transaction */
    assert_int_equal(index_study_delete(f->db, s2, NULL, NULL, NULL, &ei), DV_OK);
    assert_int_equal(hash_rows(f->path), 1);
    assert_int_equal(phash_list(f->db, NULL, &l), 1);
    assert_int_equal(l.h[0].instance_id, i1);
    assert_int_equal(l.h[0].sealed_len, sizeof(h));
    /* a rolled-back study delete keeps the hashes */
    assert_int_equal(index_begin(f->db, &ei), DV_OK);
    assert_int_equal(index_study_delete(f->db, s1, NULL, NULL, NULL, &ei), DV_OK);
    assert_int_equal(index_rollback(f->db, &ei), DV_OK);
    assert_int_equal(hash_rows(f->path), 1);
}

static void phash_migrate_3_to_4(void **state)
{
    fx *f = *state;
    int64_t p = patient(f->db, 1, NULL, 0), s = study(f->db, p, 1, 0, 0);
    int64_t se = series(f->db, s, 1, "CR"), i1 = instance(f->db, se, 1);
    uint8_t h[48];
    dv_errinfo ei;
    sqlite3 *db;
    dv_buf v;
    phs l;

    /* turn the file into version 3: no image_hash table, no trigger */
    index_close(f->db);
    f->db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE image_hash; UPDATE meta SET value = 3 WHERE key ="
                                  " 'index.schema_version'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(index_open_sqlite(f->path, 0, &f->db, &ei), DV_OK);
    dv_buf_init(&v, 64);
    assert_int_equal(index_meta_get(f->db, "index.schema_version", &v, &ei), DV_OK);
    assert_int_equal(v.len, 1);
    assert_int_equal(v.p[0], '4');
    dv_buf_release(&v);
    /* the old instance is listed without a hash; a hash can be stored and cascades */
    assert_int_equal(phash_list(f->db, NULL, &l), 1);
    assert_int_equal(l.h[0].instance_id, i1);
    assert_int_equal(l.h[0].sealed_len, 0);
    memset(h, 9, sizeof(h));
    assert_int_equal(index_phash_put(f->db, i1, h, sizeof(h), &ei), DV_OK);
    assert_int_equal(hash_rows(f->path), 1);
    assert_int_equal(index_study_delete(f->db, s, NULL, NULL, NULL, &ei), DV_OK);
    assert_int_equal(hash_rows(f->path), 0);
    /* reopening a version-4 file changes nothing */
    index_close(f->db);
    f->db = NULL;
    assert_int_equal(index_open_sqlite(f->path, 0, &f->db, &ei), DV_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(open_create_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(file_modes_0600, setup, teardown),
        cmocka_unit_test_setup_teardown(patient_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(study_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(series_and_modalities, setup, teardown),
        cmocka_unit_test_setup_teardown(instance_insert_get_unique, setup, teardown),
        cmocka_unit_test_setup_teardown(instance_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(instance_list_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(find_single_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(find_deeper_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(find_combinations_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(find_rows_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(find_uses_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(study_delete_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(rewrap_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(users_table, setup, teardown),
        cmocka_unit_test_setup_teardown(meta_values, setup, teardown),
        cmocka_unit_test_setup_teardown(object_keys_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(secure_delete_zeroes, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_values_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(second_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(films_print_to_destruction, setup, teardown),
        cmocka_unit_test_setup_teardown(phash_put_list, setup, teardown),
        cmocka_unit_test_setup_teardown(phash_gone_with_instance, setup, teardown),
        cmocka_unit_test_setup_teardown(phash_migrate_3_to_4, setup, teardown),
        cmocka_unit_test_setup_teardown(oom_index_allocations, setup, teardown),
        cmocka_unit_test_setup_teardown(oom_sqlite_allocations, setup, teardown),
    };
    sqlite3_mem_methods m;

    /* route SQLite's allocations through the fault injector (before SQLite initialises) */
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sq_default) != SQLITE_OK)
        return 1;
    m = sq_default;
    m.xMalloc = sq_malloc;
    m.xRealloc = sq_realloc;
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
