/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_demo.c - `dcmvault demo`: writes a synthetic study and walks it through what this build
 * can do (dump, transcoding, rendering, decoding), printing a short report.
 *
 * The steps are rows of the `steps` table; each gets the shared demo_ctx, prints its own
 * detail lines and returns 0 or -1.  The first failing step ends the demo with exit status 1
 * and its name.  All data is synthetic (src/demo/synth.h); nothing here logs.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "demo/synth.h"
#include "dicom/dicom.h"
#include "dicom/dump.h"
#include "dicom/pixel.h"
#include "render/render.h"
#include "cli/demo_vault.h"

#include "common/banned.h"

#define DEMO_MAX_FILES 64
#define DEMO_PATH_MAX  4096

typedef struct demo_ctx {
    char dir[DEMO_PATH_MAX];
    uint64_t seed;
    synth_study st;
    synth_xr_opts xo;
    synth_ct_opts co;
    char *files[DEMO_MAX_FILES]; /* every file written (DICOM and PNG), malloc'd paths */
    uint32_t nfiles;
    uint32_t ndicom;   /* files[0..ndicom) are the DICOM files */
    uint32_t xr_index; /* the radiograph among them */
    synth_box boxes[SYNTH_MAX_TEXTS];
    uint32_t nboxes;
    int keep_vault; /* --out or --keep: leave DIR/vault and DIR/vault.kek */
} demo_ctx;

typedef struct demo_step {
    const char *name;
    const char *what;
    int (*run)(demo_ctx *c);
} demo_step;

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');

    return s ? s + 1 : p;
}

static int report(const char *step, const char *path, dv_err e, const dv_errinfo *ei)
{
    char msg[400];

    dv_errinfo_format(ei, e, msg, sizeof(msg));
    fprintf(stderr, "dcmvault demo: %s: %s%s%s\n", step, path ? base_name(path) : "",
            path ? ": " : "", msg);
    return -1;
}

static int add_file(demo_ctx *c, const char *path)
{
    if (c->nfiles >= DEMO_MAX_FILES)
        return -1;
    c->files[c->nfiles] = strdup(path);
    if (!c->files[c->nfiles])
        return -1;
    c->nfiles++;
    return 0;
}

/* ---- step: generate ----------------------------------------------------------------------- */

static dv_err on_file(void *ctx, const char *path, const dcm_file *f, const synth_xr *xr)
{
    demo_ctx *c = ctx;

    (void)f;
    if (xr) {
        c->xr_index = c->nfiles;
        c->nboxes = xr->nboxes;
        memcpy(c->boxes, xr->boxes, sizeof(c->boxes));
    }
    return add_file(c, path) ? DV_ENOMEM : DV_OK;
}

static int step_generate(demo_ctx *c)
{
    dv_errinfo ei;
    dv_err e;
    uint32_t i;

    dv_errinfo_clear(&ei);
    e = synth_write_study(c->dir, &c->st, &c->xo, &c->co, on_file, c, &ei);
    c->ndicom = c->nfiles;
    if (e)
        return report("generate", NULL, e, &ei);
    printf("      patient (synthetic): %s, ID %s, born %s, sex %s\n", c->st.patient_name,
           c->st.patient_id, c->st.birth_date, c->st.sex);
    printf("      %s  %s %ux%u, %u bits stored, %s, %u texts burned in:\n",
           base_name(c->files[c->xr_index]), c->xo.modality == SYNTH_XR_DX ? "DX" : "CR",
           c->xo.cols, c->xo.rows, c->xo.bits_stored,
           c->xo.monochrome1 ? "MONOCHROME1" : "MONOCHROME2", c->nboxes);
    for (i = 0; i < c->nboxes; i++)
        printf("        \"%s\" (synthetic) at x=%u y=%u, %ux%u px\n", c->boxes[i].text,
               c->boxes[i].x, c->boxes[i].y, c->boxes[i].w, c->boxes[i].h);
    printf("      ct_0001.dcm .. ct_%04u.dcm  CT %u slices %ux%u, signed 16-bit, "
           "RescaleIntercept -1024\n",
           c->co.slices, c->co.slices, c->co.cols, c->co.rows);
    printf("      %u DICOM files written (explicit VR little endian, mode 0600)\n", c->ndicom);
    return 0;
}

/* ---- step: dump --------------------------------------------------------------------------- */

static int wanted_line(const char *line, size_t n, int *is_name)
{
    static const char *const tags[] = {
        "(0002,0010)", "(0008,0005)", "(0008,0016)", "(0008,0060)", "(0010,0010)",
        "(0010,0020)", "(0010,0030)", "(0020,000d)", "(0028,0004)", "(0028,0010)",
        "(0028,0011)", "(0028,0101)", "(0028,0301)", "(0028,1050)", "(0028,1051)",
    };
    size_t i;

    *is_name = n >= 11 && !strncmp(line, "(0010,0010)", 11);
    for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
        if (n >= 11 && !strncasecmp(line, tags[i], 11))
            return 1;
    return 0;
}

static int step_dump(demo_ctx *c)
{
    const char *path = c->files[c->xr_index];
    dcm_file *f = NULL;
    dv_errinfo ei;
    dv_buf out;
    dv_err e;
    const char *p, *end;

    e = dcm_read_file(path, 0, NULL, &f, &ei);
    if (e)
        return report("dump", path, e, &ei);
    dv_buf_init(&out, (size_t)1 << 24);
    e = dcm_dump(f, 0, &out);
    dcm_file_free(f);
    if (e) {
        dv_buf_release(&out);
        dv_errinfo_clear(&ei);
        return report("dump", path, e, &ei);
    }
    printf("      %s through the parser (dcmdump layout), key elements:\n", base_name(path));
    for (p = (const char *)out.p, end = p + out.len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        int is_name;

        if (wanted_line(p, n, &is_name))
            printf("        %.*s%s\n", (int)n, p, is_name ? "  (synthetic)" : "");
        p += n + 1;
    }
    dv_buf_release(&out);
    return 0;
}

/* ---- step: transcode ---------------------------------------------------------------------- */

static int ds_equal(const dcm_ds *a, const dcm_ds *b, unsigned depth);

static int elem_equal(const dcm_elem *x, const dcm_elem *y, unsigned depth)
{
    uint32_t i;

    /* an implicit VR re-read takes its VR from the dictionary; only the value must match */
    if (x->tag != y->tag || (!y->vr_guessed && x->vr != y->vr) || x->len != y->len ||
        x->nitems != y->nitems || x->nfrags != y->nfrags)
        return 0;
    if (x->len && memcmp(x->val, y->val, x->len) != 0)
        return 0;
    for (i = 0; i < x->nitems; i++)
        if (!ds_equal(&x->items[i], &y->items[i], depth + 1))
            return 0;
    return 1;
}

static int ds_equal(const dcm_ds *a, const dcm_ds *b, unsigned depth)
{
    uint32_t i;

    if (depth > 16 || a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++)
        if (!elem_equal(&a->e[i], &b->e[i], depth))
            return 0;
    return 1;
}

/* Writes f in ts, parses the bytes back and compares the datasets; 0 when equal. */
static int round_trip(dcm_file *f, const dcm_ts *ts, const char *path, size_t *size)
{
    dcm_file *g = NULL;
    dv_errinfo ei;
    dv_buf buf;
    dv_err e;
    int rc = 0;

    dv_buf_init(&buf, (size_t)1 << 32);
    e = dcm_write_part10(f, ts, &buf, &ei);
    if (!e)
        e = dcm_parse(buf.p, buf.len, 0, NULL, &g, &ei);
    if (e) {
        rc = report("transcode", path, e, &ei);
    } else if (g->ts != ts || !ds_equal(&f->ds, &g->ds, 0)) {
        fprintf(stderr, "dcmvault demo: transcode: %s: differs after %s\n", base_name(path),
                ts->name);
        rc = -1;
    }
    *size = buf.len;
    dcm_file_free(g);
    dv_buf_release(&buf);
    return rc;
}

static int step_transcode(demo_ctx *c)
{
    static const dcm_ts *const tss[] = {&dcm_ts_implicit_le, &dcm_ts_explicit_le,
                                        &dcm_ts_explicit_be, &dcm_ts_deflated_le};
    size_t bytes[4] = {0, 0, 0, 0};
    uint32_t i, k;

    for (i = 0; i < c->ndicom; i++) {
        dcm_file *f = NULL;
        dv_errinfo ei;
        dv_err e = dcm_read_file(c->files[i], 0, NULL, &f, &ei);

        if (e)
            return report("transcode", c->files[i], e, &ei);
        for (k = 0; k < 4; k++) {
            size_t n = 0;

            if (round_trip(f, tss[k], c->files[i], &n)) {
                dcm_file_free(f);
                return -1;
            }
            bytes[k] += n;
        }
        dcm_file_free(f);
    }
    for (k = 0; k < 4; k++)
        printf("      %-26s %u files re-read equal, %zu KiB in all\n", tss[k]->name, c->ndicom,
               bytes[k] / 1024);
    return 0;
}

/* ---- step: render ------------------------------------------------------------------------- */

/* Renders frame 0 of src with the given window (width 0: the file's) to dir/png_name. */
static int render_one(demo_ctx *c, const char *src, double center, double width,
                      const char *png_name, const char *label)
{
    char path[DEMO_PATH_MAX];
    render_image im = {0, 0, 0, NULL};
    render_opts o;
    dcm_file *f = NULL;
    dv_errinfo ei;
    dv_buf png;
    dv_err e;

    if (snprintf(path, sizeof(path), "%s/%s", c->dir, png_name) >= (int)sizeof(path))
        return -1;
    render_opts_init(&o);
    o.has_window = width > 0;
    o.center = center;
    o.width = width;
    dv_buf_init(&png, (size_t)1 << 28);
    e = dcm_read_file(src, 0, NULL, &f, &ei);
    if (!e)
        e = render_frame(f, 0, &o, &im, &ei);
    if (!e)
        e = render_png(&im, &png, &ei);
    if (!e)
        e = dcm_write_file_atomic(path, png.p, png.len, &ei);
    if (!e && add_file(c, path))
        e = dv_fail(&ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    if (!e)
        printf("      %-18s %ux%u PNG, %zu KiB, %s\n", png_name, im.width, im.height,
               png.len / 1024, label);
    render_image_release(&im);
    dv_buf_release(&png);
    dcm_file_free(f);
    return e ? report("render", src, e, &ei) : 0;
}

static int step_render(demo_ctx *c)
{
    const char *xr = c->files[c->xr_index];
    const char *ct = c->files[c->xr_index == 0 ? 1 + c->co.slices / 2 : c->co.slices / 2];

    if (render_one(c, xr, 0, 0, "xr.png", "the file's window (WindowCenter/Width)") ||
        render_one(c, ct, -600, 1500, "ct_lung.png", "lung window C -600 W 1500 HU") ||
        render_one(c, ct, 40, 400, "ct_soft.png", "soft tissue window C 40 W 400 HU"))
        return -1;
    return 0;
}

/* ---- step: decode ------------------------------------------------------------------------- */

typedef struct range {
    long lo, hi;
} range;

/* Decodes frame 0 of f, checks it against the stored Pixel Data and returns its value range. */
static dv_err decode_check(const dcm_file *f, dcm_frame *fr, range *r, dv_errinfo *ei)
{
    const dcm_elem *px = dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA);
    size_t i, n;
    dv_err e;

    e = dcm_frame_decode(f, 0, fr, ei);
    if (e)
        return e;
    if (fr->pi.bits_alloc != 16 || fr->pi.samples != 1 || !px || px->len != fr->len ||
        memcmp(px->val, fr->data, fr->len) != 0)
        return dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                       "decoded frame differs from the stored pixel data");
    n = fr->len / 2;
    r->lo = LONG_MAX;
    r->hi = LONG_MIN;
    for (i = 0; i < n; i++) {
        uint16_t u = dv_le16(fr->data + 2 * i);
        long v = fr->pi.pixel_rep ? (long)(int16_t)u : (long)u;

        r->lo = v < r->lo ? v : r->lo;
        r->hi = v > r->hi ? v : r->hi;
    }
    return DV_OK;
}

/* 1 when pixel (x, y) lies in a text box; counts it as changed in that box when differs. */
static int in_boxes(const demo_ctx *c, uint32_t x, uint32_t y, int differs, uint32_t *changed)
{
    uint32_t i;
    int inside = 0;

    for (i = 0; i < c->nboxes; i++) {
        const synth_box *b = &c->boxes[i];

        if (x >= b->x && x < b->x + b->w && y >= b->y && y < b->y + b->h) {
            inside = 1;
            changed[i] += differs != 0;
        }
    }
    return inside;
}

/* Makes the radiograph again without text and compares it with the decoded frame fr.
 * Returns the number of boxes with changed pixels, or -1 when a pixel outside every box
 * differs or the image cannot be made. */
static int boxes_with_text(const demo_ctx *c, const dcm_frame *fr)
{
    synth_xr_opts bare = c->xo;
    synth_xr x;
    const dcm_elem *px;
    dv_errinfo ei;
    uint32_t changed[SYNTH_MAX_TEXTS] = {0}, y, k, i;
    int found = 0, stray = 0;

    bare.ntexts = 0;
    if (synth_xr_make(&c->st, &bare, &x, &ei))
        return -1;
    px = dcm_ds_find(&x.file->ds, DCM_TAG_PIXEL_DATA);
    if (!px || px->len != fr->len)
        stray = 1;
    for (y = 0; !stray && y < fr->pi.rows; y++)
        for (k = 0; k < fr->pi.cols; k++) {
            size_t at = 2 * ((size_t)y * fr->pi.cols + k);
            int differs = memcmp(px->val + at, fr->data + at, 2) != 0;

            if (!in_boxes(c, k, y, differs, changed) && differs)
                stray = 1;
        }
    for (i = 0; i < c->nboxes; i++)
        found += changed[i] > 0;
    synth_xr_release(&x);
    return stray ? -1 : found;
}

static int step_decode(demo_ctx *c)
{
    range ct = {LONG_MAX, LONG_MIN}, xr = {0, 0};
    uint32_t i, maxval = (1u << c->xo.bits_stored) - 1;
    int text = 0;

    for (i = 0; i < c->ndicom; i++) {
        dcm_frame fr = {NULL, 0, {0}};
        dcm_file *f = NULL;
        dv_errinfo ei;
        range r = {0, 0};
        dv_err e = dcm_read_file(c->files[i], 0, NULL, &f, &ei);

        if (!e)
            e = decode_check(f, &fr, &r, &ei);
        if (!e && i == c->xr_index) {
            xr = r;
            text = boxes_with_text(c, &fr);
        } else if (!e) {
            ct.lo = r.lo < ct.lo ? r.lo : ct.lo;
            ct.hi = r.hi > ct.hi ? r.hi : ct.hi;
        }
        dcm_frame_release(&fr);
        dcm_file_free(f);
        if (e)
            return report("decode", c->files[i], e, &ei);
    }
    printf("      %u frames decoded, each identical to its stored pixel data\n", c->ndicom);
    printf("      radiograph: stored values %ld..%ld (0..%u allowed); against the same image\n"
           "      made without text, pixels changed in %d of %u text boxes and nowhere else\n",
           xr.lo, xr.hi, maxval, text, c->nboxes);
    printf("      CT: %ld..%ld HU\n", ct.lo - 1024, ct.hi - 1024);
    if (xr.lo < 0 || xr.hi > (long)maxval || text != (int)c->nboxes || ct.lo - 1024 < -2048 ||
        ct.hi - 1024 > 3071 || ct.lo - 1024 > -900 || ct.hi - 1024 < 500) {
        fprintf(stderr, "dcmvault demo: decode: pixel values or burned-in text not as made\n");
        return -1;
    }
    return 0;
}

/* ---- step: vault -------------------------------------------------------------------------- */

static int step_vault(demo_ctx *c)
{
    demo_vault_in in;

    memset(&in, 0, sizeof(in));
    in.dir = c->dir;
    in.files = c->files;
    in.nfiles = c->ndicom;
    in.study_uid = c->st.study_uid;
    in.patient_id = c->st.patient_id;
    in.patient_name = c->st.patient_name;
    in.birth_date = c->st.birth_date;
    in.accession = c->st.accession;
    in.keep = c->keep_vault;
    return demo_vault_step(&in);
}

/* ---- driver ------------------------------------------------------------------------------- */

static const demo_step steps[] = {
    {"generate", "write a synthetic chest radiograph and CT series", step_generate},
    {"dump", "list the radiograph's key elements through the parser", step_dump},
    {"transcode", "write every file in each native transfer syntax, re-read, compare",
     step_transcode},
    {"render", "render the radiograph and a CT slice to PNG", step_render},
    {"decode", "decode every frame and check values and burned-in text", step_decode},
    {"vault", "seal the study in a new vault, find, export byte for byte, check, scan for PHI",
     step_vault},
};

#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

static double now_s(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void help(FILE *out)
{
    fprintf(out,
            "usage: dcmvault demo [--out [DIR]] [--seed N] [--keep] [radiograph options]\n"
            "Writes a synthetic study (one fictional patient: a CR chest radiograph with the\n"
            "name, ID and date burned into the pixels, and a CT series), then shows what this\n"
            "build does with it: dump, conversion to every native transfer syntax and back,\n"
            "rendering to PNG, frame decoding.  Prints a report; takes a few seconds.\n\n"
            "  --out [DIR] write into DIR, ./demo-out when DIR is left out (created with\n"
            "              mode 0700 when missing; kept).  Without --out: a new folder under\n"
            "              /tmp, removed at the end\n"
            "  --seed N    seed of the synthetic data (default 1): same seed, same bytes\n"
            "  --keep      keep the default /tmp folder\n"
            "  --dx        make the radiograph a DX For Presentation image (default CR)\n"
            "  --monochrome1       radiograph in MONOCHROME1 (default MONOCHROME2)\n"
            "  --bits-stored N     12 (default) or 14\n"
            "  --size N    radiograph rows and columns, 256..8192 (default 2048)\n"
            "  -h, --help  this text\n\n"
            "Exit status: 0 every step passed, 1 a step failed (named on stderr), 2 bad\n"
            "command line, 3 the output folder could not be made.\n");
}

static int parse_seed(const char *s, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (!*s || *s == '-')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_uint(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    uint64_t v;

    if (parse_seed(s, &v) || v < lo || v > hi)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "dcmvault demo: %s\n", msg);
    return -1;
}

/* Parses the options into c (whose xo holds the defaults); returns -1 on a usage error. */
static int parse_args(int argc, char **argv, demo_ctx *c, const char **out_dir, int *keep)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out")) {
            /* --out alone (last, or before another option) means ./demo-out */
            if (i + 1 < argc && argv[i + 1][0] && strncmp(argv[i + 1], "--", 2) != 0)
                *out_dir = argv[++i];
            else
                *out_dir = "demo-out";
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            if (parse_seed(argv[++i], &c->seed))
                return usage_error("--seed wants a number 0..2^64-1");
        } else if (!strcmp(argv[i], "--keep")) {
            *keep = 1;
        } else if (!strcmp(argv[i], "--dx")) {
            c->xo.modality = SYNTH_XR_DX;
        } else if (!strcmp(argv[i], "--monochrome1")) {
            c->xo.monochrome1 = 1;
        } else if (!strcmp(argv[i], "--bits-stored") && i + 1 < argc) {
            if (parse_uint(argv[++i], 12, 14, &c->xo.bits_stored) || c->xo.bits_stored == 13)
                return usage_error("--bits-stored wants 12 or 14");
        } else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            if (parse_uint(argv[++i], 256, 8192, &c->xo.rows))
                return usage_error("--size wants 256..8192");
            c->xo.cols = c->xo.rows;
        } else {
            fprintf(stderr, "dcmvault demo: unknown or incomplete option '%s'\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

/* Makes the output folder (mode 0700) into c->dir. */
static int make_dir(demo_ctx *c, const char *out_dir)
{
    struct stat sb;

    if (!out_dir) {
        if (snprintf(c->dir, sizeof(c->dir), "/tmp/dcmvault-demo-XXXXXX") >= (int)sizeof(c->dir) ||
            !mkdtemp(c->dir)) {
            fprintf(stderr, "dcmvault demo: cannot make a folder under /tmp: %s\n",
                    strerror(errno));
            return -1;
        }
        return 0;
    }
    if (snprintf(c->dir, sizeof(c->dir), "%s", out_dir) >= (int)sizeof(c->dir) - 32) {
        fprintf(stderr, "dcmvault demo: --out path too long\n");
        return -1;
    }
    if (mkdir(c->dir, 0700) != 0 &&
        (errno != EEXIST || stat(c->dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        fprintf(stderr, "dcmvault demo: cannot make folder %s: %s\n", c->dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Removes the files written and the folder (the default /tmp folder only). */
static void cleanup(demo_ctx *c, int remove)
{
    uint32_t i;

    for (i = 0; i < c->nfiles; i++) {
        if (remove)
            (void)unlink(c->files[i]);
        free(c->files[i]);
    }
    if (remove)
        (void)rmdir(c->dir);
}

static int run_steps(demo_ctx *c)
{
    uint32_t i;

    for (i = 0; i < NSTEPS; i++) {
        double t0 = now_s();

        printf("[%u/%u] %s: %s\n", i + 1, (unsigned)NSTEPS, steps[i].name, steps[i].what);
        (void)fflush(stdout);
        if (steps[i].run(c)) {
            printf("      FAILED\n");
            printf("demo: step '%s' failed\n", steps[i].name);
            fprintf(stderr, "dcmvault demo: step '%s' failed\n", steps[i].name);
            return DV_EXIT_FAIL;
        }
        printf("      ok (%.2f s)\n", now_s() - t0);
    }
    printf("demo: %u files, all checks passed\n", c->nfiles);
    return DV_EXIT_OK;
}

int cmd_demo(int argc, char **argv)
{
    demo_ctx *c;
    const char *out_dir = NULL;
    int keep = 0, rc;

    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return DV_EXIT_OK;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return DV_EXIT_INTERNAL;
    c->seed = 1;
    synth_xr_opts_init(&c->xo);
    synth_ct_opts_init(&c->co);
    if (parse_args(argc, argv, c, &out_dir, &keep)) {
        free(c);
        help(stderr);
        return DV_EXIT_USAGE;
    }
    if (make_dir(c, out_dir)) {
        free(c);
        return DV_EXIT_IO;
    }
    c->keep_vault = out_dir || keep;
    synth_study_init(&c->st, c->seed);
    printf("dcmvault demo: synthetic data only, seed %llu (no real patient)\n",
           (unsigned long long)c->seed);
    printf("output: %s%s\n", c->dir,
           out_dir || keep ? "" : " (removed at the end; --keep keeps it)");
    rc = run_steps(c);
    if (!out_dir && keep)
        printf("kept: %s\n", c->dir);
    cleanup(c, !out_dir && !keep);
    free(c);
    if (fflush(stdout) != 0)
        rc = DV_EXIT_IO;
    return rc;
}
