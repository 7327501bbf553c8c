/* SPDX-License-Identifier: Apache-2.0 */
/* render.h - display rendering of one frame: stored values -> Modality LUT -> VOI LUT -> 8-bit
 * display pixels (grayscale), palette lookup or colour conversion (colour), then PNG or JPEG.
 *
 * Pipeline for MONOCHROME1/MONOCHROME2 (PS3.3 C.11, C.7.6.3.1.2):
 *  1. the stored value: bits [high_bit-bits_stored+1 .. high_bit] of each sample, sign-extended
 *     when PixelRepresentation is 1;
 *  2. Modality LUT: the Modality LUT Sequence (0028,3000) when it holds a usable LUT, otherwise
 *     RescaleSlope (0028,1053) / RescaleIntercept (0028,1052) (1 and 0 when absent);
 *  3. VOI: the window of render_opts when given, else the file's first WindowCenter/WindowWidth
 *     (0028,1050/1051) with VOILUTFunction (0028,1056: LINEAR, LINEAR_EXACT, SIGMOID), else the
 *     first VOI LUT Sequence item (0028,3010), else a linear window over the frame's min..max;
 *  4. MONOCHROME1 is inverted (0 becomes white).
 * For enhanced multi-frame objects, window and rescale are looked up first in the frame's item
 * of the Per-frame Functional Groups Sequence (5200,9230), then in the Shared Functional Groups
 * Sequence (5200,9229), then at the top level of the dataset.
 *
 * PALETTE COLOR goes through the red/green/blue palette LUTs (0028,1101-1103 descriptors,
 * 0028,1201-1203 data; 8- or 16-bit entries, 16-bit scaled to 8).  RGB passes through (wider
 * samples scaled from BitsStored to 8 bits).  YBR_FULL is converted to RGB with
 * dcm_ybr_to_rgb().  YBR_RCT/YBR_ICT are taken as RGB: the JPEG 2000 decoder has already undone
 * the component transform.  Other photometric interpretations give DV_EUNSUPPORTED.
 *
 * The encoders write only what an image needs (PNG: IHDR, IDAT, IEND; JPEG: JFIF header and
 * the scan), never text, time or other metadata.  Nothing here prints or exits; libpng and
 * libjpeg errors come back as dv_err.
 */
#ifndef DV_RENDER_H
#define DV_RENDER_H

#include "common/buf.h"
#include "common/dv.h"
#include "dicom/dicom.h"
#include "dicom/pixel.h"

/* VOI LUT function (PS3.3 C.11.2.1.3). */
typedef enum render_voi_fn {
    RENDER_VOI_AUTO = 0,     /* the file's VOILUTFunction for the file's window, LINEAR for ours */
    RENDER_VOI_LINEAR,       /* C.11.2.1.2.1, width >= 1 */
    RENDER_VOI_LINEAR_EXACT, /* C.11.2.1.3.2, width > 0 */
    RENDER_VOI_SIGMOID       /* C.11.2.1.3.1, width > 0 */
} render_voi_fn;

/* Options.  Start from render_opts_init() and set what you need. */
typedef struct render_opts {
    int has_window;     /* nonzero: use center/width below instead of the file's VOI */
    double center;      /* window center, in modality (e.g. Hounsfield) units */
    double width;       /* window width; >= 1 for LINEAR, > 0 otherwise */
    render_voi_fn voi;  /* function for the window; AUTO as described above */
    uint64_t max_bytes; /* refuse images whose pixels would take more (DV_ELIMIT) */
} render_opts;

#define RENDER_DEFAULT_MAX_BYTES ((uint64_t)1 << 30)

/* A rendered image: plain data that a caller (e.g. a watermark) may modify before encoding.
 * Invariants when pixels != NULL: width, height >= 1; channels is 1 (gray) or 3 (RGB);
 * pixels holds width*height*channels bytes, row-major from the top row, no row padding, RGB
 * interleaved.  A zeroed render_image is valid and empty. */
typedef struct render_image {
    uint32_t width;
    uint32_t height;
    uint32_t channels;
    uint8_t *pixels; /* malloc'd, owned by the image */
} render_image;

/* Defaults: no window (the file decides), VOI AUTO, max_bytes RENDER_DEFAULT_MAX_BYTES. */
void render_opts_init(render_opts *o) DV_NONNULL(1);

/* Decodes frame number frame (0-based) of f and renders it into *out.  o may be NULL
 * (defaults).  On success *out owns new pixels (render_image_release); on failure *out is
 * empty and ei names the rule and tag.  DV_ENOTFOUND when f has no pixel data, DV_EINVAL when
 * frame is past the last frame or o holds an unusable window, DV_EUNSUPPORTED for a
 * photometric interpretation this module does not render, DV_EMALFORMED for broken LUTs. */
dv_err render_frame(const dcm_file *f, uint32_t frame, const render_opts *o, render_image *out,
                    dv_errinfo *ei) DV_WUR DV_NONNULL(1, 4);

/* Renders an already decoded frame (geometry in fr->pi, samples as pixel.h describes) with the
 * LUT attributes of ds; frame is its 0-based number (for per-frame functional groups).  fr is
 * checked against its pi (length, bit depths) before any sample is read.  A YBR_FULL frame is
 * converted to RGB in place (fr->pi.photometric changes).  Errors and ownership as for
 * render_frame(). */
dv_err render_decoded(const dcm_ds *ds, uint32_t frame, dcm_frame *fr, const render_opts *o,
                      render_image *out, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3, 5);

/* Frees the pixels and leaves an empty image.  im may be NULL. */
void render_image_release(render_image *im);

/* Appends a PNG (8-bit gray or RGB, no interlace, no ancillary chunks) of im to out.  On
 * failure out is restored to its previous length: DV_EINVAL for an invalid image, DV_ELIMIT
 * when out's max is reached, DV_ENOMEM, DV_ECODEC when libpng fails. */
dv_err render_png(const render_image *im, dv_buf *out, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);

/* Appends a baseline JPEG of im with quality 1..100 (DV_EINVAL outside) to out; errors as for
 * render_png().  JPEG holds at most 65500 pixels per side (DV_EUNSUPPORTED beyond). */
dv_err render_jpeg(const render_image *im, int quality, dv_buf *out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 3);

/* One page of a print-ready PDF: a baseline JPEG (render_jpeg) of width x height pixels with
 * channels 1 or 3, and a caption (printable ASCII, at most 200 characters, may be NULL). */
typedef struct render_pdf_page {
    const uint8_t *jpeg;
    size_t len;
    uint32_t width, height, channels;
    const char *caption;
} render_pdf_page;

/* Appends a PDF 1.4 of n (1..10000) pages to out: each image scaled to fit an A4 portrait page
 * inside a half-inch margin, the caption in Helvetica under it, no document metadata.  On
 * failure out is restored: DV_EINVAL for a page that is not a JPEG or a caption that is not
 * printable ASCII, DV_ELIMIT when out's max is reached. */
dv_err render_pdf(const render_pdf_page *pages, size_t n, dv_buf *out, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 3);

#endif
