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

#endif
