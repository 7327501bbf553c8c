/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_render.c - `dcmvault render`: one frame of a DICOM file to PNG or JPEG, with the
 * Modality and VOI LUTs applied (see src/render/render.h for the pipeline). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "dicom/dicom.h"
#include "render/render.h"

#include "common/banned.h"

#define CMD             "render"
#define MAX_OUTPUT      ((size_t)2 << 30) /* encoded image: 2 GiB */
#define DEFAULT_QUALITY 90

typedef enum out_format { FMT_PNG, FMT_JPEG } out_format;

typedef struct render_args {
    const char *in;
    const char *out;
    out_format fmt;
    unsigned long frame; /* 1-based */
    long quality;
    render_opts ro;
} render_args;

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: dcmvault render FILE -o OUT.png|OUT.jpg [--frame N] [--window C,W]\n"
        "                       [--voi-function linear|linear-exact|sigmoid] [--quality Q]\n"
        "\n"
        "Renders one frame of FILE to an 8-bit PNG or JPEG (chosen by the extension of OUT:\n"
        ".png, .jpg or .jpeg).  Grayscale images go through the Modality LUT (rescale slope/\n"
        "intercept or Modality LUT Sequence) and a VOI transform: --window if given, else the\n"
        "file's first window (with its VOI LUT Function), else its VOI LUT Sequence, else the\n"
        "frame's min..max.  MONOCHROME1 is inverted; palette, RGB and YBR_FULL images come out\n"
        "as RGB.  No metadata is written to the output.\n"
        "\n"
        "  -o, --output OUT      output file, written atomically (temporary file in the same\n"
        "                        folder, fsync, rename); created with mode 0600\n"
        "  -f, --frame N         frame to render, 1-based like dcm2pnm's --frame (default 1)\n"
        "  -w, --window C,W      window center and width in modality units (e.g. 40,400)\n"
        "      --voi-function F  function for the window: linear (default for --window),\n"
        "                        linear-exact or sigmoid; default for the file's window: its\n"
        "                        VOI LUT Function (0028,1056)\n"
        "  -q, --quality Q       JPEG quality 1..100 (default %d)\n"
        "  -h, --help            this text\n"
        "\n"
        "exit codes: 0 ok, 1 the file cannot be rendered (e.g. no pixel data), 2 usage\n"
        "(also a frame past the last one), 3 input unreadable or output not written,\n"
        "5 internal error\n",
        DEFAULT_QUALITY);
}

static int bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "dcmvault " CMD ": %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "try 'dcmvault " CMD " --help'\n");
    return DV_EXIT_USAGE;
}

static int parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_voi(const char *s, render_voi_fn *fn)
{
    if (!s)
        return -1;
    if (!strcmp(s, "linear"))
        *fn = RENDER_VOI_LINEAR;
    else if (!strcmp(s, "linear-exact"))
        *fn = RENDER_VOI_LINEAR_EXACT;
    else if (!strcmp(s, "sigmoid"))
        *fn = RENDER_VOI_SIGMOID;
    else
        return -1;
    return 0;
}

static int format_of(const char *path, out_format *fmt)
{
    const char *dot = strrchr(path, '.');

    if (!dot || strchr(dot, '/'))
        return -1;
    if (!strcasecmp(dot, ".png"))
        *fmt = FMT_PNG;
    else if (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"))
        *fmt = FMT_JPEG;
    else
        return -1;
    return 0;
}

/* Matches argv[*i] against a short and a long option that takes a value ("-o X", "--output X",
 * "--output=X").  Returns 1 and sets *val (NULL when the value is missing) when it matches. */
static int opt_value(int argc, char **argv, int *i, const char *sname, const char *lname,
                     const char **val)
{
    const char *a = argv[*i];
    size_t ln = strlen(lname);

    if (!strncmp(a, lname, ln) && a[ln] == '=') {
        *val = a + ln + 1;
        return 1;
    }
    if (strcmp(a, lname) != 0 && (!sname || strcmp(a, sname) != 0))
        return 0;
    *val = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

/* Handles the option at argv[*i]; returns 0 or an exit code. */
static int parse_option(int argc, char **argv, int *i, render_args *a)
{
    const char *v;
    unsigned long q;

    if (opt_value(argc, argv, i, "-o", "--output", &v)) {
        if (!v || !*v)
            return bad_usage("-o needs a file name", NULL);
        a->out = v;
    } else if (opt_value(argc, argv, i, "-f", "--frame", &v)) {
        if (parse_ulong(v, 1, UINT32_MAX, &a->frame))
            return bad_usage("--frame needs a number >= 1", v);
    } else if (opt_value(argc, argv, i, "-w", "--window", &v)) {
        if (cli_parse_window(v, &a->ro.center, &a->ro.width))
            return bad_usage("--window needs CENTER,WIDTH", v);
        a->ro.has_window = 1;
    } else if (opt_value(argc, argv, i, NULL, "--voi-function", &v)) {
        if (parse_voi(v, &a->ro.voi))
            return bad_usage("--voi-function needs linear, linear-exact or sigmoid", v);
    } else if (opt_value(argc, argv, i, "-q", "--quality", &v)) {
        if (parse_ulong(v, 1, 100, &q))
            return bad_usage("--quality needs a number 1..100", v);
        a->quality = (long)q;
    } else {
        return bad_usage("unknown option", argv[*i]);
    }
    return 0;
}

static int parse_args(int argc, char **argv, render_args *a)
{
    int i;
    int rc;
    int only_files = 0;

    memset(a, 0, sizeof(*a));
    render_opts_init(&a->ro);
    a->frame = 1;
    a->quality = DEFAULT_QUALITY;
    for (i = 1; i < argc; i++) {
        if (!only_files && !strcmp(argv[i], "--")) {
            only_files = 1;
        } else if (!only_files && argv[i][0] == '-' && argv[i][1] != '\0') {
            rc = parse_option(argc, argv, &i, a);
            if (rc)
                return rc;
        } else if (a->in) {
            return bad_usage("exactly one input file", argv[i]);
        } else {
            a->in = argv[i];
        }
    }
    if (!a->in)
        return bad_usage("missing input file", NULL);
    if (!a->out)
        return bad_usage("missing -o OUT.png or -o OUT.jpg", NULL);
    if (format_of(a->out, &a->fmt))
        return bad_usage("output name must end in .png, .jpg or .jpeg", a->out);
    return 0;
}

/* Renders and encodes into buf; reports errors itself and returns an exit code. */
static int render_to_buf(const render_args *a, dv_buf *buf)
{
    dcm_file *f = NULL;
    render_image im = {0};
    dv_errinfo ei;
    dv_err e;

    dv_errinfo_clear(&ei);
    e = dcm_read_file(a->in, 0, NULL, &f, &ei);
    if (e == DV_OK)
        e = render_frame(f, (uint32_t)(a->frame - 1), &a->ro, &im, &ei);
    dcm_file_free(f);
    if (e != DV_OK) {
        cli_report(CMD, a->in, e, &ei);
        return cli_exit_code(e);
    }
    if (a->fmt == FMT_PNG)
        e = render_png(&im, buf, &ei);
    else
        e = render_jpeg(&im, (int)a->quality, buf, &ei);
    render_image_release(&im);
    if (e != DV_OK) {
        cli_report(CMD, a->out, e, &ei);
        return e == DV_EINVAL ? DV_EXIT_INTERNAL : cli_exit_code(e);
    }
    return DV_EXIT_OK;
}

int cmd_render(int argc, char **argv)
{
    render_args a;
    dv_buf buf;
    dv_errinfo ei;
    dv_err e;
    int rc;

    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return DV_EXIT_OK;
    }
    rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    dv_buf_init(&buf, MAX_OUTPUT);
    rc = render_to_buf(&a, &buf);
    if (rc == DV_EXIT_OK) {
        dv_errinfo_clear(&ei);
        e = dcm_write_file_atomic(a.out, buf.p, buf.len, &ei);
        if (e != DV_OK) {
            cli_report(CMD, a.out, e, &ei);
            rc = cli_exit_code(e);
        }
    }
    dv_buf_release(&buf);
    return rc;
}
