/* SPDX-License-Identifier: Apache-2.0 */
/* bench_audit.c - driver for bench/bench_audit.sh: durable appends per second with group
 * commit, T threads each appending M events (audit_append returns only when the entry is
 * fdatasync'ed).  Usage: bench_audit DIR THREADS PER_THREAD [CHECKPOINT_EVERY]
 * Prints: "appends N threads T seconds S per_second R"; writes DIR.vkey (the verifier key). */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"

typedef struct job {
    audit_log *log;
    long n;
    int failed;
} job;

static void *run(void *arg)
{
    job *j = arg;
    audit_object o[2];
    audit_event ev;
    long i;

    memset(&ev, 0, sizeof(ev));
    memset(o, 0x42, sizeof(o));
    o[0].type = AUDIT_OBJ_PATIENT;
    o[1].type = AUDIT_OBJ_STUDY;
    ev.action = AUDIT_ACT_VIEW;
    ev.actor = "bench-user";
    ev.role = "radiologist";
    ev.purpose = "TREAT";
    ev.client = "10.0.0.1";
    ev.session = "0123456789abcdef";
    ev.objects = o;
    ev.nobjects = 2;
    for (i = 0; i < j->n; i++)
        if (audit_append(j->log, &ev, NULL, NULL) != DV_OK) {
            j->failed = 1;
            break;
        }
    return NULL;
}

/* DIR.vkey: the verifier key of this run's random signing key. */
static void write_vkey(const char *dir, const uint8_t seed[32])
{
    uint8_t pk[32], sk[64];
    char path[4200], line[300];
    audit_vkey vk;
    FILE *f;

    crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(sk, sizeof(sk));
    snprintf(path, sizeof(path), "%s.vkey", dir);
    if (audit_vkey_make("bench.example/audit", pk, &vk, NULL) ||
        audit_vkey_format(&vk, line, sizeof(line)))
        return;
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s\n", line);
        fclose(f);
    }
}

int main(int argc, char **argv)
{
    uint8_t seed[32];
    audit_log_cfg cfg;
    audit_log *log = NULL;
    struct timespec a, b;
    pthread_t *th;
    job *jobs;
    long t, nt, per;
    double secs;
    dv_errinfo ei;

    if (argc < 4 || sodium_init() < 0)
        return 2;
    nt = strtol(argv[2], NULL, 10);
    per = strtol(argv[3], NULL, 10);
    if (nt < 1 || nt > 4096 || per < 1)
        return 2;
    randombytes_buf(seed, sizeof(seed));
    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = argv[1];
    cfg.origin = "bench.example/audit";
    cfg.sign_seed = seed;
    cfg.checkpoint_every = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 0;
    if (audit_log_open(&cfg, &log, NULL, &ei) != DV_OK) {
        fprintf(stderr, "bench_audit: open: %s\n", ei.msg);
        return 1;
    }
    write_vkey(argv[1], seed);
    th = calloc((size_t)nt, sizeof(*th));
    jobs = calloc((size_t)nt, sizeof(*jobs));
    if (!th || !jobs)
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (t = 0; t < nt; t++) {
        jobs[t].log = log;
        jobs[t].n = per;
        if (pthread_create(&th[t], NULL, run, &jobs[t]) != 0)
            return 1;
    }
    for (t = 0; t < nt; t++)
        pthread_join(th[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    for (t = 0; t < nt; t++)
        if (jobs[t].failed)
            return 1;
    printf("appends %ld threads %ld seconds %.3f per_second %.0f\n", nt * per, nt, secs,
           (double)(nt * per) / secs);
    if (audit_log_close(log, &ei) != DV_OK)
        return 1;
    sodium_memzero(seed, sizeof(seed));
    free(th);
    free(jobs);
    return 0;
}
