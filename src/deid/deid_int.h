/* SPDX-License-Identifier: Apache-2.0 */
/* deid_int.h - internals of the de-identification engine shared by the files of src/deid/.
 *
 * The rule table (build/gen/deid_gen.c) is generated from PS3.15 Table E.1-1: deid_ptab is
 * sorted by tag, with no duplicate; deid_ptab_wild holds the rows whose tag has wildcard
 * digits (tag & mask compare) and the private-attributes row (priv = 1).
 * A deid_needles set owns NUL-terminated, normalised copies of the input's identifiers.
 */
#ifndef DV_DEID_INT_H
#define DV_DEID_INT_H

#include "common/buf.h"
#include "crypto/crypto.h"
#include "dicom/charset.h"
#include "deid/deid.h"

/* Action codes of PS3.15 Table E.1-1a (0 = no action given: the attribute is kept). */
typedef enum deid_act {
    DEID_ACT_NONE = 0,
    DEID_ACT_D,
    DEID_ACT_Z,
    DEID_ACT_X,
    DEID_ACT_K,
    DEID_ACT_C,
    DEID_ACT_U,
    DEID_ACT_ZD,
    DEID_ACT_XZ,
    DEID_ACT_XD,
    DEID_ACT_XZD,
    DEID_ACT_XZU
} deid_act;

typedef struct deid_prow {
    uint32_t tag;
    uint32_t mask;
    uint8_t priv; /* the "gggg,eeee" private attributes row */
    uint8_t basic;
    uint8_t opt[DEID_OPT_COUNT]; /* 0, DEID_ACT_K or DEID_ACT_C per option column */
    const char *name;
} deid_prow;

typedef struct deid_safe_private {
    const char *creator;
    uint16_t group;
    uint8_t elem; /* low byte of (gggg,xxee) */
    dcm_vr vr;
} deid_safe_private;

extern const deid_prow deid_ptab[];
extern const unsigned deid_ptab_count;
extern const deid_prow deid_ptab_wild[];
extern const unsigned deid_ptab_wild_count;
extern const deid_safe_private deid_safe_privates[];
extern const unsigned deid_safe_privates_count;

/* The context: read-only after deid_ctx_new(), so deid_file() may run on many threads. */
struct deid_ctx {
    crypto_key key;
    unsigned options;
    deid_pixels_opts pixels;
    const deid_mapping *mapping; /* not owned */
};

/* ---- table.c ---------------------------------------------------------------------------- */

/* The Table E.1-1 row for a tag (exact rows first, then wildcards; odd groups match the
 * private row), or NULL when the table says nothing about it. */
const deid_prow *deid_prow_find(uint32_t tag);
/* The action for a row under the options: an option cell overrides the basic profile; when
 * several enabled options give a cell, C wins over K. */
deid_act deid_prow_action(const deid_prow *r, unsigned options);
/* True when (creator, group, element byte, vr) is on the safe-private list. */
int deid_safe_private_find(const char *creator, size_t clen, uint16_t group, uint8_t elem);

/* ---- keyed.c ---------------------------------------------------------------------------- */

/* "2.25." + decimal of the first 128 bits of HMAC-SHA256(key, "uid" | uid); out[64]. */
void deid_uid_remap(const crypto_key *k, const char *uid, size_t len, char out[64]);
/* Keyed pseudonyms: "DV" + 14 base32 characters (ID), "DV" + 10 (name); out[24]. */
void deid_pseudo_id(const crypto_key *k, const char *pid, size_t len, char out[24]);
void deid_pseudo_name(const crypto_key *k, const char *pid, size_t len, char out[24]);
/* Per-patient day offset in [-3650, -365] from HMAC(key, "date" | PatientID). */
int32_t deid_date_offset(const crypto_key *k, const char *pid, size_t len);
/* Shifts one DA value (YYYYMMDD, YYYYMM or YYYY) or the date part of one DT value by days,
 * writing the result to out (same format, NUL-terminated, out[32]).  -1 when the value is
 * not a date this function understands. */
int deid_shift_da(const char *v, size_t len, int32_t days, char out[32]);
int deid_shift_dt(const char *v, size_t len, int32_t days, char out[48]);

/* ---- needles.c: identifiers of the input and matching ------------------------------------- */

typedef enum deid_needle_kind {
    DEID_N_NAME = 0,
    DEID_N_ID,
    DEID_N_DATE,
    DEID_N_UID,
    DEID_N_TEXT, /* institution, address, phone ... */
    DEID_N_KIND_COUNT
} deid_needle_kind;

typedef struct deid_needle {
    char *s; /* normalised (see deid_norm), NUL-terminated */
    size_t len;
    uint8_t kind;
    uint8_t bounded; /* must not touch a letter/digit on either side */
    uint8_t uid;     /* UID: must not touch a digit or '.' */
} deid_needle;

struct deid_needles {
    deid_needle *v;
    size_t n, cap;
};

/* Adds one needle (raw UTF-8 text, normalised here) unless it is too short or generic. */
dv_err deid_needles_add(deid_needles *nd, const char *s, size_t n, deid_needle_kind kind) DV_WUR;
/* First needle found in normalised haystack h, or NULL; *at gets its offset. */
const deid_needle *deid_needles_match(const deid_needles *nd, const char *h, size_t n, size_t start,
                                      size_t *at);
const char *deid_needle_kind_name(deid_needle_kind k);
/* Drops every needle found in normalised text h (generic words of the input). */
void deid_needles_prune(deid_needles *nd, const char *h, size_t n);

/* ---- clean.c ---------------------------------------------------------------------------- */

/* Normalises text for matching: ASCII letters lower-cased, '^' '=' '\\' ',' '_' and control
 * characters to a space, runs of spaces collapsed, leading/trailing spaces dropped.
 * Appends to out. */
dv_err deid_norm(const uint8_t *p, size_t n, dv_buf *out) DV_WUR;

/* Cleans UTF-8 text: every occurrence of a needle (compared case-folded, with the same
 * separators as deid_norm) and every phone-like, ID-card-like or date-like number is replaced
 * by 'X' characters of the same byte length.  Writes the result to out (reset first);
 * *nspans counts the spans replaced. */
dv_err deid_clean_text(const deid_needles *nd, const uint8_t *p, size_t n, dv_buf *out,
                       uint32_t *nspans) DV_WUR;

/* ---- engine.c --------------------------------------------------------------------------- */

/* Applies the profile to f's dataset (every level) and to its meta group. */
dv_err deid_apply(const deid_ctx *ctx, dcm_file *f, const deid_needles *nd, deid_file_report *rep,
                  dv_errinfo *ei) DV_WUR;

/* ---- text.c ----------------------------------------------------------------------------- */

/* Converts every text value affected by Specific Character Set to UTF-8 at every level and
 * sets (0008,0005) to "ISO_IR 192" when any value was not plain ASCII. */
dv_err deid_to_utf8(dcm_file *f, dv_errinfo *ei) DV_WUR;
/* Appends the UTF-8 form of e's value under cs (binary VRs: the raw bytes). */
dv_err deid_elem_text(const dcm_charset *cs, const dcm_elem *e, dv_buf *out) DV_WUR;

#endif
