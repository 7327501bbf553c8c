/* SPDX-License-Identifier: Apache-2.0 */
/* vault.h - the one door: every front end (CLI, DIMSE, DICOMweb) reaches images and the index
 * only through the vault_* functions below, each with a request context (who, why, from where).
 *
 * A vault is a folder DIR:
 *   DIR/dcmvault.conf   INI: [vault] cipher, chunk_size; [kek] mode, path | salt; [retention]
 *   DIR/keys.sealed     the vault's secrets (index root key, pseudonym key, audit signing seed)
 *                       sealed under the key-encryption key (KEK)
 *   DIR/index.sqlite    the index: blind indexes, sealed records, clear non-PHI columns
 *   DIR/objects/, tmp/  the store: one sealed object per imported file
 * The KEK never lives in DIR: a 0600 key file (default DIR.kek beside DIR) or a passphrase
 * stretched with Argon2id (salt in the config).  docs/vault.md describes the layout.
 *
 * Rules every vault_* function keeps:
 *  - ctx must be a valid context (vault_ctx_valid); otherwise DV_EPERM and nothing happens;
 *  - an operation that reads or changes PHI calls the audit hook before its effect
 *    (vault_audit_event; the audit issue gives it a durable log);
 *  - errors come back as dv_err + dv_errinfo whose message holds no PHI (ids, object keys,
 *    offsets, tags and rules only);
 *  - results that carry PHI (find rows, exported bytes) go to the caller's callback and are
 *    never written to a log by the vault.
 * A vault handle is used by one thread at a time.
 */
#ifndef DV_VAULT_H
#define DV_VAULT_H

#include "common/buf.h"
#include "common/dv.h"
#include "mark/mark.h"
#include "render/render.h"

typedef struct vault vault;

/* ---- request context ------------------------------------------------------------------- */

/* Who asks, in which role, for what purpose, in which session, from where.  Strings are owned
 * by the caller and must outlive the call.  All are required (non-empty). */
typedef struct vault_ctx {
    const char *user;
    const char *role;
    const char *purpose; /* purpose of use, e.g. "TREAT", "HOPERAT" (HL7 PurposeOfUse) */
    const char *session;
    const char *client; /* client address, "local" for the CLI */
} vault_ctx;

/* Storage for a context built by vault_ctx_local_admin(). */
typedef struct vault_ctx_local {
    vault_ctx ctx;
    char user[96];
    char session[33];
} vault_ctx_local;

/* THE ONE PLACE where the CLI acts as the local administrator (until the access issue lands):
 * user "local:<os user>", role VAULT_ROLE_LOCAL_ADMIN, purpose "HOPERAT", a fresh random
 * session id, client "local".  Fills *l; l->ctx points into l. */
void vault_ctx_local_admin(vault_ctx_local *l) DV_NONNULL(1);
#define VAULT_ROLE_LOCAL_ADMIN "local-admin"

/* True when every field is set (non-NULL, non-empty, at most 255 bytes, printable ASCII). */
int vault_ctx_valid(const vault_ctx *ctx);

/* ---- creating and opening ---------------------------------------------------------------- */

/* Where the KEK comes from.  key_file NULL: the config's path, else DIR.kek.  pass_env: name of
 * an environment variable holding the passphrase (passphrase vaults only). */
typedef struct vault_kek_src {
    const char *key_file;
    const char *pass_env;
} vault_kek_src;

typedef struct vault_init_opts {
    const char *dir;    /* must not exist, or be an empty folder */
    vault_kek_src kek;  /* key_file: used when it exists, created when not; NULL: DIR.kek,
                           which must not exist.  pass_env: passphrase mode instead */
    const char *cipher; /* "aes256gcm", "xchacha20poly1305", "sm4"; NULL: the CPU's best */
    const char *admin;  /* administrator account name; NULL: "admin" */
    const char *pkcs11; /* PKCS#11 URI: DV_EUNSUPPORTED in this build */
} vault_init_opts;

#define VAULT_PASSWORD_LEN 20
#define VAULT_PATH_MAX     4096

typedef struct vault_init_result {
    char key_file[VAULT_PATH_MAX];               /* key file used or created ("" passphrase) */
    int key_file_created;                        /* 1 when init created it */
    char admin[65];                              /* the administrator's account name */
    char admin_password[VAULT_PASSWORD_LEN + 1]; /* one-time password: print once, then wipe */
} vault_init_result;

/* Creates a vault (see the layout above) with one administrator whose random one-time password
 * (must be changed at first use) goes to res.  On failure everything created is removed. */
dv_err vault_init(const vault_ctx *ctx, const vault_init_opts *o, vault_init_result *res,
                  dv_errinfo *ei) DV_WUR DV_NONNULL(2, 3);

/* Opens a vault.  A wrong KEK: DV_ECRYPTO "the key does not open this vault"; a key file
 * readable by others: DV_EPERM; a config that does not parse: DV_EMALFORMED naming the line
 * (nothing is created or changed then).  Finishes a key rotation a crash interrupted. */
dv_err vault_open(const char *dir, const vault_kek_src *kek, vault **out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3);
/* Wipes the keys and closes everything.  v may be NULL. */
void vault_close(vault *v);

/* The vault's folder (as given to vault_open). */
const char *vault_dir(const vault *v) DV_NONNULL(1);

/* ---- import ------------------------------------------------------------------------------ */

typedef enum vault_import_status {
    VAULT_IMPORTED = 0,
    VAULT_REPLACED,  /* --replace: an instance with this SOP Instance UID was overwritten */
    VAULT_DUPLICATE, /* an instance with this SOP Instance UID is already stored: skipped */
    VAULT_REJECTED,  /* bad input: nothing stored; detail in ei */
    VAULT_NOT_IMAGE  /* a DICOMDIR given inside a folder walk: skipped */
} vault_import_status;

#define VAULT_IMPORT_REPLACE 0x1u
#define VAULT_IMPORT_MAX     ((size_t)2 << 30) /* largest file imported: 2 GiB */

/* Imports one DICOM file held in memory and commits it (object stored, index rows committed)
 * before returning.  *status says what happened.  Bad input gives VAULT_REJECTED with DV_OK
 * returned and the reason in ei, and changes nothing; a non-OK return is a failure of the
 * vault itself (I/O, database) and nothing of this file is left behind. */
dv_err vault_import_mem(vault *v, const vault_ctx *ctx, const uint8_t *p, size_t len,
                        unsigned flags, vault_import_status *status, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 3, 6);

/* Walks files, folders (recursively, symlinks not followed) and DICOMDIRs (a DICOMDIR given as
 * a path imports the files its records reference; one met inside a folder is skipped, the
 * walk finds its files).  Files are committed in batches (64 files or 1 s): fn is called for
 * each file with its outcome once its batch is committed, so a file reported VAULT_IMPORTED is
 * durable.  e/ei: why a file was rejected (DV_OK otherwise).  Returns DV_OK unless the vault
 * itself failed (then the open batch is rolled back and its objects deleted). */
typedef void (*vault_walk_fn)(void *cb, const char *path, vault_import_status st, dv_err e,
                              const dv_errinfo *ei);
dv_err vault_import_paths(vault *v, const vault_ctx *ctx, char *const *paths, size_t npaths,
                          unsigned flags, vault_walk_fn fn, void *cb, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 3, 6);

/* ---- find ----------------------------------------------------------------------------------- */

typedef enum vault_level {
    VAULT_LEVEL_PATIENT = 1,
    VAULT_LEVEL_STUDY = 2,
    VAULT_LEVEL_SERIES = 3,
    VAULT_LEVEL_INSTANCE = 4
} vault_level;

/* Every field may be NULL (no filter). */
typedef struct vault_query {
    vault_level level;
    const char *patient_id;
    const char *patient_name; /* exact (normalised), or with * and ? wildcards */
    const char *study_date;   /* YYYYMMDD, YYYYMMDD-YYYYMMDD, -YYYYMMDD or YYYYMMDD- */
    const char *modality;
    const char *accession;
    const char *study_uid;
    const char *series_uid;
    const char *sop_uid;
    uint64_t limit; /* 0: no limit */
} vault_query;

/* Wildcard name search decrypts the names of at most this many candidate patients. */
#define VAULT_NAME_CANDIDATES_MAX 100000u

/* One result: the attributes of the row's level and its parents, UTF-8, "" when absent.
 * Only valid during the callback.  `ids` are the index ids (no PHI). */
typedef struct vault_result {
    vault_level level;
    int64_t patient_id, study_id, series_id, instance_id;
    const char *PatientName, *PatientID, *PatientBirthDate, *PatientSex;
    const char *StudyInstanceUID, *StudyDate, *StudyTime, *AccessionNumber, *StudyDescription;
    const char *ReferringPhysicianName, *InstitutionName, *StudyID, *ModalitiesInStudy;
    const char *SeriesInstanceUID, *Modality, *SeriesNumber, *SeriesDescription;
    const char *SOPInstanceUID, *SOPClassUID, *InstanceNumber, *TransferSyntaxUID;
    const char *object_key;
    uint32_t frames;
    uint64_t size;
} vault_result;

typedef dv_err (*vault_result_fn)(void *cb, const vault_result *r);

/* Runs a query; fn gets each matching row (deduplicated at q->level).  DV_EINVAL for a bad
 * date range or level, DV_ELIMIT when a wildcard name search has too many candidates. */
dv_err vault_find(vault *v, const vault_ctx *ctx, const vault_query *q, vault_result_fn fn,
                  void *cb, uint64_t *n, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3, 4);

/* ---- export ----------------------------------------------------------------------------- */

typedef enum vault_sel { VAULT_SEL_STUDY = 1, VAULT_SEL_SERIES, VAULT_SEL_INSTANCE } vault_sel;

/* Calls fn, for each instance of the selection (one study, series or instance given by its
 * UID), with a marked copy: every image carries the forensic watermark of the export's audit
 * entry in its stored bit depth (src/mark/; only the pixel data and the elements that describe
 * it change, compressed pixel data leaves native), recorded by a "watermark" entry before the first
 * copy leaves; objects without pixel data leave byte for byte.  DV_ENOTFOUND when the UID is not
 * stored; DV_ETAMPER naming the instance id and object key when an object fails to authenticate;
 * DV_EUNSUPPORTED for an image the mark cannot carry (every pixel layout is marked, palette and
 * 1-bit through a conversion to RGB / 8 bits: in practice a frame the decoder cannot read). */
typedef dv_err (*vault_object_fn)(void *cb, const char *sop_uid, int64_t instance_id,
                                  const uint8_t *p, size_t len, dv_errinfo *ei);
dv_err vault_export(vault *v, const vault_ctx *ctx, vault_sel sel, const char *uid,
                    vault_object_fn fn, void *cb, uint64_t *n, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 4, 5);
/* The archival copy: the exact bytes imported, unmarked.  Gated and counted like any export;
 * its audit entry says "original: the archival bytes, unmarked". */
dv_err vault_export_original(vault *v, const vault_ctx *ctx, vault_sel sel, const char *uid,
                             vault_object_fn fn, void *cb, uint64_t *n, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 4, 5);

/* Exports the selection into the folder outdir (created 0700 when absent) as
 * <SOPInstanceUID>.dcm files, mode 0600, each written atomically: marked copies, or with
 * original set the archival bytes. */
dv_err vault_export_dir(vault *v, const vault_ctx *ctx, vault_sel sel, const char *uid,
                        const char *outdir, int original, uint64_t *n, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 4, 5);

/* ---- de-identified exports (teaching, research) ------------------------------------------ */

typedef struct vault_deid_opts {
    const char *project; /* names the project's key: 1..64 of [A-Za-z0-9._-] */
    unsigned options;    /* DEID_OPT() bits (src/deid/deid.h) */
    int pixels;          /* deid_pixels_mode: DEID_PIXELS_OCR unless there is a reason */
} vault_deid_opts;

typedef struct vault_deid_res {
    uint64_t written, failed;
    dv_errinfo first_error; /* the first file that was not written, and why (no value) */
} vault_deid_res;

/* Exports the selection into outdir (which must exist) de-identified: each instance through
 * deid_file() with the project's key, written as <new SOPInstanceUID>.dcm (0600).  Gated as an
 * export of de-identified data (teaching and research purposes, researchers), audited as
 * "deidentify" before the first byte.  A file that fails de-identification is not written;
 * the call then returns DV_EPERM with the count (res->first_error says why). */
dv_err vault_export_deid(vault *v, const vault_ctx *ctx, vault_sel sel, const char *uid,
                         const vault_deid_opts *o, const char *outdir, vault_deid_res *res,
                         dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 4, 5, 6, 7);

/* ---- view --------------------------------------------------------------------------------- */

/* What a viewer shows: one frame of each image of the selection, rendered (render/render.h).
 * Every rendered image that leaves the vault carries the invisible forensic mark of its access
 * (src/mark/): the audit entry's sequence number. */
typedef struct vault_view_opts {
    render_opts ro; /* window, VOI function, size limit */
    uint32_t frame; /* 0-based frame of each instance */
    int overlay;    /* also a visible, tiled, semi-transparent "user, time, event" overlay */
} vault_view_opts;

void vault_view_opts_init(vault_view_opts *o) DV_NONNULL(1);

/* index: 1, 2, ... in the order the images are rendered.  im is valid during the call. */
typedef dv_err (*vault_image_fn)(void *cb, uint64_t index, uint32_t frame, const render_image *im,
                                 dv_errinfo *ei);

/* Renders the selection for the session's user: gated as `view` (a care relationship; no export
 * quota, but the anomaly rules count it), audited as "view" (DCM 110103) before any pixel is
 * rendered.  Instances without pixel data, or with fewer frames, are skipped (*skipped).
 * Errors as for vault_export(). */
dv_err vault_view(vault *v, const vault_ctx *ctx, vault_sel sel, const char *uid,
                  const vault_view_opts *o, vault_image_fn fn, void *cb, uint64_t *images,
                  uint64_t *skipped, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 4, 5, 6);

/* ---- share -------------------------------------------------------------------------------- */

typedef struct vault_share_opts {
    vault_view_opts view;     /* frame and window of the picture */
    int pixels;               /* deid_pixels_mode, default DEID_PIXELS_OCR */
    const char *photo_reason; /* NULL: photographic objects are refused (faces) */
} vault_share_opts;

void vault_share_opts_init(vault_share_opts *o) DV_NONNULL(1);

/* One instance as a de-identified picture (header, burned-in text, residual check; a random
 * key), rendered and handed to fn.  Gated as an export of de-identified data, audited as
 * "share" before any pixel is rendered.  A photographic object (VL Photographic, RGB secondary
 * capture: faces) is refused unless photo_reason is given.  DV_EPERM when an identifier
 * survived de-identification. */
dv_err vault_share(vault *v, const vault_ctx *ctx, const char *sop_uid, const vault_share_opts *o,
                   vault_image_fn fn, void *cb, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 4, 5);

/* ---- trace -------------------------------------------------------------------------------- */

typedef struct vault_trace_res {
    mark_result mark;        /* what detection found */
    int informed;            /* blind found nothing; the study's access entries were tested */
    size_t references;       /* stored images the leak was registered to (informed mode) */
    mark_reg reg;            /* the registration used (reg.ok: the leak was aligned to one) */
    size_t candidates;       /* how many (informed mode) */
    int by_phash;            /* found in a study the perceptual search chose (no --study) */
    size_t searched;         /* stored images compared by the perceptual search */
    size_t hashed;           /* of them, compared by their sealed hash from the index */
    unsigned phash_distance; /* bits of 64 between the leak and the closest stored image */
    int in_log;              /* the mark names an entry of this vault's log (below) */
    char entry[1200];        /* that entry, one line of text (audit show's format) */
    dv_buf proof;            /* its RFC 9162 inclusion proof as text (caller inits and releases) */
    dv_buf checkpoint; /* the signed checkpoint the proof is against (caller inits, releases) */
} vault_trace_res;

/* From a leaked picture to the access that released it: blind detection with the vault's mark
 * key -- and, when that finds nothing, the informed mode: only the audit entries of one study's
 * view/export/print/share accesses are tested as payloads.  The study is study_uid, or (NULL) the
 * one holding the stored image whose perceptual hash is closest to the leak's (the hashes of
 * every stored image's first frame, sealed in the index at import; an image imported before
 * index version 4 is decrypted and rendered instead).  The leak is registered to
 * up to 3 of the study's stored images nearest it by that hash (features and a homography,
 * mark_detect_original: the original is subtracted before the test), then tested on its own
 * (mark_detect_image_candidates); each test's probability is multiplied by the number of
 * tests.  Then the audit entry found and its inclusion proof against a checkpoint
 * written now.  For the privacy officer (the audit permission); the trace is
 * itself on the audit log ("audit-read", naming the entry found) before anything is returned.
 * DV_ENOTFOUND when the mark names an entry this log does not have. */
dv_err vault_trace(vault *v, const vault_ctx *ctx, const render_image *im, const char *study_uid,
                   vault_trace_res *res, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 5);

/* ---- print and films ------------------------------------------------------------------------ */

#define VAULT_FILM_SERIAL_LEN 11 /* "F-XXXX-XXXX", Crockford base32 */

typedef struct vault_print_res {
    char serial[VAULT_FILM_SERIAL_LEN + 1]; /* print it on every page */
    uint64_t pages;
    uint64_t audit_seq; /* the print's audit entry */
} vault_print_res;

/* Prints the selection: gated like an export (quotas, four eyes), audited as "print" (DCM
 * 110106, type PRINT, detail "film SERIAL") before any pixel is rendered, each image rendered
 * as for vault_view and handed to fn (one page each), then the film is recorded in the index
 * as outstanding.  The caller writes the pages only when this returns DV_OK.  DV_ENOTFOUND
 * when the selection has no image. */
dv_err vault_print(vault *v, const vault_ctx *ctx, vault_sel sel, const char *uid,
                   const vault_view_opts *o, vault_image_fn fn, void *cb, vault_print_res *res,
                   dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 4, 5, 6, 8);

/* Records the physical destruction of film serial with a reason (operator text, no PHI), by
 * the session's user (privacy officer or administrator: the certificates permission); audited
 * first as "film-destroy".  DV_ENOTFOUND when there is no such film or it is already
 * destroyed. */
dv_err vault_film_destroy(vault *v, const vault_ctx *ctx, const char *serial, const char *reason,
                          dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 4);

typedef struct vault_film_info {
    char serial[VAULT_FILM_SERIAL_LEN + 6];
    uint8_t study_pseudonym[32]; /* as the audit log names the study */
    char printed_by[65];
    int64_t printed;
    uint64_t audit_seq;
    uint32_t pages;
    char destroyed_by[65]; /* "" while outstanding */
    int64_t destroyed;     /* 0 while outstanding */
    const char *reason;    /* valid during the call */
} vault_film_info;
typedef dv_err (*vault_film_fn)(void *cb, const vault_film_info *f);

/* Lists films (outstanding: only those not reported destroyed), for the certificates
 * permission; audited as a read of certificates. */
dv_err vault_film_list(vault *v, const vault_ctx *ctx, int outstanding, vault_film_fn fn, void *cb,
                       dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 4);

/* ---- keys --------------------------------------------------------------------------------- */

/* Key rotation (key-file vaults): creates a new KEK in new_key_file (NULL: <current>.new, which
 * is renamed over the current key file at the end), re-wraps every data key and keys.sealed
 * under it in one index transaction, then destroys the old key file (overwritten with random
 * bytes, fsync, unlink).  A crash at any point leaves a vault that the old or the new key file
 * opens (vault_open finishes the rotation).  *n: data keys re-wrapped.  *new_path (may be
 * NULL, VAULT_PATH_MAX bytes) receives the key file in use afterwards. */
dv_err vault_key_rotate(vault *v, const vault_ctx *ctx, const char *new_key_file, uint64_t *n,
                        char *new_path, dv_errinfo *ei) DV_WUR DV_NONNULL(1);
/* Key rotation (passphrase vaults): a new random salt and the new passphrase from the
 * environment variable new_pass_env give the new KEK (Argon2id); every data key and
 * keys.sealed are re-wrapped under it in one index transaction, then the config takes the new
 * salt.  The old passphrase opens nothing afterwards; a crash leaves a vault that the old or
 * the new passphrase opens (vault_open finishes the rotation). */
dv_err vault_key_rotate_passphrase(vault *v, const vault_ctx *ctx, const char *new_pass_env,
                                   uint64_t *n, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3);

/* ---- reading the audit log (the privacy officer) ------------------------------------------- */

typedef struct vault_audit_names vault_audit_names;

/* For the privacy officer only (DV_EPERM otherwise): records the read in the log first, then
 * gives the pseudonym of patient_id (when not NULL; *have_pseud = 1) to filter the log by, and
 * *names, the map from patient pseudonyms to "PatientID (PatientName)" for this vault (at most
 * 100,000 patients; free with vault_audit_names_free). */
dv_err vault_audit_read(vault *v, const vault_ctx *ctx, const char *patient_id, uint8_t pseud[32],
                        int *have_pseud, vault_audit_names **names, dv_errinfo *ei) DV_WUR;
/* Where the vault's log is forwarded: [audit] syslog, ca, cert, key of DIR/dcmvault.conf and the
 * log folder (no key needed: the config holds no secret).  DV_ENOTFOUND when not configured. */
typedef struct vault_forward_cfg {
    char url[256], ca[4096], cert[4096], key[4096], log[4096];
} vault_forward_cfg;
dv_err vault_forward_target(const char *dir, vault_forward_cfg *out, dv_errinfo *ei) DV_WUR;

/* The label of a patient pseudonym, NULL when unknown. */
const char *vault_audit_name(const vault_audit_names *m, const uint8_t pseud[32]);
void vault_audit_names_free(vault_audit_names *m);

/* ---- shredding, certificates, retention ------------------------------------------------------ */

typedef struct vault_shred_result {
    uint64_t series, instances, bytes;
    int64_t cert_id;
    char pseudonym[65]; /* hex HMAC of the StudyInstanceUID under the pseudonym key */
} vault_shred_result;

/* Crypto-shreds a study: its wrapped data key, index rows (secure_delete, then a WAL
 * checkpoint) and objects are destroyed, and a destruction certificate signed with the audit
 * signing key (Ed25519) is stored.  reason: operator text, 1..1000 bytes, no patient data. */
dv_err vault_shred_study(vault *v, const vault_ctx *ctx, const char *study_uid, const char *reason,
                         vault_shred_result *res, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3, 4, 5);

/* Each stored certificate with its JSON body and whether its signature verifies (fn may be
 * NULL: only count).  *n (may be NULL): certificates; *bad (may be NULL): failing signatures. */
typedef dv_err (*vault_cert_fn)(void *cb, int64_t id, const char *body, int verified);
dv_err vault_certificates(vault *v, const vault_ctx *ctx, vault_cert_fn fn, void *cb, uint64_t *n,
                          uint64_t *bad, dv_errinfo *ei) DV_WUR DV_NONNULL(1);

/* The audit signing public key (Ed25519, 32 bytes), to verify certificates elsewhere. */
void vault_sign_public_key(const vault *v, uint8_t pk[32]) DV_NONNULL(1, 2);

/* Retention: a study whose StudyDate + the longest rule among its modalities is before today
 * (UTC) has expired.  fn is told about each expired study (and about studies kept because they
 * have no date when a rule would apply); unless dry_run, each expired study is shredded with
 * reason "retention" after fn returns. */
typedef struct vault_retention_item {
    const char *study_uid;
    const char *study_date; /* "" when absent */
    const char *modalities;
    unsigned years; /* the rule that applies */
    int expired;    /* 1 expired, 0 kept (no date) */
    int shredded;   /* 1 when shredded by this run */
} vault_retention_item;
typedef void (*vault_retention_fn)(void *cb, const vault_retention_item *it);
dv_err vault_retention_run(vault *v, const vault_ctx *ctx, int dry_run, vault_retention_fn fn,
                           void *cb, uint64_t *expired, dv_errinfo *ei) DV_WUR DV_NONNULL(1);

/* ---- check --------------------------------------------------------------------------------- */

typedef struct vault_check_result {
    uint64_t patients, studies, series, instances, bytes, certs;
    uint64_t bad_objects; /* missing, or fail to open/authenticate */
    uint64_t bad_records; /* sealed index records or data keys that do not open */
    uint64_t orphans;     /* objects without an index row */
    uint64_t tmp_files;   /* leftover temporary files */
    uint64_t repaired;    /* orphans + tmp files removed by repair */
} vault_check_result;

/* One problem, for the report: kind ("object", "record", "orphan", "tmp"), the instance id (0
 * when none), the object key ("" when none) and what is wrong.  No PHI. */
typedef void (*vault_problem_fn)(void *cb, const char *kind, int64_t id, const char *key,
                                 const char *what);
dv_err vault_check(vault *v, const vault_ctx *ctx, int repair, vault_problem_fn fn, void *cb,
                   vault_check_result *res, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 6);

/* ---- accounts, sessions, grants, approvals, alerts (issue 5; docs/access.md) ---------------
 * A session token (vault_login) goes in ctx->session; ctx->purpose is an HL7 purpose-of-use
 * code or "default" (the session's); ctx->user and ctx->role are informational (the session
 * decides who).  Every function below but vault_login decides its action with access_decide
 * through the vault's gate (DV_EPERM with the reason when refused). */

#define VAULT_TOKEN_LEN 64

typedef struct vault_login_res {
    char token[VAULT_TOKEN_LEN + 1]; /* secret: give it only to the user (a 0600 file) */
    int must_change;                 /* only vault_passwd works until the password is changed */
    int mfa;                         /* the second factor was given */
    int totp_enrolled;               /* 1 when the account has an active second factor */
    char roles[256];
} vault_login_res;

/* Checks user's password and TOTP code (NULL or "" when none) and opens a session.  Lockout
 * after repeated failures (a locked account is refused even with the right password); every
 * attempt is recorded.  The first login with a code after vault_totp_enrol activates it. */
dv_err vault_login(vault *v, const char *user, const char *password, const char *totp,
                   const char *client, vault_login_res *res, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3, 6);
/* Ends the session of token (no error when there is none). */
dv_err vault_logout(vault *v, const char *token, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);

typedef struct vault_whoami {
    char user[65], roles[256], team[65], purpose[32];
    int mfa, must_change, suspended;
    int64_t expires;
} vault_whoami;
dv_err vault_whoami_get(vault *v, const vault_ctx *ctx, vault_whoami *out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3);

/* Changes the password of the session's own account (old must verify; the rules apply). */
dv_err vault_passwd(vault *v, const vault_ctx *ctx, const char *old_pw, const char *new_pw,
                    dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 4);
/* Enrols a new TOTP secret for the session's own account (base32 and otpauth:// URI out); it
 * becomes active at the next login with a code.  An account with an active factor must be in
 * a session opened with it. */
dv_err vault_totp_enrol(vault *v, const vault_ctx *ctx, char b32[64], char uri[512],
                        dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 4);

typedef struct vault_user_info {
    const char *name, *roles, *team;
    int must_change, disabled, suspended, totp, locked;
    int64_t last_login;
} vault_user_info;
typedef dv_err (*vault_user_fn)(void *cb, const vault_user_info *u);
/* User administration (administrators).  add: roles "radiologist,technologist"; the one-time
 * password (VAULT_PASSWORD_LEN characters) goes to pw. */
dv_err vault_user_add(vault *v, const vault_ctx *ctx, const char *name, const char *roles,
                      const char *team, char pw[VAULT_PASSWORD_LEN + 1], dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3, 4, 6);
dv_err vault_user_list(vault *v, const vault_ctx *ctx, vault_user_fn fn, void *cb,
                       dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);
dv_err vault_user_disable(vault *v, const vault_ctx *ctx, const char *name, int on,
                          dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);
dv_err vault_user_reset(vault *v, const vault_ctx *ctx, const char *name, int totp,
                        char pw[VAULT_PASSWORD_LEN + 1], dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3, 5);

typedef struct vault_grant_in {
    const char *grantee; /* user, or team when group */
    int group;
    const char *study_uid; /* one of these two */
    const char *patient_id;
    int64_t until; /* unix seconds */
    const char *reason;
} vault_grant_in;
typedef struct vault_grant_info {
    int64_t id, created, expires;
    const char *grantee, *source, *reason, *created_by;
    int group, patient;
    char target[17]; /* the first 8 bytes of the target's blind index, hex: no identifier */
} vault_grant_info;
typedef dv_err (*vault_grant_fn)(void *cb, const vault_grant_info *g);
dv_err vault_grant(vault *v, const vault_ctx *ctx, const vault_grant_in *g, int64_t *id,
                   dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);
dv_err vault_revoke(vault *v, const vault_ctx *ctx, int64_t id, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);
/* Valid grants of user (NULL: everyone's). */
dv_err vault_grants(vault *v, const vault_ctx *ctx, const char *user, vault_grant_fn fn, void *cb,
                    dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 4);
/* Break-glass: opens a study for the session's user for a limited time, with a reason (no
 * patient data in it); raises an alert.  *id: the opening. */
dv_err vault_breakglass(vault *v, const vault_ctx *ctx, const char *study_uid, const char *reason,
                        int64_t *id, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 4);
/* Ends the session user's own open emergency override id before its time (audited first as
 * breakglass-stop, DCM 110138).  DV_ENOTFOUND when id is not such an opening.  An opening that
 * runs out simply expires; `revoke` of one (by an administrator) is logged as a stop too. */
dv_err vault_breakglass_stop(vault *v, const vault_ctx *ctx, int64_t id, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);

typedef struct vault_approval_info {
    int64_t id, created, decided;
    const char *requester, *action, *reason, *state, *decided_by;
    uint64_t studies, patients, bytes;
} vault_approval_info;
typedef dv_err (*vault_approval_fn)(void *cb, const vault_approval_info *a);
dv_err vault_approvals(vault *v, const vault_ctx *ctx, int pending_only, vault_approval_fn fn,
                       void *cb, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 4);
/* Approves (approve = 1) or denies another user's pending request. */
dv_err vault_approval_decide(vault *v, const vault_ctx *ctx, int64_t id, int approve,
                             dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);

typedef struct vault_alert_info {
    int64_t id, time, acked;
    const char *user, *rule, *detail, *acked_by;
    int severity;
} vault_alert_info;
typedef dv_err (*vault_alert_fn)(void *cb, const vault_alert_info *a);
dv_err vault_alerts(vault *v, const vault_ctx *ctx, int open_only, vault_alert_fn fn, void *cb,
                    dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 4);
dv_err vault_alert_ack(vault *v, const vault_ctx *ctx, int64_t id, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);
/* Lifts user's suspension on the session user's behalf; *lifted = 1 once an administrator and
 * a privacy officer have both lifted it. */
dv_err vault_lift(vault *v, const vault_ctx *ctx, const char *user, int *lifted,
                  dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 4);

#endif
