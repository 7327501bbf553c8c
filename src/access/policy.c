/* SPDX-License-Identifier: Apache-2.0 */
/* policy.c - the access policy: built-in defaults and DIR/access.conf (INI, strict).
 *
 * Sections: [access] (thresholds, lockout, sessions, anomaly rules), [quota.ROLE] and
 * [quota.user.NAME] (export quotas), [import.referring] (person name = account: the import
 * rule's grant for the referring physician).  An unknown section or key, a value out of range, or a
 * line longer than LINE_MAX is an error naming the line; nothing is half-applied by the caller
 * (it parses into a copy).  docs/access.md lists every key with its default.
 */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"

#include "common/banned.h"

#define LINE_MAX_ 199
#define TEXT_MAX  65536
#define GIB       ((uint64_t)1 << 30)
#define INHERIT   (UINT64_MAX - 1) /* a user quota key not set: the roles' value */
#define MINUTE    ((int64_t)60)
#define HOUR      ((int64_t)3600)
#define DAY       ((int64_t)86400)

static void quota_set(access_quota *q, uint64_t h, uint64_t d, uint64_t bytes, uint64_t pats)
{
    q->studies_hour = h;
    q->studies_day = d;
    q->bytes_day = bytes;
    q->patients_day = pats;
}

void access_policy_default(access_policy *p)
{
    memset(p, 0, sizeof(*p));
    quota_set(&p->role_quota[ACCESS_RADIOLOGIST], 50, 200, 50 * GIB, 100);
    quota_set(&p->role_quota[ACCESS_REFERRING], 10, 40, 5 * GIB, 20);
    quota_set(&p->role_quota[ACCESS_TECHNOLOGIST], 20, 100, 20 * GIB, 50);
    p->bulk_studies = 20;
    p->bulk_patients = 5;
    p->lockout_attempts = 5;
    p->lockout_seconds = 15 * MINUTE;
    p->session_idle = 15 * MINUTE;
    p->session_lifetime = 8 * HOUR;
    p->breakglass_seconds = 4 * HOUR;
    p->approval_seconds = 24 * HOUR;
    p->window_seconds = 10 * MINUTE;
    p->window_patients = 20;
    p->window_denials = 10;
    p->offhours_start = 22;
    p->offhours_end = 6;
    p->offhours_max = 10;
    p->dormant_seconds = 90 * DAY;
    p->use_syslog = 1;
    p->referring_seconds = 30 * DAY;
}

static void inherit(uint64_t *dst, uint64_t v)
{
    if (v != INHERIT)
        *dst = v;
}

void access_policy_quota(const access_policy *p, const char *user, unsigned roles,
                         access_quota *out)
{
    const access_quota *q;
    unsigned i;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < ACCESS_ROLE_COUNT; i++) {
        if (!(roles & ACCESS_ROLE_BIT(i)))
            continue;
        q = &p->role_quota[i];
        if (q->studies_hour > out->studies_hour)
            out->studies_hour = q->studies_hour;
        if (q->studies_day > out->studies_day)
            out->studies_day = q->studies_day;
        if (q->bytes_day > out->bytes_day)
            out->bytes_day = q->bytes_day;
        if (q->patients_day > out->patients_day)
            out->patients_day = q->patients_day;
    }
    for (i = 0; user && i < p->n_user_quota; i++) {
        if (strcmp(p->user_quota[i].user, user) != 0)
            continue;
        q = &p->user_quota[i].q;
        inherit(&out->studies_hour, q->studies_hour);
        inherit(&out->studies_day, q->studies_day);
        inherit(&out->bytes_day, q->bytes_day);
        inherit(&out->patients_day, q->patients_day);
    }
}

/* ---- parsing ------------------------------------------------------------------------------ */

typedef struct parse {
    access_policy *p;
    char err[120];
} parse;

static int fail(parse *ps, const char *what, const char *name)
{
    if (!ps->err[0])
        (void)snprintf(ps->err, sizeof(ps->err), "%s (key '%.40s')", what, name);
    return 0;
}

/* A decimal number 0..max; -1 when not one. */
static int num(const char *v, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long n;

    if (v[0] < '0' || v[0] > '9')
        return -1;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || *end || n > max)
        return -1;
    *out = n;
    return 0;
}

static int quota_key(parse *ps, access_quota *q, const char *name, const char *value)
{
    uint64_t *dst = NULL, n;

    if (!strcmp(name, "studies_hour"))
        dst = &q->studies_hour;
    else if (!strcmp(name, "studies_day"))
        dst = &q->studies_day;
    else if (!strcmp(name, "bytes_day"))
        dst = &q->bytes_day;
    else if (!strcmp(name, "patients_day"))
        dst = &q->patients_day;
    if (!dst)
        return fail(ps, "unknown key", name);
    if (!strcmp(value, "unlimited")) {
        *dst = ACCESS_UNLIMITED;
        return 1;
    }
    if (num(value, UINT64_MAX - 2, &n))
        return fail(ps, "not a number or 'unlimited'", name);
    *dst = n;
    return 1;
}

/* [access] keys: name, scale (seconds per unit, 0 for plain counts), limit, where. */
typedef struct akey {
    const char *name;
    int64_t scale;
    uint64_t max;
    size_t off;
    int kind; /* 0 int64, 1 uint64, 2 unsigned */
} akey;

#define AK(n, s, m, f, k)                      \
    {                                          \
        n, s, m, offsetof(access_policy, f), k \
    }
static const akey AKEYS[] = {
    AK("bulk_studies", 0, 1000000, bulk_studies, 1),
    AK("bulk_patients", 0, 1000000, bulk_patients, 1),
    AK("lockout_attempts", 0, 100, lockout_attempts, 2),
    AK("lockout_minutes", 60, 5256000, lockout_seconds, 0), /* 10 years */
    AK("session_idle_minutes", 60, 1440, session_idle, 0),
    AK("session_lifetime_hours", 3600, 168, session_lifetime, 0),
    AK("breakglass_hours", 3600, 72, breakglass_seconds, 0),
    AK("approval_hours", 3600, 720, approval_seconds, 0),
    AK("window_minutes", 60, 1440, window_seconds, 0),
    AK("window_patients", 0, 1000000, window_patients, 1),
    AK("window_denials", 0, 1000000, window_denials, 1),
    AK("offhours_max", 0, 1000000, offhours_max, 1),
    AK("dormant_days", 86400, 3650, dormant_seconds, 0),
    AK("referring_grant_days", 86400, 3650, referring_seconds, 0),
};

static int access_key(parse *ps, const char *name, const char *value)
{
    unsigned char *base = (unsigned char *)ps->p;
    unsigned long a, b;
    uint64_t n;
    size_t i;

    for (i = 0; i < sizeof(AKEYS) / sizeof(AKEYS[0]); i++) {
        const akey *k = &AKEYS[i];

        if (strcmp(name, k->name) != 0)
            continue;
        if (num(value, k->max, &n) || (k->scale && n == 0 && strcmp(name, "lockout_minutes") != 0))
            return fail(ps, "value out of range", name);
        if (k->kind == 0) {
            int64_t v = (int64_t)n * (k->scale ? k->scale : 1);

            memcpy(base + k->off, &v, sizeof(v));
        } else if (k->kind == 1) {
            memcpy(base + k->off, &n, sizeof(n));
        } else {
            unsigned v = (unsigned)n;

            memcpy(base + k->off, &v, sizeof(v));
        }
        return 1;
    }
    if (!strcmp(name, "overlay_roles")) {
        unsigned roles = 0;

        if (strcmp(value, "none") != 0 && access_roles_parse(value, &roles) != 0)
            return fail(ps, "a comma-separated list of roles, or none", name);
        ps->p->overlay_roles = roles;
        return 1;
    }
    if (!strcmp(name, "syslog")) {
        if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
            return fail(ps, "yes or no", name);
        ps->p->use_syslog = !strcmp(value, "yes");
        return 1;
    }
    if (!strcmp(name, "offhours")) {
        char *end;

        errno = 0;
        a = strtoul(value, &end, 10);
        if (end == value || *end != '-' || errno)
            return fail(ps, "hours H-H (0..23)", name);
        b = strtoul(end + 1, &end, 10);
        if (*end || errno || a > 23 || b > 23 || !value[0] || value[0] == '-')
            return fail(ps, "hours H-H (0..23)", name);
        ps->p->offhours_start = (unsigned)a;
        ps->p->offhours_end = (unsigned)b;
        return 1;
    }
    if (!strcmp(name, "utc_offset_minutes")) {
        long m;
        char *end;

        errno = 0;
        m = strtol(value, &end, 10);
        if (errno || *end || !value[0] || m < -840 || m > 840)
            return fail(ps, "minutes -840..840", name);
        ps->p->utc_offset = (int64_t)m * 60;
        return 1;
    }
    return fail(ps, "unknown key", name);
}

static access_quota *user_quota(parse *ps, const char *user)
{
    access_policy *p = ps->p;
    unsigned i;

    for (i = 0; i < p->n_user_quota; i++)
        if (!strcmp(p->user_quota[i].user, user))
            return &p->user_quota[i].q;
    if (p->n_user_quota >= ACCESS_USER_QUOTAS_MAX || strlen(user) > INDEX_USER_NAME_MAX || !user[0])
        return NULL;
    i = p->n_user_quota++;
    memcpy(p->user_quota[i].user, user, strlen(user) + 1);
    quota_set(&p->user_quota[i].q, INHERIT, INHERIT, INHERIT, INHERIT);
    return &p->user_quota[i].q;
}

int access_pn_norm(const char *pn, char out[ACCESS_PN_MAX + 1])
{
    size_t n = 0;
    const char *s;

    for (s = pn; *s && *s != '='; s++) {
        char c = *s;

        if (c == ' ' && (n == 0 || out[n - 1] == ' ' || out[n - 1] == '^'))
            continue; /* no leading, repeated or post-'^' space */
        if (c == '^')
            while (n > 0 && out[n - 1] == ' ')
                n--; /* no space before '^' */
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (n == ACCESS_PN_MAX)
            return -1;
        out[n++] = c;
    }
    while (n > 0 && (out[n - 1] == '^' || out[n - 1] == ' '))
        n--;
    out[n] = '\0';
    return n ? 0 : -1;
}

const char *access_policy_referring(const access_policy *p, const char *pn)
{
    char key[ACCESS_PN_MAX + 1];
    unsigned i;

    if (!pn || access_pn_norm(pn, key) != 0)
        return NULL;
    for (i = 0; i < p->n_referring; i++)
        if (!strcmp(p->referring[i].pn, key))
            return p->referring[i].user;
    return NULL;
}

/* [import.referring]: PERSON^NAME = account */
static int referring_key(parse *ps, const char *name, const char *value)
{
    access_policy *p = ps->p;
    access_referring *r;

    if (p->n_referring >= ACCESS_REFERRING_MAX)
        return fail(ps, "too many [import.referring] entries", name);
    r = &p->referring[p->n_referring];
    if (access_pn_norm(name, r->pn) != 0)
        return fail(ps, "person name empty or too long", name);
    if (!value[0] || strlen(value) > INDEX_USER_NAME_MAX)
        return fail(ps, "account name empty or too long", name);
    memcpy(r->user, value, strlen(value) + 1);
    p->n_referring++;
    return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse *ps = user;
    access_role r;
    access_quota *q;

    if (!strcmp(section, "access"))
        return access_key(ps, name, value);
    if (!strcmp(section, "import.referring"))
        return referring_key(ps, name, value);
    if (!strncmp(section, "quota.user.", 11)) {
        q = user_quota(ps, section + 11);
        return q ? quota_key(ps, q, name, value) : fail(ps, "bad or too many user quotas", name);
    }
    if (!strncmp(section, "quota.", 6) && !access_role_from_name(section + 6, &r))
        return quota_key(ps, &ps->p->role_quota[r], name, value);
    return fail(ps, "unknown section", name);
}

dv_err access_policy_parse(const char *text, access_policy *p, dv_errinfo *ei)
{
    parse ps;
    unsigned line = 1;
    size_t run = 0;
    const char *s;
    int rc;

    for (s = text; *s; s++) {
        run = (*s == '\n') ? 0 : run + 1;
        line += *s == '\n';
        if (run > LINE_MAX_)
            return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                           "access.conf line %u: longer than %d characters", line, LINE_MAX_);
    }
    memset(&ps, 0, sizeof(ps));
    ps.p = p;
    rc = ini_parse_string(text, handler, &ps);
    if (rc < 0)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "access.conf: out of memory");
    if (rc > 0)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG, "access.conf line %d: %s", rc,
                       ps.err[0] ? ps.err : "not a [section] or key = value line");
    return DV_OK;
}

dv_err access_policy_load(const char *path, access_policy *p, dv_errinfo *ei)
{
    char *text;
    FILE *f;
    size_t n;
    dv_err e;

    access_policy_default(p);
    f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? DV_OK
                               : dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG,
                                         "access.conf: cannot open: %s", strerror(errno));
    text = malloc(TEXT_MAX + 1);
    if (!text) {
        (void)fclose(f);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "access.conf: out of memory");
    }
    n = fread(text, 1, TEXT_MAX + 1, f);
    e = ferror(f) ? dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "access.conf: read error") : DV_OK;
    if (!e && n > TEXT_MAX)
        e = dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "access.conf: larger than 64 KiB");
    if (!e && memchr(text, 0, n))
        e = dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG, "access.conf holds a NUL byte");
    (void)fclose(f);
    if (!e) {
        text[n] = '\0';
        e = access_policy_parse(text, p, ei);
    }
    free(text);
    return e;
}
