/* SPDX-License-Identifier: Apache-2.0 */
/* parse.c - DICOM Part 10 and bare dataset reader.
 *
 * One reader walks a byte range in one encoding (explicit/implicit VR, little/big endian).
 * Every length is checked against the bytes left in the enclosing range and against the
 * limits before anything is allocated; nesting is bounded by limits.max_depth, element count
 * by limits.max_elements, all memory by the arena's max (limits.max_total).  Values point into
 * the input unless they had to be byte-swapped (big endian) or DCM_PARSE_COPY_VALUES is set.
 */
#include <string.h>

#include "dicom/dicom.h"
#include "dicom/parse_int.h"

#include "common/banned.h"

typedef struct rd {
    const uint8_t *p; /* bytes of this range */
    size_t len;
    size_t pos;
    uint64_t base; /* input offset of p[0] */
    int explicit_vr;
    int big_endian;
    size_t outer_len; /* end of the range that encloses the current sequence */
    uint32_t depth;
    dcm_file *f;
    const dcm_limits *lim;
    unsigned flags;
    dv_errinfo *ei;
    const dcm_ds *root; /* the top-level dataset, for PixelRepresentation / BitsAllocated */
} rd;

static uint16_t rd16(const rd *r, size_t at)
{
    return r->big_endian ? dv_be16(r->p + at) : dv_le16(r->p + at);
}

static uint32_t rd32(const rd *r, size_t at)
{
    return r->big_endian ? dv_be32(r->p + at) : dv_le32(r->p + at);
}

static uint64_t here(const rd *r)
{
    return r->base + r->pos;
}

static int is_vr_char(uint8_t c)
{
    return c >= 'A' && c <= 'Z';
}

static dv_err count_node(rd *r, uint32_t tag)
{
    if (++r->f->nelements > r->lim->max_elements)
        return dv_fail(r->ei, DV_ELIMIT, here(r), tag, "more than %u elements, items and fragments",
                       r->lim->max_elements);
    return DV_OK;
}

static dv_err oom(rd *r, uint32_t tag, size_t n)
{
    if (dv_arena_over(&r->f->arena, n))
        return dv_fail(r->ei, DV_ELIMIT, here(r), tag,
                       "decoded size passes the limit of %llu bytes",
                       (unsigned long long)r->lim->max_total);
    return dv_fail(r->ei, DV_ENOMEM, here(r), tag, "out of memory");
}

/* Element header as read from the input. */
typedef struct hdr {
    uint32_t tag;
    dcm_vr vr;
    uint32_t len;
    int vr_guessed;
    uint64_t off;
} hdr;

static dv_err read_header(rd *r, hdr *h)
{
    size_t left = r->len - r->pos;

    h->off = here(r);
    if (left < 8)
        return dv_fail(r->ei, DV_ETRUNC, h->off, DV_NO_TAG,
                       "element header needs 8 bytes, %zu left", left);
    h->tag = ((uint32_t)rd16(r, r->pos) << 16) | rd16(r, r->pos + 2);
    h->vr_guessed = 0;
    if (DCM_GROUP(h->tag) == 0xFFFE || !r->explicit_vr) {
        h->vr = DCM_GROUP(h->tag) == 0xFFFE ? DCM_VR_NONE : dcm_dict_vr(h->tag);
        h->vr_guessed = DCM_GROUP(h->tag) != 0xFFFE;
        h->len = rd32(r, r->pos + 4);
        r->pos += 8;
        return DV_OK;
    }
    if (!is_vr_char(r->p[r->pos + 4]) || !is_vr_char(r->p[r->pos + 5]))
        return dv_fail(r->ei, DV_EMALFORMED, h->off, h->tag,
                       "explicit VR expected, found bytes 0x%02X 0x%02X", r->p[r->pos + 4],
                       r->p[r->pos + 5]);
    h->vr = DCM_VR(r->p[r->pos + 4], r->p[r->pos + 5]);
    if (!dcm_vr_known(h->vr)) {
        /* PS3.5 7.1.2: an unknown VR is read with the long form, like UN */
        dcm_warn(r->f, h->off, h->tag, "unknown VR read as UN");
        h->vr = DCM_VR_UN;
    }
    if (dcm_vr_long_length(h->vr)) {
        if (left < 12)
            return dv_fail(r->ei, DV_ETRUNC, h->off, h->tag,
                           "element header needs 12 bytes, %zu left", left);
        h->len = rd32(r, r->pos + 8);
        r->pos += 12;
    } else {
        h->len = rd16(r, r->pos + 6);
        r->pos += 8;
    }
    return DV_OK;
}

/* Swaps binary values of a big endian element into a little endian arena copy. */
static dv_err value_bytes(rd *r, const hdr *h, const uint8_t **out)
{
    unsigned w = r->big_endian ? dcm_vr_swap_width(h->vr) : 1;
    uint8_t *c;
    uint32_t i, k;

    if (w == 1 && !(r->flags & DCM_PARSE_COPY_VALUES)) {
        *out = r->p + r->pos;
        return DV_OK;
    }
    c = dv_arena_dup(&r->f->arena, r->p + r->pos, h->len);
    if (!c)
        return oom(r, h->tag, h->len);
    if (w > 1) {
        if (h->len % w)
            dcm_warn(r->f, h->off, h->tag, "length %u is not a multiple of %u", h->len, w);
        for (i = 0; i + w <= h->len; i += w)
            for (k = 0; k < w / 2; k++) {
                uint8_t t = c[i + k];

                c[i + k] = c[i + w - 1 - k];
                c[i + w - 1 - k] = t;
            }
    }
    *out = c;
    return DV_OK;
}

static dv_err read_dataset(rd *r, dcm_ds *ds, int in_item, uint32_t stop_tag);

/* Makes room for one more element of size sz in the arena array *arr (n used, *cap slots). */
static dv_err grow(rd *r, void **arr, uint32_t n, uint32_t *cap, size_t sz, uint32_t tag)
{
    uint32_t ncap;
    void *na;

    if (n < *cap)
        return DV_OK;
    ncap = *cap ? *cap * 2 : 4;
    na = dv_arena_alloc(&r->f->arena, (size_t)ncap * sz);
    if (!na)
        return oom(r, tag, (size_t)ncap * sz);
    if (n)
        memcpy(na, *arr, (size_t)n * sz);
    *arr = na;
    *cap = ncap;
    return DV_OK;
}

/* Reads one item's content into ds: defined length items through a bounded sub-reader. */
static dv_err read_item(rd *r, const hdr *ih, dcm_ds *item)
{
    uint32_t len = ih->len;
    rd sub;
    dv_err e;

    if (len == DCM_UNDEFINED_LENGTH)
        return read_dataset(r, item, 1, DCM_TAG_ITEM_DELIM);
    if (len > r->len - r->pos) {
        /* as DCMTK does: an item that overruns its sequence is read from the parent range, and
         * one that overruns the input is read as far as whole elements go */
        dcm_warn(r->f, ih->off, DCM_TAG_ITEM, "item length %u passes the end of its sequence", len);
        if (len > r->outer_len - r->pos)
            len = (uint32_t)(r->outer_len - r->pos);
    }
    sub = *r;
    sub.p = r->p + r->pos;
    sub.len = len;
    sub.outer_len = len;
    sub.pos = 0;
    sub.base = here(r);
    e = read_dataset(&sub, item, 1, 0);
    r->pos += len;
    return e;
}

/* Reads the items of a sequence (after its header) until the end of its range or its
 * delimiter. */
static dv_err read_items(rd *r, const hdr *h, dcm_elem *el)
{
    uint32_t cap = 0;
    hdr ih;
    dv_err e;

    while (r->pos < r->len) {
        e = read_header(r, &ih);
        if (e)
            return e;
        if (ih.tag == DCM_TAG_SEQ_DELIM) {
            if (h->len != DCM_UNDEFINED_LENGTH)
                dcm_warn(r->f, ih.off, h->tag, "sequence delimiter in defined-length sequence");
            return DV_OK;
        }
        if (ih.tag != DCM_TAG_ITEM)
            return dv_fail(r->ei, DV_EMALFORMED, ih.off, h->tag,
                           "expected an item (FFFE,E000) in the sequence, found (%04X,%04X)",
                           DCM_GROUP(ih.tag), DCM_ELEM(ih.tag));
        e = count_node(r, h->tag);
        if (e)
            return e;
        e = grow(r, (void **)&el->items, el->nitems, &cap, sizeof(dcm_ds), h->tag);
        if (e)
            return e;
        memset(&el->items[el->nitems], 0, sizeof(dcm_ds));
        e = read_item(r, &ih, &el->items[el->nitems]);
        el->nitems++;
        if (e)
            return e;
    }
    if (h->len == DCM_UNDEFINED_LENGTH)
        return dv_fail(r->ei, DV_ETRUNC, here(r), h->tag,
                       "input ends inside a sequence of undefined length");
    return DV_OK;
}

static dv_err read_sequence(rd *r, const hdr *h, dcm_elem *el)
{
    size_t save_len = r->len, save_outer = r->outer_len;
    dv_err e;

    if (r->depth + 1 > r->lim->max_depth)
        return dv_fail(r->ei, DV_ELIMIT, h->off, h->tag, "sequences nested deeper than %u",
                       r->lim->max_depth);
    el->vr = DCM_VR_SQ;
    el->undef_len = h->len == DCM_UNDEFINED_LENGTH;
    r->outer_len = r->len;
    if (h->len != DCM_UNDEFINED_LENGTH)
        r->len = r->pos + h->len; /* the caller checked h->len against the bytes left */
    r->depth++;
    e = read_items(r, h, el);
    r->depth--;
    r->len = save_len;
    r->outer_len = save_outer;
    return e;
}

/* Reads encapsulated pixel data fragments until the sequence delimiter. */
static dv_err read_fragments(rd *r, const hdr *h, dcm_elem *el)
{
    uint32_t cap = 0;
    hdr ih;
    dv_err e;

    el->undef_len = 1;
    for (;;) {
        if (r->pos >= r->len)
            return dv_fail(r->ei, DV_ETRUNC, here(r), h->tag,
                           "input ends inside encapsulated pixel data");
        e = read_header(r, &ih);
        if (e)
            return e;
        if (ih.tag == DCM_TAG_SEQ_DELIM)
            return DV_OK;
        if (ih.tag != DCM_TAG_ITEM)
            return dv_fail(r->ei, DV_EMALFORMED, ih.off, h->tag,
                           "expected a fragment item, found (%04X,%04X)", DCM_GROUP(ih.tag),
                           DCM_ELEM(ih.tag));
        if (ih.len == DCM_UNDEFINED_LENGTH || ih.len > r->len - r->pos)
            return dv_fail(r->ei, DV_ETRUNC, ih.off, h->tag,
                           "fragment length %u passes the %zu bytes left", ih.len, r->len - r->pos);
        e = count_node(r, h->tag);
        if (e)
            return e;
        e = grow(r, (void **)&el->frags, el->nfrags, &cap, sizeof(dcm_frag), h->tag);
        if (e)
            return e;
        el->frags[el->nfrags].p = r->p + r->pos;
        el->frags[el->nfrags].len = ih.len;
        if (r->flags & DCM_PARSE_COPY_VALUES) {
            el->frags[el->nfrags].p = dv_arena_dup(&r->f->arena, r->p + r->pos, ih.len);
            if (!el->frags[el->nfrags].p)
                return oom(r, h->tag, ih.len);
        }
        el->nfrags++;
        r->pos += ih.len;
    }
}

/* A sequence in a UN element of undefined length is encoded in implicit VR LE (PS3.5 6.2.2). */
static dv_err read_un_sequence(rd *r, const hdr *h, dcm_elem *el)
{
    int ex = r->explicit_vr, be = r->big_endian;
    dv_err e;

    r->explicit_vr = 0;
    r->big_endian = 0;
    e = read_sequence(r, h, el);
    r->explicit_vr = ex;
    r->big_endian = be;
    return e;
}

static dv_err read_value(rd *r, const hdr *h, dcm_elem *el)
{
    dv_err e;

    if (h->len == DCM_UNDEFINED_LENGTH) {
        if (h->tag == DCM_TAG_PIXEL_DATA && h->vr != DCM_VR_SQ)
            return read_fragments(r, h, el);
        if (h->vr == DCM_VR_UN && r->explicit_vr)
            return read_un_sequence(r, h, el);
        return read_sequence(r, h, el);
    }
    if (h->len > r->len - r->pos)
        return dv_fail(r->ei, DV_ETRUNC, h->off, h->tag,
                       "value length %u passes the %zu bytes left", h->len, r->len - r->pos);
    if (h->len > r->lim->max_value)
        return dv_fail(r->ei, DV_ELIMIT, h->off, h->tag, "value length %u passes the limit %llu",
                       h->len, (unsigned long long)r->lim->max_value);
    if (h->vr == DCM_VR_SQ) {
        size_t end = r->pos + h->len;

        e = read_sequence(r, h, el);
        if (r->pos < end)
            r->pos = end;
        return e;
    }
    if (h->len & 1)
        dcm_warn(r->f, h->off, h->tag, "odd value length %u", h->len);
    el->len = h->len;
    if (h->len) {
        e = value_bytes(r, h, &el->val);
        if (e)
            return e;
    }
    r->pos += h->len;
    return DV_OK;
}

/* Implicit VR: resolves the dictionary's "OB or OW" / "US or SS" choices as PS3.5 A.1 and
 * DCMTK do (from BitsAllocated / PixelRepresentation of the top-level dataset). */
static void resolve_implicit_vr(const rd *r, const dcm_ds *ds, hdr *h)
{
    const dcm_dict_entry *d;
    long v;

    if (!h->vr_guessed || h->vr == DCM_VR_UN)
        return;
    d = dcm_dict_find(h->tag);
    if (!d || !d->vr2)
        return;
    if (h->tag == DCM_TAG_PIXEL_DATA && dcm_ds_get_int(ds, DCM_TAG(0x0028, 0x0100), 0, &v) == DV_OK)
        h->vr = v > 8 ? DCM_VR_OW : DCM_VR_OB;
    else if (d->vr == DCM_VR_US && d->vr2 == DCM_VR_SS &&
             dcm_ds_get_int(r->root ? r->root : ds, DCM_TAG(0x0028, 0x0103), 0, &v) == DV_OK &&
             v == 1)
        h->vr = DCM_VR_SS;
}

static dv_err read_element(rd *r, dcm_ds *ds, hdr *h)
{
    dcm_elem *el;
    dcm_ds dup_sink = {0};
    dv_err e;

    e = count_node(r, h->tag);
    if (e)
        return e;
    resolve_implicit_vr(r, ds, h);
    if (ds->n && ds->e[ds->n - 1].tag >= h->tag) {
        if (dcm_ds_find(ds, h->tag)) {
            dcm_warn(r->f, h->off, h->tag, "duplicate element ignored");
            ds = &dup_sink;
        } else {
            dcm_warn(r->f, h->off, h->tag, "element out of order");
        }
    }
    e = dcm_ds_insert(r->f, ds, h->tag, h->vr, &el);
    if (e)
        return e == DV_ELIMIT ? oom(r, h->tag, 1)
                              : dv_fail(r->ei, e, h->off, h->tag, "cannot store element");
    el->offset = h->off;
    el->vr_guessed = (uint8_t)h->vr_guessed;
    return read_value(r, h, el);
}

static int all_zero(const uint8_t *p, size_t n)
{
    while (n--)
        if (p[n])
            return 0;
    return 1;
}

/* Reads elements until the range ends or stop_tag (an item delimiter) is met. */
static dv_err read_dataset(rd *r, dcm_ds *ds, int in_item, uint32_t stop_tag)
{
    hdr h;
    dv_err e;

    while (r->pos < r->len) {
        if (!in_item && r->len - r->pos < 8 && all_zero(r->p + r->pos, r->len - r->pos)) {
            dcm_warn(r->f, here(r), DV_NO_TAG, "%zu trailing zero bytes ignored", r->len - r->pos);
            r->pos = r->len;
            break;
        }
        e = read_header(r, &h);
        if (e)
            return e;
        if (stop_tag && h.tag == stop_tag)
            return DV_OK;
        if (DCM_GROUP(h.tag) == 0xFFFE) {
            if (!in_item && h.tag == DCM_TAG_SEQ_DELIM) {
                dcm_warn(r->f, h.off, h.tag, "stray sequence delimiter ignored");
                continue;
            }
            return dv_fail(r->ei, DV_EMALFORMED, h.off, h.tag,
                           "item or delimiter outside a sequence");
        }
        if (!in_item && h.tag == DCM_TAG_PIXEL_DATA && (r->flags & DCM_PARSE_STOP_BEFORE_PIXELS))
            return DV_OK;
        e = read_element(r, ds, &h);
        if (e)
            return e;
    }
    if (stop_tag)
        return dv_fail(r->ei, DV_ETRUNC, here(r), DV_NO_TAG,
                       "input ends inside an item of undefined length");
    return DV_OK;
}

dv_err dcm_parse_range(dcm_file *f, const uint8_t *p, size_t len, uint64_t base, int explicit_vr,
                       int big_endian, unsigned flags, const dcm_limits *lim, dcm_ds *ds,
                       dv_errinfo *ei)
{
    rd r = {p, len, 0, base, explicit_vr, big_endian, len, 0, f, lim, flags, ei, ds};

    return read_dataset(&r, ds, 0, 0);
}
