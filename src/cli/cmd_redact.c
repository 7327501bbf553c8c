/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_redact.c - `dcmvault redact IN OUT`: fills burned-in text in the pixel data only (the
 * header is left as it is, apart from BurnedInAnnotation and what re-encoding needs), and
 * prints the filled boxes as JSON (coordinates only, never text).  A test hook for
 * src/deid/pixels.h until the de-identification engine drives it. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "deid/pixels.h"
#include "dicom/dicom.h"

#include "common/banned.h"

#define CMD "redact"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dcmvault redact IN OUT [--pixels ocr|rules] [--rules FILE] [--tessdata DIR]\n"
            "                       [--allow-photographic] [--ocr-text]\n"
            "\n"
            "Fills burned-in text in the pixel data of IN and writes OUT atomically (mode 0600).\n"
            "ocr (default): rule regions and Tesseract OCR (eng+chi_sim); rules: only the rule\n"
            "regions of FILE (default " DEID_RULES_PATH ").  Compressed input is re-encoded as\n"
            "RLE when it was RLE, otherwise written as Explicit VR Little Endian.  Prints the\n"
            "filled boxes as JSON on stdout (coordinates only).  --ocr-text prints, after that,\n"
            "what OCR still reads in OUT (for tests).  Only the pixels are de-identified:\n"
            "the header keeps every identifier.\n"
            "\n"
            "exit codes: 0 ok, 1 the file cannot be redacted, 2 usage, 3 I/O, 4 refused\n"
            "(photographic object without --allow-photographic)\n");
}

typedef struct args {
    const char *in, *out;
    int ocr_text;
    deid_pixels_opts o;
} args;

static int parse_args(int argc, char **argv, args *a)
{
    int i, n = 0;

    memset(a, 0, sizeof(*a));
    deid_pixels_opts_init(&a->o);
    for (i = 1; i < argc; i++) {
        const char *s = argv[i];

        if (!strcmp(s, "--pixels") && i + 1 < argc) {
            s = argv[++i];
            if (!strcmp(s, "ocr"))
                a->o.mode = DEID_PIXELS_OCR;
            else if (!strcmp(s, "rules"))
                a->o.mode = DEID_PIXELS_RULES;
            else
                return -1;
        } else if (!strcmp(s, "--rules") && i + 1 < argc) {
            a->o.rules_path = argv[++i];
        } else if (!strcmp(s, "--tessdata") && i + 1 < argc) {
            a->o.tessdata = argv[++i];
        } else if (!strcmp(s, "--allow-photographic")) {
            a->o.allow_photographic = 1;
        } else if (!strcmp(s, "--ocr-text")) {
            a->ocr_text = 1;
        } else if ((s[0] == '-' && s[1] != '\0') || n >= 2) {
            return -1;
        } else if (n++) {
            a->out = s;
        } else {
            a->in = s;
        }
    }
    return n == 2 ? 0 : -1;
}

static void print_report(const deid_pixels_report *rep, double secs)
{
    uint32_t i;

    printf("{\"frames\":%u,\"reencoded\":%s,\"transfer_syntax\":\"%s\",\"seconds\":%.3f,"
           "\"boxes\":[",
           rep->frames, rep->reencoded ? "true" : "false", rep->ts ? rep->ts->uid : "", secs);
    for (i = 0; i < rep->nboxes; i++) {
        const deid_box *b = &rep->boxes[i];

        printf("%s{\"frame\":%u,\"x\":%u,\"y\":%u,\"w\":%u,\"h\":%u,\"source\":\"%s\"}",
               i ? "," : "", b->frame, b->x, b->y, b->w, b->h,
               b->source == DEID_BOX_RULE ? "rule" : "ocr");
    }
    printf("]}\n");
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static dv_err write_out(dcm_file *f, const args *a, const deid_pixels_report *rep, dv_errinfo *ei)
{
    dv_buf buf;
    dv_err e;

    dv_buf_init(&buf, (size_t)1 << 34);
    e = dcm_write_part10(f, rep->ts ? rep->ts : f->ts, &buf, ei);
    if (!e)
        e = dcm_write_file_atomic(a->out, buf.p, buf.len, ei);
    dv_buf_release(&buf);
    return e;
}

static int print_ocr_text(const args *a)
{
    dcm_file *g = NULL;
    dv_errinfo ei;
    dv_buf text;
    dv_err e = dcm_read_file(a->out, 0, NULL, &g, &ei);

    dv_buf_init(&text, (size_t)16 << 20);
    if (!e)
        e = deid_pixels_ocr_text(g, &a->o, &text, &ei);
    if (!e && text.len && fwrite(text.p, 1, text.len, stdout) != text.len)
        e = dv_fail(&ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot write the OCR text");
    if (e)
        cli_report(CMD, a->out, e, &ei);
    dv_buf_release(&text);
    dcm_file_free(g);
    return e ? cli_exit_code(e) : DV_EXIT_OK;
}

int cmd_redact(int argc, char **argv)
{
    deid_pixels_report rep;
    dcm_file *f = NULL;
    dv_errinfo ei;
    double t0;
    args a;
    dv_err e;

    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return DV_EXIT_OK;
    }
    if (parse_args(argc, argv, &a) != 0) {
        usage(stderr);
        return DV_EXIT_USAGE;
    }
    e = dcm_read_file(a.in, 0, NULL, &f, &ei);
    if (e) {
        cli_report(CMD, a.in, e, &ei);
        return e == DV_EIO ? DV_EXIT_IO : DV_EXIT_FAIL;
    }
    t0 = now();
    e = deid_pixels_redact(f, &a.o, &rep, &ei);
    if (!e) {
        print_report(&rep, now() - t0);
        e = write_out(f, &a, &rep, &ei);
    }
    if (e)
        cli_report(CMD, a.in, e, &ei);
    deid_pixels_report_release(&rep);
    dcm_file_free(f);
    if (!e && a.ocr_text)
        return print_ocr_text(&a);
    deid_pixels_cleanup();
    return e ? cli_exit_code(e) : DV_EXIT_OK;
}
