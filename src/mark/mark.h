/* SPDX-License-Identifier: Apache-2.0 */
/* mark.h - keyed, blind forensic watermark: a 64-bit payload (the audit event number) hidden in
 * a copy of an image, and found again without the original.
 *
 * Payload coding: 64 payload bits + a CRC-24 (OpenPGP polynomial, XORed with a keyed mask) =
 * 88 information bits, a rate-1/4 tail-biting convolutional code (K = 7, generators 117 127
 * 155 171 octal) = 352 coded bits, decoded with a soft-decision wrap-around Viterbi decoder.
 *
 * Layout: a keyed tile of MARK_TILE x MARK_TILE pixels made of MARK_CELL x MARK_CELL cells, one
 * chip (+1/-1) per cell, is repeated over the whole image from its top-left corner.  A keyed
 * quarter of the cells carries a synchronisation sequence, the rest carry the coded bits (each
 * coded bit in about two cells of every tile, with keyed signs).  Every tile carries the whole
 * payload, so any large enough part of the image does.
 *
 * Embedding adds chip * amplitude, where the amplitude follows a masking model: about the local
 * standard deviation of the displayed image (12 x 12 pixels around the cell), never more than
 * MARK_AMP8_MAX grey levels in an 8-bit image or MARK_AMP16_MAX display grey levels (through
 * the frame's window) in a stored DICOM frame, and scaled down as a whole when PSNR at native
 * depth would fall below MARK_MIN_PSNR_DB.  A flat region (no noise, no texture) is not changed.
 *
 * Detection (blind): the autocorrelation of a whitened crop finds the tile lattice (scale,
 * rotation, any affine); for each candidate geometry, the whitened image is folded modulo the
 * tile, correlated with the sync sequence (FFT) to find the offset and polarity, the cells give
 * soft values, Viterbi decodes and the CRC checks.  Every decision carries a false-positive
 * probability: hypotheses tried (geometries x 2 polarities x MARK_TILE^2 offsets) x Gaussian tail
 * of the sync peak (normalised by the correlation surface's own spread) x 2^-24 (CRC).  "found"
 * only when the CRC checks and that probability is below MARK_FP_MAX.
 *
 * The key is needed to embed, read, forge or find the mark: patterns, signs, cell order and
 * the CRC mask all come from sub-keys of it (crypto_key_derive).  Nothing here prints or exits.
 */
#ifndef DV_MARK_H
#define DV_MARK_H

#include "common/dv.h"
#include "crypto/crypto.h"
#include "dicom/dicom.h"
#include "dicom/pixel.h"
#include "render/render.h"

#define MARK_TILE        128        /* pixels, power of two */
#define MARK_CELL        4          /* pixels per cell side; MARK_TILE % MARK_CELL == 0 */
#define MARK_INFO_BITS   88         /* 64 payload + 24 CRC */
#define MARK_CODED_BITS  352        /* MARK_INFO_BITS * 4 */
#define MARK_MAX_PIXELS  100000000u /* images above this are refused (DV_ELIMIT) */
#define MARK_MIN_SIDE    32         /* smaller images are refused by detection (nothing found) */
#define MARK_FP_MAX      1e-9
#define MARK_AMP8_MAX    1.0  /* grey levels, 8-bit display images */
#define MARK_AMP16_MAX   1.5  /* display grey levels, stored frames */
#define MARK_MIN_PSNR_DB 48.2 /* target; the tests require >= 48 */

/* ---- payload coding ----------------------------------------------------------------------- */

/* CRC-24 (OpenPGP: init 0xB704CE, polynomial 0x864CFB) of n bytes. */
uint32_t mark_crc24(const uint8_t *p, size_t n);

/* Codes payload (CRC XOR crc_mask appended, 24 bits) into MARK_CODED_BITS bits (0/1). */
void mark_code_encode(uint64_t payload, uint32_t crc_mask, uint8_t coded[MARK_CODED_BITS])
    DV_NONNULL(3);

/* Soft-decision decoding.  soft[i] > 0 says coded bit i is more likely 1, < 0 more likely 0,
 * 0 is an erasure; any scale.  Writes the decoded payload and the number of hard decisions
 * (of non-erased soft values) that disagree with the re-encoded codeword.  Returns 1 when the
 * CRC checks, 0 otherwise (*payload is then still the most likely payload). */
int mark_code_decode(const float soft[MARK_CODED_BITS], uint32_t crc_mask, uint64_t *payload,
                     uint32_t *bit_errors) DV_NONNULL(1, 3, 4);

/* ---- embedding ---------------------------------------------------------------------------- */

/* What an embedding changed (all measured on the image itself). */
typedef struct mark_stats {
    double psnr_db;         /* at native depth (peak 255, or 2^BitsStored - 1); INFINITY if none */
    uint32_t max_change;    /* largest |change| of a sample, native units */
    uint32_t max_display;   /* largest change of the 8-bit display value (linear window) */
    double marked_fraction; /* share of pixels changed */
} mark_stats;

/* Marks an 8-bit gray or RGB render in place (RGB: the same change on R, G and B, so the
 * luminance changes by it and the hue does not).  st may be NULL.  DV_EINVAL for an invalid
 * image, DV_ELIMIT above MARK_MAX_PIXELS, DV_ENOMEM, DV_ECRYPTO when a sub-key fails. */
dv_err mark_embed_gray8(const crypto_key *key, uint64_t payload, render_image *im, mark_stats *st,
                        dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3);

/* Display mapping of a stored frame: value v displays as (v * slope + intercept - (center -
 * width / 2)) / width * 255 (clipped to 0..255). */
typedef struct mark_window {
    double slope, intercept; /* Modality rescale */
    double center, width;    /* VOI window in modality units, width > 0 */
} mark_window;

/* Fills w from ds: RescaleSlope/Intercept (1, 0 when absent), the first WindowCenter/Width,
 * else the min..max of the frame's stored values (monochrome 8, 16 or 32 bits). */
void mark_window_of(const dcm_ds *ds, const dcm_frame *fr, mark_window *w) DV_NONNULL(1, 2, 3);

/* Marks a decoded frame in place in its stored bit depth: values stay within BitsStored (and
 * its sign); HighBit must be BitsStored - 1.
 *  - MONOCHROME1/2, 1 sample, 8, 16 or 32 bits allocated, unsigned or signed (not signed 8):
 *    displayed through w; w may be NULL (mark_window_of(ds...) is not called: a min..max window
 *    is used).  PSNR peak 2^BitsStored - 1.
 *  - RGB, 3 samples (interleaved, as decoded), 16 or 32 bits allocated, unsigned: the same
 *    change on R, G and B (the luminance moves, the hue does not), each sample displayed
 *    scaled from BitsStored to 8 bits as renderers show colour (w is not used).
 * Errors as for mark_embed_gray8, DV_EUNSUPPORTED for other layouts (8-bit RGB: use
 * mark_embed_gray8 on it). */
dv_err mark_embed_frame(const crypto_key *key, uint64_t payload, dcm_frame *fr,
                        const mark_window *w, mark_stats *st, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 3);

/* Marks w x h IEEE floats (Float / Double Float Pixel Data: bytes 4 or 8 per value, little
 * endian, px holds w * h * bytes bytes) in place, displayed through mw (NULL: the min..max of
 * the finite values); non-finite values are left alone.  PSNR peak: the values' range.  Errors
 * as for mark_embed_gray8. */
dv_err mark_embed_float(const crypto_key *key, uint64_t payload, uint8_t *px, uint32_t w,
                        uint32_t h, unsigned bytes, const mark_window *mw, mark_stats *st,
                        dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3);

/* ---- detection ---------------------------------------------------------------------------- */

typedef struct mark_result {
    int found;             /* CRC checked and fp_probability < MARK_FP_MAX */
    uint64_t payload;      /* valid when found */
    double fp_probability; /* of the best hypothesis (1 when nothing was tried) */
    double sync_z;         /* normalised sync peak of the best hypothesis */
    uint32_t bit_errors;   /* coded bits (of MARK_CODED_BITS) that disagreed */
    uint32_t hypotheses;   /* sync hypotheses counted in fp_probability */
    double scale;          /* image size / marked size (geometric mean of both axes) */
    double angle_deg;      /* rotation of the tile lattice, degrees, counter-clockwise */
    double a[4];           /* full linear map marked -> image: x' = a0 x + a1 y, y' = a2 x + a3 y */
    uint32_t offset_x;     /* tile origin, in marked pixels, modulo MARK_TILE */
    uint32_t offset_y;
    int inverted; /* the image is a negative of the marked one */
} mark_result;

/* Blind detection on a w x h gray image of any depth (px as float, row-major).  On success (even
 * when nothing is found) fills *res and returns DV_OK.  DV_ELIMIT above MARK_MAX_PIXELS,
 * DV_EINVAL for w or h of 0 or a non-finite sample, DV_ENOMEM.  Images smaller than
 * MARK_MIN_SIDE give found = 0. */
dv_err mark_detect(const crypto_key *key, const float *px, uint32_t w, uint32_t h, mark_result *res,
                   dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 5);

/* The same on an 8-bit gray or RGB image (luminance .299 R + .587 G + .114 B). */
dv_err mark_detect_image(const crypto_key *key, const render_image *im, mark_result *res,
                         dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3);

/* Informed detection: only the ncand candidate payloads are tested (e.g. the audit entries of
 * one study's accesses), each against the soft values of every geometry the blind search
 * finds, by normalised correlation with its codeword; the false-positive probability counts
 * every candidate, geometry and polarity.  Finds marks too damaged for blind decoding (no CRC
 * needed).  ncand 0: nothing found. */
dv_err mark_detect_image_candidates(const crypto_key *key, const render_image *im,
                                    const uint64_t *cand, size_t ncand, mark_result *res,
                                    dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 5);

/* ---- informed detection with the original: registration ---------------------------------- */

/* How a leaked copy lies over its original. */
typedef struct mark_reg {
    int ok;              /* a plausible homography was found */
    double h[9];         /* original (u, v, 1) -> leak (x, y, w), row-major, h[8] = 1 */
    uint32_t ref_points; /* keypoints of the original */
    uint32_t points;     /* keypoints of the leak */
    uint32_t matches;    /* descriptor matches of the accepted (else the best) variant */
    uint32_t inliers;    /* of them, consistent with the homography */
    uint32_t refined;    /* blocks of a 12 x 12 grid over the leak matched (0: not refined) */
    int aligned;         /* refined again on every pixel (Gauss-Newton on intensities) */
    uint32_t tries;      /* variants matched: flips and quarter turns, each either polarity */
    int variant;         /* bit 0: mirrored left-right, bit 1: top-bottom, bit 2: transposed */
    int inverted;        /* the leak is a negative */
    double blur;         /* informed detection: the blur (sigma, leak pixels) that fit best */
} mark_reg;

/* Registers img (w x h, any depth, e.g. a photo of a screen) to ref (rw x rh, the original it
 * may show): Harris corners on half-octave pyramids, 8 x 8 block-mean descriptors, ratio-test
 * matching of the leak as it is and flipped, turned or negated, RANSAC homography refitted on its
 * inliers.  Fills *reg (ok = 0 when no plausible homography was found, e.g. another image).
 * DV_ELIMIT above MARK_MAX_PIXELS, DV_ENOMEM. */
dv_err mark_register(const float *ref, uint32_t rw, uint32_t rh, const float *img, uint32_t w,
                     uint32_t h, mark_reg *reg, dv_errinfo *ei) DV_WUR DV_NONNULL(1, 4, 7);

/* Informed detection with the original: ref is the unmarked image the marked copy was made from
 * (same size and orientation as the copy: a stored frame's values or its render).  The leak is
 * registered to it (mark_register), the original is carried into the leak's geometry, mapped
 * through the fitted intensity curve (window, gamma, negative) and blur, and subtracted: what
 * is left is the mark and noise, without the picture that hides it.  That residual, carried back
 * onto the original's grid, is searched as mark_detect (cand NULL or ncand 0: blind decoding
 * with the CRC) or as mark_detect_image_candidates.  res as for those (found = 0 when the
 * registration fails); reg may be NULL.  Errors as mark_register. */
dv_err mark_detect_original(const crypto_key *key, const float *ref, uint32_t rw, uint32_t rh,
                            const render_image *leak, const uint64_t *cand, size_t ncand,
                            mark_result *res, mark_reg *reg, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2, 5, 8);

/* The original an informed detection compares against, from a stored object: frame 0's stored
 * values (monochrome 8/16/32-bit; the intensity curve fitted later absorbs any window), else the
 * luminance of frame 0's default render (colour, palette, 1-bit).  *px is malloc'd, w x h.
 * Errors of dcm_frame_decode / render_frame, DV_ELIMIT, DV_ENOMEM. */
dv_err mark_reference_of(const dcm_file *f, float **px, uint32_t *w, uint32_t *h,
                         dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2, 3, 4);

/* ---- finding the original: a perceptual hash ---------------------------------------------- */

/* 64-bit perceptual hash of an 8-bit gray or RGB image (DCT of a 32 x 32 reduction).  -1 for an
 * empty or invalid image. */
int mark_phash(const render_image *im, uint64_t *out) DV_NONNULL(1, 2);
/* Bits that differ (0 .. 64): about 0-10 for copies of one image, about 32 for unrelated ones. */
unsigned mark_phash_distance(uint64_t a, uint64_t b);

/* ---- image files (for trace and mark on PNG/JPEG) ----------------------------------------- */

typedef enum mark_imgtype { MARK_IMG_UNKNOWN = 0, MARK_IMG_PNG, MARK_IMG_JPEG } mark_imgtype;

/* What the first bytes of a file say it is. */
mark_imgtype mark_img_sniff(const uint8_t *p, size_t n);

/* Decodes a PNG (any bit depth, gray/RGB/palette, alpha dropped, 16-bit reduced to 8) or a JPEG
 * (gray, YCbCr, CMYK refused) from memory into *out (channels 1 or 3).  Refuses more than
 * MARK_MAX_PIXELS (DV_ELIMIT) before allocating.  DV_EMALFORMED / DV_ECODEC for broken data,
 * DV_EUNSUPPORTED for neither PNG nor JPEG.  On failure *out is empty. */
dv_err mark_img_decode(const uint8_t *p, size_t n, render_image *out, mark_imgtype *type,
                       dv_errinfo *ei) DV_WUR DV_NONNULL(1, 3);

/* Reads a file (at most 1 GiB) and decodes it as above.  DV_EIO when it cannot be read. */
dv_err mark_img_read(const char *path, render_image *out, mark_imgtype *type, dv_errinfo *ei) DV_WUR
    DV_NONNULL(1, 2);

/* ---- visible overlay ---------------------------------------------------------------------- */

/* Draws text (UTF-8, Latin glyphs of DejaVu Sans) tiled diagonally over im, semi-transparent
 * (alpha 0..1, e.g. 0.18): bright text on dark pixels, dark on bright.  font_path NULL means
 * MARK_OVERLAY_FONT.  DV_ENOTFOUND when the font is missing, DV_EINVAL for an empty text. */
#define MARK_OVERLAY_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
dv_err mark_overlay(render_image *im, const char *text, double alpha, const char *font_path,
                    dv_errinfo *ei) DV_WUR DV_NONNULL(1, 2);

#endif
