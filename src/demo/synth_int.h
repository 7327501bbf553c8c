/* SPDX-License-Identifier: Apache-2.0 */
/* synth_int.h - internals shared by the synthetic study generator's files (not an API).
 *
 * Images are built on a "canvas": rows*cols floats, row-major, each a display brightness in
 * 0..1 (0 black, 1 white, whatever the photometric interpretation), quantized at the end.
 */
#ifndef DV_SYNTH_INT_H
#define DV_SYNTH_INT_H

#include "demo/synth.h"

typedef struct synth_canvas {
    float *v; /* rows*cols brightness values, owned by whoever made the canvas */
    uint32_t rows, cols;
} synth_canvas;

/* ---- fonts (synth_font.c) ---- */

typedef struct synth_fonts synth_fonts;

/* Opens both fonts (NULL paths: the defaults).  DV_ENOTFOUND names a missing file. */
dv_err synth_fonts_open(const char *latin, const char *cjk, synth_fonts **out, dv_errinfo *ei);
void synth_fonts_close(synth_fonts *fo);

/* Draws utf8 as t describes (t->kind, t->utf8 are not looked at) and fills box (w, h, x, y). */
dv_err synth_draw_text(synth_fonts *fo, synth_canvas *c, const synth_text *t, const char *utf8,
                       synth_box *box, dv_errinfo *ei);

/* ---- dataset helpers (synth_ds.c) ---- */

/* A string element to set: tag, VR, value (NULL: empty, for type 2 attributes). */
typedef struct synth_attr {
    uint32_t tag;
    dcm_vr vr;
    const char *val;
} synth_attr;

dv_err synth_set_attrs(dcm_file *f, const synth_attr *a, size_t n, dv_errinfo *ei);
dv_err synth_set_str(dcm_file *f, uint32_t tag, dcm_vr vr, const char *s, dv_errinfo *ei);
dv_err synth_set_us(dcm_file *f, uint32_t tag, uint16_t v, dv_errinfo *ei);
/* Patient, general study, general equipment modules and SpecificCharacterSet. */
dv_err synth_set_common(dcm_file *f, const synth_study *st, dv_errinfo *ei);
/* Image pixel module for one-sample 16-bit allocated data, and Pixel Data (copied). */
dv_err synth_set_pixels(dcm_file *f, uint32_t rows, uint32_t cols, uint32_t bits_stored,
                        int is_signed, const char *photometric, const uint16_t *pix,
                        dv_errinfo *ei);

/* Mixes two 64-bit words into one (splitmix64 finalizer of a ^ rotated b). */
uint64_t synth_mix(uint64_t a, uint64_t b);
/* FNV-1a of a string, for stream and UID labels. */
uint64_t synth_hash_str(const char *s);

/* smoothstep-like edge: 1 inside (d < -w), 0 outside (d > w), smooth in between. */
static inline float synth_edge(float d, float w)
{
    float t;

    if (d <= -w)
        return 1.0f;
    if (d >= w)
        return 0.0f;
    t = (w - d) / (2.0f * w);
    return t * t * (3.0f - 2.0f * t);
}

#endif
