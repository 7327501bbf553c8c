/* SPDX-License-Identifier: Apache-2.0 */
/* pixel.h - pixel description and frame decoding (native and compressed transfer syntaxes).
 *
 * A decoded frame is always: little-endian samples, color-by-pixel (interleaved), one
 * sample in bits_alloc/8 bytes (1-bit data is unpacked to one byte per pixel, values 0/1),
 * rows*cols*samples samples.  Photometric interpretation is reported as decoded: JPEG
 * baseline YBR_FULL_422 comes out as RGB (like dcmdjpeg), everything else as stored
 * (YBR_FULL stays YBR_FULL; dcm_ybr_to_rgb() converts when a caller wants RGB).
 *
 * Every decoder checks the compressed stream against the geometry from the dataset and fails
 * with DV_ECODEC (never reads or writes out of bounds) when they disagree -- except a JPEG frame
 * smaller than Rows x Columns, which is decoded and zero-padded as DCMTK does (its lines one
 * after another at the JPEG's own width, then zeros).
 */
#ifndef DV_PIXEL_H
#define DV_PIXEL_H

#include "dicom.h"

typedef struct dcm_pixinfo {
    uint32_t rows, cols;
    uint32_t samples;    /* SamplesPerPixel: 1 or 3 */
    uint32_t bits_alloc; /* 1, 8, 16, 32 */
    uint32_t bits_stored;
    uint32_t high_bit;
    uint32_t pixel_rep;   /* 0 unsigned, 1 two's complement */
    uint32_t planar;      /* PlanarConfiguration as stored: 0 by pixel, 1 by plane */
    uint32_t frames;      /* NumberOfFrames, 1 when absent */
    char photometric[17]; /* e.g. "MONOCHROME2", "RGB", "YBR_FULL_422", "PALETTE COLOR" */
} dcm_pixinfo;

/* Reads the Image Pixel module of ds.  DV_ENOTFOUND when there is no pixel data;
 * DV_EMALFORMED (with the tag) when a value is missing or out of range (e.g. bits_stored >
 * bits_alloc, rows*cols*samples*frames overflowing, unsupported bits_alloc). */
dv_err dcm_pixinfo_get(const dcm_ds *ds, dcm_pixinfo *pi, dv_errinfo *ei) DV_WUR;

/* Bytes of one decoded frame (rows*cols*samples*ceil(bits_alloc/8), 1-bit as 1 byte/pixel). */
size_t dcm_frame_size(const dcm_pixinfo *pi);

typedef struct dcm_frame {
    uint8_t *data; /* malloc'd, dcm_frame_size() bytes; owned by the frame */
    size_t len;
    dcm_pixinfo pi; /* geometry of the decoded frame (planar 0, photometric as decoded) */
} dcm_frame;

/* Decodes frame number idx (0-based) of f (native or any supported encapsulated syntax:
 * RLE, JPEG baseline/extended, JPEG lossless, JPEG-LS, JPEG 2000).  Multi-fragment frames
 * are assembled with the Basic or Extended Offset Table, or by fragment count / JPEG markers
 * when the table is empty.  On failure out->data is NULL. */
dv_err dcm_frame_decode(const dcm_file *f, uint32_t idx, dcm_frame *out, dv_errinfo *ei) DV_WUR;

void dcm_frame_release(dcm_frame *fr);

/* In place YBR_FULL -> RGB (8-bit, samples 3) and updates photometric. */
void dcm_ybr_to_rgb(dcm_frame *fr);

#endif
