/* SPDX-License-Identifier: Apache-2.0 */
/* json.h - the DICOM JSON Model (PS3.18 Annex F.2) of one dataset.
 *
 * dcm_json_write() appends ONE JSON object: members keyed by the 8-digit upper-case hex tag,
 * in ascending order, each {"vr": "XX", ...} with, per F.2.2-F.2.7:
 *   - "Value": [...] for text, numbers, AT, PN and SQ;
 *       AE AS CS DA DT LO LT SH ST TM UC UI UR UT -> strings (UTF-8 via the dataset's
 *           Specific Character Set, see charset.h; multi-valued VRs split at 05/12; padding
 *           trimmed: leading and trailing spaces, except only trailing for LT ST UT UR; an
 *           empty value inside a multi-valued element is null);
 *       DS IS -> JSON numbers: the original digits are kept and only rewritten where JSON
 *           forbids them (leading '+', leading zeros, ".5", "5."); a value that is not a
 *           decimal number at all is written as a JSON string (F.2.3 permits strings);
 *       US SS UL SL -> numbers; SV UV -> numbers when |v| < 2^53, else decimal strings
 *           (F.2.3 note: avoids losing precision);
 *       FL FD -> the shortest decimal that reads back to the same binary value; NaN and
 *           infinities, which JSON cannot express, become the strings "NaN", "Infinity",
 *           "-Infinity";
 *       AT -> "GGGGEEEE" strings;
 *       PN -> objects with the non-empty groups "Alphabetic", "Ideographic", "Phonetic";
 *           trailing empty components ('^' at a group's end) are dropped (PS3.5 6.2.1.1
 *           says they carry nothing); a value made only of delimiters is empty (null, or
 *           no "Value" at all when it is the only value);
 *       SQ -> array of item objects (an empty item is {}); items use their own (0008,0005)
 *           when they have one, else the enclosing one;
 *   - "InlineBinary": base64 of the little-endian value for OB OD OF OL OV OW UN (and any VR
 *     this build does not know, written as "UN"), or "BulkDataURI" when opts->bulk_uri is set
 *     and the value has at least opts->bulk_min bytes;
 *   - nothing but "vr" for an empty value (zero length, or only padding) and an empty
 *     sequence.
 * Encapsulated pixel data (fragments) gets a "BulkDataURI" when bulk_uri is set, else with
 * DCM_JSON_ENCAP_INLINE an "InlineBinary" of its PS3.5 item stream (items + sequence
 * delimiter; not standard), else only "vr" and the note DCM_JSON_N_OMITTED.
 * Group length elements (gggg,0000) are left out (F.2.2); the meta group only with
 * DCM_JSON_META.
 *
 * The output is always valid UTF-8 JSON (RFC 8259): strings escape '"', '\\' and every
 * control character; no NaN/Infinity literals.
 */
#ifndef DV_DICOM_JSON_H
#define DV_DICOM_JSON_H

#include "common/buf.h"
#include "common/dv.h"
#include "dicom/dicom.h"

/* Option flags. */
#define DCM_JSON_META   0x1u /* also write file meta elements (0002,xxxx) */
#define DCM_JSON_PRETTY 0x2u /* one member per line, two-space indentation */
#define DCM_JSON_STRICT                                                                      \
    0x4u                           /* unknown Specific Character Set terms and missing iconv \
                                    * converters are errors (default: read as the default    \
                                    * repertoire and report DCM_JSON_N_CHARSET) */
#define DCM_JSON_ENCAP_INLINE 0x8u /* inline encapsulated pixel data (see above) */

/* Notes: lossy or unusual spots met while writing, ORed into *opts->notes. */
#define DCM_JSON_N_CHARSET                                                                    \
    0x01u                          /* text was repaired (U+FFFD, Latin-1 guess, stray escape) \
                                    * or a charset term was unknown */
#define DCM_JSON_N_OMITTED   0x02u /* an encapsulated pixel data value was left out */
#define DCM_JSON_N_NONFINITE 0x04u /* an FL/FD NaN or infinity was written as a string */
#define DCM_JSON_N_TRUNCVAL  0x08u /* a binary number value had a partial last value (dropped) */
#define DCM_JSON_N_NUMSTR    0x10u /* a DS/IS value was not a number: written as a string */

#define DCM_JSON_MAX_DEPTH 64 /* sequence nesting written at most (deeper: DV_ELIMIT) */

/* Builds the BulkDataURI of element e (appends it to uri, without quotes; the writer escapes
 * it).  tags[0..depth) are the tags from the top level down to e (tags[depth-1] == e->tag)
 * and items[0..depth-1) the 0-based item index inside each enclosing sequence.  A non-zero
 * return aborts the write with that error. */
typedef dv_err (*dcm_json_bulk_fn)(void *ctx, const uint32_t *tags, const uint32_t *items,
                                   unsigned depth, const dcm_elem *e, dv_buf *uri);

typedef struct dcm_json_opts {
    unsigned flags;            /* DCM_JSON_* */
    uint64_t bulk_min;         /* with bulk_uri: minimum value length sent to bulk data */
    dcm_json_bulk_fn bulk_uri; /* NULL: binary values are always inline */
    void *bulk_ctx;            /* passed to bulk_uri */
    unsigned *notes;           /* when not NULL, DCM_JSON_N_* are ORed into it */
} dcm_json_opts;

/* Appends the JSON object of ds to out.  ds NULL means &f->ds; f may be NULL when ds is given
 * and DCM_JSON_META is not set.  o NULL means all defaults (compact, no meta, inline binary).
 * Errors: DV_ELIMIT when out->max is reached or sequences nest deeper than
 * DCM_JSON_MAX_DEPTH, DV_ENOMEM, DV_EINVAL (no dataset), DV_ECHARSET / DV_EUNSUPPORTED only
 * with DCM_JSON_STRICT, or the bulk_uri callback's error.  On error out may hold a partial
 * object. */
dv_err dcm_json_write(const dcm_file *f, const dcm_ds *ds, const dcm_json_opts *o, dv_buf *out,
                      dv_errinfo *ei) DV_WUR DV_NONNULL(4);

/* Appends s[0..n) as a JSON string literal (quotes included) to out.  Bytes that are not
 * valid UTF-8 become U+FFFD. */
dv_err dcm_json_add_string(dv_buf *out, const uint8_t *s, size_t n) DV_WUR DV_NONNULL(1);

#endif
