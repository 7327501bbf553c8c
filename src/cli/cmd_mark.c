/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_mark.c - `dcmvault mark` (embed the forensic watermark in a copy of a DICOM, PNG or JPEG
 * file) and `dcmvault trace` (find it again, blind).  See src/mark/mark.h and docs/mark.md.
 *
 * A DICOM copy keeps every byte of the input except the pixel data values: the file is copied
 * as is and the marked samples are written over the native pixel data in the copy.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_access.h"
#include "cli/cmd_vault.h"
#include "common/buf.h"
#include "crypto/crypto.h"
#include "dicom/dicom.h"
#include "dicom/pixel.h"
#include "mark/mark.h"
#include "render/render.h"
#include "vault/vault.h"

#include "common/banned.h"

#define MAX_OUTPUT   ((size_t)2 << 30)
#define JPEG_QUALITY 95

typedef struct mark_args {
    cli_vault_opts vo; /* trace --vault DIR: the vault's key and log */
    const char *in;
    const char *out;
    const char *keyfile;
    const char *overlay;
    const char *proof_out, *cp_out; /* trace --vault: where to write the proof and checkpoint */
    const char *study;              /* trace --vault --study UID: the informed mode */
    const char *original;           /* trace --key-file --original FILE: registered to it */
    uint64_t event;
    int has_event;
    int json;
} mark_args;

static void usage_mark(FILE *f)
{
    fprintf(f, "usage: dcmvault mark IN OUT --event N --key-file K [--overlay TEXT]\n"
               "\n"
               "Writes a copy of IN carrying an invisible, keyed watermark with the 64-bit event\n"
               "number N.  IN is a DICOM file (native pixel data: monochrome of 8, 16 or 32 bits,\n"
               "or RGB by pixel of 16 or 32 bits; OUT is the same file with only the pixel values\n"
               "changed, in their stored depth) or a PNG or JPEG image (OUT of the same type,\n"
               "marked in the display domain).\n"
               "\n"
               "  --event N        the number to hide (0 .. 2^64-1)\n"
               "  --key-file K     the mark key: one line of 64 hex digits, mode 0600\n"
               "  --overlay TEXT   PNG/JPEG only: also draw TEXT visibly, tiled, semi-transparent\n"
               "\n"
               "exit codes: 0 ok, 1 the input cannot be marked, 2 usage, 3 I/O, 4 key refused\n");
}

static void usage_trace(FILE *f)
{
    fprintf(f,
            "usage: dcmvault trace FILE --key-file K [--original ORIG] [--json]\n"
            "       dcmvault trace FILE [--vault DIR] [--study UID] [--proof-out P]\n"
            "                      [--checkpoint-out C]\n"
            "\n"
            "Looks for the watermark in FILE (PNG, JPEG or DICOM; any crop, scale 0.5-2,\n"
            "small rotation, recompression) without the original, and prints the event\n"
            "number, the bit errors corrected, the false-positive probability and the geometry\n"
            "found.  A mark is reported only when its false-positive probability is below 1e-9.\n"
            "\n"
            "With --vault, or DCMVAULT_DIR set and no --key-file (the privacy officer's session;\n"
            "with --vault, --key-file is the vault's key file as for every vault command), the\n"
            "vault's own mark key is used, and a mark found\n"
            "is resolved to its audit entry -- who, when, for what purpose, which study -- with\n"
            "the entry's inclusion proof against a checkpoint written now (check it with\n"
            "`dcmvault audit check-proof --pubkey DIR/audit.vkey --checkpoint C P`).  With\n"
            "--study, when blind decoding finds nothing, the informed mode tests only the audit\n"
            "entries of that study's views, exports, prints and shares (a mark too damaged to\n"
            "decode can still be recognised); without --study the study is the one whose stored\n"
            "image looks most like FILE (a perceptual hash).  The informed mode first registers\n"
            "FILE to the study's stored images nearest it (features and a homography: a photo in\n"
            "perspective, mirrored, turned or negated is aligned to the original), subtracts the\n"
            "original and tests what is left.  The trace itself is recorded on the audit log\n"
            "first.\n"
            "\n"
            "With --original ORIG (a DICOM, PNG or JPEG file: the unmarked picture FILE was made\n"
            "from), when blind detection finds nothing, FILE is registered to ORIG the same way\n"
            "and the residual is decoded.\n"
            "\n"
            "exit codes: 0 found, 1 not found, 2 usage, 3 I/O (unreadable or undecodable file)\n");
}

static int bad_usage(const char *cmd, const char *what, const char *arg)
{
    fprintf(stderr, "dcmvault %s: %s%s%s\n", cmd, what, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "try 'dcmvault %s --help'\n", cmd);
    return DV_EXIT_USAGE;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* Parses options shared by both commands; positional arguments go to in/out. */
static int parse_args(const char *cmd, int argc, char **argv, mark_args *a, int npos)
{
    int i;
    int pos = 0;

    memset(a, 0, sizeof(*a));
    for (i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (npos == 1 &&
            (!strcmp(s, "--vault") || !strcmp(s, "--passphrase-env") || !strcmp(s, "--purpose"))) {
            if (cli_vault_opt(cmd, &a->vo, argc, argv, &i) < 0)
                return DV_EXIT_USAGE;
        } else if (npos == 1 && !strcmp(s, "--study")) {
            if (!v)
                return bad_usage(cmd, "--study needs a UID", NULL);
            a->study = v;
            i++;
        } else if (npos == 1 && !strcmp(s, "--original")) {
            if (!v)
                return bad_usage(cmd, "--original needs a file", NULL);
            a->original = v;
            i++;
        } else if (npos == 1 && (!strcmp(s, "--proof-out") || !strcmp(s, "--checkpoint-out"))) {
            if (!v)
                return bad_usage(cmd, "needs a file", s);
            *(s[2] == 'p' ? &a->proof_out : &a->cp_out) = v;
            i++;
        } else if (!strcmp(s, "--event") && npos == 2) {
            if (parse_u64(v, &a->event))
                return bad_usage(cmd, "--event needs a number 0 .. 2^64-1", v);
            a->has_event = 1;
            i++;
        } else if (!strcmp(s, "--key-file")) {
            if (!v)
                return bad_usage(cmd, "--key-file needs a file", NULL);
            a->keyfile = v;
            i++;
        } else if (!strcmp(s, "--overlay") && npos == 2) {
            if (!v || !*v)
                return bad_usage(cmd, "--overlay needs a text", NULL);
            a->overlay = v;
            i++;
        } else if (!strcmp(s, "--json") && npos == 1) {
            a->json = 1;
        } else if (s[0] == '-' && s[1] != '\0') {
            return bad_usage(cmd, "unknown option", s);
        } else if (pos == 0) {
            a->in = s;
            pos++;
        } else if (pos == 1 && npos == 2) {
            a->out = s;
            pos++;
        } else {
            return bad_usage(cmd, "too many arguments", s);
        }
    }
    if (pos < npos)
        return bad_usage(cmd, npos == 2 ? "needs IN and OUT" : "needs FILE", NULL);
    if (npos == 1 && !a->vo.dir && !a->keyfile && a->original == NULL) { /* as vault commands do */
        const char *env = getenv("DCMVAULT_DIR");
        a->vo.dir = env && env[0] ? env : NULL;
    }
    if (a->vo.dir && a->keyfile) /* with --vault, --key-file is the vault's key */
        a->vo.key_file = a->keyfile;
    if (!a->keyfile && !a->vo.dir)
        return bad_usage(
            cmd, npos == 1 ? "missing --key-file K or --vault DIR" : "missing --key-file K", NULL);
    if ((a->proof_out || a->cp_out || a->study) && !a->vo.dir)
        return bad_usage(cmd, "--study, --proof-out and --checkpoint-out go with --vault", NULL);
    if (a->original && a->vo.dir)
        return bad_usage(cmd, "--original goes with --key-file (the vault finds its originals)",
                         NULL);
    if (npos == 2 && !a->has_event)
        return bad_usage(cmd, "missing --event N", NULL);
    return 0;
}

static int load_key(const char *cmd, const char *path, crypto_key *k)
{
    dv_errinfo ei;
    dv_err e;

    dv_errinfo_clear(&ei);
    e = crypto_init();
    if (!e)
        e = crypto_keyfile_load(path, k, &ei);
    if (e) {
        cli_report(cmd, path, e, &ei);
        return e == DV_EPERM ? DV_EXIT_DENIED : e == DV_EMALFORMED ? DV_EXIT_USAGE : DV_EXIT_IO;
    }
    return 0;
}

static dv_err read_all(const char *path, dv_buf *b, dv_errinfo *ei)
{
    FILE *f = fopen(path, "rb");
    uint8_t chunk[65536];
    size_t n;
    dv_err e = DV_OK;

    if (!f)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot open: %s", strerror(errno));
    for (n = fread(chunk, 1, sizeof(chunk), f); !e && n > 0; n = fread(chunk, 1, sizeof(chunk), f))
        e = dv_buf_add(b, chunk, n);
    if (!e && ferror(f))
        e = dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "read failed");
    else if (e)
        e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "file too large");
    (void)fclose(f);
    return e;
}

static void print_stats(const mark_args *a, const mark_stats *st)
{
    printf("marked event %" PRIu64 ": PSNR %.2f dB, max change %u, max display change %u, "
           "%.1f%% of pixels changed\n",
           a->event, st->psnr_db, st->max_change, st->max_display, 100 * st->marked_fraction);
}

/* PNG / JPEG in, the same type out. */
static dv_err mark_image(const mark_args *a, const crypto_key *k, const dv_buf *in, dv_buf *out,
                         dv_errinfo *ei)
{
    render_image im;
    mark_imgtype t;
    mark_stats st;
    dv_err e;

    e = mark_img_decode(in->p, in->len, &im, &t, ei);
    if (e)
        return e;
    e = mark_embed_gray8(k, a->event, &im, &st, ei);
    if (!e && a->overlay)
        e = mark_overlay(&im, a->overlay, 0.18, NULL, ei);
    if (!e)
        e = t == MARK_IMG_PNG ? render_png(&im, out, ei) : render_jpeg(&im, JPEG_QUALITY, out, ei);
    render_image_release(&im);
    if (!e)
        print_stats(a, &st);
    return e;
}

/* Where the native pixel data of f lies in the input bytes. */
static dv_err pixel_span(const dcm_file *f, const dv_buf *in, const dcm_pixinfo *pi, size_t *off,
                         dv_errinfo *ei)
{
    const dcm_elem *px = dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA);
    size_t need = dcm_frame_size(pi) * pi->frames;

    if (!px || px->frags || !px->val)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                       "only native (uncompressed) pixel data can be marked");
    if (f->ts->big_endian || f->ts->deflated || f->ts->encapsulated)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "only little-endian, not deflated transfer syntaxes can be marked");
    if (px->val < in->p || px->val >= in->p + in->len || px->len < need ||
        (size_t)(px->val - in->p) + need > in->len)
        return dv_fail(ei, DV_EMALFORMED, px->offset, DCM_TAG_PIXEL_DATA,
                       "pixel data shorter than rows x columns x frames");
    *off = (size_t)(px->val - in->p);
    return DV_OK;
}

static dv_err mark_dicom(const mark_args *a, const crypto_key *k, const dv_buf *in, dv_buf *out,
                         dv_errinfo *ei)
{
    dcm_file *f = NULL;
    dcm_pixinfo pi;
    mark_stats st;
    size_t off = 0;
    uint32_t i;
    dv_err e;

    memset(&st, 0, sizeof(st));
    memset(&pi, 0, sizeof(pi));
    e = dcm_parse(in->p, in->len, 0, NULL, &f, ei);
    if (!e)
        e = dcm_pixinfo_get(&f->ds, &pi, ei);
    if (!e && pi.samples > 1 && pi.planar) /* decoded frames are by pixel: they would not fit */
        e = dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, 0x00280006u,
                    "colour by plane (PlanarConfiguration 1): convert the file first");
    if (!e)
        e = pixel_span(f, in, &pi, &off, ei);
    if (!e)
        e = dv_buf_add(out, in->p, in->len);
    for (i = 0; !e && i < pi.frames; i++) {
        dcm_frame fr;
        mark_window w;
        memset(&fr, 0, sizeof(fr));
        e = dcm_frame_decode(f, i, &fr, ei);
        if (!e) {
            mark_window_of(&f->ds, &fr, &w);
            e = mark_embed_frame(k, a->event, &fr, &w, &st, ei);
        }
        if (!e && fr.len != dcm_frame_size(&pi))
            e = dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "frame size changed");
        if (!e)
            memcpy(out->p + off + (size_t)i * fr.len, fr.data, fr.len);
        dcm_frame_release(&fr);
    }
    dcm_file_free(f);
    if (!e)
        print_stats(a, &st);
    return e;
}

int cmd_mark(int argc, char **argv)
{
    mark_args a;
    crypto_key k;
    dv_buf in;
    dv_buf out;
    dv_errinfo ei;
    dv_err e;
    int rc;

    if (cli_wants_help(argc, argv)) {
        usage_mark(stdout);
        return DV_EXIT_OK;
    }
    rc = parse_args("mark", argc, argv, &a, 2);
    if (rc)
        return rc;
    rc = load_key("mark", a.keyfile, &k);
    if (rc)
        return rc;
    dv_errinfo_clear(&ei);
    dv_buf_init(&in, MAX_OUTPUT);
    dv_buf_init(&out, MAX_OUTPUT);
    e = read_all(a.in, &in, &ei);
    if (e) {
        cli_report("mark", a.in, e, &ei);
        rc = DV_EXIT_IO;
    } else {
        if (mark_img_sniff(in.p, in.len) != MARK_IMG_UNKNOWN)
            e = mark_image(&a, &k, &in, &out, &ei);
        else
            e = mark_dicom(&a, &k, &in, &out, &ei);
        if (!e)
            e = dcm_write_file_atomic(a.out, out.p, out.len, &ei);
        if (e) {
            cli_report("mark", e == DV_EIO ? a.out : a.in, e, &ei);
            rc = cli_exit_code(e);
        }
    }
    crypto_key_wipe(&k);
    dv_buf_release(&in);
    dv_buf_release(&out);
    return rc;
}

static void print_result(const mark_args *a, const mark_result *r)
{
    if (a->json) {
        printf("{\"found\":%s,", r->found ? "true" : "false");
        if (r->found)
            printf("\"event\":%" PRIu64 ",", r->payload);
        printf("\"bit_errors\":%u,\"coded_bits\":%u,\"fp_probability\":%.3g,\"sync_z\":%.2f,"
               "\"hypotheses\":%u,\"scale\":%.4f,\"angle_deg\":%.2f,\"offset\":[%u,%u],"
               "\"inverted\":%s}\n",
               r->bit_errors, (unsigned)MARK_CODED_BITS, r->fp_probability, r->sync_z,
               r->hypotheses, r->scale, r->angle_deg, r->offset_x, r->offset_y,
               r->inverted ? "true" : "false");
        return;
    }
    if (r->found)
        printf("event %" PRIu64 "\n", r->payload);
    else
        printf("no mark found\n");
    printf("bit errors %u of %u\nfalse-positive probability %.3g (%u hypotheses)\n"
           "sync z %.2f, scale %.4f, angle %.2f deg, offset %u,%u%s\n",
           r->bit_errors, (unsigned)MARK_CODED_BITS, r->fp_probability, r->hypotheses, r->sync_z,
           r->scale, r->angle_deg, r->offset_x, r->offset_y, r->inverted ? ", inverted" : "");
}

static void print_reg(const mark_args *a, const mark_reg *g)
{
    if (a->json)
        return;
    if (!g->ok) {
        printf("registration to the original: no match (%u keypoints, best %u of %u matches "
               "consistent)\n",
               g->points, g->inliers, g->matches);
        return;
    }
    printf("registered to the original: %u of %u matches consistent, %u blocks refined%s%s%s\n",
           g->inliers, g->matches, g->refined, g->variant ? ", flipped or turned" : "",
           g->inverted ? ", negative" : "", g->blur > 0 ? ", blurred" : "");
}

/* The picture to search: a PNG or JPEG as is, a DICOM file's first frame rendered. */
static dv_err image_of(const dv_buf *in, render_image *im, dv_errinfo *ei)
{
    dcm_file *f = NULL;
    dv_err e;

    if (mark_img_sniff(in->p, in->len) != MARK_IMG_UNKNOWN)
        return mark_img_decode(in->p, in->len, im, NULL, ei);
    e = dcm_parse(in->p, in->len, 0, NULL, &f, ei);
    if (!e)
        e = render_frame(f, 0, NULL, im, ei);
    dcm_file_free(f);
    return e;
}

static dv_err trace_buf(const crypto_key *k, const dv_buf *in, mark_result *r, dv_errinfo *ei)
{
    render_image im;
    dv_err e = image_of(in, &im, ei);

    if (e)
        return e;
    e = mark_detect_image(k, &im, r, ei);
    render_image_release(&im);
    return e;
}

/* The original's values: a DICOM file's (mark_reference_of), or a PNG/JPEG's luminance. */
static dv_err original_of(const char *path, float **px, uint32_t *w, uint32_t *h, dv_errinfo *ei)
{
    render_image im = {0};
    dcm_file *f = NULL;
    size_t i, n;
    dv_buf b;
    dv_err e;

    *px = NULL;
    dv_buf_init(&b, MAX_OUTPUT);
    e = read_all(path, &b, ei);
    if (!e && mark_img_sniff(b.p, b.len) == MARK_IMG_UNKNOWN) {
        e = dcm_parse(b.p, b.len, 0, NULL, &f, ei);
        if (!e)
            e = mark_reference_of(f, px, w, h, ei);
        dcm_file_free(f);
        dv_buf_release(&b);
        return e;
    }
    if (!e)
        e = mark_img_decode(b.p, b.len, &im, NULL, ei);
    dv_buf_release(&b);
    n = (size_t)im.width * im.height;
    *px = e ? NULL : malloc(n * sizeof(float));
    if (!e && !*px)
        e = dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    for (i = 0; !e && i < n; i++) {
        const uint8_t *p = im.pixels + i * im.channels;
        (*px)[i] = im.channels == 1 ? p[0] : .299f * p[0] + .587f * p[1] + .114f * p[2];
    }
    *w = im.width;
    *h = im.height;
    render_image_release(&im);
    return e;
}

/* trace --original: blind first, then registered to the original; two tests, each counted
 * twice (Bonferroni). */
static dv_err trace_with_original(const crypto_key *k, const dv_buf *in, const char *orig,
                                  mark_result *r, mark_reg *g, dv_errinfo *ei)
{
    render_image im;
    float *ref = NULL;
    uint32_t w = 0, h = 0;
    dv_err e = image_of(in, &im, ei);

    if (e)
        return e;
    e = mark_detect_image(k, &im, r, ei);
    if (!e) {
        r->fp_probability = fmin(1, 2 * r->fp_probability);
        r->found = r->found && r->fp_probability < MARK_FP_MAX;
    }
    if (!e && !r->found) {
        e = original_of(orig, &ref, &w, &h, ei);
        if (!e)
            e = mark_detect_original(k, ref, w, h, &im, NULL, 0, r, g, ei);
        if (!e) {
            r->fp_probability = fmin(1, 2 * r->fp_probability);
            r->found = r->found && r->fp_probability < MARK_FP_MAX;
        }
        free(ref);
    }
    if (!e && !r->found)
        r->payload = 0;
    render_image_release(&im);
    return e;
}

static dv_err write_out(const char *path, const dv_buf *b, dv_errinfo *ei)
{
    return path ? dcm_write_file_atomic(path, b->p, b->len, ei) : DV_OK;
}

/* trace --vault: the vault's key, its log and the proof. */
static int trace_vault(mark_args *a)
{
    vault_trace_res res;
    render_image im;
    cli_session lc;
    dv_errinfo ei;
    vault *v = NULL;
    dv_buf in;
    int rc;
    dv_err e;

    memset(&res, 0, sizeof(res));
    dv_buf_init(&res.proof, (size_t)1 << 20);
    dv_buf_init(&res.checkpoint, (size_t)1 << 16);
    dv_buf_init(&in, MAX_OUTPUT);
    dv_errinfo_clear(&ei);
    e = read_all(a->in, &in, &ei);
    if (!e)
        e = image_of(&in, &im, &ei);
    dv_buf_release(&in);
    if (e) {
        cli_report("trace", a->in, e, &ei);
        return e == DV_ENOMEM ? DV_EXIT_INTERNAL : DV_EXIT_IO;
    }
    rc = cli_vault_session("trace", &a->vo, &v, &lc);
    if (!rc) {
        e = vault_trace(v, &lc.ctx, &im, a->study, &res, &ei);
        vault_close(v);
        cli_session_wipe(&lc);
        if (!e)
            e = write_out(a->proof_out, &res.proof, &ei);
        if (!e)
            e = write_out(a->cp_out, &res.checkpoint, &ei);
        if (e) {
            cli_report("trace", a->vo.dir, e, &ei);
            rc = cli_exit_code(e);
        } else {
            print_result(a, &res.mark);
            if (res.searched && !a->json)
                printf("perceptual search: %zu stored images compared (%zu from the sealed index), "
                       "the closest %u bits of 64 away\n",
                       res.searched, res.hashed, res.phash_distance);
            if (res.informed && !a->json)
                printf("informed mode: blind decoding found nothing; %zu access entries of the "
                       "study tested\n",
                       res.candidates);
            if (res.references)
                print_reg(a, &res.reg);
            if (res.in_log && !a->json)
                printf("audit entry %s\n%.*s", res.entry, (int)res.proof.len,
                       (const char *)res.proof.p);
            rc = res.mark.found ? DV_EXIT_OK : DV_EXIT_FAIL;
        }
    }
    render_image_release(&im);
    dv_buf_release(&res.proof);
    dv_buf_release(&res.checkpoint);
    return rc;
}

int cmd_trace(int argc, char **argv)
{
    mark_args a;
    crypto_key k;
    mark_result r;
    mark_reg g;
    dv_buf in;
    dv_errinfo ei;
    dv_err e;
    int rc;

    if (cli_wants_help(argc, argv)) {
        usage_trace(stdout);
        return DV_EXIT_OK;
    }
    rc = parse_args("trace", argc, argv, &a, 1);
    if (rc)
        return rc;
    if (a.vo.dir)
        return trace_vault(&a);
    rc = load_key("trace", a.keyfile, &k);
    if (rc)
        return rc;
    dv_errinfo_clear(&ei);
    memset(&r, 0, sizeof(r));
    memset(&g, 0, sizeof(g));
    dv_buf_init(&in, MAX_OUTPUT);
    e = read_all(a.in, &in, &ei);
    if (!e)
        e = a.original ? trace_with_original(&k, &in, a.original, &r, &g, &ei)
                       : trace_buf(&k, &in, &r, &ei);
    if (e) {
        cli_report("trace", a.in, e, &ei);
        rc = e == DV_ENOMEM ? DV_EXIT_INTERNAL : DV_EXIT_IO;
    } else {
        print_result(&a, &r);
        if (a.original && (g.ok || g.points))
            print_reg(&a, &g);
        rc = r.found ? DV_EXIT_OK : DV_EXIT_FAIL;
    }
    crypto_key_wipe(&k);
    dv_buf_release(&in);
    return rc;
}
