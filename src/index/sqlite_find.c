/* SPDX-License-Identifier: Apache-2.0 */
/* sqlite_find.c - SQLite backend: index_find, the one statement built at run time.
 *
 * The statement is assembled from constant fragments only: table and alias names from the
 * tables below, and one "?" per value; every value (blind index, modality, SOP class, limit,
 * offset) is bound.  Shape, for a query at level L whose deepest filter is at level D:
 *
 *   SELECT <columns of L and its parents> FROM <L joined to its parents> WHERE 1=1
 *     AND <filters of levels <= L on the joined tables>
 *     [AND <L>.id IN (SELECT <child>.<parent column> FROM <children down to D>
 *                      WHERE <filters of levels L+1..D>)]          -- only when D > L
 *     (or a correlated EXISTS instead of IN: see descendants())
 *   ORDER BY <L>.id LIMIT ? OFFSET ?
 *
 * Every filter column has an index (docs/index-schema.md), so a filtered query looks rows up
 * instead of scanning; "ORDER BY +id" then sorts the few rows found rather than walking the
 * whole table in id order (without filters the walk in id order is what we want).
 */
#include <string.h>

#include "common/buf.h"
#include "common/dv.h"
#include "index/index.h"
#include "index/index_int.h"
#include "index/sqlite_int.h"

#include "common/banned.h"

#define SQL_MAX   32768u
#define BINDS_MAX (2u * INDEX_LIST_MAX + 16u)

typedef enum bind_kind { B_BI, B_TEXT, B_INT } bind_kind;

typedef struct bind {
    bind_kind kind;
    const uint8_t *bi;
    const char *text;
    int64_t v;
} bind;

typedef struct qb {
    dv_buf sql;
    dv_buf binds; /* array of struct bind */
    dv_err e;     /* first error while building */
} qb;

/* index by index_level - 1 */
static const char *const OUTER[4] = {"p", "st", "se", "i"};
static const char *const INNER[4] = {"p2", "st2", "se2", "i2"};
static const char *const TABLE[4] = {"patient", "study", "series", "instance"};
static const char *const PARENT_COL[4] = {"", "patient_id", "study_id", "series_id"};

static void sql(qb *b, const char *s)
{
    if (b->e == DV_OK)
        b->e = dv_buf_adds(&b->sql, s);
}

/* Appends fragment a, alias, fragment c (aliases and columns come from the tables above). */
static void sql3(qb *b, const char *a, const char *alias, const char *c)
{
    sql(b, a);
    sql(b, alias);
    sql(b, c);
}

static void add_bind(qb *b, bind_kind kind, const uint8_t *bi, const char *text, int64_t v)
{
    bind x = {kind, bi, text, v};

    if (b->e == DV_OK)
        b->e = dv_buf_add(&b->binds, &x, sizeof(x));
}

static void eq_bi(qb *b, const char *alias, const char *col_eq, const uint8_t *bi)
{
    sql3(b, " AND ", alias, col_eq);
    add_bind(b, B_BI, bi, NULL, 0);
}

static void eq_text(qb *b, const char *alias, const char *col_eq, const char *text)
{
    sql3(b, " AND ", alias, col_eq);
    add_bind(b, B_TEXT, NULL, text, 0);
}

/* "(?, ?, ...)" binding n blind indexes */
static void bi_list(qb *b, const uint8_t *bis, size_t n)
{
    size_t i;

    sql(b, "(");
    for (i = 0; i < n && b->e == DV_OK; i++) {
        sql(b, i ? ", ?" : "?");
        add_bind(b, B_BI, bis + i * INDEX_BI_BYTES, NULL, 0);
    }
    sql(b, ")");
}

static int set(const char *s)
{
    return s && s[0] != '\0';
}

/* The deepest level any filter of q names (0 when none). */
static int deepest(const index_query *q)
{
    if (q->sop_bi || set(q->sop_class))
        return INDEX_LEVEL_INSTANCE;
    if (q->series_bi || set(q->modality))
        return INDEX_LEVEL_SERIES;
    if (q->acc_bi || q->n_months || q->study_bi)
        return INDEX_LEVEL_STUDY;
    if (q->patient_bi || q->n_names)
        return INDEX_LEVEL_PATIENT;
    return 0;
}

/* Filters of levels lo..hi, on the aliases in a[]. */
static void filters(qb *b, const index_query *q, int lo, int hi, const char *const *a)
{
    if (lo <= INDEX_LEVEL_PATIENT && hi >= INDEX_LEVEL_PATIENT) {
        if (q->patient_bi)
            eq_bi(b, a[0], ".pid_bi = ?", q->patient_bi);
        if (q->n_names) {
            sql3(b, " AND ", a[0],
                 ".id IN (SELECT n.patient_id FROM patient_name_bi n WHERE n.bi IN ");
            bi_list(b, q->name_bis, q->n_names);
            sql(b, ")");
        }
    }
    if (lo <= INDEX_LEVEL_STUDY && hi >= INDEX_LEVEL_STUDY) {
        if (q->study_bi)
            eq_bi(b, a[1], ".uid_bi = ?", q->study_bi);
        if (q->acc_bi)
            eq_bi(b, a[1], ".acc_bi = ?", q->acc_bi);
        if (q->n_months) {
            sql3(b, " AND ", a[1], ".month_bi IN ");
            bi_list(b, q->month_bis, q->n_months);
        }
    }
    if (lo <= INDEX_LEVEL_SERIES && hi >= INDEX_LEVEL_SERIES) {
        if (q->series_bi)
            eq_bi(b, a[2], ".uid_bi = ?", q->series_bi);
        if (set(q->modality))
            eq_text(b, a[2], ".modality = ?", q->modality);
    }
    if (lo <= INDEX_LEVEL_INSTANCE && hi >= INDEX_LEVEL_INSTANCE) {
        if (q->sop_bi)
            eq_bi(b, a[3], ".uid_bi = ?", q->sop_bi);
        if (set(q->sop_class))
            eq_text(b, a[3], ".sop_class = ?", q->sop_class);
    }
}

/* Does q filter on a level <= l? */
static int filtered_upto(const index_query *q, int l)
{
    if (q->patient_bi || q->n_names)
        return 1;
    if (l >= INDEX_LEVEL_STUDY && (q->acc_bi || q->n_months || q->study_bi))
        return 1;
    if (l >= INDEX_LEVEL_SERIES && (q->series_bi || set(q->modality)))
        return 1;
    return l >= INDEX_LEVEL_INSTANCE && (q->sop_bi || set(q->sop_class));
}

/* Does q name a (nearly) unique blind index below level l? */
static int unique_below(const index_query *q, int l)
{
    if (l < INDEX_LEVEL_STUDY && (q->study_bi || q->acc_bi))
        return 1;
    if (l < INDEX_LEVEL_SERIES && q->series_bi)
        return 1;
    return l < INDEX_LEVEL_INSTANCE && q->sop_bi;
}

/* The filters of levels l+1..d, as one of
 *   " AND <L>.id IN (SELECT <child>.<parent> FROM <children down to d> WHERE ...)"
 *     when the deeper filters are what narrows the rows (a UID, or no filter of our own):
 *     the subquery's few rows drive the lookup;
 *   " AND EXISTS (SELECT 1 FROM <children down to d> WHERE <child>.<parent> = <L>.id ...)"
 *     when our own filters narrow the rows and the deeper ones are broad (modality, SOP
 *     class, months): each row found is checked through the parent index. */
static void descendants(qb *b, const index_query *q, int l, int d)
{
    int in = !filtered_upto(q, l) || unique_below(q, l);
    int k;

    if (in) {
        sql3(b, " AND ", OUTER[l - 1], ".id IN (SELECT ");
        sql3(b, INNER[l], ".", PARENT_COL[l]);
    } else {
        sql(b, " AND EXISTS (SELECT 1");
    }
    sql3(b, " FROM ", TABLE[l], " ");
    sql(b, INNER[l]);
    for (k = l + 1; k < d; k++) {
        sql3(b, " JOIN ", TABLE[k], " ");
        sql3(b, INNER[k], " ON ", INNER[k]);
        sql3(b, ".", PARENT_COL[k], " = ");
        sql3(b, INNER[k - 1], ".id", "");
    }
    if (in) {
        sql(b, " WHERE 1=1");
    } else {
        sql3(b, " WHERE ", INNER[l], ".");
        sql3(b, PARENT_COL[l], " = ", OUTER[l - 1]);
        sql(b, ".id");
    }
    filters(b, q, l + 1, d, INNER);
    sql(b, ")");
}

static void build(qb *b, const index_query *q)
{
    static const char *const SELECT[4] = {SQ_SELECT_P, SQ_SELECT_ST, SQ_SELECT_SE, SQ_SELECT_I};
    int l = (int)q->level;
    int d = deepest(q);

    sql(b, SELECT[l - 1]);
    sql(b, " WHERE 1=1");
    filters(b, q, INDEX_LEVEL_PATIENT, l, OUTER);
    if (d > l)
        descendants(b, q, l, d);
    sql3(b, d ? " ORDER BY +" : " ORDER BY ", OUTER[l - 1], ".id LIMIT ? OFFSET ?");
    add_bind(b, B_INT, NULL, NULL, q->limit ? (int64_t)q->limit : -1);
    add_bind(b, B_INT, NULL, NULL, (int64_t)q->offset);
}

static int bind_all(sqlite3_stmt *st, const qb *b)
{
    const bind *x = (const bind *)(const void *)b->binds.p;
    size_t n = b->binds.len / sizeof(bind), i;
    int rc = SQLITE_OK;

    for (i = 0; i < n && rc == SQLITE_OK; i++) {
        switch (x[i].kind) {
        case B_BI:
            rc = index_sq_bi(st, (int)i + 1, x[i].bi);
            break;
        case B_TEXT:
            rc = index_sq_text(st, (int)i + 1, x[i].text);
            break;
        case B_INT:
            rc = index_sq_int(st, (int)i + 1, x[i].v);
            break;
        }
    }
    return rc;
}

/* Builds and prepares the statement for q, with prefix ("" or "EXPLAIN QUERY PLAN "). */
static dv_err prepare(index_db *db, const index_query *q, const char *prefix, sqlite3_stmt **out,
                      dv_errinfo *ei)
{
    qb b;
    int rc;
    dv_err e;

    *out = NULL;
    if (q->level < INDEX_LEVEL_PATIENT || q->level > INDEX_LEVEL_INSTANCE) /* plan skips index.c */
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "index: query level out of range");
    dv_buf_init(&b.sql, SQL_MAX);
    dv_buf_init(&b.binds, BINDS_MAX * sizeof(bind));
    b.e = DV_OK;
    sql(&b, prefix);
    build(&b, q);
    e = b.e;
    if (e != DV_OK) {
        e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "index: find: cannot build the query");
    } else {
        rc = sqlite3_prepare_v2(sq_of(db)->h, (const char *)b.sql.p, (int)b.sql.len, out, NULL);
        if (rc == SQLITE_OK)
            rc = bind_all(*out, &b);
        if (rc != SQLITE_OK)
            e = index_sq_fail(db, rc, "find", ei);
    }
    if (e != DV_OK) {
        (void)sqlite3_finalize(*out); /* NULL is a no-op */
        *out = NULL;
    }
    dv_buf_release(&b.sql);
    dv_buf_release(&b.binds);
    return e;
}

dv_err index_sq_find(index_db *db, const index_query *q, index_row_fn fn, void *ctx, uint64_t *n,
                     dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = prepare(db, q, "", &st, ei);

    if (e != DV_OK)
        return e;
    e = index_sq_each_row(db, st, q->level, fn, ctx, n, ei);
    (void)sqlite3_finalize(st); /* repeats an error index_sq_each_row has reported */
    return e;
}

dv_err index_sqlite_plan(index_db *db, const index_query *q, dv_buf *out, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    const unsigned char *detail;
    dv_err e = prepare(db, q, "EXPLAIN QUERY PLAN ", &st, ei);
    int rc = SQLITE_ROW;

    if (e != DV_OK)
        return e;
    while (e == DV_OK) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        detail = sqlite3_column_text(st, 3);
        e = dv_buf_printf(out, "%s\n", detail ? (const char *)detail : "");
    }
    if (e == DV_OK && rc != SQLITE_DONE)
        e = index_sq_fail(db, rc, "explain", ei);
    (void)sqlite3_finalize(st); /* repeats a step error handled above */
    return e;
}
