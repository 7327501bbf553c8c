/* SPDX-License-Identifier: Apache-2.0 */
/* dicom.h - DICOM Part 10 / dataset model, reader and writer.
 *
 * The model: a dcm_file owns an arena; every element, item, fragment and (copied) value of
 * the file lives in it and is freed by dcm_file_free().  Values of a file read from memory
 * or a mapping may point into that input, which must outlive the dcm_file (dcm_read_file()
 * keeps its own mapping).
 *
 * Invariants:
 *  - a dcm_ds holds elements sorted by tag, with no duplicate tag;
 *  - element values are always in LITTLE-ENDIAN byte order in memory, whatever the transfer
 *    syntax of the input (big endian input is swapped on read, according to the VR);
 *  - an SQ element has items (each a dcm_ds) and no value bytes;
 *  - an encapsulated Pixel Data element (7FE0,0010 with undefined length) has frags, frags[0]
 *    being the Basic Offset Table (possibly empty), and no value bytes;
 *  - every count and length was checked against dcm_limits before anything was allocated.
 *
 * Nothing here logs or prints; errors come back as dv_err plus a dv_errinfo naming the offset,
 * the tag and the rule, never a value.
 */
#ifndef DV_DICOM_H
#define DV_DICOM_H

#include "common/arena.h"
#include "common/buf.h"
#include "common/dv.h"

/* ---- tags and VRs ---------------------------------------------------------------------- */

#define DCM_TAG(g, e)        ((uint32_t)(((uint32_t)(g) << 16) | (uint32_t)(e)))
#define DCM_GROUP(t)         ((uint16_t)((t) >> 16))
#define DCM_ELEM(t)          ((uint16_t)((t)&0xFFFF))
#define DCM_UNDEFINED_LENGTH 0xFFFFFFFFu

#define DCM_TAG_ITEM             DCM_TAG(0xFFFE, 0xE000)
#define DCM_TAG_ITEM_DELIM       DCM_TAG(0xFFFE, 0xE00D)
#define DCM_TAG_SEQ_DELIM        DCM_TAG(0xFFFE, 0xE0DD)
#define DCM_TAG_PIXEL_DATA       DCM_TAG(0x7FE0, 0x0010)
#define DCM_TAG_TRANSFER_SYNTAX  DCM_TAG(0x0002, 0x0010)
#define DCM_TAG_SPECIFIC_CHARSET DCM_TAG(0x0008, 0x0005)

/* A VR is its two ASCII letters packed big-endian-wise: DCM_VR('O','B') == 0x4F42. */
typedef uint16_t dcm_vr;
#define DCM_VR(a, b) ((dcm_vr)(((unsigned)(a) << 8) | (unsigned)(b)))
#define DCM_VR_AE    DCM_VR('A', 'E')
#define DCM_VR_AS    DCM_VR('A', 'S')
#define DCM_VR_AT    DCM_VR('A', 'T')
#define DCM_VR_CS    DCM_VR('C', 'S')
#define DCM_VR_DA    DCM_VR('D', 'A')
#define DCM_VR_DS    DCM_VR('D', 'S')
#define DCM_VR_DT    DCM_VR('D', 'T')
#define DCM_VR_FD    DCM_VR('F', 'D')
#define DCM_VR_FL    DCM_VR('F', 'L')
#define DCM_VR_IS    DCM_VR('I', 'S')
#define DCM_VR_LO    DCM_VR('L', 'O')
#define DCM_VR_LT    DCM_VR('L', 'T')
#define DCM_VR_OB    DCM_VR('O', 'B')
#define DCM_VR_OD    DCM_VR('O', 'D')
#define DCM_VR_OF    DCM_VR('O', 'F')
#define DCM_VR_OL    DCM_VR('O', 'L')
#define DCM_VR_OV    DCM_VR('O', 'V')
#define DCM_VR_OW    DCM_VR('O', 'W')
#define DCM_VR_PN    DCM_VR('P', 'N')
#define DCM_VR_SH    DCM_VR('S', 'H')
#define DCM_VR_SL    DCM_VR('S', 'L')
#define DCM_VR_SQ    DCM_VR('S', 'Q')
#define DCM_VR_SS    DCM_VR('S', 'S')
#define DCM_VR_ST    DCM_VR('S', 'T')
#define DCM_VR_SV    DCM_VR('S', 'V')
#define DCM_VR_TM    DCM_VR('T', 'M')
#define DCM_VR_UC    DCM_VR('U', 'C')
#define DCM_VR_UI    DCM_VR('U', 'I')
#define DCM_VR_UL    DCM_VR('U', 'L')
#define DCM_VR_UN    DCM_VR('U', 'N')
#define DCM_VR_UR    DCM_VR('U', 'R')
#define DCM_VR_US    DCM_VR('U', 'S')
#define DCM_VR_UT    DCM_VR('U', 'T')
#define DCM_VR_UV    DCM_VR('U', 'V')
#define DCM_VR_NONE  DCM_VR('n', 'a') /* item / delimiter pseudo-VR */

/* True for the 34 VRs of PS3.5 Table 6.2-1. */
int dcm_vr_known(dcm_vr vr);
/* True when explicit VR encoding uses 2 reserved bytes + a 32-bit length. */
int dcm_vr_long_length(dcm_vr vr);
/* Byte width of one binary value for byte swapping (2, 4 or 8), 1 for strings/OB/UN/SQ. */
unsigned dcm_vr_swap_width(dcm_vr vr);
/* True for VRs whose value is text (AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT). */
int dcm_vr_is_string(dcm_vr vr);
/* Writes the two letters and a NUL into out[3]. */
void dcm_vr_str(dcm_vr vr, char out[3]);

/* ---- data dictionary (generated from data/dicom-dictionary.tsv) -------------------------- */

typedef struct dcm_dict_entry {
    uint32_t tag;   /* with repeating-group digits as in the table, see mask */
    uint32_t mask;  /* bits that must match (0xFF00FFFF for 60xx,eeee ...) */
    dcm_vr vr;      /* first VR for "US or SS" style entries */
    dcm_vr vr2;     /* second VR or 0 */
    const char *vm; /* "1", "1-n", ... */
    const char *keyword;
    const char *name; /* may be "" */
    int retired;
} dcm_dict_entry;

/* Looks up a tag (repeating groups resolved).  NULL when unknown. Private tags: NULL. */
const dcm_dict_entry *dcm_dict_find(uint32_t tag);
/* Looks up a keyword (case-sensitive, exact).  NULL when unknown. */
const dcm_dict_entry *dcm_dict_find_keyword(const char *keyword);
/* VR for implicit-VR reading: the dictionary's, group lengths UL, private creators LO,
 * unknown UN. */
dcm_vr dcm_dict_vr(uint32_t tag);

/* ---- transfer syntaxes ----------------------------------------------------------------- */

typedef struct dcm_ts {
    const char *uid;
    const char *name; /* DCMTK-style, e.g. "Little Endian Explicit" */
    unsigned explicit_vr : 1;
    unsigned big_endian : 1;
    unsigned deflated : 1;
    unsigned encapsulated : 1; /* pixel data in fragments */
} dcm_ts;

extern const dcm_ts dcm_ts_implicit_le, dcm_ts_explicit_le, dcm_ts_explicit_be, dcm_ts_deflated_le;

/* Finds a transfer syntax by UID (value bytes, trailing NUL/space padding ignored).  Unknown
 * UIDs of encapsulated syntaxes are still found when listed; NULL otherwise. */
const dcm_ts *dcm_ts_find(const char *uid, size_t len);

/* ---- the model --------------------------------------------------------------------------- */

typedef struct dcm_elem dcm_elem;

typedef struct dcm_ds {
    dcm_elem *e;  /* sorted by tag */
    uint32_t n;   /* elements in use */
    uint32_t cap; /* allocated slots */
} dcm_ds;

typedef struct dcm_frag {
    const uint8_t *p;
    uint32_t len;
} dcm_frag;

struct dcm_elem {
    uint32_t tag;
    dcm_vr vr;
    uint8_t undef_len;  /* was encoded with undefined length (SQ or encapsulated) */
    uint8_t vr_guessed; /* implicit VR input: VR came from the dictionary */
    const uint8_t *val; /* value bytes, little endian; NULL when len == 0 */
    uint32_t len;       /* value length in bytes (never DCM_UNDEFINED_LENGTH) */
    dcm_ds *items;      /* SQ: nitems items */
    uint32_t nitems;
    dcm_frag *frags; /* encapsulated pixel data: frags[0] is the basic offset table */
    uint32_t nfrags;
    uint64_t offset; /* where the element started in the input, for messages */
};

/* Hard limits checked while reading.  dcm_limits_default() fills values fit for a server. */
typedef struct dcm_limits {
    uint32_t max_depth;    /* sequence nesting, default 32 */
    uint32_t max_elements; /* elements + items + fragments in the whole file, default 1,000,000 */
    uint64_t max_value;    /* one value, default 4 GiB - 2 */
    uint64_t max_total;    /* decoded bytes (arena + inflated data), default 8 GiB */
} dcm_limits;

void dcm_limits_default(dcm_limits *l);

/* A warning about a non-conformant but readable input; PHI-free. */
typedef struct dcm_warning {
    uint64_t offset;
    uint32_t tag;
    char msg[96];
} dcm_warning;

#define DCM_MAX_WARNINGS 64

typedef struct dcm_file {
    dv_arena arena;
    dcm_ds meta;      /* group 0002 (empty for a bare dataset) */
    dcm_ds ds;        /* the dataset */
    const dcm_ts *ts; /* transfer syntax the dataset was read in */
    int has_preamble; /* 128-byte preamble + "DICM" present */
    uint8_t preamble[128];
    dcm_warning warn[DCM_MAX_WARNINGS];
    uint32_t nwarn;       /* warnings kept (at most DCM_MAX_WARNINGS) */
    uint32_t nwarn_total; /* warnings seen */
    /* owned input: a mapping or heap copy released with the file */
    void *owned_map;
    size_t owned_map_len;
    uint8_t *owned_heap;
    const dcm_limits *limits_used; /* not owned; NULL after parse */
    uint32_t nelements;            /* elements + items + fragments counted while reading */
} dcm_file;

/* ---- reading ----------------------------------------------------------------------------- */

/* Flags for dcm_parse(). */
#define DCM_PARSE_STOP_BEFORE_PIXELS 0x1u /* do not read 7FE0,0010 and what follows */
#define DCM_PARSE_COPY_VALUES        0x2u /* copy values into the arena (input may go away) */

/* Parses a Part 10 file (preamble + meta) or, when there is no "DICM" at 128 and no meta
 * group, a bare dataset whose transfer syntax is guessed (implicit LE, explicit LE or BE).
 * buf must outlive *out unless DCM_PARSE_COPY_VALUES is given.  limits may be NULL (defaults).
 * On success *out is a new file (free with dcm_file_free); on failure *out is NULL and ei
 * says where and why. */
dv_err dcm_parse(const uint8_t *buf, size_t len, unsigned flags, const dcm_limits *limits,
                 dcm_file **out, dv_errinfo *ei) DV_WUR DV_NONNULL(5);

/* Maps path read-only and parses it; the mapping is owned by the file. */
dv_err dcm_read_file(const char *path, unsigned flags, const dcm_limits *limits, dcm_file **out,
                     dv_errinfo *ei) DV_WUR DV_NONNULL(1, 4);

/* Creates an empty file (no preamble, explicit LE) for building datasets.  */
dv_err dcm_file_new(dcm_file **out) DV_WUR DV_NONNULL(1);

void dcm_file_free(dcm_file *f);

/* ---- access ------------------------------------------------------------------------------ */

/* Binary search; NULL when absent. */
dcm_elem *dcm_ds_find(const dcm_ds *ds, uint32_t tag);

/* Inserts or replaces tag with a copy of val (little endian).  Storage comes from f's arena.
 * An existing SQ/fragment payload of that tag is dropped. */
dv_err dcm_ds_set(dcm_file *f, dcm_ds *ds, uint32_t tag, dcm_vr vr, const void *val,
                  uint32_t len) DV_WUR;
/* Sets a string value, padding to even length with a space (UI: NUL). */
dv_err dcm_ds_set_str(dcm_file *f, dcm_ds *ds, uint32_t tag, dcm_vr vr, const char *s) DV_WUR;
/* Inserts an empty element for tag (or returns the existing one) and gives its address;
 * the address is valid until the next insertion into the same ds. */
dv_err dcm_ds_insert(dcm_file *f, dcm_ds *ds, uint32_t tag, dcm_vr vr, dcm_elem **out) DV_WUR;
/* Removes tag if present. */
void dcm_ds_remove(dcm_ds *ds, uint32_t tag);
/* Appends an empty item to an SQ element and returns it (valid until the next append). */
dv_err dcm_elem_add_item(dcm_file *f, dcm_elem *sq, dcm_ds **item) DV_WUR;

/* Copies a string value (trailing spaces and NULs trimmed; leading spaces kept) into out as
 * a C string; truncates to outlen-1.  Returns the untruncated length, or -1 when absent. */
long dcm_ds_get_str(const dcm_ds *ds, uint32_t tag, char *out, size_t outlen);
/* Reads a US/SS/UL/SL/IS/DS value number idx as an integer.  DV_ENOTFOUND when absent. */
dv_err dcm_ds_get_int(const dcm_ds *ds, uint32_t tag, unsigned idx, long *out) DV_WUR;
/* Reads an FD/FL/DS/IS value number idx as a double. */
dv_err dcm_ds_get_double(const dcm_ds *ds, uint32_t tag, unsigned idx, double *out) DV_WUR;

/* Records a warning on f (kept up to DCM_MAX_WARNINGS, all counted). */
void dcm_warn(dcm_file *f, uint64_t offset, uint32_t tag, const char *fmt, ...) DV_PRINTF(4, 5);

/* ---- writing ----------------------------------------------------------------------------- */

/* Encodes ds in ts (deflated: the deflate stream of the explicit LE encoding) and appends to
 * out.  Sequences and items are written with undefined length; encapsulated pixel data keeps
 * its fragments (only allowed when ts is encapsulated or the element has frags). */
dv_err dcm_write_dataset(const dcm_ds *ds, const dcm_ts *ts, dv_buf *out, dv_errinfo *ei) DV_WUR;

/* Writes a Part 10 file: preamble (kept from f or zeros), "DICM", the meta group with its
 * group length recomputed and TransferSyntaxUID set to ts->uid (MediaStorageSOPClass/Instance
 * filled from the dataset when missing, Implementation Class UID/Version Name set to dcmvault's),
 * then the dataset in ts.  Refuses to change an encapsulated file to a native syntax or the
 * other way (DV_EUNSUPPORTED): decode pixels first. */
dv_err dcm_write_part10(dcm_file *f, const dcm_ts *ts, dv_buf *out, dv_errinfo *ei) DV_WUR;

/* Writes buf to path atomically (temp file in the same folder, fsync, rename, fsync dir). */
dv_err dcm_write_file_atomic(const char *path, const uint8_t *p, size_t len, dv_errinfo *ei) DV_WUR;
/* The same without the two fsyncs (DCM_WRITE_NO_SYNC): still all or nothing under its name,
 * but durable only after dcm_sync_folder() of its folder.  For batches of many files. */
#define DCM_WRITE_NO_SYNC 0x1u
dv_err dcm_write_file_atomic_ex(const char *path, const uint8_t *p, size_t len, unsigned flags,
                                dv_errinfo *ei) DV_WUR;
/* Makes every file written in dir durable: syncfs of its file system, then fsync of dir. */
dv_err dcm_sync_folder(const char *dir, dv_errinfo *ei) DV_WUR;

#define DCMVAULT_IMPL_UID     "2.25.310130160293548717823370189169917863537"
#define DCMVAULT_IMPL_VERSION "DCMVAULT_010"

#endif
