/* SPDX-License-Identifier: Apache-2.0 */
/* test_access.c - access/: the decision point checked EXHAUSTIVELY (every role and role pair x
 * action x relationship x purpose) against an expectation written here from the rules in
 * docs/access.md; password rules and the shipped common-password list; TOTP against RFC 6238
 * Appendix B and against oathtool (a real peer); accounts, lockout, sessions, grants and their
 * expiry, break-glass, quotas and four-eyes approvals, anomaly alerts, suspension and its
 * two-person lift, and the index migration from schema version 1.
 *
 * Every time-dependent call gets its `now` from the test: no sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "access/access.h"
#include "access/access_int.h"
#include "crypto/crypto.h"
#include "index/index.h"

#include "common/banned.h"

/* ==== the expectation, from docs/access.md ================================================ */

enum { E_NO, E_DEID, E_REL, E_YES }; /* ordered: a user's roles give the best of these */

static int is_clinician(access_role r)
{
    return r == ACCESS_RADIOLOGIST || r == ACCESS_REFERRING || r == ACCESS_TECHNOLOGIST;
}

/* "Roles" in docs/access.md, one sentence each. */
static int doc_permission(access_role r, access_action a)
{
    switch (a) {
    case ACCESS_FIND: /* clinicians search; researchers get de-identified data only */
        return is_clinician(r) ? E_YES : r == ACCESS_RESEARCHER ? E_DEID : E_NO;
    case ACCESS_VIEW:
    case ACCESS_EXPORT: /* clinicians, with a care relationship */
        return is_clinician(r) ? E_REL : r == ACCESS_RESEARCHER ? E_DEID : E_NO;
    case ACCESS_IMPORT: /* radiologists, technologists, service accounts */
        return (r == ACCESS_RADIOLOGIST || r == ACCESS_TECHNOLOGIST || r == ACCESS_SERVICE) ? E_YES
                                                                                            : E_NO;
    case ACCESS_BREAKGLASS: /* clinicians who treat: radiologists, referring physicians */
        return (r == ACCESS_RADIOLOGIST || r == ACCESS_REFERRING) ? E_YES : E_NO;
    case ACCESS_GRANT: /* administrators assign; a reading radiologist shares their study */
        return r == ACCESS_ADMIN ? E_YES : r == ACCESS_RADIOLOGIST ? E_REL : E_NO;
    case ACCESS_APPROVE: /* radiologists and privacy officers approve */
        return (r == ACCESS_RADIOLOGIST || r == ACCESS_PRIVACY) ? E_YES : E_NO;
    case ACCESS_USER_ADMIN:
    case ACCESS_CONFIG:
    case ACCESS_SHRED:
    case ACCESS_RETENTION: /* administrators only */
        return r == ACCESS_ADMIN ? E_YES : E_NO;
    case ACCESS_HEALTH: /* administrators and maintenance */
        return (r == ACCESS_ADMIN || r == ACCESS_MAINTENANCE) ? E_YES : E_NO;
    case ACCESS_AUDIT: /* the privacy officer only */
        return r == ACCESS_PRIVACY ? E_YES : E_NO;
    case ACCESS_ALERTS:
    case ACCESS_LIFT:
    case ACCESS_CERTS: /* privacy officers and administrators */
        return (r == ACCESS_PRIVACY || r == ACCESS_ADMIN) ? E_YES : E_NO;
    case ACCESS_ACTION_COUNT:
        break;
    }
    return E_NO;
}

static int is_phi_action(access_action a)
{
    return a == ACCESS_FIND || a == ACCESS_VIEW || a == ACCESS_EXPORT;
}

/* "Purposes" in docs/access.md. */
static int doc_purpose_ok(access_action a, access_purpose p)
{
    int clinical = p == ACCESS_P_TREAT || p == ACCESS_P_ETREAT;
    int ops = p == ACCESS_P_HOPERAT || p == ACCESS_P_SYSADMN;

    if (is_phi_action(a))
        return clinical || p == ACCESS_P_HQUALIMP || p == ACCESS_P_HLEGAL;
    switch (a) {
    case ACCESS_IMPORT:
        return clinical || p == ACCESS_P_HOPERAT;
    case ACCESS_BREAKGLASS:
        return clinical;
    case ACCESS_GRANT:
        return clinical || ops;
    case ACCESS_APPROVE:
        return p == ACCESS_P_TREAT || p == ACCESS_P_HOPERAT || p == ACCESS_P_HLEGAL ||
               p == ACCESS_P_HQUALIMP;
    case ACCESS_AUDIT:
    case ACCESS_ALERTS:
    case ACCESS_LIFT:
    case ACCESS_CERTS:
        return ops || p == ACCESS_P_HLEGAL;
    case ACCESS_FIND:
    case ACCESS_VIEW:
    case ACCESS_EXPORT:
    case ACCESS_USER_ADMIN:
    case ACCESS_CONFIG:
    case ACCESS_SHRED:
    case ACCESS_RETENTION:
    case ACCESS_HEALTH:
    case ACCESS_ACTION_COUNT:
        break;
    }
    return ops;
}

static int need_2fa(unsigned roles)
{
    unsigned i;

    for (i = 0; i < ACCESS_ROLE_COUNT; i++)
        if ((roles & ACCESS_ROLE_BIT(i)) &&
            (is_clinician((access_role)i) || i == ACCESS_PRIVACY || i == ACCESS_ADMIN))
            return 1;
    return 0;
}

typedef struct expect {
    access_result res;
    access_reason why;
} expect;

static expect ex(access_result r, access_reason w)
{
    expect e = {r, w};
    return e;
}

/* The rules of docs/access.md "How a request is decided", in their order. */
static expect doc_decide(const access_subject *s, access_action a, const access_object *o)
{
    int best = E_NO, secondary = s->purpose == ACCESS_P_TRAIN || s->purpose == ACCESS_P_HRESCH;
    int emergency = s->purpose == ACCESS_P_TREAT || s->purpose == ACCESS_P_ETREAT, deid;
    unsigned i;

    if (s->roles == 0)
        return ex(ACCESS_DENY, ACCESS_R_NO_ROLE);
    if ((s->roles & ACCESS_ROLE_BIT(ACCESS_ADMIN)) && (s->roles & ACCESS_ROLE_BIT(ACCESS_PRIVACY)))
        return ex(ACCESS_DENY, ACCESS_R_SOD);
    if (s->disabled)
        return ex(ACCESS_DENY, ACCESS_R_DISABLED);
    if (s->suspended)
        return ex(ACCESS_DENY, ACCESS_R_SUSPENDED);
    if (s->must_change)
        return ex(ACCESS_DENY, ACCESS_R_MUST_CHANGE);
    if (need_2fa(s->roles) && !s->mfa)
        return ex(ACCESS_DENY, ACCESS_R_NO_2FA);
    for (i = 0; i < ACCESS_ROLE_COUNT; i++)
        if ((s->roles & ACCESS_ROLE_BIT(i)) && doc_permission((access_role)i, a) > best)
            best = doc_permission((access_role)i, a);
    /* rule 8's exception: an export the vault de-identifies */
    deid = a == ACCESS_EXPORT && o->deidentified;
    if (deid && best == E_DEID)
        best = E_REL;
    if (!deid && is_phi_action(a) && (secondary || best == E_DEID))
        return ex(ACCESS_DENY, ACCESS_R_DEID_ONLY);
    if (best == E_NO || best == E_DEID)
        return ex(ACCESS_DENY, ACCESS_R_ROLE);
    if (!doc_purpose_ok(a, s->purpose) && !(deid && secondary))
        return ex(ACCESS_DENY, ACCESS_R_PURPOSE);
    if (o->owner && !strcmp(o->owner, s->user)) {
        if (a == ACCESS_GRANT)
            return ex(ACCESS_DENY, ACCESS_R_SELF_GRANT);
        if (a == ACCESS_APPROVE)
            return ex(ACCESS_DENY, ACCESS_R_SELF_APPROVAL);
        if (a == ACCESS_LIFT)
            return ex(ACCESS_DENY, ACCESS_R_SELF_LIFT);
    }
    if (best == E_REL && o->rel != ACCESS_REL_GRANT) {
        /* a break-glass opening counts for viewing and exporting, for treatment only */
        int bg_counts = o->rel == ACCESS_REL_BREAKGLASS && a != ACCESS_GRANT && emergency;

        if (!bg_counts)
            return ex(ACCESS_DENY, ACCESS_R_NO_RELATIONSHIP);
    }
    if (a == ACCESS_EXPORT) {
        if (o->approved)
            return ex(ACCESS_ALLOW, ACCESS_R_APPROVED);
        if (s->purpose == ACCESS_P_HLEGAL || s->purpose == ACCESS_P_HQUALIMP ||
            o->rel == ACCESS_REL_BREAKGLASS)
            return ex(ACCESS_NEEDS_APPROVAL, ACCESS_R_FOUR_EYES);
        if (o->studies > 20 || o->patients > 5) /* the default bulk threshold */
            return ex(ACCESS_NEEDS_APPROVAL, ACCESS_R_BULK);
        if (o->usage.studies_hour + o->studies > o->quota.studies_hour ||
            o->usage.studies_day + o->studies > o->quota.studies_day ||
            o->usage.bytes_day + o->bytes > o->quota.bytes_day ||
            o->usage.patients_day + o->patients > o->quota.patients_day)
            return ex(ACCESS_NEEDS_APPROVAL, ACCESS_R_QUOTA);
    }
    return ex(ACCESS_ALLOW, ACCESS_R_OK);
}

/* ==== the matrix ============================================================================ */

static access_policy POL;

static unsigned check_all(unsigned roles, int mfa, int flags)
{
    access_subject s;
    access_object o;
    access_decision d;
    unsigned a, rel, p, dd, n = 0;
    expect want;

    for (a = 0; a < ACCESS_ACTION_COUNT; a++)
        for (rel = 0; rel < ACCESS_REL_COUNT; rel++)
            for (p = 0; p < ACCESS_PURPOSE_COUNT * 2; p++) {
                dd = p / ACCESS_PURPOSE_COUNT; /* the second round: de-identified exports */
                memset(&s, 0, sizeof(s));
                memset(&o, 0, sizeof(o));
                s.user = "alice";
                s.roles = roles;
                s.purpose = (access_purpose)(p % ACCESS_PURPOSE_COUNT);
                s.mfa = mfa;
                s.must_change = flags & 1;
                s.suspended = (flags >> 1) & 1;
                s.disabled = (flags >> 2) & 1;
                o.rel = (access_rel)rel;
                o.deidentified = (int)dd;
                o.owner = "bob";
                o.studies = o.patients = 1;
                o.bytes = 1000;
                o.quota.studies_hour = o.quota.studies_day = 10;
                o.quota.patients_day = 10;
                o.quota.bytes_day = 1u << 20;
                want = doc_decide(&s, (access_action)a, &o);
                access_decide(&POL, &s, (access_action)a, &o, &d);
                if (d.result != want.res || d.reason != want.why)
                    fail_msg("roles %#x action %s rel %s purpose %s deid %u: got %d/%d want "
                             "%d/%d (%s)",
                             roles, access_action_name((access_action)a),
                             access_rel_name((access_rel)rel), access_purpose_name(s.purpose), dd,
                             d.result, d.reason, want.res, want.why, d.text);
                n++;
            }
    return n;
}

static void test_matrix_single_roles(void **state)
{
    unsigned r, n = 0;

    (void)state;
    access_policy_default(&POL);
    for (r = 0; r < ACCESS_ROLE_COUNT; r++)
        n += check_all(ACCESS_ROLE_BIT(r), 1, 0);
    assert_int_equal(n, ACCESS_ROLE_COUNT * ACCESS_ACTION_COUNT * ACCESS_REL_COUNT *
                            ACCESS_PURPOSE_COUNT * 2);
}

static void test_matrix_role_pairs_and_states(void **state)
{
    unsigned r1, r2, fl, n = 0;

    (void)state;
    access_policy_default(&POL);
    for (r1 = 0; r1 < ACCESS_ROLE_COUNT; r1++)
        for (r2 = r1 + 1; r2 < ACCESS_ROLE_COUNT; r2++)
            n += check_all(ACCESS_ROLE_BIT(r1) | ACCESS_ROLE_BIT(r2), 1, 0);
    /* without a second factor, and with each account state */
    for (r1 = 0; r1 < ACCESS_ROLE_COUNT; r1++) {
        n += check_all(ACCESS_ROLE_BIT(r1), 0, 0);
        for (fl = 1; fl < 8; fl++)
            n += check_all(ACCESS_ROLE_BIT(r1), 1, (int)fl);
    }
    n += check_all(0, 1, 0);
    assert_int_equal(n, (28 + 8 + 8 * 7 + 1) * ACCESS_ACTION_COUNT * ACCESS_REL_COUNT *
                            ACCESS_PURPOSE_COUNT * 2);
}

/* The seed's scenario at the decision point: maintenance never reaches PHI, whatever it says. */
static void test_maintenance_never_phi(void **state)
{
    access_subject s = {
        "contractor", ACCESS_ROLE_BIT(ACCESS_MAINTENANCE), ACCESS_P_TREAT, 1, 0, 0, 0};
    access_object o;
    access_decision d;
    unsigned p, rel;

    (void)state;
    access_policy_default(&POL);
    memset(&o, 0, sizeof(o));
    for (p = 0; p < ACCESS_PURPOSE_COUNT; p++)
        for (rel = 0; rel < ACCESS_REL_COUNT; rel++) {
            s.purpose = (access_purpose)p;
            o.rel = (access_rel)rel;
            assert_int_equal(access_decide(&POL, &s, ACCESS_FIND, &o, &d), ACCESS_DENY);
            assert_int_equal(access_decide(&POL, &s, ACCESS_VIEW, &o, &d), ACCESS_DENY);
            assert_int_equal(access_decide(&POL, &s, ACCESS_EXPORT, &o, &d), ACCESS_DENY);
            assert_int_equal(access_decide(&POL, &s, ACCESS_BREAKGLASS, &o, &d), ACCESS_DENY);
        }
    s.purpose = ACCESS_P_SYSADMN;
    assert_int_equal(access_decide(&POL, &s, ACCESS_HEALTH, NULL, &d), ACCESS_ALLOW);
}

static void test_self_rules_and_quota(void **state)
{
    access_subject adm = {"root1", ACCESS_ROLE_BIT(ACCESS_ADMIN), ACCESS_P_SYSADMN, 1, 0, 0, 0};
    access_subject tech = {"tech1", ACCESS_ROLE_BIT(ACCESS_TECHNOLOGIST), ACCESS_P_TREAT, 1, 0, 0,
                           0};
    access_object o;
    access_decision d;

    (void)state;
    access_policy_default(&POL);
    memset(&o, 0, sizeof(o));
    o.owner = "root1"; /* an administrator granting to themselves */
    access_decide(&POL, &adm, ACCESS_GRANT, &o, &d);
    assert_int_equal(d.reason, ACCESS_R_SELF_GRANT);
    o.owner = "someone";
    assert_int_equal(access_decide(&POL, &adm, ACCESS_GRANT, &o, &d), ACCESS_ALLOW);
    /* quota: 3 an hour, 3 used -> approval; approved -> allowed */
    o.rel = ACCESS_REL_GRANT;
    o.studies = o.patients = 1;
    o.quota.studies_hour = 3;
    o.quota.studies_day = o.quota.patients_day = o.quota.bytes_day = ACCESS_UNLIMITED;
    o.usage.studies_hour = 2;
    assert_int_equal(access_decide(&POL, &tech, ACCESS_EXPORT, &o, &d), ACCESS_ALLOW);
    o.usage.studies_hour = 3;
    assert_int_equal(access_decide(&POL, &tech, ACCESS_EXPORT, &o, &d), ACCESS_NEEDS_APPROVAL);
    assert_int_equal(d.reason, ACCESS_R_QUOTA);
    o.approved = 1;
    assert_int_equal(access_decide(&POL, &tech, ACCESS_EXPORT, &o, &d), ACCESS_ALLOW);
    /* bulk: 21 studies or 6 patients at once */
    o.approved = 0;
    o.usage.studies_hour = 0;
    o.quota.studies_hour = ACCESS_UNLIMITED;
    o.studies = 21;
    access_decide(&POL, &tech, ACCESS_EXPORT, &o, &d);
    assert_int_equal(d.reason, ACCESS_R_BULK);
    o.studies = 2;
    o.patients = 6;
    access_decide(&POL, &tech, ACCESS_EXPORT, &o, &d);
    assert_int_equal(d.reason, ACCESS_R_BULK);
    assert_non_null(strstr(d.text, "export needs approval"));
}

static void test_names_and_roles(void **state)
{
    unsigned roles = 0, i;
    char buf[256];
    access_role r;
    access_purpose p;

    (void)state;
    for (i = 0; i < ACCESS_ROLE_COUNT; i++) {
        assert_int_equal(access_role_from_name(access_role_name((access_role)i), &r), 0);
        assert_int_equal(r, i);
    }
    for (i = 0; i < ACCESS_PURPOSE_COUNT; i++) {
        assert_int_equal(access_purpose_from_name(access_purpose_name((access_purpose)i), &p), 0);
        assert_int_equal(p, i);
    }
    assert_int_equal(access_purpose_from_name("TREAT", &p), 0);
    assert_int_equal(access_purpose_from_name("treat", &p), 0); /* codes in any case */
    assert_int_equal(p, ACCESS_P_TREAT);
    assert_int_equal(access_purpose_from_name("Research", &p), 0);
    assert_int_equal(p, ACCESS_P_HRESCH);
    assert_int_equal(access_purpose_from_name("teaching", &p), 0);
    assert_int_equal(p, ACCESS_P_TRAIN);
    assert_int_equal(access_purpose_from_name("training", &p), 0);
    assert_int_equal(p, ACCESS_P_TRAIN);
    assert_int_equal(access_purpose_from_name("quality", &p), 0);
    assert_int_equal(p, ACCESS_P_HQUALIMP);
    assert_int_equal(access_purpose_from_name("treatmentx", &p), -1);
    assert_int_equal(access_purpose_from_name("", &p), -1);
    assert_int_equal(access_roles_parse("technologist,radiologist", &roles), 0);
    access_roles_format(roles, buf, sizeof(buf));
    assert_string_equal(buf, "radiologist,technologist");
    assert_int_equal(access_roles_parse("", &roles), -1);
    assert_int_equal(access_roles_parse("radiologist,,x", &roles), -1);
    assert_int_equal(access_roles_parse("wizard", &roles), -1);
    assert_int_equal(
        access_roles_check(ACCESS_ROLE_BIT(ACCESS_ADMIN) | ACCESS_ROLE_BIT(ACCESS_PRIVACY), NULL),
        DV_EINVAL);
    assert_int_equal(access_roles_check(ACCESS_ROLE_BIT(ACCESS_ADMIN), NULL), DV_OK);
    assert_int_equal(access_roles_check(0, NULL), DV_EINVAL);
}

static void test_policy_parse(void **state)
{
    access_policy p;
    access_quota q;
    dv_errinfo ei;

    (void)state;
    access_policy_default(&p);
    assert_int_equal(access_policy_parse("[access]\nbulk_studies = 7\nlockout_minutes = 30\n"
                                         "offhours = 20-7\nsyslog = no\n"
                                         "[quota.technologist]\nstudies_hour = 3\n"
                                         "[quota.user.bob]\nbytes_day = unlimited\n",
                                         &p, &ei),
                     DV_OK);
    assert_int_equal(p.bulk_studies, 7);
    assert_int_equal(p.lockout_seconds, 1800);
    assert_int_equal(p.offhours_start, 20);
    assert_int_equal(p.use_syslog, 0);
    access_policy_quota(&p, "bob", ACCESS_ROLE_BIT(ACCESS_TECHNOLOGIST), &q);
    assert_int_equal(q.studies_hour, 3);
    assert_true(q.bytes_day == ACCESS_UNLIMITED);
    access_policy_quota(&p, "carol", ACCESS_ROLE_BIT(ACCESS_ADMIN), &q);
    assert_int_equal(q.studies_hour, 0); /* an administrator exports nothing */
    access_policy_default(&p);
    assert_int_equal(access_policy_parse("[access]\nbogus = 1\n", &p, &ei), DV_EMALFORMED);
    assert_non_null(strstr(ei.msg, "line 2"));
    assert_int_equal(access_policy_parse("[quota.wizard]\nstudies_hour = 1\n", &p, &ei),
                     DV_EMALFORMED);
    assert_int_equal(access_policy_parse("[access]\nbulk_studies = -1\n", &p, &ei), DV_EMALFORMED);
    access_policy_default(&p);
    assert_int_equal(p.overlay_roles, 0);
    assert_int_equal(access_policy_parse(
                         "[access]\noverlay_roles = technologist,referring-physician\n", &p, &ei),
                     DV_OK);
    assert_int_equal(p.overlay_roles,
                     ACCESS_ROLE_BIT(ACCESS_TECHNOLOGIST) | ACCESS_ROLE_BIT(ACCESS_REFERRING));
    assert_int_equal(access_policy_parse("[access]\noverlay_roles = none\n", &p, &ei), DV_OK);
    assert_int_equal(p.overlay_roles, 0);
    assert_int_equal(access_policy_parse("[access]\noverlay_roles = wizard\n", &p, &ei),
                     DV_EMALFORMED);
    assert_non_null(strstr(ei.msg, "list of roles"));
}

static void test_policy_referring(void **state)
{
    access_policy p;
    dv_errinfo ei;
    char key[ACCESS_PN_MAX + 1], key2[ACCESS_PN_MAX + 1], longname[ACCESS_PN_MAX + 8];

    (void)state;
    assert_int_equal(access_pn_norm("Huang ^ Wei^^^", key), 0);
    assert_string_equal(key, "HUANG^WEI");
    assert_int_equal(access_pn_norm("Huang^Wei=黄^伟", key), 0); /* ideographic group ignored */
    assert_string_equal(key, "HUANG^WEI");
    assert_int_equal(access_pn_norm("li  ^ na", key), 0); /* spaces on both sides of '^' */
    assert_string_equal(key, "LI^NA");
    assert_int_equal(access_pn_norm(key, key2), 0); /* normalising twice changes nothing */
    assert_string_equal(key2, "LI^NA");
    assert_int_equal(access_pn_norm("^^ ", key), -1);
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(access_pn_norm(longname, key), -1);

    access_policy_default(&p);
    assert_int_equal(p.referring_seconds, 30 * 86400);
    assert_int_equal(access_policy_parse("[access]\nreferring_grant_days = 7\n"
                                         "[import.referring]\nhuang^wei = drhuang\n"
                                         "LI^NA = drli\n",
                                         &p, &ei),
                     DV_OK);
    assert_int_equal(p.referring_seconds, 7 * 86400);
    assert_string_equal(access_policy_referring(&p, "HUANG^WEI^^"), "drhuang");
    assert_string_equal(access_policy_referring(&p, "li^na=李^娜"), "drli");
    assert_null(access_policy_referring(&p, "HUANG^WEN"));
    assert_null(access_policy_referring(&p, ""));
    access_policy_default(&p);
    assert_int_equal(access_policy_parse("[import.referring]\nHUANG^WEI =\n", &p, &ei),
                     DV_EMALFORMED);
    assert_non_null(strstr(ei.msg, "line 2: account name empty"));
    assert_int_equal(access_policy_parse("[import.referring]\n^^ = x\n", &p, &ei), DV_EMALFORMED);
    assert_non_null(strstr(ei.msg, "person name empty"));
}

/* ==== passwords ============================================================================ */

static void test_password_rules(void **state)
{
    dv_errinfo ei;

    (void)state;
    assert_int_equal(access_password_check("alice", "short-pw", &ei), DV_EINVAL);
    assert_non_null(strstr(ei.msg, "at least 12"));
    assert_int_equal(access_password_check("alice", "xx-ALICE-2024-yy", &ei), DV_EINVAL);
    assert_non_null(strstr(ei.msg, "user name"));
    assert_int_equal(access_password_check("alice", "PasswordPassword", &ei), DV_EINVAL);
    assert_non_null(strstr(ei.msg, "common"));
    assert_int_equal(access_password_check("alice", "correcthorsebatterystaple", &ei), DV_EINVAL);
    assert_int_equal(access_password_check("alice", "Tq7-vienna-Orbit-42", &ei), DV_OK);
    assert_false(strstr(ei.msg, "Tq7") != NULL); /* never echoed */
}

/* Every entry of data/common-passwords.txt is refused, and the list is what the code has. */
static void test_common_list_matches_data(void **state)
{
    FILE *f = fopen("data/common-passwords.txt", "r");
    char line[1024];
    size_t n = 0, want = 0;
    const char *p;

    (void)state;
    if (!f)
        skip();
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        if (!access_password_common(line))
            fail_msg("not refused: entry %zu", n);
        n++;
    }
    assert_int_equal(fclose(f), 0);
    for (p = access_common_pw; *p; p++)
        want += *p == '\n';
    assert_int_equal(n, want);
    assert_true(n > 1000);
    assert_true(access_password_common("ADMIN123"));
    assert_false(access_password_common("Tq7-vienna-Orbit-42"));
}

static void test_hash_and_onetime(void **state)
{
    char h[ACCESS_HASH_MAX], pw[ACCESS_ONETIME_LEN + 1], pw2[ACCESS_ONETIME_LEN + 1];
    unsigned long long ops = 0;
    size_t mem = 0, i;

    (void)state;
    assert_int_equal(access_password_hash("Tq7-vienna-Orbit-42", h, NULL), DV_OK);
    assert_non_null(strstr(h, "$argon2id$"));
    assert_int_equal(sscanf(strstr(h, "m="), "m=%zu,t=%llu", &mem, &ops), 2);
    assert_true(mem >= 19 * 1024); /* KiB: OWASP's floor */
    assert_true(ops >= 2);
    assert_true(access_password_verify(h, "Tq7-vienna-Orbit-42"));
    assert_false(access_password_verify(h, "Tq7-vienna-Orbit-43"));
    access_onetime_password(pw);
    access_onetime_password(pw2);
    assert_int_equal(strlen(pw), ACCESS_ONETIME_LEN);
    assert_string_not_equal(pw, pw2);
    for (i = 0; i < ACCESS_ONETIME_LEN; i++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", pw[i]));
}

/* ==== TOTP ================================================================================ */

static const uint8_t RFC_SECRET[] = "12345678901234567890";

static void test_totp_rfc6238(void **state)
{
    /* RFC 6238 Appendix B, SHA-1 */
    static const struct {
        int64_t t;
        const char *code;
    } v[] = {{59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
             {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000LL, "65353130"}};
    char out[9];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(access_totp_code(RFC_SECRET, 20, v[i].t, 8, out), DV_OK);
        assert_string_equal(out, v[i].code);
    }
}

static int run_oathtool(const char *args, char *out, size_t cap)
{
    char cmd[512];
    FILE *p;
    int ok;

    (void)snprintf(cmd, sizeof(cmd), "oathtool %s 2>/dev/null", args);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    ok = fgets(out, (int)cap, p) != NULL;
    if (pclose(p) != 0 || !ok)
        return -1;
    out[strcspn(out, "\n")] = '\0';
    return 0;
}

static void test_totp_oathtool_peer(void **state)
{
    uint8_t secret[ACCESS_TOTP_SECRET_BYTES];
    char hex[2 * sizeof(secret) + 1], b32[ACCESS_TOTP_B32_MAX], args[256], peer[32], ours[9];
    int64_t t = 1700000000, step = 0;

    (void)state;
    if (system("command -v oathtool >/dev/null 2>&1") != 0)
        skip();
    crypto_random(secret, sizeof(secret));
    sodium_bin2hex(hex, sizeof(hex), secret, sizeof(secret));
    (void)snprintf(args, sizeof(args), "--totp -N @%lld %s", (long long)t, hex);
    assert_int_equal(run_oathtool(args, peer, sizeof(peer)), 0);
    assert_int_equal(access_totp_code(secret, sizeof(secret), t, 6, ours), DV_OK);
    assert_string_equal(ours, peer);
    /* our base32 is what oathtool reads */
    assert_int_equal(access_totp_base32(secret, sizeof(secret), b32), DV_OK);
    (void)snprintf(args, sizeof(args), "--totp -b -N @%lld %s", (long long)t, b32);
    assert_int_equal(run_oathtool(args, peer, sizeof(peer)), 0);
    assert_string_equal(ours, peer);
    /* the check: now, one step either side, not two, not a replay */
    assert_int_equal(access_totp_check(secret, sizeof(secret), t, peer, 0, &step), DV_OK);
    assert_int_equal(step, t / 30);
    assert_int_equal(access_totp_check(secret, sizeof(secret), t + 30, peer, 0, &step), DV_OK);
    assert_int_equal(access_totp_check(secret, sizeof(secret), t + 61, peer, 0, &step), DV_EPERM);
    assert_int_equal(access_totp_check(secret, sizeof(secret), t, peer, t / 30, &step), DV_EPERM);
    assert_int_equal(access_totp_check(secret, sizeof(secret), t, "12345", 0, &step), DV_EPERM);
}

static void test_totp_uri(void **state)
{
    char uri[ACCESS_TOTP_URI_MAX];

    (void)state;
    assert_int_equal(access_totp_uri("dcmvault", "dr.li@ward 3", RFC_SECRET, 20, uri), DV_OK);
    assert_string_equal(uri, "otpauth://totp/dcmvault:dr.li%40ward%203?"
                             "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=dcmvault&"
                             "algorithm=SHA1&digits=6&period=30");
}

/* ==== the stateful part: an index in a temporary folder ===================================== */

typedef struct fx {
    char dir[64];
    char path[128];
    index_db *db;
    access_policy pol;
    crypto_key key;
    access_sealer sealer;
    access_env env;
} fx;

static dv_err t_seal(void *ctx, const char *user, const uint8_t *pt, size_t len, uint8_t *out,
                     size_t cap, size_t *outlen)
{
    fx *f = ctx;
    dv_buf b;
    dv_err e;

    dv_buf_init(&b, 4096);
    e = crypto_field_seal(&f->key, pt, len, (const uint8_t *)user, strlen(user), &b);
    if (!e && b.len > cap)
        e = DV_ELIMIT;
    if (!e) {
        memcpy(out, b.p, b.len);
        *outlen = b.len;
    }
    dv_buf_release(&b);
    return e;
}

static dv_err t_open(void *ctx, const char *user, const uint8_t *ct, size_t len, uint8_t *out,
                     size_t cap, size_t *outlen)
{
    fx *f = ctx;
    dv_buf b;
    dv_err e;

    dv_buf_init(&b, 4096);
    e = crypto_field_open(&f->key, ct, len, (const uint8_t *)user, strlen(user), &b, NULL);
    if (!e && b.len > cap)
        e = DV_ELIMIT;
    if (!e) {
        memcpy(out, b.p, b.len);
        *outlen = b.len;
    }
    dv_buf_release(&b);
    return e;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(crypto_init(), DV_OK);
    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/dv-access-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    (void)snprintf(f->path, sizeof(f->path), "%s/index.sqlite", f->dir);
    assert_int_equal(index_open_sqlite(f->path, INDEX_OPEN_CREATE, &f->db, NULL), DV_OK);
    access_policy_default(&f->pol);
    f->pol.use_syslog = 0;
    crypto_key_random(&f->key);
    f->sealer.ctx = f;
    f->sealer.seal = t_seal;
    f->sealer.open = t_open;
    f->env.db = f->db;
    f->env.pol = &f->pol;
    f->env.sealer = &f->sealer;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char cmd[128];

    index_close(f->db);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    crypto_key_wipe(&f->key);
    free(f);
    return 0;
}

#define T0 1700000000LL /* 2023-11-14 22:13:20 UTC */

static dv_err login(fx *f, const char *user, const char *pw, const char *totp, int64_t now,
                    access_login_res *res, dv_errinfo *ei)
{
    access_login_req rq = {user, pw, totp, "local", now};

    return access_login(&f->env, &rq, res, ei);
}

/* Adds a user and gives it a known password (one-time password changed). */
static void add_user(fx *f, const char *name, unsigned roles, const char *pw)
{
    char otp[ACCESS_ONETIME_LEN + 1];
    dv_errinfo ei;

    assert_int_equal(access_user_add(&f->env, name, roles, NULL, T0 - 1000, otp, &ei), DV_OK);
    assert_int_equal(access_passwd(&f->env, name, otp, pw, T0 - 1000, &ei), DV_OK);
}

static void test_account_first_login(void **state)
{
    fx *f = *state;
    char otp[ACCESS_ONETIME_LEN + 1], otp2[ACCESS_ONETIME_LEN + 1];
    access_login_res res;
    access_session_info si;
    index_account a;
    dv_errinfo ei;

    assert_int_equal(
        access_user_add(&f->env, "amy",
                        ACCESS_ROLE_BIT(ACCESS_ADMIN) | ACCESS_ROLE_BIT(ACCESS_PRIVACY), NULL, T0,
                        otp, &ei),
        DV_EINVAL);
    assert_int_equal(
        access_user_add(&f->env, "amy", ACCESS_ROLE_BIT(ACCESS_ADMIN), NULL, T0, otp, &ei), DV_OK);
    assert_int_equal(
        access_user_add(&f->env, "amy", ACCESS_ROLE_BIT(ACCESS_ADMIN), NULL, T0, otp2, &ei),
        DV_EEXIST);
    assert_int_equal(index_account_get(f->db, "amy", &a, NULL), DV_OK);
    assert_non_null(strstr(a.pwhash, "$argon2id$"));
    assert_int_equal(a.must_change, 1);
    assert_int_equal(login(f, "amy", otp, NULL, T0, &res, &ei), DV_OK);
    assert_int_equal(res.must_change, 1);
    assert_int_equal(res.mfa, 0);
    assert_int_equal(strlen(res.token), ACCESS_TOKEN_HEX);
    assert_int_equal(access_session_open(&f->env, res.token, T0 + 5, &si, &ei), DV_OK);
    assert_int_equal(si.must_change, 1);
    assert_string_equal(si.user, "amy");
    /* the token itself is not stored */
    assert_int_equal(login(f, "amy", "wrong-password-x", NULL, T0, &res, &ei), DV_EPERM);
    assert_int_equal(login(f, "nobody", "wrong-password-x", NULL, T0, &res, &ei), DV_EPERM);
    assert_non_null(strstr(ei.msg, "wrong user name or password"));
    /* change the one-time password: rules apply */
    assert_int_equal(access_passwd(&f->env, "amy", otp, "amy-amy-amy-amy", T0, &ei), DV_EINVAL);
    assert_int_equal(access_passwd(&f->env, "amy", otp, "Tq7-vienna-Orbit-42", T0, &ei), DV_OK);
    assert_int_equal(index_account_get(f->db, "amy", &a, NULL), DV_OK);
    assert_int_equal(a.must_change, 0);
    assert_int_equal(login(f, "amy", otp, NULL, T0, &res, &ei), DV_EPERM);
    assert_int_equal(login(f, "amy", "Tq7-vienna-Orbit-42", NULL, T0, &res, &ei), DV_OK);
    assert_int_equal(res.must_change, 0);
}

/* The sixth wrong password locks the account, even with the right one next. */
static void test_lockout(void **state)
{
    fx *f = *state;
    access_login_res res;
    dv_errinfo ei;
    int i;

    add_user(f, "tom", ACCESS_ROLE_BIT(ACCESS_TECHNOLOGIST), "Tq7-vienna-Orbit-42");
    for (i = 0; i < 6; i++)
        assert_int_equal(login(f, "tom", "not-the-password", NULL, T0 + i, &res, &ei), DV_EPERM);
    assert_non_null(strstr(ei.msg, "locked"));
    assert_int_equal(login(f, "tom", "Tq7-vienna-Orbit-42", NULL, T0 + 7, &res, &ei), DV_EPERM);
    assert_non_null(strstr(ei.msg, "locked"));
    /* the lock lasts lockout_seconds from the fifth failure */
    assert_int_equal(login(f, "tom", "Tq7-vienna-Orbit-42", NULL, T0 + 4 + 15 * 60 - 1, &res, &ei),
                     DV_EPERM);
    assert_int_equal(login(f, "tom", "Tq7-vienna-Orbit-42", NULL, T0 + 4 + 15 * 60, &res, &ei),
                     DV_OK);
}

static void test_session_expiry(void **state)
{
    fx *f = *state;
    access_login_res res;
    access_session_info si;
    dv_errinfo ei;
    int64_t t;

    add_user(f, "mia", ACCESS_ROLE_BIT(ACCESS_MAINTENANCE), "Tq7-vienna-Orbit-42");
    /* idle timeout: 15 minutes */
    assert_int_equal(login(f, "mia", "Tq7-vienna-Orbit-42", NULL, T0, &res, &ei), DV_OK);
    assert_int_equal(access_session_open(&f->env, res.token, T0 + 900, &si, &ei), DV_OK);
    assert_int_equal(access_session_open(&f->env, res.token, T0 + 1801, &si, &ei), DV_EPERM);
    assert_non_null(strstr(ei.msg, "expired"));
    assert_int_equal(access_session_open(&f->env, res.token, T0 + 1802, &si, &ei), DV_EPERM);
    /* absolute lifetime: 8 hours even when used every 10 minutes */
    assert_int_equal(login(f, "mia", "Tq7-vienna-Orbit-42", NULL, T0, &res, &ei), DV_OK);
    for (t = T0 + 600; t < T0 + 8 * 3600; t += 600)
        assert_int_equal(access_session_open(&f->env, res.token, t, &si, &ei), DV_OK);
    assert_int_equal(access_session_open(&f->env, res.token, T0 + 8 * 3600, &si, &ei), DV_EPERM);
    /* logout ends it; a made-up token opens nothing */
    assert_int_equal(login(f, "mia", "Tq7-vienna-Orbit-42", NULL, T0, &res, &ei), DV_OK);
    assert_int_equal(access_logout(&f->env, res.token, &ei), DV_OK);
    assert_int_equal(access_session_open(&f->env, res.token, T0 + 1, &si, &ei), DV_EPERM);
    memset(res.token, 'a', ACCESS_TOKEN_HEX);
    assert_int_equal(access_session_open(&f->env, res.token, T0 + 1, &si, &ei), DV_EPERM);
    assert_int_equal(access_session_open(&f->env, "zz", T0 + 1, &si, &ei), DV_EPERM);
}

static void test_totp_login(void **state)
{
    fx *f = *state;
    char b32[ACCESS_TOTP_B32_MAX], uri[ACCESS_TOTP_URI_MAX], code[9];
    uint8_t secret[64];
    access_login_res res;
    index_account a;
    size_t n = 0;
    dv_errinfo ei;

    add_user(f, "rad", ACCESS_ROLE_BIT(ACCESS_RADIOLOGIST), "Tq7-vienna-Orbit-42");
    assert_int_equal(access_totp_enrol(&f->env, "rad", b32, uri, &ei), DV_OK);
    assert_non_null(strstr(uri, "otpauth://totp/dcmvault:rad?secret="));
    assert_non_null(strstr(uri, b32));
    /* the secret is stored sealed: its base32 and bytes are not in the row */
    assert_int_equal(index_account_get(f->db, "rad", &a, NULL), DV_OK);
    assert_true(a.totp_seal_len > ACCESS_TOTP_SECRET_BYTES);
    assert_int_equal(t_open(f, "rad", a.totp_seal, a.totp_seal_len, secret, sizeof(secret), &n),
                     DV_OK);
    assert_int_equal(n, ACCESS_TOTP_SECRET_BYTES);
    assert_null(memmem(a.totp_seal, a.totp_seal_len, secret, n));
    /* not active before confirmation: password alone logs in (mfa 0) */
    assert_int_equal(login(f, "rad", "Tq7-vienna-Orbit-42", NULL, T0, &res, &ei), DV_OK);
    assert_int_equal(res.mfa, 0);
    assert_int_equal(access_totp_code(secret, n, T0, 6, code), DV_OK);
    assert_int_equal(access_totp_confirm(&f->env, "rad", code, T0, &ei), DV_OK);
    /* now a code is required, a used step is refused, a fresh one works */
    assert_int_equal(login(f, "rad", "Tq7-vienna-Orbit-42", NULL, T0 + 30, &res, &ei), DV_EPERM);
    assert_non_null(strstr(ei.msg, "second factor"));
    assert_int_equal(login(f, "rad", "Tq7-vienna-Orbit-42", code, T0 + 1, &res, &ei), DV_EPERM);
    assert_int_equal(access_totp_code(secret, n, T0 + 30, 6, code), DV_OK);
    assert_int_equal(login(f, "rad", "Tq7-vienna-Orbit-42", code, T0 + 30, &res, &ei), DV_OK);
    assert_int_equal(res.mfa, 1);
    sodium_memzero(secret, sizeof(secret));
}

static void bi_of(uint8_t out[ACCESS_BI_BYTES], const char *label)
{
    memset(out, 0, ACCESS_BI_BYTES);
    (void)snprintf((char *)out, ACCESS_BI_BYTES, "%s", label);
}

/* A grant stops working at its expiry time; patient grants cover the patient's studies. */
static void test_grants_expiry(void **state)
{
    fx *f = *state;
    uint8_t st1[32], st2[32], pat[32], pat2[32];
    access_grant_req g;
    access_relset rs;
    int64_t id = 0, bg = 0;
    uint64_t n = 0;

    bi_of(st1, "study-1");
    bi_of(st2, "study-2");
    bi_of(pat, "patient-1");
    bi_of(pat2, "patient-2");
    memset(&g, 0, sizeof(g));
    g.grantee = "tech";
    g.target_bi = st1;
    g.expires = T0 + 3600;
    g.source = "assignment";
    g.reason = "scheduled follow-up";
    g.created_by = "amy";
    assert_int_equal(access_grant_add(&f->env, &g, T0, &id, NULL), DV_OK);
    g.expires = T0;
    assert_int_equal(access_grant_add(&f->env, &g, T0, NULL, NULL), DV_EINVAL);
    /* a team grant on a patient */
    g.grantee = "ward-3";
    g.group = 1;
    g.patient = 1;
    g.target_bi = pat;
    g.expires = T0 + 7200;
    assert_int_equal(access_grant_add(&f->env, &g, T0, NULL, NULL), DV_OK);
    assert_int_equal(access_relset_load(&f->env, "tech", NULL, T0 + 3599, &rs, NULL), DV_OK);
    assert_int_equal(access_relset_of(&rs, st1, pat2), ACCESS_REL_GRANT);
    assert_int_equal(access_relset_of(&rs, st2, pat), ACCESS_REL_NONE); /* not in the team */
    access_relset_free(&rs);
    assert_int_equal(access_relset_load(&f->env, "tech", "ward-3", T0 + 3599, &rs, NULL), DV_OK);
    assert_int_equal(access_relset_of(&rs, st2, pat), ACCESS_REL_GRANT);
    access_relset_free(&rs);
    /* at its expiry second the study grant is gone */
    assert_int_equal(access_relset_load(&f->env, "tech", NULL, T0 + 3600, &rs, NULL), DV_OK);
    assert_int_equal(access_relset_of(&rs, st1, pat2), ACCESS_REL_NONE);
    access_relset_free(&rs);
    /* revoked */
    assert_int_equal(access_grant_revoke(&f->env, id, NULL), DV_OK);
    assert_int_equal(access_relset_load(&f->env, "tech", NULL, T0 + 10, &rs, NULL), DV_OK);
    assert_int_equal(access_relset_of(&rs, st1, pat2), ACCESS_REL_NONE);
    access_relset_free(&rs);
    /* break-glass: a relationship of its own kind for 4 hours, with an alert */
    assert_int_equal(
        access_breakglass(&f->env, "doc", st2, "unconscious patient in ED", T0, &bg, NULL), DV_OK);
    assert_int_equal(access_relset_load(&f->env, "doc", NULL, T0 + 4 * 3600 - 1, &rs, NULL), DV_OK);
    assert_int_equal(access_relset_of(&rs, st2, pat2), ACCESS_REL_BREAKGLASS);
    access_relset_free(&rs);
    assert_int_equal(access_relset_load(&f->env, "doc", NULL, T0 + 4 * 3600, &rs, NULL), DV_OK);
    assert_int_equal(access_relset_of(&rs, st2, pat2), ACCESS_REL_NONE);
    access_relset_free(&rs);
    assert_int_equal(index_alert_count(f->db, "doc", "break-glass", 0, &n, NULL), DV_OK);
    assert_int_equal(n, 1);
}

static void record(fx *f, const access_subject *s, access_action a, access_result r,
                   access_reason why, const char *study, const char *patient, int64_t now)
{
    access_decision d;
    uint8_t sb[32], pb[32];

    memset(&d, 0, sizeof(d));
    d.result = r;
    d.reason = why;
    bi_of(sb, study);
    bi_of(pb, patient);
    assert_int_equal(access_record(&f->env, s, a, &d, sb, pb, 1000, now, NULL, NULL), DV_OK);
}

/* A technologist exports up to the quota; the next export waits for a second person. */
static void test_quota_and_approval(void **state)
{
    fx *f = *state;
    access_subject tech = {"tech", ACCESS_ROLE_BIT(ACCESS_TECHNOLOGIST), ACCESS_P_TREAT, 1, 0, 0,
                           0};
    access_object o;
    access_decision d;
    access_usage u;
    uint8_t st4[32];
    int64_t id = 0, used = 0;
    int seen = 0, i;
    char name[16];

    f->pol.role_quota[ACCESS_TECHNOLOGIST].studies_hour = 3;
    for (i = 1; i <= 3; i++) {
        (void)snprintf(name, sizeof(name), "study-%d", i);
        record(f, &tech, ACCESS_EXPORT, ACCESS_ALLOW, ACCESS_R_OK, name, "patient-1", T0 + i);
    }
    bi_of(st4, "study-4");
    assert_int_equal(access_usage_get(&f->env, "tech", st4, T0 + 10, &u, &seen, NULL), DV_OK);
    assert_int_equal(u.studies_hour, 3);
    assert_int_equal(u.studies_day, 3);
    assert_int_equal(u.patients_day, 1);
    assert_int_equal(u.bytes_day, 3000);
    memset(&o, 0, sizeof(o));
    o.rel = ACCESS_REL_GRANT;
    o.studies = 1;
    o.usage = u;
    access_policy_quota(&f->pol, "tech", tech.roles, &o.quota);
    assert_int_equal(access_decide(&f->pol, &tech, ACCESS_EXPORT, &o, &d), ACCESS_NEEDS_APPROVAL);
    assert_int_equal(d.reason, ACCESS_R_QUOTA);
    assert_int_equal(
        access_approval_request(&f->env, "tech", ACCESS_EXPORT, st4, &o, &d, T0 + 10, &id, NULL),
        DV_OK);
    assert_true(id > 0);
    /* self-approval refused (the decision point and the store both say no) */
    o.owner = "tech";
    assert_int_equal(access_approval_decide(&f->env, "tech", id, 1, T0 + 11, NULL), DV_EPERM);
    /* not approved yet: nothing to consume */
    assert_int_equal(
        access_approval_consume(&f->env, "tech", ACCESS_EXPORT, st4, T0 + 12, &used, NULL), DV_OK);
    assert_int_equal(used, 0);
    assert_int_equal(access_approval_decide(&f->env, "rad", id, 1, T0 + 13, NULL), DV_OK);
    assert_int_equal(access_approval_decide(&f->env, "po", id, 0, T0 + 14, NULL), DV_EEXIST);
    assert_int_equal(
        access_approval_consume(&f->env, "tech", ACCESS_EXPORT, st4, T0 + 15, &used, NULL), DV_OK);
    assert_int_equal(used, id);
    o.approved = 1;
    assert_int_equal(access_decide(&f->pol, &tech, ACCESS_EXPORT, &o, &d), ACCESS_ALLOW);
    /* used once only */
    assert_int_equal(
        access_approval_consume(&f->env, "tech", ACCESS_EXPORT, st4, T0 + 16, &used, NULL), DV_OK);
    assert_int_equal(used, 0);
    /* an hour later the quota has room again */
    assert_int_equal(access_usage_get(&f->env, "tech", NULL, T0 + 3 + 3600, &u, NULL, NULL), DV_OK);
    assert_int_equal(u.studies_hour, 0);
}

typedef struct alerts_seen {
    char rules[16][INDEX_WORD_MAX + 1];
    int sev[16];
    size_t n;
} alerts_seen;

static dv_err collect_alert(void *ctx, const index_alert *a)
{
    alerts_seen *s = ctx;

    if (s->n < 16) {
        memcpy(s->rules[s->n], a->rule, sizeof(s->rules[0]));
        s->sev[s->n++] = a->severity;
    }
    return DV_OK;
}

static int has_rule(fx *f, const char *rule)
{
    alerts_seen s;
    size_t i;

    memset(&s, 0, sizeof(s));
    assert_int_equal(index_alert_list(f->db, 0, collect_alert, &s, NULL), DV_OK);
    for (i = 0; i < s.n; i++)
        if (!strcmp(s.rules[i], rule))
            return s.sev[i];
    return 0;
}

/* Repeated denials suspend; lifting needs an administrator and a privacy officer. */
static void test_alerts_suspend_lift(void **state)
{
    fx *f = *state;
    access_subject m = {
        "contractor", ACCESS_ROLE_BIT(ACCESS_MAINTENANCE), ACCESS_P_SYSADMN, 0, 0, 0, 0};
    access_login_res res;
    access_decision d;
    index_account a;
    dv_errinfo ei;
    int lifted = 0, i;
    char study[16];

    add_user(f, "contractor", m.roles, "Tq7-vienna-Orbit-42");
    for (i = 0; i < 10; i++) {
        (void)snprintf(study, sizeof(study), "study-%d", i);
        access_decide(&f->pol, &m, ACCESS_EXPORT, NULL, &d);
        assert_int_equal(d.result, ACCESS_DENY);
        record(f, &m, ACCESS_EXPORT, d.result, d.reason, study, "patient-9", T0 + i);
    }
    assert_int_equal(has_rule(f, "repeated-denials"), 3);
    assert_int_equal(index_account_get(f->db, "contractor", &a, NULL), DV_OK);
    assert_int_equal(a.suspended, 1);
    assert_int_equal(login(f, "contractor", "Tq7-vienna-Orbit-42", NULL, T0 + 20, &res, &ei),
                     DV_EPERM);
    assert_non_null(strstr(ei.msg, "suspended"));
    /* two people, in two roles */
    assert_int_equal(access_lift(&f->env, "contractor", ACCESS_ROLE_BIT(ACCESS_ADMIN), "contractor",
                                 &lifted, NULL),
                     DV_EPERM);
    assert_int_equal(
        access_lift(&f->env, "amy", ACCESS_ROLE_BIT(ACCESS_ADMIN), "contractor", &lifted, NULL),
        DV_OK);
    assert_int_equal(lifted, 0);
    assert_int_equal(
        access_lift(&f->env, "amy2", ACCESS_ROLE_BIT(ACCESS_ADMIN), "contractor", &lifted, NULL),
        DV_OK);
    assert_int_equal(lifted, 0); /* a second administrator is not the privacy officer */
    assert_int_equal(
        access_lift(&f->env, "po", ACCESS_ROLE_BIT(ACCESS_PRIVACY), "contractor", &lifted, NULL),
        DV_OK);
    assert_int_equal(lifted, 1);
    assert_int_equal(login(f, "contractor", "Tq7-vienna-Orbit-42", NULL, T0 + 30, &res, &ei),
                     DV_OK);
}

static void test_anomaly_rules(void **state)
{
    fx *f = *state;
    access_subject r = {"rad", ACCESS_ROLE_BIT(ACCESS_RADIOLOGIST), ACCESS_P_TREAT, 1, 0, 0, 0};
    access_login_res res;
    uint8_t vip[32];
    char study[16], pat[16];
    dv_errinfo ei;
    int i;

    /* no relationship */
    record(f, &r, ACCESS_VIEW, ACCESS_DENY, ACCESS_R_NO_RELATIONSHIP, "s", "p", T0);
    assert_int_equal(has_rule(f, "no-relationship"), 2);
    /* VIP */
    bi_of(vip, "patient-vip");
    assert_int_equal(index_vip_set(f->db, vip, 1, NULL), DV_OK);
    record(f, &r, ACCESS_VIEW, ACCESS_ALLOW, ACCESS_R_OK, "s-vip", "patient-vip", T0 + 1);
    assert_int_equal(has_rule(f, "vip"), 1);
    /* off hours (T0 is 22:13 UTC): 10 accesses raise one alert */
    for (i = 0; i < 10; i++) {
        (void)snprintf(study, sizeof(study), "o-%d", i);
        record(f, &r, ACCESS_VIEW, ACCESS_ALLOW, ACCESS_R_OK, study, "patient-o", T0 + 2 + i);
    }
    assert_int_equal(has_rule(f, "off-hours"), 2);
    /* many distinct patients within the window: severe */
    for (i = 0; i < 20; i++) {
        (void)snprintf(study, sizeof(study), "m-%d", i);
        (void)snprintf(pat, sizeof(pat), "mp-%d", i);
        record(f, &r, ACCESS_EXPORT, ACCESS_ALLOW, ACCESS_R_OK, study, pat, T0 + 20 + i);
    }
    assert_int_equal(has_rule(f, "many-patients"), 3);
    /* a dormant account that logs in again */
    add_user(f, "old", ACCESS_ROLE_BIT(ACCESS_MAINTENANCE), "Tq7-vienna-Orbit-42");
    assert_int_equal(login(f, "old", "Tq7-vienna-Orbit-42", NULL, T0, &res, &ei), DV_OK);
    assert_int_equal(has_rule(f, "dormant-account"), 0);
    assert_int_equal(login(f, "old", "Tq7-vienna-Orbit-42", NULL, T0 + 91 * 86400, &res, &ei),
                     DV_OK);
    assert_int_equal(has_rule(f, "dormant-account"), 2);
}

static void test_reset_and_disable(void **state)
{
    fx *f = *state;
    char pw[ACCESS_ONETIME_LEN + 1];
    access_login_res res;
    access_session_info si;
    dv_errinfo ei;

    add_user(f, "ref", ACCESS_ROLE_BIT(ACCESS_REFERRING), "Tq7-vienna-Orbit-42");
    assert_int_equal(login(f, "ref", "Tq7-vienna-Orbit-42", NULL, T0, &res, &ei), DV_OK);
    assert_int_equal(access_user_disable(&f->env, "ref", 1, &ei), DV_OK);
    assert_int_equal(access_session_open(&f->env, res.token, T0 + 1, &si, &ei), DV_EPERM);
    assert_int_equal(login(f, "ref", "Tq7-vienna-Orbit-42", NULL, T0, &res, &ei), DV_EPERM);
    assert_int_equal(access_user_disable(&f->env, "ref", 0, &ei), DV_OK);
    assert_int_equal(access_user_reset(&f->env, "ref", 1, pw, &ei), DV_OK);
    assert_int_equal(login(f, "ref", "Tq7-vienna-Orbit-42", NULL, T0, &res, &ei), DV_EPERM);
    assert_int_equal(login(f, "ref", pw, NULL, T0, &res, &ei), DV_OK);
    assert_int_equal(res.must_change, 1);
}

/* An index of schema version 1 opens, gains the access tables, keeps its users. */
static void test_migration_from_v1(void **state)
{
    fx *f = *state;
    index_account a;
    index_user u;
    sqlite3 *h;
    dv_buf v;

    memset(&u, 0, sizeof(u));
    memcpy(u.name, "admin", 6);
    memcpy(u.role, "administrator", 14);
    memcpy(u.pwhash, "$argon2id$x", 12);
    u.must_change = 1;
    assert_int_equal(index_user_insert(f->db, &u, NULL), DV_OK);
    index_close(f->db);
    f->db = NULL;
    /* turn the file back into version 1: drop what versions 2 and 3 added */
    assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(h,
                     "DROP TABLE film;"
                     "DROP TABLE session; DROP TABLE care_grant; DROP TABLE access_log;"
                     "DROP TABLE approval; DROP TABLE alert; DROP TABLE vip;"
                     "ALTER TABLE users DROP COLUMN roles; ALTER TABLE users DROP COLUMN team;"
                     "ALTER TABLE users DROP COLUMN suspended;"
                     "ALTER TABLE users DROP COLUMN lift_admin;"
                     "ALTER TABLE users DROP COLUMN lift_privacy;"
                     "ALTER TABLE users DROP COLUMN failed;"
                     "ALTER TABLE users DROP COLUMN locked_until;"
                     "ALTER TABLE users DROP COLUMN last_login;"
                     "ALTER TABLE users DROP COLUMN last_active;"
                     "ALTER TABLE users DROP COLUMN totp_seal;"
                     "ALTER TABLE users DROP COLUMN totp_on;"
                     "ALTER TABLE users DROP COLUMN totp_last;"
                     "UPDATE meta SET value = 1 WHERE key = 'index.schema_version';",
                     NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_close(h), SQLITE_OK);
    assert_int_equal(index_open_sqlite(f->path, 0, &f->db, NULL), DV_OK);
    f->env.db = f->db;
    dv_buf_init(&v, 64);
    assert_int_equal(index_meta_get(f->db, "index.schema_version", &v, NULL), DV_OK);
    assert_int_equal(v.len, 1);
    assert_int_equal(v.p[0], '0' + INDEX_SCHEMA_VERSION); /* migrated all the way */
    dv_buf_release(&v);
    assert_int_equal(index_account_get(f->db, "admin", &a, NULL), DV_OK);
    assert_string_equal(a.roles, "administrator");
    assert_int_equal(a.must_change, 1);
    assert_int_equal(access_account_roles(&a), ACCESS_ROLE_BIT(ACCESS_ADMIN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_single_roles),
        cmocka_unit_test(test_matrix_role_pairs_and_states),
        cmocka_unit_test(test_maintenance_never_phi),
        cmocka_unit_test(test_self_rules_and_quota),
        cmocka_unit_test(test_names_and_roles),
        cmocka_unit_test(test_policy_parse),
        cmocka_unit_test(test_policy_referring),
        cmocka_unit_test(test_password_rules),
        cmocka_unit_test(test_common_list_matches_data),
        cmocka_unit_test(test_hash_and_onetime),
        cmocka_unit_test(test_totp_rfc6238),
        cmocka_unit_test(test_totp_oathtool_peer),
        cmocka_unit_test(test_totp_uri),
        cmocka_unit_test_setup_teardown(test_account_first_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_totp_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grants_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_and_approval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alerts_suspend_lift, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anomaly_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_and_disable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
