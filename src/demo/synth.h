/* SPDX-License-Identifier: Apache-2.0 */
/* synth.h - deterministic synthetic DICOM studies for the demo and for tests.
 *
 * One fictional patient and study (synth_study) holds:
 *  - a chest-radiograph-like projection image (synth_xr_make: CR Image Storage, or DX For
 *    Presentation), 16-bit allocated, 12 or 14 bits stored, MONOCHROME2 or MONOCHROME1, with
 *    text burned into the pixels (the patient's name in Latin and in Chinese, the patient ID, a
 *    date) at configurable positions, sizes and polarities; the ink box of every string drawn
 *    comes back so that tests can check redaction against it;
 *  - a small CT series (synth_ct_make: CT Image Storage), signed 16-bit with RescaleIntercept
 *    -1024, a HU phantom (air, fat, soft tissue, lungs, heart, aorta, spine, ribs).
 * Every object is a complete dataset of its IOD (dciodvfy reports no errors), SpecificCharacter
 * Set "ISO_IR 192", PatientName with a Latin and an ideographic group ("WANG^XIAOMING=王^小明").
 *
 * Determinism: everything, pixels and UIDs included, is a function of the seed and the options
 * (own splitmix64 generator, no clock, no rand()), so the same seed gives byte-identical files
 * with the same FreeType and fonts.  UIDs are 2.25.<decimal> values derived from the seed.
 *
 * The names come from the Chinese placeholder names (Zhang San, Li Si, Wang Wu ... the Chinese
 * "John Doe"), IDs start with "SYN": the data is fictional by construction.
 *
 * Text is rendered with FreeType from the Debian font files below (packages fonts-dejavu-core
 * and fonts-wqy-microhei); a missing font file gives DV_ENOTFOUND naming the path.
 * Nothing here prints, logs or exits.
 */
#ifndef DV_SYNTH_H
#define DV_SYNTH_H

#include "common/dv.h"
#include "dicom/dicom.h"

#define SYNTH_FONT_LATIN_PATH "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define SYNTH_FONT_CJK_PATH   "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

#define SYNTH_CR_SOP_CLASS "1.2.840.10008.5.1.4.1.1.1"
#define SYNTH_DX_SOP_CLASS "1.2.840.10008.5.1.4.1.1.1.1" /* DX For Presentation */
#define SYNTH_CT_SOP_CLASS "1.2.840.10008.5.1.4.1.1.2"

/* ---- pseudo-random numbers ---------------------------------------------------------------- */

/* splitmix64 (Steele, Lea, Flood 2014): one 64-bit state, full period, good enough for noise
 * and choices; not for anything secret.  A zeroed synth_rng is valid. */
typedef struct synth_rng {
    uint64_t state;
} synth_rng;

/* Starts the stream number `stream` of seed: different streams are independent sequences. */
void synth_rng_init(synth_rng *r, uint64_t seed, uint64_t stream) DV_NONNULL(1);
uint64_t synth_rng_next(synth_rng *r) DV_NONNULL(1);
/* Uniform in [0, n); n == 0 gives 0. */
uint32_t synth_rng_below(synth_rng *r, uint32_t n) DV_NONNULL(1);
/* Uniform in [0, 1), 53 random bits. */
double synth_rng_unit(synth_rng *r) DV_NONNULL(1);
/* Standard normal (mean 0, sigma 1), Box-Muller. */
double synth_rng_normal(synth_rng *r) DV_NONNULL(1);

/* Writes "2.25.<decimal>" (at most 44 characters + NUL) derived from (seed, purpose, index)
 * into out: the same triple always gives the same UID, different triples different UIDs (with
 * the probability of a 128-bit collision).  purpose is any short label, e.g. "study". */
void synth_uid(uint64_t seed, const char *purpose, uint32_t index, char out[65]) DV_NONNULL(2, 4);

/* ---- the fictional patient and study ------------------------------------------------------ */

/* All strings are NUL-terminated; the pointers point to static storage. */
typedef struct synth_study {
    uint64_t seed;
    const char *family;     /* Latin, upper case: "WANG" */
    const char *given;      /* "XIAOMING" */
    const char *family_cjk; /* UTF-8: "王" */
    const char *given_cjk;  /* UTF-8: "小明" */
    char patient_name[80];  /* PN value: "WANG^XIAOMING=王^小明" (UTF-8) */
    char patient_id[17];    /* "SYN" + 7 digits */
    char birth_date[9];     /* YYYYMMDD */
    char sex[2];            /* "M" or "F" */
    char study_uid[65];
    char study_date[9]; /* YYYYMMDD, 2019-2024 */
    char study_time[7]; /* HHMMSS */
    char accession[17];
    char study_id[17];
    char referring[80]; /* PN of a fictional referring physician (another placeholder name) */
} synth_study;

/* Fills st from seed (patient picked from the built-in list, dates, IDs, study UID). */
void synth_study_init(synth_study *st, uint64_t seed) DV_NONNULL(1);

/* ---- text burned into the radiograph ------------------------------------------------------ */

typedef enum synth_text_kind {
    SYNTH_TEXT_FREE = 0,   /* synth_text.utf8, as given */
    SYNTH_TEXT_NAME_LATIN, /* "WANG XIAOMING" */
    SYNTH_TEXT_NAME_CJK,   /* "王小明" */
    SYNTH_TEXT_PATIENT_ID, /* "SYN1234567" */
    SYNTH_TEXT_BIRTH_DATE, /* "1972-03-14" */
    SYNTH_TEXT_STUDY_DATE  /* "2023-04-05" */
} synth_text_kind;

typedef enum synth_font {
    SYNTH_FONT_AUTO = 0, /* CJK font for SYNTH_TEXT_NAME_CJK, Latin font otherwise */
    SYNTH_FONT_LATIN,
    SYNTH_FONT_CJK
} synth_font;

/* One string to burn in.  Glyphs missing from the chosen font are taken from the other one. */
typedef struct synth_text {
    synth_text_kind kind;
    const char *utf8; /* SYNTH_TEXT_FREE only: not copied, must live during the call */
    double x, y;      /* top-left corner of the box as fractions of columns/rows, 0..1; a box
                         that would cross the right or bottom border is moved inside */
    uint32_t px;      /* font size in pixels (em), 1..2048; 0 = rows / 40, at least 10 */
    int dark;         /* 0: text displays white (brightest); 1: text displays black */
    int backing;      /* nonzero: a filled box of the opposite polarity behind the text */
    synth_font font;
} synth_text;

/* Where a string was drawn: every pixel the text (and its backing) changed lies inside
 * [x, x+w) x [y, y+h), and the box lies inside the image. */
typedef struct synth_box {
    uint32_t x, y, w, h;
    synth_text_kind kind;
    char text[96]; /* the string drawn (UTF-8, cut at a character boundary if longer) */
} synth_box;

#define SYNTH_MAX_TEXTS 16

/* ---- the radiograph ----------------------------------------------------------------------- */

typedef enum synth_xr_modality {
    SYNTH_XR_CR = 0, /* CR Image Storage */
    SYNTH_XR_DX      /* Digital X-Ray Image Storage - For Presentation */
} synth_xr_modality;

typedef struct synth_xr_opts {
    synth_xr_modality modality;
    uint32_t rows, cols;   /* 64..8192 each, default 2048 x 2048 */
    uint32_t bits_stored;  /* 12 (default) or 14; BitsAllocated is always 16 */
    int monochrome1;       /* nonzero: MONOCHROME1 (stored values inverted); default 0 */
    double noise;          /* noise sigma as a fraction of full scale, 0..0.2, default 0.008 */
    uint32_t instance;     /* InstanceNumber and UID index, >= 1, default 1 */
    const char *latin_ttf; /* font paths; NULL means SYNTH_FONT_LATIN_PATH / _CJK_PATH */
    const char *cjk_ttf;
    uint32_t ntexts; /* 0: no text at all */
    synth_text texts[SYNTH_MAX_TEXTS];
} synth_xr_opts;

/* Defaults: CR, 2048 x 2048, 12 bits, MONOCHROME2, and four strings: the Latin name and the
 * Chinese name top left (white), the patient ID top right (white), the study date bottom left
 * (black, on the bright abdomen). */
void synth_xr_opts_init(synth_xr_opts *o) DV_NONNULL(1);

/* Gives every text of o a position, size (rows/80 .. rows/20), polarity and backing drawn
 * from seed; texts get separate horizontal bands so their boxes do not overlap. */
void synth_xr_opts_vary_texts(synth_xr_opts *o, uint64_t seed) DV_NONNULL(1);

typedef struct synth_xr {
    dcm_file *file; /* the complete dataset, owned; freed by synth_xr_release() */
    uint32_t nboxes;
    synth_box boxes[SYNTH_MAX_TEXTS]; /* boxes[i] belongs to o->texts[i] */
} synth_xr;

/* Makes the radiograph of st with options o (NULL: defaults).  On success out->file is a new
 * dataset (meta group empty: dcm_write_part10 fills it); on failure *out is empty and ei says
 * why: DV_EINVAL for an option out of range or a text larger than the image, DV_ENOTFOUND for
 * a missing font file (the message names the path), DV_EUNSUPPORTED when FreeType cannot use
 * a font, DV_ENOMEM. */
dv_err synth_xr_make(const synth_study *st, const synth_xr_opts *o, synth_xr *out,
                     dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3);

/* Frees out->file and leaves *x empty.  x may be NULL. */
void synth_xr_release(synth_xr *x);

/* ---- the CT series ------------------------------------------------------------------------ */

typedef struct synth_ct_opts {
    uint32_t slices;  /* 1..1000, default 10 */
    uint32_t rows;    /* 16..1024, default 256 */
    uint32_t cols;    /* 16..1024, default 256 */
    double spacing;   /* pixel spacing in mm, default 1.5625 (400 mm over 256 columns) */
    double thickness; /* slice thickness and spacing in mm, default 5 */
    double noise_hu;  /* noise sigma in HU, 0..200, default 10 */
    uint32_t series;  /* SeriesNumber and UID index, >= 1, default 2 */
} synth_ct_opts;

void synth_ct_opts_init(synth_ct_opts *o) DV_NONNULL(1);

/* Makes slice number `slice` (0-based, < o->slices) of the CT series of st (o NULL: defaults).
 * Slices go from head to feet; ImagePositionPatient z and SliceLocation decrease by
 * o->thickness per slice.  On success *out is a new dataset (free with dcm_file_free); on
 * failure *out is NULL: DV_EINVAL for a bad option or slice, DV_ENOMEM. */
dv_err synth_ct_make(const synth_study *st, const synth_ct_opts *o, uint32_t slice, dcm_file **out,
                     dv_errinfo *ei) DV_WUR DV_NONNULL(1, 4);

/* ---- files -------------------------------------------------------------------------------- */

/* Writes f as a Part 10 file in explicit VR little endian to path, atomically, mode 0600. */
dv_err synth_write(dcm_file *f, const char *path, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);

/* Called for every file synth_write_study() wrote: path is the file written, f its dataset,
 * xr the radiograph (with its boxes) or NULL for a CT slice.  A nonzero return stops the
 * study and is returned. */
typedef dv_err (*synth_file_cb)(void *ctx, const char *path, const dcm_file *f, const synth_xr *xr);

/* Writes the radiograph (dir/cr_0001.dcm or dir/dx_0001.dcm) and the CT series
 * (dir/ct_0001.dcm ...) of st into the existing folder dir.  xo and co may be NULL (defaults);
 * cb may be NULL.  Stops at the first failure (files already written stay). */
dv_err synth_write_study(const char *dir, const synth_study *st, const synth_xr_opts *xo,
                         const synth_ct_opts *co, synth_file_cb cb, void *ctx,
                         dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);

#endif
