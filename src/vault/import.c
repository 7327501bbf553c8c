/* SPDX-License-Identifier: Apache-2.0 */
/* import.c - storing one DICOM file: parse, pull out the attributes the index needs (as
 * UTF-8), compute blind indexes, seal the records and the whole file, store the object, write
 * the index rows.
 *
 * Atomicity: the object is put first (store_put is atomic), then the index rows are written
 * inside a savepoint of the batch's outer transaction; any failure rolls the savepoint back and
 * deletes the object.  Objects whose batch never commits (crash) have no index row: `check`
 * reports them and `check --repair` removes them.  A replaced object is deleted only after
 * the commit that stops referring to it.
 *
 * Batches: vault_import_paths groups files into one outer transaction of at most
 * VAULT_BATCH_FILES files or 1 s (SQLite's commit fsync is paid once per batch); files are
 * reported to the caller only after their batch committed.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "dicom/charset.h"
#include "dicom/dicom.h"
#include "vault/phash.h"
#include "vault/vault_int.h"

#include "common/banned.h"

#define TAG_PATIENT_NAME  DCM_TAG(0x0010, 0x0010)
#define TAG_PATIENT_ID    DCM_TAG(0x0010, 0x0020)
#define TAG_BIRTH_DATE    DCM_TAG(0x0010, 0x0030)
#define TAG_SEX           DCM_TAG(0x0010, 0x0040)
#define TAG_STUDY_UID     DCM_TAG(0x0020, 0x000D)
#define TAG_SERIES_UID    DCM_TAG(0x0020, 0x000E)
#define TAG_SOP_UID       DCM_TAG(0x0008, 0x0018)
#define TAG_SOP_CLASS     DCM_TAG(0x0008, 0x0016)
#define TAG_STUDY_DATE    DCM_TAG(0x0008, 0x0020)
#define TAG_STUDY_TIME    DCM_TAG(0x0008, 0x0030)
#define TAG_ACCESSION     DCM_TAG(0x0008, 0x0050)
#define TAG_MODALITY      DCM_TAG(0x0008, 0x0060)
#define TAG_INSTITUTION   DCM_TAG(0x0008, 0x0080)
#define TAG_REFERRING     DCM_TAG(0x0008, 0x0090)
#define TAG_STUDY_DESC    DCM_TAG(0x0008, 0x1030)
#define TAG_SERIES_DESC   DCM_TAG(0x0008, 0x103E)
#define TAG_STUDY_ID      DCM_TAG(0x0020, 0x0010)
#define TAG_SERIES_NUMBER DCM_TAG(0x0020, 0x0011)
#define TAG_INST_NUMBER   DCM_TAG(0x0020, 0x0013)
#define TAG_FRAMES        DCM_TAG(0x0028, 0x0008)
#define TAG_MS_SOP_CLASS  DCM_TAG(0x0002, 0x0002)
#define TAG_MS_SOP_UID    DCM_TAG(0x0002, 0x0003)
#define TAG_DIR_RECORDS   DCM_TAG(0x0004, 0x1220)
#define UID_DICOMDIR      "1.2.840.10008.1.3.10"

/* What one file contributes to the index. */
typedef struct imp {
    vault_rec pat, study, series, inst;
    char pid_key[VAULT_REC_VALUE_MAX + 64]; /* what the patient's blind index is taken of */
    char sop_class[INDEX_UID_MAX + 1];
    char ts_uid[INDEX_UID_MAX + 1];
    char modality[INDEX_MODALITY_MAX + 1];
    uint32_t frames;
    uint8_t pid_bi[INDEX_BI_BYTES], study_bi[INDEX_BI_BYTES], series_bi[INDEX_BI_BYTES];
    uint8_t sop_bi[INDEX_BI_BYTES], acc_bi[INDEX_BI_BYTES], month_bi[INDEX_BI_BYTES];
    int has_acc, has_month;
    dv_buf names; /* NUL-separated name tokens */
    size_t nnames;
    dcm_file *file;      /* the parsed input (its values point into the caller's bytes) */
    int64_t instance_id; /* the instance row written */
} imp;

static void imp_free(imp *m)
{
    vault_rec_free(&m->pat);
    vault_rec_free(&m->study);
    vault_rec_free(&m->series);
    vault_rec_free(&m->inst);
    if (m->names.p)
        sodium_memzero(m->names.p, m->names.cap);
    dv_buf_release(&m->names);
    sodium_memzero(m->pid_key, sizeof(m->pid_key));
    dcm_file_free(m->file);
    m->file = NULL;
}

/* The value of tag as UTF-8 (character set applied for PN SH LO ST LT UC UT), trailing spaces
 * and NULs trimmed, cut at VAULT_REC_VALUE_MAX on a character boundary. */
static dv_err get_utf8(const dcm_ds *ds, const dcm_charset *cs, uint32_t tag, dv_buf *out)
{
    const dcm_elem *el = dcm_ds_find(ds, tag);
    dv_err e;

    dv_buf_reset(out);
    if (!el || !el->len || el->vr == DCM_VR_SQ)
        return DV_OK;
    e = dcm_charset_to_utf8(cs, el->vr, el->val, el->len, out, NULL);
    if (e == DV_ECHARSET || e == DV_EUNSUPPORTED) {
        dcm_charset dflt;

        dv_buf_reset(out);
        dcm_charset_default(&dflt);
        e = dcm_charset_to_utf8(&dflt, el->vr, el->val, el->len, out, NULL);
    }
    if (e)
        return e;
    while (out->len && (out->p[out->len - 1] == ' ' || out->p[out->len - 1] == 0))
        out->len--;
    if (out->len > VAULT_REC_VALUE_MAX) {
        out->len = VAULT_REC_VALUE_MAX;
        while (out->len && (out->p[out->len] & 0xC0) == 0x80)
            out->len--;
    }
    out->p[out->len] = 0;
    return DV_OK;
}

static dv_err put(vault_rec *r, const dcm_ds *ds, const dcm_charset *cs, uint32_t tag, dv_buf *tmp)
{
    dv_err e = get_utf8(ds, cs, tag, tmp);

    if (!e && tmp->len)
        e = vault_rec_set(r, tag, (const char *)tmp->p, tmp->len);
    return e;
}

/* A UID (required ones give DV_EMALFORMED naming the tag when absent or too long). */
static dv_err get_uid(const dcm_ds *ds, const dcm_ds *meta, uint32_t tag, uint32_t meta_tag,
                      char *out, int required, dv_errinfo *ei)
{
    long n = dcm_ds_get_str(ds, tag, out, INDEX_UID_MAX + 1);
    size_t i;

    if (n <= 0 && meta_tag)
        n = dcm_ds_get_str(meta, meta_tag, out, INDEX_UID_MAX + 1);
    if (n <= 0) {
        out[0] = 0;
        return required ? dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, tag,
                                  "a required UID is missing or empty")
                        : DV_OK;
    }
    if (n > INDEX_UID_MAX)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, tag, "UID longer than 64 characters");
    for (i = 0; out[i]; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7E)
            return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, tag, "UID with a non-ASCII byte");
    return DV_OK;
}

static void get_modality(const dcm_ds *ds, char *out)
{
    long n = dcm_ds_get_str(ds, TAG_MODALITY, out, INDEX_MODALITY_MAX + 1);
    long i;

    if (n <= 0 || n > INDEX_MODALITY_MAX) {
        out[0] = 0;
        return;
    }
    for (i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x21 || (unsigned char)out[i] > 0x7E || out[i] == '\\') {
            out[0] = 0;
            return;
        }
}

static uint32_t get_frames(const dcm_ds *ds)
{
    long f = 0;

    if (!dcm_ds_find(ds, DCM_TAG_PIXEL_DATA))
        return 0;
    if (dcm_ds_get_int(ds, TAG_FRAMES, 0, &f) || f < 1 || f > 0x7FFFFFFF)
        return 1;
    return (uint32_t)f;
}

static dv_err uids(imp *m, const dcm_file *f, dv_errinfo *ei)
{
    char uid[INDEX_UID_MAX + 1];
    dv_err e;

    e = get_uid(&f->ds, &f->meta, TAG_STUDY_UID, 0, uid, 0, ei);
    if (!e && uid[0])
        e = vault_rec_set(&m->study, TAG_STUDY_UID, uid, strlen(uid));
    if (!e)
        e = get_uid(&f->ds, &f->meta, TAG_SERIES_UID, 0, uid, 0, ei);
    if (!e && uid[0])
        e = vault_rec_set(&m->series, TAG_SERIES_UID, uid, strlen(uid));
    if (!e)
        e = get_uid(&f->ds, &f->meta, TAG_SOP_UID, TAG_MS_SOP_UID, uid, 0, ei);
    if (!e && uid[0])
        e = vault_rec_set(&m->inst, TAG_SOP_UID, uid, strlen(uid));
    if (!e)
        e = get_uid(&f->ds, &f->meta, TAG_SOP_CLASS, TAG_MS_SOP_CLASS, m->sop_class, 0, ei);
    if (!e && f->ts && strlen(f->ts->uid) <= INDEX_UID_MAX)
        memcpy(m->ts_uid, f->ts->uid, strlen(f->ts->uid) + 1);
    return e;
}

static dv_err records(imp *m, const dcm_file *f, dv_errinfo *ei)
{
    static const uint32_t pat[] = {TAG_PATIENT_ID, TAG_PATIENT_NAME, TAG_BIRTH_DATE, TAG_SEX};
    static const uint32_t study[] = {TAG_STUDY_DATE, TAG_STUDY_TIME,  TAG_ACCESSION, TAG_STUDY_DESC,
                                     TAG_REFERRING,  TAG_INSTITUTION, TAG_STUDY_ID};
    static const uint32_t series[] = {TAG_SERIES_NUMBER, TAG_SERIES_DESC, TAG_MODALITY};
    dcm_charset cs;
    dv_buf tmp;
    dv_err e;
    size_t i;

    if (dcm_charset_parse(&f->ds, &cs, NULL) != DV_OK && cs.n == 0)
        dcm_charset_default(&cs);
    dv_buf_init(&tmp, (size_t)1 << 26);
    e = uids(m, f, ei);
    for (i = 0; !e && i < sizeof(pat) / sizeof(pat[0]); i++)
        e = put(&m->pat, &f->ds, &cs, pat[i], &tmp);
    for (i = 0; !e && i < sizeof(study) / sizeof(study[0]); i++)
        e = put(&m->study, &f->ds, &cs, study[i], &tmp);
    for (i = 0; !e && i < sizeof(series) / sizeof(series[0]); i++)
        e = put(&m->series, &f->ds, &cs, series[i], &tmp);
    if (!e)
        e = put(&m->inst, &f->ds, &cs, TAG_INST_NUMBER, &tmp);
    if (tmp.p)
        sodium_memzero(tmp.p, tmp.cap);
    dv_buf_release(&tmp);
    if (e && e != DV_EMALFORMED)
        e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "cannot read the attributes to index");
    get_modality(&f->ds, m->modality);
    m->frames = get_frames(&f->ds);
    return e;
}

/* The patient key: PatientID, or (empty ID) the normalised name and birth date, so patients
 * without an ID are not merged into one. */
static dv_err patient_key(imp *m)
{
    const char *pid = vault_rec_get(&m->pat, TAG_PATIENT_ID);
    const char *name = vault_rec_get(&m->pat, TAG_PATIENT_NAME);
    dv_buf nn;
    dv_err e;
    int n;

    if (pid[0]) {
        n = snprintf(m->pid_key, sizeof(m->pid_key), "%s", pid);
        return n < 0 ? DV_EINVAL : DV_OK;
    }
    dv_buf_init(&nn, (size_t)VAULT_REC_VALUE_MAX * 4);
    e = vault_norm_name(name, strlen(name), &nn);
    if (!e) /* pid_key holds a whole normalised name (VAULT_REC_VALUE_MAX) and a date */
        (void)snprintf(m->pid_key, sizeof(m->pid_key), "\001%.*s\001%s", (int)nn.len,
                       nn.p ? (const char *)nn.p : "", vault_rec_get(&m->pat, TAG_BIRTH_DATE));
    if (nn.p)
        sodium_memzero(nn.p, nn.cap);
    dv_buf_release(&nn);
    return e;
}

/* "2.25." and the decimal form of the first 16 bytes of a keyed hash of msg: a stable UID
 * for a file that lacks one (PS3.5 B.2: UUID-derived UIDs under 2.25). */
static void synth_uid(const vault *v, const char *domain, const uint8_t *msg, size_t len,
                      char out[INDEX_UID_MAX + 1])
{
    uint8_t h[CRYPTO_BLIND_BYTES];
    char digits[48];
    size_t nd = 0, i;
    int nonzero = 1;

    crypto_blind(&v->bi_key, domain, msg, len, h);
    h[0] &= 0x7F;
    while (nonzero && nd < sizeof(digits)) {
        unsigned rem = 0;

        nonzero = 0;
        for (i = 0; i < 16; i++) { /* h[0..16) /= 10 */
            unsigned cur = rem * 256u + h[i];

            h[i] = (uint8_t)(cur / 10u);
            rem = cur % 10u;
            nonzero |= h[i] != 0;
        }
        digits[nd++] = (char)('0' + rem);
    }
    memcpy(out, "2.25.", 5);
    for (i = 0; i < nd; i++)
        out[5 + i] = digits[nd - 1 - i];
    out[5 + nd] = 0;
}

/* Files without Study/Series/SOP Instance UID still import: a stable UID is made from what
 * identifies them (the patient and study attributes; the series attributes; the file bytes),
 * recorded in the sealed record (find shows it; export returns the file unchanged). */
static dv_err synth_uids(const vault *v, imp *m, const uint8_t *p, size_t len)
{
    char uid[INDEX_UID_MAX + 1];
    dv_buf msg;
    dv_err e = DV_OK;

    dv_buf_init(&msg, (size_t)8 * VAULT_REC_VALUE_MAX + sizeof(m->pid_key));
    if (!vault_rec_get(&m->study, TAG_STUDY_UID)[0]) {
        e = dv_buf_printf(
            &msg, "%s|%s|%s|%s|%s", m->pid_key, vault_rec_get(&m->study, TAG_STUDY_DATE),
            vault_rec_get(&m->study, TAG_STUDY_TIME), vault_rec_get(&m->study, TAG_ACCESSION),
            vault_rec_get(&m->study, TAG_STUDY_ID));
        synth_uid(v, "synth-study", msg.p, msg.len, uid);
        if (!e)
            e = vault_rec_set(&m->study, TAG_STUDY_UID, uid, strlen(uid));
    }
    dv_buf_reset(&msg);
    if (!e && !vault_rec_get(&m->series, TAG_SERIES_UID)[0]) {
        e = dv_buf_printf(&msg, "%s|%s|%s", vault_rec_get(&m->study, TAG_STUDY_UID), m->modality,
                          vault_rec_get(&m->series, TAG_SERIES_NUMBER));
        synth_uid(v, "synth-series", msg.p, msg.len, uid);
        if (!e)
            e = vault_rec_set(&m->series, TAG_SERIES_UID, uid, strlen(uid));
    }
    if (!e && !vault_rec_get(&m->inst, TAG_SOP_UID)[0]) {
        synth_uid(v, "synth-sop", p, len, uid);
        e = vault_rec_set(&m->inst, TAG_SOP_UID, uid, strlen(uid));
    }
    if (msg.p)
        sodium_memzero(msg.p, msg.cap);
    dv_buf_release(&msg);
    return e;
}

static dv_err blinds(vault *v, imp *m, const uint8_t *p, size_t len)
{
    const char *acc = vault_rec_get(&m->study, TAG_ACCESSION);
    const char *date = vault_rec_get(&m->study, TAG_STUDY_DATE);
    const char *name = vault_rec_get(&m->pat, TAG_PATIENT_NAME);
    char month[7];
    dv_err e;

    e = patient_key(m);
    if (!e)
        e = synth_uids(v, m, p, len);
    if (e)
        return e;
    vault_blind(v, "pid", m->pid_key, m->pid_bi);
    vault_blind(v, "study-uid", vault_rec_get(&m->study, TAG_STUDY_UID), m->study_bi);
    vault_blind(v, "series-uid", vault_rec_get(&m->series, TAG_SERIES_UID), m->series_bi);
    vault_blind(v, "sop-uid", vault_rec_get(&m->inst, TAG_SOP_UID), m->sop_bi);
    m->has_acc = acc[0] != 0;
    if (m->has_acc)
        vault_blind(v, "acc", acc, m->acc_bi);
    m->has_month = vault_date_value(date) != 0;
    if (m->has_month) {
        memcpy(month, date, 6);
        month[6] = 0;
        vault_blind(v, "month", month, m->month_bi);
    }
    dv_buf_init(&m->names, (size_t)INDEX_NAME_BI_MAX * ((size_t)VAULT_REC_VALUE_MAX * 4 + 1));
    return vault_name_tokens(name, strlen(name), &m->names, INDEX_NAME_BI_MAX, &m->nnames);
}

/* Blind indexes of the NUL-separated tokens in names (n of them) into out. */
static void name_bis(const vault *v, const dv_buf *names, size_t n, uint8_t *out)
{
    size_t i, off = 0;

    for (i = 0; i < n; i++) {
        const char *t = (const char *)names->p + off;

        vault_blind(v, "name", t, out + i * INDEX_BI_BYTES);
        off += strlen(t) + 1;
    }
}

/* Re-derives the name tokens of a merged patient record: its name and its aliases are read
 * as component groups of one value. */
static dv_err merged_tokens(const vault_rec *r, dv_buf *names, size_t *n)
{
    const char *name = vault_rec_get(r, TAG_PATIENT_NAME);
    const char *al = vault_rec_get(r, VAULT_TAG_ALIASES);
    dv_buf all;
    size_t i;
    dv_err e;

    dv_buf_init(&all, (size_t)2 * VAULT_REC_VALUE_MAX + 2);
    e = dv_buf_printf(&all, "%s=%s", name, al);
    for (i = 0; !e && i < all.len; i++)
        if (all.p[i] == '\n')
            all.p[i] = '=';
    dv_buf_reset(names);
    if (!e)
        e = vault_name_tokens((const char *)all.p, all.len, names, INDEX_NAME_BI_MAX, n);
    if (all.p)
        sodium_memzero(all.p, all.cap);
    dv_buf_release(&all);
    return e;
}

/* The patient existed: keep its record, remember a new spelling of the name as an alias and
 * fill in a birth date or sex it lacked. */
static dv_err merge_patient(vault *v, imp *m, int64_t id, const dv_buf *old, dv_errinfo *ei)
{
    const char *name = vault_rec_get(&m->pat, TAG_PATIENT_NAME);
    index_patient_in in;
    uint8_t bis[INDEX_NAME_BI_MAX * INDEX_BI_BYTES];
    vault_rec r;
    dv_buf seal, al;
    int changed = 0;
    dv_err e;

    e = vault_open_rec(v, "patient", m->pid_bi, old->p, old->len, &r, ei);
    if (e)
        return e;
    dv_buf_init(&al, VAULT_REC_VALUE_MAX);
    dv_buf_init(&seal, INDEX_SEAL_MAX);
    if (name[0] && strcmp(name, vault_rec_get(&r, TAG_PATIENT_NAME)) != 0 &&
        !strstr(vault_rec_get(&r, VAULT_TAG_ALIASES), name)) {
        const char *prev = vault_rec_get(&r, VAULT_TAG_ALIASES);

        e = dv_buf_printf(&al, "%s%s%s", prev, prev[0] ? "\n" : "", name);
        if (!e)
            e = vault_rec_set(&r, VAULT_TAG_ALIASES, (const char *)al.p, al.len);
        changed = 1;
    }
    if (!e && !vault_rec_get(&r, TAG_BIRTH_DATE)[0] && vault_rec_get(&m->pat, TAG_BIRTH_DATE)[0]) {
        const char *b = vault_rec_get(&m->pat, TAG_BIRTH_DATE);

        e = vault_rec_set(&r, TAG_BIRTH_DATE, b, strlen(b));
        changed = 1;
    }
    if (!e && changed)
        e = merged_tokens(&r, &m->names, &m->nnames);
    if (!e && changed)
        e = vault_seal_rec(v, "patient", m->pid_bi, &r, &seal);
    if (!e && changed) {
        name_bis(v, &m->names, m->nnames, bis);
        memset(&in, 0, sizeof(in));
        in.seal = seal.p;
        in.seal_len = seal.len;
        in.name_bis = m->nnames ? bis : NULL;
        in.n_names = m->nnames;
        e = index_patient_update(v->db, id, &in, ei);
    }
    vault_rec_free(&r);
    dv_buf_release(&al);
    dv_buf_release(&seal);
    return e;
}

static dv_err write_patient(vault *v, imp *m, int64_t *id, dv_errinfo *ei)
{
    uint8_t bis[INDEX_NAME_BI_MAX * INDEX_BI_BYTES];
    index_patient_in in;
    dv_buf seal, old;
    int created = 0;
    dv_err e;

    dv_buf_init(&seal, INDEX_SEAL_MAX);
    dv_buf_init(&old, INDEX_SEAL_MAX);
    e = vault_seal_rec(v, "patient", m->pid_bi, &m->pat, &seal);
    name_bis(v, &m->names, m->nnames, bis);
    memset(&in, 0, sizeof(in));
    in.pid_bi = m->pid_bi;
    in.seal = seal.p;
    in.seal_len = seal.len;
    in.name_bis = m->nnames ? bis : NULL;
    in.n_names = m->nnames;
    if (!e)
        e = index_patient_upsert(v->db, &in, id, &created, &old, ei);
    if (!e && !created)
        e = merge_patient(v, m, *id, &old, ei);
    dv_buf_release(&seal);
    dv_buf_release(&old);
    return e;
}

static dv_err write_study(vault *v, imp *m, int64_t patient, const uint8_t *wrapped, int64_t *id,
                          dv_errinfo *ei)
{
    index_study_in in;
    dv_buf seal;
    dv_err e;

    dv_buf_init(&seal, INDEX_SEAL_MAX);
    e = vault_seal_rec(v, "study", m->study_bi, &m->study, &seal);
    memset(&in, 0, sizeof(in));
    in.patient_id = patient;
    in.uid_bi = m->study_bi;
    in.acc_bi = m->has_acc ? m->acc_bi : NULL;
    in.month_bi = m->has_month ? m->month_bi : NULL;
    in.seal = seal.p;
    in.seal_len = seal.len;
    in.dek_wrapped = wrapped;
    in.dek_len = CRYPTO_WRAPPED_BYTES;
    if (!e)
        e = index_study_upsert(v->db, &in, id, NULL, NULL, ei);
    if (e == DV_EEXIST)
        e = dv_fail(ei, DV_EEXIST, DV_NO_OFFSET, TAG_STUDY_UID,
                    "this StudyInstanceUID is stored under another patient");
    dv_buf_release(&seal);
    return e;
}

static dv_err write_series_instance(vault *v, imp *m, int64_t study, const char *key, uint64_t size,
                                    unsigned flags, char *old_key, dv_errinfo *ei)
{
    index_series_in si;
    index_instance_in ii;
    dv_buf seal, iseal;
    int64_t series = 0;
    dv_err e;

    dv_buf_init(&seal, INDEX_SEAL_MAX);
    dv_buf_init(&iseal, INDEX_SEAL_MAX);
    e = vault_seal_rec(v, "series", m->series_bi, &m->series, &seal);
    if (!e)
        e = vault_seal_rec(v, "instance", m->sop_bi, &m->inst, &iseal);
    memset(&si, 0, sizeof(si));
    si.study_id = study;
    si.uid_bi = m->series_bi;
    si.modality = m->modality;
    si.seal = seal.p;
    si.seal_len = seal.len;
    if (!e)
        e = index_series_upsert(v->db, &si, &series, NULL, NULL, ei);
    if (e == DV_EEXIST)
        e = dv_fail(ei, DV_EEXIST, DV_NO_OFFSET, TAG_SERIES_UID,
                    "this SeriesInstanceUID is stored under another study");
    memset(&ii, 0, sizeof(ii));
    ii.series_id = series;
    ii.uid_bi = m->sop_bi;
    ii.sop_class = m->sop_class;
    ii.ts_uid = m->ts_uid;
    ii.object_key = key;
    ii.size = size;
    ii.frames = m->frames;
    ii.seal = iseal.p;
    ii.seal_len = iseal.len;
    old_key[0] = 0;
    if (!e && (flags & VAULT_IMPORT_REPLACE))
        e = index_instance_replace(v->db, &ii, &m->instance_id, old_key, ei);
    else if (!e)
        e = index_instance_insert(v->db, &ii, &m->instance_id, ei);
    dv_buf_release(&seal);
    dv_buf_release(&iseal);
    return e;
}

/* The study's data key: unwrapped from its row, or a new random one (wrapped into wrapped). */
static dv_err study_key(vault *v, imp *m, crypto_key *dek, uint8_t *wrapped, dv_errinfo *ei)
{
    index_row row;
    dv_err e;

    e = index_study_get(v->db, m->study_bi, &row, ei);
    if (e == DV_ENOTFOUND) {
        crypto_key_random(dek);
        return crypto_wrap(&v->kek, dek, m->study_bi, INDEX_BI_BYTES, wrapped);
    }
    if (e)
        return e;
    if (sodium_memcmp(row.patient_bi, m->pid_bi, INDEX_BI_BYTES) != 0)
        return dv_fail(ei, DV_EEXIST, DV_NO_OFFSET, TAG_STUDY_UID,
                       "this StudyInstanceUID is stored under another patient");
    if (row.dek_len != CRYPTO_WRAPPED_BYTES)
        return dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG, "study %lld: bad wrapped key",
                       (long long)row.study_id);
    memcpy(wrapped, row.dek_wrapped, CRYPTO_WRAPPED_BYTES);
    return vault_study_dek(v, &row, dek, ei);
}

/* Seals the file under dek with a fresh object id and puts it; key receives the object key. */
static dv_err put_object(vault *v, const crypto_key *dek, const uint8_t *p, size_t len, char *key,
                         uint64_t *size, dv_errinfo *ei)
{
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
    dv_buf ct;
    dv_err e;

    crypto_random(id, sizeof(id));
    vault_hex(id, sizeof(id), key);
    dv_buf_init(&ct, len + len / 64 + ((size_t)1 << 20));
    e = crypto_obj_seal(v->cfg.alg, dek, id, v->cfg.chunk_size, p, len, &ct, ei);
    if (!e)
        e = store_put(v->st, key, ct.p, ct.len, ei);
    *size = ct.len;
    dv_buf_release(&ct);
    return e;
}

/* True for errors that mean "this input cannot be stored" rather than "the vault failed". */
static int input_error(dv_err e)
{
    return e == DV_EEXIST || e == DV_EMALFORMED || e == DV_ETRUNC || e == DV_ELIMIT ||
           e == DV_EUNSUPPORTED || e == DV_ECHARSET || e == DV_ECODEC;
}

/* Index rows for a stored object, inside the savepoint already open. */
static dv_err store_rows(vault *v, imp *m, const uint8_t *wrapped, vault_pending *pd, uint64_t size,
                         unsigned flags, dv_errinfo *ei)
{
    int64_t patient = 0, study = 0;
    dv_err e;

    e = write_patient(v, m, &patient, ei);
    if (!e)
        e = write_study(v, m, patient, wrapped, &study, ei);
    if (!e)
        e = write_series_instance(v, m, study, pd->key, size, flags, pd->old_key, ei);
    if (!e && m->file) /* the perceptual hash, sealed, for trace */
        e = vault_phash_store(v, m->file, m->instance_id, pd->key, ei);
    return e;
}

/* Steps after parsing, inside a savepoint: duplicate check, key, object, rows. */
static dv_err import_parsed(vault *v, const vault_ctx *ctx, imp *m, const uint8_t *p, size_t len,
                            unsigned flags, vault_pending *pd, dv_errinfo *ei)
{
    uint8_t wrapped[CRYPTO_WRAPPED_BYTES];
    crypto_key dek;
    index_row row;
    uint64_t size = 0;
    dv_err e;

    e = index_instance_get(v->db, m->sop_bi, &row, ei);
    if (!e && !(flags & VAULT_IMPORT_REPLACE)) {
        pd->st = VAULT_DUPLICATE;
        return DV_OK;
    }
    if (e && e != DV_ENOTFOUND)
        return e;
    pd->st = e ? VAULT_IMPORTED : VAULT_REPLACED;
    e = study_key(v, m, &dek, wrapped, ei);
    if (!e)
        e = vault_audit_study(v, ctx, "ingest", m->study_bi, m->pid_bi, ei);
    if (!e)
        e = put_object(v, &dek, p, len, pd->key, &size, ei);
    crypto_key_wipe(&dek);
    if (e)
        return e;
    e = store_rows(v, m, wrapped, pd, size, flags, ei);
    if (!e) /* the import rule: the importer may see what it stored */
        e = vault_import_grant(v, m->study_bi, vault_rec_get(&m->study, TAG_REFERRING), ei);
    if (e) {
        vault_drop_object(v, pd->key);
        pd->key[0] = 0;
    }
    return e;
}

static int is_dicomdir(const dcm_file *f)
{
    char cls[INDEX_UID_MAX + 1];

    if (dcm_ds_get_str(&f->meta, TAG_MS_SOP_CLASS, cls, sizeof(cls)) > 0 &&
        !strcmp(cls, UID_DICOMDIR))
        return 1;
    return dcm_ds_find(&f->ds, TAG_DIR_RECORDS) != NULL;
}

/* Parses and extracts; input problems set pd (VAULT_REJECTED / VAULT_NOT_IMAGE). */
static dv_err import_prepare(vault *v, const uint8_t *p, size_t len, int in_walk, imp *m,
                             vault_pending *pd)
{
    dcm_file *f = NULL;
    dv_err e;

    if (len > VAULT_IMPORT_MAX)
        e = dv_fail(&pd->ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "file larger than 2 GiB");
    else
        e = dcm_parse(p, len, 0, NULL, &f, &pd->ei);
    if (!e && is_dicomdir(f)) {
        dcm_file_free(f);
        pd->st = in_walk ? VAULT_NOT_IMAGE : VAULT_REJECTED;
        if (!in_walk)
            pd->e = dv_fail(&pd->ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                            "a DICOMDIR is not an image: give it as a path to import its files");
        return DV_OK;
    }
    if (!e)
        e = records(m, f, &pd->ei);
    if (!e)
        e = blinds(v, m, p, len);
    if (!e)
        m->file = f; /* kept for the perceptual hash (imp_free frees it) */
    else
        dcm_file_free(f);
    if (e == DV_ENOMEM)
        return dv_fail(&pd->ei, e, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    if (e) {
        pd->st = VAULT_REJECTED;
        pd->e = e;
    }
    return DV_OK;
}

/* One file into the open transaction (as a savepoint). */
static dv_err import_one(vault *v, const vault_ctx *ctx, const uint8_t *p, size_t len,
                         unsigned flags, int in_walk, vault_pending *pd)
{
    imp m;
    dv_err e;
    unsigned depth = index_depth(v->db);

    memset(&m, 0, sizeof(m));
    pd->st = VAULT_IMPORTED;
    dv_errinfo_clear(&pd->ei);
    e = import_prepare(v, p, len, in_walk, &m, pd);
    if (e || pd->st != VAULT_IMPORTED) {
        imp_free(&m);
        return e;
    }
    e = index_begin(v->db, &pd->ei);
    if (!e) {
        e = import_parsed(v, ctx, &m, p, len, flags, pd, &pd->ei);
        if (!e && pd->st != VAULT_DUPLICATE)
            e = index_commit(v->db, &pd->ei);
        else
            vault_rollback(v);
        if (e && index_depth(v->db) > depth)
            vault_rollback(v);
        if (e && pd->key[0]) {
            vault_drop_object(v, pd->key);
            pd->key[0] = 0;
        }
    }
    imp_free(&m);
    if (e && input_error(e)) {
        pd->st = VAULT_REJECTED;
        pd->e = e;
        return DV_OK;
    }
    return e;
}

/* ---- batches ---------------------------------------------------------------------------- */

static vault_pending *pend_new(vault *v, const char *path)
{
    vault_pending *pd;

    if (v->npend == v->cap_pend) {
        size_t cap = v->cap_pend ? v->cap_pend * 2 : (size_t)2 * VAULT_BATCH_FILES;
        vault_pending *n = realloc(v->pend, cap * sizeof(*n));

        if (!n)
            return NULL;
        v->pend = n;
        v->cap_pend = cap;
    }
    pd = &v->pend[v->npend];
    memset(pd, 0, sizeof(*pd));
    pd->path = strdup(path ? path : "");
    if (!pd->path)
        return NULL;
    v->npend++;
    return pd;
}

/* Tells the caller about every pending file (ok = the batch committed) and forgets them. */
static void pend_report(vault *v, int ok, dv_err fail, const dv_errinfo *fail_ei)
{
    size_t i;

    for (i = 0; i < v->npend; i++) {
        vault_pending *pd = &v->pend[i];

        if (ok && pd->old_key[0])
            vault_drop_object(v, pd->old_key);
        if (!ok && pd->key[0])
            vault_drop_object(v, pd->key);
        if (v->walk_fn && (ok || pd->st == VAULT_REJECTED))
            v->walk_fn(v->walk_cb, pd->path, pd->st, pd->e, &pd->ei);
        else if (v->walk_fn)
            v->walk_fn(v->walk_cb, pd->path, VAULT_REJECTED, fail, fail_ei);
        free(pd->path);
    }
    v->npend = 0;
}

dv_err vault_batch_flush(vault *v, dv_errinfo *ei)
{
    dv_errinfo lei;
    dv_err e = DV_OK;

    dv_errinfo_clear(&lei);
    if (index_depth(v->db) > 0) {
        e = index_commit(v->db, &lei);
        if (e)
            vault_rollback(v);
    }
    pend_report(v, e == DV_OK, e, &lei);
    if (e && ei)
        *ei = lei;
    return e;
}

dv_err vault_batch_reject(vault *v, const char *path, dv_err e, const dv_errinfo *ei)
{
    vault_pending *pd = pend_new(v, path);

    if (!pd)
        return DV_ENOMEM;
    pd->st = VAULT_REJECTED;
    pd->e = e;
    if (ei)
        pd->ei = *ei;
    return DV_OK;
}

dv_err vault_batch_add(vault *v, const vault_ctx *ctx, const char *path, const uint8_t *p,
                       size_t len, unsigned flags, int in_walk, dv_errinfo *ei)
{
    vault_pending *pd;
    dv_err e;

    if (index_depth(v->db) == 0) {
        e = index_begin(v->db, ei);
        if (e)
            return e;
        v->batch_start = vault_now();
    }
    pd = pend_new(v, path);
    if (!pd)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    e = import_one(v, ctx, p, len, flags, in_walk, pd);
    if (e) {
        unsigned guard = 0;

        if (ei)
            *ei = pd->ei;
        while (index_depth(v->db) > 0 && guard++ < 64)
            vault_rollback(v);
        pend_report(v, 0, e, &pd->ei);
        return e;
    }
    if (v->npend >= VAULT_BATCH_FILES || vault_now() - v->batch_start >= 1.0)
        return vault_batch_flush(v, ei);
    return DV_OK;
}

dv_err vault_import_mem(vault *v, const vault_ctx *ctx, const uint8_t *p, size_t len,
                        unsigned flags, vault_import_status *status, dv_errinfo *ei)
{
    vault_pending pd;
    dv_err e;

    e = vault_door_import(v, ctx, ei);
    if (e)
        return e;
    if (index_depth(v->db) != 0)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "an import batch is open");
    memset(&pd, 0, sizeof(pd));
    e = import_one(v, ctx, p, len, flags, 0, &pd);
    if (ei)
        *ei = pd.ei;
    *status = e ? VAULT_REJECTED : pd.st;
    if (!e && pd.old_key[0])
        vault_drop_object(v, pd.old_key);
    return e;
}
