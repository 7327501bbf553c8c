/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_view.c - `dcmvault view`: a study, series or instance from the vault as rendered PNG or
 * JPEG images (what a viewer shows), through the access gate as `view` and on the audit log.
 * The images carry no metadata; they are written atomically, mode 0600. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cmd_access.h"
#include "cli/cmd_vault.h"
#include "dicom/dicom.h"
#include "render/render.h"
#include "vault/vault.h"

#include "common/banned.h"

#define CMD        "view"
#define MAX_OUTPUT ((size_t)2 << 30)

typedef struct view_args {
    cli_vault_opts vo;
    vault_sel sel;
    const char *uid, *out;
    int jpeg;    /* 0: PNG */
    int to_file; /* out names one file (an --instance to .png/.jpg) */
    long quality;
    vault_view_opts o;
    uint64_t n, skipped; /* images written, instances skipped */
} view_args;

static void view_help(FILE *f)
{
    fprintf(f,
            "usage: dcmvault view --study UID | --series UID | --instance UID -o OUT\n"
            "                     [--frame N] [--window C,W] [--format png|jpg] [--quality Q]\n"
            "                     [--overlay]\n"
            "Renders the images of the selection as a viewer shows them (Modality and VOI LUTs;\n"
            "see `dcmvault render --help`) into the folder OUT as view-0001.png, ... (mode 0600,\n"
            "no metadata), or, for one --instance, into OUT.png / OUT.jpg.  The access gate\n"
            "decides `view` (a care relationship, no export quota) and the audit log records\n"
            "the view (DCM 110103) before any pixel is rendered.  Instances without pixel data\n"
            "are skipped.\n"
            "  --frame N            frame of each instance, 1-based (default 1)\n"
            "  --window C,W         window center,width in modality units\n"
            "  --format png|jpg     image format in a folder (default png)\n"
            "  --quality Q          JPEG quality 1..100 (default 90)\n"
            "  --overlay            also a visible, tiled, semi-transparent overlay naming you,\n"
            "                       the time and the audit entry\n"
            "Every image carries an invisible forensic watermark naming the audit entry of this\n"
            "view (`dcmvault trace`).\n" CLI_VAULT_OPTS_HELP
            "exit codes: 0 ok, 1 not found or not rendered, 2 usage, 3 output not written,\n"
            "4 refused by the access policy\n");
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "dcmvault " CMD ": %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    return DV_EXIT_USAGE;
}

static int number(const char *s, long lo, long hi, long *out)
{
    char *end;
    long n;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    n = strtol(s, &end, 10);
    if (errno || *end || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

/* One option at argv[*i] (vault options are taken before); 0 or an exit code. */
static int view_opt(int argc, char **argv, int *i, view_args *a, int *nsel)
{
    const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    int rc;

    if (!strcmp(o, "--overlay")) {
        a->o.overlay = 1;
        return 0;
    }
    if (!v)
        return usage_error("option needs a value", o);
    (*i)++;
    rc = cli_render_opt(CMD, o, v, &a->sel, &a->uid, nsel, &a->o);
    if (rc)
        return rc < 0 ? DV_EXIT_USAGE : 0;
    if (!strcmp(o, "-o") || !strcmp(o, "--output")) {
        a->out = v;
    } else if (!strcmp(o, "--format")) {
        if (strcmp(v, "png") != 0 && strcmp(v, "jpg") != 0)
            return usage_error("--format needs png or jpg", v);
        a->jpeg = !strcmp(v, "jpg");
    } else if (!strcmp(o, "--quality")) {
        if (number(v, 1, 100, &a->quality))
            return usage_error("--quality needs a number 1..100", v);
    } else {
        return usage_error("unexpected argument", o);
    }
    return 0;
}

static int ends_with(const char *s, const char *ext)
{
    size_t n = strlen(s), m = strlen(ext);

    return n > m && !strcasecmp(s + n - m, ext);
}

static int view_parse(int argc, char **argv, view_args *a)
{
    int i, rc, nsel = 0;

    memset(a, 0, sizeof(*a));
    vault_view_opts_init(&a->o);
    a->quality = 90;
    for (i = 1; i < argc; i++) {
        rc = cli_vault_opt(CMD, &a->vo, argc, argv, &i);
        if (rc < 0)
            return DV_EXIT_USAGE;
        if (rc)
            continue;
        rc = view_opt(argc, argv, &i, a, &nsel);
        if (rc)
            return rc;
    }
    if (nsel != 1 || !a->out || !a->out[0]) {
        view_help(stderr);
        return DV_EXIT_USAGE;
    }
    if (ends_with(a->out, ".png") || ends_with(a->out, ".jpg") || ends_with(a->out, ".jpeg")) {
        if (a->sel != VAULT_SEL_INSTANCE)
            return usage_error("a .png/.jpg output takes one --instance; give a folder", a->out);
        a->to_file = 1;
        a->jpeg = !ends_with(a->out, ".png");
    }
    return 0;
}

static dv_err write_image(void *cb, uint64_t index, uint32_t frame, const render_image *im,
                          dv_errinfo *ei)
{
    const view_args *a = cb;
    char path[4096];
    dv_buf b;
    dv_err e;
    int n;

    (void)frame;
    if (a->to_file)
        n = snprintf(path, sizeof(path), "%s", a->out);
    else
        n = snprintf(path, sizeof(path), "%s/view-%04llu.%s", a->out, (unsigned long long)index,
                     a->jpeg ? "jpg" : "png");
    if (n < 0 || (size_t)n >= sizeof(path))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "output path too long");
    dv_buf_init(&b, MAX_OUTPUT);
    e = a->jpeg ? render_jpeg(im, (int)a->quality, &b, ei) : render_png(im, &b, ei);
    if (!e)
        e = dcm_write_file_atomic(path, b.p, b.len, ei);
    dv_buf_release(&b);
    return e;
}

static dv_err view_call(vault *v, const cli_session *s, void *arg, dv_errinfo *ei)
{
    view_args *a = arg;

    return vault_view(v, &s->ctx, a->sel, a->uid, &a->o, write_image, a, &a->n, &a->skipped, ei);
}

int cmd_view(int argc, char **argv)
{
    view_args a;
    int rc;

    if (cli_wants_help(argc, argv)) {
        view_help(stdout);
        return DV_EXIT_OK;
    }
    rc = view_parse(argc, argv, &a);
    if (rc)
        return rc;
    if (!a.to_file && mkdir(a.out, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "dcmvault " CMD ": cannot create the folder %s: %s\n", a.out,
                strerror(errno));
        return DV_EXIT_IO;
    }
    rc = cli_vault_call(CMD, &a.vo, &a.vo.dir, view_call, NULL, &a);
    if (rc)
        return rc;
    if (!a.n) {
        fprintf(stderr,
                "dcmvault " CMD ": no image to render (%llu instance(s) without pixel "
                "data or with fewer frames)\n",
                (unsigned long long)a.skipped);
        return DV_EXIT_FAIL;
    }
    printf("rendered %llu image(s) to %s (%llu skipped)\n", (unsigned long long)a.n, a.out,
           (unsigned long long)a.skipped);
    return fflush(stdout) == 0 ? DV_EXIT_OK : DV_EXIT_IO;
}
