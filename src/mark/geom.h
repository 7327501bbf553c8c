/* SPDX-License-Identifier: Apache-2.0 */
/* geom.h - candidate geometries (marked -> image linear maps) for detection, from the
 * autocorrelation of a whitened crop.  Internal to src/mark/. */
#ifndef DV_MARK_GEOM_H
#define DV_MARK_GEOM_H

#include "mark/mark.h"

#define MARK_GEOM_MAX 5

typedef struct mark_geom {
    double fwd[4]; /* marked (u, v) -> image: x = f0 u + f1 v, y = f2 u + f3 v */
    double inv[4]; /* image -> marked */
    double scale;  /* sqrt(|det fwd|) */
    double angle_deg;
    uint32_t x0, y0, x1, y1; /* image region to fold: [x0, x1) x [y0, y1) */
} mark_geom;

/* Fills g[0..*n) with the identity first, then the lattices found (if any) in the
 * autocorrelation of a central 1024 crop (two whitenings, whole image folded) and of a central
 * 512 crop (folded over that crop only: a local affine for perspective views).  img is w x h,
 * values about 0..255.  DV_ENOMEM only. */
dv_err mark_geom_candidates(const float *img, uint32_t w, uint32_t h, mark_geom *g, uint32_t *n,
                            dv_errinfo *ei) DV_WUR;

#endif
