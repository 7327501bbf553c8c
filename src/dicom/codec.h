/* SPDX-License-Identifier: Apache-2.0 */
/* codec.h - internal API of the compressed pixel data decoders (not installed, used by pixel.c,
 * the unit tests and the fuzz targets).
 *
 * Every decoder takes one complete compressed frame (src, len: the fragments already
 * assembled; trailing padding after the end of the stream is ignored) and the geometry the
 * dataset announces, and writes exactly g->rows * g->cols * g->samples samples of g->bytes
 * bytes each, little-endian, colour-by-pixel, into out.  outlen must equal that size
 * (dcm_codec_frame_bytes()); otherwise DV_EINVAL and nothing is written.
 *
 * Errors: DV_ECODEC when the stream is damaged, truncated or disagrees with the geometry
 * (size, component count, precision above g->bytes); DV_EUNSUPPORTED for valid streams this
 * build does not decode (with a message naming the feature); DV_ENOMEM; DV_ELIMIT.  On error
 * the content of out is unspecified but nothing outside it was written.  Messages never carry
 * pixel values.  No decoder prints, exits or aborts.
 */
#ifndef DV_CODEC_H
#define DV_CODEC_H

#include "common/dv.h"

typedef struct dcm_codec_geom {
    uint32_t rows, cols;
    uint32_t samples;     /* 1 or 3 */
    uint32_t bytes;       /* bytes per decoded sample: 1 or 2 (RLE also 4) */
    uint32_t bits_stored; /* from the dataset; informative (the stream's precision rules) */
    uint32_t pixel_rep;   /* 0 unsigned, 1 signed */
    int ybr;              /* the dataset says YBR_FULL / YBR_FULL_422 / YBR_PARTIAL_422 */
} dcm_codec_geom;

/* Frame bytes for g (0 when the product overflows size_t). */
size_t dcm_codec_frame_bytes(const dcm_codec_geom *g);

/* DICOM RLE Lossless (PS3.5 Annex G): 1..15 segments, samples * bytes of them. */
dv_err dcm_codec_rle(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                     size_t outlen, dv_errinfo *ei) DV_WUR;

/* What the first SOF marker of a JPEG stream announces. */
typedef struct dcm_jpeg_probe_info {
    uint8_t sof;       /* 0xC0..0xCF (not C4/C8/CC), 0 when none was found */
    uint8_t precision; /* P of the frame header */
    uint8_t ncomp;     /* Nf */
} dcm_jpeg_probe_info;

/* Walks the marker segments of a JPEG (ISO 10918) stream up to its first SOF.  DV_ECODEC when
 * the stream does not start with SOI or a segment overruns the buffer. */
dv_err dcm_jpeg_probe(const uint8_t *src, size_t len, dcm_jpeg_probe_info *info,
                      dv_errinfo *ei) DV_WUR;

/* Any JPEG process: probes the stream and calls the decoder below that fits it (baseline and
 * 8-bit extended/progressive: libjpeg; 12-bit sequential DCT: dcm_codec_jpeg12; lossless:
 * dcm_codec_jpegll).  *rgb is set to 1 when the decoder converted YCbCr to RGB, else 0.  A
 * frame narrower or shorter than g is decoded at its own size into the start of out and the
 * rest zeroed (DCMTK's dcmdjpeg does the same); wider or taller is DV_ECODEC. */
dv_err dcm_codec_jpeg_any(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                          size_t outlen, int *rgb, dv_errinfo *ei) DV_WUR;

/* 8-bit DCT JPEG through libjpeg(-turbo).  When g->ybr and 3 components, YCbCr is converted to
 * RGB (like dcmdjpeg); otherwise no colour transform is applied.  *rgb tells which. */
dv_err dcm_codec_jpeg8(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                       size_t outlen, int *rgb, dv_errinfo *ei) DV_WUR;

/* 12-bit (or 8-bit) sequential Huffman DCT JPEG (processes 1, 2 and 4), own decoder with the
 * IJG integer ("islow") inverse DCT.  One scan holding every component; colour frames only
 * with 1x1 sampling; no colour transform. */
dv_err dcm_codec_jpeg12(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                        size_t outlen, dv_errinfo *ei) DV_WUR;

/* Lossless JPEG (process 14, SOF3, Huffman): predictors 1-7, point transform, precision 2-16,
 * 1 to 4 components (1x1 sampling), interleaved or one scan per component. */
dv_err dcm_codec_jpegll(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                        size_t outlen, dv_errinfo *ei) DV_WUR;

/* JPEG-LS (lossless and near-lossless) through CharLS. */
dv_err dcm_codec_jls(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                     size_t outlen, dv_errinfo *ei) DV_WUR;

/* JPEG 2000 Part 1 and HTJ2K (raw codestream, or a JP2 file) through OpenJPEG.  A codestream
 * with a multiple component transform comes out as RGB. */
dv_err dcm_codec_j2k(const uint8_t *src, size_t len, const dcm_codec_geom *g, uint8_t *out,
                     size_t outlen, dv_errinfo *ei) DV_WUR;

#endif
