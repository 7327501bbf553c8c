/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_deid.c - `dcmvault deid`: de-identify DICOM files and folders into an output folder,
 * on several threads, with a JSON report and the residual-PHI check on every file.
 *
 * Output names carry no identifier: "<new SOPInstanceUID>.dcm".  Everything given on the
 * command line (options, key, mapping) is checked before the first file is written.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "deid/deid.h"
#include "dicom/dicom.h"

#include "common/banned.h"

#define DEID_MAX_FILES  1000000u
#define DEID_MAX_JOBS   64
#define DEID_WALK_DEPTH 32

typedef struct job {
    char *in;
    char *json; /* the report record, malloc'd */
    int failed;
} job;

typedef struct run {
    const deid_ctx *ctx;
    char **names; /* output names used in this run: open addressing, nslots = 2 * n + 1 */
    size_t nslots;
    const char *outdir;
    job *jobs;
    size_t n, next, done, nfailed;
    int quiet;
    pthread_mutex_t mu;
} run;

static void help(FILE *out)
{
    fprintf(out,
            "usage: dcmvault deid IN... -o OUT --key-file K [--option NAME ...] [--mapping CSV]\n"
            "                     [--pixels ocr|rules|off] [--jobs N] [--report FILE.json] "
            "[--quiet]\n"
            "De-identifies DICOM files (folders are searched recursively) with the PS3.15\n"
            "Basic Application Level Confidentiality Profile (Table E.1-1, 2025e) and writes\n"
            "OUT/<new SOPInstanceUID>.dcm.  A residual check searches every output for the\n"
            "input's identifiers; a file that fails it is not written.\n\n"
            "  -o, --out DIR        output folder (created 0700 when absent)\n"
            "  --key-file K         64-hex key file; created (0600) when absent.  The same key\n"
            "                       gives the same UIDs, pseudonyms and date shifts.  Must not\n"
            "                       be inside OUT.\n"
            "  --option NAME        retain-safe-private, retain-uids, retain-device-identity,\n"
            "                       retain-institution-identity, retain-patient-characteristics,\n"
            "                       retain-long-full-dates, retain-long-modified-dates,\n"
            "                       clean-descriptors, clean-structured-content, clean-graphics\n"
            "  --mapping CSV        original_patient_id,new_patient_id,new_patient_name\n"
            "  --pixels MODE        burned-in text: ocr (default), rules, off\n"
            "  --jobs N             threads (default: number of CPUs)\n"
            "  --report FILE        JSON report: per file, the actions and the check's result\n"
            "  --quiet              no progress on stderr\n\n"
            "Exit status: 0 all files written, 1 a file failed (listed on stderr by input path\n"
            "and reason), 2 bad command line, mapping or option, 3 I/O error.\n");
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "dcmvault deid: %s\n", msg);
    return DV_EXIT_USAGE;
}

/* ---- input files ---------------------------------------------------------------------- */

typedef struct flist {
    char **v;
    size_t n, cap;
} flist;

static int flist_add(flist *l, const char *p)
{
    if (l->n >= DEID_MAX_FILES)
        return -1;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        char **nv = realloc(l->v, nc * sizeof(*nv));

        if (!nv)
            return -1;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n] = strdup(p);
    if (!l->v[l->n])
        return -1;
    l->n++;
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(flist *l, const char *dir, unsigned depth)
{
    DIR *d;
    struct dirent *de;
    flist here = {0};
    size_t i;
    int rc = 0;

    if (depth > DEID_WALK_DEPTH)
        return 0;
    d = opendir(dir);
    if (!d) {
        fprintf(stderr, "dcmvault deid: %s: cannot open folder (%s)\n", dir, strerror(errno));
        return -1;
    }
    while (!rc) {
        char p[PATH_MAX];

        /* cppcheck-suppress readdirCalled ; the walk runs before any worker thread starts */
        de = readdir(d);
        if (!de)
            break;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= sizeof(p))
            continue;
        rc = flist_add(&here, p);
    }
    closedir(d);
    if (here.n > 1)
        qsort(here.v, here.n, sizeof(*here.v), name_cmp);
    for (i = 0; i < here.n; i++) {
        struct stat st;

        if (!rc && !lstat(here.v[i], &st)) {
            if (S_ISDIR(st.st_mode))
                rc = walk_dir(l, here.v[i], depth + 1);
            else if (S_ISREG(st.st_mode))
                rc = flist_add(l, here.v[i]);
        }
        free(here.v[i]);
    }
    free(here.v);
    return rc;
}

static int gather(flist *l, char **in, int nin)
{
    int i;

    for (i = 0; i < nin; i++) {
        struct stat st;

        if (stat(in[i], &st)) {
            fprintf(stderr, "dcmvault deid: %s: %s\n", in[i], strerror(errno));
            return -1;
        }
        if (S_ISDIR(st.st_mode) ? walk_dir(l, in[i], 0) : flist_add(l, in[i]))
            return -1;
    }
    return 0;
}

/* ---- one file ------------------------------------------------------------------------- */

static char *record(const deid_file_report *rep, const char *in, const char *out, const char *err)
{
    dv_buf b;

    dv_buf_init(&b, (size_t)1 << 20);
    if (deid_report_json(rep, in, out, err, &b)) {
        dv_buf_release(&b);
        return NULL;
    }
    return (char *)dv_buf_detach(&b, NULL);
}

static size_t name_hash(const char *s)
{
    size_t h = 5381;

    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

/* Claims name for this run; when another input of the run already has it (two inputs with
 * one SOPInstanceUID), adds "-2", "-3" ... before ".dcm".  Returns -1 when out of memory. */
static int claim_name(run *r, char *name, size_t namelen)
{
    char base[80];
    unsigned k = 1;
    int rc = 0;

    snprintf(base, sizeof(base), "%.*s", (int)(strlen(name) > 4 ? strlen(name) - 4 : 0), name);
    pthread_mutex_lock(&r->mu);
    for (;;) {
        size_t i = name_hash(name) % r->nslots;

        while (r->names[i] && strcmp(r->names[i], name) != 0)
            i = (i + 1) % r->nslots;
        if (!r->names[i]) {
            r->names[i] = strdup(name);
            rc = r->names[i] ? 0 : -1;
            break;
        }
        snprintf(name, namelen, "%.70s-%u.dcm", base, ++k);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* De-identifies one file; returns 0 when written.  *msg gets the reason on failure. */
static int one_file(run *r, size_t idx, deid_file_report *rep, char *name, size_t namelen,
                    char *msg, size_t msglen)
{
    dcm_file *f = NULL;
    dv_errinfo ei;
    dv_buf out;
    char path[PATH_MAX];
    dv_err e;

    dv_errinfo_clear(&ei);
    memset(rep, 0, sizeof(*rep));
    e = dcm_read_file(r->jobs[idx].in, 0, NULL, &f, &ei);
    if (!e)
        e = deid_file(r->ctx, f, rep, &ei);
    dv_buf_init(&out, (size_t)1 << 34);
    if (!e)
        e = dcm_write_part10(f, rep->ts, &out, &ei);
    if (!e) {
        if (rep->new_sop_uid[0]) /* no SOPInstanceUID: named by its place in the input list */
            snprintf(name, namelen, "%s.dcm", rep->new_sop_uid);
        else
            snprintf(name, namelen, "nosop-%06zu.dcm", idx + 1);
        if (claim_name(r, name, namelen))
            e = dv_fail(&ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
        if (!e && (size_t)snprintf(path, sizeof(path), "%s/%s", r->outdir, name) >= sizeof(path))
            e = dv_fail(&ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "output path too long");
    }
    if (!e) /* one sync of the folder at the end (deid_main) */
        e = dcm_write_file_atomic_ex(path, out.p, out.len, DCM_WRITE_NO_SYNC, &ei);
    dv_buf_release(&out);
    dcm_file_free(f);
    if (e)
        dv_errinfo_format(&ei, e, msg, msglen);
    return e ? -1 : 0;
}

static void *worker(void *arg)
{
    run *r = arg;

    for (;;) {
        deid_file_report rep;
        char name[96] = "", msg[400] = "";
        size_t i;
        int bad;

        pthread_mutex_lock(&r->mu);
        i = r->next < r->n ? r->next++ : SIZE_MAX;
        pthread_mutex_unlock(&r->mu);
        if (i == SIZE_MAX)
            return NULL;
        bad = one_file(r, i, &rep, name, sizeof(name), msg, sizeof(msg));
        r->jobs[i].failed = bad;
        r->jobs[i].json = record(&rep, r->jobs[i].in, name, bad ? msg : NULL);
        pthread_mutex_lock(&r->mu);
        r->done++;
        if (bad) {
            r->nfailed++;
            fprintf(stderr, "dcmvault deid: %s: %s\n", r->jobs[i].in, msg);
        }
        if (!r->quiet)
            fprintf(stderr, "deid: %zu/%zu files\n", r->done, r->n);
        pthread_mutex_unlock(&r->mu);
    }
}

static int run_all(run *r, unsigned jobs)
{
    pthread_t th[DEID_MAX_JOBS];
    unsigned i, started = 0;

    memset(th, 0, sizeof(th));
    if (jobs > r->n)
        jobs = (unsigned)r->n;
    for (i = 0; i < jobs; i++) {
        if (pthread_create(&th[i], NULL, worker, r))
            break;
        started++;
    }
    if (!started)
        worker(r);
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    return 0;
}

static int write_report(const run *r, const char *path)
{
    dv_buf b;
    dv_errinfo ei;
    size_t i;
    dv_err e;

    dv_buf_init(&b, (size_t)1 << 32);
    e = dv_buf_printf(&b,
                      "{\"tool\":\"dcmvault deid\",\"files_total\":%zu,\"files_ok\":%zu,"
                      "\"files_failed\":%zu,\"files\":[",
                      r->n, r->n - r->nfailed, r->nfailed);
    for (i = 0; !e && i < r->n; i++) {
        e = dv_buf_adds(&b, i ? ",\n" : "\n");
        if (!e)
            e = dv_buf_adds(&b, r->jobs[i].json ? r->jobs[i].json : "null");
    }
    if (!e)
        e = dv_buf_adds(&b, "\n]}\n");
    if (!e)
        e = dcm_write_file_atomic(path, b.p, b.len, &ei);
    else
        dv_errinfo_clear(&ei);
    dv_buf_release(&b);
    if (e) {
        cli_report("deid", path, e, &ei);
        return -1;
    }
    return 0;
}

/* ---- command line ---------------------------------------------------------------------- */

typedef struct args {
    const char *out, *keyfile, *mapping, *report;
    deid_opts o;
    unsigned jobs;
    int quiet;
    char **in;
    int nin;
} args;

/* Absolute form of p whose last component may not exist yet. */
static int abs_path(const char *p, char *out, size_t outlen)
{
    char dir[PATH_MAX], rdir[PATH_MAX];
    const char *slash = strrchr(p, '/'), *base = slash ? slash + 1 : p;

    if (realpath(p, rdir)) {
        snprintf(out, outlen, "%s", rdir);
        return 0;
    }
    if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - p) ? (int)(slash - p) : 1, p);
    else
        snprintf(dir, sizeof(dir), ".");
    if (!realpath(dir, rdir))
        return -1;
    return (size_t)snprintf(out, outlen, "%s/%s", rdir, base) >= outlen ? -1 : 0;
}

static int key_inside_out(const char *key, const char *out)
{
    char k[PATH_MAX], o[PATH_MAX];
    size_t ol;

    if (abs_path(key, k, sizeof(k)) || abs_path(out, o, sizeof(o)))
        return 1; /* cannot tell: refuse */
    ol = strlen(o);
    return !strncmp(k, o, ol) && (k[ol] == '/' || k[ol] == '\0');
}

static int parse_pixels(const char *s, deid_pixels_mode *m)
{
    if (!strcmp(s, "ocr"))
        *m = DEID_PIXELS_OCR;
    else if (!strcmp(s, "rules"))
        *m = DEID_PIXELS_RULES;
    else if (!strcmp(s, "off"))
        *m = DEID_PIXELS_OFF;
    else
        return -1;
    return 0;
}

static int parse_args(int argc, char **argv, args *a)
{
    int i;

    memset(a, 0, sizeof(*a));
    deid_opts_init(&a->o);
    a->in = calloc((size_t)argc, sizeof(char *));
    if (!a->in)
        return usage_error("out of memory");
    for (i = 1; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        dv_errinfo ei;

        if ((!strcmp(s, "-o") || !strcmp(s, "--out")) && v) {
            a->out = argv[++i];
        } else if (!strcmp(s, "--key-file") && v) {
            a->keyfile = argv[++i];
        } else if (!strcmp(s, "--mapping") && v) {
            a->mapping = argv[++i];
        } else if (!strcmp(s, "--report") && v) {
            a->report = argv[++i];
        } else if (!strcmp(s, "--option") && v) {
            i++;
            if (deid_option_parse(v, &a->o.options, &ei)) {
                fprintf(stderr, "dcmvault deid: unknown --option '%s'\n", v);
                return DV_EXIT_USAGE;
            }
        } else if (!strcmp(s, "--pixels") && v) {
            i++;
            if (parse_pixels(v, &a->o.pixels.mode))
                return usage_error("--pixels wants ocr, rules or off");
        } else if (!strcmp(s, "--jobs") && v) {
            char *end;
            unsigned long j = strtoul(argv[++i], &end, 10);

            if (*end || j < 1 || j > DEID_MAX_JOBS)
                return usage_error("--jobs wants 1..64");
            a->jobs = (unsigned)j;
        } else if (!strcmp(s, "--quiet")) {
            a->quiet = 1;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "dcmvault deid: unknown or incomplete option '%s'\n", s);
            return DV_EXIT_USAGE;
        } else {
            a->in[a->nin++] = argv[i];
        }
    }
    if (!a->nin || !a->out)
        return usage_error("needs IN... and -o OUT (see --help)");
    if (!a->keyfile)
        return usage_error("needs --key-file K (created when absent)");
    if ((a->o.options & DEID_OPT(DEID_OPT_RETAIN_FULL_DATES)) &&
        (a->o.options & DEID_OPT(DEID_OPT_RETAIN_MODIFIED_DATES)))
        return usage_error("retain-long-full-dates and retain-long-modified-dates exclude "
                           "each other");
    return 0;
}

static int load_key(const char *path, crypto_key *k)
{
    dv_errinfo ei;
    dv_err e;

    if (access(path, F_OK) == 0) {
        e = crypto_keyfile_load(path, k, &ei);
        if (e) {
            cli_report("deid", path, e, &ei);
            return e == DV_EMALFORMED ? DV_EXIT_USAGE : cli_exit_code(e);
        }
        return 0;
    }
    e = crypto_keyfile_create(path, k, &ei);
    if (e) {
        cli_report("deid", path, e, &ei);
        return cli_exit_code(e);
    }
    fprintf(stderr,
            "dcmvault deid: created key file %s (mode 0600): keep it to get the same "
            "pseudonyms next time\n",
            path);
    return 0;
}

/* Checks everything that can be checked before writing; loads mapping and key. */
static int prepare(args *a, deid_mapping **map, crypto_key *key)
{
    dv_errinfo ei;
    dv_err e;
    int rc;

    if (a->mapping) {
        e = deid_mapping_load(a->mapping, map, &ei);
        if (e) {
            cli_report("deid", a->mapping, e, &ei);
            return e == DV_EIO ? DV_EXIT_IO : DV_EXIT_USAGE;
        }
        a->o.mapping = *map;
    }
    if (key_inside_out(a->keyfile, a->out))
        return usage_error("the key file must not be inside the output folder");
    if (crypto_init())
        return DV_EXIT_INTERNAL;
    if (mkdir(a->out, 0700) && errno != EEXIST) {
        fprintf(stderr, "dcmvault deid: %s: cannot create (%s)\n", a->out, strerror(errno));
        return DV_EXIT_IO;
    }
    rc = load_key(a->keyfile, key);
    return rc;
}

static int deid_main(args *a, const deid_ctx *ctx)
{
    flist l = {0};
    run r;
    size_t i;
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    int rc = DV_EXIT_OK;

    if (gather(&l, a->in, a->nin)) {
        rc = DV_EXIT_IO;
        goto out;
    }
    memset(&r, 0, sizeof(r));
    r.ctx = ctx;
    r.outdir = a->out;
    r.quiet = a->quiet;
    r.n = l.n;
    r.jobs = calloc(l.n ? l.n : 1, sizeof(*r.jobs));
    r.nslots = 2 * l.n + 1;
    r.names = calloc(r.nslots, sizeof(*r.names));
    if (!r.jobs || !r.names) {
        free(r.jobs);
        free(r.names);
        rc = DV_EXIT_INTERNAL;
        goto out;
    }
    for (i = 0; i < l.n; i++)
        r.jobs[i].in = l.v[i];
    pthread_mutex_init(&r.mu, NULL);
    run_all(&r, a->jobs ? a->jobs : (nproc > 0 && nproc < DEID_MAX_JOBS ? (unsigned)nproc : 4));
    pthread_mutex_destroy(&r.mu);
    if (r.nfailed)
        rc = DV_EXIT_FAIL;
    if (r.n > r.nfailed && dcm_sync_folder(a->out, NULL) != DV_OK) {
        fprintf(stderr, "dcmvault deid: %s: the outputs could not be made durable\n", a->out);
        rc = DV_EXIT_IO;
    }
    if (a->report && write_report(&r, a->report))
        rc = DV_EXIT_IO;
    for (i = 0; i < r.n; i++)
        free(r.jobs[i].json);
    for (i = 0; i < r.nslots; i++)
        free(r.names[i]);
    free(r.names);
    free(r.jobs);
out:
    for (i = 0; i < l.n; i++)
        free(l.v[i]);
    free(l.v);
    return rc;
}

int cmd_deid(int argc, char **argv)
{
    args a;
    deid_mapping *map = NULL;
    deid_ctx *ctx = NULL;
    crypto_key key;
    dv_errinfo ei;
    int rc;

    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return DV_EXIT_OK;
    }
    memset(&key, 0, sizeof(key));
    rc = parse_args(argc, argv, &a);
    if (!rc)
        rc = prepare(&a, &map, &key);
    if (!rc && deid_ctx_new(&a.o, &key, &ctx, &ei) != DV_OK) {
        cli_report("deid", NULL, DV_EINVAL, &ei);
        rc = DV_EXIT_USAGE;
    }
    crypto_key_wipe(&key);
    if (!rc)
        rc = deid_main(&a, ctx);
    deid_ctx_free(ctx);
    deid_mapping_free(map);
    free(a.in);
    return rc;
}
