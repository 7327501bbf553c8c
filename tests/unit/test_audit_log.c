/* SPDX-License-Identifier: Apache-2.0 */
/* test_audit_log.c - the writer: group commit from many threads, checkpoints, reopening,
 * crash recovery (torn tails, missing tile hashes), refusal to cut what a checkpoint covers,
 * verification through the API, and no PHI in the folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/audit_int.h"
#include "crypto/crypto.h"

static uint8_t seed[32];
static char dir[256];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static int setup(void **state)
{
    (void)state;
    memset(seed, 0x5A, sizeof(seed));
    (void)snprintf(dir, sizeof(dir), "/tmp/dv_audit_test_%d", (int)getpid());
    (void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    (void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static audit_log *open_log(uint32_t every, audit_open_info *info, dv_err want)
{
    audit_log_cfg cfg;
    audit_log *log = NULL;
    dv_errinfo ei;

    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = dir;
    cfg.origin = "unit.test/audit";
    cfg.sign_seed = seed;
    cfg.checkpoint_every = every;
    dv_errinfo_clear(&ei);
    assert_int_equal(audit_log_open(&cfg, &log, info, &ei), want);
    return log;
}

static void vkey(audit_vkey *vk)
{
    uint8_t pk[32], sk[64];

    crypto_sign_seed_keypair(pk, sk, seed);
    assert_int_equal(audit_vkey_make("unit.test/audit", pk, vk, NULL), DV_OK);
}

static dv_err verify(audit_verify_report *rep)
{
    audit_vkey vk;

    vkey(&vk);
    return audit_verify(dir, &vk, NULL, 0, rep, NULL);
}

static audit_event ev_of(const char *actor, const audit_object *o, size_t n)
{
    audit_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.action = AUDIT_ACT_VIEW;
    ev.actor = actor;
    ev.role = "radiologist";
    ev.objects = o;
    ev.nobjects = n;
    return ev;
}

typedef struct worker {
    audit_log *log;
    int n;
    uint64_t seqs[500];
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    audit_event ev = ev_of("thread", NULL, 0);
    int i;

    for (i = 0; i < w->n; i++)
        assert_int_equal(audit_append(w->log, &ev, &w->seqs[i], NULL), DV_OK);
    return NULL;
}

static void test_group_commit(void **state)
{
    enum { T = 8, N = 300 };
    worker w[T];
    pthread_t th[T];
    uint8_t *seen = calloc(T * N, 1);
    audit_verify_report rep;
    int i, k;

    (void)state;
    audit_log *log = open_log(100, NULL, DV_OK);
    for (i = 0; i < T; i++) {
        w[i].log = log;
        w[i].n = N;
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < T; i++)
        for (k = 0; k < N; k++) {
            assert_true(w[i].seqs[k] < T * N);
            assert_int_equal(seen[w[i].seqs[k]]++, 0);
            if (k)
                assert_true(w[i].seqs[k] > w[i].seqs[k - 1]);
        }
    assert_int_equal(audit_log_size(log), T * N);
    assert_int_equal(audit_log_close(log, NULL), DV_OK);
    assert_int_equal(verify(&rep), DV_OK);
    assert_int_equal(rep.entries, T * N);
    /* a checkpoint is due every 100 durable entries; triggers that come while one is being
     * signed and synced fold into the next one, so there are at most T * N / 100 of them in
     * the history, plus the final one and the checkpoint file, and at least one during the run */
    assert_true(rep.checkpoints >= 3);
    assert_true(rep.checkpoints <= T * N / 100 + 2);
    assert_int_equal(rep.tiles, T * N + (T * N) / 256);
    free(seen);
}

static void bundle_path(uint64_t k, char *out, size_t n)
{
    assert_int_equal(audit_tile_path(dir, -1, k, out, n), DV_OK);
}

static void test_torn_tail_recovery(void **state)
{
    audit_event ev = ev_of("alice", NULL, 0);
    audit_open_info info;
    audit_verify_report rep;
    char path[512];
    uint64_t seq;
    int fd, i;

    (void)state;
    audit_log *log = open_log(4, NULL, DV_OK);
    for (i = 0; i < 10; i++)
        assert_int_equal(audit_append(log, &ev, &seq, NULL), DV_OK);
    /* simulate a crash: no close; add a torn record after the last entry */
    bundle_path(0, path, sizeof(path));
    fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\x00\x40\x01\x02", 4), 4);
    close(fd);
    /* the handle still holds the lock: release it the way a dead process would */
    assert_int_equal(audit_log_close(log, NULL), DV_OK);
    log = open_log(4, &info, DV_OK);
    assert_int_equal(info.size, 10);
    assert_int_equal(info.cut_bytes, 4);
    assert_int_equal(audit_append(log, &ev, &seq, NULL), DV_OK);
    assert_int_equal(seq, 10);
    assert_int_equal(audit_log_close(log, NULL), DV_OK);
    assert_int_equal(verify(&rep), DV_OK);
    assert_int_equal(rep.entries, 11);
}

static void test_missing_tiles_rebuilt(void **state)
{
    audit_event ev = ev_of("bob", NULL, 0);
    audit_open_info info;
    audit_verify_report rep;
    char path[512];
    int i;

    (void)state;
    audit_log *log = open_log(1000, NULL, DV_OK);
    for (i = 0; i < 600; i++)
        assert_int_equal(audit_append(log, &ev, NULL, NULL), DV_OK);
    assert_int_equal(audit_log_close(log, NULL), DV_OK);
    assert_int_equal(audit_tile_path(dir, 0, 2, path, sizeof(path)), DV_OK);
    assert_int_equal(truncate(path, 10 * 32), 0);
    assert_int_equal(audit_tile_path(dir, 1, 0, path, sizeof(path)), DV_OK);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(verify(&rep), DV_OK);
    assert_true(rep.short_tiles > 0);
    log = open_log(1000, &info, DV_OK);
    assert_int_equal(info.tiles_fixed, (600 - 512 - 10) + 2);
    assert_int_equal(audit_log_close(log, NULL), DV_OK);
    assert_int_equal(verify(&rep), DV_OK);
    assert_int_equal(rep.short_tiles, 0);
}

static void test_cut_below_checkpoint_refused(void **state)
{
    audit_event ev = ev_of("carol", NULL, 0);
    audit_verify_report rep;
    dv_errinfo ei;
    char path[512];
    struct stat st;
    int i;

    (void)state;
    audit_log *log = open_log(1000, NULL, DV_OK);
    for (i = 0; i < 20; i++)
        assert_int_equal(audit_append(log, &ev, NULL, NULL), DV_OK);
    assert_int_equal(audit_log_close(log, NULL), DV_OK); /* checkpoint at 20 */
    bundle_path(0, path, sizeof(path));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 3), 0); /* tears entry 19 */
    (void)open_log(1000, NULL, DV_ETAMPER);
    dv_errinfo_clear(&ei);
    assert_int_equal(verify(&rep), DV_ETAMPER);
    assert_non_null(strstr(rep.msg, "covers more entries than the log holds (19)"));
}

static void test_other_key_refused(void **state)
{
    audit_event ev = ev_of("dave", NULL, 0);

    (void)state;
    audit_log *log = open_log(10, NULL, DV_OK);
    assert_int_equal(audit_append(log, &ev, NULL, NULL), DV_OK);
    assert_int_equal(audit_log_close(log, NULL), DV_OK);
    seed[0] ^= 1;
    (void)open_log(10, NULL, DV_ECRYPTO);
    seed[0] ^= 1;
}

static int scan_file(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    static const char *planted[] = {"ZHANG^SAN", "1.2.840.99.7.1", "19700101"};
    char buf[1 << 16];
    size_t n, i;
    FILE *fp;

    (void)st;
    (void)f;
    if (flag != FTW_F)
        return 0;
    fp = fopen(p, "rb");
    assert_non_null(fp);
    n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    for (i = 0; i < 3; i++)
        assert_null(memmem(buf, n, planted[i], strlen(planted[i])));
    return 0;
}

static void test_no_phi_in_folder(void **state)
{
    crypto_key pkey;
    audit_object o[2];
    audit_event ev;

    (void)state;
    crypto_key_random(&pkey);
    /* the caller's side: PHI goes only into the keyed pseudonym function */
    o[0].type = AUDIT_OBJ_PATIENT;
    crypto_blind(&pkey, "patient", (const uint8_t *)"ZHANG^SAN", 9, o[0].pseudonym);
    o[1].type = AUDIT_OBJ_STUDY;
    crypto_blind(&pkey, "study", (const uint8_t *)"1.2.840.99.7.1", 14, o[1].pseudonym);
    ev = ev_of("alice", o, 2);
    audit_log *log = open_log(1, NULL, DV_OK);
    assert_int_equal(audit_append(log, &ev, NULL, NULL), DV_OK);
    assert_int_equal(audit_log_close(log, NULL), DV_OK);
    assert_int_equal(nftw(dir, scan_file, 16, FTW_PHYS), 0);
    crypto_key_wipe(&pkey);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_tiles_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_below_checkpoint_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_phi_in_folder, setup, teardown),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
