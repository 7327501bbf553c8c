/* SPDX-License-Identifier: Apache-2.0 */
/* pixel.c - Image Pixel module reading and frame decoding for native and encapsulated
 * transfer syntaxes (see pixel.h for the decoded frame layout).
 *
 * Encapsulated frames are located with, in order: the Extended Offset Table, the Basic Offset
 * Table, one fragment per frame, all fragments for a single frame, and finally frame-start
 * signatures (JPEG SOI, J2K SOC, RLE header) when there are more fragments than frames.  An
 * offset table that does not land on fragment boundaries is ignored.  A frame spanning several
 * fragments is copied into one buffer; a single fragment is decoded in place.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "common/buf.h"
#include "dicom/codec.h"
#include "dicom/pixel.h"

#include "common/banned.h"

#define FRAME_MAX ((size_t)1 << 30) /* decoded or compressed bytes of one frame */

#define TAG_SAMPLES     DCM_TAG(0x0028, 0x0002)
#define TAG_PHOTOMETRIC DCM_TAG(0x0028, 0x0004)
#define TAG_PLANAR      DCM_TAG(0x0028, 0x0006)
#define TAG_FRAMES      DCM_TAG(0x0028, 0x0008)
#define TAG_ROWS        DCM_TAG(0x0028, 0x0010)
#define TAG_COLS        DCM_TAG(0x0028, 0x0011)
#define TAG_BITS_ALLOC  DCM_TAG(0x0028, 0x0100)
#define TAG_BITS_STORED DCM_TAG(0x0028, 0x0101)
#define TAG_HIGH_BIT    DCM_TAG(0x0028, 0x0102)
#define TAG_PIXEL_REP   DCM_TAG(0x0028, 0x0103)
#define TAG_EOT         DCM_TAG(0x7FE0, 0x0001)
#define TAG_FLOAT_PIX   DCM_TAG(0x7FE0, 0x0008)
#define TAG_DOUBLE_PIX  DCM_TAG(0x7FE0, 0x0009)

/* ---- Image Pixel module ------------------------------------------------------------------ */

/* Reads an integer attribute into *out; def when absent (required: EMALFORMED instead). */
static dv_err get_u32(const dcm_ds *ds, uint32_t tag, int required, uint32_t def, long lo, long hi,
                      uint32_t *out, dv_errinfo *ei)
{
    long v = 0;
    dv_err e = dcm_ds_get_int(ds, tag, 0, &v);

    if (e == DV_ENOTFOUND && !required) {
        *out = def;
        return DV_OK;
    }
    if (e == DV_ENOTFOUND)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, tag, "required pixel attribute missing");
    if (e || v < lo || v > hi)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, tag,
                       "pixel attribute is not a number in %ld..%ld", lo, hi);
    *out = (uint32_t)v;
    return DV_OK;
}

static dv_err get_photometric(const dcm_ds *ds, dcm_pixinfo *pi, dv_errinfo *ei)
{
    long n = dcm_ds_get_str(ds, TAG_PHOTOMETRIC, pi->photometric, sizeof(pi->photometric));

    if (n < 0 || pi->photometric[0] == '\0') {
        memcpy(pi->photometric, pi->samples == 3 ? "RGB" : "MONOCHROME2",
               pi->samples == 3 ? 4 : 12);
        return DV_OK;
    }
    if ((size_t)n >= sizeof(pi->photometric))
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, TAG_PHOTOMETRIC,
                       "PhotometricInterpretation longer than 16 characters");
    return DV_OK;
}

/* Checks that rows*cols*samples*frames samples of bits_alloc bits fit in 64 bits. */
static dv_err check_total(const dcm_pixinfo *pi, dv_errinfo *ei)
{
    uint64_t n;

    if (__builtin_mul_overflow((uint64_t)pi->rows, (uint64_t)pi->cols, &n) ||
        __builtin_mul_overflow(n, (uint64_t)pi->samples, &n) ||
        __builtin_mul_overflow(n, (uint64_t)pi->frames, &n) ||
        __builtin_mul_overflow(n, (uint64_t)pi->bits_alloc, &n))
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, TAG_FRAMES,
                       "rows*columns*samples*frames overflows");
    return DV_OK;
}

dv_err dcm_pixinfo_get(const dcm_ds *ds, dcm_pixinfo *pi, dv_errinfo *ei)
{
    dv_err e;

    memset(pi, 0, sizeof(*pi));
    if (!dcm_ds_find(ds, DCM_TAG_PIXEL_DATA)) {
        if (dcm_ds_find(ds, TAG_FLOAT_PIX) || dcm_ds_find(ds, TAG_DOUBLE_PIX))
            return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, TAG_FLOAT_PIX,
                           "float pixel data is not decoded");
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "no pixel data");
    }
    e = get_u32(ds, TAG_ROWS, 1, 0, 1, 65535, &pi->rows, ei);
    if (!e)
        e = get_u32(ds, TAG_COLS, 1, 0, 1, 65535, &pi->cols, ei);
    if (!e)
        e = get_u32(ds, TAG_SAMPLES, 0, 1, 1, 3, &pi->samples, ei);
    if (!e && pi->samples == 2)
        e = dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, TAG_SAMPLES, "SamplesPerPixel must be 1 or 3");
    if (!e)
        e = get_u32(ds, TAG_BITS_ALLOC, 1, 0, 1, 32, &pi->bits_alloc, ei);
    if (!e && pi->bits_alloc != 1 && pi->bits_alloc != 8 && pi->bits_alloc != 16 &&
        pi->bits_alloc != 32)
        e = dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, TAG_BITS_ALLOC,
                    "BitsAllocated must be 1, 8, 16 or 32");
    if (!e)
        e = get_u32(ds, TAG_BITS_STORED, 0, pi->bits_alloc, 1, pi->bits_alloc, &pi->bits_stored,
                    ei);
    if (!e)
        e = get_u32(ds, TAG_HIGH_BIT, 0, pi->bits_stored - 1, pi->bits_stored - 1,
                    pi->bits_alloc - 1, &pi->high_bit, ei);
    if (!e)
        e = get_u32(ds, TAG_PIXEL_REP, 0, 0, 0, 1, &pi->pixel_rep, ei);
    if (!e)
        e = get_u32(ds, TAG_PLANAR, 0, 0, 0, 1, &pi->planar, ei);
    if (!e)
        e = get_u32(ds, TAG_FRAMES, 0, 1, 1, INT32_MAX, &pi->frames, ei);
    if (!e)
        e = get_photometric(ds, pi, ei);
    if (!e)
        e = check_total(pi, ei);
    if (pi->samples == 1)
        pi->planar = 0;
    return e;
}

size_t dcm_frame_size(const dcm_pixinfo *pi)
{
    uint64_t n = (uint64_t)pi->rows * pi->cols * pi->samples;
    uint64_t bytes = pi->bits_alloc <= 8 ? 1 : pi->bits_alloc / 8;

    if (__builtin_mul_overflow(n, bytes, &n) || n > SIZE_MAX)
        return SIZE_MAX;
    return (size_t)n;
}

/* ---- native pixel data ------------------------------------------------------------------- */

static int is_422(const char *ph)
{
    return !strcmp(ph, "YBR_FULL_422") || !strcmp(ph, "YBR_PARTIAL_422");
}

/* Unpacks 1-bit samples (bit 0 of each byte first) starting at bit offset bit0. */
static void unpack_bits(const uint8_t *p, uint64_t bit0, uint8_t *out, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        uint64_t b = bit0 + i;

        out[i] = (uint8_t)((p[b >> 3] >> (b & 7)) & 1u);
    }
}

/* 4:2:2 pairs (Y0 Y1 Cb Cr) -> full resolution (Y Cb Cr per pixel), 8-bit. */
static void expand_422(const uint8_t *p, const dcm_pixinfo *pi, uint8_t *out)
{
    size_t pairs = (size_t)pi->rows * pi->cols / 2, i;

    for (i = 0; i < pairs; i++) {
        const uint8_t *q = p + 4 * i;
        uint8_t *o = out + 6 * i;

        o[0] = q[0];
        o[1] = q[2];
        o[2] = q[3];
        o[3] = q[1];
        o[4] = q[2];
        o[5] = q[3];
    }
}

/* Colour-by-plane -> colour-by-pixel. */
static void interleave(const uint8_t *p, const dcm_pixinfo *pi, uint8_t *out)
{
    size_t npix = (size_t)pi->rows * pi->cols, bps = pi->bits_alloc / 8, i;
    unsigned c;

    for (c = 0; c < pi->samples; c++)
        for (i = 0; i < npix; i++)
            memcpy(out + (i * pi->samples + c) * bps, p + (c * npix + i) * bps, bps);
}

/* Decodes native frame idx from the value bytes p[0..len). */
static dv_err native_frame(const uint8_t *p, size_t len, const dcm_pixinfo *pi, uint32_t idx,
                           dcm_frame *fr, dv_errinfo *ei)
{
    size_t fsize = dcm_frame_size(pi), stored = fsize;

    if (pi->bits_alloc == 1) {
        uint64_t bit0 = (uint64_t)idx * fsize;

        if ((bit0 + fsize + 7) / 8 > len)
            return dv_fail(ei, DV_ETRUNC, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                           "pixel data shorter than the frames it describes");
        unpack_bits(p, bit0, fr->data, fsize);
        return DV_OK;
    }
    if (pi->samples == 3 && is_422(pi->photometric)) {
        if (pi->bits_alloc != 8 || pi->cols % 2 || pi->planar)
            return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, TAG_PHOTOMETRIC,
                           "native 4:2:2 data other than 8-bit, even columns, by pixel");
        stored = fsize / 3 * 2;
    }
    if ((uint64_t)idx * stored + stored > len)
        return dv_fail(ei, DV_ETRUNC, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                       "pixel data shorter than the frames it describes");
    p += (size_t)idx * stored;
    if (stored != fsize)
        expand_422(p, pi, fr->data);
    else if (pi->samples == 3 && pi->planar)
        interleave(p, pi, fr->data);
    else
        memcpy(fr->data, p, fsize);
    if (stored != fsize && !strcmp(pi->photometric, "YBR_FULL_422"))
        memcpy(fr->pi.photometric, "YBR_FULL", 9);
    return DV_OK;
}

/* ---- encapsulated frames ----------------------------------------------------------------- */

typedef struct frame_src {
    const uint8_t *p; /* assembled frame */
    size_t len;
    uint8_t *owned; /* non-NULL when p was copied together from several fragments */
} frame_src;

/* Fragment range [*first, *end) (indexes into frags; data fragments start at 1) holding frame
 * idx according to an offset table, or -1 when the table does not fit the fragments. */
static int table_range(const dcm_elem *pe, const uint64_t *off, uint32_t frames, uint32_t idx,
                       uint32_t *first, uint32_t *end)
{
    uint64_t pos = 0;
    uint32_t k;

    *first = *end = 0;
    if (!pe->frags || off[0] != 0)
        return -1;
    for (k = 1; k < frames; k++)
        if (off[k] <= off[k - 1])
            return -1;
    for (k = 1; k < pe->nfrags; k++) {
        if (pos == off[idx])
            *first = k;
        if (idx + 1 < frames && pos == off[idx + 1])
            *end = k;
        pos += 8u + pe->frags[k].len;
    }
    if (idx + 1 == frames)
        *end = pe->nfrags;
    if (*first == 0 || *end <= *first)
        return -1;
    return 0;
}

/* Offsets from the Extended (8-byte) or Basic (4-byte) Offset Table; NULL when unusable. */
static uint64_t *read_table(const dcm_ds *ds, const dcm_elem *pe, uint32_t frames)
{
    const dcm_elem *eot = dcm_ds_find(ds, TAG_EOT);
    uint64_t *off;
    uint32_t i;

    if (eot && eot->len == (uint64_t)frames * 8 && eot->val) {
        off = malloc((size_t)frames * sizeof(*off));
        for (i = 0; off && i < frames; i++)
            off[i] = (uint64_t)dv_le32(eot->val + (size_t)8 * i) |
                     ((uint64_t)dv_le32(eot->val + (size_t)8 * i + 4) << 32);
        return off;
    }
    if (pe->nfrags < 1 || !pe->frags || pe->frags[0].len != (uint64_t)frames * 4 || !pe->frags[0].p)
        return NULL;
    off = malloc((size_t)frames * sizeof(*off));
    for (i = 0; off && i < frames; i++)
        off[i] = dv_le32(pe->frags[0].p + (size_t)4 * i);
    return off;
}

static int frame_start(const uint8_t *p, uint32_t len)
{
    if (len >= 2 && p[0] == 0xFF && p[1] == 0xD8)
        return 1; /* JPEG, JPEG-LS SOI */
    if (len >= 4 && p[0] == 0xFF && p[1] == 0x4F && p[2] == 0xFF && p[3] == 0x51)
        return 1; /* J2K SOC + SIZ */
    if (len >= 12 && !memcmp(p + 4, "jP  ", 4))
        return 1; /* JP2 signature box */
    if (len >= 64 && dv_le32(p) >= 1 && dv_le32(p) <= 15 && dv_le32(p + 4) == 64)
        return 1; /* RLE header */
    return 0;
}

/* Fragments of frame idx found by frame-start signatures. */
static int marker_range(const dcm_elem *pe, uint32_t frames, uint32_t idx, uint32_t *first,
                        uint32_t *end)
{
    uint32_t k, f = 0;

    *first = *end = 0;
    if (!pe->frags)
        return -1;
    for (k = 1; k < pe->nfrags; k++) {
        if (!pe->frags[k].p || !frame_start(pe->frags[k].p, pe->frags[k].len)) {
            if (k == 1)
                return -1;
            continue;
        }
        if (f == idx)
            *first = k;
        if (f == idx + 1)
            *end = k;
        f++;
    }
    if (f != frames || *first == 0)
        return -1;
    if (*end == 0)
        *end = pe->nfrags;
    return 0;
}

static dv_err frame_range(const dcm_ds *ds, const dcm_elem *pe, uint32_t frames, uint32_t idx,
                          uint32_t *first, uint32_t *end, dv_errinfo *ei)
{
    uint32_t n = pe->nfrags ? pe->nfrags - 1 : 0;
    uint64_t *off;
    int bad = -1;

    if (n == 0 || !pe->frags)
        return dv_fail(ei, DV_EMALFORMED, pe->offset, DCM_TAG_PIXEL_DATA,
                       "encapsulated pixel data without fragments");
    off = read_table(ds, pe, frames);
    if (off) {
        bad = table_range(pe, off, frames, idx, first, end);
        free(off);
    }
    if (!bad)
        return DV_OK;
    if (n == frames) {
        *first = idx + 1;
        *end = idx + 2;
        return DV_OK;
    }
    if (frames == 1) {
        *first = 1;
        *end = pe->nfrags;
        return DV_OK;
    }
    if (n > frames && !marker_range(pe, frames, idx, first, end))
        return DV_OK;
    return dv_fail(ei, DV_EMALFORMED, pe->offset, DCM_TAG_PIXEL_DATA,
                   "cannot tell which fragments belong to frame %u", (unsigned)idx);
}

static dv_err assemble(const dcm_ds *ds, const dcm_elem *pe, uint32_t frames, uint32_t idx,
                       frame_src *fs, dv_errinfo *ei)
{
    uint32_t first = 0, end = 0, k;
    size_t total = 0, at = 0;
    dv_err e;

    memset(fs, 0, sizeof(*fs));
    e = frame_range(ds, pe, frames, idx, &first, &end, ei);
    if (e)
        return e;
    if (!pe->frags || end > pe->nfrags || first >= end)
        return dv_fail(ei, DV_EMALFORMED, pe->offset, DCM_TAG_PIXEL_DATA, "fragment range");
    for (k = first; k < end; k++) {
        total += pe->frags[k].len;
        if (total > FRAME_MAX)
            return dv_fail(ei, DV_ELIMIT, pe->offset, DCM_TAG_PIXEL_DATA,
                           "compressed frame larger than 1 GiB");
    }
    if (end - first == 1) {
        fs->p = pe->frags[first].p;
        fs->len = pe->frags[first].len;
        return DV_OK;
    }
    fs->owned = malloc(total ? total : 1);
    if (!fs->owned)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "frame assembly");
    for (k = first; k < end; k++) {
        if (pe->frags[k].len)
            memcpy(fs->owned + at, pe->frags[k].p, pe->frags[k].len);
        at += pe->frags[k].len;
    }
    fs->p = fs->owned;
    fs->len = total;
    return DV_OK;
}

/* ---- decoding ---------------------------------------------------------------------------- */

enum codec_kind { K_NONE, K_RLE, K_JPEG, K_JLS, K_J2K, K_DEFLATE };

static enum codec_kind codec_of(const dcm_ts *ts)
{
    static const struct {
        const char *uid;
        enum codec_kind k;
    } map[] = {
        {"1.2.840.10008.1.2.5", K_RLE},       {"1.2.840.10008.1.2.4.50", K_JPEG},
        {"1.2.840.10008.1.2.4.51", K_JPEG},   {"1.2.840.10008.1.2.4.57", K_JPEG},
        {"1.2.840.10008.1.2.4.70", K_JPEG},   {"1.2.840.10008.1.2.4.80", K_JLS},
        {"1.2.840.10008.1.2.4.81", K_JLS},    {"1.2.840.10008.1.2.4.90", K_J2K},
        {"1.2.840.10008.1.2.4.91", K_J2K},    {"1.2.840.10008.1.2.4.201", K_J2K},
        {"1.2.840.10008.1.2.4.202", K_J2K},   {"1.2.840.10008.1.2.4.203", K_J2K},
        {"1.2.840.10008.1.2.8.1", K_DEFLATE},
    };
    size_t i;

    for (i = 0; ts && i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(ts->uid, map[i].uid))
            return map[i].k;
    return K_NONE;
}

/* Deflated Image Frame Compression: a raw deflate stream (zlib-wrapped accepted too) of the
 * native frame. */
static dv_err inflate_frame(const frame_src *fs, const dcm_pixinfo *pi, dcm_frame *fr,
                            dv_errinfo *ei)
{
    size_t fsize = dcm_frame_size(pi);
    size_t stored = pi->bits_alloc == 1 ? (fsize + 7) / 8 : fsize;
    uint8_t *tmp = malloc(stored);
    z_stream z;
    int rc = Z_DATA_ERROR, wbits;
    dv_err e = DV_OK;

    if (!tmp)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "inflate buffer");
    for (wbits = -15; wbits != 0 && rc != Z_STREAM_END; wbits = wbits < 0 ? 47 : 0) {
        memset(&z, 0, sizeof(z));
        if (inflateInit2(&z, wbits) != Z_OK)
            break;
        z.next_in = (Bytef *)(uintptr_t)fs->p;
        z.avail_in = (uInt)fs->len;
        z.next_out = tmp;
        z.avail_out = (uInt)stored;
        rc = inflate(&z, Z_FINISH);
        if (rc == Z_BUF_ERROR && z.avail_out == 0)
            rc = Z_STREAM_END; /* more data than the frame needs: ignored */
        if (rc == Z_STREAM_END && z.avail_out != 0)
            rc = Z_DATA_ERROR;
        inflateEnd(&z);
    }
    if (rc != Z_STREAM_END)
        e = dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                    "deflated frame does not inflate to the frame size");
    if (!e)
        e = native_frame(tmp, stored, pi, 0, fr, ei);
    free(tmp);
    return e;
}

static void fill_geom(const dcm_pixinfo *pi, dcm_codec_geom *g)
{
    memset(g, 0, sizeof(*g));
    g->rows = pi->rows;
    g->cols = pi->cols;
    g->samples = pi->samples;
    g->bytes = pi->bits_alloc / 8;
    g->bits_stored = pi->bits_stored;
    g->pixel_rep = pi->pixel_rep;
    g->ybr =
        !strncmp(pi->photometric, "YBR_FULL", 8) || !strcmp(pi->photometric, "YBR_PARTIAL_422");
}

static dv_err decode_compressed(enum codec_kind k, const frame_src *fs, const dcm_pixinfo *pi,
                                dcm_frame *fr, dv_errinfo *ei)
{
    dcm_codec_geom g;
    int rgb = 0;
    dv_err e;

    if (k == K_DEFLATE)
        return inflate_frame(fs, pi, fr, ei);
    if (pi->bits_alloc == 1 || (pi->bits_alloc == 32 && k != K_RLE))
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, TAG_BITS_ALLOC,
                       "BitsAllocated %u is not supported with this transfer syntax",
                       (unsigned)pi->bits_alloc);
    fill_geom(pi, &g);
    switch (k) {
    case K_RLE:
        return dcm_codec_rle(fs->p, fs->len, &g, fr->data, fr->len, ei);
    case K_JPEG:
        e = dcm_codec_jpeg_any(fs->p, fs->len, &g, fr->data, fr->len, &rgb, ei);
        if (!e && rgb)
            memcpy(fr->pi.photometric, "RGB", 4);
        else if (!e && is_422(pi->photometric))
            memcpy(fr->pi.photometric, "YBR_FULL", 9);
        return e;
    case K_JLS:
        return dcm_codec_jls(fs->p, fs->len, &g, fr->data, fr->len, ei);
    case K_J2K:
        e = dcm_codec_j2k(fs->p, fs->len, &g, fr->data, fr->len, ei);
        if (!e && (!strcmp(pi->photometric, "YBR_ICT") || !strcmp(pi->photometric, "YBR_RCT")))
            memcpy(fr->pi.photometric, "RGB", 4);
        return e;
    case K_NONE:
    case K_DEFLATE:
        break;
    }
    return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DCM_TAG_TRANSFER_SYNTAX,
                   "transfer syntax is not decoded by this build");
}

static dv_err decode_encapsulated(const dcm_file *f, const dcm_elem *pe, const dcm_pixinfo *pi,
                                  uint32_t idx, dcm_frame *fr, dv_errinfo *ei)
{
    enum codec_kind k = codec_of(f->ts);
    frame_src fs;
    dv_err e;

    if (k == K_NONE)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DCM_TAG_TRANSFER_SYNTAX,
                       "encapsulated transfer syntax is not decoded by this build");
    e = assemble(&f->ds, pe, pi->frames, idx, &fs, ei);
    if (e)
        return e;
    e = decode_compressed(k, &fs, pi, fr, ei);
    free(fs.owned);
    return e;
}

dv_err dcm_frame_decode(const dcm_file *f, uint32_t idx, dcm_frame *out, dv_errinfo *ei)
{
    const dcm_elem *pe;
    dcm_pixinfo pi;
    dv_err e;

    memset(out, 0, sizeof(*out));
    e = dcm_pixinfo_get(&f->ds, &pi, ei);
    if (e)
        return e;
    if (idx >= pi.frames)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, TAG_FRAMES,
                       "frame %u requested, the image has %u", (unsigned)idx, (unsigned)pi.frames);
    out->len = dcm_frame_size(&pi);
    if (out->len > FRAME_MAX)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                       "decoded frame larger than 1 GiB");
    pe = dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA);
    out->data = malloc(out->len);
    if (!out->data) {
        out->len = 0;
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "frame buffer");
    }
    out->pi = pi;
    out->pi.planar = 0;
    out->pi.frames = 1;
    if (pe->frags)
        e = decode_encapsulated(f, pe, &pi, idx, out, ei);
    else if (pe->nfrags)
        e = dv_fail(ei, DV_EMALFORMED, pe->offset, DCM_TAG_PIXEL_DATA, "fragments missing");
    else if (f->ts && f->ts->encapsulated)
        e = dv_fail(ei, DV_EMALFORMED, pe->offset, DCM_TAG_PIXEL_DATA,
                    "encapsulated transfer syntax but native pixel data");
    else
        e = native_frame(pe->val, pe->len, &pi, idx, out, ei);
    if (e)
        dcm_frame_release(out);
    return e;
}

void dcm_frame_release(dcm_frame *fr)
{
    if (!fr)
        return;
    free(fr->data);
    memset(fr, 0, sizeof(*fr));
}

static uint8_t clamp8(int32_t v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

void dcm_ybr_to_rgb(dcm_frame *fr)
{
    size_t npix, i;

    if (!fr || !fr->data || fr->pi.samples != 3 || fr->pi.bits_alloc != 8 ||
        strncmp(fr->pi.photometric, "YBR_FULL", 8) != 0)
        return;
    npix = fr->len / 3;
    for (i = 0; i < npix; i++) {
        uint8_t *p = fr->data + 3 * i;
        int32_t y = p[0], cb = p[1] - 128, cr = p[2] - 128;

        /* PS3.3 C.7.6.3.1.2 coefficients in 16-bit fixed point, rounded */
        p[0] = clamp8(y + ((91881 * cr + 32768) >> 16));
        p[1] = clamp8(y - ((22554 * cb + 46802 * cr + 32768) >> 16));
        p[2] = clamp8(y + ((116130 * cb + 32768) >> 16));
    }
    memcpy(fr->pi.photometric, "RGB", 4);
}
