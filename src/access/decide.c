/* SPDX-License-Identifier: Apache-2.0 */
/* decide.c - THE decision point: access_decide() and the static tables it reads.
 *
 * Invariants: ROLE_TABLE has one cell per role x action; ACTIONS one row per action; PURPOSES
 * one row per purpose; the enums' order is the tables' order (checked by _Static_assert).
 * access_decide() reads nothing else: no I/O, no clock, no allocation.  docs/access.md prints
 * the same tables as a matrix; tests/unit/test_access.c checks every combination against the
 * documented rules.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "access/access.h"

#include "common/banned.h"

/* A role's permission for an action. */
enum { C_NO = 0, C_DEID, C_REL, C_YES };

/* Rows: roles in enum order.  Columns: FIND VIEW EXPORT IMPORT BREAKGLASS GRANT APPROVE
 * USER_ADMIN CONFIG SHRED RETENTION HEALTH AUDIT ALERTS LIFT CERTS. */
#define N C_NO
#define D C_DEID
#define R C_REL
#define Y C_YES
static const unsigned char ROLE_TABLE[ACCESS_ROLE_COUNT][ACCESS_ACTION_COUNT] = {
    /* radiologist */ {Y, R, R, Y, Y, R, Y, N, N, N, N, N, N, N, N, N},
    /* referring   */ {Y, R, R, N, Y, N, N, N, N, N, N, N, N, N, N, N},
    /* technologist*/ {Y, R, R, Y, N, N, N, N, N, N, N, N, N, N, N, N},
    /* researcher  */ {D, D, D, N, N, N, N, N, N, N, N, N, N, N, N, N},
    /* privacy     */ {N, N, N, N, N, N, Y, N, N, N, N, N, Y, Y, Y, Y},
    /* admin       */ {N, N, N, N, N, Y, N, Y, Y, Y, Y, Y, N, Y, Y, Y},
    /* maintenance */ {N, N, N, N, N, N, N, N, N, N, N, Y, N, N, N, N},
    /* service     */ {N, N, N, Y, N, N, N, N, N, N, N, N, N, N, N, N},
};
#undef N
#undef D
#undef R
#undef Y

#define PB(p) (1u << (unsigned)(ACCESS_P_##p))
#define P_PHI (PB(TREAT) | PB(ETREAT) | PB(HQUALIMP) | PB(HLEGAL))
#define P_OPS (PB(HOPERAT) | PB(SYSADMN))

typedef struct action_info {
    const char *name;
    unsigned purposes; /* purposes of use the action accepts */
    int phi;           /* 1: reads patient data (teaching/research: de-identified only) */
    int breakglass_ok; /* 1: a break-glass opening counts as a relationship */
} action_info;

static const action_info ACTIONS[ACCESS_ACTION_COUNT] = {
    {"find", P_PHI, 1, 1},
    {"view", P_PHI, 1, 1},
    {"export", P_PHI, 1, 1},
    {"import", PB(TREAT) | PB(ETREAT) | PB(HOPERAT), 0, 0},
    {"breakglass", PB(TREAT) | PB(ETREAT), 0, 0},
    {"grant", PB(TREAT) | PB(ETREAT) | P_OPS, 0, 0},
    {"approve", PB(TREAT) | PB(HOPERAT) | PB(HLEGAL) | PB(HQUALIMP), 0, 0},
    {"user-admin", P_OPS, 0, 0},
    {"config", P_OPS, 0, 0},
    {"shred", P_OPS, 0, 0},
    {"retention", P_OPS, 0, 0},
    {"health", P_OPS, 0, 0},
    {"audit", P_OPS | PB(HLEGAL), 0, 0},
    {"alerts", P_OPS | PB(HLEGAL), 0, 0},
    {"lift", P_OPS | PB(HLEGAL), 0, 0},
    {"certificates", P_OPS | PB(HLEGAL), 0, 0},
};

typedef struct purpose_info {
    const char *code;
    int secondary; /* teaching, research: de-identified data only */
    int emergency; /* a break-glass opening is a relationship for this purpose */
    int four_eyes; /* an export for this purpose needs approval */
} purpose_info;

static const purpose_info PURPOSES[ACCESS_PURPOSE_COUNT] = {
    {"TREAT", 0, 1, 0}, {"ETREAT", 0, 1, 0}, {"HQUALIMP", 0, 0, 1}, {"HLEGAL", 0, 0, 1},
    {"TRAIN", 1, 0, 0}, {"HRESCH", 1, 0, 0}, {"HOPERAT", 0, 0, 0},  {"SYSADMN", 0, 0, 0},
};

static const char *const ROLE_NAMES[ACCESS_ROLE_COUNT] = {
    "radiologist",     "referring-physician", "technologist", "researcher",
    "privacy-officer", "administrator",       "maintenance",  "service",
};

static const char *const REASONS[ACCESS_REASON_COUNT] = {
    "allowed",
    "bad request (unknown role, action, purpose or relationship)",
    "the account holds no role",
    "separation of duties: administrator and privacy officer in one account",
    "the account is disabled",
    "the account is suspended until an administrator and the privacy officer lift it",
    "the one-time password must be changed first (dcmvault passwd)",
    "this role needs a second factor: log in with TOTP (dcmvault user totp to enrol)",
    "de-identified data only (not available yet)",
    "no role of this account permits it",
    "the purpose of use does not allow it",
    "nobody may grant access to themselves",
    "nobody may approve their own request",
    "nobody may lift their own suspension",
    "no care relationship (grant) with this patient or study",
    "needs a second person's approval (four eyes)",
    "bulk request: needs a second person's approval",
    "over the export quota: needs a second person's approval",
    "allowed by an approved request",
};

_Static_assert(sizeof(ROLE_NAMES) / sizeof(ROLE_NAMES[0]) == ACCESS_ROLE_COUNT, "roles");
_Static_assert(sizeof(REASONS) / sizeof(REASONS[0]) == ACCESS_REASON_COUNT, "reasons");
_Static_assert(ACCESS_ROLE_COUNT <= 16, "role bits fit");

/* ---- names ------------------------------------------------------------------------------- */

const char *access_role_name(access_role r)
{
    return (unsigned)r < ACCESS_ROLE_COUNT ? ROLE_NAMES[r] : "?";
}

const char *access_action_name(access_action a)
{
    return (unsigned)a < ACCESS_ACTION_COUNT ? ACTIONS[a].name : "?";
}

const char *access_purpose_name(access_purpose p)
{
    return (unsigned)p < ACCESS_PURPOSE_COUNT ? PURPOSES[p].code : "?";
}

const char *access_rel_name(access_rel r)
{
    static const char *const n[ACCESS_REL_COUNT] = {"none", "grant", "break-glass"};

    return (unsigned)r < ACCESS_REL_COUNT ? n[r] : "?";
}

const char *access_reason_text(access_reason r)
{
    return (unsigned)r < ACCESS_REASON_COUNT ? REASONS[r] : "?";
}

int access_role_from_name(const char *s, access_role *out)
{
    unsigned i;

    for (i = 0; i < ACCESS_ROLE_COUNT; i++)
        if (!strcmp(s, ROLE_NAMES[i])) {
            *out = (access_role)i;
            return 0;
        }
    return -1;
}

int access_action_from_name(const char *s, access_action *out)
{
    unsigned i;

    for (i = 0; i < ACCESS_ACTION_COUNT; i++)
        if (!strcmp(s, ACTIONS[i].name)) {
            *out = (access_action)i;
            return 0;
        }
    return -1;
}

/* The words users type for the codes (the list and the HL7 display names). */
static const struct {
    const char *word;
    access_purpose p;
} PURPOSE_WORDS[] = {
    {"treatment", ACCESS_P_TREAT}, {"emergency", ACCESS_P_ETREAT},   {"quality", ACCESS_P_HQUALIMP},
    {"legal", ACCESS_P_HLEGAL},    {"teaching", ACCESS_P_TRAIN},     {"training", ACCESS_P_TRAIN},
    {"research", ACCESS_P_HRESCH}, {"operations", ACCESS_P_HOPERAT}, {"sysadmin", ACCESS_P_SYSADMN},
};

int access_purpose_from_name(const char *s, access_purpose *out)
{
    unsigned i;

    for (i = 0; i < ACCESS_PURPOSE_COUNT; i++)
        if (!strcasecmp(s, PURPOSES[i].code)) {
            *out = (access_purpose)i;
            return 0;
        }
    for (i = 0; i < sizeof(PURPOSE_WORDS) / sizeof(PURPOSE_WORDS[0]); i++)
        if (!strcasecmp(s, PURPOSE_WORDS[i].word)) {
            *out = PURPOSE_WORDS[i].p;
            return 0;
        }
    return -1;
}

/* ---- role sets ------------------------------------------------------------------------------ */

#define RB(r)     ACCESS_ROLE_BIT(ACCESS_##r)
#define ROLES_PHI (RB(RADIOLOGIST) | RB(REFERRING) | RB(TECHNOLOGIST))

int access_roles_phi(unsigned roles)
{
    return (roles & ROLES_PHI) != 0;
}

int access_roles_need_2fa(unsigned roles)
{
    return (roles & (ROLES_PHI | RB(PRIVACY) | RB(ADMIN))) != 0;
}

access_purpose access_roles_default_purpose(unsigned roles)
{
    if (roles & ROLES_PHI)
        return ACCESS_P_TREAT;
    if (roles & (RB(ADMIN) | RB(MAINTENANCE)))
        return ACCESS_P_SYSADMN;
    if (roles & RB(RESEARCHER))
        return ACCESS_P_HRESCH;
    return ACCESS_P_HOPERAT;
}

static int sod_broken(unsigned roles)
{
    return (roles & RB(ADMIN)) && (roles & RB(PRIVACY));
}

dv_err access_roles_check(unsigned roles, dv_errinfo *ei)
{
    if (roles == 0 || (roles & ~ACCESS_ROLES_ALL))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "an account needs known roles");
    if (sod_broken(roles))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "%s", REASONS[ACCESS_R_SOD]);
    return DV_OK;
}

int access_roles_parse(const char *s, unsigned *roles)
{
    char name[40];
    access_role r;
    size_t n;

    *roles = 0;
    while (*s) {
        n = strcspn(s, ",");
        if (n == 0 || n >= sizeof(name))
            return -1;
        memcpy(name, s, n);
        name[n] = '\0';
        if (access_role_from_name(name, &r))
            return -1;
        *roles |= ACCESS_ROLE_BIT(r);
        s += n;
        if (*s == ',')
            s++;
    }
    return *roles ? 0 : -1;
}

void access_roles_format(unsigned roles, char *out, size_t cap)
{
    size_t len = 0;
    unsigned i;
    int n;

    if (cap)
        out[0] = '\0';
    for (i = 0; i < ACCESS_ROLE_COUNT; i++) {
        if (!(roles & ACCESS_ROLE_BIT(i)) || len >= cap)
            continue;
        n = snprintf(out + len, cap - len, "%s%s", len ? "," : "", ROLE_NAMES[i]);
        if (n > 0)
            len += (size_t)n;
    }
}

/* ---- the decision ------------------------------------------------------------------------- */

static access_result set(access_decision *out, access_result res, access_reason why,
                         access_action a)
{
    static const char *const verdict[] = {"allowed", "denied", "needs approval"};

    out->result = res;
    out->reason = why;
    (void)snprintf(out->text, sizeof(out->text), "%s %s: %s", access_action_name(a), verdict[res],
                   REASONS[why]);
    return res;
}

/* The most permissive cell among the subject's roles. */
static unsigned best_cell(unsigned roles, access_action a)
{
    unsigned best = C_NO, i;

    for (i = 0; i < ACCESS_ROLE_COUNT; i++)
        if ((roles & ACCESS_ROLE_BIT(i)) && ROLE_TABLE[i][a] > best)
            best = ROLE_TABLE[i][a];
    return best;
}

static int same_user(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Rules 1-7: the account itself. */
static int account_rule(const access_subject *who, access_reason *why)
{
    if (who->roles == 0)
        *why = ACCESS_R_NO_ROLE;
    else if (sod_broken(who->roles))
        *why = ACCESS_R_SOD;
    else if (who->disabled)
        *why = ACCESS_R_DISABLED;
    else if (who->suspended)
        *why = ACCESS_R_SUSPENDED;
    else if (who->must_change)
        *why = ACCESS_R_MUST_CHANGE;
    else if (access_roles_need_2fa(who->roles) && !who->mfa)
        *why = ACCESS_R_NO_2FA;
    else
        return 0;
    return 1;
}

/* Rule 12: the self rules of GRANT, APPROVE and LIFT. */
static int self_rule(const access_subject *who, access_action a, const access_object *o,
                     access_reason *why)
{
    if (!o || !same_user(who->user, o->owner))
        return 0;
    if (a == ACCESS_GRANT)
        *why = ACCESS_R_SELF_GRANT;
    else if (a == ACCESS_APPROVE)
        *why = ACCESS_R_SELF_APPROVAL;
    else if (a == ACCESS_LIFT)
        *why = ACCESS_R_SELF_LIFT;
    else
        return 0;
    return 1;
}

static int over(uint64_t used, uint64_t add, uint64_t limit)
{
    return limit != ACCESS_UNLIMITED && (add > limit || used > limit - add);
}

/* Rules 14-17: exports. */
static access_result export_rule(const access_policy *pol, const access_subject *who,
                                 const access_object *o, access_decision *out)
{
    const access_quota *q = &o->quota;
    const access_usage *u = &o->usage;

    if (o->approved)
        return set(out, ACCESS_ALLOW, ACCESS_R_APPROVED, ACCESS_EXPORT);
    if (PURPOSES[who->purpose].four_eyes || o->rel == ACCESS_REL_BREAKGLASS)
        return set(out, ACCESS_NEEDS_APPROVAL, ACCESS_R_FOUR_EYES, ACCESS_EXPORT);
    if ((pol->bulk_studies && o->studies > pol->bulk_studies) ||
        (pol->bulk_patients && o->patients > pol->bulk_patients))
        return set(out, ACCESS_NEEDS_APPROVAL, ACCESS_R_BULK, ACCESS_EXPORT);
    if (over(u->studies_hour, o->studies, q->studies_hour) ||
        over(u->studies_day, o->studies, q->studies_day) ||
        over(u->bytes_day, o->bytes, q->bytes_day) ||
        over(u->patients_day, o->patients, q->patients_day))
        return set(out, ACCESS_NEEDS_APPROVAL, ACCESS_R_QUOTA, ACCESS_EXPORT);
    return set(out, ACCESS_ALLOW, ACCESS_R_OK, ACCESS_EXPORT);
}

access_result access_decide(const access_policy *pol, const access_subject *who,
                            access_action action, const access_object *what, access_decision *out)
{
    static const access_object none;
    const access_object *o = what ? what : &none;
    access_reason why = ACCESS_R_OK;
    unsigned cell;
    int deid;

    if ((unsigned)action >= ACCESS_ACTION_COUNT) /* named "?" in the text */
        return set(out, ACCESS_DENY, ACCESS_R_BAD_REQUEST, action);
    if ((who->roles & ~ACCESS_ROLES_ALL) || (unsigned)who->purpose >= ACCESS_PURPOSE_COUNT ||
        (unsigned)o->rel >= ACCESS_REL_COUNT)
        return set(out, ACCESS_DENY, ACCESS_R_BAD_REQUEST, action);
    if (account_rule(who, &why))
        return set(out, ACCESS_DENY, why, action);
    cell = best_cell(who->roles, action);
    deid = action == ACCESS_EXPORT && o->deidentified;
    if (deid && cell == C_DEID) /* de-identified data is what D permits: with a relationship */
        cell = C_REL;
    if (!deid && ACTIONS[action].phi && (PURPOSES[who->purpose].secondary || cell == C_DEID))
        return set(out, ACCESS_DENY, ACCESS_R_DEID_ONLY, action);
    if (cell == C_NO || cell == C_DEID)
        return set(out, ACCESS_DENY, ACCESS_R_ROLE, action);
    if (!(ACTIONS[action].purposes & (1u << (unsigned)who->purpose)) &&
        !(deid && PURPOSES[who->purpose].secondary))
        return set(out, ACCESS_DENY, ACCESS_R_PURPOSE, action);
    if (self_rule(who, action, what, &why))
        return set(out, ACCESS_DENY, why, action);
    if (cell == C_REL && o->rel != ACCESS_REL_GRANT &&
        !(o->rel == ACCESS_REL_BREAKGLASS && ACTIONS[action].breakglass_ok &&
          PURPOSES[who->purpose].emergency))
        return set(out, ACCESS_DENY, ACCESS_R_NO_RELATIONSHIP, action);
    if (action == ACCESS_EXPORT)
        return export_rule(pol, who, o, out);
    return set(out, ACCESS_ALLOW, ACCESS_R_OK, action);
}
