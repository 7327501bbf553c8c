/* SPDX-License-Identifier: Apache-2.0 */
/* access_sqlite2.c - SQLite backend of the access tables: access log, approvals, alerts, VIP.
 *
 * Same rules as access_sqlite.c: every argument checked, every stored value checked when read.
 */
#include <string.h>

#include "common/dv.h"
#include "index/access_int.h"
#include "index/index.h"
#include "index/sqlite_int.h"
#include "index/sqlite_step.h"

#include "common/banned.h"

static int word_ok(const char *s)
{
    return index_acc_name_ok(s) && strlen(s) <= INDEX_WORD_MAX;
}

/* ---- access log ---------------------------------------------------------------------------- */

dv_err index_alog_insert(index_db *db, const index_alog *r, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    if (!index_acc_name_ok(r->user) || !word_ok(r->action) || r->bytes > (uint64_t)INT64_MAX)
        return index_acc_bad(ei, "access log user, action or size bad");
    e = index_sq_stmt(db, Q_ALOG_INSERT,
                      "INSERT INTO access_log(time, user, action, outcome, reason, study_bi,"
                      " patient_bi, bytes) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                      &st, ei);
    if (e)
        return e;
    rc = index_sq_int(st, 1, r->time) | index_sq_text(st, 2, r->user) |
         index_sq_text(st, 3, r->action) | index_sq_int(st, 4, r->outcome) |
         index_sq_int(st, 5, r->reason) | index_sq_bi_null(st, 6, r->study_bi) |
         index_sq_bi_null(st, 7, r->patient_bi) | index_sq_int(st, 8, (int64_t)r->bytes);
    e = index_acc_bind(db, st, rc, ei);
    return e ? e : index_sq_exec(db, st, "insert access log", ei);
}

static dv_err alog_bind(index_db *db, sqlite3_stmt *st, const char *user, const char *action,
                        int outcome, int64_t since, dv_errinfo *ei)
{
    int rc = index_sq_text(st, 1, user) | index_sq_int(st, 4, since) |
             index_sq_int(st, 3, outcome) |
             (action ? index_sq_text(st, 2, action) : sqlite3_bind_null(st, 2));

    return index_acc_bind(db, st, rc, ei);
}

#define ALOG_WHERE                                                     \
    " FROM access_log WHERE user = ?1 AND (?2 IS NULL OR action = ?2)" \
    " AND (?3 < 0 OR outcome = ?3) AND time >= ?4"

static dv_err alog_seen(index_db *db, const char *user, const char *action, int outcome,
                        int64_t since, const uint8_t *patient, int *seen, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e = index_sq_stmt(db, Q_ALOG_SEEN, "SELECT 1" ALOG_WHERE " AND patient_bi = ?5 LIMIT 1",
                             &st, ei);
    int rc;

    if (!e)
        e = alog_bind(db, st, user, action, outcome, since, ei);
    if (!e)
        e = index_acc_bind(db, st, index_sq_bi(st, 5, patient), ei);
    if (e)
        return e;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        *seen = rc == SQLITE_ROW;
    else
        e = index_sq_fail(db, rc, "access log", ei);
    index_sq_reset(st);
    return e;
}

dv_err index_alog_stats_get(index_db *db, const char *user, const char *action, int outcome,
                            int64_t since, const uint8_t *patient, index_alog_stats *out,
                            dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    memset(out, 0, sizeof(*out));
    if (!index_acc_name_ok(user) || (action && !word_ok(action)))
        return index_acc_bad(ei, "access log user or action bad");
    e = index_sq_stmt(db, Q_ALOG_STATS,
                      "SELECT count(*), coalesce(sum(bytes), 0), count(DISTINCT patient_bi),"
                      " coalesce(max(time), 0)" ALOG_WHERE,
                      &st, ei);
    if (!e)
        e = alog_bind(db, st, user, action, outcome, since, ei);
    if (e)
        return e;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int64_t rows = sqlite3_column_int64(st, 0), bytes = sqlite3_column_int64(st, 1);
        int64_t pats = sqlite3_column_int64(st, 2);

        if (rows < 0 || bytes < 0 || pats < 0)
            e = index_acc_stored(ei, "access log");
        out->rows = (uint64_t)rows;
        out->bytes = (uint64_t)bytes;
        out->patients = (uint64_t)pats;
        out->last_time = sqlite3_column_int64(st, 3);
    } else {
        e = index_sq_fail(db, rc, "access log", ei);
    }
    index_sq_reset(st);
    if (!e && patient)
        e = alog_seen(db, user, action, outcome, since, patient, &out->patient_seen, ei);
    return e;
}

/* ---- approvals ----------------------------------------------------------------------------- */

#define APPR_COLS                                                                       \
    "SELECT id, requester, action, target_bi, studies, patients, bytes, reason, state," \
    " decided_by, created, decided, expires FROM approval"

dv_err index_approval_insert(index_db *db, index_approval *a, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    if (!index_acc_name_ok(a->requester) || !word_ok(a->action) || !word_ok(a->state) ||
        !index_acc_text_ok(a->reason, 1, INDEX_REASON_MAX) || a->studies > INT64_MAX ||
        a->patients > INT64_MAX || a->bytes > INT64_MAX)
        return index_acc_bad(ei, "approval requester, action, state, reason or count bad");
    e = index_sq_stmt(db, Q_APPR_INSERT,
                      "INSERT INTO approval(requester, action, target_bi, studies, patients, bytes,"
                      " reason, state, created, expires) VALUES(?,?,?,?,?,?,?,?,?,?)",
                      &st, ei);
    if (e)
        return e;
    rc = index_sq_text(st, 1, a->requester) | index_sq_text(st, 2, a->action) |
         index_sq_bi(st, 3, a->target_bi) | index_sq_int(st, 4, (int64_t)a->studies) |
         index_sq_int(st, 5, (int64_t)a->patients) | index_sq_int(st, 6, (int64_t)a->bytes) |
         index_sq_text(st, 7, a->reason) | index_sq_text(st, 8, a->state) |
         index_sq_int(st, 9, a->created) | index_sq_int(st, 10, a->expires);
    e = index_acc_bind(db, st, rc, ei);
    return e ? e : index_sq_exec_insert(db, st, "insert approval", &a->id, ei);
}

static dv_err appr_read(sqlite3_stmt *st, void *row, dv_errinfo *ei)
{
    index_approval *a = row;
    int64_t n[3];
    int i;

    memset(a, 0, sizeof(*a));
    a->id = sqlite3_column_int64(st, 0);
    for (i = 0; i < 3; i++)
        n[i] = sqlite3_column_int64(st, 4 + i);
    if (!index_acc_col_text(st, 1, a->requester, INDEX_USER_NAME_MAX) ||
        !index_acc_col_text(st, 2, a->action, INDEX_WORD_MAX) ||
        !index_sq_col_bi(st, 3, a->target_bi) ||
        !index_acc_col_text(st, 7, a->reason, INDEX_REASON_MAX) ||
        !index_acc_col_text(st, 8, a->state, INDEX_WORD_MAX) ||
        !index_acc_col_text(st, 9, a->decided_by, INDEX_USER_NAME_MAX) || n[0] < 0 || n[1] < 0 ||
        n[2] < 0)
        return index_acc_stored(ei, "approval");
    a->studies = (uint64_t)n[0];
    a->patients = (uint64_t)n[1];
    a->bytes = (uint64_t)n[2];
    a->created = sqlite3_column_int64(st, 10);
    a->decided = sqlite3_column_int64(st, 11);
    a->expires = sqlite3_column_int64(st, 12);
    return DV_OK;
}

dv_err index_approval_get(index_db *db, int64_t id, index_approval *out, dv_errinfo *ei)
{
    dv_errinfo_clear(ei);
    return index_sq_get_id(db, Q_APPR_GET, APPR_COLS " WHERE id = ?", id, appr_read, out,
                           "index: no such approval", "get approval", ei);
}

dv_err index_approval_decide(index_db *db, int64_t id, const char *from_state, const char *state,
                             const char *by, int64_t when, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    if (!word_ok(from_state) || !word_ok(state) || !index_acc_name_ok(by))
        return index_acc_bad(ei, "approval state or decider bad");
    e = index_sq_stmt(db, Q_APPR_DECIDE,
                      "UPDATE approval SET state = ?1, decided_by = ?2, decided = ?3"
                      " WHERE id = ?4 AND state = ?5",
                      &st, ei);
    if (e)
        return e;
    rc = index_sq_text(st, 1, state) | index_sq_text(st, 2, by) | index_sq_int(st, 3, when) |
         index_sq_int(st, 4, id) | index_sq_text(st, 5, from_state);
    e = index_acc_bind(db, st, rc, ei);
    return e ? e
             : index_sq_exec_one(db, st, "decide approval", DV_EEXIST,
                                 "index: the approval is not in the expected state", ei);
}

dv_err index_approval_find(index_db *db, const char *requester, const char *action,
                           const uint8_t *target_bi, int64_t now, int64_t *id, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    *id = 0;
    if (!index_acc_name_ok(requester) || !word_ok(action))
        return index_acc_bad(ei, "approval requester or action bad");
    e = index_sq_stmt(db, Q_APPR_FIND,
                      "SELECT id FROM approval WHERE requester = ? AND action = ? AND target_bi = ?"
                      " AND state = 'approved' AND expires > ? ORDER BY id LIMIT 1",
                      &st, ei);
    if (e)
        return e;
    rc = index_sq_text(st, 1, requester) | index_sq_text(st, 2, action) |
         index_sq_bi(st, 3, target_bi) | index_sq_int(st, 4, now);
    e = index_acc_bind(db, st, rc, ei);
    if (e)
        return e;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        e = index_sq_fail(db, rc, "find approval", ei);
    index_sq_reset(st);
    return e;
}

dv_err index_approval_list(index_db *db, const char *state,
                           dv_err (*fn)(void *ctx, const index_approval *a), void *ctx,
                           dv_errinfo *ei)
{
    index_approval a;
    sqlite3_stmt *st;
    dv_err e;

    dv_errinfo_clear(ei);
    if (state && !word_ok(state))
        return index_acc_bad(ei, "approval state bad");
    if (state)
        e = index_sq_stmt(db, Q_APPR_LIST, APPR_COLS " WHERE state = ? ORDER BY id", &st, ei);
    else
        e = index_sq_stmt(db, Q_APPR_LIST_ALL, APPR_COLS " ORDER BY id", &st, ei);
    if (!e && state)
        e = index_acc_bind(db, st, index_sq_text(st, 1, state), ei);
    if (e)
        return e;
    while (index_sq_next(db, st, appr_read, &a, &e, "list approvals", ei))
        e = fn(ctx, &a);
    index_sq_reset(st);
    return e;
}

/* ---- alerts -------------------------------------------------------------------------------- */

dv_err index_alert_insert(index_db *db, index_alert *a, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    if (!index_acc_name_ok(a->user) || !word_ok(a->rule) || a->severity < 1 || a->severity > 3 ||
        !index_acc_text_ok(a->detail, 1, INDEX_REASON_MAX))
        return index_acc_bad(ei, "alert user, rule, severity or detail bad");
    e = index_sq_stmt(db, Q_ALERT_INSERT,
                      "INSERT INTO alert(time, user, rule, severity, detail) VALUES(?,?,?,?,?)",
                      &st, ei);
    if (e)
        return e;
    rc = index_sq_int(st, 1, a->time) | index_sq_text(st, 2, a->user) |
         index_sq_text(st, 3, a->rule) | index_sq_int(st, 4, a->severity) |
         index_sq_text(st, 5, a->detail);
    e = index_acc_bind(db, st, rc, ei);
    return e ? e : index_sq_exec_insert(db, st, "insert alert", &a->id, ei);
}

dv_err index_alert_ack(index_db *db, int64_t id, const char *by, int64_t when, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    if (!index_acc_name_ok(by))
        return index_acc_bad(ei, "bad user name");
    e = index_sq_stmt(db, Q_ALERT_ACK,
                      "UPDATE alert SET acked_by = ?1, acked = ?2 WHERE id = ?3 AND acked_by = ''",
                      &st, ei);
    if (e)
        return e;
    rc = index_sq_text(st, 1, by) | index_sq_int(st, 2, when) | index_sq_int(st, 3, id);
    e = index_acc_bind(db, st, rc, ei);
    return e ? e
             : index_sq_exec_one(db, st, "acknowledge alert", DV_ENOTFOUND,
                                 "index: no such alert, or already acknowledged", ei);
}

static dv_err alert_read(sqlite3_stmt *st, void *row, dv_errinfo *ei)
{
    index_alert *a = row;

    memset(a, 0, sizeof(*a));
    a->id = sqlite3_column_int64(st, 0);
    a->time = sqlite3_column_int64(st, 1);
    a->severity = sqlite3_column_int(st, 4);
    a->acked = sqlite3_column_int64(st, 7);
    if (!index_acc_col_text(st, 2, a->user, INDEX_USER_NAME_MAX) ||
        !index_acc_col_text(st, 3, a->rule, INDEX_WORD_MAX) ||
        !index_acc_col_text(st, 5, a->detail, INDEX_REASON_MAX) ||
        !index_acc_col_text(st, 6, a->acked_by, INDEX_USER_NAME_MAX))
        return index_acc_stored(ei, "alert");
    return DV_OK;
}

dv_err index_alert_list(index_db *db, int open_only, dv_err (*fn)(void *ctx, const index_alert *a),
                        void *ctx, dv_errinfo *ei)
{
    index_alert a;
    sqlite3_stmt *st = NULL;
    dv_err e;

    dv_errinfo_clear(ei);
    e = index_sq_stmt(db, Q_ALERT_LIST,
                      "SELECT id, time, user, rule, severity, detail, acked_by, acked FROM alert"
                      " WHERE (?1 = 0 OR acked_by = '') ORDER BY id",
                      &st, ei);
    if (!e)
        e = index_acc_bind(db, st, index_sq_int(st, 1, open_only != 0), ei);
    while (index_sq_next(db, st, alert_read, &a, &e, "list alerts", ei))
        e = fn(ctx, &a);
    if (st)
        index_sq_reset(st);
    return e;
}

dv_err index_alert_count(index_db *db, const char *user, const char *rule, int64_t since,
                         uint64_t *n, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    *n = 0;
    if (!index_acc_name_ok(user) || !word_ok(rule))
        return index_acc_bad(ei, "alert user or rule bad");
    e = index_sq_stmt(db, Q_ALERT_COUNT,
                      "SELECT count(*) FROM alert WHERE user = ? AND rule = ? AND time >= ?", &st,
                      ei);
    if (e)
        return e;
    rc = index_sq_text(st, 1, user) | index_sq_text(st, 2, rule) | index_sq_int(st, 3, since);
    e = index_acc_bind(db, st, rc, ei);
    if (e)
        return e;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = (uint64_t)sqlite3_column_int64(st, 0);
    else
        e = index_sq_fail(db, rc, "count alerts", ei);
    index_sq_reset(st);
    return e;
}

/* ---- VIP flags ----------------------------------------------------------------------------- */

dv_err index_vip_set(index_db *db, const uint8_t *patient_bi, int on, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;

    dv_errinfo_clear(ei);
    if (on)
        e = index_sq_stmt(db, Q_VIP_SET, "INSERT OR IGNORE INTO vip(patient_bi) VALUES(?)", &st,
                          ei);
    else
        e = index_sq_stmt(db, Q_VIP_CLEAR, "DELETE FROM vip WHERE patient_bi = ?", &st, ei);
    if (!e)
        e = index_acc_bind(db, st, index_sq_bi(st, 1, patient_bi), ei);
    return e ? e : index_sq_exec(db, st, "set VIP flag", ei);
}

dv_err index_vip_get(index_db *db, const uint8_t *patient_bi, int *on, dv_errinfo *ei)
{
    sqlite3_stmt *st;
    dv_err e;
    int rc;

    dv_errinfo_clear(ei);
    *on = 0;
    e = index_sq_stmt(db, Q_VIP_GET, "SELECT 1 FROM vip WHERE patient_bi = ?", &st, ei);
    if (!e)
        e = index_acc_bind(db, st, index_sq_bi(st, 1, patient_bi), ei);
    if (e)
        return e;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        *on = rc == SQLITE_ROW;
    else
        e = index_sq_fail(db, rc, "get VIP flag", ei);
    index_sq_reset(st);
    return e;
}
