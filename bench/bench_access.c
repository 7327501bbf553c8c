/* SPDX-License-Identifier: Apache-2.0 */
/* bench_access.c - driver for bench/bench_access.sh: the cost of the access decision point.
 *
 *   bench_access N DIR
 * Prints:
 *   decide <decisions per second>            access_decide over a mix of roles and actions
 *   row <nanoseconds per row>                what find adds per result row: the relationship
 *                                            from an in-memory set of 50 grants + a decision
 *   gate <microseconds per request>          what every vault request adds: session check,
 *                                            grants load, export usage, decision, access-log
 *                                            write (SQLite WAL, synchronous=FULL) in DIR
 * Each figure is the median of 5 runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "access/access.h"
#include "crypto/crypto.h"
#include "index/index.h"

#include "common/banned.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median5(double *v)
{
    qsort(v, 5, sizeof(v[0]), cmp);
    return v[2];
}

static volatile unsigned sink;

static double bench_decide(long n)
{
    access_policy pol;
    access_subject s;
    access_object o;
    access_decision d;
    double t0;
    long i;

    access_policy_default(&pol);
    memset(&s, 0, sizeof(s));
    memset(&o, 0, sizeof(o));
    s.user = "u";
    s.mfa = 1;
    o.quota.studies_hour = o.quota.studies_day = 100;
    o.quota.bytes_day = o.quota.patients_day = 100;
    o.studies = o.patients = 1;
    t0 = now_s();
    for (i = 0; i < n; i++) {
        s.roles = 1u << (i % ACCESS_ROLE_COUNT);
        s.purpose = (access_purpose)(i % ACCESS_PURPOSE_COUNT);
        o.rel = (access_rel)(i % ACCESS_REL_COUNT);
        sink += (unsigned)access_decide(&pol, &s, (access_action)(i % ACCESS_ACTION_COUNT), &o, &d);
    }
    return (double)n / (now_s() - t0);
}

static double bench_rows(long n)
{
    access_relset rs;
    access_policy pol;
    access_subject s = {"u", ACCESS_ROLE_BIT(ACCESS_RADIOLOGIST), ACCESS_P_TREAT, 1, 0, 0, 0};
    access_object o;
    access_decision d;
    uint8_t bi[ACCESS_BI_BYTES];
    double t0;
    long i;

    access_policy_default(&pol);
    memset(&rs, 0, sizeof(rs));
    rs.n = rs.cap = 50;
    rs.bi = calloc(50, ACCESS_BI_BYTES);
    rs.kind = calloc(50, 1);
    if (!rs.bi || !rs.kind)
        return 0;
    for (i = 0; i < 50; i++)
        crypto_random(rs.bi + i * ACCESS_BI_BYTES, ACCESS_BI_BYTES);
    memset(&o, 0, sizeof(o));
    t0 = now_s();
    for (i = 0; i < n; i++) {
        memcpy(bi, rs.bi + (size_t)(i % 100 < 50 ? i % 50 : 0) * ACCESS_BI_BYTES, sizeof(bi));
        bi[0] ^= (uint8_t)(i % 100 >= 50);
        o.rel = access_relset_of(&rs, bi, bi);
        sink += (unsigned)access_decide(&pol, &s, ACCESS_VIEW, &o, &d);
    }
    access_relset_free(&rs);
    return (now_s() - t0) * 1e9 / (double)n;
}

static dv_err seal_none(void *c, const char *u, const uint8_t *p, size_t l, uint8_t *o, size_t cap,
                        size_t *ol)
{
    (void)c;
    (void)u;
    (void)p;
    (void)l;
    (void)o;
    (void)cap;
    (void)ol;
    return DV_EUNSUPPORTED;
}

/* One request through the gate's steps, as vault/gate.c does them for an export. */
static int gate_once(const access_env *env, const char *token, const uint8_t *bi, int64_t t)
{
    access_session_info si;
    access_subject who;
    access_relset rs;
    access_object o;
    access_decision d;
    int seen = 0;

    memset(&o, 0, sizeof(o));
    if (access_session_open(env, token, t, &si, NULL) ||
        access_relset_load(env, si.user, si.team, t, &rs, NULL))
        return -1;
    o.rel = access_relset_of(&rs, bi, bi);
    access_relset_free(&rs);
    access_subject_of(&si, ACCESS_PURPOSE_COUNT, &who);
    if (access_usage_get(env, who.user, bi, t, &o.usage, &seen, NULL))
        return -1;
    access_policy_quota(env->pol, who.user, who.roles, &o.quota);
    o.studies = 1;
    o.patients = !seen;
    access_decide(env->pol, &who, ACCESS_EXPORT, &o, &d);
    return access_record(env, &who, ACCESS_EXPORT, &d, bi, bi, 1000, t, NULL, NULL) ? -1 : 0;
}

static double bench_gate(const char *dir, int n)
{
    char path[512], pw[ACCESS_ONETIME_LEN + 1];
    access_sealer sealer = {NULL, seal_none, seal_none};
    access_policy pol;
    access_env env;
    access_login_res res;
    access_grant_req g;
    uint8_t bi[ACCESS_BI_BYTES];
    index_db *db = NULL;
    int64_t t = (int64_t)time(NULL);
    double t0, r = -1;
    int i;

    (void)snprintf(path, sizeof(path), "%s/bench-access.sqlite", dir);
    (void)remove(path);
    if (index_open_sqlite(path, INDEX_OPEN_CREATE, &db, NULL))
        return -1;
    access_policy_default(&pol);
    pol.use_syslog = 0;
    pol.role_quota[ACCESS_MAINTENANCE].studies_hour = ACCESS_UNLIMITED;
    env.db = db;
    env.pol = &pol;
    env.sealer = &sealer;
    crypto_random(bi, sizeof(bi));
    memset(&g, 0, sizeof(g));
    g.grantee = "bench";
    g.target_bi = bi;
    g.expires = t + 3600;
    g.source = g.reason = g.created_by = "assignment";
    if (!access_user_add(&env, "bench", ACCESS_ROLE_BIT(ACCESS_MAINTENANCE), NULL, t, pw, NULL) &&
        !access_grant_add(&env, &g, t, NULL, NULL)) {
        access_login_req rq = {"bench", pw, NULL, "local", t};

        if (!access_login(&env, &rq, &res, NULL)) {
            t0 = now_s();
            for (i = 0; i < n; i++) { /* one transaction per request, as the vault's gate */
                if (index_begin(db, NULL) || gate_once(&env, res.token, bi, t) ||
                    index_commit(db, NULL))
                    break;
            }
            r = i == n ? (now_s() - t0) * 1e6 / n : -1;
        }
    }
    index_close(db);
    (void)remove(path);
    return r;
}

int main(int argc, char **argv)
{
    double d[5], rw[5], g[5];
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int i;

    if (argc < 3 || n <= 0 || crypto_init())
        return 2;
    for (i = 0; i < 5; i++) {
        d[i] = bench_decide(n);
        rw[i] = bench_rows(n);
        g[i] = bench_gate(argv[2], 50);
        if (g[i] < 0)
            return 1;
    }
    printf("decide %.0f\nrow %.1f\ngate %.1f\n", median5(d), median5(rw), median5(g));
    return 0;
}
