/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_pixels.c - `dcmvault pixels`: write decoded frames as raw little-endian samples, or
 * print the pixel description. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dicom/dicom.h"
#include "dicom/pixel.h"

#include "common/banned.h"

static void help(FILE *out)
{
    fprintf(out,
            "usage: dcmvault pixels FILE [--frame N] -o OUT.raw\n"
            "       dcmvault pixels FILE --info\n"
            "Decodes the pixel data of FILE (native, RLE, JPEG baseline/extended/lossless,\n"
            "JPEG-LS, JPEG 2000, HTJ2K) and writes it as raw samples: little endian, colour by\n"
            "pixel, BitsAllocated/8 bytes per sample (1-bit data: one byte 0/1 per pixel).\n"
            "JPEG YBR_FULL_422 and YBR_FULL frames come out RGB, as dcmdjpeg makes them.\n\n"
            "  -o, --output OUT  file to write ('-' for standard output)\n"
            "  --frame N         write only frame N, counted from 1 as in dcm2pnm (default: every "
            "frame,\n"
            "                    one after the other)\n"
            "  --info            print rows, columns, samples, bits, frames and photometric\n"
            "                    interpretation, one 'key: value' line each\n"
            "  -h, --help        this text\n\n"
            "Exit status: 0 ok, 1 the file cannot be parsed or decoded, 2 bad command line,\n"
            "3 an input or output file cannot be opened or written.\n");
}

typedef struct pix_opts {
    const char *in;
    const char *out;
    long frame; /* -1: all */
    int info;
} pix_opts;

static int parse_frame(const char *s, long *out)
{
    char *end;
    unsigned long v;

    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v > UINT32_MAX)
        return -1;
    *out = (long)v;
    return 0;
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "dcmvault pixels: %s%s%s\n", what, arg ? " " : "", arg ? arg : "");
    help(stderr);
    return DV_EXIT_USAGE;
}

static int parse_args(int argc, char **argv, pix_opts *o)
{
    int i, opts_done = 0;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!opts_done && !strcmp(a, "--")) {
            opts_done = 1;
        } else if (!opts_done && (!strcmp(a, "-o") || !strcmp(a, "--output"))) {
            if (i + 1 >= argc)
                return usage_error("missing file name after", a);
            o->out = argv[++i];
        } else if (!opts_done && !strcmp(a, "--frame")) {
            if (i + 1 >= argc || parse_frame(argv[i + 1], &o->frame) || o->frame < 1)
                return usage_error("--frame needs a frame number (1, 2, ...)", NULL);
            o->frame--; /* 1-based on the command line, 0-based inside */
            i++;
        } else if (!opts_done && !strcmp(a, "--info")) {
            o->info = 1;
        } else if (!opts_done && a[0] == '-' && a[1]) {
            return usage_error("unknown option", a);
        } else if (o->in) {
            return usage_error("more than one input file:", a);
        } else {
            o->in = a;
        }
    }
    if (!o->in)
        return usage_error("no input file", NULL);
    if (!o->out && !o->info)
        return usage_error("nothing to do: give -o OUT or --info", NULL);
    return DV_EXIT_OK;
}

static void print_info(const dcm_file *f, const dcm_pixinfo *pi)
{
    printf("rows: %u\ncolumns: %u\nsamples_per_pixel: %u\nbits_allocated: %u\n"
           "bits_stored: %u\nhigh_bit: %u\npixel_representation: %u\n"
           "planar_configuration: %u\nframes: %u\nphotometric: %s\n",
           pi->rows, pi->cols, pi->samples, pi->bits_alloc, pi->bits_stored, pi->high_bit,
           pi->pixel_rep, pi->planar, pi->frames, pi->photometric);
    printf("transfer_syntax: %s\nframe_bytes: %zu\n", f->ts ? f->ts->uid : "unknown",
           dcm_frame_size(pi));
}

/* Decodes frames [first, last] into out; returns an exit code. */
static int write_frames(const pix_opts *o, const dcm_file *f, FILE *out, uint32_t first,
                        uint32_t last)
{
    uint32_t i;

    for (i = first; i <= last; i++) {
        dcm_frame fr;
        dv_errinfo ei;
        dv_err e;
        size_t n, want;

        dv_errinfo_clear(&ei);
        e = dcm_frame_decode(f, i, &fr, &ei);
        if (e) {
            cli_report("pixels", o->in, e, &ei);
            return cli_exit_code(e);
        }
        want = fr.len;
        n = fwrite(fr.data, 1, want, out);
        dcm_frame_release(&fr);
        if (n != want || ferror(out)) {
            fprintf(stderr, "dcmvault pixels: %s: write failed: %s\n", o->out, strerror(errno));
            return DV_EXIT_IO;
        }
    }
    return DV_EXIT_OK;
}

static int write_output(const pix_opts *o, const dcm_file *f, const dcm_pixinfo *pi)
{
    int to_stdout = !strcmp(o->out, "-"), rc;
    uint32_t first = 0, last = pi->frames - 1;
    FILE *out;

    if (o->frame >= 0) {
        if ((unsigned long)o->frame >= pi->frames) {
            fprintf(stderr, "dcmvault pixels: %s: frame %ld requested, the image has %u\n", o->in,
                    o->frame + 1, pi->frames);
            return DV_EXIT_USAGE;
        }
        first = last = (uint32_t)o->frame;
    }
    out = to_stdout ? stdout : fopen(o->out, "wb");
    if (!out) {
        fprintf(stderr, "dcmvault pixels: %s: cannot create: %s\n", o->out, strerror(errno));
        return DV_EXIT_IO;
    }
    rc = write_frames(o, f, out, first, last);
    if (to_stdout ? fflush(out) != 0 : fclose(out) != 0) {
        fprintf(stderr, "dcmvault pixels: %s: write failed: %s\n", o->out, strerror(errno));
        rc = DV_EXIT_IO;
    }
    if (rc != DV_EXIT_OK && !to_stdout)
        (void)unlink(o->out);
    return rc;
}

int cmd_pixels(int argc, char **argv)
{
    pix_opts o = {NULL, NULL, -1, 0};
    dcm_file *f = NULL;
    dcm_pixinfo pi;
    dv_errinfo ei;
    dv_err e;
    int rc;

    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return DV_EXIT_OK;
    }
    rc = parse_args(argc, argv, &o);
    if (rc != DV_EXIT_OK)
        return rc;
    dv_errinfo_clear(&ei);
    e = dcm_read_file(o.in, 0, NULL, &f, &ei);
    if (!e)
        e = dcm_pixinfo_get(&f->ds, &pi, &ei);
    if (e) {
        cli_report("pixels", o.in, e, &ei);
        dcm_file_free(f);
        return cli_exit_code(e);
    }
    if (o.info)
        print_info(f, &pi);
    if (o.out)
        rc = write_output(&o, f, &pi);
    else if (fflush(stdout) != 0)
        rc = DV_EXIT_IO;
    dcm_file_free(f);
    return rc;
}
