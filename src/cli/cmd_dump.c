/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_dump.c - `dcmvault dump`: list the elements of DICOM files. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "dicom/dicom.h"
#include "dicom/dump.h"
#include "dicom/json.h"

#include "common/banned.h"

static void help(FILE *out)
{
    fprintf(out, "usage: dcmvault dump [OPTIONS] FILE...\n"
                 "Prints every element of each file, one line each, nested items indented, in\n"
                 "DCMTK dcmdump's layout: (gggg,eeee) VR [value]   # length, VM Keyword\n\n"
                 "  +L, --print-all   print long values completely (default: shortened)\n"
                 "  --json            print the DICOM JSON model (PS3.18 F.2): an array with one\n"
                 "                    object per file\n"
                 "  -q, --quiet       do not print warnings about non-conformant input\n"
                 "  -h, --help        this text\n\n"
                 "Exit status: 0 when every file parsed, 1 when any file could not be read (one\n"
                 "message per bad file on stderr), 2 on a bad command line.\n");
}

typedef struct dump_opts {
    unsigned flags;
    int json;
    int quiet;
} dump_opts;

static void print_warnings(const char *path, const dcm_file *f)
{
    uint32_t i;

    for (i = 0; i < f->nwarn; i++) {
        const dcm_warning *w = &f->warn[i];

        fprintf(stderr, "dcmvault dump: %s: warning: %s", path, w->msg);
        if (w->offset != DV_NO_OFFSET)
            fprintf(stderr, " at offset %llu", (unsigned long long)w->offset);
        if (w->tag != DV_NO_TAG)
            fprintf(stderr, ", tag (%04X,%04X)", DCM_GROUP(w->tag), DCM_ELEM(w->tag));
        fputc('\n', stderr);
    }
    if (f->nwarn_total > f->nwarn)
        fprintf(stderr, "dcmvault dump: %s: %u more warnings\n", path, f->nwarn_total - f->nwarn);
}

static dv_err render_one(const dump_opts *o, const dcm_file *f, dv_buf *out, dv_errinfo *ei)
{
    dcm_json_opts jo;

    if (!o->json)
        return dcm_dump(f, o->flags, out);
    memset(&jo, 0, sizeof(jo));
    jo.flags = DCM_JSON_PRETTY;
    return dcm_json_write(f, NULL, &jo, out, ei);
}

static int dump_one(const dump_opts *o, const char *path, int first)
{
    dcm_file *f = NULL;
    dv_errinfo ei;
    dv_buf out;
    dv_err e;
    int rc = DV_EXIT_OK;

    e = dcm_read_file(path, 0, NULL, &f, &ei);
    if (e) {
        cli_report("dump", path, e, &ei);
        return cli_exit_code(e) == DV_EXIT_IO ? DV_EXIT_IO : DV_EXIT_FAIL;
    }
    if (!o->quiet)
        print_warnings(path, f);
    if (!o->json) { /* streamed: memory stays flat however long the listing */
        e = dcm_dump_file(f, o->flags, stdout);
        if (e)
            rc = e == DV_EIO ? DV_EXIT_IO : DV_EXIT_FAIL;
        if (e && e != DV_EIO)
            cli_report("dump", path, e, NULL);
        dcm_file_free(f);
        return rc;
    }
    dv_buf_init(&out, (size_t)1 << 34);
    dv_errinfo_clear(&ei);
    if (o->json && !first)
        e = dv_buf_adds(&out, ",\n");
    if (!e)
        e = render_one(o, f, &out, &ei);
    if (e) {
        cli_report("dump", path, e, &ei);
        rc = DV_EXIT_FAIL;
    } else if (fwrite(out.p, 1, out.len, stdout) != out.len) {
        rc = DV_EXIT_IO;
    }
    dv_buf_release(&out);
    dcm_file_free(f);
    return rc;
}

int cmd_dump(int argc, char **argv)
{
    dump_opts o = {0, 0, 0};
    int i, rc = DV_EXIT_OK, files = 0, opts_done = 0;

    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return DV_EXIT_OK;
    }
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!opts_done && !strcmp(a, "--")) {
            opts_done = 1;
        } else if (!opts_done && (!strcmp(a, "+L") || !strcmp(a, "--print-all"))) {
            o.flags |= DCM_DUMP_ALL;
        } else if (!opts_done && !strcmp(a, "--json")) {
            o.json = 1;
        } else if (!opts_done && (!strcmp(a, "-q") || !strcmp(a, "--quiet"))) {
            o.quiet = 1;
        } else if (!opts_done && a[0] == '-' && a[1]) {
            fprintf(stderr, "dcmvault dump: unknown option '%s'\n", a);
            help(stderr);
            return DV_EXIT_USAGE;
        } else {
            files++;
        }
    }
    if (!files) {
        help(stderr);
        return DV_EXIT_USAGE;
    }
    if (o.json)
        fputs("[\n", stdout);
    opts_done = 0;
    files = 0;
    for (i = 1; i < argc; i++) {
        int r;

        if (!opts_done && (argv[i][0] == '-' || argv[i][0] == '+') && argv[i][1]) {
            opts_done = !strcmp(argv[i], "--");
            continue;
        }
        r = dump_one(&o, argv[i], files == 0);
        files += r == DV_EXIT_OK;
        if (r > rc)
            rc = r;
    }
    if (o.json)
        fputs("\n]\n", stdout);
    if (fflush(stdout) != 0)
        rc = DV_EXIT_IO;
    return rc;
}
