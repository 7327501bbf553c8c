/* SPDX-License-Identifier: Apache-2.0 */
/* mark_int.h - internals of the watermark module shared by its files (and its tests): the keyed
 * tile layout, a small FFT and box filters.
 *
 * Invariants of mark_layout: every cell has sign +1 or -1; exactly MARK_NSYNC cells have
 * bit == -1 (sync); every other cell has 0 <= bit < MARK_CODED_BITS and every coded bit has at
 * least two cells.
 */
#ifndef DV_MARK_INT_H
#define DV_MARK_INT_H

#include "mark/mark.h"

#define MARK_CSIDE  (MARK_TILE / MARK_CELL)
#define MARK_NCELLS (MARK_CSIDE * MARK_CSIDE)
#define MARK_NSYNC  (MARK_NCELLS / 4)
#define MARK_TT     ((size_t)MARK_TILE * MARK_TILE)

_Static_assert(MARK_TILE % MARK_CELL == 0, "cells tile the tile");
_Static_assert(MARK_NCELLS - MARK_NSYNC >= 2 * MARK_CODED_BITS, "two cells per coded bit");

typedef struct mark_layout {
    int8_t sign[MARK_NCELLS]; /* keyed sign of each cell */
    int16_t bit[MARK_NCELLS]; /* coded bit carried by the cell, -1 for a sync cell */
    uint32_t crc_mask;        /* keyed 24-bit CRC mask */
} mark_layout;

/* Derives the layout from key.  DV_ECRYPTO when the sub-key cannot be derived. */
dv_err mark_layout_make(const crypto_key *key, mark_layout *l, dv_errinfo *ei) DV_WUR;

/* Chips (+1/-1) of every pixel of the tile for a payload: tile[y * MARK_TILE + x]. */
void mark_tile_chips(const mark_layout *l, uint64_t payload, int8_t tile[MARK_TT]);

/* In-place complex FFT of n points (power of two, 2..4096; others are left alone); inverse
 * when inv (unscaled). */
void mark_fft(float *re, float *im, uint32_t n, int inv);
/* 2-D FFT of an n x n array (row-major), in place; tmp holds 2 n floats. */
void mark_fft2(float *re, float *im, uint32_t n, int inv, float *tmp);

/* out = mean of in over a (2r+1)^2 window, truncated at the borders.  out != in; tmp holds w*h
 * floats.  DV_ENOMEM (out untouched) when a row of sums cannot be allocated. */
dv_err mark_box_mean(const float *in, float *out, float *tmp, uint32_t w, uint32_t h,
                     uint32_t r) DV_WUR;

/* Standard normal upper tail. */
double mark_q(double z);

/* Separable Gaussian blur of a w x h image in place (nothing below sigma 0.2; the kernel is cut
 * at 31 pixels); tmp holds w*h floats. */
void mark_blur(float *px, uint32_t w, uint32_t h, float *tmp, double sigma);
/* Bilinear sample at (x, y), clamped to the image. */
float mark_bilinear(const float *px, uint32_t w, uint32_t h, double x, double y);

/* A smoothed image, maybe on a grid m times coarser (register.c): sample it with
 * mark_smooth_at in the source's coordinates; free p. */
typedef struct mark_smooth {
    float *p;
    uint32_t w, h, m;
} mark_smooth;
/* px (w x h) smoothed by a Gaussian of sigma source pixels (a box shrink by an integer factor
 * first when sigma is large).  -1 out of memory. */
int mark_smoothed(const float *px, uint32_t w, uint32_t h, double sigma, mark_smooth *out);
float mark_smooth_at(const mark_smooth *s, double u, double v);

/* Solves the n x n system a x = b in place (a row-major, destroyed; x in b) by Gaussian
 * elimination with partial pivoting; -1 when singular. */
int mark_solve(double *a, double *b, int n);
/* out = a * b (3 x 3, row-major); out is neither a nor b. */
void mark_mat3_mul(const double a[9], const double b[9], double out[9]);
/* o = a^-1 (3 x 3); -1 when singular. */
int mark_mat3_inv(const double a[9], double o[9]);
/* (x, y) = the homography h applied to (u, v); -1 at the line at infinity. */
int mark_h_project(const double h[9], double u, double v, double *x, double *y);
/* Refines hom (original -> leak, hom[8] = 1) on every pixel (align.c).  0 done (hom maybe
 * unchanged), -1 out of memory. */
int mark_align(const float *ref, uint32_t rw, uint32_t rh, const float *img, uint32_t w, uint32_t h,
               double hom[9]);

/* Detection on a float image with optional candidates (detect.c): mark_detect when ncand is 0
 * or cand is NULL, else the informed test of mark_detect_image_candidates. */
dv_err mark_detect_float(const crypto_key *key, const float *px, uint32_t w, uint32_t h,
                         const uint64_t *cand, size_t ncand, mark_result *res,
                         dv_errinfo *ei) DV_WUR;
/* The informed test at a known geometry: the image lies on the marked grid (identity), the tile
 * origin within +-radius pixels (radius <= MARK_TILE / 4) of its top-left corner.  No
 * candidates: nothing found. */
dv_err mark_detect_float_known(const crypto_key *key, const float *px, uint32_t w, uint32_t h,
                               const uint64_t *cand, size_t ncand, uint32_t radius,
                               mark_result *res, dv_errinfo *ei) DV_WUR;

#endif
