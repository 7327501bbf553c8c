/* SPDX-License-Identifier: Apache-2.0 */
/* overlay.c - visible overlay: a line of text rendered once with FreeType into a coverage
 * bitmap, then tiled over the image in staggered rows and blended semi-transparently (bright on
 * dark pixels, dark on bright ones, so it shows everywhere).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#include "mark/mark.h"

#include "common/banned.h"

#define MAX_CHARS 200u

typedef struct stamp {
    uint8_t *cov; /* w x h coverage */
    uint32_t w, h;
} stamp;

/* Next code point of UTF-8 text (U+FFFD for a bad byte); advances *s. */
static uint32_t next_cp(const unsigned char **s)
{
    const unsigned char *p = *s;
    uint32_t c = p[0];
    int n = c < 0x80             ? 0
            : (c & 0xE0) == 0xC0 ? 1
            : (c & 0xF0) == 0xE0 ? 2
            : (c & 0xF8) == 0xF0 ? 3
                                 : -1;
    int i;

    if (n < 0) {
        *s = p + 1;
        return 0xFFFD;
    }
    c = n == 0 ? c : c & (0x3Fu >> n);
    for (i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *s = p + i;
            return 0xFFFD;
        }
        c = (c << 6) | (p[i] & 0x3Fu);
    }
    *s = p + n + 1;
    return c;
}

static void blit(stamp *st, const FT_Bitmap *bm, long x0, long y0)
{
    uint32_t x;
    uint32_t y;

    for (y = 0; y < bm->rows; y++)
        for (x = 0; x < bm->width; x++) {
            long xx = x0 + (long)x;
            long yy = y0 + (long)y;
            uint8_t v = bm->buffer[(size_t)y * (size_t)abs(bm->pitch) + x];
            if (xx >= 0 && yy >= 0 && xx < (long)st->w && yy < (long)st->h &&
                v > st->cov[(size_t)yy * st->w + (size_t)xx])
                st->cov[(size_t)yy * st->w + (size_t)xx] = v;
        }
}

static dv_err draw(FT_Face face, const char *text, uint32_t px, stamp *st, dv_errinfo *ei)
{
    const unsigned char *s = (const unsigned char *)text;
    long pen = (long)px / 2;
    uint32_t n = 0;

    st->w = px * (uint32_t)strlen(text) + px;
    st->h = px * 2;
    st->cov = calloc((size_t)st->w * st->h, 1);
    if (!st->cov)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory for the overlay");
    while (*s && n++ < MAX_CHARS) {
        uint32_t cp = next_cp(&s);
        if (FT_Load_Char(face, cp, FT_LOAD_RENDER))
            continue;
        blit(st, &face->glyph->bitmap, pen + face->glyph->bitmap_left,
             (long)px * 3 / 2 - face->glyph->bitmap_top);
        pen += face->glyph->advance.x >> 6;
    }
    st->w = pen + px / 2 < (long)st->w ? (uint32_t)(pen + px / 2) : st->w;
    return DV_OK;
}

static void tile(render_image *im, const stamp *st, double alpha, uint32_t full_w)
{
    uint32_t x;
    uint32_t y;
    uint32_t c;
    uint32_t gap = st->h * 3;

    for (y = 0; y < im->height; y++) {
        uint32_t band = y / gap;
        uint32_t sy = y % gap;
        if (sy >= st->h)
            continue;
        for (x = 0; x < im->width; x++) {
            uint32_t sx = (x + band * (st->w / 3)) % (st->w + st->h);
            double a;
            if (sx >= st->w)
                continue;
            a = alpha * st->cov[(size_t)sy * full_w + sx] / 255.0;
            for (c = 0; c < im->channels && a > 0; c++) {
                uint8_t *p = im->pixels + ((size_t)y * im->width + x) * im->channels + c;
                double target = *p < 128 ? 255 : 0;
                *p = (uint8_t)(*p + a * (target - *p) + 0.5);
            }
        }
    }
}

dv_err mark_overlay(render_image *im, const char *text, double alpha, const char *font_path,
                    dv_errinfo *ei)
{
    const char *path = font_path ? font_path : MARK_OVERLAY_FONT;
    FT_Library lib;
    FT_Face face;
    struct stat sb;
    stamp st;
    uint32_t px;
    uint32_t full_w;
    dv_err e;

    if (!*text || !im->pixels || (im->channels != 1 && im->channels != 3) || !(alpha > 0) ||
        alpha > 1)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "overlay: empty text or bad image");
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG,
                       "font file %s not found (Debian: fonts-dejavu-core)", path);
    if (FT_Init_FreeType(&lib))
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG, "FreeType init failed");
    if (FT_New_Face(lib, path, 0, &face)) {
        (void)FT_Done_FreeType(lib);
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG, "FreeType cannot open %s",
                       path);
    }
    px = (im->height < im->width ? im->height : im->width) / 40;
    px = px < 10 ? 10 : px > 200 ? 200 : px;
    memset(&st, 0, sizeof(st));
    e = FT_Set_Pixel_Sizes(face, 0, px) ? DV_EUNSUPPORTED : DV_OK;
    if (!e)
        e = draw(face, text, px, &st, ei);
    full_w = px * (uint32_t)strlen(text) + px;
    if (!e)
        tile(im, &st, alpha, full_w);
    free(st.cov);
    (void)FT_Done_Face(face);
    (void)FT_Done_FreeType(lib);
    if (e == DV_EUNSUPPORTED)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "FreeType cannot size the font");
    return e;
}
