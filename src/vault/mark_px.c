/* SPDX-License-Identifier: Apache-2.0 */
/* mark_px.c - the conversions that let the export's watermark reach every image: palette colour
 * to RGB (plain and segmented LUTs), 1-bit to 8-bit, YBR_FULL to RGB, and the Image Pixel
 * attributes the marked copy must then say (see mark_px.h).
 *
 * LUT data comes from the file: every descriptor, length, segment and offset is checked against
 * the bytes there before it is used, and the expansion of segments is bounded both in output
 * (the descriptor's number of entries) and in work (SEG_WORK_MAX segments).
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "vault/mark_px.h"

#include "common/banned.h"

#define TAG_DESC(c)       DCM_TAG(0x0028, 0x1101 + (c))
#define TAG_DATA(c)       DCM_TAG(0x0028, 0x1201 + (c))
#define TAG_SEG(c)        DCM_TAG(0x0028, 0x1221 + (c))
#define TAG_SAMPLES       DCM_TAG(0x0028, 0x0002)
#define TAG_PHOTOMETRIC   DCM_TAG(0x0028, 0x0004)
#define TAG_PLANAR        DCM_TAG(0x0028, 0x0006)
#define TAG_BITS_ALLOC    DCM_TAG(0x0028, 0x0100)
#define TAG_BITS_STORED   DCM_TAG(0x0028, 0x0101)
#define TAG_HIGH_BIT      DCM_TAG(0x0028, 0x0102)
#define TAG_PIXEL_REP     DCM_TAG(0x0028, 0x0103)
#define TAG_PALETTE_UID   DCM_TAG(0x0028, 0x1199)
#define TAG_SEG_TYPE      DCM_TAG(0x0062, 0x0001)
#define TAG_SEG_MAX_FRAC  DCM_TAG(0x0062, 0x000E)
#define TAG_SEG_FRAC_TYPE DCM_TAG(0x0062, 0x0010)
#define PAL_MAX           65536u
#define SEG_WORK_MAX      (1u << 22) /* segments expanded for one table, indirect ones included */

/* One channel's table as stored: n entries of up to 16 bits (words == 0: packed bytes). */
typedef struct raw_lut {
    uint16_t *v;
    uint32_t n;
    int32_t first;
    int words;
} raw_lut;

/* Where segment expansion is: the data (nw words), the table filled so far, the work done. */
typedef struct seg_state {
    const uint8_t *w;
    uint32_t nw;
    uint32_t tag;
    raw_lut *l;
    uint32_t out;
    uint32_t work;
} seg_state;

static dv_err bad(dv_errinfo *ei, uint32_t tag, const char *what)
{
    return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, tag, "%s", what);
}

static dv_err read_desc(const dcm_ds *ds, unsigned c, int signed_px, raw_lut *l, dv_errinfo *ei)
{
    const dcm_elem *d = dcm_ds_find(ds, TAG_DESC(c));
    unsigned bits;
    uint16_t first;

    if (!d)
        return bad(ei, TAG_DESC(c), "PALETTE COLOR image without its palette descriptor");
    if (d->len < 6 || !d->val)
        return bad(ei, TAG_DESC(c), "palette descriptor needs 3 values");
    l->n = dv_le16(d->val) ? dv_le16(d->val) : PAL_MAX;
    first = dv_le16(d->val + 2);
    l->first = signed_px || d->vr == DCM_VR_SS ? (int32_t)(int16_t)first : (int32_t)first;
    bits = dv_le16(d->val + 4);
    if (bits < 1 || bits > 16)
        return bad(ei, TAG_DESC(c), "palette entries must have 1 to 16 bits");
    l->words = bits > 8; /* plain data may still hold 8-bit entries in words: read_plain */
    return DV_OK;
}

static dv_err read_plain(const dcm_elem *v, uint32_t tag, raw_lut *l, dv_errinfo *ei)
{
    uint32_t i;

    if (v->val && v->len / 2 >= l->n) {
        l->words = 1;
        for (i = 0; i < l->n; i++)
            l->v[i] = dv_le16(v->val + 2 * (size_t)i);
        return DV_OK;
    }
    if (v->val && !l->words && v->len >= l->n) {
        for (i = 0; i < l->n; i++)
            l->v[i] = v->val[i];
        return DV_OK;
    }
    return bad(ei, tag, "palette LUT data is shorter than its descriptor announces");
}

static uint16_t seg_word(const seg_state *s, uint32_t pos)
{
    return dv_le16(s->w + 2 * (size_t)pos);
}

/* A linear segment: len entries on the line from the last entry to y1, ending on y1. */
static dv_err seg_linear(seg_state *s, uint32_t len, uint16_t y1, dv_errinfo *ei)
{
    int64_t y0;
    int64_t dy;
    uint32_t j;

    if (s->out == 0)
        return bad(ei, s->tag, "segmented palette LUT starts with a linear segment");
    y0 = s->l->v[s->out - 1];
    dy = (int64_t)y1 - y0;
    for (j = 1; j <= len; j++)
        s->l->v[s->out++] = (uint16_t)(y0 + (dy * j + (dy < 0 ? -(int64_t)len : len) / 2) / len);
    return DV_OK;
}

/* Expands up to count segments starting at word pos (all of them up to the end when count is
 * UINT32_MAX); inside an indirect segment (nested) a further indirect one is refused. */
static dv_err seg_run(seg_state *s, uint32_t pos, uint32_t count, int nested, dv_errinfo *ei)
{
    uint32_t k;
    dv_err e = DV_OK;

    for (k = 0; !e && k < count && pos < s->nw; k++) {
        uint32_t op, len, off;
        if (s->nw - pos < 2 || ++s->work > SEG_WORK_MAX)
            return bad(ei, s->tag, "segmented palette LUT: segment past the end or too many");
        op = seg_word(s, pos);
        len = seg_word(s, pos + 1);
        pos += 2;
        if (op != 2 && s->l->n - s->out < len)
            return bad(ei, s->tag, "segmented palette LUT expands past its descriptor's entries");
        if (op == 0) { /* discrete */
            if (s->nw - pos < len)
                return bad(ei, s->tag, "segmented palette LUT: discrete segment past the end");
            while (len--)
                s->l->v[s->out++] = seg_word(s, pos++);
        } else if (op == 1) { /* linear */
            if (s->nw - pos < 1)
                return bad(ei, s->tag, "segmented palette LUT: linear segment past the end");
            e = len ? seg_linear(s, len, seg_word(s, pos), ei) : DV_OK;
            pos++;
        } else if (op == 2 && !nested) { /* indirect: len segments from a byte offset */
            if (s->nw - pos < 2)
                return bad(ei, s->tag, "segmented palette LUT: indirect segment past the end");
            off = seg_word(s, pos) | (uint32_t)seg_word(s, pos + 1) << 16;
            pos += 2;
            if (off % 2 || off / 2 >= s->nw)
                return bad(ei, s->tag, "segmented palette LUT: indirect offset out of range");
            e = seg_run(s, off / 2, len, 1, ei);
        } else {
            return bad(ei, s->tag, "segmented palette LUT: unknown or nested segment type");
        }
    }
    if (!e && count != UINT32_MAX && k < count)
        e = bad(ei, s->tag, "segmented palette LUT: indirect segment past the end");
    return e;
}

static dv_err read_segmented(const dcm_elem *v, uint32_t tag, raw_lut *l, dv_errinfo *ei)
{
    seg_state s = {v->val, v->len / 2, tag, l, 0, 0};
    dv_err e;

    if (!v->val || v->len < 4)
        return bad(ei, tag, "segmented palette LUT data is empty");
    l->words = 1;
    e = seg_run(&s, 0, UINT32_MAX, 0, ei);
    if (!e && s.out != l->n)
        e = bad(ei, tag, "segmented palette LUT expands to fewer entries than its descriptor");
    return e;
}

static dv_err read_channel(const dcm_ds *ds, unsigned c, int signed_px, raw_lut *l, dv_errinfo *ei)
{
    const dcm_elem *plain = dcm_ds_find(ds, TAG_DATA(c));
    const dcm_elem *seg = dcm_ds_find(ds, TAG_SEG(c));
    dv_err e = read_desc(ds, c, signed_px, l, ei);

    if (e)
        return e;
    if (!plain && !seg)
        return bad(ei, TAG_DATA(c), "PALETTE COLOR image without its palette LUT data");
    l->v = malloc((size_t)l->n * sizeof(uint16_t));
    if (!l->v)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory for a palette");
    return plain ? read_plain(plain, TAG_DATA(c), l, ei) : read_segmented(seg, TAG_SEG(c), l, ei);
}

/* 16-bit entries keep their high byte unless every word entry of the three tables fits in 8
 * bits (8-bit values under a 16-bit descriptor, a known writer habit). */
static dv_err reduce(const raw_lut raw[3], vault_palette *pal, dv_errinfo *ei)
{
    unsigned shift = 0;
    unsigned c;
    uint32_t i;

    for (c = 0; c < 3; c++)
        for (i = 0; raw[c].words && i < raw[c].n; i++)
            shift = raw[c].v[i] > 255 ? 8 : shift;
    for (c = 0; c < 3; c++) {
        pal->tab[c] = malloc(raw[c].n);
        if (!pal->tab[c])
            return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory for a palette");
        pal->n[c] = raw[c].n;
        pal->first[c] = raw[c].first;
        for (i = 0; i < raw[c].n; i++)
            pal->tab[c][i] = (uint8_t)(raw[c].words ? raw[c].v[i] >> shift : raw[c].v[i]);
    }
    return DV_OK;
}

dv_err vault_palette_read(const dcm_ds *ds, int signed_px, vault_palette *pal, dv_errinfo *ei)
{
    raw_lut raw[3];
    unsigned c;
    dv_err e = DV_OK;

    memset(pal, 0, sizeof(*pal));
    memset(raw, 0, sizeof(raw));
    for (c = 0; !e && c < 3; c++)
        e = read_channel(ds, c, signed_px, &raw[c], ei);
    if (!e)
        e = reduce(raw, pal, ei);
    for (c = 0; c < 3; c++)
        free(raw[c].v);
    if (e)
        vault_palette_release(pal);
    return e;
}

void vault_palette_release(vault_palette *pal)
{
    unsigned c;

    if (!pal)
        return;
    for (c = 0; c < 3; c++)
        free(pal->tab[c]);
    memset(pal, 0, sizeof(*pal));
}

/* Stored value of sample i of a 1-sample frame of 8 or 16 bits. */
static int64_t stored(const dcm_frame *fr, size_t i)
{
    const dcm_pixinfo *pi = &fr->pi;
    uint32_t raw = pi->bits_alloc == 8 ? fr->data[i] : dv_le16(fr->data + 2 * i);
    unsigned shift = pi->high_bit < pi->bits_alloc && pi->high_bit + 1 >= pi->bits_stored
                         ? pi->high_bit + 1 - pi->bits_stored
                         : 0; /* a high bit outside the sample: values in the low bits */
    uint32_t v = (raw >> shift) & ((1u << pi->bits_stored) - 1);

    if (pi->pixel_rep && (v >> (pi->bits_stored - 1)) & 1u)
        return (int64_t)v - ((int64_t)1 << pi->bits_stored);
    return v;
}

static uint8_t lookup(const vault_palette *pal, unsigned c, int64_t v)
{
    int64_t i = v - pal->first[c];

    i = i < 0 ? 0 : i >= (int64_t)pal->n[c] ? (int64_t)pal->n[c] - 1 : i;
    return pal->tab[c][i];
}

static dv_err palette_rgb(dcm_frame *fr, const vault_palette *pal, dv_errinfo *ei)
{
    dcm_pixinfo *pi = &fr->pi;
    size_t n = (size_t)pi->rows * pi->cols;
    uint8_t *rgb;
    size_t i;
    unsigned c;

    if (!pal || pi->samples != 1 || (pi->bits_alloc != 8 && pi->bits_alloc != 16) ||
        pi->bits_stored < 1 || pi->bits_stored > pi->bits_alloc || !fr->data ||
        fr->len / (pi->bits_alloc / 8) < n || n == 0 || n > SIZE_MAX / 3)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, TAG_PHOTOMETRIC,
                       "palette frame: no palette, or not 1 sample of 8 or 16 bits");
    rgb = malloc(n * 3);
    if (!rgb)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory for the frame");
    for (i = 0; i < n; i++) {
        int64_t v = stored(fr, i);
        for (c = 0; c < 3; c++)
            rgb[3 * i + c] = lookup(pal, c, v);
    }
    free(fr->data);
    fr->data = rgb;
    fr->len = n * 3;
    pi->samples = 3;
    pi->bits_alloc = 8;
    pi->bits_stored = 8;
    pi->high_bit = 7;
    pi->pixel_rep = 0;
    pi->planar = 0;
    memcpy(pi->photometric, "RGB", 4);
    return DV_OK;
}

dv_err vault_mark_px_convert(dcm_frame *fr, const vault_palette *pal, dv_errinfo *ei)
{
    dcm_pixinfo *pi = &fr->pi;
    size_t i;

    if (!strcmp(pi->photometric, "PALETTE COLOR"))
        return palette_rgb(fr, pal, ei);
    if (pi->bits_alloc == 1) {
        if (!fr->data || fr->len < dcm_frame_size(pi))
            return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                           "1-bit frame shorter than its geometry");
        for (i = 0; i < fr->len; i++)
            fr->data[i] = fr->data[i] ? 255 : 0;
        pi->bits_alloc = 8;
        pi->bits_stored = 8;
        pi->high_bit = 7;
        pi->pixel_rep = 0;
        return DV_OK;
    }
    if (pi->samples == 3 && pi->bits_alloc == 8 && !strcmp(pi->photometric, "YBR_FULL"))
        dcm_ybr_to_rgb(fr);
    return DV_OK;
}

/* ---- the attributes of the copy -------------------------------------------------------- */

static dv_err set_us(dcm_file *f, uint32_t tag, uint32_t v, dv_errinfo *ei)
{
    uint8_t b[2];
    dv_err e;

    dv_put_le16(b, (uint16_t)v);
    e = dcm_ds_set(f, &f->ds, tag, DCM_VR_US, b, 2);
    return e ? dv_fail(ei, e, DV_NO_OFFSET, tag, "cannot set a pixel attribute") : DV_OK;
}

static dv_err set_cs(dcm_file *f, uint32_t tag, const char *s, dv_errinfo *ei)
{
    dv_err e = dcm_ds_set_str(f, &f->ds, tag, DCM_VR_CS, s);

    return e ? dv_fail(ei, e, DV_NO_OFFSET, tag, "cannot set a pixel attribute") : DV_OK;
}

/* A BINARY segmentation whose frames became 8-bit 0/255 masks: the same masks as FRACTIONAL
 * (PS3.3 C.8.20.2: probability, maximum 255), as a segmentation with 8 bits must be. */
static dv_err seg_fractional(dcm_file *f, dv_errinfo *ei)
{
    char type[16];
    long n = dcm_ds_get_str(&f->ds, TAG_SEG_TYPE, type, sizeof(type));
    dv_err e;

    if (n < 0 || strcmp(type, "BINARY") != 0)
        return DV_OK;
    e = set_cs(f, TAG_SEG_TYPE, "FRACTIONAL", ei);
    if (!e)
        e = set_us(f, TAG_SEG_MAX_FRAC, 255, ei);
    if (!e)
        e = set_cs(f, TAG_SEG_FRAC_TYPE, "PROBABILITY", ei);
    return e;
}

static void drop_palette(dcm_file *f)
{
    unsigned c;

    for (c = 0; c < 4; c++) {
        dcm_ds_remove(&f->ds, TAG_DESC(c));
        dcm_ds_remove(&f->ds, TAG_DATA(c));
        dcm_ds_remove(&f->ds, TAG_SEG(c));
    }
    dcm_ds_remove(&f->ds, TAG_PALETTE_UID);
}

dv_err vault_mark_px_attrs(dcm_file *f, const dcm_pixinfo *was, const dcm_pixinfo *now,
                           dv_errinfo *ei)
{
    int depth = was->bits_alloc != now->bits_alloc || was->bits_stored != now->bits_stored ||
                was->pixel_rep != now->pixel_rep || was->samples != now->samples;
    dv_err e = set_cs(f, TAG_PHOTOMETRIC, now->photometric, ei);
    uint32_t t;

    if (!e && now->samples > 1)
        e = set_us(f, TAG_PLANAR, 0, ei);
    if (!e && was->samples != now->samples)
        e = set_us(f, TAG_SAMPLES, now->samples, ei);
    if (!e && depth) {
        e = set_us(f, TAG_BITS_ALLOC, now->bits_alloc, ei);
        if (!e)
            e = set_us(f, TAG_BITS_STORED, now->bits_stored, ei);
        if (!e)
            e = set_us(f, TAG_HIGH_BIT, now->high_bit, ei);
        if (!e)
            e = set_us(f, TAG_PIXEL_REP, now->pixel_rep, ei);
        for (t = DCM_TAG(0x0028, 0x0106); t <= DCM_TAG(0x0028, 0x0109); t++)
            dcm_ds_remove(&f->ds, t);
    }
    if (!e && !strcmp(was->photometric, "PALETTE COLOR") &&
        strcmp(now->photometric, "PALETTE COLOR") != 0)
        drop_palette(f);
    if (!e && was->bits_alloc == 1 && now->bits_alloc == 8)
        e = seg_fractional(f, ei);
    return e;
}
