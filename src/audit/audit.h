/* SPDX-License-Identifier: Apache-2.0 */
/* audit.h - the tamper-evident lifecycle log: events, the append-only Merkle log, signed
 * checkpoints, proofs, verification, exports and the syslog forwarder.
 *
 * The log is a folder (docs/audit.md has every byte of it):
 *   DIR/tile/entries/N   entry bundles: up to 256 entries, each a big-endian uint16 length and
 *                        the entry (C2SP tlog-tiles); the newest bundle grows in place
 *   DIR/tile/L/N         hash tiles: up to 256 SHA-256 hashes of tree level 8*L (tlog-tiles)
 *   DIR/checkpoint       the newest signed checkpoint (C2SP tlog-checkpoint in a signed note)
 *   DIR/checkpoints      every checkpoint ever written: [uint32 BE length][note], append-only
 *   DIR/lock             held (flock) by the one process that appends
 *   DIR/forward-*.state  what the syslog forwarder has delivered
 * Leaf hash = SHA-256(0x00 | entry), node hash = SHA-256(0x01 | left | right) (RFC 9162).
 * The sequence number of an entry is its leaf index (0-based).
 *
 * Privacy: an event carries no free text but `detail`.  Patients, studies, series and instances
 * are named only by 32-byte keyed pseudonyms that the caller computes (the audit module never
 * sees PHI); actor, role, purpose, client and session are short codes from fixed character
 * sets.  `detail` is operator text (a break-glass or shred reason): callers must not put PHI
 * in it.
 *
 * Threads: an audit_log may be shared by any number of threads (audit_append is the group
 * commit point).  An audit_reader is used by one thread at a time.
 */
#ifndef DV_AUDIT_H
#define DV_AUDIT_H

#include "common/buf.h"
#include "common/dv.h"

#define AUDIT_HASH_BYTES      32
#define AUDIT_PSEUDONYM_BYTES 32
#define AUDIT_MAX_OBJECTS     64
#define AUDIT_ACTOR_MAX       64  /* printable ASCII */
#define AUDIT_CODE_MAX        32  /* role, purpose: [A-Za-z0-9._-] */
#define AUDIT_CLIENT_MAX      64  /* [A-Za-z0-9.:_%[]-] */
#define AUDIT_SESSION_MAX     64  /* [A-Za-z0-9._-] */
#define AUDIT_DETAIL_MAX      512 /* UTF-8 without control characters */
#define AUDIT_ENTRY_MAX       4096
#define AUDIT_ORIGIN_MAX      128
#define AUDIT_NOTE_MAX        4096
#define AUDIT_PROOF_MAX       130 /* hashes in an inclusion or consistency proof */
#define AUDIT_SIGN_SEED_BYTES 32
#define AUDIT_PUBKEY_BYTES    32

/* ---- events ----------------------------------------------------------------------------- */

/* What happened.  The numbers are stored in entries: append only, never renumber. */
typedef enum audit_action {
    AUDIT_ACT_NONE = 0,
    AUDIT_ACT_IMPORT = 1,
    AUDIT_ACT_VIEW = 2, /* view or retrieve */
    AUDIT_ACT_QUERY = 3,
    AUDIT_ACT_EXPORT = 4,
    AUDIT_ACT_PRINT = 5,
    AUDIT_ACT_DEIDENTIFY = 6,
    AUDIT_ACT_SHARE = 7,
    AUDIT_ACT_WATERMARK = 8,
    AUDIT_ACT_GRANT = 9,
    AUDIT_ACT_REVOKE = 10,
    AUDIT_ACT_LOGIN = 11,
    AUDIT_ACT_LOGOUT = 12,
    AUDIT_ACT_LOGIN_FAILED = 13,
    AUDIT_ACT_LOCKOUT = 14,
    AUDIT_ACT_DENIED = 15, /* policy denial */
    AUDIT_ACT_BREAKGLASS_START = 16,
    AUDIT_ACT_BREAKGLASS_STOP = 17,
    AUDIT_ACT_APPROVAL = 18,
    AUDIT_ACT_KEY_ROTATION = 19,
    AUDIT_ACT_RETENTION = 20,
    AUDIT_ACT_SHRED = 21,
    AUDIT_ACT_CONFIG = 22,
    AUDIT_ACT_AUDIT_READ = 23,
    AUDIT_ACT_LOG_START = 24,
    AUDIT_ACT_LOG_STOP = 25,
    AUDIT_ACT_FILM_DESTROY = 26, /* a printed film reported physically destroyed */
    AUDIT_ACT_COUNT              /* sentinel */
} audit_action;

/* DICOM EventOutcomeIndicator. */
typedef enum audit_outcome {
    AUDIT_OUT_SUCCESS = 0,
    AUDIT_OUT_MINOR = 4,
    AUDIT_OUT_SERIOUS = 8,
    AUDIT_OUT_MAJOR = 12
} audit_outcome;

typedef enum audit_obj_type {
    AUDIT_OBJ_PATIENT = 1,
    AUDIT_OBJ_STUDY = 2,
    AUDIT_OBJ_SERIES = 3,
    AUDIT_OBJ_INSTANCE = 4
} audit_obj_type;

/* An object an event touched: its kind and the caller's keyed pseudonym of it. */
typedef struct audit_object {
    audit_obj_type type;
    uint8_t pseudonym[AUDIT_PSEUDONYM_BYTES];
} audit_object;

/* An event as a caller hands it to audit_append.  Strings are NUL-terminated, owned by the
 * caller, and checked against the limits and character sets above (audit_event_check).
 * actor is required; role, purpose, client, session and detail may be NULL or "". */
typedef struct audit_event {
    audit_action action;
    audit_outcome outcome;
    const char *actor;   /* user name or AE title */
    const char *role;    /* e.g. "radiologist" */
    const char *purpose; /* HL7 PurposeOfUse, e.g. "TREAT" */
    const char *client;  /* network address or "local" */
    const char *session;
    const audit_object *objects;
    size_t nobjects;    /* at most AUDIT_MAX_OBJECTS */
    const char *detail; /* operator text, NO PHI; at most AUDIT_DETAIL_MAX bytes */
} audit_event;

/* An entry as read back: every field, with its own storage. */
typedef struct audit_record {
    uint64_t seq;
    int64_t time_ms; /* milliseconds since 1970-01-01T00:00:00Z */
    audit_action action;
    audit_outcome outcome;
    char actor[AUDIT_ACTOR_MAX + 1];
    char role[AUDIT_CODE_MAX + 1];
    char purpose[AUDIT_CODE_MAX + 1];
    char client[AUDIT_CLIENT_MAX + 1];
    char session[AUDIT_SESSION_MAX + 1];
    size_t nobjects;
    audit_object objects[AUDIT_MAX_OBJECTS];
    char detail[AUDIT_DETAIL_MAX + 1];
} audit_record;

/* The DICOM PS3.15 A.5 coding of an action. */
typedef struct audit_action_info {
    audit_action action;
    const char *name;          /* command-line and JSON name, e.g. "import" */
    const char *event_id;      /* EventID code, "DCM" scheme, e.g. "110107" */
    const char *event_meaning; /* e.g. "Import" */
    char action_code;          /* EventActionCode: C R U D E */
    const char *type_code;     /* EventTypeCode or NULL */
    const char *type_scheme;   /* "DCM" or "99DCMVAULT" (local codes) */
    const char *type_meaning;
    int lifecycle; /* ParticipantObjectDataLifeCycle for its objects, 0: none */
} audit_action_info;

/* The coding of an action; NULL for AUDIT_ACT_NONE or an unknown value. */
const audit_action_info *audit_action_get(audit_action a);
/* "import" -> AUDIT_ACT_IMPORT; AUDIT_ACT_NONE when unknown. */
audit_action audit_action_from_name(const char *name);
/* "patient" "study" "series" "instance"; NULL when unknown. */
const char *audit_obj_type_name(audit_obj_type t);
audit_obj_type audit_obj_type_from_name(const char *name); /* 0 when unknown */

/* DV_OK when ev fits every limit and character set; else DV_EINVAL naming the field. */
dv_err audit_event_check(const audit_event *ev, dv_errinfo *ei) DV_WUR;

/* Appends the canonical entry for (ev, seq, time_ms) to out (docs/audit.md "Entries").
 * Checks ev first (audit_event_check). */
dv_err audit_entry_encode(const audit_event *ev, uint64_t seq, int64_t time_ms, dv_buf *out,
                          dv_errinfo *ei) DV_WUR;
/* Decodes one entry.  Rejects anything that audit_entry_encode would not produce (so
 * decode+encode is the identity): DV_ETRUNC, DV_ELIMIT or DV_EMALFORMED with the offset. */
dv_err audit_entry_decode(const uint8_t *p, size_t n, audit_record *r, dv_errinfo *ei) DV_WUR;
/* A view of a record as an event (pointers into r). */
void audit_record_event(const audit_record *r, audit_event *ev);

/* RFC 3339 UTC with milliseconds, "2024-05-01T10:00:00.123Z" (25 bytes with the NUL). */
#define AUDIT_TIME_LEN 25
void audit_time_format(int64_t ms, char out[AUDIT_TIME_LEN]);
/* Parses "YYYY-MM-DD", "YYYY-MM-DDThh:mm:ss[.fff]Z" or with a +hh:mm offset. */
dv_err audit_time_parse(const char *s, int64_t *out, dv_errinfo *ei) DV_WUR;

/* ---- Merkle tree (RFC 9162) --------------------------------------------------------------- */

void audit_leaf_hash(const uint8_t *entry, size_t n, uint8_t out[AUDIT_HASH_BYTES]);
void audit_node_hash(const uint8_t l[AUDIT_HASH_BYTES], const uint8_t r[AUDIT_HASH_BYTES],
                     uint8_t out[AUDIT_HASH_BYTES]);

/* RFC 9162 2.1.3.2: 1 when proof proves that leaf is entry index of the tree (size, root). */
int audit_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[AUDIT_HASH_BYTES],
                           const uint8_t (*proof)[AUDIT_HASH_BYTES], size_t nproof,
                           const uint8_t root[AUDIT_HASH_BYTES]);
/* RFC 9162 2.1.4.2: 1 when proof proves tree (size1, root1) is a prefix of (size2, root2). */
int audit_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[AUDIT_HASH_BYTES],
                             const uint8_t root2[AUDIT_HASH_BYTES],
                             const uint8_t (*proof)[AUDIT_HASH_BYTES], size_t nproof);

/* ---- keys, signed notes and checkpoints --------------------------------------------------- */

/* A checkpoint: the body of a C2SP tlog-checkpoint. */
typedef struct audit_checkpoint {
    char origin[AUDIT_ORIGIN_MAX + 1];
    uint64_t size;
    uint8_t root[AUDIT_HASH_BYTES];
} audit_checkpoint;

/* A verifier key: name, 4-byte key hash and Ed25519 public key (C2SP "vkey"). */
typedef struct audit_vkey {
    char name[AUDIT_ORIGIN_MAX + 1];
    uint8_t hash[4];
    uint8_t pk[AUDIT_PUBKEY_BYTES];
} audit_vkey;

/* The verifier key for an Ed25519 public key under name (the key hash is computed). */
dv_err audit_vkey_make(const char *name, const uint8_t pk[AUDIT_PUBKEY_BYTES], audit_vkey *vk,
                       dv_errinfo *ei) DV_WUR;
/* "<name>+<8 hex>+<base64(0x01 | pk)>" (NUL-terminated) into out. */
dv_err audit_vkey_format(const audit_vkey *vk, char *out, size_t outlen) DV_WUR;
/* Parses one vkey line (a trailing newline is allowed); checks the key hash. */
dv_err audit_vkey_parse(const char *s, size_t n, audit_vkey *vk, dv_errinfo *ei) DV_WUR;

/* Writes a new key pair for the test/maintenance tool: a secret key file (mode 0600, O_EXCL)
 * "PRIVATE+KEY+<name>+<hash>+<base64(0x01 | seed)>" and a public key file holding the vkey.
 * Refuses to overwrite either. */
dv_err audit_keygen(const char *name, const char *secret_path, const char *pubkey_path,
                    dv_errinfo *ei) DV_WUR;
/* Loads a secret key file (must be a regular file, mode 0600 or stricter): its name and seed.
 * seed is wiped by the caller (sodium_memzero). */
dv_err audit_secret_load(const char *path, char name[AUDIT_ORIGIN_MAX + 1],
                         uint8_t seed[AUDIT_SIGN_SEED_BYTES], dv_errinfo *ei) DV_WUR;
/* Loads a public key file (one vkey line). */
dv_err audit_vkey_load(const char *path, audit_vkey *vk, dv_errinfo *ei) DV_WUR;

/* Formats the checkpoint body and signs it as a note with key (name, seed): appended to out. */
dv_err audit_note_sign(const audit_checkpoint *cp, const char *key_name,
                       const uint8_t seed[AUDIT_SIGN_SEED_BYTES], dv_buf *out,
                       dv_errinfo *ei) DV_WUR;
/* Parses a signed note holding a checkpoint and checks a signature by vk (signature lines of
 * other keys are ignored, at least one by vk must verify).  DV_EMALFORMED/DV_ELIMIT for a note
 * that breaks the format, DV_ECRYPTO when no signature by vk verifies (wrong key or a changed
 * note).  vk NULL: parse only (no signature check). */
dv_err audit_note_open(const uint8_t *p, size_t n, const audit_vkey *vk, audit_checkpoint *cp,
                       dv_errinfo *ei) DV_WUR;
/* Parses a checkpoint body (the text the signature covers). */
dv_err audit_checkpoint_parse(const uint8_t *p, size_t n, audit_checkpoint *cp,
                              dv_errinfo *ei) DV_WUR;

/* ---- syslog forwarding (RFC 5424 over TLS, RFC 5425 framing) ----------------------------- */

typedef struct audit_syslog_cfg {
    const char *url;       /* "tls://HOST:PORT" */
    const char *ca_file;   /* CA bundle that signed the collector's certificate (required) */
    const char *cert_file; /* client certificate chain (PEM), optional */
    const char *key_file;  /* its private key (PEM), with cert_file */
    const char *hostname;  /* HOSTNAME field; NULL: gethostname() */
    const char *source_id; /* AuditSourceID in the XML message; NULL: "dcmvault" */
    unsigned timeout_ms;   /* connect/read/write timeout; 0: 5000 */
} audit_syslog_cfg;

/* Appends the RFC 5425 frame "LEN SP <RFC 5424 message>" for r: structured data
 * [dcmvault@32473 ...] with the event fields, MSG = the DICOM XML message (UTF-8, with BOM). */
dv_err audit_syslog_frame(const audit_record *r, const audit_syslog_cfg *cfg, const char *origin,
                          dv_buf *out, dv_errinfo *ei) DV_WUR;

/* One forwarding pass over the log folder dir: sends every entry after the last delivered one
 * (remembered in DIR/forward-HOST-PORT.state), in batches; a batch counts as delivered when the
 * collector has closed the TLS session after reading it, and only then is the state advanced.
 * *sent (may be NULL) = entries delivered.  DV_EIO when the collector cannot be reached (the
 * state is unchanged: the log itself is the spool), DV_EUNSUPPORTED without libssl. */
dv_err audit_forward_pass(const char *dir, const audit_syslog_cfg *cfg, uint64_t *sent,
                          dv_errinfo *ei) DV_WUR;
/* The next sequence number the forwarder will send to cfg->url (0 when it has sent none). */
dv_err audit_forward_state(const char *dir, const audit_syslog_cfg *cfg, uint64_t *next,
                           dv_errinfo *ei) DV_WUR;

/* ---- the log (writer) ------------------------------------------------------------------- */

typedef struct audit_log audit_log;

typedef struct audit_log_cfg {
    const char *dir;                /* created (0700) when absent */
    const char *origin;             /* checkpoint origin and key name, e.g. "example.org/audit";
                                       NULL: the existing log's origin (required for a new log) */
    const uint8_t *sign_seed;       /* Ed25519 seed (AUDIT_SIGN_SEED_BYTES), copied and locked */
    uint32_t checkpoint_every;      /* a checkpoint after this many new entries; 0: 1024 */
    uint32_t checkpoint_secs;       /* ... or after this many seconds with new entries; 0: 10 */
    uint32_t lock_wait_ms;          /* how long to wait for another writer; 0: 10000 */
    const audit_syslog_cfg *syslog; /* NULL: no forwarding.  Else a background thread forwards
                                       new entries (audit_forward_pass) and retries while the
                                       collector is down; the strings must outlive the log */
} audit_log_cfg;

/* What opening found. */
typedef struct audit_open_info {
    uint64_t size;        /* entries in the log */
    uint64_t checkpoint;  /* size of the newest checkpoint */
    uint64_t cut_bytes;   /* torn tail cut from the newest bundle (a crash) */
    uint64_t tiles_fixed; /* tile hashes rewritten after a crash */
} audit_open_info;

/* Opens (or creates) the log in cfg->dir for appending and recovers it: a torn tail after the
 * newest checkpoint is cut, missing tile hashes are recomputed, and the tree must reproduce
 * the newest checkpoint's root under this key.  Takes DIR/lock (waits lock_wait_ms).
 * DV_ETAMPER when the folder does not match its checkpoint (run audit verify), DV_ECRYPTO when
 * the checkpoint is not signed by this key, DV_EIO on I/O errors or a held lock.
 * info may be NULL. */
dv_err audit_log_open(const audit_log_cfg *cfg, audit_log **out, audit_open_info *info,
                      dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);

/* Appends ev (time stamped now, UTC) and returns only when the entry is durable (written and
 * fdatasync'ed; concurrent appends share one fsync).  *seq (may be NULL) = its sequence
 * number.  On failure nothing was acknowledged and the caller must fail its operation; after
 * an I/O error the log refuses every further append (reopen to recover). */
dv_err audit_append(audit_log *log, const audit_event *ev, uint64_t *seq, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);

/* Writes a signed checkpoint now if entries were added since the last one. */
dv_err audit_log_checkpoint(audit_log *log, dv_errinfo *ei) DV_WUR DV_NONNULL(1);

/* Entries durable so far. */
uint64_t audit_log_size(audit_log *log) DV_NONNULL(1);

/* Writes a final checkpoint, stops the forwarder, releases the lock and frees log.
 * log may be NULL.  Returns the checkpoint's error, if any (log is freed regardless). */
dv_err audit_log_close(audit_log *log, dv_errinfo *ei);

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct audit_reader audit_reader;

/* Opens a log folder read-only (no lock: it sees the entries complete when it counted). */
dv_err audit_reader_open(const char *dir, audit_reader **out, dv_errinfo *ei) DV_WUR;
void audit_reader_close(audit_reader *r);
/* Complete entries found. */
uint64_t audit_reader_size(const audit_reader *r);
/* The raw bytes of entry seq (valid until the next call on r). */
dv_err audit_reader_raw(audit_reader *r, uint64_t seq, const uint8_t **p, size_t *n,
                        dv_errinfo *ei) DV_WUR;
/* Entry seq decoded; DV_ETAMPER when its sequence number is not seq. */
dv_err audit_reader_get(audit_reader *r, uint64_t seq, audit_record *rec, dv_errinfo *ei) DV_WUR;
/* The newest checkpoint file, raw (appended to out); DV_ENOTFOUND when there is none. */
dv_err audit_reader_checkpoint(audit_reader *r, dv_buf *out, dv_errinfo *ei) DV_WUR;
/* Root of the first size entries (size <= audit_reader_size). */
dv_err audit_reader_root(audit_reader *r, uint64_t size, uint8_t root[AUDIT_HASH_BYTES],
                         dv_errinfo *ei) DV_WUR;
/* RFC 9162 inclusion proof of entry index in the tree of size entries. */
dv_err audit_reader_inclusion(audit_reader *r, uint64_t index, uint64_t size,
                              uint8_t (*proof)[AUDIT_HASH_BYTES], size_t *nproof,
                              dv_errinfo *ei) DV_WUR;
/* RFC 9162 consistency proof from size1 to size2 entries. */
dv_err audit_reader_consistency(audit_reader *r, uint64_t size1, uint64_t size2,
                                uint8_t (*proof)[AUDIT_HASH_BYTES], size_t *nproof,
                                dv_errinfo *ei) DV_WUR;

/* Selecting entries (audit show / export).  A zero filter selects everything. */
typedef struct audit_filter {
    int64_t since_ms, until_ms; /* inclusive bounds; 0: open */
    const char *actor;          /* exact match, NULL: any */
    audit_action action;        /* AUDIT_ACT_NONE: any */
    /* Hook for the vault's --patient-id: when set, an entry matches only if one of its objects
     * has this pseudonym (the vault computes it from the patient id with its pseudonym key). */
    const uint8_t *pseudonym;
} audit_filter;
int audit_filter_match(const audit_filter *f, const audit_record *r);

/* ---- formats ------------------------------------------------------------------------------ */

/* Hook for the vault: turns an object's pseudonym into a display string for the privacy
 * officer (e.g. the patient id); returns 0 to print the pseudonym itself. */
typedef int (*audit_resolve_fn)(void *ctx, const audit_object *o, char *out, size_t outlen);

/* One line of text (no newline) / one JSON object (no newline) for r, appended to out. */
dv_err audit_format_text(const audit_record *r, audit_resolve_fn resolve, void *ctx,
                         dv_buf *out) DV_WUR;
dv_err audit_format_json(const audit_record *r, audit_resolve_fn resolve, void *ctx,
                         dv_buf *out) DV_WUR;
/* A DICOM PS3.15 A.5 AuditMessage (one line, no XML declaration) / a FHIR R4 AuditEvent JSON
 * resource.  source_id: AuditSourceID / source.observer ("dcmvault" when NULL). */
dv_err audit_format_dicom_xml(const audit_record *r, const char *source_id, dv_buf *out) DV_WUR;
dv_err audit_format_fhir(const audit_record *r, const char *source_id, dv_buf *out) DV_WUR;

/* ---- verification --------------------------------------------------------------------------- */

typedef struct audit_verify_report {
    uint64_t entries;     /* entries read */
    uint64_t checkpoints; /* checkpoints checked (history, newest, and the old one) */
    uint64_t tiles;       /* tile hashes compared */
    uint64_t torn_bytes;  /* an incomplete record after the last entry (a crash; not an error
                             unless a checkpoint covers it) */
    uint64_t short_tiles; /* tile hashes missing after a crash (not an error) */
    int failed;           /* 1 when something does not fit: msg names the first place */
    char msg[300];
} audit_verify_report;

/* Recomputes the tree from every entry and checks: entry encoding and sequence numbers, every
 * tile hash present, every checkpoint in DIR/checkpoints and DIR/checkpoint (signature by vk,
 * origin, root at its size), and old_note (an older checkpoint someone kept, may be NULL):
 * signature and that the tree at its size has its root (consistency).  Needs only the folder
 * and vk.  DV_OK when everything fits, DV_ETAMPER with rep->msg (and ei) naming the first entry,
 * tile or checkpoint that does not; other codes for I/O errors. */
dv_err audit_verify(const char *dir, const audit_vkey *vk, const uint8_t *old_note, size_t old_len,
                    audit_verify_report *rep, dv_errinfo *ei) DV_WUR;

/* ---- proofs as text (docs/audit.md "Proof text") ------------------------------------------ */

typedef struct audit_proof {
    int kind;          /* 'I' inclusion, 'C' consistency */
    uint64_t index;    /* inclusion: the entry */
    uint64_t size;     /* inclusion: tree size; consistency: the new size */
    uint64_t old_size; /* consistency: the old size */
    uint8_t leaf[AUDIT_HASH_BYTES];
    int has_entry;
    uint8_t entry[AUDIT_ENTRY_MAX];
    size_t entry_len;
    size_t nproof;
    uint8_t proof[AUDIT_PROOF_MAX][AUDIT_HASH_BYTES];
} audit_proof;

dv_err audit_proof_format(const audit_proof *pf, dv_buf *out) DV_WUR;
/* Fills pf with the inclusion proof of entry index (its bytes and leaf hash included) in the
 * tree of size entries (index < size <= audit_reader_size).  DV_EINVAL when index >= size. */
dv_err audit_inclusion_proof(audit_reader *r, uint64_t index, uint64_t size, audit_proof *pf,
                             dv_errinfo *ei) DV_WUR;
dv_err audit_proof_parse(const uint8_t *p, size_t n, audit_proof *pf, dv_errinfo *ei) DV_WUR;
/* Checks pf against checkpoint(s): inclusion against cp (size must equal cp->size),
 * consistency from old_cp to cp.  DV_ETAMPER when it does not prove it. */
dv_err audit_proof_check(const audit_proof *pf, const audit_checkpoint *old_cp,
                         const audit_checkpoint *cp, dv_errinfo *ei) DV_WUR;

#endif
