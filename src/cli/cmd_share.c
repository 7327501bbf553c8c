/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_share.c - `dcmvault share`: the trainee's button.  A DICOM file (or, with a vault, one
 * stored instance) becomes a picture for a lecture or a case discussion: de-identified
 * (header, burned-in text by rules and OCR, the residual check), one frame rendered, written
 * as PNG or JPEG with no metadata at all.  Photographic objects (faces) are refused unless the
 * user gives a reason.  Nothing is written when anything identifying survived. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/cmd_access.h"
#include "cli/cmd_vault.h"
#include "deid/deid.h"
#include "dicom/dicom.h"
#include "render/render.h"
#include "vault/vault.h"

#include "common/banned.h"

#define CMD        "share"
#define MAX_OUTPUT ((size_t)1 << 30)

typedef struct share_args {
    cli_vault_opts vo;
    const char *in, *uid, *out;
    int jpeg;
    vault_share_opts o;
    int written;
} share_args;

static void share_help(FILE *f)
{
    fprintf(f,
            "usage: dcmvault share FILE -o OUT.png|OUT.jpg [options]\n"
            "       dcmvault share --instance UID -o OUT.png|OUT.jpg [options] [--vault DIR]\n"
            "Turns one image into a picture you may show: the DICOM header is dropped, text\n"
            "burned into the pixels (names, IDs, dates; Latin and Chinese) is found by rule\n"
            "regions and OCR and filled, and a residual check refuses the picture if any\n"
            "identifier of the input is still readable.  The output has no metadata (PNG:\n"
            "IHDR/IDAT/IEND only; JPEG: JFIF).  From the vault it is an export of de-identified\n"
            "data (care relationship, quotas; purpose teaching unless --purpose says otherwise)\n"
            "on the audit log as \"share\".\n"
            "  --frame N             frame, 1-based (default 1)\n"
            "  --window C,W          window center,width in modality units\n"
            "  --pixels ocr|rules    how burned-in text is found (default ocr)\n"
            "  --photo-reason TEXT   share a photographic object (VL Photographic, colour\n"
            "                        secondary capture), which may show a face, for this reason\n"
            "                        (no patient data in it; it goes on the audit "
            "log)\n" CLI_VAULT_OPTS_HELP
            "exit codes: 0 written, 1 the input cannot be read or rendered, 2 usage, 3 output not\n"
            "written, 4 refused (an identifier survived, a photograph without a reason, policy)\n");
}

static int share_value(share_args *a, const char *o, const char *v)
{
    vault_sel sel = VAULT_SEL_INSTANCE;
    int nsel = 0, rc = cli_render_opt(CMD, o, v, NULL, NULL, NULL, &a->o.view);

    if (rc)
        return rc < 0 ? -1 : 0;
    if (!strcmp(o, "--instance")) {
        if (cli_render_opt(CMD, o, v, &sel, &a->uid, &nsel, NULL) != 1)
            return -1;
    } else if (!strcmp(o, "-o") || !strcmp(o, "--output")) {
        a->out = v;
    } else if (!strcmp(o, "--photo-reason")) {
        a->o.photo_reason = v;
    } else if (!strcmp(o, "--pixels") && (!strcmp(v, "ocr") || !strcmp(v, "rules"))) {
        a->o.pixels = !strcmp(v, "ocr") ? DEID_PIXELS_OCR : DEID_PIXELS_RULES;
    } else {
        return -1;
    }
    return 0;
}

static int share_parse(int argc, char **argv, share_args *a)
{
    int i, rc;
    size_t n;

    vault_share_opts_init(&a->o);
    for (i = 1; i < argc; i++) {
        rc = cli_vault_opt(CMD, &a->vo, argc, argv, &i);
        if (rc < 0)
            return DV_EXIT_USAGE;
        if (rc)
            continue;
        if (argv[i][0] != '-' && !a->in) {
            a->in = argv[i];
        } else if (i + 1 >= argc || share_value(a, argv[i], argv[i + 1]) != 0) {
            fprintf(stderr, "dcmvault " CMD ": bad option or value: %s\n", argv[i]);
            return DV_EXIT_USAGE;
        } else {
            i++;
        }
    }
    n = a->out ? strlen(a->out) : 0;
    if (!a->out || (!a->in == !a->uid) || n < 5 ||
        (strcasecmp(a->out + n - 4, ".png") != 0 && strcasecmp(a->out + n - 4, ".jpg") != 0)) {
        share_help(stderr);
        return DV_EXIT_USAGE;
    }
    a->jpeg = !strcasecmp(a->out + n - 4, ".jpg");
    return 0;
}

static dv_err write_picture(void *cb, uint64_t index, uint32_t frame, const render_image *im,
                            dv_errinfo *ei)
{
    share_args *a = cb;
    dv_buf b;
    dv_err e;

    (void)index;
    (void)frame;
    dv_buf_init(&b, MAX_OUTPUT);
    e = a->jpeg ? render_jpeg(im, 90, &b, ei) : render_png(im, &b, ei);
    if (!e)
        e = dcm_write_file_atomic(a->out, b.p, b.len, ei);
    dv_buf_release(&b);
    a->written += !e;
    return e;
}

/* A file on disk: no vault, no log; a random key (nothing to link). */
static dv_err share_file(share_args *a, dv_errinfo *ei)
{
    deid_opts dopts;
    deid_file_report rep;
    deid_ctx *dc = NULL;
    render_image im = {0};
    dcm_file *f = NULL;
    crypto_key key;
    dv_err e;

    deid_opts_init(&dopts);
    dopts.pixels.mode = (deid_pixels_mode)a->o.pixels;
    dopts.pixels.allow_photographic = a->o.photo_reason != NULL;
    if (a->o.photo_reason && !a->o.photo_reason[0])
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "a photograph needs a reason");
    e = crypto_init();
    if (!e) {
        crypto_key_random(&key);
        e = deid_ctx_new(&dopts, &key, &dc, ei);
        crypto_key_wipe(&key);
    }
    if (!e)
        e = dcm_read_file(a->in, 0, NULL, &f, ei);
    memset(&rep, 0, sizeof(rep));
    if (!e)
        e = deid_file(dc, f, &rep, ei);
    if (!e)
        e = render_frame(f, a->o.view.frame, &a->o.view.ro, &im, ei);
    if (!e)
        e = write_picture(a, 1, a->o.view.frame, &im, ei);
    render_image_release(&im);
    dcm_file_free(f);
    deid_ctx_free(dc);
    return e;
}

static dv_err share_call(vault *v, const cli_session *s, void *arg, dv_errinfo *ei)
{
    share_args *a = arg;

    return vault_share(v, &s->ctx, a->uid, &a->o, write_picture, a, ei);
}

int cmd_share(int argc, char **argv)
{
    share_args a;
    dv_errinfo ei;
    int rc;
    dv_err e;

    if (cli_wants_help(argc, argv)) {
        share_help(stdout);
        return DV_EXIT_OK;
    }
    memset(&a, 0, sizeof(a));
    rc = share_parse(argc, argv, &a);
    if (rc)
        return rc;
    if (a.in) {
        dv_errinfo_clear(&ei);
        e = share_file(&a, &ei);
        if (e)
            cli_report(CMD, a.in, e, &ei);
        rc = cli_exit_code(e);
    } else {
        if (!a.vo.purpose)
            a.vo.purpose = "teaching";
        rc = cli_vault_call(CMD, &a.vo, NULL, share_call, NULL, &a);
    }
    deid_pixels_cleanup();
    if (rc)
        return rc;
    if (!a.written) {
        fprintf(stderr, "dcmvault " CMD ": nothing to share (no image)\n");
        return DV_EXIT_FAIL;
    }
    printf("shared as %s (de-identified, no metadata)\n", a.out);
    return fflush(stdout) == 0 ? DV_EXIT_OK : DV_EXIT_IO;
}
