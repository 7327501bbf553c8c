/* SPDX-License-Identifier: Apache-2.0 */
/* vault_int.h - the vault's private state and the helpers its files share (src/vault only,
 * and its unit tests).
 *
 * Invariants of struct vault: every key is valid from vault_open to vault_close and wiped
 * there; db and st are open; batch.depth is 1 while an import batch is open (an outer index
 * transaction), 0 otherwise.
 */
#ifndef DV_VAULT_INT_H
#define DV_VAULT_INT_H

#include <dirent.h>

#include "crypto/crypto.h"
#include "index/index.h"
#include "store/store.h"
#include "vault/vault.h"

/* ---- config (config.c) -------------------------------------------------------------------- */

#define VAULT_CONF_NAME     "dcmvault.conf"
#define VAULT_KEYS_NAME     "keys.sealed"
#define VAULT_INDEX_NAME    "index.sqlite"
#define VAULT_RETENTION_MAX 32

typedef enum vault_kek_mode { VAULT_KEK_KEYFILE = 1, VAULT_KEK_PASSPHRASE = 2 } vault_kek_mode;

typedef struct vault_retention_rule {
    char modality[INDEX_MODALITY_MAX + 1]; /* "default" for the fallback rule */
    unsigned years;
} vault_retention_rule;

typedef struct vault_config {
    crypto_alg alg;
    uint32_t chunk_size;
    vault_kek_mode kek_mode;
    char kek_path[VAULT_PATH_MAX]; /* keyfile mode; "" means DIR.kek */
    uint8_t salt[CRYPTO_SALT_BYTES];
    vault_retention_rule rules[VAULT_RETENTION_MAX];
    unsigned nrules;
    /* [audit]: forward every event as RFC 5424 over TLS (RFC 5425); "" when not set */
    char syslog_url[256];             /* tls://HOST:PORT */
    char syslog_ca[VAULT_PATH_MAX];   /* CA that signed the collector's certificate */
    char syslog_cert[VAULT_PATH_MAX]; /* optional client certificate (PEM) */
    char syslog_key[VAULT_PATH_MAX];  /* its key */
} vault_config;

/* Parses a config text.  DV_EMALFORMED naming the line for a syntax error, an unknown section
 * or key, a bad value, or a missing required key. */
dv_err vault_config_parse_string(const char *text, vault_config *cfg, dv_errinfo *ei) DV_WUR;
/* Reads DIR/dcmvault.conf (DV_ENOTFOUND when absent, DV_EIO when unreadable). */
dv_err vault_config_load(const char *dir, vault_config *cfg, dv_errinfo *ei) DV_WUR;
/* Formats cfg as INI text (appended to out). */
dv_err vault_config_format(const vault_config *cfg, dv_buf *out) DV_WUR;
/* Writes DIR/dcmvault.conf atomically, mode 0600. */
dv_err vault_config_save(const char *dir, const vault_config *cfg, dv_errinfo *ei) DV_WUR;
/* Years the longest rule among "CR\CT" keeps a study; 0 when no rule applies (keep forever). */
unsigned vault_config_retention_years(const vault_config *cfg, const char *modalities);

/* ---- files (fsutil.c) --------------------------------------------------------------------- */

/* Writes p to path atomically with the given mode: path.tmp.XXXXXX, fsync, rename, fsync dir. */
dv_err vault_write_atomic(const char *path, const uint8_t *p, size_t len, unsigned mode,
                          dv_errinfo *ei) DV_WUR;
/* Reads a whole regular file of at most max bytes (appended to out). */
dv_err vault_read_file(const char *path, size_t max, dv_buf *out, dv_errinfo *ei) DV_WUR;
/* fsyncs the folder that holds path. */
dv_err vault_fsync_parent(const char *path, dv_errinfo *ei) DV_WUR;
/* Overwrites a file with random bytes (same length, at least 64), fsyncs and unlinks it. */
dv_err vault_destroy_file(const char *path, dv_errinfo *ei) DV_WUR;
/* dir + "/" + name into out; DV_ELIMIT when too long. */
dv_err vault_path(char *out, size_t outlen, const char *dir, const char *name) DV_WUR;
/* The default key file: DIR (trailing slashes removed) + ".kek". */
dv_err vault_default_keyfile(const char *dir, char *out, size_t outlen) DV_WUR;
/* path made absolute (relative paths taken from the working folder). */
dv_err vault_abs_path(const char *path, char *out, size_t outlen) DV_WUR;
void vault_hex(const uint8_t *p, size_t n, char *out);  /* out: 2n+1 bytes */
int vault_unhex(const char *s, uint8_t *out, size_t n); /* 0 ok, -1 not exactly 2n hex */

/* ---- names, dates, patterns (norm.c) ------------------------------------------------------ */

/* Normalises one name (UTF-8): upper case (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic),
 * '^' and runs of white space to one space, trimmed.  Appends to out. */
dv_err vault_norm_name(const char *s, size_t len, dv_buf *out) DV_WUR;

/* The match tokens of a PN value (UTF-8): for each component group ('=' separated) the whole
 * normalised group and its family, given and middle components, de-duplicated, at most max.
 * Tokens are written NUL-separated into out; returns their number in *n. */
dv_err vault_name_tokens(const char *pn, size_t len, dv_buf *out, size_t max, size_t *n) DV_WUR;

/* A DICOM date range "A", "A-B", "-B", "A-" (YYYYMMDD) into [lo, hi] as YYYYMMDD integers
 * (0 / 99991231 for open ends).  DV_EINVAL for anything else or an impossible date. */
dv_err vault_date_range(const char *s, uint32_t *lo, uint32_t *hi) DV_WUR;
/* The year-months YYYYMM from lo to hi (YYYYMMDD), at most max; DV_ELIMIT when more. */
dv_err vault_date_months(uint32_t lo, uint32_t hi, uint32_t *out, size_t max, size_t *n) DV_WUR;
/* YYYYMMDD string -> integer; 0 when not a valid date. */
uint32_t vault_date_value(const char *s);
/* DICOM wildcard match ('*' any run, '?' one UTF-8 character) of a whole string. */
int vault_wildcard_match(const char *pat, const char *s);
/* True when s has '*' or '?'. */
int vault_has_wildcard(const char *s);

/* ---- sealed records (record.c) --------------------------------------------------------- */

/* A record is: version 1 (1 byte) then entries tag (u32 LE) | len (u32 LE) | UTF-8 bytes. */
#define VAULT_REC_VALUE_MAX 4096u
#define VAULT_TAG_ALIASES   0xFFFF0001u /* other patient names seen under the same PatientID */
#define VAULT_REC_FIELDS    16

typedef struct vault_rec {
    uint32_t tag[VAULT_REC_FIELDS];
    char *val[VAULT_REC_FIELDS]; /* heap, NUL-terminated */
    unsigned n;
} vault_rec;

void vault_rec_free(vault_rec *r);
dv_err vault_rec_set(vault_rec *r, uint32_t tag, const char *s, size_t len) DV_WUR;
const char *vault_rec_get(const vault_rec *r, uint32_t tag); /* "" when absent */
dv_err vault_rec_encode(const vault_rec *r, dv_buf *out) DV_WUR;
dv_err vault_rec_decode(const uint8_t *p, size_t len, vault_rec *r, dv_errinfo *ei) DV_WUR;

/* ---- the vault --------------------------------------------------------------------------- */

#define VAULT_BATCH_FILES 64

typedef struct vault_pending {
    char *path;                      /* the caller's name for the file */
    char old_key[INDEX_KEY_LEN + 1]; /* replaced object to delete after commit, or "" */
    char key[INDEX_KEY_LEN + 1];     /* object stored by this file, or "" */
    vault_import_status st;
    dv_err e; /* why it was rejected */
    dv_errinfo ei;
} vault_pending;

struct vault {
    char dir[VAULT_PATH_MAX];
    char kek_path[VAULT_PATH_MAX]; /* key file in use, "" for a passphrase */
    vault_config cfg;
    crypto_key kek;
    crypto_key bi_key;    /* blind indexes */
    crypto_key seal_key;  /* sealed records */
    crypto_key pseud_key; /* pseudonyms (shred certificates, audit) */
    uint8_t sign_seed[32];
    uint8_t sign_pk[32];
    uint8_t sign_sk[64];
    index_db *db;
    store *st;
    /* import batch (import.c): files since the batch's outer transaction began */
    vault_pending *pend;
    size_t npend, cap_pend;
    double batch_start;
    vault_walk_fn walk_fn;
    void *walk_cb;
    struct vault_access *acc; /* access state (gate.c), made on first use; NULL before */
    struct audit_log *alog;   /* DIR/audit, open while the vault is (audit.c) */
    uint64_t last_audit_seq;  /* sequence number of the last entry appended */
    /* the purpose the gate decided on for session_ctx's request (HL7 code), for its audit
     * entries when the request said "default": set by every vault_session() */
    const vault_ctx *session_ctx;
    char session_purpose[16];
    /* import rule (gate.c): the importing session's user, and the last study granted to it */
    char importer[INDEX_USER_NAME_MAX + 1];
    uint8_t import_granted[INDEX_BI_BYTES];
    int import_granted_set;
};

/* import.c, used by walk.c: imports one file into the open batch (opening one if needed) and
 * commits the batch when it is full or old.  path is the caller's name for the file. */
dv_err vault_batch_add(vault *v, const vault_ctx *ctx, const char *path, const uint8_t *p,
                       size_t len, unsigned flags, int in_walk, dv_errinfo *ei) DV_WUR;
/* Commits the open batch (if any) and reports its files to v->walk_fn. */
dv_err vault_batch_flush(vault *v, dv_errinfo *ei) DV_WUR;
/* Reports a file that never reached a batch (unreadable, ...). */
dv_err vault_batch_reject(vault *v, const char *path, dv_err e, const dv_errinfo *ei) DV_WUR;

/* keys.c */
#define VAULT_SECRETS_BYTES (3 * CRYPTO_KEY_BYTES + 32)
dv_err vault_keys_seal(const crypto_key *kek, const uint8_t *secrets, dv_buf *out) DV_WUR;
dv_err vault_keys_open(const crypto_key *kek, const uint8_t *p, size_t len, uint8_t *secrets,
                       dv_errinfo *ei) DV_WUR;
void vault_kek_check(const crypto_key *kek, uint8_t out[CRYPTO_BLIND_BYTES]);
dv_err vault_load_keyfile(const char *path, crypto_key *kek, dv_errinfo *ei) DV_WUR;
dv_err vault_passphrase(const char *env, const uint8_t salt[CRYPTO_SALT_BYTES], crypto_key *kek,
                        dv_errinfo *ei) DV_WUR;
void vault_set_secrets(vault *v, const uint8_t *secrets);
/* 1 when kek is the current KEK according to the index. */
int vault_kek_current(vault *v, const crypto_key *kek);
/* Stores kek's check value as the current one (meta "vault.kek-check"). */
dv_err vault_store_kek_check(vault *v, const crypto_key *kek, dv_errinfo *ei) DV_WUR;
/* rotate.c: finishes a rotation that a crash interrupted, when <key file>.new is the current
 * KEK; sets v->kek.  DV_ENOTFOUND when there is nothing to finish. */
dv_err vault_rotate_recover(vault *v, dv_errinfo *ei) DV_WUR;
/* Passphrase vaults: finishes a rotation interrupted after its commit (see rotate.c). */
dv_err vault_rotate_recover_pass(vault *v, const char *pass_env, dv_errinfo *ei) DV_WUR;

/* Blind index of a value in a domain ("pid", "name", "study-uid", ...). */
void vault_blind(const vault *v, const char *domain, const char *s, uint8_t out[INDEX_BI_BYTES]);
/* Seals / opens a record of kind ("patient", "study", "series", "instance") bound to bi. */
dv_err vault_seal_rec(const vault *v, const char *kind, const uint8_t *bi, const vault_rec *r,
                      dv_buf *out) DV_WUR;
dv_err vault_open_rec(const vault *v, const char *kind, const uint8_t *bi, const uint8_t *p,
                      size_t len, vault_rec *r, dv_errinfo *ei) DV_WUR;
/* Unwraps a study's data key (AD = its blind index). */
dv_err vault_study_dek(const vault *v, const index_row *row, crypto_key *dek,
                       dv_errinfo *ei) DV_WUR;
/* Opens one stored object of an instance row into out; DV_ETAMPER naming id and key. */
dv_err vault_object_open(vault *v, const crypto_key *dek, int64_t instance_id, const char *key,
                         dv_buf *out, dv_errinfo *ei) DV_WUR;

/* export.c: the exact bytes of the selection, after the gate decided `action` (an
 * access_action: ACCESS_EXPORT, ACCESS_VIEW) and the audit log took `event` for the study
 * (v->last_audit_seq is that entry while fn runs).  study_bi (INDEX_BI_BYTES, may be NULL)
 * receives the study's blind index. */
typedef struct vault_retrieve_req {
    int action;         /* access_action */
    const char *event;  /* audit event */
    const char *detail; /* audit detail (no PHI) or NULL */
    vault_sel sel;
    const char *uid;
    int deidentified; /* what leaves is de-identified (the gate's exception for it) */
} vault_retrieve_req;
dv_err vault_retrieve(vault *v, const vault_ctx *ctx, const vault_retrieve_req *rq,
                      vault_object_fn fn, void *cb, uint64_t *n, uint8_t *study_bi,
                      dv_errinfo *ei) DV_WUR;

/* view.c: vault_retrieve of the selection, each image rendered (one frame), marked and handed
 * to fn; used by view (ACCESS_VIEW, "view") and print (ACCESS_EXPORT, "print").  access_seq
 * (may be NULL): the audit entry of the access, which the marks carry. */
dv_err vault_render_sel(vault *v, const vault_ctx *ctx, const vault_retrieve_req *rq,
                        const vault_view_opts *o, vault_image_fn fn, void *cb, uint64_t *images,
                        uint64_t *skipped, uint8_t *study_bi, uint64_t *access_seq,
                        dv_errinfo *ei) DV_WUR;

/* gate.c: 1 when access.conf's overlay_roles names a role of ctx's session: its rendered
 * images always carry the visible overlay. */
int vault_overlay_forced(vault *v, const vault_ctx *ctx);
/* mark.c: the vault's mark key (derived from the pseudonym key). */
dv_err vault_mark_key(const vault *v, crypto_key *out) DV_WUR;
/* One operation's marking: payload is the access's audit entry (taken at the first image, when
 * the "watermark" entry is appended). */
typedef struct vault_mark_state {
    uint64_t payload;
    int started;
    int overlay; /* draw the visible overlay too */
} vault_mark_state;
/* Marks a copy of a stored DICOM file (p, len) before it leaves: every frame decoded and
 * marked in its stored depth (RGB on its luminance; palette colour converted to RGB and 1-bit
 * to 8 bits first, with the elements that describe the pixels rewritten), native pixel data
 * written back (compressed input becomes explicit VR little endian), the rest of the dataset
 * unchanged; the new file goes to out and *marked is 1.  An object without pixel data is left
 * alone (*marked 0, out untouched).  DV_EUNSUPPORTED for a frame the mark cannot carry (one the
 * decoder cannot read). */
dv_err vault_mark_dicom(vault *v, const vault_ctx *ctx, vault_mark_state *ms, const uint8_t *p,
                        size_t len, dv_buf *out, int *marked, dv_errinfo *ei) DV_WUR;
/* Marks a rendered image before it leaves (overlay first when asked). */
dv_err vault_mark_render(vault *v, const vault_ctx *ctx, vault_mark_state *ms, render_image *im,
                         dv_errinfo *ei) DV_WUR;

/* audit.c: appends an event (durably) before the operation's effect; a failed append fails
 * the operation.  object: a 64-hex study pseudonym, or non-PHI detail (an id, a key), or NULL. */
dv_err vault_audit_event(vault *v, const vault_ctx *ctx, const char *event, const char *object,
                         dv_errinfo *ei) DV_WUR;
/* An event whose detail is a fixed, PHI-free text of the vault's own (e.g. "log-start"). */
dv_err vault_audit_detail(vault *v, const vault_ctx *ctx, const char *event, const char *detail,
                          dv_errinfo *ei) DV_WUR;
/* The same with the study (and patient) named by pseudonyms of their blind indexes. */
dv_err vault_audit_study(vault *v, const vault_ctx *ctx, const char *event, const uint8_t *study_bi,
                         const uint8_t *patient_bi, dv_errinfo *ei) DV_WUR;
/* The same with operator or program text (no PHI: a film serial, a reason). */
dv_err vault_audit_study_detail(vault *v, const vault_ctx *ctx, const char *event,
                                const uint8_t *study_bi, const uint8_t *patient_bi,
                                const char *detail, dv_errinfo *ei) DV_WUR;
/* pseudonym = HMAC(pseudonym key, domain | bi): "audit-study" / "audit-patient". */
void vault_audit_pseudonym(const vault *v, const char *domain, const uint8_t *bi, uint8_t out[32]);
/* login / login-failed / logout of user from client (the account name, not PHI). */
dv_err vault_audit_login(vault *v, const char *user, const char *client, const char *event, int ok,
                         dv_errinfo *ei) DV_WUR;
/* Records a configuration change (DCM 110131, actor "system") for dcmvault.conf and
 * access.conf when either differs from the digest recorded at the last open or at init, then
 * records the new digests (record 0: only the digests, for init). */
dv_err vault_config_watch(vault *v, int record, dv_errinfo *ei) DV_WUR;
/* Opens DIR/audit (creating it and DIR/audit.vkey on first use) / closes it. */
dv_err vault_audit_open(vault *v, dv_errinfo *ei) DV_WUR;
void vault_audit_close(vault *v);
/* Checks ctx (DV_EPERM when invalid) and records the event: the first lines of every vault_*. */
dv_err vault_enter(vault *v, const vault_ctx *ctx, const char *event, const char *object,
                   dv_errinfo *ei) DV_WUR;

/* shred.c, used by retention.c */
dv_err vault_shred_row(vault *v, const vault_ctx *ctx, const index_row *row, const char *uid,
                       const char *reason, vault_shred_result *res, dv_errinfo *ei) DV_WUR;

/* gate.c: the access gate every vault_* entry passes (docs/access.md).  The object a request
 * is about: a study (blind indexes of the study and its patient, NULL when none), the owner
 * of a GRANT/APPROVE/LIFT target, and an export's size. */
typedef struct vault_gate_obj {
    const uint8_t *study_bi, *patient_bi;
    const char *owner;
    uint64_t studies, patients, bytes;
    int deidentified; /* an export that leaves de-identified (access_object.deidentified) */
} vault_gate_obj;
/* Opens ctx's session (ctx->session is the token), decides action on o (may be NULL) with
 * access_decide, records the decision, and returns DV_OK when allowed; DV_EPERM with the reason
 * when denied; DV_EPERM naming a pending request when it needs approval. */
dv_err vault_gate(vault *v, const vault_ctx *ctx, int action, const vault_gate_obj *o,
                  dv_errinfo *ei) DV_WUR;
void vault_access_free(struct vault_access *acc);
/* vault_door for imports; also keeps the session's user for the import rule. */
dv_err vault_door_import(vault *v, const vault_ctx *ctx, dv_errinfo *ei) DV_WUR;
/* The import rule: the importing user gets a grant on the study, and so does the account that
 * [import.referring] in access.conf maps the study's ReferringPhysicianName to (referring may
 * be NULL), when it exists, is enabled and holds a clinical role (once per study in a row). */
dv_err vault_import_grant(vault *v, const uint8_t *study_bi, const char *referring,
                          dv_errinfo *ei) DV_WUR;
/* The account behind ctx's session, as a context for records that name their actor (the
 * session's user and roles, and the purpose as an HL7 code: the request's, or the session's
 * default when the request says "default"); ctx itself when there is no open session. */
typedef struct vault_actor_buf {
    vault_ctx ctx;
    char user[INDEX_USER_NAME_MAX + 1];
    char roles[256];
    char purpose[16]; /* the effective purpose: the request's code, else the session's */
} vault_actor_buf;
const vault_ctx *vault_actor(vault *v, const vault_ctx *ctx, vault_actor_buf *b);
/* The first lines of every vault_* entry: vault_gate (action on o), then vault_enter (the
 * audit event).  An invalid ctx is refused (and recorded) by vault_enter. */
dv_err vault_door(vault *v, const vault_ctx *ctx, int action, const vault_gate_obj *o,
                  const char *event, const char *object, dv_errinfo *ei) DV_WUR;

double vault_now(void); /* monotonic seconds */
/* readdir() for the vault's own short-lived, single-thread DIR streams. */
struct dirent *vault_readdir(DIR *d);

/* Best-effort cleanups (keys.c): their failure is already covered elsewhere (a leftover object
 * is an orphan that `check --repair` removes; a failed rollback leaves the transaction to
 * index_close, which rolls it back). */
void vault_drop_object(vault *v, const char *key);
void vault_rollback(vault *v);
void vault_drop_file(const char *path); /* vault_destroy_file, ignoring failure */

#endif
