/* SPDX-License-Identifier: Apache-2.0 */
/* pixels_ocr.c - finds burned-in text in one decoded frame with Tesseract (eng+chi_sim,
 * sparse-text page segmentation) and returns word boxes in stored pixel coordinates.
 *
 * Each frame is shown to Tesseract several times, as dark text on a light page: the mask of
 * the frame's brightest values, the mask of its darkest values (burned-in text is nearly
 * always drawn at an extreme of the stored range), and the file's display window in both
 * polarities.  Large frames are reduced (masks by "any pixel set", so thin strokes survive),
 * small ones enlarged.  A word box is then grown over the extreme-value connected components
 * it touches along its text line (pixels_grow.c), so a glyph Tesseract left out of a word (a
 * hyphen, an unrecognised ideograph) is still covered, and widened by a margin.
 *
 * Tesseract handles are not thread-safe: a small mutex-protected pool hands one to each
 * caller and takes it back; deid_pixels_cleanup() frees the pool.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <tesseract/capi.h>

#include "common/buf.h"
#include "deid/pixels_int.h"
#include "render/render.h"

#include "common/banned.h"

#define POOL_MAX    8
#define TESS_LANGS  "eng+chi_sim"
#define WORK_MAX    2048u /* longest side shown to Tesseract */
#define WORK_SMALL  1600u /* frames with a longest side below this are enlarged (at most 4x) */
#define MIN_CONF    20.0f /* word confidence (0..100) below which a box is ignored */
#define MAX_AREA_PC 25u   /* a word box larger than this % of the frame is a misreading */

/* ---- the handle pool -------------------------------------------------------------------- */

typedef struct pooled {
    TessBaseAPI *api;
    char path[256]; /* tessdata the handle was initialised with, "" for the default */
} pooled;

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pooled pool[POOL_MAX];
static unsigned pool_n;

static TessBaseAPI *tess_new(const char *tessdata, dv_errinfo *ei)
{
    TessBaseAPI *api = TessBaseAPICreate();

    if (!api) {
        (void)dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                      "cannot create a Tesseract handle");
        return NULL;
    }
    (void)TessBaseAPISetVariable(api, "debug_file", "/dev/null");
    if (TessBaseAPIInit3(api, tessdata, TESS_LANGS) != 0) {
        TessBaseAPIDelete(api);
        (void)dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                      "Tesseract cannot load eng+chi_sim (tesseract-ocr-eng, -chi-sim)");
        return NULL;
    }
    TessBaseAPISetPageSegMode(api, PSM_SPARSE_TEXT);
    return api;
}

static TessBaseAPI *tess_get(const char *tessdata, dv_errinfo *ei)
{
    const char *key = tessdata ? tessdata : "";
    TessBaseAPI *api = NULL;
    unsigned i;

    if (strlen(key) >= sizeof(pool[0].path)) {
        (void)dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG, "tessdata path too long");
        return NULL;
    }
    pthread_mutex_lock(&pool_mu);
    for (i = 0; i < pool_n; i++) {
        if (!strcmp(pool[i].path, key)) {
            api = pool[i].api;
            pool[i] = pool[--pool_n];
            break;
        }
    }
    pthread_mutex_unlock(&pool_mu);
    return api ? api : tess_new(tessdata, ei);
}

static void tess_put(TessBaseAPI *api, const char *tessdata)
{
    const char *key = tessdata ? tessdata : "";

    TessBaseAPIClear(api);
    pthread_mutex_lock(&pool_mu);
    if (pool_n < POOL_MAX) {
        pool[pool_n].api = api;
        memcpy(pool[pool_n].path, key, strlen(key) + 1);
        pool_n++;
        api = NULL;
    }
    pthread_mutex_unlock(&pool_mu);
    if (api) {
        TessBaseAPIEnd(api);
        TessBaseAPIDelete(api);
    }
}

void deid_pixels_cleanup(void)
{
    pthread_mutex_lock(&pool_mu);
    while (pool_n) {
        pool_n--;
        TessBaseAPIEnd(pool[pool_n].api);
        TessBaseAPIDelete(pool[pool_n].api);
    }
    pthread_mutex_unlock(&pool_mu);
}

/* ---- displays ----------------------------------------------------------------------------- */

/* Scale between the frame and the working image: work = frame / down * up. */
typedef struct scale {
    uint32_t down, up;
    uint32_t w, h; /* working size */
} scale;

static void pick_scale(uint32_t cols, uint32_t rows, scale *s)
{
    uint32_t side = cols > rows ? cols : rows;

    s->down = (side + WORK_MAX - 1) / WORK_MAX;
    s->up = side < WORK_SMALL ? (WORK_SMALL + side - 1) / side : 1;
    s->up = s->up > 4 ? 4 : s->up;
    if (s->down < 1)
        s->down = 1;
    s->w = (cols + s->down - 1) / s->down * s->up;
    s->h = (rows + s->down - 1) / s->down * s->up;
}

/* Working image of a byte plane (cols x rows): mode 0 averages, mode 1 keeps the minimum (a
 * dark stroke anywhere in the block stays dark). */
static uint8_t *to_work(const uint8_t *src, uint32_t cols, uint32_t rows, const scale *s, int mn)
{
    uint8_t *out = malloc((size_t)s->w * s->h);
    uint32_t x, y;

    if (!out)
        return NULL;
    for (y = 0; y < s->h; y++) {
        uint32_t sy0 = y / s->up * s->down;

        for (x = 0; x < s->w; x++) {
            uint32_t sx0 = x / s->up * s->down, dx, dy, n = 0, sum = 0, lo = 255;

            for (dy = 0; dy < s->down && sy0 + dy < rows; dy++)
                for (dx = 0; dx < s->down && sx0 + dx < cols; dx++) {
                    uint8_t v = src[(size_t)(sy0 + dy) * cols + sx0 + dx];

                    sum += v;
                    lo = v < lo ? v : lo;
                    n++;
                }
            out[(size_t)y * s->w + x] = (uint8_t)(mn ? lo : (n ? sum / n : 255));
        }
    }
    return out;
}

/* ---- recognition -------------------------------------------------------------------------- */

static int word_has_text(const char *t)
{
    for (; t && *t; t++)
        if ((*t >= '0' && *t <= '9') || ((*t | 0x20) >= 'a' && (*t | 0x20) <= 'z') ||
            (unsigned char)*t >= 0x80)
            return 1;
    return 0;
}

/* Word boxes of the last recognition, mapped to frame coordinates, into wb. */
static dv_err collect_words(TessBaseAPI *api, const scale *s, const px_plane *pl, px_boxes *wb,
                            dv_errinfo *ei)
{
    TessResultIterator *it = TessBaseAPIGetIterator(api);
    dv_err e = DV_OK;

    if (!it)
        return DV_OK;
    do {
        const TessPageIterator *pit = TessResultIteratorGetPageIteratorConst(it);
        int l, t, r, b;
        char *txt;
        float conf;

        if (!TessPageIteratorBoundingBox(pit, RIL_WORD, &l, &t, &r, &b))
            continue;
        txt = TessResultIteratorGetUTF8Text(it, RIL_WORD);
        conf = TessResultIteratorConfidence(it, RIL_WORD);
        if (word_has_text(txt) && conf >= MIN_CONF &&
            (uint64_t)(r - l) * (uint64_t)(b - t) * 100u <= (uint64_t)s->w * s->h * MAX_AREA_PC) {
            int64_t x0 = (int64_t)l * s->down / s->up, y0 = (int64_t)t * s->down / s->up;
            int64_t x1 = ((int64_t)r * s->down + s->up - 1) / s->up;
            int64_t y1 = ((int64_t)b * s->down + s->up - 1) / s->up;

            e = px_boxes_add(wb, 0, x0, y0, x1, y1, pl->h, pl->w, DEID_BOX_OCR, ei);
        }
        TessDeleteText(txt);
    } while (!e && TessResultIteratorNext(it, RIL_WORD));
    TessResultIteratorDelete(it);
    return e;
}

/* Runs Tesseract on one working image; words to wb, text to text. */
static dv_err recognise(TessBaseAPI *api, const uint8_t *img, const scale *s, const px_plane *pl,
                        px_boxes *wb, dv_buf *text, dv_errinfo *ei)
{
    dv_err e = DV_OK;

    TessBaseAPISetImage(api, img, (int)s->w, (int)s->h, 1, (int)s->w);
    TessBaseAPISetSourceResolution(api, 300);
    if (TessBaseAPIRecognize(api, NULL) != 0)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG, "Tesseract failed");
    if (wb)
        e = collect_words(api, s, pl, wb, ei);
    if (!e && text) {
        char *t = TessBaseAPIGetUTF8Text(api);

        if (t) {
            e = dv_buf_adds(text, t);
            if (!e && t[0] && t[strlen(t) - 1] != '\n')
                e = dv_buf_addc(text, '\n');
            if (e)
                e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "OCR text too large");
            TessDeleteText(t);
        }
    }
    return e;
}

/* Shows every display of pl to Tesseract. */
static dv_err run_displays(TessBaseAPI *api, const px_plane *pl, px_boxes *wb, dv_buf *text,
                           dv_errinfo *ei)
{
    uint8_t *disp = malloc((size_t)pl->w * pl->h);
    scale s;
    dv_err e = DV_OK;
    int k;

    if (!disp)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    pick_scale(pl->w, pl->h, &s);
    for (k = 0; k < PX_NDISPLAYS && !e; k++) {
        uint8_t *work;

        if (!px_display(pl, k, disp))
            continue;
        work = to_work(disp, pl->w, pl->h, &s, px_display_is_mask(k));
        if (!work) {
            e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
            break;
        }
        e = recognise(api, work, &s, pl, wb, text, ei);
        free(work);
    }
    free(disp);
    return e;
}

dv_err px_ocr_frame(const dcm_ds *ds, uint32_t frame, dcm_frame *fr, const char *tessdata,
                    px_boxes *boxes, dv_buf *text, dv_errinfo *ei)
{
    px_boxes words = {0};
    px_plane pl;
    TessBaseAPI *api;
    dv_err e;

    e = px_plane_make(ds, frame, fr, &pl, ei);
    if (e)
        return e;
    api = tess_get(tessdata, ei);
    if (!api) {
        px_plane_release(&pl);
        return DV_EUNSUPPORTED;
    }
    e = run_displays(api, &pl, boxes ? &words : NULL, text, ei);
    tess_put(api, tessdata);
    if (!e && boxes)
        e = px_grow_boxes(&pl, &words, frame, boxes, ei);
    free(words.v);
    px_plane_release(&pl);
    return e;
}
