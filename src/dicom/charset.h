/* SPDX-License-Identifier: Apache-2.0 */
/* charset.h - Specific Character Set (0008,0005) parsing and conversion of text values to UTF-8
 * (PS3.3 C.12.1.1.2, PS3.5 6.1 and Annexes H-K).
 *
 * Supported defined terms (each also accepted with case and '_'/'-'/' ' folded, which sets
 * dcm_charset.lenient):
 *   default repertoire: "" (value 1 empty), ISO_IR 6, ISO 2022 IR 6
 *   single-byte:        ISO_IR / ISO 2022 IR  100 101 109 110 144 127 126 138 148 203 13 166
 *   multi-byte, no code extensions:  ISO_IR 192 (UTF-8), GB18030, GBK
 *   multi-byte with code extensions: ISO 2022 IR 87, IR 159, IR 149, IR 58
 *
 * Conversion model: single-byte and ISO 2022 sets are decoded by one ISO 2022 state machine
 * (G0 invoked in GL 0x21-0x7E, G1 in GR 0xA0-0xFF).  Value 1 (or the default repertoire)
 * gives the initial G0/G1; escape sequences from PS3.3 Tables C.12-3/C.12-4 re-designate
 * them in the middle of a value; the initial sets are restored at every delimiter of
 * PS3.5 6.1.2.5.3: any control character other than ESC (CR, LF, FF, TAB ...), the value
 * separator 05/12 for the multi-valued VRs (PN SH LO UC), and '^' '=' for PN.  While G0 is a
 * two-byte set (JIS X 0208/0212), GL bytes are read in pairs, so a 0x5C or 0x5E inside a
 * kanji is not taken for a delimiter.  ISO_IR 192, GB18030 and GBK values are converted as a
 * whole (no escapes): their delimiters can only be ASCII bytes in the output.
 *
 * Output guarantees: always valid UTF-8 (no surrogates, nothing above U+10FFFF) and the
 * delimiters '\\' '^' '=' appear in the output only where the input had that delimiter, so
 * callers split values after conversion.  05/12 in JIS X 0201 Roman is emitted as '\\' for
 * the multi-valued VRs (it is the value separator, PS3.18 F.2.4) and as U+00A5 YEN SIGN in
 * ST/LT/UT; 07/14 there is U+203E OVERLINE.
 *
 * Policy for bad input (a reader must still get readable text; nothing is ever dropped
 * silently; each case sets a flag):
 *   - invalid or truncated multi-byte characters, bytes not in the active set, C1 bytes
 *     0x80-0x9F, malformed UTF-8: replaced by U+FFFD, DCM_CS_REPLACED;
 *   - bytes 0xA0-0xFF while no G1 set is designated (e.g. non-ASCII text without a Specific
 *     Character Set): read as ISO 8859-1, the most common undeclared repertoire,
 *     DCM_CS_GUESSED;
 *   - an escape sequence that is known but not declared in (0008,0005): obeyed,
 *     DCM_CS_UNDECLARED; unknown or cut escape sequence: skipped and replaced by one U+FFFD,
 *     DCM_CS_REPLACED | DCM_CS_BAD_ESCAPE.
 * Errors are only: DV_ELIMIT (out->max reached), DV_ENOMEM, DV_EUNSUPPORTED (iconv lacks a
 * converter this build needs), DV_EINVAL (bad arguments).  Messages never contain a value.
 *
 * The functions are reentrant: no global state; iconv descriptors are opened per call.
 */
#ifndef DV_DICOM_CHARSET_H
#define DV_DICOM_CHARSET_H

#include "common/buf.h"
#include "common/dv.h"
#include "dicom/dicom.h"

/* One value of Specific Character Set. */
typedef enum dcm_cs_term {
    DCM_CS_UNKNOWN = 0, /* a term this build does not know: ignored by conversion */
    DCM_CS_IR6,         /* default repertoire (also value 1 empty) */
    DCM_CS_IR100,       /* ISO 8859-1 Latin-1 */
    DCM_CS_IR101,       /* ISO 8859-2 Latin-2 */
    DCM_CS_IR109,       /* ISO 8859-3 Latin-3 */
    DCM_CS_IR110,       /* ISO 8859-4 Latin-4 */
    DCM_CS_IR144,       /* ISO 8859-5 Cyrillic */
    DCM_CS_IR127,       /* ISO 8859-6 Arabic */
    DCM_CS_IR126,       /* ISO 8859-7 Greek */
    DCM_CS_IR138,       /* ISO 8859-8 Hebrew */
    DCM_CS_IR148,       /* ISO 8859-9 Latin-5 */
    DCM_CS_IR203,       /* ISO 8859-15 Latin-9 */
    DCM_CS_IR13,        /* JIS X 0201: Katakana G1, Roman G0 */
    DCM_CS_IR166,       /* TIS 620 Thai */
    DCM_CS_IR192,       /* UTF-8 */
    DCM_CS_GB18030,
    DCM_CS_GBK,
    DCM_CS_IR87,  /* JIS X 0208 (G0, two bytes) */
    DCM_CS_IR159, /* JIS X 0212 (G0, two bytes) */
    DCM_CS_IR149, /* KS X 1001 (G1, two bytes) */
    DCM_CS_IR58,  /* GB 2312 (G1, two bytes) */
    DCM_CS_TERM_COUNT
} dcm_cs_term;

#define DCM_CHARSET_MAX 8 /* values of (0008,0005) kept */

/* The parsed attribute.  A zeroed struct is the default repertoire.
 * Invariants: n <= DCM_CHARSET_MAX; term[i] for i < n; term[0] is DCM_CS_IR6 when value 1 is
 * empty; iso2022 is 1 when any term was spelled "ISO 2022 ..." or n > 1. */
typedef struct dcm_charset {
    uint8_t n;
    uint8_t iso2022;
    uint8_t lenient; /* a term matched only after folding case and separators */
    uint8_t term[DCM_CHARSET_MAX];
} dcm_charset;

/* Flags reported by the conversion (ORed into *flags). */
#define DCM_CS_REPLACED   0x1u /* some bytes became U+FFFD */
#define DCM_CS_GUESSED    0x2u /* bytes outside the declared repertoire were read as Latin-1 */
#define DCM_CS_UNDECLARED 0x4u /* an escape to a set absent from (0008,0005) was obeyed */
#define DCM_CS_BAD_ESCAPE 0x8u /* an unknown or truncated escape sequence was skipped */

/* Sets cs to the default repertoire. */
void dcm_charset_default(dcm_charset *cs) DV_NONNULL(1);

/* Parses the raw value bytes of (0008,0005): values separated by '\\', leading and trailing
 * spaces (and NUL padding) ignored, value 1 may be empty.  Always fills *cs with what it
 * understood (unknown terms are DCM_CS_UNKNOWN, values past DCM_CHARSET_MAX are dropped).
 * Returns DV_OK, or DV_ECHARSET naming the 1-based index of the first unknown term (or the
 * excess count); the filled *cs is usable either way.  val may be NULL when len is 0. */
dv_err dcm_charset_parse_value(const uint8_t *val, size_t len, dcm_charset *cs,
                               dv_errinfo *ei) DV_WUR DV_NONNULL(3);

/* Parses (0008,0005) of ds (default repertoire when absent); as dcm_charset_parse_value. */
dv_err dcm_charset_parse(const dcm_ds *ds, dcm_charset *cs, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);

/* True for the VRs whose values Specific Character Set affects: PN SH LO ST LT UC UT. */
int dcm_charset_affects(dcm_vr vr);

/* Appends the UTF-8 form of the whole value (all its values, delimiters kept, padding kept)
 * to out.  For VRs not affected by the character set the default repertoire is used.  On
 * error out may hold a partial conversion (its length before the call is not restored). */
dv_err dcm_charset_to_utf8(const dcm_charset *cs, dcm_vr vr, const uint8_t *val, size_t len,
                           dv_buf *out, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 5);

/* As dcm_charset_to_utf8, and ORs DCM_CS_* flags into *flags when flags is not NULL. */
dv_err dcm_charset_to_utf8_flags(const dcm_charset *cs, dcm_vr vr, const uint8_t *val, size_t len,
                                 dv_buf *out, unsigned *flags, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 5);

/* Length of the longest valid UTF-8 prefix of p[0..n) (n when all valid).  Exported for
 * tests and for the JSON writer's final check. */
size_t dcm_utf8_valid_prefix(const uint8_t *p, size_t n);

#endif
