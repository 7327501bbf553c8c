/* SPDX-License-Identifier: Apache-2.0 */
/* bench_index.c - driver for bench/bench_index.sh: insert rate and lookup latency of the index.
 *
 *   bench_index DB_PATH [INSTANCES]     (default 100000)
 *
 * Builds INSTANCES instances as patients of 2 studies x 2 series x 25 instances, the way the
 * vault imports files (one savepoint per file, BATCH files per transaction), with blind indexes
 * that look like HMAC output (pseudo-random 32 bytes) and seals of realistic sizes.  Then times
 * durable one-file imports (one transaction each, fsync) and lookups by every blind index.
 * Prints one line per measurement.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/dv.h"
#include "index/index.h"

#include "common/banned.h"

#define PER_SERIES 25
#define PER_STUDY  (2 * PER_SERIES)
#define PER_PAT    (2 * PER_STUDY)
#define BATCH      1000
#define LOOKUPS    2000
#define DURABLE    200

enum { K_PID, K_NAME, K_STUDY, K_ACC, K_MONTH, K_SERIES, K_SOP };

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* a pseudo-random 32-byte tag for (kind, n), standing in for an HMAC blind index */
static void tag(int kind, uint64_t n, uint8_t out[INDEX_BI_BYTES])
{
    uint64_t s = mix(((uint64_t)kind << 56) ^ n);
    int i;

    for (i = 0; i < 4; i++) {
        s = mix(s);
        memcpy(out + 8 * i, &s, 8);
    }
}

static double now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, dv_err e, const dv_errinfo *ei)
{
    fprintf(stderr, "bench_index: %s: %s: %s\n", what, dv_strerror(e), ei->msg);
    return 1;
}

static uint8_t SEAL[256];
static const uint8_t DEK[73] = {1};

/* imports instance number k (patients, studies, series created as needed) */
static dv_err import(index_db *db, uint64_t k, dv_errinfo *ei)
{
    uint64_t pat = k / PER_PAT, stu = k / PER_STUDY, ser = k / PER_SERIES;
    uint8_t pid[32], names[3 * 32], suid[32], acc[32], month[32], seuid[32], sop[32];
    char key[INDEX_KEY_LEN + 1];
    index_patient_in pin = {pid, SEAL, 150, names, 3};
    index_study_in sin = {0};
    index_series_in sein = {0};
    index_instance_in iin = {0};
    int64_t pid_id = 0, st_id = 0, se_id = 0;
    dv_err e;

    tag(K_PID, pat, pid);
    tag(K_NAME, pat % 400, names);               /* family names repeat across patients */
    tag(K_NAME, 100000 + pat % 300, names + 32); /* given names repeat a lot */
    tag(K_NAME, 200000 + pat, names + 64);
    tag(K_STUDY, stu, suid);
    tag(K_ACC, stu, acc);
    tag(K_MONTH, 200001 + stu % 240, month); /* 20 years of months */
    tag(K_SERIES, ser, seuid);
    tag(K_SOP, k, sop);
    (void)snprintf(key, sizeof(key), "%016llx%016llx", (unsigned long long)mix(k),
                   (unsigned long long)mix(k + 1));
    e = index_begin(db, ei);
    if (e != DV_OK)
        return e;
    e = index_patient_upsert(db, &pin, &pid_id, NULL, NULL, ei);
    sin = (index_study_in){pid_id, suid, acc, month, SEAL, 200, DEK, sizeof(DEK), "standard", 0};
    if (e == DV_OK)
        e = index_study_upsert(db, &sin, &st_id, NULL, NULL, ei);
    sein = (index_series_in){st_id, seuid, (ser % 2) ? "CT" : "MR", SEAL, 120};
    if (e == DV_OK)
        e = index_series_upsert(db, &sein, &se_id, NULL, NULL, ei);
    iin = (index_instance_in){
        se_id, sop, "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.1", key, 524288, 1, SEAL,
        100,   0};
    if (e == DV_OK)
        e = index_instance_insert(db, &iin, NULL, ei);
    if (e != DV_OK) {
        dv_err r = index_rollback(db, NULL);
        (void)r;
        return e;
    }
    return index_commit(db, ei);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void report(const char *what, double *t, size_t n, uint64_t rows)
{
    qsort(t, n, sizeof(*t), cmp);
    printf("  %-44s median %8.1f us   p99 %8.1f us   (%zu runs, %.1f rows/run)\n", what,
           t[n / 2] * 1e6, t[(n * 99) / 100] * 1e6, n, (double)rows / (double)n);
}

static dv_err count_rows(void *ctx, const index_row *r)
{
    (void)r;
    (*(uint64_t *)ctx)++;
    return DV_OK;
}

/* times LOOKUPS queries of one kind; kind selects the filter */
static int lookups(index_db *db, int kind, uint64_t n_inst, const char *what)
{
    static double t[LOOKUPS];
    uint8_t b[32], months[3 * 32];
    index_query q;
    index_row row;
    uint64_t rows = 0, r;
    size_t i;
    dv_errinfo ei;
    dv_err e = DV_OK;

    for (i = 0; i < LOOKUPS && e == DV_OK; i++) {
        r = mix(i + 7 * (uint64_t)kind) % n_inst;
        memset(&q, 0, sizeof(q));
        q.limit = 1000;
        double t0 = now();
        switch (kind) {
        case 0:
            tag(K_SOP, r, b);
            e = index_instance_get(db, b, &row, &ei);
            rows++;
            break;
        case 1:
            tag(K_PID, r / PER_PAT, b);
            q.patient_bi = b;
            q.level = INDEX_LEVEL_STUDY;
            e = index_find(db, &q, count_rows, &rows, NULL, &ei);
            break;
        case 2:
            tag(K_NAME, (r / PER_PAT) % 400, b);
            q.name_bis = b;
            q.n_names = 1;
            q.level = INDEX_LEVEL_STUDY;
            e = index_find(db, &q, count_rows, &rows, NULL, &ei);
            break;
        case 3:
            tag(K_MONTH, 200001 + (r % 240), months);
            tag(K_MONTH, 200001 + ((r + 1) % 240), months + 32);
            tag(K_MONTH, 200001 + ((r + 2) % 240), months + 64);
            q.month_bis = months;
            q.n_months = 3;
            q.modality = "CT";
            q.level = INDEX_LEVEL_STUDY;
            e = index_find(db, &q, count_rows, &rows, NULL, &ei);
            break;
        default:
            tag(K_STUDY, r / PER_STUDY, b);
            q.study_bi = b;
            q.level = INDEX_LEVEL_INSTANCE;
            e = index_find(db, &q, count_rows, &rows, NULL, &ei);
            break;
        }
        t[i] = now() - t0;
    }
    if (e != DV_OK)
        return die(what, e, &ei);
    report(what, t, LOOKUPS, rows);
    return 0;
}

int main(int argc, char **argv)
{
    static double t[DURABLE];
    index_db *db = NULL;
    uint64_t n = 100000, k;
    dv_errinfo ei;
    dv_err e;
    double t0, secs;
    size_t i;

    if (argc < 2)
        return 2;
    if (argc > 2)
        n = strtoull(argv[2], NULL, 10);
    if (n < PER_PAT)
        n = PER_PAT;
    for (i = 0; i < sizeof(SEAL); i++)
        SEAL[i] = (uint8_t)mix(i);
    e = index_open_sqlite(argv[1], INDEX_OPEN_CREATE, &db, &ei);
    if (e != DV_OK)
        return die("open", e, &ei);
    t0 = now();
    for (k = 0; k < n && e == DV_OK; k++) {
        if (k % BATCH == 0)
            e = index_begin(db, &ei);
        if (e == DV_OK)
            e = import(db, k, &ei);
        if (e == DV_OK && (k % BATCH == BATCH - 1 || k == n - 1))
            e = index_commit(db, &ei);
    }
    if (e != DV_OK)
        return die("import", e, &ei);
    secs = now() - t0;
    printf("  %-44s %8.2f s   %10.0f instances/s\n", "insert (batches of 1000 files, savepoints)",
           secs, (double)n / secs);
    for (i = 0; i < DURABLE && e == DV_OK; i++) {
        double t1 = now();
        e = import(db, n + i, &ei); /* depth 0: a durable transaction of its own */
        t[i] = now() - t1;
    }
    if (e != DV_OK)
        return die("durable import", e, &ei);
    report("one file, own transaction (fsync)", t, DURABLE, DURABLE);
    n += DURABLE;
    if (lookups(db, 0, n, "get instance by SOPInstanceUID") ||
        lookups(db, 1, n, "find studies by PatientID") ||
        lookups(db, 2, n, "find studies by family name") ||
        lookups(db, 3, n, "find studies by 3 months + modality CT") ||
        lookups(db, 4, n, "find instances by StudyInstanceUID"))
        return 1;
    index_close(db);
    return 0;
}
