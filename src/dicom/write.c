/* SPDX-License-Identifier: Apache-2.0 */
/* write.c - dataset and Part 10 encoder.
 *
 * Sequences and items are written with undefined length (so nested lengths never need a
 * second pass); group length elements other than (0002,0000) are dropped, as PS3.5 7.2
 * retired them; values are written as they are held (odd lengths are not padded, so a round
 * trip keeps every byte).
 */
#include <string.h>
#include <zlib.h>

#include "dicom/dicom.h"

#include "common/banned.h"

typedef struct wr {
    dv_buf *out;
    int explicit_vr;
    int big_endian;
    int encapsulated;
    dv_errinfo *ei;
} wr;

static dv_err put16(wr *w, uint16_t v)
{
    return w->big_endian ? dv_buf_add_u16be(w->out, v) : dv_buf_add_u16le(w->out, v);
}

static dv_err put32(wr *w, uint32_t v)
{
    return w->big_endian ? dv_buf_add_u32be(w->out, v) : dv_buf_add_u32le(w->out, v);
}

static dv_err put_tag(wr *w, uint32_t tag)
{
    dv_err e = put16(w, DCM_GROUP(tag));

    return e ? e : put16(w, DCM_ELEM(tag));
}

static dv_err put_header(wr *w, uint32_t tag, dcm_vr vr, uint32_t len)
{
    dv_err e = put_tag(w, tag);

    if (e)
        return e;
    if (!w->explicit_vr || DCM_GROUP(tag) == 0xFFFE)
        return put32(w, len);
    if (!dcm_vr_long_length(vr) && len > 0xFFFF)
        vr = DCM_VR_UN; /* too long for a 16-bit length: PS3.5 6.2.2 note */
    e = dv_buf_addc(w->out, (uint8_t)(vr >> 8));
    if (!e)
        e = dv_buf_addc(w->out, (uint8_t)vr);
    if (e)
        return e;
    if (dcm_vr_long_length(vr)) {
        e = put16(w, 0);
        if (e)
            return e;
        return put32(w, len);
    }
    return put16(w, (uint16_t)len);
}

static dv_err put_value(wr *w, const dcm_elem *el)
{
    unsigned width = w->big_endian ? dcm_vr_swap_width(el->vr) : 1;
    size_t start = w->out->len, i, k;
    dv_err e;

    e = dv_buf_add(w->out, el->val, el->len);
    if (e)
        return e;
    if (width > 1)
        for (i = start; i + width <= start + el->len; i += width)
            for (k = 0; k < width / 2; k++) {
                uint8_t t = w->out->p[i + k];

                w->out->p[i + k] = w->out->p[i + width - 1 - k];
                w->out->p[i + width - 1 - k] = t;
            }
    return DV_OK;
}

static dv_err write_ds(wr *w, const dcm_ds *ds, unsigned depth);

static dv_err write_sq(wr *w, const dcm_elem *el, unsigned depth)
{
    uint32_t i;
    dv_err e;

    if (depth > 64)
        return dv_fail(w->ei, DV_ELIMIT, DV_NO_OFFSET, el->tag, "sequences nested too deep");
    e = put_header(w, el->tag, DCM_VR_SQ, DCM_UNDEFINED_LENGTH);
    if (e)
        return e;
    for (i = 0; i < el->nitems; i++) {
        e = put_header(w, DCM_TAG_ITEM, DCM_VR_NONE, DCM_UNDEFINED_LENGTH);
        if (!e)
            e = write_ds(w, &el->items[i], depth + 1);
        if (!e)
            e = put_header(w, DCM_TAG_ITEM_DELIM, DCM_VR_NONE, 0);
        if (e)
            return e;
    }
    return put_header(w, DCM_TAG_SEQ_DELIM, DCM_VR_NONE, 0);
}

static dv_err write_frags(wr *w, const dcm_elem *el)
{
    uint32_t i;
    dv_err e;

    if (!w->encapsulated)
        return dv_fail(w->ei, DV_EUNSUPPORTED, DV_NO_OFFSET, el->tag,
                       "encapsulated pixel data needs a compressed transfer syntax");
    e = put_header(w, el->tag, DCM_VR_OB, DCM_UNDEFINED_LENGTH);
    if (e)
        return e;
    for (i = 0; i < el->nfrags; i++) {
        e = put_header(w, DCM_TAG_ITEM, DCM_VR_NONE, el->frags[i].len);
        if (!e)
            e = dv_buf_add(w->out, el->frags[i].p, el->frags[i].len);
        if (e)
            return e;
    }
    return put_header(w, DCM_TAG_SEQ_DELIM, DCM_VR_NONE, 0);
}

static dv_err write_elem(wr *w, const dcm_elem *el, unsigned depth)
{
    dv_err e;

    if (el->vr == DCM_VR_SQ)
        return write_sq(w, el, depth);
    if (el->frags)
        return write_frags(w, el);
    if (el->tag == DCM_TAG_PIXEL_DATA && w->encapsulated)
        return dv_fail(w->ei, DV_EUNSUPPORTED, DV_NO_OFFSET, el->tag,
                       "native pixel data cannot be labelled with a compressed transfer syntax");
    e = put_header(w, el->tag, el->vr, el->len);
    if (e)
        return e;
    return put_value(w, el);
}

static dv_err write_ds(wr *w, const dcm_ds *ds, unsigned depth)
{
    uint32_t i;
    dv_err e;

    for (i = 0; i < ds->n; i++) {
        const dcm_elem *el = &ds->e[i];

        if (DCM_ELEM(el->tag) == 0 && DCM_GROUP(el->tag) != 0x0002)
            continue; /* retired group lengths are not written */
        e = write_elem(w, el, depth);
        if (e)
            return e == DV_ELIMIT && !w->ei->msg[0]
                       ? dv_fail(w->ei, e, DV_NO_OFFSET, el->tag, "output too large")
                       : e;
    }
    return DV_OK;
}

static dv_err deflate_into(const uint8_t *p, size_t len, dv_buf *out, dv_errinfo *ei)
{
    z_stream z;
    int zr;
    dv_err e = DV_OK;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "zlib init failed");
    z.next_in = (Bytef *)(uintptr_t)p;
    do {
        size_t room = out->max - out->len, chunk = room < (1u << 20) ? room : (1u << 20);

        if (z.avail_in == 0 && (size_t)(z.next_in - p) < len) {
            size_t rest = len - (size_t)(z.next_in - p);

            z.avail_in = rest > (1u << 30) ? (1u << 30) : (uInt)rest;
        }
        if (chunk == 0) {
            e = dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "deflated output too large");
            break;
        }
        e = dv_buf_reserve(out, chunk);
        if (e)
            break;
        z.next_out = out->p + out->len;
        z.avail_out = (uInt)chunk;
        zr = deflate(&z, (size_t)(z.next_in - p) + z.avail_in >= len ? Z_FINISH : Z_NO_FLUSH);
        out->len += chunk - z.avail_out;
        if (zr == Z_STREAM_ERROR) {
            e = dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DV_NO_TAG, "deflate failed");
            break;
        }
    } while (zr != Z_STREAM_END);
    (void)deflateEnd(&z);
    if (!e && out->len & 1)
        e = dv_buf_addc(out, 0); /* PS3.5 A.5: pad the deflated stream to even length */
    return e;
}

dv_err dcm_write_dataset(const dcm_ds *ds, const dcm_ts *ts, dv_buf *out, dv_errinfo *ei)
{
    dv_errinfo local;
    wr w = {out, ts->explicit_vr, ts->big_endian, ts->encapsulated, ei ? ei : &local};
    dv_buf tmp;
    dv_err e;

    dv_errinfo_clear(w.ei);
    if (!ts->deflated)
        return write_ds(&w, ds, 0);
    dv_buf_init(&tmp, out->max);
    w.out = &tmp;
    e = write_ds(&w, ds, 0);
    if (!e)
        e = deflate_into(tmp.p, tmp.len, out, w.ei);
    dv_buf_release(&tmp);
    return e;
}

/* Copies a UI value of the dataset into the meta group when the meta lacks it. */
static dv_err meta_from_ds(dcm_file *f, uint32_t meta_tag, uint32_t ds_tag)
{
    const dcm_elem *src = dcm_ds_find(&f->ds, ds_tag);

    if (dcm_ds_find(&f->meta, meta_tag) || !src || !src->len)
        return DV_OK;
    return dcm_ds_set(f, &f->meta, meta_tag, DCM_VR_UI, src->val, src->len);
}

static dv_err build_meta(dcm_file *f, const dcm_ts *ts)
{
    static const uint8_t version[2] = {0, 1};
    dv_err e;

    e = DV_OK;
    if (!dcm_ds_find(&f->meta, DCM_TAG(2, 1)))
        e = dcm_ds_set(f, &f->meta, DCM_TAG(2, 1), DCM_VR_OB, version, 2);
    if (!e)
        e = meta_from_ds(f, DCM_TAG(2, 2), DCM_TAG(8, 0x16));
    if (!e)
        e = meta_from_ds(f, DCM_TAG(2, 3), DCM_TAG(8, 0x18));
    if (!e)
        e = dcm_ds_set_str(f, &f->meta, DCM_TAG_TRANSFER_SYNTAX, DCM_VR_UI, ts->uid);
    if (!e)
        e = dcm_ds_set_str(f, &f->meta, DCM_TAG(2, 0x12), DCM_VR_UI, DCMVAULT_IMPL_UID);
    if (!e)
        e = dcm_ds_set_str(f, &f->meta, DCM_TAG(2, 0x13), DCM_VR_SH, DCMVAULT_IMPL_VERSION);
    if (e)
        return e;
    dcm_ds_remove(&f->meta, DCM_TAG(2, 0));
    return DV_OK;
}

static int has_encapsulated_pixels(const dcm_ds *ds)
{
    const dcm_elem *px = dcm_ds_find(ds, DCM_TAG_PIXEL_DATA);

    return px && px->frags;
}

dv_err dcm_write_part10(dcm_file *f, const dcm_ts *ts, dv_buf *out, dv_errinfo *ei)
{
    static const uint8_t zeros[128];
    wr w = {out, 1, 0, 0, ei};
    dv_errinfo local;
    size_t glen_at;
    dv_err e;

    if (!ei)
        w.ei = ei = &local;
    dv_errinfo_clear(ei);
    if (has_encapsulated_pixels(&f->ds) != (int)ts->encapsulated ||
        (ts->encapsulated && f->ts != ts))
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                       "cannot re-label pixel data from %s to %s without decoding", f->ts->name,
                       ts->name);
    e = build_meta(f, ts);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "cannot build the file meta group");
    e = dv_buf_add(out, f->has_preamble ? f->preamble : zeros, 128);
    if (!e)
        e = dv_buf_add(out, "DICM", 4);
    if (!e)
        e = put_header(&w, DCM_TAG(2, 0), DCM_VR_UL, 4);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "output too large");
    glen_at = out->len;
    e = put32(&w, 0);
    if (!e)
        e = write_ds(&w, &f->meta, 0);
    if (e)
        return e;
    dv_put_le32(out->p + glen_at, (uint32_t)(out->len - glen_at - 4));
    return dcm_write_dataset(&f->ds, ts, out, ei);
}
