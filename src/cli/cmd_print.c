/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_print.c - `dcmvault print` (a study, series or instance as a print-ready PDF whose every
 * page carries the film's serial) and `dcmvault film list|destroy` (films from print to their
 * reported physical destruction). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cmd_access.h"
#include "cli/cmd_access_int.h"
#include "cli/cmd_vault.h"
#include "dicom/dicom.h"
#include "render/render.h"
#include "vault/vault.h"

#include "common/banned.h"

#define MAX_PDF      ((size_t)4 << 30)
#define MAX_PAGE     ((size_t)1 << 30)
#define PAGE_QUALITY 95

typedef struct page {
    dv_buf jpeg;
    uint32_t w, h, ch;
} page;

typedef struct print_args {
    cli_vault_opts vo;
    vault_sel sel;
    const char *uid, *out;
    vault_view_opts o;
    page *pages;
    size_t n, cap;
    vault_print_res res;
} print_args;

static void print_help(FILE *f)
{
    fprintf(f,
            "usage: dcmvault print --study UID | --series UID | --instance UID -o OUT.pdf\n"
            "                      [--frame N] [--window C,W] [--overlay]\n"
            "Prints the images of the selection to a print-ready PDF (A4, one image a page, no\n"
            "document metadata).  A print is a copy that leaves the vault: the access gate\n"
            "decides it as an export (care relationship, quotas, four eyes) and the audit log\n"
            "records it (DCM 110106, type PRINT) before any pixel is rendered.  Each print gets\n"
            "a serial (F-XXXX-XXXX) printed on every page and kept as an outstanding film until\n"
            "its destruction is reported with `dcmvault film destroy SERIAL --reason TEXT`.\n"
            "  --frame N      frame of each instance, 1-based (default 1)\n"
            "  --window C,W   window center,width in modality units\n"
            "  --overlay      also a visible overlay naming you, the time and the audit entry\n"
            "Every page also carries an invisible forensic watermark naming the print's audit\n"
            "entry (`dcmvault trace`).\n" CLI_VAULT_OPTS_HELP
            "exit codes: 0 ok, 1 not found or nothing to print, 2 usage, 3 output not written,\n"
            "4 refused by the access policy (or waiting for a second person's approval)\n");
}

static int print_opt(int argc, char **argv, int *i, print_args *a, int *nsel)
{
    const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    int rc;

    if (!strcmp(o, "--overlay")) {
        a->o.overlay = 1;
        return 0;
    }
    if (!v) {
        fprintf(stderr, "dcmvault print: %s needs a value\n", o);
        return DV_EXIT_USAGE;
    }
    (*i)++;
    rc = cli_render_opt("print", o, v, &a->sel, &a->uid, nsel, &a->o);
    if (rc)
        return rc < 0 ? DV_EXIT_USAGE : 0;
    if (!strcmp(o, "-o") || !strcmp(o, "--output")) {
        a->out = v;
        return 0;
    }
    fprintf(stderr, "dcmvault print: bad option or value: %s %s\n", o, v);
    return DV_EXIT_USAGE;
}

static int print_parse(int argc, char **argv, print_args *a)
{
    int i, rc, nsel = 0;
    size_t len;

    vault_view_opts_init(&a->o);
    for (i = 1; i < argc; i++) {
        rc = cli_vault_opt("print", &a->vo, argc, argv, &i);
        if (rc < 0)
            return DV_EXIT_USAGE;
        if (rc)
            continue;
        rc = print_opt(argc, argv, &i, a, &nsel);
        if (rc)
            return rc;
    }
    len = a->out ? strlen(a->out) : 0;
    if (nsel != 1 || len < 5 || strcasecmp(a->out + len - 4, ".pdf") != 0) {
        print_help(stderr);
        return DV_EXIT_USAGE;
    }
    return 0;
}

/* Each rendered page is kept as a JPEG until the vault has recorded the film. */
static dv_err keep_page(void *cb, uint64_t index, uint32_t frame, const render_image *im,
                        dv_errinfo *ei)
{
    print_args *a = cb;
    page *p;
    dv_err e;

    (void)index;
    (void)frame;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        page *np = realloc(a->pages, cap * sizeof(*np));

        if (!np)
            return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
        a->pages = np;
        a->cap = cap;
    }
    p = &a->pages[a->n];
    dv_buf_init(&p->jpeg, MAX_PAGE);
    e = render_jpeg(im, PAGE_QUALITY, &p->jpeg, ei);
    if (e) {
        dv_buf_release(&p->jpeg);
        return e;
    }
    p->w = im->width;
    p->h = im->height;
    p->ch = im->channels;
    a->n++;
    return DV_OK;
}

static dv_err write_pdf(const print_args *a, const vault_print_res *res, const char *who,
                        dv_errinfo *ei)
{
    render_pdf_page *pp = calloc(a->n, sizeof(*pp));
    char(*caps)[160] = calloc(a->n, sizeof(*caps));
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    dv_buf pdf;
    size_t i;
    dv_err e = DV_OK;

    if (!pp || !caps) {
        free(pp);
        free(caps);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    }
    if (!gmtime_r(&now, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%MZ", &tm))
        when[0] = '\0';
    for (i = 0; i < a->n; i++) {
        (void)snprintf(caps[i], sizeof(caps[i]),
                       "dcmvault film %s  page %zu/%zu  printed by %s %s  audit entry %llu",
                       res->serial, i + 1, a->n, who, when, (unsigned long long)res->audit_seq);
        pp[i] = (render_pdf_page){a->pages[i].jpeg.p, a->pages[i].jpeg.len, a->pages[i].w,
                                  a->pages[i].h,      a->pages[i].ch,       caps[i]};
    }
    dv_buf_init(&pdf, MAX_PDF);
    e = render_pdf(pp, a->n, &pdf, ei);
    if (!e)
        e = dcm_write_file_atomic(a->out, pdf.p, pdf.len, ei);
    dv_buf_release(&pdf);
    free(pp);
    free(caps);
    return e;
}

static void print_free(print_args *a)
{
    size_t i;

    for (i = 0; i < a->n; i++)
        dv_buf_release(&a->pages[i].jpeg);
    free(a->pages);
}

/* The vault renders and records the film; the PDF is written once the vault is closed. */
static dv_err print_call(vault *v, const cli_session *s, void *arg, dv_errinfo *ei)
{
    print_args *a = arg;

    return vault_print(v, &s->ctx, a->sel, a->uid, &a->o, keep_page, a, &a->res, ei);
}

static dv_err print_write(const cli_session *s, void *arg, dv_errinfo *ei)
{
    const print_args *a = arg;

    return write_pdf(a, &a->res, s->ctx.user, ei);
}

int cmd_print(int argc, char **argv)
{
    print_args a;
    int rc;

    if (cli_wants_help(argc, argv)) {
        print_help(stdout);
        return DV_EXIT_OK;
    }
    memset(&a, 0, sizeof(a));
    rc = print_parse(argc, argv, &a);
    if (!rc)
        rc = cli_vault_call("print", &a.vo, &a.out, print_call, print_write, &a);
    print_free(&a);
    if (rc)
        return rc;
    printf("film %s: %llu page(s) in %s (audit entry %llu)\n", a.res.serial,
           (unsigned long long)a.res.pages, a.out, (unsigned long long)a.res.audit_seq);
    return fflush(stdout) == 0 ? DV_EXIT_OK : DV_EXIT_IO;
}

/* ---- film list | destroy ----------------------------------------------------------------- */

static dv_err print_film(void *cb, const vault_film_info *f)
{
    char p[32], d[32];
    time_t t;
    struct tm tm;

    (void)cb;
    t = (time_t)f->printed;
    if (!gmtime_r(&t, &tm) || !strftime(p, sizeof(p), "%Y-%m-%dT%H:%M:%SZ", &tm))
        p[0] = '\0';
    t = (time_t)f->destroyed;
    if (!f->destroyed || !gmtime_r(&t, &tm) || !strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%SZ", &tm))
        d[0] = '\0';
    printf("%s  study %02x%02x%02x%02x%02x%02x%02x%02x...  %u page(s)  printed by %s %s  "
           "audit entry %llu  %s%s%s%s\n",
           f->serial, f->study_pseudonym[0], f->study_pseudonym[1], f->study_pseudonym[2],
           f->study_pseudonym[3], f->study_pseudonym[4], f->study_pseudonym[5],
           f->study_pseudonym[6], f->study_pseudonym[7], f->pages, f->printed_by, p,
           (unsigned long long)f->audit_seq, f->destroyed ? "destroyed by " : "OUTSTANDING",
           f->destroyed ? f->destroyed_by : "", f->destroyed ? " " : "", d);
    return DV_OK;
}

int cmd_film(int argc, char **argv)
{
    const char *reason = NULL;
    int all = 0;
    acc_opt opts[] = {{"--reason", &reason, NULL}, {"--all", NULL, &all}};
    acc_args a = {{NULL, NULL, NULL, NULL}, NULL, opts, 2, {NULL}, 0};
    cli_session s;
    dv_errinfo ei;
    vault *v = NULL;
    int rc = acc_parse("film", argc, argv, 1, &a), list;
    dv_err e;

    list = a.npos == 1 && !strcmp(a.pos[0], "list") && !reason;
    if (!rc && !list && !(a.npos == 2 && !strcmp(a.pos[0], "destroy") && reason && !all)) {
        fprintf(stderr, "usage: dcmvault film list [--all] | film destroy SERIAL --reason TEXT\n");
        rc = DV_EXIT_USAGE;
    }
    if (!rc)
        rc = acc_open("film", &a, &v, &s);
    if (rc)
        return rc;
    dv_errinfo_clear(&ei);
    if (list)
        e = vault_film_list(v, &s.ctx, !all, print_film, NULL, &ei);
    else
        e = vault_film_destroy(v, &s.ctx, a.pos[1], reason, &ei);
    vault_close(v);
    cli_session_wipe(&s);
    if (e)
        return acc_fail("film", e, &ei);
    if (!list)
        printf("film %s recorded as destroyed\n", a.pos[1]);
    return acc_done();
}
