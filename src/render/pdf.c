/* SPDX-License-Identifier: Apache-2.0 */
/* pdf.c - a print-ready PDF (1.4): one page per image, each image a baseline JPEG (DCTDecode)
 * scaled to fit an A4 portrait page inside a margin, with one line of caption text (Helvetica)
 * under it.  Nothing else goes in: no title, author, dates or XMP metadata.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render.h"

#include "common/banned.h"

#define PAGE_W       595.0 /* A4 in points */
#define PAGE_H       842.0
#define MARGIN       36.0
#define CAPTION_PT   9.0
#define CAPTION_BAND 24.0
#define MAX_PAGES    10000u
#define MAX_CAPTION  200u

static dv_err put(dv_buf *b, dv_errinfo *ei, const char *fmt, ...) DV_PRINTF(3, 4);

static dv_err put(dv_buf *b, dv_errinfo *ei, const char *fmt, ...)
{
    va_list ap;
    dv_err e;

    va_start(ap, fmt);
    e = dv_buf_vprintf(b, fmt, ap);
    va_end(ap);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "pdf: output too large");
    return DV_OK;
}

/* The caption as a PDF literal string body: printable ASCII, ( ) \ escaped. */
static dv_err caption_escaped(const char *s, char *out, size_t cap, dv_errinfo *ei)
{
    size_t o = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c > 0x7e)
            return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                           "pdf: caption must be printable ASCII");
        if (o + 3 > cap)
            return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "pdf: caption too long");
        if (c == '(' || c == ')' || c == '\\')
            out[o++] = '\\';
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return DV_OK;
}

static dv_err check_page(const render_pdf_page *p, dv_errinfo *ei)
{
    if (!p->jpeg || p->len < 4 || p->jpeg[0] != 0xFF || p->jpeg[1] != 0xD8)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "pdf: a page is not a JPEG");
    if (p->width < 1 || p->height < 1 || (p->channels != 1 && p->channels != 3))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "pdf: bad page geometry");
    if (p->caption && strlen(p->caption) > MAX_CAPTION)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "pdf: caption too long");
    return DV_OK;
}

/* Page i's three objects: page (3 + 3i), contents (4 + 3i), image (5 + 3i); font is 3. */
static dv_err page_objects(const render_pdf_page *p, size_t i, dv_buf *b, size_t base, size_t *offs,
                           dv_errinfo *ei)
{
    char cap[2 * MAX_CAPTION + 1], content[700];
    double box_w = PAGE_W - 2 * MARGIN, box_h = PAGE_H - 2 * MARGIN - CAPTION_BAND;
    double s = box_w / p->width < box_h / p->height ? box_w / p->width : box_h / p->height;
    double w = p->width * s, h = p->height * s;
    double x = (PAGE_W - w) / 2, y = MARGIN + CAPTION_BAND + (box_h - h) / 2;
    size_t obj = 4 + 3 * i;
    int n;
    dv_err e = caption_escaped(p->caption ? p->caption : "", cap, sizeof(cap), ei);

    n = snprintf(
        content, sizeof(content),
        "q %.3f 0 0 %.3f %.3f %.3f cm /Im%zu Do Q\nBT /F1 %.1f Tf %.3f %.3f Td (%s) Tj ET\n", w, h,
        x, y, i, CAPTION_PT, MARGIN, MARGIN + 6, cap);
    if (!e && (n < 0 || (size_t)n >= sizeof(content)))
        e = dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "pdf: page content too long");
    offs[obj] = b->len - base;
    if (!e)
        e = put(b, ei,
                "%zu 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.0f %.0f]"
                " /Resources << /Font << /F1 3 0 R >> /XObject << /Im%zu %zu 0 R >> >>"
                " /Contents %zu 0 R >>\nendobj\n",
                obj, PAGE_W, PAGE_H, i, obj + 2, obj + 1);
    offs[obj + 1] = b->len - base;
    if (!e)
        e = put(b, ei, "%zu 0 obj\n<< /Length %d >>\nstream\n%sendstream\nendobj\n", obj + 1, n,
                content);
    offs[obj + 2] = b->len - base;
    if (!e)
        e = put(b, ei,
                "%zu 0 obj\n<< /Type /XObject /Subtype /Image /Width %u /Height %u"
                " /ColorSpace /%s /BitsPerComponent 8 /Filter /DCTDecode /Length %zu >>\nstream\n",
                obj + 2, p->width, p->height, p->channels == 1 ? "DeviceGray" : "DeviceRGB",
                p->len);
    if (!e && dv_buf_add(b, p->jpeg, p->len) != DV_OK)
        e = dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "pdf: output too large");
    if (!e)
        e = put(b, ei, "\nendstream\nendobj\n");
    return e;
}

dv_err render_pdf(const render_pdf_page *pages, size_t n, dv_buf *out, dv_errinfo *ei)
{
    size_t start = out->len, nobj = 3 + 3 * n + 1, i, *offs, xref;
    dv_err e = DV_OK;

    if (n < 1 || n > MAX_PAGES)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "pdf: 1 to %u pages", MAX_PAGES);
    for (i = 0; i < n && !e; i++)
        e = check_page(&pages[i], ei);
    if (e)
        return e;
    offs = calloc(nobj, sizeof(*offs));
    if (!offs)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    e = put(out, ei, "%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n");
    offs[1] = out->len - start;
    if (!e)
        e = put(out, ei, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    offs[2] = out->len - start;
    if (!e)
        e = put(out, ei, "2 0 obj\n<< /Type /Pages /Count %zu /Kids [", n);
    for (i = 0; i < n && !e; i++)
        e = put(out, ei, "%zu 0 R ", 4 + 3 * i);
    if (!e)
        e = put(out, ei, "] >>\nendobj\n");
    offs[3] = out->len - start;
    if (!e)
        e = put(out, ei,
                "3 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n");
    for (i = 0; i < n && !e; i++)
        e = page_objects(&pages[i], i, out, start, offs, ei);
    xref = out->len - start;
    if (!e)
        e = put(out, ei, "xref\n0 %zu\n0000000000 65535 f \n", nobj);
    for (i = 1; i < nobj && !e; i++)
        e = put(out, ei, "%010zu 00000 n \n", offs[i]);
    if (!e)
        e = put(out, ei, "trailer\n<< /Size %zu /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", nobj,
                xref);
    free(offs);
    if (e)
        out->len = start;
    return e;
}
