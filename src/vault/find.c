/* SPDX-License-Identifier: Apache-2.0 */
/* find.c - queries: filters become blind indexes for the index, the rows that come back are
 * opened (sealed records decrypted) and filtered exactly, then handed to the caller.
 *
 * Exact filters (PatientID, normalised name token, accession, UIDs) are blind-index matches.
 * A study-date range becomes the list of its year-month buckets (when at most INDEX_LIST_MAX),
 * then each row's decrypted StudyDate is compared exactly.  A wildcard name cannot use a blind
 * index: the patients matching the other filters are decrypted (at most
 * VAULT_NAME_CANDIDATES_MAX of them, else DV_ELIMIT) and matched against the pattern, then the
 * query runs once per matching patient.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "vault/gate.h"
#include "vault/vault_int.h"

#include "common/banned.h"

#define T_PATIENT_NAME  0x00100010u
#define T_PATIENT_ID    0x00100020u
#define T_BIRTH_DATE    0x00100030u
#define T_SEX           0x00100040u
#define T_STUDY_UID     0x0020000Du
#define T_SERIES_UID    0x0020000Eu
#define T_SOP_UID       0x00080018u
#define T_STUDY_DATE    0x00080020u
#define T_STUDY_TIME    0x00080030u
#define T_ACCESSION     0x00080050u
#define T_INSTITUTION   0x00080080u
#define T_REFERRING     0x00080090u
#define T_STUDY_DESC    0x00081030u
#define T_SERIES_DESC   0x0008103Eu
#define T_STUDY_ID      0x00200010u
#define T_SERIES_NUMBER 0x00200011u
#define T_INST_NUMBER   0x00200013u

typedef struct id_set {
    int64_t *v;
    size_t n, cap;
} id_set;

/* Inserts id; returns 1 when it was new, 0 when present, -1 out of memory. */
static int id_set_add(id_set *s, int64_t id)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (s->v[mid] == id)
            return 0;
        if (s->v[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        int64_t *n = realloc(s->v, cap * sizeof(*n));

        if (!n)
            return -1;
        s->v = n;
        s->cap = cap;
    }
    memmove(s->v + lo + 1, s->v + lo, (s->n - lo) * sizeof(*s->v));
    s->v[lo] = id;
    s->n++;
    return 1;
}

typedef struct find_state {
    vault *v;
    const vault_view_filter *vf; /* rows the session may VIEW */
    const vault_query *q;
    vault_result_fn fn;
    void *cb;
    uint32_t lo, hi;
    int has_date;
    id_set seen;
    uint64_t n;
    int stopped;
    dv_errinfo *ei;
    /* wildcard pre-pass */
    const char *pattern; /* normalised */
    uint8_t *pids;       /* matching patients' blind indexes */
    size_t npids, cap_pids, candidates;
} find_state;

typedef struct recs {
    vault_rec pat, study, series, inst;
} recs;

static void recs_free(recs *r)
{
    vault_rec_free(&r->pat);
    vault_rec_free(&r->study);
    vault_rec_free(&r->series);
    vault_rec_free(&r->inst);
}

static dv_err open_recs(const vault *v, const index_row *row, recs *r, dv_errinfo *ei)
{
    dv_err e;

    memset(r, 0, sizeof(*r));
    e = vault_open_rec(v, "patient", row->patient_bi, row->patient_seal.p, row->patient_seal.len,
                       &r->pat, ei);
    if (!e && row->level >= INDEX_LEVEL_STUDY)
        e = vault_open_rec(v, "study", row->study_bi, row->study_seal.p, row->study_seal.len,
                           &r->study, ei);
    if (!e && row->level >= INDEX_LEVEL_SERIES)
        e = vault_open_rec(v, "series", row->series_bi, row->series_seal.p, row->series_seal.len,
                           &r->series, ei);
    if (!e && row->level >= INDEX_LEVEL_INSTANCE)
        e = vault_open_rec(v, "instance", row->sop_bi, row->instance_seal.p, row->instance_seal.len,
                           &r->inst, ei);
    return e;
}

static void fill_result(vault_result *o, const index_row *row, const recs *r, vault_level lv)
{
    memset(o, 0, sizeof(*o));
    o->level = lv;
    o->patient_id = row->patient_id;
    o->study_id = lv >= VAULT_LEVEL_STUDY ? row->study_id : 0;
    o->series_id = lv >= VAULT_LEVEL_SERIES ? row->series_id : 0;
    o->instance_id = lv >= VAULT_LEVEL_INSTANCE ? row->instance_id : 0;
    o->PatientName = vault_rec_get(&r->pat, T_PATIENT_NAME);
    o->PatientID = vault_rec_get(&r->pat, T_PATIENT_ID);
    o->PatientBirthDate = vault_rec_get(&r->pat, T_BIRTH_DATE);
    o->PatientSex = vault_rec_get(&r->pat, T_SEX);
    o->StudyInstanceUID = vault_rec_get(&r->study, T_STUDY_UID);
    o->StudyDate = vault_rec_get(&r->study, T_STUDY_DATE);
    o->StudyTime = vault_rec_get(&r->study, T_STUDY_TIME);
    o->AccessionNumber = vault_rec_get(&r->study, T_ACCESSION);
    o->StudyDescription = vault_rec_get(&r->study, T_STUDY_DESC);
    o->ReferringPhysicianName = vault_rec_get(&r->study, T_REFERRING);
    o->InstitutionName = vault_rec_get(&r->study, T_INSTITUTION);
    o->StudyID = vault_rec_get(&r->study, T_STUDY_ID);
    o->ModalitiesInStudy = lv >= VAULT_LEVEL_STUDY ? row->modalities : "";
    o->SeriesInstanceUID = vault_rec_get(&r->series, T_SERIES_UID);
    o->Modality = lv >= VAULT_LEVEL_SERIES ? row->modality : "";
    o->SeriesNumber = vault_rec_get(&r->series, T_SERIES_NUMBER);
    o->SeriesDescription = vault_rec_get(&r->series, T_SERIES_DESC);
    o->SOPInstanceUID = vault_rec_get(&r->inst, T_SOP_UID);
    o->InstanceNumber = vault_rec_get(&r->inst, T_INST_NUMBER);
    o->SOPClassUID = lv >= VAULT_LEVEL_INSTANCE ? row->sop_class : "";
    o->TransferSyntaxUID = lv >= VAULT_LEVEL_INSTANCE ? row->ts_uid : "";
    o->object_key = lv >= VAULT_LEVEL_INSTANCE ? row->object_key : "";
    o->frames = row->frames;
    o->size = row->size;
}

static int64_t level_id(const index_row *row, vault_level lv)
{
    switch (lv) {
    case VAULT_LEVEL_PATIENT:
        return row->patient_id;
    case VAULT_LEVEL_STUDY:
        return row->study_id;
    case VAULT_LEVEL_SERIES:
        return row->series_id;
    case VAULT_LEVEL_INSTANCE:
        return row->instance_id;
    }
    return 0;
}

static dv_err on_row(void *cb, const index_row *row)
{
    find_state *s = cb;
    vault_result res;
    recs r;
    dv_err e;
    int isnew;

    e = open_recs(s->v, row, &r, s->ei);
    if (!e && s->has_date) {
        uint32_t d = vault_date_value(vault_rec_get(&r.study, T_STUDY_DATE));

        if (!d || d < s->lo || d > s->hi) {
            recs_free(&r);
            return DV_OK;
        }
    }
    if (!e && !vault_view_allowed(s->vf, row->study_bi, row->patient_bi)) {
        recs_free(&r); /* no care relationship: the row is left out */
        return DV_OK;
    }
    isnew = e ? 0 : id_set_add(&s->seen, level_id(row, s->q->level));
    if (isnew < 0)
        e = dv_fail(s->ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    if (!e && isnew == 1) {
        fill_result(&res, row, &r, s->q->level);
        e = s->fn(s->cb, &res);
        s->n++;
        if (!e && s->q->limit && s->n >= s->q->limit) {
            s->stopped = 1;
            e = DV_ELIMIT;
        }
    }
    recs_free(&r);
    return e;
}

/* ---- the query ---------------------------------------------------------------------------- */

typedef struct qbufs {
    uint8_t pid[INDEX_BI_BYTES], acc[INDEX_BI_BYTES], study[INDEX_BI_BYTES];
    uint8_t series[INDEX_BI_BYTES], sop[INDEX_BI_BYTES];
    uint8_t names[INDEX_NAME_BI_MAX * INDEX_BI_BYTES];
    uint8_t *months;
    char modality[INDEX_MODALITY_MAX + 1];
} qbufs;

/* Exact name: the normalised value of each '=' group is one token to match. */
static dv_err exact_name(vault *v, const char *name, index_query *iq, qbufs *b)
{
    dv_buf norm;
    size_t i = 0, len = strlen(name);
    dv_err e = DV_OK;

    dv_buf_init(&norm, (size_t)VAULT_REC_VALUE_MAX * 4);
    while (!e && i <= len && iq->n_names < INDEX_NAME_BI_MAX) {
        const char *g = name + i;
        const char *end = strchr(g, '=');
        size_t glen = end ? (size_t)(end - g) : strlen(g);

        dv_buf_reset(&norm);
        e = vault_norm_name(g, glen, &norm);
        if (!e && norm.len) {
            norm.p[norm.len] = 0;
            vault_blind(v, "name", (const char *)norm.p, b->names + iq->n_names * INDEX_BI_BYTES);
            iq->n_names++;
        }
        if (!end)
            break;
        i += glen + 1;
    }
    dv_buf_release(&norm);
    if (!e && iq->n_names == 0)
        e = DV_EINVAL;
    iq->name_bis = b->names;
    return e;
}

static dv_err date_filter(vault *v, find_state *s, index_query *iq, qbufs *b, dv_errinfo *ei)
{
    uint32_t *months;
    size_t n = 0, i;
    char m[16];
    dv_err e;

    if (vault_date_range(s->q->study_date, &s->lo, &s->hi))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "--study-date: want YYYYMMDD, YYYYMMDD-YYYYMMDD, -YYYYMMDD or YYYYMMDD-");
    s->has_date = 1;
    months = calloc(INDEX_LIST_MAX, sizeof(*months));
    b->months = malloc((size_t)INDEX_LIST_MAX * INDEX_BI_BYTES);
    if (!months || !b->months) {
        free(months);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    }
    e = vault_date_months(s->lo ? s->lo : 10101, s->hi, months, INDEX_LIST_MAX, &n);
    if (e == DV_OK) { /* else too many months: filter by the decrypted date only */
        for (i = 0; i < n; i++) {
            (void)snprintf(m, sizeof(m), "%06u", (unsigned)months[i]);
            vault_blind(v, "month", m, b->months + i * INDEX_BI_BYTES);
        }
        iq->month_bis = b->months;
        iq->n_months = n;
    }
    free(months);
    return DV_OK;
}

static dv_err build_query(vault *v, find_state *s, index_query *iq, qbufs *b, dv_errinfo *ei)
{
    const vault_query *q = s->q;

    memset(iq, 0, sizeof(*iq));
    iq->level = (index_level)q->level;
    if (q->patient_id) {
        vault_blind(v, "pid", q->patient_id, b->pid);
        iq->patient_bi = b->pid;
    }
    if (q->accession) {
        vault_blind(v, "acc", q->accession, b->acc);
        iq->acc_bi = b->acc;
    }
    if (q->study_uid) {
        vault_blind(v, "study-uid", q->study_uid, b->study);
        iq->study_bi = b->study;
    }
    if (q->series_uid) {
        vault_blind(v, "series-uid", q->series_uid, b->series);
        iq->series_bi = b->series;
    }
    if (q->sop_uid) {
        vault_blind(v, "sop-uid", q->sop_uid, b->sop);
        iq->sop_bi = b->sop;
    }
    if (q->modality) {
        if (strlen(q->modality) > INDEX_MODALITY_MAX)
            return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "--modality too long");
        memcpy(b->modality, q->modality, strlen(q->modality) + 1);
        iq->modality = b->modality;
    }
    if (q->patient_name && !vault_has_wildcard(q->patient_name) &&
        exact_name(v, q->patient_name, iq, b))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "--patient-name is empty");
    if (q->study_date)
        return date_filter(v, s, iq, b, ei);
    return DV_OK;
}

/* ---- wildcard names: the bounded candidate set ------------------------------------------- */

static int name_matches(const char *pattern, const vault_rec *pat)
{
    const char *name = vault_rec_get(pat, T_PATIENT_NAME);
    const char *al = vault_rec_get(pat, VAULT_TAG_ALIASES);
    dv_buf all, tok;
    size_t n = 0, i, off = 0;
    int hit = 0;

    dv_buf_init(&all, (size_t)2 * VAULT_REC_VALUE_MAX + 2);
    dv_buf_init(&tok, (size_t)INDEX_NAME_BI_MAX * ((size_t)VAULT_REC_VALUE_MAX * 4 + 1));
    if (dv_buf_printf(&all, "%s=%s", name, al) == DV_OK) {
        for (i = 0; i < all.len; i++)
            if (all.p[i] == '\n')
                all.p[i] = '=';
        if (vault_name_tokens((const char *)all.p, all.len, &tok, INDEX_NAME_BI_MAX, &n) != DV_OK)
            n = 0;
    }
    for (i = 0; i < n && !hit; i++) {
        const char *t = (const char *)tok.p + off;

        hit = vault_wildcard_match(pattern, t);
        off += strlen(t) + 1;
    }
    if (all.p)
        sodium_memzero(all.p, all.cap);
    if (tok.p)
        sodium_memzero(tok.p, tok.cap);
    dv_buf_release(&all);
    dv_buf_release(&tok);
    return hit;
}

static dv_err on_candidate(void *cb, const index_row *row)
{
    find_state *s = cb;
    vault_rec r;
    dv_err e;

    if (++s->candidates > VAULT_NAME_CANDIDATES_MAX)
        return dv_fail(s->ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG,
                       "a wildcard name search may look at %u patients at most: add a filter "
                       "(--patient-id, --study-date, --modality ...)",
                       VAULT_NAME_CANDIDATES_MAX);
    e = vault_open_rec(s->v, "patient", row->patient_bi, row->patient_seal.p, row->patient_seal.len,
                       &r, s->ei);
    if (e)
        return e;
    if (name_matches(s->pattern, &r)) {
        if (s->npids == s->cap_pids) {
            size_t cap = s->cap_pids ? s->cap_pids * 2 : 16;
            uint8_t *n = realloc(s->pids, cap * INDEX_BI_BYTES);

            if (!n) {
                vault_rec_free(&r);
                return dv_fail(s->ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
            }
            s->pids = n;
            s->cap_pids = cap;
        }
        memcpy(s->pids + s->npids * INDEX_BI_BYTES, row->patient_bi, INDEX_BI_BYTES);
        s->npids++;
    }
    vault_rec_free(&r);
    return DV_OK;
}

static dv_err find_wildcard(find_state *s, index_query *iq, dv_errinfo *ei)
{
    index_query pq = *iq;
    dv_buf pat;
    size_t i;
    dv_err e;

    dv_buf_init(&pat, (size_t)VAULT_REC_VALUE_MAX * 4);
    e = vault_norm_name(s->q->patient_name, strlen(s->q->patient_name), &pat);
    if (!e && !pat.len)
        e = dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "--patient-name is empty");
    if (e) {
        dv_buf_release(&pat);
        return e;
    }
    s->pattern = (const char *)pat.p;
    pq.level = INDEX_LEVEL_PATIENT;
    pq.offset = 0;
    pq.limit = 0;
    e = index_find(s->v->db, &pq, on_candidate, s, NULL, ei);
    for (i = 0; !e && !s->stopped && i < s->npids; i++) {
        iq->patient_bi = s->pids + i * INDEX_BI_BYTES;
        e = index_find(s->v->db, iq, on_row, s, NULL, ei);
    }
    dv_buf_release(&pat);
    return e;
}

dv_err vault_find(vault *v, const vault_ctx *ctx, const vault_query *q, vault_result_fn fn,
                  void *cb, uint64_t *n, dv_errinfo *ei)
{
    vault_view_filter vf;
    find_state s;
    index_query iq;
    qbufs b;
    dv_err e;

    if (n)
        *n = 0;
    e = vault_door(v, ctx, ACCESS_FIND, NULL, "query", NULL, ei);
    if (!e) /* the query is decided once; each row then as VIEW of its study */
        e = vault_view_filter_load(v, ctx, &vf, ei);
    if (e)
        return e;
    if (q->level < VAULT_LEVEL_PATIENT || q->level > VAULT_LEVEL_INSTANCE) {
        vault_view_filter_free(&vf);
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "bad query level");
    }
    memset(&s, 0, sizeof(s));
    memset(&b, 0, sizeof(b));
    s.v = v;
    s.vf = &vf;
    s.q = q;
    s.fn = fn;
    s.cb = cb;
    s.ei = ei;
    e = build_query(v, &s, &iq, &b, ei);
    if (!e && iq.level == INDEX_LEVEL_PATIENT) /* the exact date is in the study record, and */
        iq.level = INDEX_LEVEL_STUDY;          /* a patient is shown for a study one may view */
    if (!e && q->patient_name && vault_has_wildcard(q->patient_name))
        e = find_wildcard(&s, &iq, ei);
    else if (!e)
        e = index_find(v->db, &iq, on_row, &s, NULL, ei);
    if (e == DV_ELIMIT && s.stopped)
        e = DV_OK;
    if (n)
        *n = s.n;
    free(s.seen.v);
    free(s.pids);
    free(b.months);
    vault_view_filter_free(&vf);
    return e;
}
