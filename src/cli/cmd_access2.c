/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_access2.c - `dcmvault grant`, `revoke`, `grants`, `approvals`, `alerts`, `breakglass`.
 *
 * Grants and requests are shown by number, grantee, times and a short prefix of the target's
 * blind index: never by patient or study identifiers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cmd_access.h"
#include "cli/cmd_access_int.h"

#include "common/banned.h"

/* "+30s", "+15m", "+8h", "+7d", "@UNIXTIME", "YYYY-MM-DD" (end of that day, UTC) or
 * "YYYY-MM-DDTHH:MM:SSZ" -> unix seconds; -1 when not one of these. */
static int64_t parse_until(const char *s, int64_t now)
{
    struct tm tm;
    char *end;
    long long n;

    if (s[0] == '+' || s[0] == '@') {
        errno = 0;
        n = strtoll(s + 1, &end, 10);
        if (errno || end == s + 1 || n < 0 || n > 100LL * 365 * 86400)
            return -1;
        if (s[0] == '@')
            return *end ? -1 : (int64_t)n;
        if (!strcmp(end, "s"))
            return now + n;
        if (!strcmp(end, "m"))
            return now + n * 60;
        if (!strcmp(end, "h"))
            return now + n * 3600;
        if (!strcmp(end, "d"))
            return now + n * 86400;
        return -1;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end && !*end)
        return (int64_t)timegm(&tm);
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%d", &tm);
    if (end && !*end)
        return (int64_t)timegm(&tm) + 86400 - 1;
    return -1;
}

static void fmt_time(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        (void)snprintf(out, cap, "-");
}

/* ---- grant / revoke / grants ------------------------------------------------------------- */

int cmd_grant(int argc, char **argv)
{
    const char *group = NULL, *study = NULL, *patient = NULL, *until = NULL, *reason = NULL;
    acc_opt opts[] = {{"--group", &group, NULL},
                      {"--study", &study, NULL},
                      {"--patient", &patient, NULL},
                      {"--until", &until, NULL},
                      {"--reason", &reason, NULL}};
    acc_args a = {{NULL, NULL, NULL}, NULL, opts, 5, {NULL}, 0};
    vault_grant_in g;
    cli_session s;
    dv_errinfo ei;
    vault *v = NULL;
    int64_t id = 0;
    int rc;
    dv_err e;

    if (cli_wants_help(argc, argv)) {
        printf("usage: dcmvault grant USER | --group TEAM  --study UID | --patient ID\n"
               "                      --until WHEN --reason TEXT\n"
               "A care relationship until WHEN (+8h, +7d, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ,\n"
               "@unixtime).  Administrators assign; a radiologist shares a study they hold a\n"
               "grant for.  Nobody grants to themselves.  TEXT must not hold patient data.\n");
        return DV_EXIT_OK;
    }
    rc = acc_parse("grant", argc, argv, 1, &a);
    if (!rc && (!until || !reason || (a.npos == 1) == (group != NULL) || a.npos > 1)) {
        fprintf(stderr, "dcmvault grant: give USER or --group, --study or --patient, --until "
                        "and --reason (see --help)\n");
        rc = DV_EXIT_USAGE;
    }
    memset(&g, 0, sizeof(g));
    g.until = until ? parse_until(until, (int64_t)time(NULL)) : -1;
    if (!rc && g.until < 0) {
        fprintf(stderr, "dcmvault grant: --until: not a time (see --help)\n");
        rc = DV_EXIT_USAGE;
    }
    if (!rc)
        rc = acc_open("grant", &a, &v, &s);
    if (rc)
        return rc;
    g.grantee = group ? group : a.pos[0];
    g.group = group != NULL;
    g.study_uid = study;
    g.patient_id = patient;
    g.reason = reason;
    e = vault_grant(v, &s.ctx, &g, &id, &ei);
    vault_close(v);
    cli_session_wipe(&s);
    if (e)
        return acc_fail("grant", e, &ei);
    printf("grant %lld to %s%s\n", (long long)id, g.group ? "team " : "", g.grantee);
    return acc_done();
}

int cmd_revoke(int argc, char **argv)
{
    acc_args a = {{NULL, NULL, NULL}, NULL, NULL, 0, {NULL}, 0};
    cli_session s;
    dv_errinfo ei;
    vault *v = NULL;
    int rc = acc_parse("revoke", argc, argv, 1, &a);
    dv_err e;

    if (!rc && a.npos != 1)
        rc = DV_EXIT_USAGE;
    if (!rc)
        rc = acc_open("revoke", &a, &v, &s);
    if (rc)
        return rc;
    e = vault_revoke(v, &s.ctx, strtoll(a.pos[0], NULL, 10), &ei);
    vault_close(v);
    cli_session_wipe(&s);
    if (e)
        return acc_fail("revoke", e, &ei);
    printf("grant %s revoked\n", a.pos[0]);
    return acc_done();
}

static dv_err print_grant(void *cb, const vault_grant_info *g)
{
    char c[32], x[32];

    (void)cb;
    fmt_time(g->created, c, sizeof(c));
    fmt_time(g->expires, x, sizeof(x));
    printf("grant %lld: %s%s -> %s %s... from %s until %s (%s, by %s)\n", (long long)g->id,
           g->group ? "team " : "", g->grantee, g->patient ? "patient" : "study", g->target, c, x,
           g->source, g->created_by);
    return DV_OK;
}

int cmd_grants(int argc, char **argv)
{
    const char *user = NULL;
    int mine = 0;
    acc_opt opts[] = {{"--user", &user, NULL}, {"--mine", NULL, &mine}};
    acc_args a = {{NULL, NULL, NULL}, NULL, opts, 2, {NULL}, 0};
    vault_whoami w;
    cli_session s;
    dv_errinfo ei;
    vault *v = NULL;
    int rc = acc_parse("grants", argc, argv, 1, &a);
    dv_err e = DV_OK;

    if (!rc && a.npos)
        rc = DV_EXIT_USAGE;
    if (!rc)
        rc = acc_open("grants", &a, &v, &s);
    if (rc)
        return rc;
    if (mine) {
        e = vault_whoami_get(v, &s.ctx, &w, &ei);
        user = w.user;
    }
    if (!e)
        e = vault_grants(v, &s.ctx, user, print_grant, NULL, &ei);
    vault_close(v);
    cli_session_wipe(&s);
    return e ? acc_fail("grants", e, &ei) : acc_done();
}

static int breakglass_stop(acc_args *a, const char *idtext)
{
    cli_session s;
    dv_errinfo ei;
    vault *v = NULL;
    char *end;
    long long id = strtoll(idtext, &end, 10);
    int rc;
    dv_err e;

    if (*end || id <= 0 || a->npos) {
        fprintf(stderr, "usage: dcmvault breakglass --stop ID\n");
        return DV_EXIT_USAGE;
    }
    rc = acc_open("breakglass", a, &v, &s);
    if (rc)
        return rc;
    e = vault_breakglass_stop(v, &s.ctx, (int64_t)id, &ei);
    vault_close(v);
    cli_session_wipe(&s);
    if (e)
        return acc_fail("breakglass", e, &ei);
    printf("emergency override %lld stopped\n", id);
    return acc_done();
}

int cmd_breakglass(int argc, char **argv)
{
    const char *study = NULL, *reason = NULL, *stop = NULL;
    acc_opt opts[] = {
        {"--study", &study, NULL}, {"--reason", &reason, NULL}, {"--stop", &stop, NULL}};
    acc_args a = {{NULL, NULL, NULL, NULL}, NULL, opts, 3, {NULL}, 0};
    cli_session s;
    dv_errinfo ei;
    vault *v = NULL;
    int64_t id = 0;
    int rc = acc_parse("breakglass", argc, argv, 1, &a);
    dv_err e;

    if (!rc && stop && !study && !reason)
        return breakglass_stop(&a, stop);
    if (!rc && (!study || !reason || a.npos)) {
        fprintf(stderr, "usage: dcmvault breakglass --study UID --reason TEXT | --stop ID\n");
        rc = DV_EXIT_USAGE;
    }
    if (!rc)
        rc = acc_open("breakglass", &a, &v, &s);
    if (rc)
        return rc;
    e = vault_breakglass(v, &s.ctx, study, reason, &id, &ei);
    vault_close(v);
    cli_session_wipe(&s);
    if (e)
        return acc_fail("breakglass", e, &ei);
    printf("emergency override %lld started: the study is open to you for a limited time; the "
           "privacy officer is alerted\n",
           (long long)id);
    return acc_done();
}

/* ---- approvals / alerts --------------------------------------------------------------------- */

static dv_err print_approval(void *cb, const vault_approval_info *r)
{
    char c[32];

    (void)cb;
    fmt_time(r->created, c, sizeof(c));
    printf("request %lld: %s %s by %s at %s: %llu studies, %llu patients, %llu bytes (%s)%s%s\n",
           (long long)r->id, r->state, r->action, r->requester, c, (unsigned long long)r->studies,
           (unsigned long long)r->patients, (unsigned long long)r->bytes, r->reason,
           r->decided_by[0] ? " decided by " : "", r->decided_by);
    return DV_OK;
}

static dv_err print_alert(void *cb, const vault_alert_info *al)
{
    char t[32];

    (void)cb;
    fmt_time(al->time, t, sizeof(t));
    printf("alert %lld: %s severity %d user %s rule %s: %s%s%s\n", (long long)al->id, t,
           al->severity, al->user, al->rule, al->detail,
           al->acked_by[0] ? " (acknowledged by " : "", al->acked_by[0] ? al->acked_by : "");
    if (al->acked_by[0])
        printf(")\n");
    return DV_OK;
}

static dv_err two_level(vault *v, const vault_ctx *ctx, const char *cmd, const acc_args *a, int all,
                        dv_errinfo *ei)
{
    const char *sub = a->npos ? a->pos[0] : "list";
    int64_t id = a->npos > 1 ? strtoll(a->pos[1], NULL, 10) : 0;
    int lifted = 0;
    dv_err e;

    if (!strcmp(sub, "list"))
        return !strcmp(cmd, "approvals") ? vault_approvals(v, ctx, !all, print_approval, NULL, ei)
                                         : vault_alerts(v, ctx, !all, print_alert, NULL, ei);
    if (a->npos != 2)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "see dcmvault %s --help", cmd);
    if (!strcmp(cmd, "approvals") && (!strcmp(sub, "approve") || !strcmp(sub, "deny"))) {
        e = vault_approval_decide(v, ctx, id, !strcmp(sub, "approve"), ei);
        if (!e)
            printf("request %lld %s\n", (long long)id,
                   !strcmp(sub, "approve") ? "approved" : "denied");
        return e;
    }
    if (!strcmp(cmd, "alerts") && !strcmp(sub, "ack")) {
        e = vault_alert_ack(v, ctx, id, ei);
        if (!e)
            printf("alert %lld acknowledged\n", (long long)id);
        return e;
    }
    if (!strcmp(cmd, "alerts") && !strcmp(sub, "lift")) {
        e = vault_lift(v, ctx, a->pos[1], &lifted, ei);
        if (!e)
            printf("%s: %s\n", a->pos[1],
                   lifted ? "suspension lifted"
                          : "lift recorded; the other of administrator / privacy officer must "
                            "lift it too");
        return e;
    }
    return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "see dcmvault %s --help", cmd);
}

static int approvals_or_alerts(const char *cmd, int argc, char **argv)
{
    int all = 0;
    acc_opt opts[] = {{"--all", NULL, &all}};
    acc_args a = {{NULL, NULL, NULL}, NULL, opts, 1, {NULL}, 0};
    cli_session s;
    dv_errinfo ei;
    vault *v = NULL;
    int rc;
    dv_err e;

    if (cli_wants_help(argc, argv)) {
        if (!strcmp(cmd, "approvals"))
            printf("usage: dcmvault approvals [list [--all] | approve ID | deny ID]\n"
                   "Pending requests (bulk or over-quota exports, legal/quality exports, exports\n"
                   "under break-glass).  Another user than the requester decides.\n");
        else
            printf("usage: dcmvault alerts [list [--all] | ack ID | lift USER]\n"
                   "Anomaly alerts.  A severe one suspends the account until an administrator\n"
                   "and a privacy officer have both run `alerts lift USER`.\n");
        return DV_EXIT_OK;
    }
    rc = acc_parse(cmd, argc, argv, 1, &a);
    if (!rc)
        rc = acc_open(cmd, &a, &v, &s);
    if (rc)
        return rc;
    dv_errinfo_clear(&ei);
    e = two_level(v, &s.ctx, cmd, &a, all, &ei);
    vault_close(v);
    cli_session_wipe(&s);
    return e ? acc_fail(cmd, e, &ei) : acc_done();
}

int cmd_approvals(int argc, char **argv)
{
    return approvals_or_alerts("approvals", argc, argv);
}

int cmd_alerts(int argc, char **argv)
{
    return approvals_or_alerts("alerts", argc, argv);
}
