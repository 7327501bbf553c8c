/* SPDX-License-Identifier: Apache-2.0 */
/* pixels_int.h - internal interfaces between the pixel redaction files (pixels.c: entry points
 * and the frame loop; pixels_ocr.c: Tesseract and the text finder; pixels_fill.c: filling boxes
 * in stored or decoded pixel data; pixels_rle.c: the RLE Lossless encoder).  Not installed.
 */
#ifndef DV_DEID_PIXELS_INT_H
#define DV_DEID_PIXELS_INT_H

#include "common/buf.h"
#include "common/dv.h"
#include "deid/pixels.h"
#include "dicom/dicom.h"
#include "dicom/pixel.h"

#define PX_MAX_BOXES 65536u /* boxes per object */

/* A growable list of boxes (v malloc'd; n <= cap <= PX_MAX_BOXES). */
typedef struct px_boxes {
    deid_box *v;
    uint32_t n, cap;
} px_boxes;

/* Appends a box clipped to rows x cols; an empty box after clipping is dropped. */
dv_err px_boxes_add(px_boxes *b, uint32_t frame, int64_t x0, int64_t y0, int64_t x1, int64_t y1,
                    uint32_t rows, uint32_t cols, deid_box_source src, dv_errinfo *ei) DV_WUR;

/* ---- pixels_grow.c: what OCR is shown, and growing word boxes over the glyphs --------- */

/* One frame as values: stored values (grayscale, masked and sign-extended) or luminance
 * 0..255 (colour); win is the display window render (8-bit gray) or NULL. */
typedef struct px_plane {
    uint32_t w, h;
    int32_t *v;
    int32_t min, max;
    int32_t hi, lo;     /* values >= hi / <= lo are "extreme" (adaptive, see pixels_grow.c) */
    int hi_sat, lo_sat; /* the extreme class is mostly the extreme value itself */
    uint8_t *win;
} px_plane;

/* Stored value of sample i of a decoded grayscale frame (masked to BitsStored, shifted by
 * HighBit, sign-extended when PixelRepresentation is 1). */
int32_t px_stored_value(const dcm_frame *fr, size_t i);

#define PX_NDISPLAYS 4 /* bright mask, dark mask, window, inverted window */

dv_err px_plane_make(const dcm_ds *ds, uint32_t frame, dcm_frame *fr, px_plane *pl,
                     dv_errinfo *ei) DV_WUR;
void px_plane_release(px_plane *pl);
/* Writes display k (0..PX_NDISPLAYS-1) of pl, dark ink on white, into out (w*h bytes).
 * Returns 0 when that display does not exist for pl (nothing written). */
int px_display(const px_plane *pl, int k, uint8_t *out);
int px_display_is_mask(int k);
/* Grows every word box of words over the extreme-value components along its line, adds a
 * margin and appends the result to out as boxes of frame `frame`. */
dv_err px_grow_boxes(const px_plane *pl, const px_boxes *words, uint32_t frame, px_boxes *out,
                     dv_errinfo *ei) DV_WUR;

/* Finds text in the decoded frame fr (frame number `frame` of the object whose dataset is
 * ds) with Tesseract: boxes are appended to boxes (when not NULL), recognised lines to text
 * (when not NULL).  tessdata NULL: Tesseract's default. */
dv_err px_ocr_frame(const dcm_ds *ds, uint32_t frame, dcm_frame *fr, const char *tessdata,
                    px_boxes *boxes, dv_buf *text, dv_errinfo *ei) DV_WUR;

/* Fills boxes[0..n) of frame `frame` in a decoded frame buffer (layout of pixel.h; fr->pi as
 * decoded) with the frame's background value. */
void px_fill_decoded(dcm_frame *fr, const deid_box *boxes, uint32_t n, uint32_t frame);

/* Fills the boxes of frame `frame` in native stored pixel data p (len bytes, layout of pi as
 * stored: planar configuration, 1-bit packing, 4:2:2 pairs), using the decoded frame fr to
 * choose the background value.  Pixels outside the boxes are not written. */
dv_err px_fill_native(uint8_t *p, size_t len, const dcm_pixinfo *pi, const dcm_frame *fr,
                      const deid_box *boxes, uint32_t n, uint32_t frame, dv_errinfo *ei) DV_WUR;

/* Appends one RLE Lossless frame (PS3.5 Annex G: header + PackBits segments) encoding the
 * decoded frame fr (8, 16 or 32 bits per sample, 1 or 3 samples, colour-by-pixel) to out. */
dv_err px_rle_encode(const dcm_frame *fr, dv_buf *out, dv_errinfo *ei) DV_WUR;

#endif
