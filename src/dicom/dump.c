/* SPDX-License-Identifier: Apache-2.0 */
/* dump.c - text listing of a dataset in DCMTK dcmdump's layout.
 *
 * One line per element: "(gggg,eeee) VR value   # length, VM Keyword", items and nested
 * elements indented by two spaces per level, the '#' column at 56 + 2 * level.  Values are
 * printed as stored (no character set conversion) unless the caller converts; long values are
 * shortened to DUMP_SHORT characters unless DCM_DUMP_ALL is given.
 */
#include <stdio.h>
#include <string.h>

#include "dicom/dump.h"

#include "common/banned.h"

#define DUMP_SHORT     64
#define DUMP_MAX_DEPTH 64

typedef struct dumper {
    dv_buf *out;
    unsigned flags;
    dv_buf line;
    FILE *sink; /* when set, out is written there whenever it passes DUMP_FLUSH bytes */
} dumper;

#define DUMP_FLUSH (1u << 20)

static uint32_t trimmed_len(const dcm_elem *el);

static unsigned string_vm(const dcm_elem *el)
{
    unsigned vm = 1;
    uint32_t i;

    if (!trimmed_len(el))
        return 0;
    if (el->vr == DCM_VR_LT || el->vr == DCM_VR_ST || el->vr == DCM_VR_UT || el->vr == DCM_VR_UR)
        return 1;
    for (i = 0; i < el->len; i++)
        vm += el->val[i] == '\\';
    return vm;
}

unsigned dcm_elem_vm(const dcm_elem *el)
{
    unsigned w;

    if (el->vr == DCM_VR_SQ || el->frags)
        return 1;
    if (dcm_vr_is_string(el->vr))
        return string_vm(el);
    if (!el->len)
        return 0;
    if (el->vr == DCM_VR_AT)
        return el->len / 4;
    w = dcm_vr_swap_width(el->vr);
    if (w == 1 || el->vr == DCM_VR_OW || el->vr == DCM_VR_OF || el->vr == DCM_VR_OD ||
        el->vr == DCM_VR_OL || el->vr == DCM_VR_OV)
        return 1;
    return el->len / w;
}

const char *dcm_tag_keyword(uint32_t tag)
{
    const dcm_dict_entry *d;

    if (DCM_GROUP(tag) & 1) {
        if (DCM_ELEM(tag) == 0)
            return "PrivateGroupLength";
        if (DCM_ELEM(tag) >= 0x10 && DCM_ELEM(tag) <= 0xFF)
            return "PrivateCreator";
        return "Unknown Tag & Data";
    }
    d = dcm_dict_find(tag);
    if (d)
        return d->keyword;
    return DCM_ELEM(tag) == 0 ? "GenericGroupLength" : "Unknown Tag & Data";
}

/* Length of a string value without its padding (NUL for UI, spaces otherwise), as dcmdump. */
static uint32_t trimmed_len(const dcm_elem *el)
{
    uint32_t n = el->len;
    uint8_t pad = el->vr == DCM_VR_UI ? 0 : ' ';

    while (n && el->val[n - 1] == pad)
        n--;
    return n;
}

static dv_err fmt_string(dumper *d, const dcm_elem *el)
{
    uint32_t n = trimmed_len(el);
    dv_err e;

    if (!(d->flags & DCM_DUMP_ALL) && n > DUMP_SHORT)
        n = DUMP_SHORT;
    e = dv_buf_addc(&d->line, '[');
    if (!e)
        e = dv_buf_add(&d->line, el->val, n);
    if (e)
        return e;
    if (n < el->len && !(d->flags & DCM_DUMP_ALL) && n == DUMP_SHORT)
        return dv_buf_adds(&d->line, "...]");
    return dv_buf_addc(&d->line, ']');
}

static dv_err fmt_number(dumper *d, const dcm_elem *el, uint32_t i)
{
    const uint8_t *p = el->val + i;
    float f;
    double db;
    uint32_t u;
    uint64_t u64;

    switch (el->vr) {
    case DCM_VR_US:
        return dv_buf_printf(&d->line, "%u", dv_le16(p));
    case DCM_VR_SS:
        return dv_buf_printf(&d->line, "%d", (int16_t)dv_le16(p));
    case DCM_VR_UL:
        return dv_buf_printf(&d->line, "%u", dv_le32(p));
    case DCM_VR_SL:
        return dv_buf_printf(&d->line, "%d", (int32_t)dv_le32(p));
    case DCM_VR_AT:
        return dv_buf_printf(&d->line, "(%04x,%04x)", dv_le16(p), dv_le16(p + 2));
    case DCM_VR_FL:
    case DCM_VR_OF:
        u = dv_le32(p);
        memcpy(&f, &u, 4);
        return dv_buf_printf(&d->line, "%.8g", (double)f);
    case DCM_VR_FD:
    case DCM_VR_OD:
        u64 = (uint64_t)dv_le32(p) | ((uint64_t)dv_le32(p + 4) << 32);
        memcpy(&db, &u64, 8);
        return dv_buf_printf(&d->line, "%.17g", db);
    case DCM_VR_SV:
        u64 = (uint64_t)dv_le32(p) | ((uint64_t)dv_le32(p + 4) << 32);
        return dv_buf_printf(&d->line, "%lld", (long long)(int64_t)u64);
    case DCM_VR_UV:
        u64 = (uint64_t)dv_le32(p) | ((uint64_t)dv_le32(p + 4) << 32);
        return dv_buf_printf(&d->line, "%llu", (unsigned long long)u64);
    case DCM_VR_OL:
        return dv_buf_printf(&d->line, "%08x", dv_le32(p));
    case DCM_VR_OW:
        return dv_buf_printf(&d->line, "%04x", dv_le16(p));
    default:
        return dv_buf_printf(&d->line, "%02x", p[0]);
    }
}

static unsigned print_width(dcm_vr vr)
{
    if (vr == DCM_VR_AT)
        return 4;
    if (vr == DCM_VR_US || vr == DCM_VR_SS || vr == DCM_VR_OW || vr == DCM_VR_UL ||
        vr == DCM_VR_SL || vr == DCM_VR_FL || vr == DCM_VR_OF || vr == DCM_VR_OL ||
        vr == DCM_VR_FD || vr == DCM_VR_OD || vr == DCM_VR_SV || vr == DCM_VR_UV || vr == DCM_VR_OV)
        return dcm_vr_swap_width(vr);
    return 1;
}

/* Appends n bytes as two-digit hex separated by backslashes (OB, UN, fragments). */
static dv_err fmt_hex_bytes(dumper *d, const uint8_t *val, uint32_t len)
{
    static const char hex[] = "0123456789abcdef";
    uint32_t i, n = len;
    uint8_t *o;
    dv_err e;

    if (!(d->flags & DCM_DUMP_ALL) && n > 28)
        n = 28; /* about DUMP_SHORT + 20 characters, as for other binary values */
    e = dv_buf_reserve(&d->line, (size_t)n * 3 + 3);
    if (e)
        return e;
    o = d->line.p + d->line.len;
    for (i = 0; i < n; i++) {
        if (i)
            *o++ = '\\';
        *o++ = (uint8_t)hex[val[i] >> 4];
        *o++ = (uint8_t)hex[val[i] & 15];
    }
    if (n < len) {
        memcpy(o, "\\...", 4); /* NOLINT(bugprone-not-null-terminated-result): NUL added below */
        o += 4;
    }
    d->line.len = (size_t)(o - d->line.p);
    d->line.p[d->line.len] = 0;
    return DV_OK;
}

static dv_err fmt_binary(dumper *d, const uint8_t *val, uint32_t len, dcm_vr vr)
{
    dcm_elem tmp = {0};
    unsigned w = print_width(vr);
    uint32_t i;
    dv_err e;

    if (w == 1)
        return fmt_hex_bytes(d, val, len);
    tmp.vr = vr;
    tmp.val = val;
    tmp.len = len;
    for (i = 0; i + w <= len; i += w) {
        if (i) {
            e = dv_buf_addc(&d->line, '\\');
            if (e)
                return e;
        }
        if (!(d->flags & DCM_DUMP_ALL) && d->line.len > DUMP_SHORT + 20)
            return dv_buf_adds(&d->line, "...");
        e = fmt_number(d, &tmp, i);
        if (e)
            return e;
    }
    return DV_OK;
}

/* Pads the line to the '#' column and appends the length, VM and keyword. */
static dv_err finish_line(dumper *d, unsigned level, const char *len, unsigned vm, const char *kw)
{
    size_t col = 55 + 2 * (size_t)level;
    dv_err e;

    if (d->line.len < col) {
        e = dv_buf_reserve(&d->line, col - d->line.len);
        if (e)
            return e;
        memset(d->line.p + d->line.len, ' ', col - d->line.len);
        d->line.len = col;
        d->line.p[col] = 0;
    }
    e = dv_buf_reserve(&d->line, 16 + strlen(len) + strlen(kw));
    if (e)
        return e;
    /* " # %3s,%2u %s\n" without printf: this runs once per element */
    {
        size_t ll = strlen(len), kl = strlen(kw);
        char num[12];
        int nl = 0;
        uint8_t *o = d->line.p + d->line.len;

        do {
            num[nl++] = (char)('0' + vm % 10);
            vm /= 10;
        } while (vm && nl < 11);
        *o++ = ' ';
        *o++ = '#';
        *o++ = ' ';
        for (; ll < 3; ll++)
            *o++ = ' ';
        /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): NUL added below */
        memcpy(o, len, strlen(len));
        o += strlen(len);
        *o++ = ',';
        if (nl < 2)
            *o++ = ' ';
        while (nl)
            *o++ = (uint8_t)num[--nl];
        *o++ = ' ';
        /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): NUL added below */
        memcpy(o, kw, kl);
        o += kl;
        *o++ = '\n';
        d->line.len = (size_t)(o - d->line.p);
        d->line.p[d->line.len] = 0;
    }
    e = dv_buf_add(d->out, d->line.p, d->line.len);
    dv_buf_reset(&d->line);
    if (!e && d->sink && d->out->len >= DUMP_FLUSH) {
        if (fwrite(d->out->p, 1, d->out->len, d->sink) != d->out->len)
            return DV_EIO;
        dv_buf_reset(d->out);
    }
    return e;
}

static dv_err start_line(dumper *d, unsigned level, uint32_t tag, const char *vr)
{
    static const char hex[] = "0123456789abcdef";
    size_t ind = 2 * (size_t)level, i;
    uint8_t *o;
    dv_err e;

    dv_buf_reset(&d->line);
    e = dv_buf_reserve(&d->line, ind + 16);
    if (e)
        return e;
    o = d->line.p;
    memset(o, ' ', ind);
    o += ind;
    *o++ = '(';
    for (i = 0; i < 8; i++) {
        if (i == 4)
            *o++ = ',';
        *o++ = (uint8_t)hex[(tag >> (28 - 4 * i)) & 15];
    }
    *o++ = ')';
    *o++ = ' ';
    *o++ = (uint8_t)vr[0];
    *o++ = (uint8_t)vr[1];
    *o++ = ' ';
    d->line.len = (size_t)(o - d->line.p);
    d->line.p[d->line.len] = 0;
    return DV_OK;
}

static dv_err dump_ds(dumper *d, const dcm_ds *ds, unsigned level);

static dv_err dump_items(dumper *d, const dcm_elem *el, unsigned level)
{
    uint32_t i;
    dv_err e;

    if (level >= DUMP_MAX_DEPTH)
        return DV_ELIMIT;
    for (i = 0; i < el->nitems; i++) {
        e = start_line(d, level + 1, DCM_TAG_ITEM, "na");
        if (!e)
            e = dv_buf_printf(&d->line, "(Item with %s length #=%u)",
                              el->undef_len ? "undefined" : "explicit", el->items[i].n);
        if (!e)
            e = finish_line(d, level + 1, "u/l", 1, "Item");
        if (!e)
            e = dump_ds(d, &el->items[i], level + 2);
        if (!e)
            e = start_line(d, level + 1, DCM_TAG_ITEM_DELIM, "na");
        if (!e)
            e = dv_buf_adds(&d->line, "(ItemDelimitationItem)");
        if (!e)
            e = finish_line(d, level + 1, "0", 0, "ItemDelimitationItem");
        if (e)
            return e;
    }
    e = start_line(d, level, DCM_TAG_SEQ_DELIM, "na");
    if (!e)
        e = dv_buf_adds(&d->line, "(SequenceDelimitationItem)");
    if (e)
        return e;
    return finish_line(d, level, "0", 0, "SequenceDelimitationItem");
}

static dv_err dump_frags(dumper *d, const dcm_elem *el, unsigned level)
{
    char len[16];
    uint32_t i;
    dv_err e;

    for (i = 0; i < el->nfrags; i++) {
        e = start_line(d, level + 1, DCM_TAG_ITEM, "pi");
        if (e)
            return e;
        e = el->frags[i].len ? fmt_binary(d, el->frags[i].p, el->frags[i].len, DCM_VR_OB)
                             : dv_buf_adds(&d->line, "(no value available)");
        (void)snprintf(len, sizeof(len), "%u", el->frags[i].len);
        if (!e)
            e = finish_line(d, level + 1, len, 1, "Item");
        if (e)
            return e;
    }
    e = start_line(d, level, DCM_TAG_SEQ_DELIM, "na");
    if (!e)
        e = dv_buf_adds(&d->line, "(SequenceDelimitationItem)");
    if (e)
        return e;
    return finish_line(d, level, "0", 0, "SequenceDelimitationItem");
}

static dv_err dump_elem(dumper *d, const dcm_elem *el, unsigned level)
{
    char vr[3], len[16];
    dv_err e;

    dcm_vr_str(el->vr, vr);
    e = start_line(d, level, el->tag, vr);
    if (e)
        return e;
    (void)snprintf(len, sizeof(len), "%u", el->len);
    if (el->vr == DCM_VR_SQ) {
        e = dv_buf_printf(&d->line, "(Sequence with %s length #=%u)",
                          el->undef_len ? "undefined" : "explicit", el->nitems);
        if (!e)
            e = finish_line(d, level, "u/l", 1, dcm_tag_keyword(el->tag));
        if (e)
            return e;
        return dump_items(d, el, level);
    }
    if (el->frags) {
        e = dv_buf_printf(&d->line, "(PixelSequence #=%u)", el->nfrags);
        if (!e)
            e = finish_line(d, level, "u/l", 1, dcm_tag_keyword(el->tag));
        if (e)
            return e;
        return dump_frags(d, el, level);
    }
    if (!el->len || (dcm_vr_is_string(el->vr) && !trimmed_len(el)))
        e = dv_buf_adds(&d->line, "(no value available)");
    else if (dcm_vr_is_string(el->vr))
        e = fmt_string(d, el);
    else
        e = fmt_binary(d, el->val, el->len, el->vr);
    if (e)
        return e;
    return finish_line(d, level, len, dcm_elem_vm(el), dcm_tag_keyword(el->tag));
}

static dv_err dump_ds(dumper *d, const dcm_ds *ds, unsigned level)
{
    uint32_t i;
    dv_err e;

    for (i = 0; i < ds->n; i++) {
        e = dump_elem(d, &ds->e[i], level);
        if (e)
            return e;
    }
    return DV_OK;
}

static dv_err dump_all(dumper *d, const dcm_file *f);

dv_err dcm_dump(const dcm_file *f, unsigned flags, dv_buf *out)
{
    dumper d = {out, flags, {0}, NULL};

    return dump_all(&d, f);
}

dv_err dcm_dump_file(const dcm_file *f, unsigned flags, FILE *sink)
{
    dv_buf out;
    dumper d = {&out, flags, {0}, sink};
    dv_err e;

    dv_buf_init(&out, (size_t)1 << 30);
    e = dump_all(&d, f);
    if (!e && out.len && fwrite(out.p, 1, out.len, sink) != out.len)
        e = DV_EIO;
    dv_buf_release(&out);
    return e;
}

static dv_err dump_all(dumper *dp, const dcm_file *f)
{
    dumper d = *dp;
    dv_buf *out = d.out;
    dv_err e;

    dv_buf_init(&d.line, 1u << 30);
    if (f->meta.n) {
        e = dv_buf_printf(out, "\n# Dicom-File-Format\n\n# Dicom-Meta-Information-Header\n"
                               "# Used TransferSyntax: Little Endian Explicit\n");
        if (!e)
            e = dump_ds(&d, &f->meta, 0);
        if (!e)
            e = dv_buf_printf(out, "\n# Dicom-Data-Set\n# Used TransferSyntax: %s\n", f->ts->name);
    } else {
        e = dv_buf_printf(out, "\n# Dicom-Data-Set\n# Used TransferSyntax: %s\n", f->ts->name);
    }
    if (!e)
        e = dump_ds(&d, &f->ds, 0);
    dv_buf_release(&d.line);
    return e;
}
