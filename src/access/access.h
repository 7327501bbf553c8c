/* SPDX-License-Identifier: Apache-2.0 */
/* access.h - least privilege at the one door: THE decision point (access_decide), accounts with
 * Argon2id passwords and TOTP, sessions, care-relationship grants, break-glass, export quotas
 * with four-eyes approval, anomaly alerts and suspension.  docs/access.md is the reference
 * (the role x action x relationship x purpose matrix, the rules' precedence, the tables).
 *
 * Layering: access_decide() is pure (no I/O, no clock, never fails): the caller gathers the
 * facts (who, what relationship, what usage) and it decides.  Everything else here keeps state
 * in the index (index.h, "access" section) through an access_env that only the vault builds:
 * the vault stays the one door to index/ and store/.  Every time-dependent function takes `now`
 * (unix seconds) from its caller; nothing here reads the clock, so tests inject time.
 *
 * No function here writes PHI anywhere: patients and studies are named by the vault's blind
 * indexes (ACCESS_BI_BYTES); error messages and alert details hold user names, rule names and
 * counts only.  Secrets (passwords, TOTP secrets, session tokens) are wiped after use and
 * compared in constant time (sodium_memcmp).
 */
#ifndef DV_ACCESS_H
#define DV_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "common/dv.h"
#include "index/index.h"

#define ACCESS_BI_BYTES INDEX_BI_BYTES

/* ---- the vocabulary of a decision ------------------------------------------------------- */

typedef enum access_role {
    ACCESS_RADIOLOGIST = 0, /* "radiologist" */
    ACCESS_REFERRING,       /* "referring-physician" */
    ACCESS_TECHNOLOGIST,    /* "technologist" */
    ACCESS_RESEARCHER,      /* "researcher": de-identified data only */
    ACCESS_PRIVACY,         /* "privacy-officer": audit, alerts, approvals */
    ACCESS_ADMIN,           /* "administrator": accounts and configuration, never PHI */
    ACCESS_MAINTENANCE,     /* "maintenance": health and metrics only */
    ACCESS_SERVICE,         /* "service": an AE or integration account, import only */
    ACCESS_ROLE_COUNT
} access_role;
#define ACCESS_ROLE_BIT(r) (1u << (unsigned)(r))
#define ACCESS_ROLES_ALL   ((1u << ACCESS_ROLE_COUNT) - 1u)

typedef enum access_action {
    ACCESS_FIND = 0,   /* query the index (rows are then filtered one by one with VIEW) */
    ACCESS_VIEW,       /* see one study's PHI fields or image */
    ACCESS_EXPORT,     /* take a study's files out of the vault */
    ACCESS_IMPORT,     /* store files */
    ACCESS_BREAKGLASS, /* open a study without a grant, stating a reason */
    ACCESS_GRANT,      /* create or revoke a care grant (list grants) */
    ACCESS_APPROVE,    /* approve or deny another user's pending request */
    ACCESS_USER_ADMIN, /* add, list, disable, reset accounts */
    ACCESS_CONFIG,     /* configuration and key rotation */
    ACCESS_SHRED,      /* crypto-shred a study */
    ACCESS_RETENTION,  /* run the retention rules */
    ACCESS_HEALTH,     /* integrity check, health and metrics (no PHI) */
    ACCESS_AUDIT,      /* read the audit log */
    ACCESS_ALERTS,     /* list and acknowledge alerts */
    ACCESS_LIFT,       /* lift a suspension (needs an administrator AND a privacy officer) */
    ACCESS_CERTS,      /* list destruction certificates */
    ACCESS_ACTION_COUNT
} access_action;

/* Purpose of use: HL7 v3 ActReason codes (docs/access.md cites them). */
typedef enum access_purpose {
    ACCESS_P_TREAT = 0, /* TREAT: treatment */
    ACCESS_P_ETREAT,    /* ETREAT: emergency treatment */
    ACCESS_P_HQUALIMP,  /* HQUALIMP: health quality improvement */
    ACCESS_P_HLEGAL,    /* HLEGAL: legal */
    ACCESS_P_TRAIN,     /* TRAIN: training, teaching */
    ACCESS_P_HRESCH,    /* HRESCH: research */
    ACCESS_P_HOPERAT,   /* HOPERAT: healthcare operations */
    ACCESS_P_SYSADMN,   /* SYSADMN: system administration */
    ACCESS_PURPOSE_COUNT
} access_purpose;

/* The requester's care relationship with the patient or study an action is about. */
typedef enum access_rel {
    ACCESS_REL_NONE = 0,
    ACCESS_REL_GRANT,      /* a valid grant (user or team; study or patient) */
    ACCESS_REL_BREAKGLASS, /* only an active break-glass */
    ACCESS_REL_COUNT
} access_rel;

typedef enum access_result { ACCESS_ALLOW = 0, ACCESS_DENY, ACCESS_NEEDS_APPROVAL } access_result;

/* Why.  Values are stored in the access log: append only. */
typedef enum access_reason {
    ACCESS_R_OK = 0,
    ACCESS_R_BAD_REQUEST,     /* unknown role bits, action, purpose or relationship */
    ACCESS_R_NO_ROLE,         /* the account holds no role */
    ACCESS_R_SOD,             /* administrator together with privacy officer */
    ACCESS_R_DISABLED,        /* the account is disabled */
    ACCESS_R_SUSPENDED,       /* suspended by a severe alert */
    ACCESS_R_MUST_CHANGE,     /* the one-time password must be changed first */
    ACCESS_R_NO_2FA,          /* the role needs a second factor at login */
    ACCESS_R_DEID_ONLY,       /* teaching/research: de-identified data only (not available yet) */
    ACCESS_R_ROLE,            /* no role of the account permits the action */
    ACCESS_R_PURPOSE,         /* the purpose of use does not fit the action */
    ACCESS_R_SELF_GRANT,      /* nobody grants access to themselves */
    ACCESS_R_SELF_APPROVAL,   /* nobody approves their own request */
    ACCESS_R_SELF_LIFT,       /* nobody lifts their own suspension */
    ACCESS_R_NO_RELATIONSHIP, /* no care relationship with this patient or study */
    ACCESS_R_FOUR_EYES,       /* export for legal/quality or under break-glass: approval */
    ACCESS_R_BULK,            /* more studies or patients at once than the bulk threshold */
    ACCESS_R_QUOTA,           /* over the export quota */
    ACCESS_R_APPROVED,        /* allowed by an approved request */
    ACCESS_REASON_COUNT
} access_reason;

/* Names: "radiologist", "export", "TREAT", "grant", "no care relationship ..." ("?" when out
 * of range).  *_from_name return 0 and set *out, or -1 for an unknown name. */
const char *access_role_name(access_role r);
const char *access_action_name(access_action a);
const char *access_purpose_name(access_purpose p);
const char *access_rel_name(access_rel r);
const char *access_reason_text(access_reason r);
int access_role_from_name(const char *s, access_role *out);
int access_action_from_name(const char *s, access_action *out);
/* Purpose: the HL7 code in any case ("TREAT", "hresch") or a plain word: treatment, emergency,
 * quality, legal, teaching/training, research, operations, sysadmin. */
int access_purpose_from_name(const char *s, access_purpose *out);

/* "radiologist,technologist" <-> bit set.  parse: -1 for an empty list or unknown name.
 * format: writes the names in role order into out (cap bytes), "" for none. */
int access_roles_parse(const char *s, unsigned *roles);
void access_roles_format(unsigned roles, char *out, size_t cap);
/* Separation of duties for a role set: DV_EINVAL naming the rule when it holds no role, an
 * unknown bit, or administrator together with privacy officer. */
dv_err access_roles_check(unsigned roles, dv_errinfo *ei) DV_WUR;
/* 1 when a role of the set can see PHI (radiologist, referring physician, technologist). */
int access_roles_phi(unsigned roles);
/* 1 when the set needs a second factor: a PHI role, privacy officer or administrator. */
int access_roles_need_2fa(unsigned roles);
/* The purpose a session of this role set uses by default (TREAT for clinicians, SYSADMN for
 * administrators and maintenance, HOPERAT for privacy officers and services, HRESCH for
 * researchers). */
access_purpose access_roles_default_purpose(unsigned roles);

/* ---- policy (DIR/access.conf; docs/access.md lists every key) ------------------------------ */

/* Export limits in a window: 0 allows nothing, ACCESS_UNLIMITED has no limit. */
#define ACCESS_UNLIMITED UINT64_MAX
typedef struct access_quota {
    uint64_t studies_hour, studies_day, bytes_day, patients_day;
} access_quota;

/* What a user exported already (allowed exports only), for the quota. */
typedef struct access_usage {
    uint64_t studies_hour, studies_day, bytes_day, patients_day;
} access_usage;

#define ACCESS_USER_QUOTAS_MAX 64
#define ACCESS_REFERRING_MAX   256 /* [import.referring] entries */
#define ACCESS_PN_MAX          64  /* a person name key, normalised */

/* The import rule's map from a DICOM person name (ReferringPhysicianName) to an account. */
typedef struct access_referring {
    char pn[ACCESS_PN_MAX + 1]; /* normalised: access_pn_norm() */
    char user[INDEX_USER_NAME_MAX + 1];
} access_referring;

typedef struct access_user_quota {
    char user[INDEX_USER_NAME_MAX + 1];
    access_quota q;
} access_user_quota;

typedef struct access_policy {
    access_quota role_quota[ACCESS_ROLE_COUNT];
    access_user_quota user_quota[ACCESS_USER_QUOTAS_MAX];
    unsigned n_user_quota;
    uint64_t bulk_studies, bulk_patients; /* a request above either needs approval */
    unsigned lockout_attempts;            /* failed logins that lock the account */
    int64_t lockout_seconds;
    int64_t session_idle, session_lifetime;
    int64_t breakglass_seconds;            /* how long a break-glass opening lasts */
    int64_t approval_seconds;              /* how long an approved request may be used */
    int64_t window_seconds;                /* the anomaly rules' sliding window */
    uint64_t window_patients;              /* distinct patients in a window: severe */
    uint64_t window_denials;               /* denials in a window: severe */
    unsigned offhours_start, offhours_end; /* hours (UTC + utc_offset) counted as off hours */
    int64_t utc_offset;                    /* seconds east of UTC for the off-hours rule */
    uint64_t offhours_max;                 /* PHI accesses per window at off hours: alert */
    int64_t dormant_seconds;               /* no login for this long, then a login: alert */
    int use_syslog;                        /* alerts also go to syslog (LOG_AUTHPRIV) */
    int64_t referring_seconds;             /* the referring physician's import-rule grant */
    unsigned overlay_roles;                /* roles whose rendered images always carry the
                                              visible overlay (ACCESS_ROLE_BIT set) */
    access_referring referring[ACCESS_REFERRING_MAX];
    unsigned n_referring;
} access_policy;

/* The built-in defaults (docs/access.md): quotas per role, bulk 20 studies / 5 patients,
 * lockout 5 attempts for 15 minutes, sessions 15 minutes idle / 8 hours, break-glass 4 hours. */
void access_policy_default(access_policy *p) DV_NONNULL(1);
/* Parses INI text over the defaults already in *p.  Strict: an unknown section or key, or a
 * bad value is DV_EMALFORMED naming the line. */
dv_err access_policy_parse(const char *text, access_policy *p, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);
/* Defaults, then the file at path when it exists (an absent file is not an error). */
dv_err access_policy_load(const char *path, access_policy *p, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);
/* Normalises a person name for matching: the first (alphabetic) component group only, upper
 * case ASCII, spaces around '^' and trailing '^' or spaces dropped.  -1 when the result would
 * be empty or longer than ACCESS_PN_MAX. */
int access_pn_norm(const char *pn, char out[ACCESS_PN_MAX + 1]);
/* The account [import.referring] maps this person name to; NULL when none. */
const char *access_policy_referring(const access_policy *p, const char *pn) DV_NONNULL(1);

/* The quota of a user: per field the most generous of their roles', replaced by the keys their
 * own [quota.user.NAME] section sets. */
void access_policy_quota(const access_policy *p, const char *user, unsigned roles,
                         access_quota *out) DV_NONNULL(1, 4);

/* ---- THE decision point ------------------------------------------------------------------ */

typedef struct access_subject {
    const char *user; /* account name */
    unsigned roles;   /* ACCESS_ROLE_BIT set */
    access_purpose purpose;
    int mfa;         /* 1: the session was opened with the second factor */
    int must_change; /* 1: the one-time password is still in use */
    int disabled, suspended;
} access_subject;

typedef struct access_object {
    access_rel rel;    /* VIEW, EXPORT, GRANT: the subject's relationship */
    const char *owner; /* GRANT: grantee; APPROVE: requester; LIFT: suspended user; or NULL */
    uint64_t studies, patients, bytes; /* EXPORT: this request (patients: not yet exported
                                          today) */
    access_usage usage;                /* EXPORT: what the subject already exported */
    access_quota quota;                /* EXPORT: the subject's quota (access_policy_quota) */
    int approved;                      /* EXPORT: an approved request covers this one */
    int deidentified; /* EXPORT: the vault de-identifies what leaves (deid/), so teaching and
                         research purposes and the researcher's D permission may have it */
} access_object;

#define ACCESS_TEXT_MAX 200

typedef struct access_decision {
    access_result result;
    access_reason reason;
    char text[ACCESS_TEXT_MAX]; /* one line for the user: what and why, no PHI */
} access_decision;

/* Decides whether who may do action on what, by the static tables and rules of
 * docs/access.md (checked in that order; the first rule that applies gives the reason).
 * what may be NULL for actions about no patient (then rel NONE, no owner, no counts).  Always
 * fills *out and returns out->result. */
access_result access_decide(const access_policy *pol, const access_subject *who,
                            access_action action, const access_object *what, access_decision *out)
    DV_NONNULL(1, 2, 5);

/* ---- passwords ----------------------------------------------------------------------------- */

#define ACCESS_PASSWORD_MIN 12
#define ACCESS_PASSWORD_MAX 256
#define ACCESS_ONETIME_LEN  20
#define ACCESS_HASH_MAX     128 /* crypto_pwhash_STRBYTES */

/* The password rules: ACCESS_PASSWORD_MIN..MAX bytes, not containing the user name (case
 * insensitive), not in the common-password list (data/common-passwords.txt, case
 * insensitive).  DV_EINVAL naming the rule broken (never the password). */
dv_err access_password_check(const char *user, const char *pw, dv_errinfo *ei) DV_WUR DV_NONNULL(2);
/* 1 when pw (case-insensitively) is in the shipped common-password list. */
int access_password_common(const char *pw) DV_NONNULL(1);
/* Argon2id hash (libsodium crypto_pwhash_str, at least OWASP's 19 MiB / t = 2). */
dv_err access_password_hash(const char *pw, char out[ACCESS_HASH_MAX], dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);
/* 1 when pw matches hash. */
int access_password_verify(const char *hash, const char *pw) DV_NONNULL(1, 2);
/* A random one-time password: ACCESS_ONETIME_LEN characters from a 64-symbol alphabet. */
void access_onetime_password(char out[ACCESS_ONETIME_LEN + 1]) DV_NONNULL(1);

/* ---- TOTP (RFC 6238 via liboath: HMAC-SHA-1, 30 s steps, 6 digits) ------------------------- */

#define ACCESS_TOTP_SECRET_BYTES 20
#define ACCESS_TOTP_DIGITS       6
#define ACCESS_TOTP_STEP         30
#define ACCESS_TOTP_WINDOW       1 /* steps accepted on either side of now */
#define ACCESS_TOTP_B32_MAX      64
#define ACCESS_TOTP_URI_MAX      512

/* The code for secret at now with digits (6..8) digits into out (digits + 1 bytes). */
dv_err access_totp_code(const uint8_t *secret, size_t len, int64_t now, unsigned digits,
                        char *out) DV_WUR DV_NONNULL(1, 5);
/* Checks code (6 digits) within ACCESS_TOTP_WINDOW steps of now, compared in constant time; a
 * step at or before last_step is refused (no replay).  *step: the matching step.  DV_EPERM
 * when it does not match. */
dv_err access_totp_check(const uint8_t *secret, size_t len, int64_t now, const char *code,
                         int64_t last_step, int64_t *step) DV_WUR DV_NONNULL(1, 4, 6);
/* Base32 (RFC 4648, no padding) of the secret, and the otpauth:// URI for authenticator
 * apps: otpauth://totp/ISSUER:USER?secret=...&issuer=ISSUER&algorithm=SHA1&digits=6&period=30 */
dv_err access_totp_base32(const uint8_t *secret, size_t len, char out[ACCESS_TOTP_B32_MAX]) DV_WUR
    DV_NONNULL(1, 3);
dv_err access_totp_uri(const char *issuer, const char *user, const uint8_t *secret, size_t len,
                       char out[ACCESS_TOTP_URI_MAX]) DV_WUR DV_NONNULL(1, 2, 3, 5);

/* ---- the stateful part: accounts, sessions, grants, guard --------------------------------- */

/* The vault seals the TOTP secret (its field key, bound to the user name): seal writes at most
 * cap bytes into out; open returns DV_ECRYPTO when the seal does not authenticate. */
typedef struct access_sealer {
    void *ctx;
    dv_err (*seal)(void *ctx, const char *user, const uint8_t *pt, size_t len, uint8_t *out,
                   size_t cap, size_t *outlen);
    dv_err (*open)(void *ctx, const char *user, const uint8_t *ct, size_t len, uint8_t *out,
                   size_t cap, size_t *outlen);
} access_sealer;

typedef struct access_env {
    index_db *db;
    const access_policy *pol;
    const access_sealer *sealer;
} access_env;

/* Accounts.  add: roles checked (access_roles_check); a random one-time password (must be
 * changed at first use) goes to pw.  DV_EEXIST when the name is taken. */
dv_err access_user_add(const access_env *env, const char *name, unsigned roles, const char *team,
                       int64_t now, char pw[ACCESS_ONETIME_LEN + 1], dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 6);
/* Disables (on = 1) or enables an account; disabling ends its sessions. */
dv_err access_user_disable(const access_env *env, const char *name, int on, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);
/* A new one-time password (must_change), the lockout cleared, sessions ended; with totp also
 * the second factor removed (re-enrolment needed). */
dv_err access_user_reset(const access_env *env, const char *name, int totp,
                         char pw[ACCESS_ONETIME_LEN + 1], dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 4);
/* Changes a password: old must verify; new must pass the rules and differ from old.  Clears
 * must_change.  DV_EPERM when old is wrong (counts as a failed login). */
dv_err access_passwd(const access_env *env, const char *name, const char *old_pw,
                     const char *new_pw, int64_t now, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 4);
/* TOTP enrolment: a new random secret, stored sealed and not yet active; its base32 and the
 * otpauth:// URI go to b32/uri.  confirm: a code from it activates it. */
dv_err access_totp_enrol(const access_env *env, const char *name, char b32[ACCESS_TOTP_B32_MAX],
                         char uri[ACCESS_TOTP_URI_MAX], dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3, 4);
dv_err access_totp_confirm(const access_env *env, const char *name, const char *code, int64_t now,
                           dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);

typedef struct access_login_req {
    const char *user, *password;
    const char *totp;   /* NULL or "" when not given */
    const char *client; /* "local" for the CLI */
    int64_t now;
} access_login_req;

#define ACCESS_TOKEN_BYTES 32
#define ACCESS_TOKEN_HEX   64 /* 2 * ACCESS_TOKEN_BYTES */

typedef struct access_login_res {
    char token[ACCESS_TOKEN_HEX + 1]; /* give it to the client; only its hash is stored */
    int must_change;                  /* the session may only change the password */
    int mfa;                          /* the second factor was checked */
    unsigned roles;
} access_login_res;

/* Checks password (and TOTP when the account has one active; a code given for a secret
 * enrolled but not yet confirmed confirms it), counts failures (ACCESS lockout after
 * pol->lockout_attempts, for pol->lockout_seconds: a locked account is refused even with the right
 * password), and opens a session.  Every failure is DV_EPERM with a message that does not say
 * whether the user exists; success and failure are written to the access log ("login").  An account
 * whose roles need 2FA and that has none enrolled gets a session with mfa = 0 (enough to enrol). */
dv_err access_login(const access_env *env, const access_login_req *req, access_login_res *res,
                    dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);

typedef struct access_session_info {
    char user[INDEX_USER_NAME_MAX + 1];
    char team[INDEX_TEAM_MAX + 1];
    unsigned roles;
    access_purpose purpose; /* the session's default purpose */
    int mfa, must_change, disabled, suspended;
    int64_t session_id, expires;
} access_session_info;

/* Checks a session token at now: it must exist, not be idle longer than pol->session_idle nor
 * older than pol->session_lifetime, and its account must exist and not be disabled or locked.
 * Touches it (last use = now) and fills *out.  DV_EPERM "session expired" / "no session". */
dv_err access_session_open(const access_env *env, const char *token, int64_t now,
                           access_session_info *out, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 4);
/* Ends the session with this token (no error when there is none). */
dv_err access_logout(const access_env *env, const char *token, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);
/* Fills a subject for access_decide from a session (purpose: the request's, or the session's
 * when p is ACCESS_PURPOSE_COUNT). */
void access_subject_of(const access_session_info *s, access_purpose p, access_subject *out)
    DV_NONNULL(1, 3);

/* Care grants.  target: a study's (patient = 0) or a patient's (patient = 1) blind index.
 * source: "assignment", "import-rule" or "reading-radiologist".  The caller has decided the
 * GRANT action first (who may grant, never to themselves). */
typedef struct access_grant_req {
    const char *grantee; /* user, or team when group = 1 */
    int group;
    const uint8_t *target_bi;
    int patient;
    int64_t expires; /* unix seconds, > now */
    const char *source, *reason, *created_by;
} access_grant_req;
dv_err access_grant_add(const access_env *env, const access_grant_req *g, int64_t now, int64_t *id,
                        dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);
dv_err access_grant_revoke(const access_env *env, int64_t id, dv_errinfo *ei) DV_WUR DV_NONNULL(1);

/* The grants (and break-glass openings) valid for a user at a time, held in memory so that
 * filtering many rows costs no query per row. */
typedef struct access_relset {
    uint8_t *bi;   /* n entries of ACCESS_BI_BYTES */
    uint8_t *kind; /* per entry: bit 0 patient target, bit 1 break-glass */
    size_t n, cap;
} access_relset;
dv_err access_relset_load(const access_env *env, const char *user, const char *team, int64_t now,
                          access_relset *out, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 5);
/* The relationship with a study (its blind index) of a patient (its blind index): GRANT when
 * a grant covers either, else BREAKGLASS when an opening covers either, else NONE. */
access_rel access_relset_of(const access_relset *s, const uint8_t *study_bi,
                            const uint8_t *patient_bi) DV_NONNULL(1);
void access_relset_free(access_relset *s);

/* Break-glass: opens the study for user for pol->breakglass_seconds, stating reason (no PHI),
 * and raises a "break-glass" alert for the privacy officer.  *id: the opening (a grant with
 * source "break-glass"). */
dv_err access_breakglass(const access_env *env, const char *user, const uint8_t *study_bi,
                         const char *reason, int64_t now, int64_t *id, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3, 4);

/* Export usage of user up to now (allowed exports in the last hour / day), and whether the
 * patient (may be NULL) was exported already today. */
dv_err access_usage_get(const access_env *env, const char *user, const uint8_t *patient_bi,
                        int64_t now, access_usage *u, int *patient_seen, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 5);

/* Four eyes.  request: a pending request of the decision's kind; *id is its number.
 * approve/deny: by another user than the requester (DV_EPERM otherwise; the caller has
 * decided ACCESS_APPROVE with owner = requester first).  consume: when an approved, unexpired,
 * unused request of user for action and target exists, marks it used and sets *id (0 when
 * none). */
dv_err access_approval_request(const access_env *env, const char *user, access_action action,
                               const uint8_t *target_bi, const access_object *what,
                               const access_decision *why, int64_t now, int64_t *id,
                               dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 4, 5, 6, 8);
dv_err access_approval_decide(const access_env *env, const char *approver, int64_t id, int approve,
                              int64_t now, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);
dv_err access_approval_consume(const access_env *env, const char *user, access_action action,
                               const uint8_t *target_bi, int64_t now, int64_t *id,
                               dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 4, 6);

/* Records a decision in the access log and runs the anomaly rules on it (docs/access.md):
 * access without relationship, off-hours volume, many distinct patients in a window, a
 * VIP-flagged patient, repeated denials.  A severe rule suspends the account.  study_bi and
 * patient_bi may be NULL.  *alerts (may be NULL): alerts raised by this call. */
dv_err access_record(const access_env *env, const access_subject *who, access_action action,
                     const access_decision *d, const uint8_t *study_bi, const uint8_t *patient_bi,
                     uint64_t bytes, int64_t now, unsigned *alerts, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 4);

/* Raises an alert (severity 1 notice, 2 warning, 3 severe: suspends user) with a PHI-free
 * detail; also to syslog when the policy says so. */
dv_err access_alert(const access_env *env, const char *user, const char *rule, int severity,
                    const char *detail, int64_t now, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 5);

/* Lifts user's suspension on behalf of lifter (an administrator or a privacy officer: the
 * caller has decided ACCESS_LIFT).  The suspension ends when both an administrator and a
 * privacy officer (two different people) have lifted it; *lifted = 1 then. */
dv_err access_lift(const access_env *env, const char *lifter, unsigned lifter_roles,
                   const char *user, int *lifted, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 4, 5);

#endif
