/* SPDX-License-Identifier: Apache-2.0 */
/* json.c - DICOM JSON Model writer (PS3.18 F.2, see json.h).
 *
 * Invariants: everything appended to the output is ASCII syntax or text that went through
 * dcm_charset_to_utf8*() / dcm_json_add_string(), so the output is valid UTF-8; the writer's
 * first error is sticky (w->err) and every later emit is a no-op; nesting is bounded by
 * DCM_JSON_MAX_DEPTH.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/dv.h"
#include "dicom/charset.h"
#include "dicom/dicom.h"
#include "dicom/json.h"

#include "common/banned.h"

#define URI_MAX  ((size_t)1 << 16)  /* longest BulkDataURI accepted from the callback */
#define NUM_MAX  64                 /* longest DS/IS value still read as a number */
#define SAFE_INT 9007199254740991LL /* 2^53 - 1 */

typedef struct jw {
    dv_buf *out;
    dv_buf tmp; /* UTF-8 form of the value being written */
    const dcm_json_opts *o;
    dv_errinfo *ei;
    unsigned flags;
    unsigned notes;
    dv_err err;
    unsigned depth; /* entries used in tags[] */
    uint32_t tags[DCM_JSON_MAX_DEPTH + 1];
    uint32_t items[DCM_JSON_MAX_DEPTH + 1];
} jw;

/* ---- emitting ---------------------------------------------------------------------------- */

static void fail_buf(jw *w, dv_err e)
{
    if (!w->err)
        w->err = dv_fail(w->ei, e, DV_NO_OFFSET, w->depth ? w->tags[w->depth - 1] : DV_NO_TAG,
                         e == DV_ELIMIT ? "JSON output exceeds the output limit"
                                        : "out of memory writing JSON");
}

static void put(jw *w, const void *p, size_t n)
{
    dv_err e;

    if (w->err)
        return;
    e = dv_buf_add(w->out, p, n);
    if (e)
        fail_buf(w, e);
}

static void puts_(jw *w, const char *s)
{
    put(w, s, strlen(s));
}

static void putc_(jw *w, char c)
{
    put(w, &c, 1);
}

/* Newline and indentation for nesting level lvl (pretty output only). */
static void nl(jw *w, unsigned lvl)
{
    static const char spaces[] = "                                ";

    if (!(w->flags & DCM_JSON_PRETTY))
        return;
    putc_(w, '\n');
    for (unsigned i = 0; i < lvl; i++)
        put(w, spaces, 2);
}

/* Writes `,` (unless *first) and the line break before an array entry or object member. */
static void next_entry(jw *w, int *first, unsigned lvl)
{
    if (!*first)
        putc_(w, ',');
    *first = 0;
    nl(w, lvl);
}

static void put_key(jw *w, const char *key)
{
    putc_(w, '"');
    puts_(w, key);
    puts_(w, (w->flags & DCM_JSON_PRETTY) ? "\": " : "\":");
}

/* Escapes valid UTF-8 s[0..n) into out (no quotes). */
static dv_err escape_utf8(dv_buf *out, const uint8_t *s, size_t n)
{
    size_t run = 0;
    dv_err e = DV_OK;

    for (size_t i = 0; i < n && !e; i++) {
        uint8_t c = s[i];
        char esc[8];

        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F)
            continue;
        e = dv_buf_add(out, s + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\')
            (void)snprintf(esc, sizeof(esc), "\\%c", (char)c);
        else if (c == '\n')
            (void)snprintf(esc, sizeof(esc), "\\n");
        else if (c == '\r')
            (void)snprintf(esc, sizeof(esc), "\\r");
        else if (c == '\t')
            (void)snprintf(esc, sizeof(esc), "\\t");
        else
            (void)snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)c);
        if (!e)
            e = dv_buf_adds(out, esc);
    }
    if (!e)
        e = dv_buf_add(out, s + run, n - run);
    return e;
}

dv_err dcm_json_add_string(dv_buf *out, const uint8_t *s, size_t n)
{
    static const uint8_t fffd[3] = {0xEF, 0xBF, 0xBD};
    size_t i = 0;
    dv_err e = dv_buf_addc(out, '"');

    while (!e && i < n) {
        size_t k = dcm_utf8_valid_prefix(s + i, n - i);
        e = escape_utf8(out, s + i, k);
        i += k;
        if (!e && i < n) {
            e = dv_buf_add(out, fffd, sizeof(fffd));
            i++;
        }
    }
    if (!e)
        e = dv_buf_addc(out, '"');
    return e;
}

static void put_jstring(jw *w, const uint8_t *s, size_t n)
{
    dv_err e;

    if (w->err)
        return;
    e = dcm_json_add_string(w->out, s, n);
    if (e)
        fail_buf(w, e);
}

/* ---- base64 ------------------------------------------------------------------------------ */

typedef struct b64 {
    uint8_t carry[3];
    unsigned n;
} b64;

static void b64_quad(jw *w, const uint8_t *in, unsigned n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t v =
        (uint32_t)in[0] << 16 | (uint32_t)(n > 1 ? in[1] : 0) << 8 | (uint32_t)(n > 2 ? in[2] : 0);
    char q[4];

    q[0] = tab[(v >> 18) & 63];
    q[1] = tab[(v >> 12) & 63];
    q[2] = n > 1 ? tab[(v >> 6) & 63] : '=';
    q[3] = n > 2 ? tab[v & 63] : '=';
    put(w, q, 4);
}

static void b64_feed(jw *w, b64 *b, const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n && b->n > 0 && b->n < 3)
        b->carry[b->n++] = p[i++];
    if (b->n == 3) {
        b64_quad(w, b->carry, 3);
        b->n = 0;
    }
    for (; i + 3 <= n && !w->err; i += 3)
        b64_quad(w, p + i, 3);
    if (w->err)
        return;
    while (i < n) /* fewer than 3 left: b->n is 0 here */
        b->carry[b->n++] = p[i++];
}

static void b64_end(jw *w, b64 *b)
{
    if (b->n)
        b64_quad(w, b->carry, b->n);
    b->n = 0;
}

/* ---- numbers ----------------------------------------------------------------------------- */

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Rewrites a DS (or, with integer, IS) value into JSON number syntax in out (NUL-terminated).
 * Returns 0 when s is not a decimal number.  The digits are kept as written. */
static int num_to_json(const uint8_t *s, size_t n, int integer, char *out, size_t outlen)
{
    size_t i = 0, is, il, fs = 0, fl = 0, es = 0, el = 0, o = 0;
    int neg = 0, eneg = 0;

    if (n == 0 || n > NUM_MAX || outlen < n + 4)
        return 0;
    if (s[0] == '+' || s[0] == '-')
        neg = s[i++] == '-';
    for (is = i; i < n && is_digit(s[i]); i++)
        ;
    il = i - is;
    if (!integer && i < n && s[i] == '.') {
        for (fs = ++i; i < n && is_digit(s[i]); i++)
            ;
        fl = i - fs;
    }
    if (il + fl == 0)
        return 0;
    if (!integer && i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        for (es = i; i < n && is_digit(s[i]); i++)
            ;
        el = i - es;
        if (el == 0)
            return 0;
    }
    if (i != n)
        return 0;
    if (neg)
        out[o++] = '-';
    while (il > 1 && s[is] == '0') {
        is++;
        il--;
    }
    if (il == 0)
        out[o++] = '0';
    memcpy(out + o, s + is, il);
    o += il;
    if (fl) {
        out[o++] = '.';
        memcpy(out + o, s + fs, fl);
        o += fl;
    }
    if (el) {
        out[o++] = 'e';
        if (eneg)
            out[o++] = '-';
        memcpy(out + o, s + es, el);
        o += el;
    }
    out[o] = 0;
    return 1;
}

/* Shortest %g form that reads back to v; "NaN"/"Infinity" strings for non-finite values. */
static void put_real(jw *w, double v, int single)
{
    char buf[40];
    int p;

    if (isnan(v) || isinf(v)) {
        w->notes |= DCM_JSON_N_NONFINITE;
        puts_(w, isnan(v) ? "\"NaN\"" : v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    for (p = single ? 6 : 15; p < (single ? 9 : 17); p++) {
        (void)snprintf(buf, sizeof(buf), "%.*g", p, v);
        if (single ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v)
            break;
    }
    if (p >= (single ? 9 : 17))
        (void)snprintf(buf, sizeof(buf), "%.*g", p, v);
    puts_(w, buf);
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)dv_le32(p) | (uint64_t)dv_le32(p + 4) << 32;
}

/* One binary value at p of the given VR. */
static void put_binnum(jw *w, dcm_vr vr, const uint8_t *p)
{
    char buf[40];
    uint32_t u32;
    uint64_t u64;
    float f;
    double d;

    buf[0] = 0;
    if (vr == DCM_VR_US) {
        (void)snprintf(buf, sizeof(buf), "%u", (unsigned)dv_le16(p));
    } else if (vr == DCM_VR_SS) {
        (void)snprintf(buf, sizeof(buf), "%d", (int)(int16_t)dv_le16(p));
    } else if (vr == DCM_VR_UL) {
        (void)snprintf(buf, sizeof(buf), "%lu", (unsigned long)dv_le32(p));
    } else if (vr == DCM_VR_SL) {
        (void)snprintf(buf, sizeof(buf), "%ld", (long)(int32_t)dv_le32(p));
    } else if (vr == DCM_VR_AT) {
        (void)snprintf(buf, sizeof(buf), "\"%04X%04X\"", (unsigned)dv_le16(p),
                       (unsigned)dv_le16(p + 2));
    } else if (vr == DCM_VR_UV) {
        u64 = le64(p);
        (void)snprintf(buf, sizeof(buf), u64 <= (uint64_t)SAFE_INT ? "%llu" : "\"%llu\"",
                       (unsigned long long)u64);
    } else if (vr == DCM_VR_SV) {
        int64_t s = (int64_t)le64(p);
        (void)snprintf(buf, sizeof(buf), s >= -SAFE_INT && s <= SAFE_INT ? "%lld" : "\"%lld\"",
                       (long long)s);
    } else if (vr == DCM_VR_FL) {
        u32 = dv_le32(p);
        memcpy(&f, &u32, sizeof(f));
        put_real(w, f, 1);
    } else if (vr == DCM_VR_FD) {
        u64 = le64(p);
        memcpy(&d, &u64, sizeof(d));
        put_real(w, d, 0);
    }
    puts_(w, buf);
}

static unsigned binnum_width(dcm_vr vr)
{
    if (vr == DCM_VR_US || vr == DCM_VR_SS)
        return 2;
    if (vr == DCM_VR_UL || vr == DCM_VR_SL || vr == DCM_VR_FL || vr == DCM_VR_AT)
        return 4;
    if (vr == DCM_VR_FD || vr == DCM_VR_SV || vr == DCM_VR_UV)
        return 8;
    return 0;
}

static void write_binnums(jw *w, const dcm_elem *e, unsigned lvl)
{
    unsigned width = binnum_width(e->vr);
    uint32_t count = e->len / width, i;
    int first = 1;

    if (e->len % width)
        w->notes |= DCM_JSON_N_TRUNCVAL;
    if (count == 0)
        return;
    putc_(w, ',');
    nl(w, lvl);
    put_key(w, "Value");
    putc_(w, '[');
    for (i = 0; i < count && !w->err; i++) {
        next_entry(w, &first, lvl + 1);
        put_binnum(w, e->vr, e->val + (size_t)i * width);
    }
    nl(w, lvl);
    putc_(w, ']');
}

/* ---- text values ------------------------------------------------------------------------- */

static int single_valued(dcm_vr vr)
{
    return vr == DCM_VR_LT || vr == DCM_VR_ST || vr == DCM_VR_UT || vr == DCM_VR_UR;
}

/* Trims padding from [*s, *s + *n): spaces (and NULs, for UI) at the end; at the start too
 * unless the VR keeps leading spaces. */
static void trim(dcm_vr vr, const uint8_t **s, size_t *n)
{
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == 0))
        (*n)--;
    if (single_valued(vr))
        return;
    while (*n > 0 && (*s)[0] == ' ') {
        (*s)++;
        (*n)--;
    }
}

/* Next value of the converted text: [*pos, end) up to the next '\\' (multi-valued VRs). */
static size_t next_value(dcm_vr vr, const uint8_t *p, size_t len, size_t *pos)
{
    size_t start = *pos, i = start;

    if (!single_valued(vr))
        while (i < len && p[i] != '\\')
            i++;
    else
        i = len;
    *pos = i + 1;
    return i - start;
}

static void put_pn(jw *w, const uint8_t *s, size_t n, unsigned lvl)
{
    static const char *const names[3] = {"Alphabetic", "Ideographic", "Phonetic"};
    size_t start = 0, i, end;
    unsigned g = 0;
    int first = 1;

    putc_(w, '{');
    for (i = 0; i <= n && g < 3; i++) {
        if (i < n && (s[i] != '=' || g == 2))
            continue;
        end = i; /* trailing empty components carry nothing (PS3.5 6.2.1.1) */
        while (end > start && (s[end - 1] == '^' || s[end - 1] == ' '))
            end--;
        if (end > start) {
            next_entry(w, &first, lvl + 1);
            put_key(w, names[g]);
            put_jstring(w, s + start, end - start);
        }
        g++;
        start = i + 1;
    }
    if (!first)
        nl(w, lvl);
    putc_(w, '}');
}

/* True for an empty value; a PN value made only of delimiters is empty too. */
static int value_empty(dcm_vr vr, const uint8_t *s, size_t n)
{
    if (vr != DCM_VR_PN)
        return n == 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '^' && s[i] != '=' && s[i] != ' ')
            return 0;
    return 1;
}

static void put_text_value(jw *w, dcm_vr vr, const uint8_t *s, size_t n, unsigned lvl)
{
    char num[NUM_MAX + 8];

    if (value_empty(vr, s, n)) {
        puts_(w, "null");
    } else if (vr == DCM_VR_PN) {
        put_pn(w, s, n, lvl);
    } else if ((vr == DCM_VR_DS || vr == DCM_VR_IS) &&
               num_to_json(s, n, vr == DCM_VR_IS, num, sizeof(num))) {
        puts_(w, num);
    } else {
        if (vr == DCM_VR_DS || vr == DCM_VR_IS)
            w->notes |= DCM_JSON_N_NUMSTR;
        put_jstring(w, s, n);
    }
}

/* Converts e's value to UTF-8 into w->tmp, falling back to the default repertoire when the
 * character set cannot be used (unless strict). */
static void convert_text(jw *w, const dcm_elem *e, const dcm_charset *cs)
{
    unsigned cflags = 0;
    dcm_charset dflt;
    dv_err err;

    dv_buf_reset(&w->tmp);
    err = dcm_charset_to_utf8_flags(cs, e->vr, e->val, e->len, &w->tmp, &cflags, w->ei);
    if (err == DV_EUNSUPPORTED && !(w->flags & DCM_JSON_STRICT)) {
        dcm_charset_default(&dflt);
        dv_buf_reset(&w->tmp);
        cflags |= DCM_CS_REPLACED;
        err = dcm_charset_to_utf8_flags(&dflt, e->vr, e->val, e->len, &w->tmp, &cflags, w->ei);
    }
    if (cflags)
        w->notes |= DCM_JSON_N_CHARSET;
    if (err && !w->err) {
        if (err == DV_ELIMIT || err == DV_ENOMEM)
            fail_buf(w, err);
        else
            w->err = err;
        if (w->ei)
            w->ei->tag = e->tag;
    }
}

static void write_text(jw *w, const dcm_elem *e, const dcm_charset *cs, unsigned lvl)
{
    const uint8_t *p, *s;
    size_t len, pos = 0, n, nvals = 0, nonempty = 0;
    int first = 1;

    convert_text(w, e, cs);
    if (w->err)
        return;
    p = w->tmp.p;
    len = w->tmp.len;
    while (pos <= len) { /* count values and non-empty ones */
        s = p + pos;
        n = next_value(e->vr, p, len, &pos);
        trim(e->vr, &s, &n);
        nvals++;
        nonempty += !value_empty(e->vr, s, n);
    }
    if (nonempty == 0 && nvals <= 1)
        return;
    putc_(w, ',');
    nl(w, lvl);
    put_key(w, "Value");
    putc_(w, '[');
    for (pos = 0; pos <= len && !w->err;) {
        s = p + pos;
        n = next_value(e->vr, p, len, &pos);
        trim(e->vr, &s, &n);
        next_entry(w, &first, lvl + 1);
        put_text_value(w, e->vr, s, n, lvl + 1);
    }
    nl(w, lvl);
    putc_(w, ']');
}

/* ---- binary values ----------------------------------------------------------------------- */

static void write_bulk(jw *w, const dcm_elem *e, unsigned lvl)
{
    dv_buf uri;
    dv_err err;

    dv_buf_init(&uri, URI_MAX);
    err = w->o->bulk_uri(w->o->bulk_ctx, w->tags, w->items, w->depth, e, &uri);
    if (err) {
        if (!w->err)
            w->err = err;
    } else {
        putc_(w, ',');
        nl(w, lvl);
        put_key(w, "BulkDataURI");
        put_jstring(w, uri.p ? uri.p : (const uint8_t *)"", uri.len);
    }
    dv_buf_release(&uri);
}

static int wants_bulk(const jw *w, uint64_t len)
{
    return w->o && w->o->bulk_uri && len >= w->o->bulk_min;
}

static void write_inline(jw *w, const dcm_elem *e, unsigned lvl)
{
    b64 b = {{0, 0, 0}, 0};
    static const uint8_t item_tag[4] = {0xFE, 0xFF, 0x00, 0xE0};
    static const uint8_t seq_end[8] = {0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0};
    uint8_t len4[4];

    putc_(w, ',');
    nl(w, lvl);
    put_key(w, "InlineBinary");
    putc_(w, '"');
    if (!e->frags) {
        b64_feed(w, &b, e->val, e->len);
    } else {
        for (uint32_t i = 0; i < e->nfrags && !w->err; i++) {
            dv_put_le32(len4, e->frags[i].len);
            b64_feed(w, &b, item_tag, 4);
            b64_feed(w, &b, len4, 4);
            b64_feed(w, &b, e->frags[i].p, e->frags[i].len);
        }
        b64_feed(w, &b, seq_end, 8);
    }
    b64_end(w, &b);
    putc_(w, '"');
}

static void write_binary(jw *w, const dcm_elem *e, unsigned lvl)
{
    uint64_t total = e->len;

    if (e->frags) {
        total = 8;
        for (uint32_t i = 0; i < e->nfrags; i++)
            total += 8u + (uint64_t)e->frags[i].len;
        if (wants_bulk(w, total))
            write_bulk(w, e, lvl);
        else if (w->flags & DCM_JSON_ENCAP_INLINE)
            write_inline(w, e, lvl);
        else
            w->notes |= DCM_JSON_N_OMITTED;
        return;
    }
    if (e->len == 0)
        return;
    if (wants_bulk(w, total))
        write_bulk(w, e, lvl);
    else
        write_inline(w, e, lvl);
}

/* ---- datasets ---------------------------------------------------------------------------- */

static void write_ds(jw *w, const dcm_ds *meta, const dcm_ds *ds, const dcm_charset *parent,
                     unsigned lvl);

/* The VR written for e: its own when it is a known VR, else UN. */
static dcm_vr out_vr(const dcm_elem *e)
{
    if (e->nitems > 0 || e->vr == DCM_VR_SQ)
        return DCM_VR_SQ;
    return dcm_vr_known(e->vr) ? e->vr : DCM_VR_UN;
}

static void write_items(jw *w, const dcm_elem *e, const dcm_charset *cs, unsigned lvl)
{
    int first = 1;

    if (e->nitems == 0)
        return;
    if (w->depth >= DCM_JSON_MAX_DEPTH) {
        if (!w->err)
            w->err = dv_fail(w->ei, DV_ELIMIT, e->offset, e->tag,
                             "sequences nest deeper than %d levels", DCM_JSON_MAX_DEPTH);
        return;
    }
    putc_(w, ',');
    nl(w, lvl);
    put_key(w, "Value");
    putc_(w, '[');
    for (uint32_t i = 0; i < e->nitems && !w->err; i++) {
        next_entry(w, &first, lvl + 1);
        w->items[w->depth - 1] = i;
        write_ds(w, NULL, &e->items[i], cs, lvl + 1);
    }
    nl(w, lvl);
    putc_(w, ']');
}

static void write_elem(jw *w, const dcm_elem *e, const dcm_charset *cs, unsigned lvl)
{
    char key[16], vrs[3];
    dcm_vr vr = out_vr(e);

    (void)snprintf(key, sizeof(key), "%08X", (unsigned)e->tag);
    dcm_vr_str(vr, vrs);
    w->tags[w->depth++] = e->tag;
    put_key(w, key);
    putc_(w, '{');
    nl(w, lvl + 1);
    put_key(w, "vr");
    putc_(w, '"');
    puts_(w, vrs);
    putc_(w, '"');
    if (vr == DCM_VR_SQ)
        write_items(w, e, cs, lvl + 1);
    else if (e->frags || (binnum_width(vr) == 0 && !dcm_vr_is_string(vr)))
        write_binary(w, e, lvl + 1);
    else if (e->len > 0 && e->val && binnum_width(vr))
        write_binnums(w, e, lvl + 1);
    else if (e->len > 0 && e->val)
        write_text(w, e, cs, lvl + 1);
    nl(w, lvl);
    putc_(w, '}');
    w->depth--;
}

/* Group lengths (F.2.2) and item/delimiter tags are not written. */
static int skip_tag(uint32_t tag)
{
    return DCM_ELEM(tag) == 0 || DCM_GROUP(tag) == 0xFFFE;
}

/* The charset of ds: its own (0008,0005) when present, else inherited. */
static void ds_charset(jw *w, const dcm_ds *ds, const dcm_charset *parent, dcm_charset *cs)
{
    dv_errinfo ei;
    dv_err err;

    if (!dcm_ds_find(ds, DCM_TAG_SPECIFIC_CHARSET)) {
        *cs = *parent;
        return;
    }
    err = dcm_charset_parse(ds, cs, &ei);
    if (!err)
        return;
    w->notes |= DCM_JSON_N_CHARSET;
    if ((w->flags & DCM_JSON_STRICT) && !w->err) {
        w->err = err;
        if (w->ei)
            *w->ei = ei;
    }
}

/* Writes {meta + ds} (meta may be NULL): both are sorted, so they are merged by tag. */
static void write_ds(jw *w, const dcm_ds *meta, const dcm_ds *ds, const dcm_charset *parent,
                     unsigned lvl)
{
    static const dcm_ds none = {NULL, 0, 0};
    dcm_charset cs;
    uint32_t i = 0, j = 0, nm;
    int first = 1;

    if (!meta)
        meta = &none;
    nm = meta->n;
    ds_charset(w, ds, parent, &cs);
    putc_(w, '{');
    while ((i < nm || j < ds->n) && !w->err) {
        const dcm_elem *e;
        if (i < nm && (j >= ds->n || meta->e[i].tag <= ds->e[j].tag)) {
            e = &meta->e[i++];
            if (j < ds->n && ds->e[j].tag == e->tag)
                j++;
        } else {
            e = &ds->e[j++];
        }
        if (skip_tag(e->tag))
            continue;
        next_entry(w, &first, lvl + 1);
        write_elem(w, e, e->tag >> 16 == 0x0002 ? parent : &cs, lvl + 1);
    }
    if (!first)
        nl(w, lvl);
    putc_(w, '}');
}

dv_err dcm_json_write(const dcm_file *f, const dcm_ds *ds, const dcm_json_opts *o, dv_buf *out,
                      dv_errinfo *ei)
{
    static const dcm_json_opts dflt = {0, 0, NULL, NULL, NULL};
    dcm_charset base;
    jw w;

    if (!o)
        o = &dflt;
    if (!ds && f)
        ds = &f->ds;
    if (!ds || ((o->flags & DCM_JSON_META) && !f))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no dataset to write as JSON");
    memset(&w, 0, sizeof(w));
    w.out = out;
    w.o = o;
    w.ei = ei;
    w.flags = o->flags;
    dv_buf_init(&w.tmp, out->max);
    dcm_charset_default(&base);
    write_ds(&w, (o->flags & DCM_JSON_META) ? &f->meta : NULL, ds, &base, 0);
    dv_buf_release(&w.tmp);
    if (o->notes)
        *o->notes |= w.notes;
    return w.err;
}
