/* SPDX-License-Identifier: Apache-2.0 */
/* deid.h - DICOM de-identification: the PS3.15 Annex E Basic Application Level
 * Confidentiality Profile and its options, table-driven from Table E.1-1 (2025e), with keyed,
 * reproducible replacements and a residual-PHI check that fails a file rather than let an
 * identifier through.
 *
 * What deid_file() does to an in-memory dcm_file, in this order:
 *  1. collects the input's identifiers (names in all their forms, IDs, dates, UIDs, addresses,
 *     phone numbers, institution) for cleaning and for the residual check;
 *  2. redacts burned-in text in the pixels (deid_pixels_redact, unless the pixels mode is off);
 *  3. converts every text value to UTF-8 ((0008,0005) becomes "ISO_IR 192" when needed);
 *  4. applies the table at every nesting level (sequences, items, SR content trees), to
 *     private attributes (removed unless on the safe-private list and Retain Safe Private is
 *     on), overlays (60xx) and curves (50xx), and to the file meta group;
 *  5. adds PatientIdentityRemoved, DeidentificationMethod (+ CID 7050 code sequence) and
 *     LongitudinalTemporalInformationModified;
 *  6. runs the residual check (deid_residual_check) on the result, and on the pixels' OCR
 *     text when the pixels mode is OCR.  Any hit fails the file with DV_EPERM.
 *
 * Keyed values (the same key always gives the same output for the same input):
 *  - UIDs: "2.25." + decimal of the first 128 bits of HMAC-SHA256(key, "uid" | 0 | uid);
 *  - PatientID: "DV" + 14 base32 characters of HMAC(key, "pid" | 0 | PatientID); PatientName:
 *    "DV" + 10 base32 characters of HMAC(key, "pname" | 0 | PatientID) — or the values of a
 *    mapping CSV when it lists the PatientID (PatientName keys them when PatientID is empty);
 *  - dates (Retain Longitudinal Modified Dates): shifted by a per-patient number of days in
 *    [-3650, -365] from HMAC(key, "date" | 0 | PatientID); times are kept.
 *
 * Thread safety: a deid_ctx is read-only after deid_ctx_new(); deid_file() may be called
 * concurrently on one ctx with different files.  Nothing here prints; messages carry tags
 * and paths of tags, never a value.
 */
#ifndef DV_DEID_H
#define DV_DEID_H

#include "common/buf.h"
#include "common/dv.h"
#include "crypto/crypto.h"
#include "deid/pixels.h"
#include "dicom/dicom.h"

/* The options of PS3.15 E.3, in the column order of Table E.1-1. */
typedef enum deid_option {
    DEID_OPT_RETAIN_SAFE_PRIVATE = 0,
    DEID_OPT_RETAIN_UIDS,
    DEID_OPT_RETAIN_DEVICE,
    DEID_OPT_RETAIN_INSTITUTION,
    DEID_OPT_RETAIN_PATIENT_CHARS,
    DEID_OPT_RETAIN_FULL_DATES,
    DEID_OPT_RETAIN_MODIFIED_DATES,
    DEID_OPT_CLEAN_DESCRIPTORS,
    DEID_OPT_CLEAN_STRUCTURED,
    DEID_OPT_CLEAN_GRAPHICS,
    DEID_OPT_COUNT
} deid_option;

#define DEID_OPT(o) (1u << (o))

/* Command-line name of an option ("retain-safe-private" ...); NULL when out of range. */
const char *deid_option_name(deid_option o);
/* Sets the bit of the option called name in *options.  DV_EINVAL for an unknown name. */
dv_err deid_option_parse(const char *name, unsigned *options, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);

/* ---- mapping CSV: original PatientID -> new PatientID, new PatientName ------------------- */

/* Format (UTF-8, one record per line, LF or CRLF, no quoting):
 *     original_patient_id,new_patient_id,new_patient_name
 * An optional first line that is exactly that header is skipped; '#' lines and empty lines
 * are ignored.  Every field is 1..64 bytes of printable text without '\\' or ','; the new
 * name may be empty (then the keyed pseudonym is used).  An original ID listed twice, a
 * wrong field count, a control character or a field too long is an error naming the line.
 * At most DEID_MAPPING_MAX_ROWS rows and 64 MiB. */
#define DEID_MAPPING_MAX_ROWS 10000000u
typedef struct deid_mapping deid_mapping;

dv_err deid_mapping_parse(const uint8_t *p, size_t len, deid_mapping **out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(3);
dv_err deid_mapping_load(const char *path, deid_mapping **out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);
/* Finds an original PatientID; returns 1 and sets the pointers (NUL-terminated, owned by m;
 * *new_name may be "") or 0. */
int deid_mapping_find(const deid_mapping *m, const char *pid, size_t len, const char **new_id,
                      const char **new_name) DV_NONNULL(1, 2, 4, 5);
size_t deid_mapping_count(const deid_mapping *m);
void deid_mapping_free(deid_mapping *m);

/* ---- the engine ---------------------------------------------------------------------------- */

typedef struct deid_opts {
    unsigned options;            /* DEID_OPT() bits */
    deid_pixels_opts pixels;     /* mode OCR by default */
    const deid_mapping *mapping; /* may be NULL; must outlive the ctx */
} deid_opts;

void deid_opts_init(deid_opts *o) DV_NONNULL(1);

typedef struct deid_ctx deid_ctx;

/* Copies the key (locked in memory, wiped by deid_ctx_free).  DV_EINVAL when both Retain
 * Longitudinal options are set. */
dv_err deid_ctx_new(const deid_opts *o, const crypto_key *key, deid_ctx **out,
                    dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);
void deid_ctx_free(deid_ctx *ctx);

#define DEID_MAX_WHERE 16

/* What deid_file() did to one file.  Paths are tag paths like "(0040,A730)[2]/(0040,A160)". */
typedef struct deid_file_report {
    const dcm_ts *ts; /* write the file in this transfer syntax */
    uint32_t removed, zeroed, dummied, kept, cleaned, uids, dates, private_removed, private_kept;
    uint32_t spans;        /* identifier spans replaced inside cleaned text */
    uint32_t needles;      /* identifier forms searched by the residual check */
    int mapped;            /* PatientID came from the mapping CSV */
    int pixels_done;       /* deid_pixels_redact ran */
    uint32_t pixel_frames; /* frames examined, boxes filled */
    uint32_t pixel_boxes;
    int residual_ran; /* the residual check ran */
    uint32_t residual_hits;
    char where[DEID_MAX_WHERE][96]; /* first hits: "path: kind" */
    char new_sop_uid[65];
} deid_file_report;

/* De-identifies f in place.  On DV_OK f is ready to write in rep->ts.  On DV_EPERM the
 * residual check found identifiers (rep->where says where); on any error f must be discarded
 * and nothing written. */
dv_err deid_file(const deid_ctx *ctx, dcm_file *f, deid_file_report *rep, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 3);

/* ---- the residual check, on its own ------------------------------------------------------- */

/* The identifiers of one input file. */
typedef struct deid_needles deid_needles;

/* Collects the identifiers of in (top level and every nested item): PN values, IDs, birth and
 * other dates (unless ctx retains full dates), original UIDs (unless ctx retains UIDs),
 * accession numbers, institution (unless retained), addresses, phone numbers; each in its
 * common forms (exact, case-folded, '^' as space, reversed name order, the ideographic and
 * phonetic groups of a PN; dates as YYYYMMDD, YYYY-MM-DD and DD.MM.YYYY).
 * Not searched: values shorter than 4 characters (2 for CJK text) and generic values such as
 * "UNKNOWN", "ANONYMOUS" or a modality code. */
dv_err deid_needles_collect(const deid_ctx *ctx, const dcm_file *in, deid_needles **out,
                            dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);
size_t deid_needles_count(const deid_needles *nd);
void deid_needles_free(deid_needles *nd);

/* Scans every element of out at every depth (file meta, private attributes, binary values
 * except Pixel Data), and ocr (may be NULL) for the needles.  Hits are counted in
 * rep->residual_hits and the first DEID_MAX_WHERE listed in rep->where.  Returns DV_OK when
 * nothing was found, DV_EPERM naming the first path otherwise. */
dv_err deid_residual_check(const deid_needles *nd, const dcm_file *out, const char *ocr,
                           size_t ocr_len, deid_file_report *rep, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 5);

/* ---- report ----------------------------------------------------------------------------- */

/* Appends one JSON object for a file: {"input": label, "status": "ok"|"failed", "error": msg,
 * "output": name, "actions": {...}, "pixels": {...}, "residual": {...}}.  label and out_name
 * may be NULL.  err_msg is NULL on success. */
dv_err deid_report_json(const deid_file_report *rep, const char *label, const char *out_name,
                        const char *err_msg, dv_buf *out) DV_WUR DV_NONNULL(1, 5);

#endif
