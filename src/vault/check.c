/* SPDX-License-Identifier: Apache-2.0 */
/* check.c - `dcmvault check [--repair]`: every study's data key unwraps, every sealed record
 * opens, every instance's object is there and opens and authenticates under its key; no object
 * without an index row (orphans, e.g. after a crash mid-import); no leftover temporary files.
 * Problems are named by index id and object key, never by patient data.  Repair removes
 * orphans and temporary files only (it never deletes an index row).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/access.h"
#include "vault/vault_int.h"

#include "common/banned.h"

typedef struct keyset {
    char (*k)[INDEX_KEY_LEN + 1];
    size_t n, cap;
} keyset;

static dv_err keyset_add(keyset *s, const char *key)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        char(*n)[INDEX_KEY_LEN + 1] = realloc(s->k, cap * sizeof(*n));

        if (!n)
            return DV_ENOMEM;
        s->k = n;
        s->cap = cap;
    }
    (void)snprintf(s->k[s->n], sizeof(s->k[0]), "%s", key);
    s->n++;
    return DV_OK;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

typedef struct check_state {
    vault *v;
    vault_problem_fn fn;
    void *cb;
    vault_check_result *res;
    keyset known;   /* object keys the index refers to */
    keyset orphans; /* store keys without a row */
    index_row *studies;
    size_t nstudies, cap_studies;
} check_state;

static void problem(check_state *s, const char *kind, int64_t id, const char *key,
                    const dv_errinfo *ei)
{
    if (s->fn)
        s->fn(s->cb, kind, id, key ? key : "", ei && ei->msg[0] ? ei->msg : "failed");
}

/* index rows are only valid until the next index call: keep what check needs */
static dv_err keep_study(void *cb, const index_row *row)
{
    check_state *s = cb;
    index_row *r;

    if (s->nstudies == s->cap_studies) {
        size_t cap = s->cap_studies ? s->cap_studies * 2 : 64;
        index_row *n = realloc(s->studies, cap * sizeof(*n));

        if (!n)
            return DV_ENOMEM;
        s->studies = n;
        s->cap_studies = cap;
    }
    r = &s->studies[s->nstudies++];
    *r = *row;
    r->patient_seal.p = NULL; /* seals are checked per instance row below */
    r->study_seal.p = NULL;
    return DV_OK;
}

typedef struct inst_copy {
    index_row row;
    uint8_t *seals; /* patient | study | series | instance seal bytes */
} inst_copy;

typedef struct inst_vec {
    inst_copy *c;
    size_t n, cap;
} inst_vec;

static dv_err keep_inst(void *cb, const index_row *row)
{
    inst_vec *v = cb;
    inst_copy *c;
    size_t total =
        row->patient_seal.len + row->study_seal.len + row->series_seal.len + row->instance_seal.len;
    uint8_t *p;

    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        inst_copy *n = realloc(v->c, cap * sizeof(*n));

        if (!n)
            return DV_ENOMEM;
        v->c = n;
        v->cap = cap;
    }
    c = &v->c[v->n];
    c->row = *row;
    c->seals = malloc(total ? total : 1);
    if (!c->seals)
        return DV_ENOMEM;
    p = c->seals;
#define KEEP(f)                              \
    do {                                     \
        if (row->f.len)                      \
            memcpy(p, row->f.p, row->f.len); \
        c->row.f.p = p;                      \
        p += row->f.len;                     \
    } while (0)
    KEEP(patient_seal);
    KEEP(study_seal);
    KEEP(series_seal);
    KEEP(instance_seal);
#undef KEEP
    v->n++;
    return DV_OK;
}

static void check_records(check_state *s, const index_row *r)
{
    static const char *const kinds[] = {"patient", "study", "series", "instance"};
    const uint8_t *bis[] = {r->patient_bi, r->study_bi, r->series_bi, r->sop_bi};
    const index_bytes *seals[] = {&r->patient_seal, &r->study_seal, &r->series_seal,
                                  &r->instance_seal};
    dv_errinfo ei;
    vault_rec rec;
    size_t i;

    for (i = 0; i < 4; i++) {
        dv_errinfo_clear(&ei);
        if (vault_open_rec(s->v, kinds[i], bis[i], seals[i]->p, seals[i]->len, &rec, &ei)) {
            s->res->bad_records++;
            (void)dv_fail(&ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                          "the sealed %s record of this instance does not open", kinds[i]);
            problem(s, "record", r->instance_id, r->object_key, &ei);
        }
        vault_rec_free(&rec);
    }
}

static dv_err check_study(check_state *s, const index_row *st, dv_errinfo *ei)
{
    inst_vec iv = {NULL, 0, 0};
    crypto_key dek;
    dv_errinfo pe;
    dv_buf pt;
    size_t i;
    dv_err e;
    int have_dek;

    dv_errinfo_clear(&pe);
    have_dek = vault_study_dek(s->v, st, &dek, &pe) == DV_OK;
    if (!have_dek) {
        s->res->bad_records++;
        problem(s, "record", 0, "", &pe);
    }
    e = index_instance_list(s->v->db, st->study_id, 0, keep_inst, &iv, ei);
    dv_buf_init(&pt, VAULT_IMPORT_MAX);
    for (i = 0; !e && i < iv.n; i++) {
        const index_row *r = &iv.c[i].row;

        e = keyset_add(&s->known, r->object_key);
        check_records(s, r);
        dv_buf_reset(&pt);
        dv_errinfo_clear(&pe);
        if (!e && (!have_dek || vault_object_open(s->v, &dek, r->instance_id, r->object_key, &pt,
                                                  &pe) != DV_OK)) {
            s->res->bad_objects++;
            problem(s, "object", r->instance_id, r->object_key, &pe);
        }
    }
    dv_buf_release(&pt);
    for (i = 0; i < iv.n; i++)
        free(iv.c[i].seals);
    free(iv.c);
    crypto_key_wipe(&dek);
    return e;
}

static dv_err on_store_key(void *cb, const char *key, uint64_t size)
{
    check_state *s = cb;

    (void)size;
    if (s->known.n && bsearch(key, s->known.k, s->known.n, sizeof(s->known.k[0]), key_cmp) != NULL)
        return DV_OK;
    return keyset_add(&s->orphans, key);
}

/* Leftover temporary files: the store's (DIR/tmp, the local backend's folder; the store
 * removes them with store_sweep_tmp) and the vault's own (DIR/<name>.tmp.*, keys.sealed.new
 * that a rotation did not commit, which vault_open would otherwise ignore). */
static uint64_t count_tmp(const char *dir, int remove_own)
{
    char sub[VAULT_PATH_MAX], p[VAULT_PATH_MAX];
    struct dirent *de;
    uint64_t n = 0;
    DIR *d;

    d = vault_path(sub, sizeof(sub), dir, "tmp") ? NULL : opendir(sub);
    for (de = d ? vault_readdir(d) : NULL; de; de = vault_readdir(d))
        n += de->d_name[0] != '.';
    if (d)
        (void)closedir(d);
    d = opendir(dir);
    if (!d)
        return n;
    for (de = vault_readdir(d); de; de = vault_readdir(d)) {
        if (!strstr(de->d_name, ".tmp.") && strcmp(de->d_name, VAULT_KEYS_NAME ".new") != 0)
            continue;
        n++;
        if (remove_own && !vault_path(p, sizeof(p), dir, de->d_name))
            (void)unlink(p);
    }
    (void)closedir(d);
    return n;
}

static dv_err check_store(check_state *s, int repair, dv_errinfo *ei)
{
    dv_errinfo pe;
    unsigned swept = 0;
    size_t i;
    dv_err e;

    if (s->known.n)
        qsort(s->known.k, s->known.n, sizeof(s->known.k[0]), key_cmp);
    e = store_list(s->v->st, on_store_key, s, ei);
    for (i = 0; !e && i < s->orphans.n; i++) {
        dv_errinfo_clear(&pe);
        (void)dv_fail(&pe, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG,
                      repair ? "object without an index row: removed"
                             : "object without an index row (check --repair removes it)");
        s->res->orphans++;
        problem(s, "orphan", 0, s->orphans.k[i], &pe);
        if (repair && store_del(s->v->st, s->orphans.k[i], NULL) == DV_OK)
            s->res->repaired++;
    }
    if (e)
        return e;
    s->res->tmp_files = count_tmp(s->v->dir, repair);
    if (s->res->tmp_files) {
        dv_errinfo_clear(&pe);
        (void)dv_fail(&pe, DV_EEXIST, DV_NO_OFFSET, DV_NO_TAG, "%llu leftover temporary file(s)%s",
                      (unsigned long long)s->res->tmp_files, repair ? ": removed" : "");
        problem(s, "tmp", 0, "", &pe);
    }
    if (repair && s->res->tmp_files) {
        e = store_sweep_tmp(s->v->st, &swept, ei);
        s->res->repaired += s->res->tmp_files;
    }
    return e;
}

dv_err vault_check(vault *v, const vault_ctx *ctx, int repair, vault_problem_fn fn, void *cb,
                   vault_check_result *res, dv_errinfo *ei)
{
    check_state s;
    index_counts c;
    index_query q;
    size_t i;
    dv_err e;

    memset(res, 0, sizeof(*res));
    memset(&s, 0, sizeof(s));
    s.v = v;
    s.fn = fn;
    s.cb = cb;
    s.res = res;
    e = vault_door(v, ctx, repair ? ACCESS_CONFIG : ACCESS_HEALTH, NULL,
                   repair ? "check-repair" : "check", NULL, ei);
    if (!e)
        e = index_count(v->db, &c, ei);
    if (!e) {
        res->patients = c.patients;
        res->studies = c.studies;
        res->series = c.series;
        res->instances = c.instances;
        res->bytes = c.bytes;
        res->certs = c.certs;
        memset(&q, 0, sizeof(q));
        q.level = INDEX_LEVEL_STUDY;
        e = index_find(v->db, &q, keep_study, &s, NULL, ei);
    }
    for (i = 0; !e && i < s.nstudies; i++)
        e = check_study(&s, &s.studies[i], ei);
    if (!e)
        e = check_store(&s, repair, ei);
    free(s.studies);
    free(s.known.k);
    free(s.orphans.k);
    return e;
}
