/* SPDX-License-Identifier: Apache-2.0 */
/* pixels.h - burned-in text in pixel data: find it (rule regions from a data file keyed by
 * Manufacturer / model / image size, and Tesseract OCR in English and simplified Chinese on
 * each rendered frame), fill it in the stored pixel data, and read back what OCR still sees
 * (for the residual-PHI check).
 *
 * Part of deid/.  The de-identification engine calls deid_pixels_redact() BEFORE it changes
 * the header (the rules need Manufacturer and model), and deid_pixels_ocr_text() on the
 * result.  Nothing here prints, exits or puts recognised text into an error message.
 *
 * How text is found (OCR mode): each frame is shown to Tesseract (eng+chi_sim, sparse text)
 * as the mask of its brightest values, the mask of its darkest values and the file's display
 * window in both polarities; word boxes are grown over the extreme-value glyph components of
 * their line, and lines of saturated glyph-sized components that OCR did not read are added
 * too; every box gets a margin.  Known limit: text smaller than about 10 pixels per em on
 * frames under ~1000 pixels, drawn neither at an extreme value nor legibly for Tesseract, can
 * be missed.  Cost: about 2 s per 2048 x 2048 frame on one core.
 *
 * Threads: both functions may run in several threads at once (Tesseract handles come from a
 * mutex-protected pool, one per concurrent call).
 */
#ifndef DV_DEID_PIXELS_H
#define DV_DEID_PIXELS_H

#include "common/buf.h"
#include "common/dv.h"
#include "dicom/dicom.h"

typedef enum deid_pixels_mode {
    DEID_PIXELS_OFF = 0, /* pixels untouched */
    DEID_PIXELS_RULES,   /* rule regions only */
    DEID_PIXELS_OCR      /* rule regions and OCR */
} deid_pixels_mode;

typedef enum deid_box_source { DEID_BOX_RULE = 1, DEID_BOX_OCR = 2 } deid_box_source;

/* One filled rectangle, in stored pixel coordinates of frame `frame` (0-based). */
typedef struct deid_box {
    uint32_t frame;
    uint32_t x, y, w, h;
    deid_box_source source;
} deid_box;

typedef struct deid_pixels_opts {
    deid_pixels_mode mode;
    const char *rules_path; /* rule-region file; NULL: the project's data/deid/pixel-rules.tsv
                               as installed (DEID_RULES_PATH) */
    const char *tessdata;   /* NULL: Tesseract's default (Debian: /usr/share/tesseract-ocr/5) */
    uint32_t max_frames;    /* refuse (DV_ELIMIT) objects with more frames; 0 = 4096 */
    int allow_photographic; /* 0: refuse (DV_EPERM) photographic objects (VL Photographic
                               Image, RGB Secondary Capture): faces may be visible, and
                               filling text boxes does not remove them.  Nonzero: redact
                               their text like any other image; the caller (engine, CLI)
                               decides and must say so to the user. */
} deid_pixels_opts;

/* Default rule file when opts.rules_path is NULL (relative to the working directory unless the
 * build defines an absolute path).  A missing default file means "no rules" (OCR still runs);
 * a missing explicit rules_path is an error. */
#ifndef DEID_RULES_PATH
#define DEID_RULES_PATH "data/deid/pixel-rules.tsv"
#endif

typedef struct deid_pixels_report {
    uint32_t frames;  /* frames examined */
    uint32_t nboxes;  /* boxes filled */
    deid_box *boxes;  /* malloc'd, nboxes entries; owned by the report */
    int reencoded;    /* pixel data was decoded and written back */
    const dcm_ts *ts; /* transfer syntax the caller must write f in (may differ from f->ts
                         when the input was compressed and no lossless re-encoding exists) */
} deid_pixels_report;

void deid_pixels_opts_init(deid_pixels_opts *o) DV_NONNULL(1);

/* Finds burned-in text in every frame of f and fills each box in the stored pixel data with
 * the frame's background value (all bit depths, MONOCHROME1/2, RGB, multi-frame).  Compressed
 * input is decoded, redacted and re-encoded losslessly, or replaced by native pixel data with
 * rep->ts set to Explicit VR Little Endian.  When any box was filled, BurnedInAnnotation
 * (0028,0301) is set to "NO".  An object without pixel data is left alone (rep->frames 0).
 * On failure f is unchanged or the caller must discard it; rep is empty. */
dv_err deid_pixels_redact(dcm_file *f, const deid_pixels_opts *o, deid_pixels_report *rep,
                          dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);

/* Appends the OCR text of every frame of f (UTF-8, one recognised line per '\n'; every
 * display of every frame, so a string may appear several times) to out.  out's max bounds it
 * (DV_ELIMIT).  An object without pixel data adds nothing. */
dv_err deid_pixels_ocr_text(const dcm_file *f, const deid_pixels_opts *o, dv_buf *out,
                            dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);

void deid_pixels_report_release(deid_pixels_report *rep);

/* Frees the Tesseract handles kept for reuse (one per thread that ran OCR at the same time).
 * Call once at the end of the program, when no other thread is in this module; optional
 * (the handles are reachable until then, not leaked). */
void deid_pixels_cleanup(void);

/* ---- rule regions (data/deid/pixel-rules.tsv; the format is described in that file) ----- */

#define DEID_RULES_MAX_BYTES (1u << 20) /* whole file */
#define DEID_RULES_MAX_LINE  1024u      /* bytes per line, newline excluded */
#define DEID_RULES_MAX_RULES 4096u
#define DEID_RULES_MAX_RECTS 32u /* per rule */
#define DEID_RULES_MAX_PAT   64u /* bytes per pattern */

typedef struct deid_rect {
    uint32_t x, y, w, h;
} deid_rect;

typedef struct deid_rule {
    char manufacturer[DEID_RULES_MAX_PAT + 1]; /* glob: '*' any run, '?' one byte, ASCII case
                                                  folded; "*" also matches an absent value */
    char model[DEID_RULES_MAX_PAT + 1];
    uint32_t rows, cols; /* 0 = any ('*') */
    uint32_t nrects;
    deid_rect rects[DEID_RULES_MAX_RECTS];
} deid_rule;

typedef struct deid_rules {
    deid_rule *v; /* malloc'd */
    uint32_t n;
} deid_rules;

/* Parses rule text (len bytes, need not be NUL-terminated).  On failure DV_EMALFORMED or
 * DV_ELIMIT with a message "pixel rules line N: ..." (and ei->offset the line's byte offset),
 * and *out is empty.  On success *out owns its rules (deid_rules_release). */
dv_err deid_rules_parse(const char *text, size_t len, deid_rules *out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(3);

/* Reads and parses a rule file (DV_EIO when it cannot be read, DV_ELIMIT past the size limit). */
dv_err deid_rules_load(const char *path, deid_rules *out, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);

void deid_rules_release(deid_rules *r);

/* True when rule r applies to an image of ds with rows x cols pixels. */
int deid_rule_matches(const deid_rule *r, const dcm_ds *ds, uint32_t rows, uint32_t cols)
    DV_NONNULL(1, 2);

/* Glob match used by the rules ('*', '?', ASCII case-insensitive); exported for tests. */
int deid_glob_match(const char *pat, const char *s) DV_NONNULL(1, 2);

#endif
