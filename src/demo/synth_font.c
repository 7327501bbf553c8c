/* SPDX-License-Identifier: Apache-2.0 */
/* synth_font.c - burns UTF-8 strings into a brightness canvas with FreeType.
 *
 * A string is laid out on one baseline with the fonts' advances (no kerning).  The box is the
 * union of the glyph bitmaps ("ink box"), grown by a margin when the text has a backing; the
 * requested corner is the box's top-left, moved inside the canvas when the box would cross
 * the right or bottom border.  Coverage blends the text colour over what is there, so every
 * changed pixel lies inside the box.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#include "demo/synth_int.h"

#include "common/banned.h"

#define MAX_PX     2048u /* largest font size accepted */
#define MAX_GLYPHS 256u  /* longest string accepted, in characters */

struct synth_fonts {
    FT_Library lib;
    FT_Face face[2]; /* 0 Latin, 1 CJK */
};

static dv_err open_face(synth_fonts *fo, int i, const char *path, dv_errinfo *ei)
{
    struct stat sb;
    FT_Error fe;

    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG,
                       "font file %s not found (Debian: fonts-dejavu-core, fonts-wqy-microhei)",
                       path);
    fe = FT_New_Face(fo->lib, path, 0, &fo->face[i]);
    if (fe)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "FreeType cannot open font file %s (error %d)", path, (int)fe);
    return DV_OK;
}

dv_err synth_fonts_open(const char *latin, const char *cjk, synth_fonts **out, dv_errinfo *ei)
{
    synth_fonts *fo = calloc(1, sizeof(*fo));
    dv_err e;

    *out = NULL;
    if (!fo)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    if (FT_Init_FreeType(&fo->lib)) {
        free(fo);
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG, "FreeType init failed");
    }
    e = open_face(fo, 0, latin ? latin : SYNTH_FONT_LATIN_PATH, ei);
    if (!e)
        e = open_face(fo, 1, cjk ? cjk : SYNTH_FONT_CJK_PATH, ei);
    if (e) {
        synth_fonts_close(fo);
        return e;
    }
    *out = fo;
    return DV_OK;
}

void synth_fonts_close(synth_fonts *fo)
{
    if (!fo)
        return;
    if (fo->face[0])
        (void)FT_Done_Face(fo->face[0]);
    if (fo->face[1])
        (void)FT_Done_Face(fo->face[1]);
    (void)FT_Done_FreeType(fo->lib);
    free(fo);
}

/* Decodes one UTF-8 character at *s (advancing it); U+FFFD for a bad sequence. */
static uint32_t utf8_next(const char **s)
{
    const uint8_t *p = (const uint8_t *)*s;
    uint32_t cp, n, i;

    if (p[0] < 0x80) {
        *s += 1;
        return p[0];
    }
    n = p[0] >= 0xF0 ? 3 : p[0] >= 0xE0 ? 2 : p[0] >= 0xC0 ? 1 : 0;
    cp = p[0] & (0x3Fu >> n);
    for (i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *s += i;
            return 0xFFFD;
        }
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    *s += n + 1;
    return n ? cp : 0xFFFD;
}

/* Loads and renders cp from the preferred face, or from the other when it lacks the glyph. */
static dv_err load_glyph(synth_fonts *fo, int pref, uint32_t cp, FT_GlyphSlot *slot, dv_errinfo *ei)
{
    FT_Face face = fo->face[pref];
    FT_UInt gi = FT_Get_Char_Index(face, cp);

    if (!gi && FT_Get_Char_Index(fo->face[!pref], cp)) {
        face = fo->face[!pref];
        gi = FT_Get_Char_Index(face, cp);
    }
    if (FT_Load_Glyph(face, gi, FT_LOAD_RENDER) ||
        face->glyph->bitmap.pixel_mode != FT_PIXEL_MODE_GRAY || face->glyph->bitmap.pitch < 0)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "FreeType cannot render U+%04X as 8-bit coverage", (unsigned)cp);
    *slot = face->glyph;
    return DV_OK;
}

typedef struct extent {
    long x0, y0, x1, y1; /* ink box relative to the pen start on the baseline; empty: x0>=x1 */
} extent;

/* Measures (c == NULL) or draws (at offset ox, oy) the string; fills ext when measuring. */
static dv_err run(synth_fonts *fo, int pref, const char *s, synth_canvas *c, long ox, long oy,
                  float fg, extent *ext, dv_errinfo *ei)
{
    long pen = 0; /* 26.6 fixed point */
    unsigned n = 0;
    dv_err e;

    while (*s && n++ < MAX_GLYPHS) {
        FT_GlyphSlot g = NULL;
        const FT_Bitmap *bm;
        long bx, by;
        unsigned r, k;

        e = load_glyph(fo, pref, utf8_next(&s), &g, ei);
        if (e || !g)
            return e ? e : DV_EUNSUPPORTED;
        bm = &g->bitmap;
        bx = (pen >> 6) + g->bitmap_left;
        by = -(long)g->bitmap_top;
        pen += g->advance.x;
        if (!bm->width || !bm->rows)
            continue;
        if (!c) {
            if (ext->x0 >= ext->x1) {
                ext->x0 = bx;
                ext->y0 = by;
                ext->x1 = bx + (long)bm->width;
                ext->y1 = by + (long)bm->rows;
            }
            ext->x0 = bx < ext->x0 ? bx : ext->x0;
            ext->y0 = by < ext->y0 ? by : ext->y0;
            ext->x1 = bx + (long)bm->width > ext->x1 ? bx + (long)bm->width : ext->x1;
            ext->y1 = by + (long)bm->rows > ext->y1 ? by + (long)bm->rows : ext->y1;
            continue;
        }
        for (r = 0; r < bm->rows; r++) {
            const uint8_t *src = bm->buffer + (size_t)r * (size_t)bm->pitch;
            float *dst = c->v + (size_t)(oy + by + (long)r) * c->cols + (size_t)(ox + bx);

            for (k = 0; k < bm->width; k++)
                dst[k] += (fg - dst[k]) * ((float)src[k] * (1.0f / 255.0f));
        }
    }
    return DV_OK;
}

static void copy_text(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);

    if (n >= cap) {
        n = cap - 1;
        while (n && ((uint8_t)s[n] & 0xC0) == 0x80) /* do not cut a character */
            n--;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Places a w x h box at the fractions of t, moved inside the canvas. */
static void place(const synth_canvas *c, const synth_text *t, long w, long h, synth_box *box)
{
    double fx = t->x < 0 ? 0 : t->x > 1 ? 1 : t->x, fy = t->y < 0 ? 0 : t->y > 1 ? 1 : t->y;
    long x = (long)(fx * c->cols + 0.5), y = (long)(fy * c->rows + 0.5);

    if (x + w > (long)c->cols)
        x = (long)c->cols - w;
    if (y + h > (long)c->rows)
        y = (long)c->rows - h;
    box->x = (uint32_t)x;
    box->y = (uint32_t)y;
    box->w = (uint32_t)w;
    box->h = (uint32_t)h;
}

static void fill_box(synth_canvas *c, const synth_box *b, float v)
{
    uint32_t r, k;

    for (r = b->y; r < b->y + b->h; r++)
        for (k = b->x; k < b->x + b->w; k++)
            c->v[(size_t)r * c->cols + k] = v;
}

dv_err synth_draw_text(synth_fonts *fo, synth_canvas *c, const synth_text *t, const char *utf8,
                       synth_box *box, dv_errinfo *ei)
{
    uint32_t px = t->px ? t->px : (c->rows / 40 > 10 ? c->rows / 40 : 10);
    int pref =
        t->font == SYNTH_FONT_CJK || (t->font == SYNTH_FONT_AUTO && t->kind == SYNTH_TEXT_NAME_CJK);
    extent ext = {0, 0, 0, 0};
    long margin = 0, w, h;
    float fg = t->dark ? 0.0f : 1.0f;
    dv_err e;

    if (px > MAX_PX)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "font size %u over %u", px, MAX_PX);
    if (FT_Set_Pixel_Sizes(fo->face[0], 0, px) || FT_Set_Pixel_Sizes(fo->face[1], 0, px))
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "FreeType cannot scale the fonts to %u pixels", px);
    e = run(fo, pref, utf8, NULL, 0, 0, fg, &ext, ei);
    if (e)
        return e;
    if (ext.x0 >= ext.x1)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "a text draws no pixels");
    if (t->backing)
        margin = px / 8 > 1 ? (long)(px / 8) : 1;
    w = ext.x1 - ext.x0 + 2 * margin;
    h = ext.y1 - ext.y0 + 2 * margin;
    if (w > (long)c->cols || h > (long)c->rows)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "a %ldx%ld text box does not fit a %ux%u image", w, h, c->cols, c->rows);
    memset(box, 0, sizeof(*box));
    place(c, t, w, h, box);
    box->kind = t->kind;
    copy_text(box->text, sizeof(box->text), utf8);
    if (t->backing)
        fill_box(c, box, 1.0f - fg);
    return run(fo, pref, utf8, c, (long)box->x + margin - ext.x0, (long)box->y + margin - ext.y0,
               fg, NULL, ei);
}
