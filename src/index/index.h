/* SPDX-License-Identifier: Apache-2.0 */
/* index.h - the patient/study/series/instance index: blind indexes, sealed records and a few
 * clear (non-PHI) columns, behind a small backend table (SQLite now, PostgreSQL later).
 *
 * The index never sees PHI and never calls crypto/: vault/ (the only caller) hands it
 *  - blind indexes ("bi"): INDEX_BI_BYTES-byte keyed tags (crypto_blind) used for exact
 *    matching: PatientID, normalised name tokens, Study/Series/SOP Instance UIDs,
 *    AccessionNumber, the study date's year-month bucket ("202401");
 *  - seals: opaque sealed records (crypto_field_seal) that the index stores and returns;
 *  - clear values that are not patient data: modality, SOP class UID, transfer syntax UID,
 *    object key, object size, number of frames, import time, the study's wrapped data key
 *    (already encrypted) and retention class.
 * docs/index-schema.md lists every column and why it may be clear.
 *
 * Conventions for every function below:
 *  - returns DV_OK or an error, and fills ei (may be NULL) with a message free of values;
 *    database failures are DV_EDB with SQLite's message (only bound parameters are used, so it
 *    holds no values); DV_EINVAL for a NULL or out-of-range argument; DV_ENOMEM when an
 *    allocation of the index fails;
 *  - a blind index argument is a pointer to exactly INDEX_BI_BYTES bytes; where it is
 *    optional, NULL means "none";
 *  - seals are at most INDEX_SEAL_MAX bytes; a NULL seal with length 0 stores an empty one;
 *  - ids are positive 64-bit integers given by the index;
 *  - index_row / index_cert data returned by a function (pointers to seals, etc.) stays valid
 *    until the next index_* call on the same db; data passed to a callback stays valid until
 *    the callback returns.  Copy what you need to keep;
 *  - a callback returns DV_OK to go on; any other value stops the walk, nothing more is
 *    changed, and the function returns that value (the surrounding write is rolled back);
 *  - a callback must not call index_* functions on the same db (collect ids, act afterwards);
 *  - an index_db is used by one thread at a time.  Several processes may open the same file
 *    (WAL; writers wait up to INDEX_BUSY_MS for each other).
 *
 * Transactions: every write function is atomic on its own.  index_begin/index_commit group
 * several calls; they nest (the outer pair is a real transaction, inner pairs are savepoints),
 * so the vault can wrap one file's import in begin/commit and many imports in an outer
 * begin/commit; index_rollback undoes only the innermost open level.  Durability: SQLite WAL
 * with synchronous=FULL, so a returned index_commit (outermost) is on disk.
 */
#ifndef DV_INDEX_H
#define DV_INDEX_H

#include "common/buf.h"
#include "common/dv.h"

#define INDEX_BI_BYTES       32     /* == CRYPTO_BLIND_BYTES */
#define INDEX_SEAL_MAX       65536u /* largest seal accepted */
#define INDEX_DEK_MAX        128u   /* largest wrapped data key (CRYPTO_WRAPPED_BYTES is 73) */
#define INDEX_KEY_LEN        32     /* object key: lower-case hex, == STORE_KEY_LEN */
#define INDEX_MODALITY_MAX   16     /* CS value */
#define INDEX_MODALITIES_MAX 127    /* study's "CR\CT" list; further modalities not listed */
#define INDEX_UID_MAX        64     /* UI value (SOP class, transfer syntax) */
#define INDEX_RETENTION_MAX  31     /* retention class name */
#define INDEX_NAME_BI_MAX    16     /* name blind indexes per patient */
#define INDEX_LIST_MAX       1200   /* entries of a query's "any of" list (100 years of months) */
#define INDEX_USER_NAME_MAX  64
#define INDEX_ROLE_MAX       31
#define INDEX_PWHASH_MAX     127    /* libsodium crypto_pwhash_STRBYTES is 128 with the NUL */
#define INDEX_CERT_BODY_MAX  65536u /* shred certificate JSON body */
#define INDEX_CERT_BLOB_MAX  4096u  /* certificate pseudonym and signature */
#define INDEX_META_KEY_MAX   64
#define INDEX_META_VALUE_MAX 65536u
#define INDEX_BUSY_MS        5000
#define INDEX_SCHEMA_VERSION 4 /* 2: access; 3: films; 4: image hashes (sections at the end) */

typedef struct index_db index_db;

/* ---- open / close ---------------------------------------------------------------------- */

enum {
    INDEX_OPEN_CREATE = 1 /* create the file (mode 0600) and its schema when absent */
};

/* Opens the SQLite index at path.  Without INDEX_OPEN_CREATE a missing file is DV_ENOTFOUND.
 * The file and its -wal/-shm are created 0600.  Applies journal_mode=WAL, synchronous=FULL,
 * secure_delete=ON, foreign_keys=ON.  A schema newer than this build is DV_EUNSUPPORTED; a
 * file that is not an index is DV_EDB.  *out is set only on success. */
dv_err index_open_sqlite(const char *path, unsigned flags, index_db **out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 3);

/* Closes the index; an open transaction is rolled back.  db may be NULL. */
void index_close(index_db *db);

/* ---- transactions ---------------------------------------------------------------------- */

/* Opens a transaction (depth 0: BEGIN IMMEDIATE, taking the write lock now) or a savepoint
 * (depth > 0).  At most 64 levels (DV_ELIMIT). */
dv_err index_begin(index_db *db, dv_errinfo *ei) DV_WUR DV_NONNULL(1);
/* Commits the innermost level.  DV_EINVAL when none is open. */
dv_err index_commit(index_db *db, dv_errinfo *ei) DV_WUR DV_NONNULL(1);
/* Undoes the innermost level and closes it.  DV_EINVAL when none is open. */
dv_err index_rollback(index_db *db, dv_errinfo *ei) DV_WUR DV_NONNULL(1);
/* Number of open levels (0 outside a transaction). */
unsigned index_depth(const index_db *db) DV_NONNULL(1);

/* Copies the WAL into the database file and truncates the -wal file to zero bytes, so pages
 * overwritten by secure_delete leave no older image behind in it.  Call after a shred
 * (index_study_delete) once the transaction is committed.  *complete (may be NULL) is 0 when
 * readers in other connections held it back (call again later).  DV_EINVAL inside a
 * transaction. */
dv_err index_checkpoint(index_db *db, int *complete, dv_errinfo *ei) DV_WUR DV_NONNULL(1);

/* ---- rows ------------------------------------------------------------------------------- */

typedef enum index_level {
    INDEX_LEVEL_PATIENT = 1,
    INDEX_LEVEL_STUDY = 2,
    INDEX_LEVEL_SERIES = 3,
    INDEX_LEVEL_INSTANCE = 4
} index_level;

typedef struct index_bytes {
    const uint8_t *p; /* NULL only when len == 0 */
    size_t len;
} index_bytes;

/* One row of a lookup or of find: the row at `level` and its parents.  Fields of levels
 * deeper than `level` are zero / empty.  Strings are NUL-terminated, "" when absent. */
typedef struct index_row {
    index_level level;
    /* patient */
    int64_t patient_id;
    uint8_t patient_bi[INDEX_BI_BYTES]; /* PatientID blind index */
    index_bytes patient_seal;
    /* study */
    int64_t study_id;
    uint8_t study_bi[INDEX_BI_BYTES]; /* StudyInstanceUID blind index */
    index_bytes study_seal;
    uint8_t dek_wrapped[INDEX_DEK_MAX];
    size_t dek_len;
    char modalities[INDEX_MODALITIES_MAX + 1]; /* "CR\CT", kept by index_series_upsert */
    char retention[INDEX_RETENTION_MAX + 1];
    int64_t study_created;
    /* series */
    int64_t series_id;
    uint8_t series_bi[INDEX_BI_BYTES];
    index_bytes series_seal;
    char modality[INDEX_MODALITY_MAX + 1];
    /* instance */
    int64_t instance_id;
    uint8_t sop_bi[INDEX_BI_BYTES];
    index_bytes instance_seal;
    char sop_class[INDEX_UID_MAX + 1];
    char ts_uid[INDEX_UID_MAX + 1];
    char object_key[INDEX_KEY_LEN + 1];
    uint64_t size;   /* bytes of the sealed object */
    uint32_t frames; /* number of frames, 1 for single-frame, 0 when no pixel data */
    int64_t created; /* import time, unix seconds */
} index_row;

typedef dv_err (*index_row_fn)(void *ctx, const index_row *row);

/* ---- patients ------------------------------------------------------------------------------ */

typedef struct index_patient_in {
    const uint8_t *pid_bi; /* required: PatientID blind index */
    const uint8_t *seal;   /* sealed patient record */
    size_t seal_len;
    const uint8_t *name_bis; /* n_names * INDEX_BI_BYTES bytes, NULL when n_names == 0 */
    size_t n_names;          /* at most INDEX_NAME_BI_MAX */
} index_patient_in;

/* Finds the patient by pid_bi or inserts it (with its name blind indexes).  *id is its id;
 * *created (may be NULL) is 1 when inserted.  When it already existed nothing is changed and
 * its seal is appended to old_seal (may be NULL) so the vault can merge and call
 * index_patient_update. */
dv_err index_patient_upsert(index_db *db, const index_patient_in *in, int64_t *id, int *created,
                            dv_buf *old_seal, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);
/* Replaces a patient's seal and its whole set of name blind indexes (in->pid_bi is ignored).
 * DV_ENOTFOUND when no such id. */
dv_err index_patient_update(index_db *db, int64_t id, const index_patient_in *in,
                            dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3);
/* Looks a patient up by pid_bi; fills the patient part of *row.  DV_ENOTFOUND when absent. */
dv_err index_patient_get(index_db *db, const uint8_t *pid_bi, index_row *row, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3);

/* ---- studies -------------------------------------------------------------------------------- */

typedef struct index_study_in {
    int64_t patient_id;      /* required for upsert, ignored by update */
    const uint8_t *uid_bi;   /* required: StudyInstanceUID blind index */
    const uint8_t *acc_bi;   /* AccessionNumber blind index, NULL when none */
    const uint8_t *month_bi; /* study date's "YYYYMM" blind index, NULL when no date */
    const uint8_t *seal;     /* sealed study record */
    size_t seal_len;
    const uint8_t *dek_wrapped; /* the study's wrapped data key (opaque), 1..INDEX_DEK_MAX */
    size_t dek_len;             /* (ignored by update: see index_study_rewrap) */
    const char *retention;      /* retention class, NULL or "" for none; printable ASCII */
    int64_t created;            /* unix seconds; 0 means now */
} index_study_in;

/* Finds the study by uid_bi or inserts it.  As index_patient_upsert: when it exists nothing
 * changes, *created = 0, its seal goes to old_seal (may be NULL).  A study that exists under
 * another patient is DV_EEXIST (the vault decides what a UID reused across patients means). */
dv_err index_study_upsert(index_db *db, const index_study_in *in, int64_t *id, int *created,
                          dv_buf *old_seal, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);
/* Replaces seal, acc_bi, month_bi and retention of study id (not its uid, patient or key).
 * DV_ENOTFOUND when no such id. */
dv_err index_study_update(index_db *db, int64_t id, const index_study_in *in, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 3);
/* Looks a study up by uid_bi (or by id); fills the patient and study parts of *row. */
dv_err index_study_get(index_db *db, const uint8_t *uid_bi, index_row *row, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3);
dv_err index_study_get_by_id(index_db *db, int64_t id, index_row *row, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 3);

/* Deletes a study with its series and instances, in one transaction.  First calls key_fn
 * (may be NULL) once per object key of its instances, so the vault can delete the objects
 * after the commit; if key_fn fails nothing is deleted.  A patient left without studies is
 * deleted too (*patient_gone = 1; may be NULL).  Shred certificates are never touched.
 * DV_ENOTFOUND when no such study. */
dv_err index_study_delete(index_db *db, int64_t study_id,
                          dv_err (*key_fn)(void *ctx, const char *object_key), void *ctx,
                          int *patient_gone, dv_errinfo *ei) DV_WUR DV_NONNULL(1);

/* Key rotation: calls fn for every study, in one transaction, with its current wrapped key;
 * fn writes the new wrapped key into out (capacity out_cap = INDEX_DEK_MAX) and its length
 * into *out_len (1..out_cap), and the index stores it.  Any failure rolls every study back
 * to its old key.  *n (may be NULL) is the number of studies rewrapped. */
typedef dv_err (*index_rewrap_fn)(void *ctx, int64_t study_id, const uint8_t *uid_bi,
                                  const uint8_t *old, size_t old_len, uint8_t *out, size_t out_cap,
                                  size_t *out_len);
dv_err index_study_rewrap(index_db *db, index_rewrap_fn fn, void *ctx, uint64_t *n,
                          dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);

/* ---- series -----------------------------------------------------------------------------------
 */

typedef struct index_series_in {
    int64_t study_id;      /* required */
    const uint8_t *uid_bi; /* required: SeriesInstanceUID blind index */
    const char *modality;  /* CS, NULL or "" when absent; printable ASCII, <= 16 chars */
    const uint8_t *seal;
    size_t seal_len;
} index_series_in;

/* Finds the series by uid_bi or inserts it and adds its modality to the study's list.  As the
 * other upserts for *created and old_seal; a series under another study is DV_EEXIST. */
dv_err index_series_upsert(index_db *db, const index_series_in *in, int64_t *id, int *created,
                           dv_buf *old_seal, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);
/* Replaces the seal of series id.  DV_ENOTFOUND when no such id. */
dv_err index_series_update(index_db *db, int64_t id, const uint8_t *seal, size_t seal_len,
                           dv_errinfo *ei) DV_WUR DV_NONNULL(1);
/* Looks a series up by uid_bi; fills the patient, study and series parts of *row. */
dv_err index_series_get(index_db *db, const uint8_t *uid_bi, index_row *row, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3);

/* ---- instances ------------------------------------------------------------------------------ */

typedef struct index_instance_in {
    int64_t series_id;      /* required */
    const uint8_t *uid_bi;  /* required: SOPInstanceUID blind index */
    const char *sop_class;  /* SOP Class UID, NULL or "" when absent, <= 64 chars */
    const char *ts_uid;     /* transfer syntax UID of the stored object, <= 64 chars */
    const char *object_key; /* required: INDEX_KEY_LEN lower-case hex digits */
    uint64_t size;          /* bytes of the sealed object (< 2^63) */
    uint32_t frames;
    const uint8_t *seal;
    size_t seal_len;
    int64_t created; /* unix seconds; 0 means now */
} index_instance_in;

/* Inserts an instance; *id (may be NULL) is its id.  DV_EEXIST when its uid_bi or its object
 * key is already there; DV_ENOTFOUND when the series does not exist. */
dv_err index_instance_insert(index_db *db, const index_instance_in *in, int64_t *id,
                             dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);
/* For --replace: stores in as the instance with in->uid_bi, replacing the existing row (which
 * may be under another series); *id (may be NULL) is the new row's id.  old_key (INDEX_KEY_LEN + 1
 * bytes) receives the replaced row's object key, for the vault to delete after the commit, or ""
 * when nothing was replaced (then this is an insert).  DV_EEXIST when in->object_key belongs to
 * another instance. */
dv_err index_instance_replace(index_db *db, const index_instance_in *in, int64_t *id,
                              char old_key[INDEX_KEY_LEN + 1], dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 4);
/* Looks an instance up by its SOPInstanceUID blind index; fills every part of *row. */
dv_err index_instance_get(index_db *db, const uint8_t *uid_bi, index_row *row,
                          dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);
/* Deletes one instance; its object key goes to old_key (INDEX_KEY_LEN + 1 bytes, may be
 * NULL).  The series and study stay, even when empty.  DV_ENOTFOUND when no such id. */
dv_err index_instance_delete(index_db *db, int64_t id, char *old_key, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1);
/* Calls fn for each instance of a study (series_id 0) or of one series (study_id ignored),
 * in id order, with every part of the row filled. */
dv_err index_instance_list(index_db *db, int64_t study_id, int64_t series_id, index_row_fn fn,
                           void *ctx, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 4);

/* ---- find --------------------------------------------------------------------------------- */

/* A query: every filter that is set must match (AND); a list matches any of its entries.
 * Filters of a level deeper than `level` select the rows that have at least one such
 * descendant (a study "with a CT series"); filters of shallower levels select by parent. */
typedef struct index_query {
    index_level level;         /* rows returned: one per patient / study / series / instance */
    const uint8_t *patient_bi; /* PatientID */
    const uint8_t *name_bis;   /* n_names * INDEX_BI_BYTES: any of these name tokens */
    size_t n_names;            /* at most INDEX_LIST_MAX */
    const uint8_t *acc_bi;     /* AccessionNumber */
    const uint8_t *month_bis;  /* n_months * INDEX_BI_BYTES: study month in any of these */
    size_t n_months;           /* at most INDEX_LIST_MAX */
    const char *modality;      /* a series' modality (for studies: any of their series) */
    const uint8_t *study_bi;   /* StudyInstanceUID */
    const uint8_t *series_bi;  /* SeriesInstanceUID */
    const uint8_t *sop_bi;     /* SOPInstanceUID */
    const char *sop_class;     /* SOP Class UID */
    uint64_t offset;           /* rows to skip (paging) */
    uint64_t limit;            /* at most this many rows; 0 means no limit */
} index_query;

/* Calls fn once per matching row, in id order of the row's level, with the row and its
 * parents filled.  *n (may be NULL) is the number of rows given to fn. */
dv_err index_find(index_db *db, const index_query *q, index_row_fn fn, void *ctx, uint64_t *n,
                  dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);

/* ---- objects and counts ---------------------------------------------------------------------- */

/* Calls fn for every instance's object key with its size (for `check`), in id order. */
dv_err index_object_keys(index_db *db, dv_err (*fn)(void *ctx, const char *key, uint64_t size),
                         void *ctx, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);
/* *yes = 1 when an instance has this object key. */
dv_err index_object_key_exists(index_db *db, const char *key, int *yes, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3);

typedef struct index_counts {
    uint64_t patients, studies, series, instances;
    uint64_t bytes; /* sum of instance sizes */
    uint64_t certs, users;
} index_counts;
dv_err index_count(index_db *db, index_counts *out, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);

/* ---- shred certificates -------------------------------------------------------------------- */

typedef struct index_cert {
    int64_t id;
    index_bytes pseudonym; /* the study's keyed pseudonym (opaque) */
    const char *body;      /* JSON, no PHI, NUL-terminated */
    size_t body_len;
    index_bytes signature;
    int64_t created;
} index_cert;

/* Stores a certificate (pseudonym and signature 1..INDEX_CERT_BLOB_MAX bytes, body a non-empty
 * string of at most INDEX_CERT_BODY_MAX bytes, created 0 = now).  *id may be NULL. */
dv_err index_cert_insert(index_db *db, const uint8_t *pseudonym, size_t pseudonym_len,
                         const char *body, const uint8_t *sig, size_t sig_len, int64_t created,
                         int64_t *id, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 4, 5);
/* Calls fn for every certificate (or only those of one pseudonym when pseudonym != NULL), in
 * id order. */
dv_err index_cert_list(index_db *db, const uint8_t *pseudonym, size_t pseudonym_len,
                       dv_err (*fn)(void *ctx, const index_cert *c), void *ctx,
                       dv_errinfo *ei) DV_WUR DV_NONNULL(1, 4);

/* ---- users (staff accounts; the access issue extends this) ------------------------------------
 */

typedef struct index_user {
    int64_t id;
    char name[INDEX_USER_NAME_MAX + 1];
    char role[INDEX_ROLE_MAX + 1];
    char pwhash[INDEX_PWHASH_MAX + 1]; /* crypto_pwhash_str() string (Argon2id) */
    int must_change;                   /* 1: the password is one-time, must be changed */
    int disabled;
    int64_t created;
} index_user;

/* Inserts a user (name 1..64 printable ASCII, role 1..31, pwhash 1..127).  u->id and
 * u->created (0 = now) are set.  DV_EEXIST when the name is taken. */
dv_err index_user_insert(index_db *db, index_user *u, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);
/* DV_ENOTFOUND when no user has this name. */
dv_err index_user_get(index_db *db, const char *name, index_user *out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3);
/* Sets the password hash and the must_change flag.  DV_ENOTFOUND when no such id. */
dv_err index_user_set_password(index_db *db, int64_t id, const char *pwhash, int must_change,
                               dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3);
/* Sets the disabled flag.  DV_ENOTFOUND when no such id. */
dv_err index_user_set_disabled(index_db *db, int64_t id, int disabled, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1);

/* ---- meta: small named values for the vault (salts, key check values, settings; no PHI) ----- */

/* key: 1..64 characters of [a-z0-9._-]; names starting "index." are reserved (DV_EINVAL).
 * value: 0..INDEX_META_VALUE_MAX bytes.  set replaces. */
dv_err index_meta_set(index_db *db, const char *key, const uint8_t *value, size_t len,
                      dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);
/* Appends the value to out.  DV_ENOTFOUND when absent.  Reserved names may be read. */
dv_err index_meta_get(index_db *db, const char *key, dv_buf *out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3);

/* ==== access (issue 5): accounts, sessions, care grants, break-glass, access log, approvals,
 * alerts, VIP flags.  Schema version 2; an index of version 1 is migrated when opened (the users
 * table gains columns, the other tables are created).  SQLite backend only for now: these
 * functions run their SQL directly (src/index/access_*.c).
 *
 * None of these tables holds patient data: patients and studies are named only by the vault's
 * blind indexes (INDEX_BI_BYTES), users by their account names, reasons and details are operator
 * or program text without PHI.  Times are unix seconds given by the caller (never read from the
 * clock here), so tests can inject time.  ====================================================== */

#define INDEX_ROLES_MAX     255 /* comma-separated role names */
#define INDEX_TEAM_MAX      64
#define INDEX_TOTP_SEAL_MAX 256
#define INDEX_PURPOSE_MAX   31
#define INDEX_CLIENT_MAX    255
#define INDEX_REASON_MAX    1000
#define INDEX_WORD_MAX      31 /* short codes: grant source, action, rule, state */
#define INDEX_TOKEN_HASH    32

/* A staff account (the users table).  name is the key; roles is the account's role set
 * ("radiologist,technologist"); an account made by the version-1 API has roles == role. */
typedef struct index_account {
    int64_t id;
    char name[INDEX_USER_NAME_MAX + 1];
    char roles[INDEX_ROLES_MAX + 1];
    char team[INDEX_TEAM_MAX + 1]; /* group for group grants, "" when none */
    char pwhash[INDEX_PWHASH_MAX + 1];
    int must_change, disabled, suspended;
    char lift_admin[INDEX_USER_NAME_MAX + 1];   /* administrator who lifted a suspension */
    char lift_privacy[INDEX_USER_NAME_MAX + 1]; /* privacy officer who lifted it */
    int64_t failed;                             /* consecutive failed logins */
    int64_t locked_until;                       /* unix seconds; 0 when not locked */
    int64_t last_login, last_active, created;
    uint8_t totp_seal[INDEX_TOTP_SEAL_MAX]; /* the TOTP secret sealed by the vault */
    size_t totp_seal_len;                   /* 0: no secret */
    int totp_on;                            /* 1 once enrolment is confirmed */
    int64_t totp_last;                      /* last accepted TOTP time-step counter */
} index_account;

/* Inserts a (*a).  a->id is set; a->created 0 means now.  DV_EEXIST when the name is taken. */
dv_err index_account_insert(index_db *db, index_account *a, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);
/* Reads the account with this name.  DV_ENOTFOUND when absent. */
dv_err index_account_get(index_db *db, const char *name, index_account *out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3);
/* Reads the account with this id.  DV_ENOTFOUND when absent. */
dv_err index_account_get_id(index_db *db, int64_t id, index_account *out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 3);
/* Writes every field of a (the row with a->id) but name, id and created.  DV_ENOTFOUND when
 * no such id. */
dv_err index_account_update(index_db *db, const index_account *a, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);
/* Calls fn for every account in name order. */
dv_err index_account_list(index_db *db, dv_err (*fn)(void *ctx, const index_account *a), void *ctx,
                          dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);

/* ---- sessions: only a hash of the token is stored ---- */
typedef struct index_session {
    int64_t id, user_id;
    uint8_t token_hash[INDEX_TOKEN_HASH];
    char purpose[INDEX_PURPOSE_MAX + 1];
    char client[INDEX_CLIENT_MAX + 1];
    int mfa; /* 1 when the second factor was given at login */
    int64_t created, last_used, expires;
} index_session;

dv_err index_session_insert(index_db *db, index_session *s, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);
/* DV_ENOTFOUND when no session has this token hash. */
dv_err index_session_get(index_db *db, const uint8_t hash[INDEX_TOKEN_HASH], index_session *out,
                         dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);
dv_err index_session_touch(index_db *db, int64_t id, int64_t last_used, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1);
/* Deletes one session (id > 0), or every session of user_id (id == 0). */
dv_err index_session_delete(index_db *db, int64_t id, int64_t user_id, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1);

/* ---- care grants and break-glass ---- */
typedef struct index_grant {
    int64_t id;
    int group; /* 0: grantee is a user name, 1: a team */
    char grantee[INDEX_USER_NAME_MAX + 1];
    int patient;                       /* 0: target is a study, 1: a patient */
    uint8_t target_bi[INDEX_BI_BYTES]; /* the study's or patient's blind index */
    char source[INDEX_WORD_MAX + 1];   /* "assignment", "import-rule", "reading-radiologist",
                                          "break-glass" */
    char reason[INDEX_REASON_MAX + 1]; /* operator text, no PHI */
    char created_by[INDEX_USER_NAME_MAX + 1];
    int64_t created, expires; /* valid while created <= now < expires */
    int revoked;
} index_grant;

dv_err index_grant_insert(index_db *db, index_grant *g, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);
/* Marks grant id revoked.  DV_ENOTFOUND when no such id. */
dv_err index_grant_revoke(index_db *db, int64_t id, dv_errinfo *ei) DV_WUR DV_NONNULL(1);
dv_err index_grant_get(index_db *db, int64_t id, index_grant *out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 3);
/* Calls fn for each grant not revoked whose grantee is user (or team, when team is not NULL or
 * "") and that is valid at now (now < 0: every grant, expired too), in id order.  user NULL:
 * every grantee. */
dv_err index_grant_list(index_db *db, const char *user, const char *team, int64_t now,
                        dv_err (*fn)(void *ctx, const index_grant *g), void *ctx,
                        dv_errinfo *ei) DV_WUR DV_NONNULL(1, 5);

/* ---- access log: every decision that concerns patient data, and every denial ---- */
typedef struct index_alog {
    int64_t time;
    const char *user;
    const char *action;        /* "find", "view", "export", ... */
    int outcome;               /* 0 allowed, 1 denied, 2 needs approval */
    int reason;                /* the decision's reason code */
    const uint8_t *study_bi;   /* NULL when none */
    const uint8_t *patient_bi; /* NULL when none */
    uint64_t bytes;
} index_alog;

dv_err index_alog_insert(index_db *db, const index_alog *r, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);

/* Statistics of user's log rows with time >= since (and action == action unless NULL, outcome
 * == outcome unless < 0). */
typedef struct index_alog_stats {
    uint64_t rows, bytes, patients; /* patients: distinct non-NULL patient_bi */
    int patient_seen;               /* 1 when `patient` (if given) is among them */
    int64_t last_time;              /* newest row's time (0 when none) */
} index_alog_stats;
dv_err index_alog_stats_get(index_db *db, const char *user, const char *action, int outcome,
                            int64_t since, const uint8_t *patient, index_alog_stats *out,
                            dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 7);

/* ---- approvals (four eyes) ---- */
typedef struct index_approval {
    int64_t id;
    char requester[INDEX_USER_NAME_MAX + 1];
    char action[INDEX_WORD_MAX + 1];
    uint8_t target_bi[INDEX_BI_BYTES]; /* the study asked for */
    uint64_t studies, patients, bytes;
    char reason[INDEX_REASON_MAX + 1]; /* why it needs approval (program text) */
    char state[INDEX_WORD_MAX + 1];    /* "pending", "approved", "denied", "used" */
    char decided_by[INDEX_USER_NAME_MAX + 1];
    int64_t created, decided, expires;
} index_approval;

dv_err index_approval_insert(index_db *db, index_approval *a, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);
dv_err index_approval_get(index_db *db, int64_t id, index_approval *out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 3);
/* Sets state, decided_by and decided of approval id, only when its state is from_state
 * (DV_EEXIST otherwise: someone else decided it first). */
dv_err index_approval_decide(index_db *db, int64_t id, const char *from_state, const char *state,
                             const char *by, int64_t when, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 3, 4, 5);
/* Finds the oldest "approved" approval of requester for action and target that has not expired
 * at now; *id = 0 when none. */
dv_err index_approval_find(index_db *db, const char *requester, const char *action,
                           const uint8_t *target_bi, int64_t now, int64_t *id,
                           dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 4, 6);
/* Calls fn for each approval (state NULL: all, else that state), in id order. */
dv_err index_approval_list(index_db *db, const char *state,
                           dv_err (*fn)(void *ctx, const index_approval *a), void *ctx,
                           dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3);

/* ---- alerts ---- */
typedef struct index_alert {
    int64_t id, time;
    char user[INDEX_USER_NAME_MAX + 1];
    char rule[INDEX_WORD_MAX + 1];
    int severity; /* 1 notice, 2 warning, 3 severe (suspends the account) */
    char detail[INDEX_REASON_MAX + 1];
    char acked_by[INDEX_USER_NAME_MAX + 1];
    int64_t acked;
} index_alert;

dv_err index_alert_insert(index_db *db, index_alert *a, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);
/* DV_ENOTFOUND when no such id, DV_EEXIST when already acknowledged. */
dv_err index_alert_ack(index_db *db, int64_t id, const char *by, int64_t when,
                       dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3);
/* Calls fn for each alert (only those not acknowledged when open_only), in id order. */
dv_err index_alert_list(index_db *db, int open_only, dv_err (*fn)(void *ctx, const index_alert *a),
                        void *ctx, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3);
/* Number of alerts of user for rule with time >= since. */
dv_err index_alert_count(index_db *db, const char *user, const char *rule, int64_t since,
                         uint64_t *n, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 5);

/* ---- VIP-flagged patients ---- */
dv_err index_vip_set(index_db *db, const uint8_t *patient_bi, int on, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);
dv_err index_vip_get(index_db *db, const uint8_t *patient_bi, int *on, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3);

/* ==== films (issue 7): printed copies, from print to physical destruction (schema 3) ==== */

#define INDEX_FILM_SERIAL_MAX 16

typedef struct index_film {
    char serial[INDEX_FILM_SERIAL_MAX + 1]; /* printed on the film: 4..16 of [A-Z0-9-] */
    uint8_t study_bi[INDEX_BI_BYTES];
    char printed_by[INDEX_USER_NAME_MAX + 1];
    int64_t printed;    /* unix seconds */
    uint64_t audit_seq; /* the print's entry in the audit log */
    uint32_t pages;
    char destroyed_by[INDEX_USER_NAME_MAX + 1]; /* "" while the film exists */
    int64_t destroyed;                          /* 0 while the film exists */
    char reason[INDEX_REASON_MAX + 1];          /* operator text, no PHI */
} index_film;

typedef dv_err (*index_film_fn)(void *ctx, const index_film *f);

/* DV_EEXIST when the serial is taken (serials are random: the caller draws another). */
dv_err index_film_insert(index_db *db, const index_film *f, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);
/* DV_ENOTFOUND when there is no film with this serial. */
dv_err index_film_get(index_db *db, const char *serial, index_film *out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3);
/* Records the physical destruction.  DV_ENOTFOUND when no such film exists or it is already
 * destroyed. */
dv_err index_film_destroy(index_db *db, const char *serial, const char *by, int64_t when,
                          const char *reason, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 5);
/* Every film (outstanding 0) or those not destroyed (1), oldest first. */
dv_err index_film_list(index_db *db, int outstanding, index_film_fn fn, void *ctx,
                       dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3);

/* ==== perceptual hashes (schema 4): each image instance's 64-bit perceptual hash, sealed by the
 * vault, so trace compares hashes without decrypting every stored image.  The index stores the
 * sealed bytes and returns them; it never sees a hash in the clear.  A hash row goes with its
 * instance (shred, retention, index_instance_delete) and when index_instance_replace gives the
 * instance another object.  An index of version 3 is migrated when opened; its instances have
 * no hash row until they are imported again (no backfill). ==== */

#define INDEX_PHASH_SEAL_MAX 64 /* largest sealed hash accepted */

/* One instance as trace needs it: where its object is, its study's key, and its sealed hash. */
typedef struct index_phash {
    int64_t instance_id, study_id;
    uint8_t study_bi[INDEX_BI_BYTES];
    char object_key[INDEX_KEY_LEN + 1];
    uint8_t dek_wrapped[INDEX_DEK_MAX]; /* the study's wrapped data key */
    size_t dek_len;
    uint32_t frames; /* 0: no pixel data */
    uint8_t sealed[INDEX_PHASH_SEAL_MAX];
    size_t sealed_len; /* 0: the instance has no hash row */
} index_phash;

typedef dv_err (*index_phash_fn)(void *ctx, const index_phash *h);

/* Stores (or replaces) the sealed hash of instance_id: 1..INDEX_PHASH_SEAL_MAX bytes (else
 * DV_EINVAL).  DV_ENOTFOUND when there is no such instance. */
dv_err index_phash_put(index_db *db, int64_t instance_id, const uint8_t *sealed, size_t len,
                       dv_errinfo *ei) DV_WUR DV_NONNULL(1);
/* Calls fn for every instance (study_bi NULL) or every instance of the study with that blind
 * index, in id order, with its sealed hash when it has one (sealed_len 0 when not). */
dv_err index_phash_list(index_db *db, const uint8_t *study_bi, index_phash_fn fn, void *ctx,
                        dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3);

#endif
