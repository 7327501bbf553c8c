/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_find.c - `dcmvault find` (a table or JSON of matching patients, studies, series or
 * instances) and `dcmvault export` (the stored files, byte for byte).
 *
 * find prints PHI to the authorised user's terminal: that is its purpose.  Nothing here writes
 * PHI anywhere else (no log, no temporary file); error messages carry no values.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cmd_access.h"
#include "cli/cmd_vault.h"
#include "deid/deid.h"

#include "common/banned.h"

static void find_help(FILE *out)
{
    fprintf(out,
            "usage: dcmvault find [OPTIONS] [FILTERS] [--level L] [--json] [--limit N]\n"
            "Prints the patients, studies, series or instances that match every filter given.\n"
            "  --patient-id X        exact PatientID\n"
            "  --patient-name N      exact name, case and '^'/space insensitive: the whole name\n"
            "                        or its family, given or middle part ('WANG' finds\n"
            "                        'Wang^Xiaoming'); with * or ? a wildcard over those parts\n"
            "                        ('WANG*'), looked up among at most %u patients\n"
            "  --study-date D        YYYYMMDD, YYYYMMDD-YYYYMMDD, -YYYYMMDD or YYYYMMDD-\n"
            "  --modality M          a series modality (CT, CR ...)\n"
            "  --accession N         exact AccessionNumber\n"
            "  --study UID, --series UID, --instance UID\n"
            "  --level L             patient, study (default), series or instance\n"
            "  --json                a JSON array of objects (attribute keywords; instances\n"
            "                        also give InstanceId, ObjectKey, Frames, SealedBytes)\n"
            "  --limit N             at most N rows\n" CLI_VAULT_OPTS_HELP
            "Exit status: 0 (even with no match), 2 usage, 3 I/O, 4 key refused, 5 internal.\n",
            VAULT_NAME_CANDIDATES_MAX);
}

typedef struct find_ui {
    int json;
    vault_level level;
    uint64_t n;
} find_ui;

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

typedef struct field {
    const char *name;
    const char *val;
    vault_level min;
    int width; /* table column width; 0: not in the table */
} field;

static size_t fields_of(const vault_result *r, field *f)
{
    size_t n = 0;

#define F(k, lv, w) f[n++] = (field){#k, r->k, lv, w}
    F(PatientName, VAULT_LEVEL_PATIENT, 28);
    F(PatientID, VAULT_LEVEL_PATIENT, 16);
    F(PatientBirthDate, VAULT_LEVEL_PATIENT, 10);
    F(PatientSex, VAULT_LEVEL_PATIENT, 3);
    F(StudyDate, VAULT_LEVEL_STUDY, 10);
    F(StudyTime, VAULT_LEVEL_STUDY, 0);
    F(AccessionNumber, VAULT_LEVEL_STUDY, 12);
    F(ModalitiesInStudy, VAULT_LEVEL_STUDY, 8);
    F(StudyDescription, VAULT_LEVEL_STUDY, 0);
    F(ReferringPhysicianName, VAULT_LEVEL_STUDY, 0);
    F(InstitutionName, VAULT_LEVEL_STUDY, 0);
    F(StudyID, VAULT_LEVEL_STUDY, 0);
    F(StudyInstanceUID, VAULT_LEVEL_STUDY, 1);
    F(Modality, VAULT_LEVEL_SERIES, 8);
    F(SeriesNumber, VAULT_LEVEL_SERIES, 6);
    F(SeriesDescription, VAULT_LEVEL_SERIES, 0);
    F(SeriesInstanceUID, VAULT_LEVEL_SERIES, 1);
    F(InstanceNumber, VAULT_LEVEL_INSTANCE, 6);
    F(SOPClassUID, VAULT_LEVEL_INSTANCE, 0);
    F(TransferSyntaxUID, VAULT_LEVEL_INSTANCE, 0);
    F(SOPInstanceUID, VAULT_LEVEL_INSTANCE, 1);
#undef F
    return n;
}

static void table_row(const find_ui *u, const field *f, size_t n, int header)
{
    size_t i;
    int first = 1, w;

    for (i = 0; i < n; i++) {
        if (!f[i].width || f[i].min > u->level)
            continue;
        /* UIDs are printed whole, only in the deepest level's column */
        if (f[i].width == 1 && f[i].min != u->level)
            continue;
        w = f[i].width == 1 ? 0 : f[i].width;
        if (w && strlen(f[i].name) > (size_t)w)
            w = (int)strlen(f[i].name); /* a column is at least as wide as its heading */
        printf("%s%-*s", first ? "" : " ", w, header ? f[i].name : f[i].val);
        first = 0;
    }
    putchar('\n');
}

static dv_err on_result(void *cb, const vault_result *r)
{
    find_ui *u = cb;
    field f[32];
    size_t n = fields_of(r, f), i;
    int first = 1;

    if (!u->json) {
        if (u->n++ == 0)
            table_row(u, f, n, 1);
        table_row(u, f, n, 0);
        return DV_OK;
    }
    printf("%s  {", u->n++ ? ",\n" : "");
    for (i = 0; i < n; i++) {
        if (f[i].min > u->level || !f[i].val[0])
            continue;
        printf("%s\"%s\": ", first ? "" : ", ", f[i].name);
        json_str(f[i].val);
        first = 0;
    }
    if (u->level == VAULT_LEVEL_INSTANCE) /* storage facts, no PHI: for check and scripts */
        printf(", \"InstanceId\": %lld, \"ObjectKey\": \"%s\", \"Frames\": %u, "
               "\"SealedBytes\": %llu",
               (long long)r->instance_id, r->object_key, (unsigned)r->frames,
               (unsigned long long)r->size);
    putchar('}');
    return DV_OK;
}

static int parse_level(const char *s, vault_level *lv)
{
    static const char *const names[] = {"patient", "study", "series", "instance"};
    int i;

    for (i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *lv = (vault_level)(i + 1);
            return 0;
        }
    return -1;
}

static int parse_limit(const char *s, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (s[0] < '1' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || !v)
        return -1;
    *out = v;
    return 0;
}

static const char **find_slot(vault_query *q, const char *a)
{
    if (!strcmp(a, "--patient-id"))
        return &q->patient_id;
    if (!strcmp(a, "--patient-name"))
        return &q->patient_name;
    if (!strcmp(a, "--study-date"))
        return &q->study_date;
    if (!strcmp(a, "--modality"))
        return &q->modality;
    if (!strcmp(a, "--accession"))
        return &q->accession;
    if (!strcmp(a, "--study"))
        return &q->study_uid;
    if (!strcmp(a, "--series"))
        return &q->series_uid;
    if (!strcmp(a, "--instance"))
        return &q->sop_uid;
    return NULL;
}

static int find_args(int argc, char **argv, cli_vault_opts *vo, vault_query *q, find_ui *u)
{
    const char *val, **slot;
    int i, rc;

    for (i = 1; i < argc; i++) {
        rc = cli_vault_opt("find", vo, argc, argv, &i);
        if (rc < 0)
            return DV_EXIT_USAGE;
        if (rc)
            continue;
        if (!strcmp(argv[i], "--json")) {
            u->json = 1;
            continue;
        }
        slot = find_slot(q, argv[i]);
        if (!slot && strcmp(argv[i], "--level") != 0 && strcmp(argv[i], "--limit") != 0) {
            fprintf(stderr, "dcmvault find: unexpected argument '%s'\n", argv[i]);
            return DV_EXIT_USAGE;
        }
        val = cli_opt_value("find", argc, argv, &i);
        if (!val)
            return DV_EXIT_USAGE;
        if (slot) {
            *slot = val;
        } else if (!strcmp(argv[i - 1], "--level") && parse_level(val, &q->level)) {
            fprintf(stderr, "dcmvault find: --level is patient, study, series or instance\n");
            return DV_EXIT_USAGE;
        } else if (!strcmp(argv[i - 1], "--limit") && parse_limit(val, &q->limit)) {
            fprintf(stderr, "dcmvault find: --limit wants a positive number\n");
            return DV_EXIT_USAGE;
        }
    }
    return DV_EXIT_OK;
}

typedef struct find_req {
    vault_query q;
    find_ui u;
} find_req;

/* A JSON array is closed also when the search fails part way. */
static dv_err find_call(vault *v, const cli_session *s, void *arg, dv_errinfo *ei)
{
    find_req *r = arg;
    dv_err e;

    if (r->u.json)
        fputs("[\n", stdout);
    e = vault_find(v, &s->ctx, &r->q, on_result, &r->u, NULL, ei);
    if (r->u.json)
        fputs(r->u.n ? "\n]\n" : "]\n", stdout);
    return e;
}

int cmd_find(int argc, char **argv)
{
    cli_vault_opts vo = {NULL, NULL, NULL, NULL};
    find_req r;
    int rc;

    if (cli_wants_help(argc, argv)) {
        find_help(stdout);
        return DV_EXIT_OK;
    }
    memset(&r, 0, sizeof(r));
    r.q.level = VAULT_LEVEL_STUDY;
    rc = find_args(argc, argv, &vo, &r.q, &r.u);
    if (rc)
        return rc;
    r.u.level = r.q.level;
    rc = cli_vault_call("find", &vo, &vo.dir, find_call, NULL, &r);
    if (rc)
        return rc;
    if (!r.u.json && !r.u.n)
        fprintf(stderr, "dcmvault find: no match\n");
    return fflush(stdout) == 0 ? DV_EXIT_OK : DV_EXIT_IO;
}

/* ---- export --------------------------------------------------------------------------------- */

static void export_help(FILE *out)
{
    fprintf(
        out,
        "usage: dcmvault export [OPTIONS] (--study UID | --series UID | --instance UID) -o DIR\n"
        "Writes the selected instances into DIR (created 0700 when absent) as\n"
        "<SOPInstanceUID>.dcm, mode 0600, each written atomically.  Every image carries an\n"
        "invisible forensic watermark naming this export's audit entry, in its stored bit\n"
        "depth (only the pixel values change; compressed pixel data leaves native, explicit VR\n"
        "little endian); other objects leave byte for byte.  An object that fails to\n"
        "authenticate stops the export with the instance id and object key.\n"
        "  --original           the archival bytes as imported, unmarked (the audit entry\n"
        "                       says so; for migration and legal copies)\n"
        "\n"
        "With a teaching or research purpose (--purpose teaching|research, or a researcher's\n"
        "session) every instance leaves de-identified instead (PS3.15 Basic Profile, burned-in\n"
        "text redacted, the residual-PHI check; see `dcmvault deid --help`), named by its new\n"
        "SOPInstanceUID; a file that fails the check is not written (exit 4):\n"
        "  --project NAME       the project whose key makes the pseudonyms, UIDs and date\n"
        "                       shifts (stable within a project, unlinkable across; default\n"
        "                       \"default\")\n"
        "  --option NAME        a PS3.15 option, as for `dcmvault deid` (repeatable)\n"
        "  --pixels ocr|rules|off  burned-in text search (default ocr)\n" CLI_VAULT_OPTS_HELP
        "Exit status: 0 exported, 1 no such UID, 2 usage, 3 I/O, 4 refused by the policy, key\n"
        "refused, an object does not authenticate or a file failed de-identification,\n"
        "5 internal.\n");
}

typedef struct export_args {
    cli_vault_opts vo;
    const char *uid, *out;
    vault_sel sel;
    int nsel;
    int original; /* --original: the archival bytes, unmarked */
    vault_deid_opts d;
    int deid;          /* the request's purpose is teaching or research */
    vault_deid_res dr; /* de-identified: what was written */
    uint64_t n;        /* else: files written */
} export_args;

static int export_opt(int argc, char **argv, int *i, export_args *x)
{
    const char *a = argv[*i], *val = NULL;
    dv_errinfo ei;
    unsigned bits = (unsigned)x->d.options;

    if (!strcmp(a, "--original")) {
        x->original = 1;
        return DV_EXIT_OK;
    }
    if (!strcmp(a, "--study") || !strcmp(a, "--series") || !strcmp(a, "--instance")) {
        val = cli_opt_value("export", argc, argv, i);
        if (val)
            (void)cli_render_opt("export", a, val, &x->sel, &x->uid, &x->nsel, NULL);
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
        x->out = val = cli_opt_value("export", argc, argv, i);
    } else if (!strcmp(a, "--project")) {
        x->d.project = val = cli_opt_value("export", argc, argv, i);
    } else if (!strcmp(a, "--option")) {
        val = cli_opt_value("export", argc, argv, i);
        if (val && deid_option_parse(val, &bits, &ei) != DV_OK) {
            fprintf(stderr, "dcmvault export: unknown --option '%s'\n", val);
            return DV_EXIT_USAGE;
        }
        x->d.options = bits;
    } else if (!strcmp(a, "--pixels")) {
        val = cli_opt_value("export", argc, argv, i);
        if (val && !strcmp(val, "ocr"))
            x->d.pixels = DEID_PIXELS_OCR;
        else if (val && !strcmp(val, "rules"))
            x->d.pixels = DEID_PIXELS_RULES;
        else if (val && !strcmp(val, "off"))
            x->d.pixels = DEID_PIXELS_OFF;
        else if (val) {
            fprintf(stderr, "dcmvault export: --pixels takes ocr, rules or off\n");
            return DV_EXIT_USAGE;
        }
    } else {
        fprintf(stderr, "dcmvault export: unexpected argument '%s'\n", a);
        return DV_EXIT_USAGE;
    }
    return val ? DV_EXIT_OK : DV_EXIT_USAGE;
}

static int export_parse(int argc, char **argv, export_args *x)
{
    int i, rc;

    memset(x, 0, sizeof(*x));
    x->sel = VAULT_SEL_STUDY;
    x->d.project = "default";
    x->d.pixels = DEID_PIXELS_OCR;
    for (i = 1; i < argc; i++) {
        rc = cli_vault_opt("export", &x->vo, argc, argv, &i);
        if (rc < 0)
            return DV_EXIT_USAGE;
        if (rc)
            continue;
        rc = export_opt(argc, argv, &i, x);
        if (rc)
            return rc;
    }
    if (x->nsel != 1 || !x->uid || !x->out) {
        export_help(stderr);
        return DV_EXIT_USAGE;
    }
    return DV_EXIT_OK;
}

static int secondary_purpose(const char *code)
{
    return !strcmp(code, "TRAIN") || !strcmp(code, "HRESCH");
}

static dv_err export_call(vault *v, const cli_session *s, void *arg, dv_errinfo *ei)
{
    export_args *x = arg;

    x->deid = secondary_purpose(cli_request_purpose(s));
    if (x->deid && mkdir(x->out, 0700) != 0 && errno != EEXIST)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot create the output folder: %s",
                       strerror(errno));
    if (x->deid)
        return vault_export_deid(v, &s->ctx, x->sel, x->uid, &x->d, x->out, &x->dr, ei);
    return vault_export_dir(v, &s->ctx, x->sel, x->uid, x->out, x->original, &x->n, ei);
}

int cmd_export(int argc, char **argv)
{
    export_args x;
    int rc;

    if (cli_wants_help(argc, argv)) {
        export_help(stdout);
        return DV_EXIT_OK;
    }
    rc = export_parse(argc, argv, &x);
    if (rc)
        return rc;
    rc = cli_vault_call("export", &x.vo, &x.vo.dir, export_call, NULL, &x);
    deid_pixels_cleanup();
    if (rc)
        return rc;
    if (x.deid)
        printf("exported %llu de-identified file(s) to %s (project %s)\n",
               (unsigned long long)x.dr.written, x.out, x.d.project);
    else
        printf("exported %llu file(s) to %s\n", (unsigned long long)x.n, x.out);
    return fflush(stdout) == 0 ? DV_EXIT_OK : DV_EXIT_IO;
}
