/* SPDX-License-Identifier: Apache-2.0 */
/* guard.c - the bulk-export guard and the watchers: export usage for quotas, four-eyes
 * approvals, the access log, anomaly rules, alerts, suspension and its two-person lift.
 *
 * Invariants: an approval moves pending -> approved | denied, approved -> used, never back, and
 * never by its requester; a severe alert (severity 3) suspends its user; a suspension ends only
 * when an administrator and a privacy officer, two different people, have both lifted it.  A
 * rule raises at most one alert per user per window.  Alert details never hold PHI.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "access/access_int.h"

#include "common/banned.h"

#define HOUR 3600
#define DAY  86400

dv_err access_usage_get(const access_env *env, const char *user, const uint8_t *patient_bi,
                        int64_t now, access_usage *u, int *patient_seen, dv_errinfo *ei)
{
    index_alog_stats h, d;
    dv_err e;

    memset(u, 0, sizeof(*u));
    if (patient_seen)
        *patient_seen = 0;
    e = index_alog_stats_get(env->db, user, "export", 0, now - HOUR + 1, NULL, &h, ei);
    if (!e)
        e = index_alog_stats_get(env->db, user, "export", 0, now - DAY + 1, patient_bi, &d, ei);
    if (e)
        return e;
    u->studies_hour = h.rows;
    u->studies_day = d.rows;
    u->bytes_day = d.bytes;
    u->patients_day = d.patients;
    if (patient_seen)
        *patient_seen = d.patient_seen;
    return DV_OK;
}

/* ---- approvals ------------------------------------------------------------------------------ */

dv_err access_approval_request(const access_env *env, const char *user, access_action action,
                               const uint8_t *target_bi, const access_object *what,
                               const access_decision *why, int64_t now, int64_t *id, dv_errinfo *ei)
{
    index_approval a;
    dv_err e;

    *id = 0;
    memset(&a, 0, sizeof(a));
    if (strlen(user) > INDEX_USER_NAME_MAX)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "user name too long");
    memcpy(a.requester, user, strlen(user) + 1);
    (void)snprintf(a.action, sizeof(a.action), "%s", access_action_name(action));
    memcpy(a.target_bi, target_bi, ACCESS_BI_BYTES);
    a.studies = what->studies;
    a.patients = what->patients;
    a.bytes = what->bytes;
    (void)snprintf(a.reason, sizeof(a.reason), "%s", access_reason_text(why->reason));
    memcpy(a.state, "pending", sizeof("pending"));
    a.created = now;
    a.expires = now + env->pol->approval_seconds;
    e = index_approval_insert(env->db, &a, ei);
    if (!e)
        *id = a.id;
    return e;
}

dv_err access_approval_decide(const access_env *env, const char *approver, int64_t id, int approve,
                              int64_t now, dv_errinfo *ei)
{
    index_approval a;
    dv_err e = index_approval_get(env->db, id, &a, ei);

    if (e == DV_ENOTFOUND)
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "no such request");
    if (e)
        return e;
    if (!strcmp(a.requester, approver))
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG, "%s",
                       access_reason_text(ACCESS_R_SELF_APPROVAL));
    if (strcmp(a.state, "pending") != 0)
        return dv_fail(ei, DV_EEXIST, DV_NO_OFFSET, DV_NO_TAG, "the request is already %s",
                       a.state);
    if (a.expires <= now)
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG, "the request has expired");
    return index_approval_decide(env->db, id, "pending", approve ? "approved" : "denied", approver,
                                 now, ei);
}

dv_err access_approval_consume(const access_env *env, const char *user, access_action action,
                               const uint8_t *target_bi, int64_t now, int64_t *id, dv_errinfo *ei)
{
    dv_err e =
        index_approval_find(env->db, user, access_action_name(action), target_bi, now, id, ei);

    if (!e && *id)
        e = index_approval_decide(env->db, *id, "approved", "used", user, now, ei);
    return e;
}

/* ---- alerts, suspension, lifting ------------------------------------------------------------ */

dv_err access_suspend(const access_env *env, const char *user, dv_errinfo *ei)
{
    index_account a;
    dv_err e = access_account_load(env, user, &a, ei);

    if (e == DV_ENOTFOUND)
        return DV_OK; /* an alert about a name without an account suspends nobody */
    if (!e && !a.suspended) {
        a.suspended = 1;
        a.lift_admin[0] = a.lift_privacy[0] = '\0';
        e = index_account_update(env->db, &a, ei);
    }
    return e;
}

dv_err access_alert(const access_env *env, const char *user, const char *rule, int severity,
                    const char *detail, int64_t now, dv_errinfo *ei)
{
    index_alert a;
    dv_err e;

    memset(&a, 0, sizeof(a));
    a.time = now;
    (void)snprintf(a.user, sizeof(a.user), "%s", user);
    (void)snprintf(a.rule, sizeof(a.rule), "%s", rule);
    a.severity = severity;
    (void)snprintf(a.detail, sizeof(a.detail), "%s", detail);
    e = index_alert_insert(env->db, &a, ei);
    if (!e && env->pol->use_syslog)
        syslog(LOG_AUTHPRIV | (severity >= 3 ? LOG_ALERT : LOG_WARNING),
               "dcmvault alert %lld: user=%s rule=%s severity=%d", (long long)a.id, a.user, a.rule,
               severity);
    if (!e && severity >= 3)
        e = access_suspend(env, user, ei);
    return e;
}

dv_err access_lift(const access_env *env, const char *lifter, unsigned lifter_roles,
                   const char *user, int *lifted, dv_errinfo *ei)
{
    index_account a;
    dv_err e;

    *lifted = 0;
    if (!strcmp(lifter, user))
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG, "%s",
                       access_reason_text(ACCESS_R_SELF_LIFT));
    e = access_account_load(env, user, &a, ei);
    if (e)
        return e;
    if (!a.suspended)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "the account is not suspended");
    if (lifter_roles & ACCESS_ROLE_BIT(ACCESS_ADMIN))
        (void)snprintf(a.lift_admin, sizeof(a.lift_admin), "%s", lifter);
    else if (lifter_roles & ACCESS_ROLE_BIT(ACCESS_PRIVACY))
        (void)snprintf(a.lift_privacy, sizeof(a.lift_privacy), "%s", lifter);
    else
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                       "only an administrator or a privacy officer lifts a suspension");
    if (a.lift_admin[0] && a.lift_privacy[0] && strcmp(a.lift_admin, a.lift_privacy) != 0) {
        a.suspended = 0;
        a.lift_admin[0] = a.lift_privacy[0] = '\0';
        *lifted = 1;
    }
    return index_account_update(env->db, &a, ei);
}

/* ---- the access log and the anomaly rules ------------------------------------------------ */

/* Raises rule's alert unless one was raised for user within the window. */
static dv_err once(const access_env *env, const char *user, const char *rule, int severity,
                   const char *detail, int64_t now, unsigned *alerts, dv_errinfo *ei)
{
    uint64_t n = 0;
    dv_err e = index_alert_count(env->db, user, rule, now - env->pol->window_seconds + 1, &n, ei);

    if (e || n)
        return e;
    (*alerts)++;
    return access_alert(env, user, rule, severity, detail, now, ei);
}

static int off_hours(const access_policy *p, int64_t now)
{
    int64_t t = now + p->utc_offset;
    unsigned h = (unsigned)(((t % DAY) + DAY) % DAY / HOUR);

    if (p->offhours_start == p->offhours_end)
        return 0;
    if (p->offhours_start < p->offhours_end)
        return h >= p->offhours_start && h < p->offhours_end;
    return h >= p->offhours_start || h < p->offhours_end;
}

/* Rules on a denial: access without relationship, repeated denials. */
static dv_err denial_rules(const access_env *env, const access_subject *who,
                           const access_decision *d, int64_t now, unsigned *alerts, dv_errinfo *ei)
{
    index_alog_stats s;
    char detail[120];
    dv_err e = DV_OK;

    memset(&s, 0, sizeof(s));
    if (d->reason == ACCESS_R_NO_RELATIONSHIP) {
        (*alerts)++;
        e = access_alert(env, who->user, "no-relationship", 2,
                         "access to a study without a care relationship was refused", now, ei);
    }
    if (!e)
        e = index_alog_stats_get(env->db, who->user, NULL, 1, now - env->pol->window_seconds + 1,
                                 NULL, &s, ei);
    if (e || !env->pol->window_denials || s.rows < env->pol->window_denials)
        return e;
    (void)snprintf(detail, sizeof(detail), "%llu denied requests within %lld minutes",
                   (unsigned long long)s.rows, (long long)(env->pol->window_seconds / 60));
    return once(env, who->user, "repeated-denials", 3, detail, now, alerts, ei);
}

/* Rules on an allowed access to a patient: VIP, many patients, off-hours volume. */
static dv_err access_rules(const access_env *env, const access_subject *who,
                           const uint8_t *patient_bi, int64_t now, unsigned *alerts, dv_errinfo *ei)
{
    index_alog_stats v, x;
    uint64_t pats, rows;
    int64_t since = now - env->pol->window_seconds + 1;
    char detail[120];
    int vip = 0;
    dv_err e = index_vip_get(env->db, patient_bi, &vip, ei);

    if (!e && vip) {
        (*alerts)++;
        e = access_alert(env, who->user, "vip", 1, "access to a VIP-flagged patient", now, ei);
    }
    if (!e)
        e = index_alog_stats_get(env->db, who->user, "view", 0, since, NULL, &v, ei);
    if (!e)
        e = index_alog_stats_get(env->db, who->user, "export", 0, since, NULL, &x, ei);
    if (e)
        return e;
    pats = v.patients + x.patients;
    rows = v.rows + x.rows;
    if (env->pol->window_patients && pats >= env->pol->window_patients) {
        (void)snprintf(detail, sizeof(detail), "%llu distinct patients within %lld minutes",
                       (unsigned long long)pats, (long long)(env->pol->window_seconds / 60));
        e = once(env, who->user, "many-patients", 3, detail, now, alerts, ei);
    }
    if (!e && off_hours(env->pol, now) && env->pol->offhours_max &&
        rows >= env->pol->offhours_max) {
        (void)snprintf(detail, sizeof(detail), "%llu accesses to patient data at off hours",
                       (unsigned long long)rows);
        e = once(env, who->user, "off-hours", 2, detail, now, alerts, ei);
    }
    return e;
}

dv_err access_record(const access_env *env, const access_subject *who, access_action action,
                     const access_decision *d, const uint8_t *study_bi, const uint8_t *patient_bi,
                     uint64_t bytes, int64_t now, unsigned *alerts, dv_errinfo *ei)
{
    unsigned n = 0;
    index_alog r;
    dv_err e;

    memset(&r, 0, sizeof(r));
    r.time = now;
    r.user = who->user;
    r.action = access_action_name(action);
    r.outcome = (int)d->result;
    r.reason = (int)d->reason;
    r.study_bi = study_bi;
    r.patient_bi = patient_bi;
    r.bytes = bytes;
    e = index_alog_insert(env->db, &r, ei);
    if (!e && d->result == ACCESS_DENY)
        e = denial_rules(env, who, d, now, &n, ei);
    if (!e && d->result == ACCESS_ALLOW && patient_bi &&
        (action == ACCESS_VIEW || action == ACCESS_EXPORT))
        e = access_rules(env, who, patient_bi, now, &n, ei);
    if (alerts)
        *alerts = n;
    return e;
}
