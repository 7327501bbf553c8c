/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_convert.c - `dcmvault convert`: re-encode a DICOM file in another transfer syntax. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dicom/dicom.h"
#include "dicom/pixel.h"

#include "common/banned.h"

static void help(FILE *out)
{
    fprintf(out,
            "usage: dcmvault convert [OPTIONS] IN OUT\n"
            "Re-encodes IN in another transfer syntax and writes OUT atomically (mode 0600).\n"
            "Every element keeps its value; sequences are written with undefined length and\n"
            "retired group length elements are dropped.  Compressed pixel data is decoded when\n"
            "a native transfer syntax is asked for.\n\n"
            "  -t, --transfer-syntax TS   explicit-le (default), implicit-le, big-endian,\n"
            "                             deflated, or keep (the input's own)\n"
            "  +te +ti +tb +td            the same, in dcmconv's spelling\n"
            "  -h, --help                 this text\n\n"
            "Exit status: 0 written, 1 the input could not be read or converted, 2 bad command\n"
            "line, 3 the output could not be written.\n");
}

static const dcm_ts *ts_by_name(const char *s)
{
    if (!strcmp(s, "explicit-le") || !strcmp(s, "+te"))
        return &dcm_ts_explicit_le;
    if (!strcmp(s, "implicit-le") || !strcmp(s, "+ti"))
        return &dcm_ts_implicit_le;
    if (!strcmp(s, "big-endian") || !strcmp(s, "+tb"))
        return &dcm_ts_explicit_be;
    if (!strcmp(s, "deflated") || !strcmp(s, "+td"))
        return &dcm_ts_deflated_le;
    return NULL;
}

/* Replaces encapsulated pixel data by the decoded frames (native, interleaved). */
static dv_err decode_pixels(dcm_file *f, dv_errinfo *ei)
{
    dcm_pixinfo pi;
    dcm_frame fr;
    uint8_t *all = NULL;
    size_t fsz, total;
    uint32_t i;
    dv_err e;

    e = dcm_pixinfo_get(&f->ds, &pi, ei);
    if (e)
        return e;
    fsz = dcm_frame_size(&pi);
    total = fsz && pi.frames <= SIZE_MAX / fsz ? fsz * pi.frames : SIZE_MAX;
    if (!fsz || total > 0xFFFFFFFEu)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                       "decoded pixel data would not fit one element");
    all = malloc(total ? total : 1);
    if (!all)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA, "out of memory");
    memset(&fr, 0, sizeof(fr));
    for (i = 0; i < pi.frames; i++) {
        e = dcm_frame_decode(f, i, &fr, ei);
        if (e)
            break;
        if (fr.len != fsz) {
            e = dv_fail(ei, DV_ECODEC, DV_NO_OFFSET, DCM_TAG_PIXEL_DATA,
                        "frame %u decoded to %zu bytes, expected %zu", i + 1, fr.len, fsz);
            dcm_frame_release(&fr);
            break;
        }
        memcpy(all + (size_t)i * fsz, fr.data, fsz);
        if (i + 1 == pi.frames)
            pi = fr.pi;
        dcm_frame_release(&fr);
    }
    if (!e)
        e = dcm_ds_set(f, &f->ds, DCM_TAG_PIXEL_DATA, pi.bits_alloc > 8 ? DCM_VR_OW : DCM_VR_OB,
                       all, (uint32_t)total);
    free(all);
    if (!e && pi.samples > 1)
        e = dcm_ds_set(f, &f->ds, DCM_TAG(0x0028, 0x0006), DCM_VR_US, "\0\0", 2);
    if (!e)
        e = dcm_ds_set_str(f, &f->ds, DCM_TAG(0x0028, 0x0004), DCM_VR_CS, pi.photometric);
    if (!e) {
        dcm_ds_remove(&f->ds, DCM_TAG(0x7FE0, 0x0001)); /* extended offset table */
        dcm_ds_remove(&f->ds, DCM_TAG(0x7FE0, 0x0002));
    }
    return e;
}

static int convert(const char *in, const char *out, const dcm_ts *ts)
{
    dcm_file *f = NULL;
    dv_errinfo ei;
    dv_buf buf;
    dv_err e;
    int rc = DV_EXIT_OK;

    e = dcm_read_file(in, 0, NULL, &f, &ei);
    if (e) {
        cli_report("convert", in, e, &ei);
        return e == DV_EIO ? DV_EXIT_IO : DV_EXIT_FAIL;
    }
    if (!ts)
        ts = f->ts;
    dv_errinfo_clear(&ei);
    e = DV_OK;
    if (f->ts->encapsulated && !ts->encapsulated && dcm_ds_find(&f->ds, DCM_TAG_PIXEL_DATA))
        e = decode_pixels(f, &ei);
    dv_buf_init(&buf, (size_t)1 << 34);
    if (!e)
        e = dcm_write_part10(f, ts, &buf, &ei);
    if (e) {
        cli_report("convert", in, e, &ei);
        rc = DV_EXIT_FAIL;
    } else {
        e = dcm_write_file_atomic(out, buf.p, buf.len, &ei);
        if (e) {
            cli_report("convert", out, e, &ei);
            rc = DV_EXIT_IO;
        }
    }
    dv_buf_release(&buf);
    dcm_file_free(f);
    return rc;
}

int cmd_convert(int argc, char **argv)
{
    const dcm_ts *ts = &dcm_ts_explicit_le;
    const char *files[2];
    int i, n = 0;

    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return DV_EXIT_OK;
    }
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if ((!strcmp(a, "-t") || !strcmp(a, "--transfer-syntax")) && i + 1 < argc) {
            a = argv[++i];
            ts = !strcmp(a, "keep") ? NULL : ts_by_name(a);
            if (!ts && strcmp(a, "keep") != 0) {
                fprintf(stderr, "dcmvault convert: unknown transfer syntax '%s'\n", a);
                return DV_EXIT_USAGE;
            }
        } else if (a[0] == '+' && ts_by_name(a)) {
            ts = ts_by_name(a);
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "dcmvault convert: unknown option '%s'\n", a);
            help(stderr);
            return DV_EXIT_USAGE;
        } else if (n < 2) {
            files[n++] = a;
        } else {
            help(stderr);
            return DV_EXIT_USAGE;
        }
    }
    if (n != 2) {
        help(stderr);
        return DV_EXIT_USAGE;
    }
    return convert(files[0], files[1], ts);
}
