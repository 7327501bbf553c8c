/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_audit.c - `dcmvault audit SUB`: show, verify, checkpoint, prove, consistency,
 * check-proof, export, forward, and the test/maintenance tools keygen and append.
 *
 * These work on a log folder (--log DIR) and need no vault: verify needs only the folder and
 * the public key.  The vault integration passes its own folder and signing key, and adds the
 * privacy officer's pseudonym resolution and --patient-id through the hooks in audit.h
 * (audit_filter.pseudonym, audit_resolve_fn).
 */
#include <pthread.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "cli/cmd_access.h"
#include "cli/cmd_vault.h"

#include "common/banned.h"

typedef struct opts {
    const char *log, *pubkey, *secret, *checkpoint, *old, *format, *out, *to, *ca, *cert, *key;
    const char *since, *until, *user, *action, *actor, *role, *purpose, *client, *session;
    const char *detail, *outcome, *name, *entry, *count, *threads, *every;
    const char *vault, *patient_id, *key_file, *pass_env;
    const char *objects[AUDIT_MAX_OBJECTS];
    size_t nobjects;
    int json, follow;
    const char *args[2];
    int nargs;
} opts;

static const struct {
    const char *flag;
    size_t off;
} value_opts[] = {
#define O(f, m)              \
    {                        \
        f, offsetof(opts, m) \
    }
    O("--log", log),
    O("--pubkey", pubkey),
    O("--secret", secret),
    O("--checkpoint", checkpoint),
    O("--old-checkpoint", old),
    O("--format", format),
    O("--out", out),
    O("--to", to),
    O("--ca", ca),
    O("--cert", cert),
    O("--key", key),
    O("--since", since),
    O("--until", until),
    O("--user", user),
    O("--action", action),
    O("--actor", actor),
    O("--role", role),
    O("--purpose", purpose),
    O("--client", client),
    O("--session", session),
    O("--detail", detail),
    O("--outcome", outcome),
    O("--name", name),
    O("--entry", entry),
    O("--count", count),
    O("--threads", threads),
    O("--checkpoint-every", every),
    O("--out-secret", secret),
    O("--out-pubkey", pubkey),
    O("--vault", vault),
    O("--patient-id", patient_id),
    O("--key-file", key_file),
    O("--passphrase-env", pass_env),
#undef O
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dcmvault audit SUBCOMMAND [OPTIONS]\n"
            "  show --log DIR [--since T] [--until T] [--user U] [--action A] [--json]\n"
            "  show --vault DIR [--patient-id X] [...]  the privacy officer's view (logged in):\n"
            "       the read is recorded first; patients are named instead of pseudonyms\n"
            "  verify --log DIR --pubkey FILE [--checkpoint OLDFILE]\n"
            "  checkpoint --log DIR\n"
            "  prove --log DIR --entry N [--checkpoint FILE]\n"
            "  consistency --log DIR OLD NEW          (two checkpoint files)\n"
            "  check-proof --pubkey FILE --checkpoint FILE [--old-checkpoint FILE] PROOF\n"
            "  export --log DIR --format dicom-xml|fhir-json [--since T] [--until T] [--out DIR]\n"
            "  forward --log DIR --to tls://HOST:PORT --ca FILE [--cert F --key F] [--follow]\n"
            "  forward --vault DIR [--follow]         to the vault's [audit] syslog collector\n"
            "test and maintenance tools (never part of a vault's normal operation):\n"
            "  keygen --name ORIGIN --out-secret FILE --out-pubkey FILE\n"
            "  append --log DIR --secret FILE --action A --actor U [--role R] [--purpose P]\n"
            "         [--client C] [--session S] [--outcome 0|4|8|12] [--object TYPE:HEX64]...\n"
            "         [--detail TEXT] [--count N] [--threads T] [--checkpoint-every N]\n"
            "         [--to tls://HOST:PORT --ca FILE]   (forward from the log's own thread)\n"
            "T: YYYY-MM-DD or RFC 3339.  Exit: 0 ok, 1 verification failed, 2 usage, 3 I/O.\n"
            "docs/audit.md describes the log, the formats and every check.\n");
}

static int parse_opts(int argc, char **argv, opts *o)
{
    size_t i;
    int a;

    memset(o, 0, sizeof(*o));
    for (a = 2; a < argc; a++) {
        const char *s = argv[a];
        int done = 0;

        for (i = 0; !done && i < sizeof(value_opts) / sizeof(value_opts[0]); i++) {
            if (strcmp(s, value_opts[i].flag) != 0)
                continue;
            if (a + 1 >= argc) {
                fprintf(stderr, "dcmvault audit: %s needs a value\n", s);
                return DV_EXIT_USAGE;
            }
            *(const char **)((char *)o + value_opts[i].off) = argv[++a];
            done = 1;
        }
        if (done)
            continue;
        if (!strcmp(s, "--json"))
            o->json = 1;
        else if (!strcmp(s, "--follow"))
            o->follow = 1;
        else if (!strcmp(s, "--object") && a + 1 < argc && o->nobjects < AUDIT_MAX_OBJECTS)
            o->objects[o->nobjects++] = argv[++a];
        else if (s[0] != '-' && o->nargs < 2)
            o->args[o->nargs++] = s;
        else {
            fprintf(stderr, "dcmvault audit: unexpected argument '%s'\n", s);
            return DV_EXIT_USAGE;
        }
    }
    return DV_EXIT_OK;
}

static int fail(const char *sub, dv_err e, const dv_errinfo *ei)
{
    char cmd[64];

    (void)snprintf(cmd, sizeof(cmd), "audit %s", sub);
    cli_report(cmd, NULL, e, ei);
    return e == DV_ETAMPER ? DV_EXIT_FAIL : cli_exit_code(e);
}

static int need(const char *sub, const char *v, const char *flag)
{
    if (v)
        return 0;
    fprintf(stderr, "dcmvault audit %s: %s is required\n", sub, flag);
    return 1;
}

static dv_err read_small(const char *path, dv_buf *b, dv_errinfo *ei)
{
    FILE *f = fopen(path, "rbe");
    uint8_t tmp[4096];
    size_t n;
    dv_err e = DV_OK;

    if (!f)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "%s: cannot open", path);
    for (;;) {
        n = fread(tmp, 1, sizeof(tmp), f);
        if (e || n == 0)
            break;
        e = dv_buf_add(b, tmp, n);
    }
    if (ferror(f))
        e = DV_EIO;
    (void)fclose(f);
    return e ? dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "%s: unreadable or too large", path) : DV_OK;
}

/* ---- show and export ------------------------------------------------------------------------ */

static int make_filter(const char *sub, const opts *o, audit_filter *f)
{
    dv_errinfo ei;

    memset(f, 0, sizeof(*f));
    dv_errinfo_clear(&ei);
    f->actor = o->user;
    if (o->action) {
        f->action = audit_action_from_name(o->action);
        if (f->action == AUDIT_ACT_NONE) {
            fprintf(stderr, "dcmvault audit %s: unknown action '%s'\n", sub, o->action);
            return DV_EXIT_USAGE;
        }
    }
    if ((o->since && audit_time_parse(o->since, &f->since_ms, &ei)) ||
        (o->until && audit_time_parse(o->until, &f->until_ms, &ei))) {
        fprintf(stderr, "dcmvault audit %s: %s\n", sub, ei.msg);
        return DV_EXIT_USAGE;
    }
    if (o->until && strlen(o->until) == 10)
        f->until_ms += 86400000 - 1; /* a date means the whole day */
    return DV_EXIT_OK;
}

/* Calls fn for every entry that passes the filter. */
static int each_entry(const char *sub, const opts *o, const audit_filter *flt,
                      int (*fn)(void *ctx, const audit_record *r), void *ctx)
{
    audit_record *rec = malloc(sizeof(*rec));
    audit_reader *r = NULL;
    dv_errinfo ei;
    uint64_t i;
    dv_err e;
    int rc = DV_EXIT_OK;

    dv_errinfo_clear(&ei);
    if (!rec)
        return DV_EXIT_INTERNAL;
    e = audit_reader_open(o->log, &r, &ei);
    for (i = 0; !e && rc == DV_EXIT_OK && i < audit_reader_size(r); i++) {
        e = audit_reader_get(r, i, rec, &ei);
        if (!e && audit_filter_match(flt, rec))
            rc = fn(ctx, rec);
    }
    audit_reader_close(r);
    free(rec);
    return e ? fail(sub, e, &ei) : rc;
}

typedef struct show_ctx {
    const opts *o;
    const vault_audit_names *names; /* NULL: pseudonyms only */
} show_ctx;

static int resolve_patient(void *ctx, const audit_object *ob, char *out, size_t outlen)
{
    const show_ctx *s = ctx;
    const char *label;

    if (!s->names || ob->type != AUDIT_OBJ_PATIENT)
        return 0;
    label = vault_audit_name(s->names, ob->pseudonym);
    if (!label)
        return 0;
    (void)snprintf(out, outlen, "%s", label);
    return 1;
}

static int show_one(void *ctx, const audit_record *r)
{
    const show_ctx *s = ctx;
    const opts *o = s->o;
    dv_buf b;
    dv_err e;

    dv_buf_init(&b, 1 << 16);
    e = o->json ? audit_format_json(r, resolve_patient, ctx, &b)
                : audit_format_text(r, resolve_patient, ctx, &b);
    if (!e)
        printf("%s\n", (const char *)b.p);
    dv_buf_release(&b);
    return e ? DV_EXIT_INTERNAL : DV_EXIT_OK;
}

/* show --vault: the privacy officer's view through the one door. */
static int show_vault(const opts *o, audit_filter *f)
{
    cli_vault_opts vo = {o->vault, o->key_file, o->pass_env};
    show_ctx s = {NULL, NULL};
    vault_audit_names *names = NULL;
    uint8_t pseud[32];
    char logdir[4096];
    cli_session ss;
    opts o2 = *o;
    vault *v = NULL;
    dv_errinfo ei;
    int rc, have = 0;
    dv_err e;

    rc = cli_session_ctx("audit", o->vault, "HOPERAT", &ss);
    if (rc)
        return rc;
    rc = cli_vault_open("audit", &vo, &v);
    if (rc) {
        cli_session_wipe(&ss);
        return rc;
    }
    dv_errinfo_clear(&ei);
    e = vault_audit_read(v, &ss.ctx, o->patient_id, pseud, &have, &names, &ei);
    cli_session_wipe(&ss);
    if (!e && snprintf(logdir, sizeof(logdir), "%s/audit", vault_dir(v)) >= (int)sizeof(logdir))
        e = dv_fail(&ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "vault path too long");
    vault_close(v); /* the read is on the record; the log is read as files from here */
    if (e) {
        vault_audit_names_free(names);
        return fail("show", e, &ei);
    }
    if (have)
        f->pseudonym = pseud;
    o2.log = logdir;
    s.o = &o2;
    s.names = names;
    rc = each_entry("show", &o2, f, show_one, &s);
    f->pseudonym = NULL; /* pseud lives in this frame */
    vault_audit_names_free(names);
    return rc;
}

static int cmd_show(const opts *o)
{
    show_ctx s = {o, NULL};
    audit_filter f;
    int rc;

    rc = make_filter("show", o, &f);
    if (rc)
        return rc;
    if (o->vault)
        return show_vault(o, &f);
    if (o->patient_id) {
        fprintf(stderr, "dcmvault audit show: --patient-id needs --vault (the privacy officer's "
                        "view)\n");
        return DV_EXIT_USAGE;
    }
    if (need("show", o->log, "--log"))
        return DV_EXIT_USAGE;
    return each_entry("show", o, &f, show_one, &s);
}

typedef struct export_ctx {
    const opts *o;
    int fhir;
    size_t n;
} export_ctx;

static int export_one(void *ctx, const audit_record *r)
{
    export_ctx *x = ctx;
    char path[4200];
    dv_buf b;
    dv_err e;
    FILE *f;

    dv_buf_init(&b, 1 << 16);
    e = x->fhir ? audit_format_fhir(r, "dcmvault", &b) : audit_format_dicom_xml(r, "dcmvault", &b);
    if (e) {
        dv_buf_release(&b);
        return DV_EXIT_INTERNAL;
    }
    if (x->fhir) {
        printf("%s{\"fullUrl\":\"urn:dcmvault:audit:%llu\",\"resource\":%s}", x->n ? "," : "",
               (unsigned long long)r->seq, (const char *)b.p);
    } else if (x->o->out) {
        (void)snprintf(path, sizeof(path), "%s/%012llu.xml", x->o->out, (unsigned long long)r->seq);
        f = fopen(path, "we");
        if (!f ||
            fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n%s\n", (const char *)b.p) < 0) {
            if (f)
                (void)fclose(f);
            dv_buf_release(&b);
            fprintf(stderr, "dcmvault audit export: cannot write %s\n", path);
            return DV_EXIT_IO;
        }
        if (fclose(f) != 0) {
            dv_buf_release(&b);
            return DV_EXIT_IO;
        }
    } else {
        printf("%s\n", (const char *)b.p);
    }
    x->n++;
    dv_buf_release(&b);
    return DV_EXIT_OK;
}

static int cmd_audit_export(const opts *o)
{
    export_ctx x = {o, 0, 0};
    audit_filter f;
    int rc;

    if (need("export", o->log, "--log") || need("export", o->format, "--format"))
        return DV_EXIT_USAGE;
    if (strcmp(o->format, "dicom-xml") != 0 && strcmp(o->format, "fhir-json") != 0) {
        fprintf(stderr, "dcmvault audit export: --format is dicom-xml or fhir-json\n");
        return DV_EXIT_USAGE;
    }
    x.fhir = !strcmp(o->format, "fhir-json");
    rc = make_filter("export", o, &f);
    if (rc)
        return rc;
    if (o->out && !x.fhir && mkdir(o->out, 0700) != 0) {
        struct stat st;

        if (stat(o->out, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "dcmvault audit export: cannot create %s\n", o->out);
            return DV_EXIT_IO;
        }
    }
    if (x.fhir)
        printf("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[");
    rc = each_entry("export", o, &f, export_one, &x);
    if (x.fhir)
        printf("]}\n");
    return rc;
}

/* ---- verify, checkpoint, proofs -------------------------------------------------------------- */

static int cmd_audit_verify(const opts *o)
{
    audit_verify_report rep;
    audit_vkey vk;
    dv_errinfo ei;
    dv_buf old;
    dv_err e;

    if (need("verify", o->log, "--log") || need("verify", o->pubkey, "--pubkey"))
        return DV_EXIT_USAGE;
    dv_errinfo_clear(&ei);
    dv_buf_init(&old, AUDIT_NOTE_MAX);
    e = audit_vkey_load(o->pubkey, &vk, &ei);
    if (!e && o->checkpoint)
        e = read_small(o->checkpoint, &old, &ei);
    if (!e)
        e = audit_verify(o->log, &vk, o->checkpoint ? old.p : NULL, old.len, &rep, &ei);
    dv_buf_release(&old);
    if (e == DV_ETAMPER) {
        printf("FAILED: %s\n", rep.msg);
        return DV_EXIT_FAIL;
    }
    if (e)
        return fail("verify", e, &ei);
    printf("OK: %llu entries, %llu checkpoints and %llu tile hashes verified with key %s\n",
           (unsigned long long)rep.entries, (unsigned long long)rep.checkpoints,
           (unsigned long long)rep.tiles, vk.name);
    if (rep.torn_bytes)
        printf("note: %llu bytes of an unfinished record after the last entry (a crash; cut at "
               "the next open)\n",
               (unsigned long long)rep.torn_bytes);
    if (rep.short_tiles)
        printf("note: %llu tile hashes not yet written (a crash; written at the next open)\n",
               (unsigned long long)rep.short_tiles);
    return DV_EXIT_OK;
}

static int cmd_checkpoint(const opts *o)
{
    audit_reader *r = NULL;
    dv_errinfo ei;
    dv_buf b;
    dv_err e;

    if (need("checkpoint", o->log, "--log"))
        return DV_EXIT_USAGE;
    dv_errinfo_clear(&ei);
    dv_buf_init(&b, AUDIT_NOTE_MAX);
    e = audit_reader_open(o->log, &r, &ei);
    if (!e)
        e = audit_reader_checkpoint(r, &b, &ei);
    if (!e)
        (void)fwrite(b.p, 1, b.len, stdout);
    audit_reader_close(r);
    dv_buf_release(&b);
    return e ? fail("checkpoint", e, &ei) : DV_EXIT_OK;
}

/* Parses a checkpoint file (signature not checked: the proof's verifier does that) and checks
 * that the log reproduces its root. */
static dv_err load_cp(audit_reader *r, const char *path, audit_checkpoint *cp, dv_errinfo *ei)
{
    uint8_t root[AUDIT_HASH_BYTES];
    dv_buf b;
    dv_err e;

    dv_buf_init(&b, AUDIT_NOTE_MAX);
    e = path ? read_small(path, &b, ei) : audit_reader_checkpoint(r, &b, ei);
    if (!e)
        e = audit_note_open(b.p, b.len, NULL, cp, ei);
    dv_buf_release(&b);
    if (!e)
        e = audit_reader_root(r, cp->size, root, ei);
    if (!e && sodium_memcmp(root, cp->root, AUDIT_HASH_BYTES) != 0)
        e = dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                    "the log does not reproduce the checkpoint's root (run audit verify)");
    return e;
}

static int print_proof(const audit_proof *pf)
{
    dv_buf b;
    dv_err e;

    dv_buf_init(&b, 1 << 20);
    e = audit_proof_format(pf, &b);
    if (!e)
        (void)fwrite(b.p, 1, b.len, stdout);
    dv_buf_release(&b);
    return e ? DV_EXIT_INTERNAL : DV_EXIT_OK;
}

static int cmd_prove(const opts *o)
{
    audit_proof *pf = calloc(1, sizeof(*pf));
    audit_reader *r = NULL;
    audit_checkpoint cp = {0};
    unsigned long long idx;
    char *end;
    dv_errinfo ei;
    dv_err e;
    int rc;

    if (!pf || need("prove", o->log, "--log") || need("prove", o->entry, "--entry")) {
        free(pf);
        return pf ? DV_EXIT_USAGE : DV_EXIT_INTERNAL;
    }
    idx = strtoull(o->entry, &end, 10);
    if (*end || end == o->entry) {
        free(pf);
        return fail("prove", DV_EINVAL, NULL);
    }
    dv_errinfo_clear(&ei);
    e = audit_reader_open(o->log, &r, &ei);
    if (!e)
        e = load_cp(r, o->checkpoint, &cp, &ei);
    if (!e)
        e = audit_inclusion_proof(r, idx, cp.size, pf, &ei);
    audit_reader_close(r);
    rc = e ? fail("prove", e, &ei) : print_proof(pf);
    free(pf);
    return rc;
}

static int cmd_consistency(const opts *o)
{
    audit_proof *pf = calloc(1, sizeof(*pf));
    audit_reader *r = NULL;
    audit_checkpoint c1, c2;
    dv_errinfo ei;
    dv_err e;
    int rc;

    if (!pf || need("consistency", o->log, "--log") || o->nargs != 2) {
        free(pf);
        if (pf)
            fprintf(stderr, "dcmvault audit consistency: needs --log DIR OLD NEW\n");
        return pf ? DV_EXIT_USAGE : DV_EXIT_INTERNAL;
    }
    dv_errinfo_clear(&ei);
    e = audit_reader_open(o->log, &r, &ei);
    if (!e)
        e = load_cp(r, o->args[0], &c1, &ei);
    if (!e)
        e = load_cp(r, o->args[1], &c2, &ei);
    pf->kind = 'C';
    if (!e) {
        pf->old_size = c1.size;
        pf->size = c2.size;
        e = audit_reader_consistency(r, c1.size, c2.size, pf->proof, &pf->nproof, &ei);
    }
    audit_reader_close(r);
    rc = e ? fail("consistency", e, &ei) : print_proof(pf);
    free(pf);
    return rc;
}

static dv_err open_cp_file(const char *path, const audit_vkey *vk, audit_checkpoint *cp,
                           dv_errinfo *ei)
{
    dv_buf b;
    dv_err e;

    dv_buf_init(&b, AUDIT_NOTE_MAX);
    e = read_small(path, &b, ei);
    if (!e)
        e = audit_note_open(b.p, b.len, vk, cp, ei);
    dv_buf_release(&b);
    return e;
}

static int cmd_check_proof(const opts *o)
{
    audit_proof *pf = calloc(1, sizeof(*pf));
    audit_checkpoint cp, old;
    audit_vkey vk;
    dv_errinfo ei;
    dv_buf b;
    dv_err e;

    if (!pf || need("check-proof", o->pubkey, "--pubkey") ||
        need("check-proof", o->checkpoint, "--checkpoint") || o->nargs != 1) {
        free(pf);
        return pf ? DV_EXIT_USAGE : DV_EXIT_INTERNAL;
    }
    dv_errinfo_clear(&ei);
    dv_buf_init(&b, 1 << 17);
    e = audit_vkey_load(o->pubkey, &vk, &ei);
    if (!e)
        e = open_cp_file(o->checkpoint, &vk, &cp, &ei);
    if (!e && o->old)
        e = open_cp_file(o->old, &vk, &old, &ei);
    if (!e)
        e = read_small(o->args[0], &b, &ei);
    if (!e)
        e = audit_proof_parse(b.p, b.len, pf, &ei);
    if (!e)
        e = audit_proof_check(pf, o->old ? &old : NULL, &cp, &ei);
    dv_buf_release(&b);
    free(pf);
    if (e)
        return fail("check-proof", e == DV_ECRYPTO ? DV_ETAMPER : e, &ei);
    printf("OK\n");
    return DV_EXIT_OK;
}

/* ---- test/maintenance tools ------------------------------------------------------------------ */

static int cmd_keygen(const opts *o)
{
    dv_errinfo ei;
    dv_err e;

    if (need("keygen", o->name, "--name") || need("keygen", o->secret, "--out-secret") ||
        need("keygen", o->pubkey, "--out-pubkey"))
        return DV_EXIT_USAGE;
    dv_errinfo_clear(&ei);
    e = audit_keygen(o->name, o->secret, o->pubkey, &ei);
    return e ? fail("keygen", e, &ei) : DV_EXIT_OK;
}

typedef struct appender {
    audit_log *log;
    const audit_event *ev;
    unsigned long long count;
    pthread_mutex_t *out_mu;
    dv_err e;
    dv_errinfo ei;
} appender;

/* Appends its share of events, printing each sequence number once it is durable. */
static void *append_main(void *arg)
{
    appender *a = arg;
    unsigned long long i;
    uint64_t seq;

    dv_errinfo_clear(&a->ei);
    for (i = 0; i < a->count && !a->e; i++) {
        a->e = audit_append(a->log, a->ev, &seq, &a->ei);
        if (a->e)
            break;
        (void)pthread_mutex_lock(a->out_mu);
        printf("%llu\n", (unsigned long long)seq);
        (void)fflush(stdout);
        (void)pthread_mutex_unlock(a->out_mu);
    }
    return NULL;
}

static int run_appenders(audit_log *log, const audit_event *ev, unsigned long long count,
                         unsigned threads)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    appender *a = calloc(threads, sizeof(*a));
    pthread_t *th = calloc(threads, sizeof(*th));
    unsigned i, started = 0;
    int rc = DV_EXIT_OK;

    for (i = 0; a && th && i < threads; i++) {
        a[i].log = log;
        a[i].ev = ev;
        a[i].count = count / threads + (i < count % threads);
        a[i].out_mu = &mu;
        if (pthread_create(&th[i], NULL, append_main, &a[i]) != 0)
            break;
        started++;
    }
    for (i = 0; i < started; i++)
        (void)pthread_join(th[i], NULL);
    if (!a || !th || started < threads)
        rc = DV_EXIT_INTERNAL;
    for (i = 0; rc == DV_EXIT_OK && i < threads; i++)
        if (a[i].e)
            rc = fail("append", a[i].e, &a[i].ei);
    free(a);
    free(th);
    return rc;
}

static int cmd_audit_append(const opts *o, const audit_event *ev, unsigned long long count,
                            unsigned threads)
{
    char name[AUDIT_ORIGIN_MAX + 1];
    uint8_t seed[AUDIT_SIGN_SEED_BYTES];
    audit_log_cfg cfg;
    audit_syslog_cfg scfg;
    audit_log *log = NULL;
    dv_errinfo ei;
    dv_err e;
    int rc;

    dv_errinfo_clear(&ei);
    memset(&scfg, 0, sizeof(scfg));
    scfg.url = o->to;
    scfg.ca_file = o->ca;
    scfg.cert_file = o->cert;
    scfg.key_file = o->key;
    e = audit_event_check(ev, &ei);
    if (!e)
        e = audit_secret_load(o->secret, name, seed, &ei);
    if (e)
        return fail("append", e, &ei);
    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = o->log;
    cfg.origin = name;
    cfg.sign_seed = seed;
    cfg.checkpoint_every = o->every ? (uint32_t)strtoul(o->every, NULL, 10) : 0;
    cfg.syslog = o->to ? &scfg : NULL; /* the log's own forwarder thread */
    e = audit_log_open(&cfg, &log, NULL, &ei);
    sodium_memzero(seed, sizeof(seed));
    if (e)
        return fail("append", e, &ei);
    rc = run_appenders(log, ev, count, threads);
    e = audit_log_close(log, &ei);
    if (e && rc == DV_EXIT_OK)
        rc = fail("append", e, &ei);
    return rc;
}

static int cmd_append(const opts *o)
{
    audit_object objs[AUDIT_MAX_OBJECTS];
    audit_event ev;
    size_t i;
    char *end;
    unsigned long long count = 1, threads = 1;

    if (need("append", o->log, "--log") || need("append", o->secret, "--secret") ||
        need("append", o->action, "--action") || need("append", o->actor, "--actor"))
        return DV_EXIT_USAGE;
    memset(&ev, 0, sizeof(ev));
    ev.action = audit_action_from_name(o->action);
    ev.outcome = o->outcome ? (audit_outcome)strtoul(o->outcome, &end, 10) : AUDIT_OUT_SUCCESS;
    ev.actor = o->actor;
    ev.role = o->role;
    ev.purpose = o->purpose;
    ev.client = o->client;
    ev.session = o->session;
    ev.detail = o->detail;
    for (i = 0; i < o->nobjects; i++) {
        const char *c = strchr(o->objects[i], ':');
        char type[16];
        size_t bl = 0;

        if (!c || (size_t)(c - o->objects[i]) >= sizeof(type))
            return fail("append", DV_EINVAL, NULL);
        memcpy(type, o->objects[i], (size_t)(c - o->objects[i]));
        type[c - o->objects[i]] = 0;
        objs[i].type = audit_obj_type_from_name(type);
        if (!objs[i].type || strlen(c + 1) != 64 ||
            sodium_hex2bin(objs[i].pseudonym, 32, c + 1, 64, NULL, &bl, NULL) != 0 || bl != 32) {
            fprintf(stderr, "dcmvault audit append: --object TYPE:64-HEX-DIGITS\n");
            return DV_EXIT_USAGE;
        }
    }
    ev.objects = objs;
    ev.nobjects = o->nobjects;
    if (o->count)
        count = strtoull(o->count, &end, 10);
    if (o->threads)
        threads = strtoull(o->threads, &end, 10);
    if (!count || !threads || threads > 512)
        return fail("append", DV_EINVAL, NULL);
    if (!audit_action_get(ev.action)) {
        fprintf(stderr, "dcmvault audit append: unknown action '%s'\n", o->action);
        return DV_EXIT_USAGE;
    }
    return cmd_audit_append(o, &ev, count, (unsigned)threads);
}

static int cmd_forward(const opts *in)
{
    audit_syslog_cfg cfg;
    vault_forward_cfg vf;
    dv_errinfo ei;
    uint64_t sent = 0, next = 0;
    opts vo = *in;
    const opts *o = &vo;
    dv_err e;

    if (in->vault && !in->to) { /* the vault's [audit] section names the collector */
        dv_errinfo_clear(&ei);
        e = vault_forward_target(in->vault, &vf, &ei);
        if (e)
            return fail("forward", e, &ei);
        vo.log = vf.log;
        vo.to = vf.url;
        vo.ca = vf.ca;
        vo.cert = vf.cert[0] ? vf.cert : NULL;
        vo.key = vf.key[0] ? vf.key : NULL;
    }
    if (need("forward", o->log, "--log") || need("forward", o->to, "--to") ||
        need("forward", o->ca, "--ca"))
        return DV_EXIT_USAGE;
    memset(&cfg, 0, sizeof(cfg));
    cfg.url = o->to;
    cfg.ca_file = o->ca;
    cfg.cert_file = o->cert;
    cfg.key_file = o->key;
    dv_errinfo_clear(&ei);
    e = audit_forward_pass(o->log, &cfg, &sent, &ei);
    while (o->follow) { /* polls once a second; runs until killed */
        (void)sleep(1);
        e = audit_forward_pass(o->log, &cfg, &sent, &ei);
        if (e)
            cli_report("audit forward", NULL, e, &ei);
    }
    if (!e)
        e = audit_forward_state(o->log, &cfg, &next, &ei);
    if (e)
        return fail("forward", e, &ei);
    printf("forwarded %llu entries; next %llu\n", (unsigned long long)sent,
           (unsigned long long)next);
    return DV_EXIT_OK;
}

int cmd_audit(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(const opts *o);
    } subs[] = {
        {"show", cmd_show},
        {"verify", cmd_audit_verify},
        {"checkpoint", cmd_checkpoint},
        {"prove", cmd_prove},
        {"consistency", cmd_consistency},
        {"check-proof", cmd_check_proof},
        {"export", cmd_audit_export},
        {"forward", cmd_forward},
        {"keygen", cmd_keygen},
        {"append", cmd_append},
    };
    opts o;
    size_t i;
    int rc;

    if (argc < 2 || cli_wants_help(argc, argv)) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? DV_EXIT_USAGE : DV_EXIT_OK;
    }
    if (sodium_init() < 0)
        return DV_EXIT_INTERNAL;
    rc = parse_opts(argc, argv, &o);
    if (rc)
        return rc;
    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (!strcmp(argv[1], subs[i].name))
            return subs[i].fn(&o);
    fprintf(stderr, "dcmvault audit: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return DV_EXIT_USAGE;
}
