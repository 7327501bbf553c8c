/* SPDX-License-Identifier: Apache-2.0 */
/* charset.c - Specific Character Set parsing and text conversion to UTF-8 (see charset.h).
 *
 * Invariants: a conversion appends only valid UTF-8 to its output; every loop advances by at
 * least one input byte per iteration (or flushes output it produced), so work is bounded by
 * the input length; iconv descriptors live only for one call.
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>

#include "common/dv.h"
#include "dicom/charset.h"

#include "common/banned.h"

#define ESC 0x1B

/* ---- graphic sets ------------------------------------------------------------------------ */

/* The code elements a value can switch between. */
typedef enum gset {
    GS_NONE = 0,
    GS_ASCII,
    GS_ROMAJI,   /* JIS X 0201 Roman, G0 */
    GS_KATAKANA, /* JIS X 0201 Katakana, G1 */
    GS_LATIN1,
    GS_8859_2,
    GS_8859_3,
    GS_8859_4,
    GS_8859_5,
    GS_8859_6,
    GS_8859_7,
    GS_8859_8,
    GS_8859_9,
    GS_8859_15,
    GS_TIS620,
    GS_JIS0208, /* G0, two bytes */
    GS_JIS0212, /* G0, two bytes */
    GS_KSX1001, /* G1, two bytes */
    GS_GB2312,  /* G1, two bytes */
    GS_UTF8,    /* whole-value sets from here on */
    GS_GB18030,
    GS_GBK,
    GS_COUNT
} gset;

typedef struct gset_info {
    const char *iconv_name; /* NULL: decoded here */
    uint8_t wide;           /* two bytes per character */
    uint8_t g1;             /* invoked in GR (0xA0-0xFF) */
} gset_info;

static const gset_info gsets[GS_COUNT] = {
    [GS_NONE] = {NULL, 0, 1},
    [GS_ASCII] = {NULL, 0, 0},
    [GS_ROMAJI] = {NULL, 0, 0},
    [GS_KATAKANA] = {NULL, 0, 1},
    [GS_LATIN1] = {NULL, 0, 1},
    [GS_8859_2] = {"ISO-8859-2", 0, 1},
    [GS_8859_3] = {"ISO-8859-3", 0, 1},
    [GS_8859_4] = {"ISO-8859-4", 0, 1},
    [GS_8859_5] = {"ISO-8859-5", 0, 1},
    [GS_8859_6] = {"ISO-8859-6", 0, 1},
    [GS_8859_7] = {"ISO-8859-7", 0, 1},
    [GS_8859_8] = {"ISO-8859-8", 0, 1},
    [GS_8859_9] = {"ISO-8859-9", 0, 1},
    [GS_8859_15] = {"ISO-8859-15", 0, 1},
    [GS_TIS620] = {"ISO-8859-11", 0, 1},
    [GS_JIS0208] = {"EUC-JP", 1, 0},
    [GS_JIS0212] = {"EUC-JP", 1, 0},
    [GS_KSX1001] = {"EUC-KR", 1, 1},
    [GS_GB2312] = {"GB2312", 1, 1},
    [GS_UTF8] = {NULL, 0, 0},
    [GS_GB18030] = {"GB18030", 0, 0},
    [GS_GBK] = {"GBK", 0, 0},
};

/* ---- defined terms ----------------------------------------------------------------------- */

typedef struct term_info {
    const char *name;
    uint8_t term;
    uint8_t iso2022;
} term_info;

static const term_info terms[] = {
    {"ISO_IR 6", DCM_CS_IR6, 0},
    {"ISO 2022 IR 6", DCM_CS_IR6, 1},
    {"ISO_IR 100", DCM_CS_IR100, 0},
    {"ISO 2022 IR 100", DCM_CS_IR100, 1},
    {"ISO_IR 101", DCM_CS_IR101, 0},
    {"ISO 2022 IR 101", DCM_CS_IR101, 1},
    {"ISO_IR 109", DCM_CS_IR109, 0},
    {"ISO 2022 IR 109", DCM_CS_IR109, 1},
    {"ISO_IR 110", DCM_CS_IR110, 0},
    {"ISO 2022 IR 110", DCM_CS_IR110, 1},
    {"ISO_IR 144", DCM_CS_IR144, 0},
    {"ISO 2022 IR 144", DCM_CS_IR144, 1},
    {"ISO_IR 127", DCM_CS_IR127, 0},
    {"ISO 2022 IR 127", DCM_CS_IR127, 1},
    {"ISO_IR 126", DCM_CS_IR126, 0},
    {"ISO 2022 IR 126", DCM_CS_IR126, 1},
    {"ISO_IR 138", DCM_CS_IR138, 0},
    {"ISO 2022 IR 138", DCM_CS_IR138, 1},
    {"ISO_IR 148", DCM_CS_IR148, 0},
    {"ISO 2022 IR 148", DCM_CS_IR148, 1},
    {"ISO_IR 203", DCM_CS_IR203, 0},
    {"ISO 2022 IR 203", DCM_CS_IR203, 1},
    {"ISO_IR 13", DCM_CS_IR13, 0},
    {"ISO 2022 IR 13", DCM_CS_IR13, 1},
    {"ISO_IR 166", DCM_CS_IR166, 0},
    {"ISO 2022 IR 166", DCM_CS_IR166, 1},
    {"ISO_IR 192", DCM_CS_IR192, 0},
    {"GB18030", DCM_CS_GB18030, 0},
    {"GBK", DCM_CS_GBK, 0},
    {"ISO 2022 IR 87", DCM_CS_IR87, 1},
    {"ISO 2022 IR 159", DCM_CS_IR159, 1},
    {"ISO 2022 IR 149", DCM_CS_IR149, 1},
    {"ISO 2022 IR 58", DCM_CS_IR58, 1},
};

/* The G0 and G1 sets a term designates (GS_NONE when it leaves one alone). */
static void term_sets(uint8_t t, gset *g0, gset *g1)
{
    static const uint8_t g1_of[DCM_CS_TERM_COUNT] = {
        [DCM_CS_IR100] = GS_LATIN1,  [DCM_CS_IR101] = GS_8859_2,  [DCM_CS_IR109] = GS_8859_3,
        [DCM_CS_IR110] = GS_8859_4,  [DCM_CS_IR144] = GS_8859_5,  [DCM_CS_IR127] = GS_8859_6,
        [DCM_CS_IR126] = GS_8859_7,  [DCM_CS_IR138] = GS_8859_8,  [DCM_CS_IR148] = GS_8859_9,
        [DCM_CS_IR203] = GS_8859_15, [DCM_CS_IR13] = GS_KATAKANA, [DCM_CS_IR166] = GS_TIS620,
        [DCM_CS_IR149] = GS_KSX1001, [DCM_CS_IR58] = GS_GB2312,
    };
    *g0 = GS_NONE;
    *g1 = t < DCM_CS_TERM_COUNT ? (gset)g1_of[t] : GS_NONE;
    if (t == DCM_CS_IR13)
        *g0 = GS_ROMAJI;
    else if (t == DCM_CS_IR87)
        *g0 = GS_JIS0208;
    else if (t == DCM_CS_IR159)
        *g0 = GS_JIS0212;
    else if (t != DCM_CS_UNKNOWN)
        *g0 = GS_ASCII;
}

void dcm_charset_default(dcm_charset *cs)
{
    memset(cs, 0, sizeof(*cs));
}

/* Upper-cases and folds '_' and '-' to ' ', collapsing runs of spaces.  0 when too long. */
static size_t fold_term(const uint8_t *p, size_t n, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = (char)p[i];
        if (c == '_' || c == '-')
            c = ' ';
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == ' ' && o > 0 && out[o - 1] == ' ')
            continue;
        if (o + 1 >= outlen)
            return 0;
        out[o++] = c;
    }
    out[o] = 0;
    return o;
}

/* Finds a term by its exact spelling, then folded; sets *lenient on a folded match. */
static uint8_t lookup_term(const uint8_t *p, size_t n, uint8_t *iso2022, uint8_t *lenient)
{
    char want[48], have[48];
    size_t i, wn;

    for (i = 0; i < sizeof(terms) / sizeof(terms[0]); i++) {
        if (strlen(terms[i].name) == n && memcmp(terms[i].name, p, n) == 0) {
            *iso2022 |= terms[i].iso2022;
            return terms[i].term;
        }
    }
    wn = fold_term(p, n, want, sizeof(want));
    if (wn == 0)
        return DCM_CS_UNKNOWN;
    for (i = 0; i < sizeof(terms) / sizeof(terms[0]); i++) {
        const char *nm = terms[i].name;
        if (fold_term((const uint8_t *)nm, strlen(nm), have, sizeof(have)) == wn &&
            memcmp(want, have, wn) == 0) {
            *iso2022 |= terms[i].iso2022;
            *lenient = 1;
            return terms[i].term;
        }
    }
    return DCM_CS_UNKNOWN;
}

static int is_pad(uint8_t c)
{
    return c == ' ' || c == 0;
}

/* Records one value [p, p+n) (padding trimmed here) as value number idx (0-based). */
static dv_err add_term(dcm_charset *cs, const uint8_t *p, size_t n, unsigned idx, unsigned *bad)
{
    while (n > 0 && is_pad(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_pad(p[n - 1]))
        n--;
    if (n == 0 && idx > 0)
        return DV_OK; /* an empty value past the first means nothing */
    if (cs->n >= DCM_CHARSET_MAX) {
        if (!*bad)
            *bad = idx + 1;
        return DV_ELIMIT;
    }
    cs->term[cs->n] = n == 0 ? DCM_CS_IR6 : lookup_term(p, n, &cs->iso2022, &cs->lenient);
    if (cs->term[cs->n] == DCM_CS_UNKNOWN && !*bad)
        *bad = idx + 1;
    cs->n++;
    return DV_OK;
}

dv_err dcm_charset_parse_value(const uint8_t *val, size_t len, dcm_charset *cs, dv_errinfo *ei)
{
    size_t start = 0, i, nonpad = 0;
    unsigned idx = 0, bad = 0;
    int over = 0;

    dcm_charset_default(cs);
    for (i = 0; i < len; i++)
        nonpad += !is_pad(val[i]);
    if (nonpad == 0)
        return DV_OK;
    for (i = 0; i <= len; i++) {
        if (i < len && val[i] != '\\')
            continue;
        if (add_term(cs, val + start, i - start, idx, &bad) == DV_ELIMIT)
            over = 1;
        idx++;
        start = i + 1;
    }
    if (cs->n > 1)
        cs->iso2022 = 1;
    if (over)
        return dv_fail(ei, DV_ECHARSET, DV_NO_OFFSET, DCM_TAG_SPECIFIC_CHARSET,
                       "Specific Character Set has more than %d values (value %u dropped)",
                       DCM_CHARSET_MAX, bad);
    if (bad)
        return dv_fail(ei, DV_ECHARSET, DV_NO_OFFSET, DCM_TAG_SPECIFIC_CHARSET,
                       "Specific Character Set value %u is not a known defined term", bad);
    return DV_OK;
}

dv_err dcm_charset_parse(const dcm_ds *ds, dcm_charset *cs, dv_errinfo *ei)
{
    const dcm_elem *e = dcm_ds_find(ds, DCM_TAG_SPECIFIC_CHARSET);
    dv_err err;

    if (!e || e->len == 0 || !e->val) {
        dcm_charset_default(cs);
        return DV_OK;
    }
    err = dcm_charset_parse_value(e->val, e->len, cs, ei);
    if (err && ei)
        ei->offset = e->offset;
    return err;
}

int dcm_charset_affects(dcm_vr vr)
{
    return vr == DCM_VR_PN || vr == DCM_VR_SH || vr == DCM_VR_LO || vr == DCM_VR_ST ||
           vr == DCM_VR_LT || vr == DCM_VR_UC || vr == DCM_VR_UT;
}

/* ---- UTF-8 ------------------------------------------------------------------------------- */

/* Decodes one character at p (n > 0 bytes left).  Returns the bytes consumed (>= 1); *cp is
 * U+FFFD for an ill-formed sequence, which then covers its maximal subpart (Unicode 3.9). */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0], lo = 0x80, hi = 0xBF;
    size_t need, i;
    uint32_t v;

    *cp = 0xFFFD;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        v = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        v = c & 0x0Fu;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        v = c & 0x07u;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 1;
    }
    for (i = 1; i <= need; i++) {
        if (i >= n || p[i] < lo || p[i] > hi)
            return i;
        v = (v << 6) | (p[i] & 0x3Fu);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = v;
    return need + 1;
}

size_t dcm_utf8_valid_prefix(const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint32_t cp;
        size_t k = utf8_next(p + i, n - i, &cp);
        if (cp == 0xFFFD && !(k == 3 && p[i] == 0xEF && p[i + 1] == 0xBF && p[i + 2] == 0xBD))
            return i;
        i += k;
    }
    return n;
}

/* ---- conversion context ------------------------------------------------------------------ */

typedef struct conv {
    dv_buf *out;
    dv_errinfo *ei;
    unsigned flags;
    dv_err err; /* first error; once set every put is a no-op */
    iconv_t cd[GS_COUNT];
    uint8_t cd_open[GS_COUNT];
} conv;

static void conv_init(conv *cv, dv_buf *out, dv_errinfo *ei)
{
    memset(cv, 0, sizeof(*cv));
    cv->out = out;
    cv->ei = ei;
}

static void conv_close(conv *cv)
{
    for (int i = 0; i < GS_COUNT; i++) {
        if (cv->cd_open[i])
            (void)iconv_close(cv->cd[i]);
    }
}

static void put_bytes(conv *cv, const void *p, size_t n)
{
    dv_err e;

    if (cv->err)
        return;
    e = dv_buf_add(cv->out, p, n);
    if (e)
        cv->err = dv_fail(cv->ei, e, DV_NO_OFFSET, DV_NO_TAG,
                          e == DV_ELIMIT ? "converted text exceeds the output limit"
                                         : "out of memory converting text");
}

static void put_cp(conv *cv, uint32_t cp)
{
    uint8_t b[4];
    size_t n;

    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xC0 | (cp >> 6));
        b[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xE0 | (cp >> 12));
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | (cp >> 18));
        b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    put_bytes(cv, b, n);
}

static void put_bad(conv *cv, unsigned extra)
{
    cv->flags |= DCM_CS_REPLACED | extra;
    put_cp(cv, 0xFFFD);
}

/* The iconv descriptor for g (to UTF-8), opened on first use.  NULL when unavailable. */
static iconv_t *conv_cd(conv *cv, gset g)
{
    if (!cv->cd_open[g]) {
        iconv_t cd = iconv_open("UTF-8", gsets[g].iconv_name);
        if (cd == (iconv_t)-1) {
            if (!cv->err)
                cv->err = dv_fail(cv->ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                                  "iconv has no %s to UTF-8 converter", gsets[g].iconv_name);
            return NULL;
        }
        cv->cd[g] = cd;
        cv->cd_open[g] = 1;
    }
    return &cv->cd[g];
}

/* Converts one character (n <= 3 bytes, already in the iconv codec's form); U+FFFD when the
 * codec has no mapping for it. */
static void put_iconv_char(conv *cv, gset g, const uint8_t *in, size_t n)
{
    char ibuf[4], obuf[16];
    char *ip = ibuf, *op = obuf;
    size_t il = n, ol = sizeof(obuf), r;
    iconv_t *cd = conv_cd(cv, g);

    if (!cd)
        return;
    memcpy(ibuf, in, n);
    (void)iconv(*cd, NULL, NULL, NULL, NULL);
    r = iconv(*cd, &ip, &il, &op, &ol);
    if (r == (size_t)-1 || il != 0 || op == obuf ||
        dcm_utf8_valid_prefix((const uint8_t *)obuf, (size_t)(op - obuf)) != (size_t)(op - obuf)) {
        put_bad(cv, 0);
        return;
    }
    put_bytes(cv, obuf, (size_t)(op - obuf));
}

/* ---- whole-value sets: UTF-8, GB18030, GBK ------------------------------------------------ */

static void run_utf8(conv *cv, const uint8_t *p, size_t n)
{
    size_t i = 0, run = 0;

    while (i < n && !cv->err) {
        uint32_t cp;
        size_t k = utf8_next(p + i, n - i, &cp);
        if (cp == 0xFFFD && !(k == 3 && p[i] == 0xEF)) {
            put_bytes(cv, p + run, i - run);
            put_bad(cv, 0);
            run = i + k;
        }
        i += k;
    }
    put_bytes(cv, p + run, i - run);
}

static void run_iconv(conv *cv, gset g, const uint8_t *p, size_t n)
{
    iconv_t *cd = conv_cd(cv, g);
    char *ip = (char *)(uintptr_t)p;
    size_t il = n, guard = 2 * n + 8;

    while (cd && il > 0 && !cv->err && guard-- > 0) {
        char obuf[512];
        char *op = obuf;
        size_t ol = sizeof(obuf);
        size_t r = iconv(*cd, &ip, &il, &op, &ol);
        int eno = errno;

        if (op > obuf) {
            size_t got = (size_t)(op - obuf);
            if (dcm_utf8_valid_prefix((const uint8_t *)obuf, got) != got)
                put_bad(cv, 0);
            else
                put_bytes(cv, obuf, got);
        }
        if (r != (size_t)-1 || eno == E2BIG)
            continue;
        put_bad(cv, 0);
        (void)iconv(*cd, NULL, NULL, NULL, NULL);
        if (eno == EINVAL) /* cut at the end of the value */
            break;
        ip++;
        il--;
    }
}

/* ---- ISO 2022 state machine --------------------------------------------------------------- */

typedef struct state {
    gset g0, g1;
} state;

typedef struct machine {
    state init, cur;
    uint32_t declared; /* bit per gset */
    dcm_vr vr;
    int escapes; /* obey escape sequences */
} machine;

typedef struct esc_info {
    const char *seq; /* bytes after ESC */
    gset set;
} esc_info;

static const esc_info escapes[] = {
    {"(B", GS_ASCII},    {"(J", GS_ROMAJI},   {")I", GS_KATAKANA}, {"$B", GS_JIS0208},
    {"$(D", GS_JIS0212}, {"$)C", GS_KSX1001}, {"$)A", GS_GB2312},  {"-A", GS_LATIN1},
    {"-B", GS_8859_2},   {"-C", GS_8859_3},   {"-D", GS_8859_4},   {"-L", GS_8859_5},
    {"-G", GS_8859_6},   {"-F", GS_8859_7},   {"-H", GS_8859_8},   {"-M", GS_8859_9},
    {"-b", GS_8859_15},  {"-T", GS_TIS620},
};

static int multi_valued(dcm_vr vr)
{
    return vr != DCM_VR_ST && vr != DCM_VR_LT && vr != DCM_VR_UT && vr != DCM_VR_UR;
}

/* Handles an escape sequence at p[0] == ESC; returns the bytes consumed (>= 1). */
static size_t do_escape(conv *cv, machine *m, const uint8_t *p, size_t n)
{
    size_t i = 1;

    while (i < n && i <= 3 && p[i] >= 0x20 && p[i] <= 0x2F)
        i++;
    if (i >= n || i == 1 || p[i] < 0x30 || p[i] > 0x7E) {
        put_bad(cv, DCM_CS_BAD_ESCAPE); /* cut or malformed: drop ESC and intermediates */
        return i;
    }
    i++; /* final byte */
    for (size_t k = 0; k < sizeof(escapes) / sizeof(escapes[0]); k++) {
        const char *s = escapes[k].seq;
        gset g = escapes[k].set;
        if (strlen(s) != i - 1 || memcmp(s, p + 1, i - 1) != 0)
            continue;
        if (!(m->declared & (1u << g)))
            cv->flags |= DCM_CS_UNDECLARED;
        if (gsets[g].g1)
            m->cur.g1 = g;
        else
            m->cur.g0 = g;
        return i;
    }
    put_bad(cv, DCM_CS_BAD_ESCAPE);
    return i;
}

/* A GL byte 0x21-0x7E while G0 is a one-byte set. */
static void put_gl_single(conv *cv, const machine *m, uint8_t c)
{
    if (m->cur.g0 == GS_ROMAJI && c == 0x5C && !multi_valued(m->vr))
        put_cp(cv, 0x00A5);
    else if (m->cur.g0 == GS_ROMAJI && c == 0x7E)
        put_cp(cv, 0x203E);
    else
        put_cp(cv, c);
}

/* A GL byte pair while G0 is JIS X 0208/0212; returns bytes consumed. */
static size_t put_gl_wide(conv *cv, const machine *m, const uint8_t *p, size_t n)
{
    uint8_t b[3];

    if (n < 2 || p[1] < 0x21 || p[1] > 0x7E) {
        put_bad(cv, 0);
        return 1;
    }
    if (m->cur.g0 == GS_JIS0212) {
        b[0] = 0x8F;
        b[1] = (uint8_t)(p[0] | 0x80);
        b[2] = (uint8_t)(p[1] | 0x80);
        put_iconv_char(cv, GS_JIS0212, b, 3);
    } else {
        b[0] = (uint8_t)(p[0] | 0x80);
        b[1] = (uint8_t)(p[1] | 0x80);
        put_iconv_char(cv, GS_JIS0208, b, 2);
    }
    return 2;
}

/* A GR byte (0xA0-0xFF) under G1; returns bytes consumed. */
static size_t put_gr(conv *cv, const machine *m, const uint8_t *p, size_t n)
{
    gset g = m->cur.g1;
    uint8_t c = p[0];

    switch (g) {
    case GS_NONE:
        cv->flags |= DCM_CS_GUESSED;
        put_cp(cv, c);
        return 1;
    case GS_LATIN1:
        put_cp(cv, c);
        return 1;
    case GS_KATAKANA:
        if (c >= 0xA1 && c <= 0xDF)
            put_cp(cv, 0xFF61u + (uint32_t)(c - 0xA1));
        else
            put_bad(cv, 0);
        return 1;
    case GS_KSX1001:
    case GS_GB2312:
        if (c == 0xA0 || c == 0xFF || n < 2 || p[1] < 0xA1 || p[1] > 0xFE) {
            put_bad(cv, 0);
            return 1;
        }
        put_iconv_char(cv, g, p, 2);
        return 2;
    case GS_8859_2:
    case GS_8859_3:
    case GS_8859_4:
    case GS_8859_5:
    case GS_8859_6:
    case GS_8859_7:
    case GS_8859_8:
    case GS_8859_9:
    case GS_8859_15:
    case GS_TIS620:
        put_iconv_char(cv, g, p, 1);
        return 1;
    case GS_ASCII:
    case GS_ROMAJI:
    case GS_JIS0208:
    case GS_JIS0212:
    case GS_UTF8:
    case GS_GB18030:
    case GS_GBK:
    case GS_COUNT:
        break;
    }
    put_bad(cv, 0); /* cannot happen: G1 only holds G1 sets */
    return 1;
}

static int is_delimiter(const machine *m, uint8_t c)
{
    if (c == '\\')
        return multi_valued(m->vr);
    return m->vr == DCM_VR_PN && (c == '^' || c == '=');
}

/* Decodes one step at p[0]; returns the bytes consumed (>= 1). */
static size_t step(conv *cv, machine *m, const uint8_t *p, size_t n)
{
    uint8_t c = p[0];

    if (c == ESC && m->escapes)
        return do_escape(cv, m, p, n);
    if (c < 0x20 || c == 0x7F) { /* control: back to the initial sets (6.1.2.5.3) */
        m->cur = m->init;
        put_cp(cv, c);
        return 1;
    }
    if (c == 0x20) {
        put_cp(cv, c);
        return 1;
    }
    if (c < 0x80) {
        if (gsets[m->cur.g0].wide)
            return put_gl_wide(cv, m, p, n);
        if (is_delimiter(m, c)) {
            m->cur = m->init;
            put_cp(cv, c);
            return 1;
        }
        put_gl_single(cv, m, c);
        return 1;
    }
    if (c < 0xA0) { /* C1 controls have no place in DICOM text */
        put_bad(cv, 0);
        return 1;
    }
    return put_gr(cv, m, p, n);
}

static void machine_init(machine *m, const dcm_charset *cs, dcm_vr vr)
{
    gset g0, g1;

    memset(m, 0, sizeof(*m));
    m->vr = vr;
    m->init.g0 = GS_ASCII;
    m->init.g1 = GS_NONE;
    m->declared = 1u << GS_ASCII;
    m->escapes = dcm_charset_affects(vr);
    if (!m->escapes)
        return;
    for (unsigned i = 0; i < cs->n && i < DCM_CHARSET_MAX; i++) {
        term_sets(cs->term[i], &g0, &g1);
        m->declared |= (g0 != GS_NONE ? 1u << g0 : 0) | (g1 != GS_NONE ? 1u << g1 : 0);
        if (i > 0)
            continue;
        /* value 1 sets the initial state; a two-byte G0 set there is not invoked */
        if (g0 != GS_NONE && !gsets[g0].wide)
            m->init.g0 = g0;
        if (g1 != GS_NONE)
            m->init.g1 = g1;
    }
    m->cur = m->init;
}

static gset whole_value_set(const dcm_charset *cs, dcm_vr vr)
{
    if (cs->n == 0 || !dcm_charset_affects(vr))
        return GS_NONE;
    switch (cs->term[0]) {
    case DCM_CS_IR192:
        return GS_UTF8;
    case DCM_CS_GB18030:
        return GS_GB18030;
    case DCM_CS_GBK:
        return GS_GBK;
    default:
        return GS_NONE;
    }
}

dv_err dcm_charset_to_utf8_flags(const dcm_charset *cs, dcm_vr vr, const uint8_t *val, size_t len,
                                 dv_buf *out, unsigned *flags, dv_errinfo *ei)
{
    conv cv;
    machine m;
    gset whole;
    size_t i = 0;

    if (len > 0 && !val)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "value bytes missing");
    conv_init(&cv, out, ei);
    whole = whole_value_set(cs, vr);
    if (whole == GS_UTF8) {
        run_utf8(&cv, val, len);
    } else if (whole != GS_NONE) {
        run_iconv(&cv, whole, val, len);
    } else {
        machine_init(&m, cs, vr);
        while (i < len && !cv.err)
            i += step(&cv, &m, val + i, len - i);
    }
    conv_close(&cv);
    if (flags)
        *flags |= cv.flags;
    return cv.err;
}

dv_err dcm_charset_to_utf8(const dcm_charset *cs, dcm_vr vr, const uint8_t *val, size_t len,
                           dv_buf *out, dv_errinfo *ei)
{
    return dcm_charset_to_utf8_flags(cs, vr, val, len, out, NULL, ei);
}
