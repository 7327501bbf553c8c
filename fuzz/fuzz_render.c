/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_render.c - the render pipeline on a dataset and a decoded frame built from the input:
 * fuzzed geometry and bit depths, photometric interpretation, rescale, windows, VOI function,
 * Modality/VOI LUT sequences, palettes and functional groups; then PNG and JPEG encoding.
 *
 * Input layout: 12 header bytes (see build_frame and build_ds), then length-prefixed attribute
 * values, the rest is the frame's bytes.  Geometry stays small (<= 24 x 24) to keep runs fast.
 * An input with "DICM" at offset 128 is instead parsed as a Part 10 file and its first frame
 * rendered through render_frame() (parser and frame decoder included). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "dicom/dicom.h"
#include "dicom/pixel.h"
#include "render/render.h"

#include "common/banned.h"

typedef struct rd {
    const uint8_t *p;
    size_t n;
} rd;

static uint8_t take8(rd *r)
{
    uint8_t v;

    if (!r->n)
        return 0;
    v = *r->p;
    r->p++;
    r->n--;
    return v;
}

/* Takes up to want bytes; *len gets what was available. */
static const uint8_t *take(rd *r, size_t want, size_t *len)
{
    const uint8_t *p = r->p;

    if (want > r->n)
        want = r->n;
    r->p += want;
    r->n -= want;
    *len = want;
    return p;
}

/* Sets tag to a length-prefixed value from the input (at most max bytes). */
static void put(dcm_file *f, dcm_ds *ds, rd *r, uint32_t tag, dcm_vr vr, size_t max)
{
    size_t len;
    const uint8_t *p = take(r, take8(r) % (max + 1), &len);

    if (dcm_ds_set(f, ds, tag, vr, p, (uint32_t)len) != DV_OK)
        abort();
}

static dcm_ds *item_of(dcm_file *f, dcm_ds *ds, uint32_t tag)
{
    dcm_elem *sq;
    dcm_ds *item;

    if (dcm_ds_insert(f, ds, tag, DCM_VR_SQ, &sq) != DV_OK ||
        dcm_elem_add_item(f, sq, &item) != DV_OK)
        abort();
    return item;
}

static void put_window(dcm_file *f, dcm_ds *ds, rd *r)
{
    put(f, ds, r, DCM_TAG(0x0028, 0x1050), DCM_VR_DS, 24);
    put(f, ds, r, DCM_TAG(0x0028, 0x1051), DCM_VR_DS, 24);
    put(f, ds, r, DCM_TAG(0x0028, 0x1056), DCM_VR_CS, 16);
}

static void put_lut(dcm_file *f, dcm_ds *ds, rd *r)
{
    put(f, ds, r, DCM_TAG(0x0028, 0x3002), take8(r) & 1 ? DCM_VR_SS : DCM_VR_US, 8);
    put(f, ds, r, DCM_TAG(0x0028, 0x3006), DCM_VR_OW, 255);
}

static void build_ds(dcm_file *f, unsigned flags, rd *r)
{
    unsigned c;

    if (flags & 0x01)
        put_window(f, &f->ds, r);
    if (flags & 0x02) {
        put(f, &f->ds, r, DCM_TAG(0x0028, 0x1052), DCM_VR_DS, 24);
        put(f, &f->ds, r, DCM_TAG(0x0028, 0x1053), DCM_VR_DS, 24);
    }
    if (flags & 0x04)
        put_lut(f, item_of(f, &f->ds, DCM_TAG(0x0028, 0x3000)), r);
    if (flags & 0x08)
        put_lut(f, item_of(f, &f->ds, DCM_TAG(0x0028, 0x3010)), r);
    if (flags & 0x10)
        for (c = 0; c < 3; c++) {
            put(f, &f->ds, r, DCM_TAG(0x0028, 0x1101 + c), DCM_VR_US, 8);
            put(f, &f->ds, r, DCM_TAG(0x0028, 0x1201 + c), DCM_VR_OW, 255);
        }
    if (flags & 0x20)
        put_window(
            f, item_of(f, item_of(f, &f->ds, DCM_TAG(0x5200, 0x9229)), DCM_TAG(0x0028, 0x9132)), r);
    if (flags & 0x40) {
        dcm_ds *pf = item_of(f, &f->ds, DCM_TAG(0x5200, 0x9230));
        put(f, item_of(f, pf, DCM_TAG(0x0028, 0x9145)), r, DCM_TAG(0x0028, 0x1053), DCM_VR_DS, 24);
    }
}

static const char *const photos[] = {"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB",
                                     "YBR_FULL",    "YBR_ICT",     "YBR_FULL_422",  ""};

static void build_frame(dcm_frame *fr, const uint8_t *h, rd *r)
{
    static const uint32_t alloc[4] = {1, 8, 16, 32};
    size_t len;
    const uint8_t *p;

    fr->pi.rows = 1 + h[0] % 24;
    fr->pi.cols = 1 + h[1] % 24;
    fr->pi.samples = h[2] & 1 ? 3 : 1;
    fr->pi.bits_alloc = alloc[h[3] % 4];
    fr->pi.bits_stored = 1 + h[4] % (fr->pi.bits_alloc + 1); /* sometimes one too many */
    fr->pi.high_bit = h[5] % 40;
    fr->pi.pixel_rep = h[6] & 1;
    fr->pi.frames = 1;
    memcpy(fr->pi.photometric, photos[h[7] % 8], strlen(photos[h[7] % 8]) + 1);
    p = take(r, r->n, &len);
    fr->data = malloc(len ? len : 1);
    if (!fr->data)
        abort();
    if (len)
        memcpy(fr->data, p, len);
    fr->len = len;
}

static void encode(const render_image *im, unsigned q)
{
    dv_buf b;
    dv_errinfo ei;

    dv_buf_init(&b, 1 << 20);
    if (render_png(im, &b, &ei) == DV_OK && b.len < 8)
        abort();
    dv_buf_reset(&b);
    if (q && render_jpeg(im, (int)q, &b, &ei) == DV_OK && b.len < 4)
        abort();
    dv_buf_release(&b);
}

/* A whole Part 10 file: parse, decode frame 0 and render it with the file's own LUTs. */
static void part10(const uint8_t *data, size_t size)
{
    dcm_limits lim;
    dcm_file *f = NULL;
    render_opts o;
    render_image im = {0};
    dv_errinfo ei;

    dcm_limits_default(&lim);
    lim.max_total = 64u << 20;
    render_opts_init(&o);
    o.max_bytes = 16u << 20;
    if (dcm_parse(data, size, 0, &lim, &f, &ei) != DV_OK)
        return;
    if (render_frame(f, 0, &o, &im, &ei) == DV_OK)
        encode(&im, 0);
    else if (im.pixels)
        abort();
    render_image_release(&im);
    dcm_file_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dcm_file *f = NULL;
    dcm_frame fr;
    render_opts o;
    render_image im = {0};
    dv_errinfo ei;
    rd r = {data, size};
    uint8_t h[12];
    size_t i;

    if (size >= 132 && !memcmp(data + 128, "DICM", 4)) {
        part10(data, size);
        return 0;
    }
    if (size < sizeof(h))
        return 0;
    for (i = 0; i < sizeof(h); i++)
        h[i] = take8(&r);
    if (dcm_file_new(&f) != DV_OK)
        abort();
    memset(&fr, 0, sizeof(fr));
    render_opts_init(&o);
    if (h[8] & 0x80) {
        o.has_window = 1;
        o.center = (double)(int8_t)h[9] * 16.0;
        o.width = (double)h[10] / 4.0;
    }
    o.voi = (render_voi_fn)(h[8] % 4);
    build_ds(f, h[11], &r);
    build_frame(&fr, h, &r);
    if (render_decoded(&f->ds, h[8] & 0x40 ? 1u : 0u, &fr, &o, &im, &ei) == DV_OK) {
        if (!im.pixels || im.width != fr.pi.cols || im.height != fr.pi.rows)
            abort();
        encode(&im, h[8] & 0x20 ? 1u + h[9] % 100u : 0u);
    } else if (im.pixels) {
        abort();
    }
    render_image_release(&im);
    free(fr.data);
    dcm_file_free(f);
    return 0;
}
