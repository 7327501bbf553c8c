/* SPDX-License-Identifier: Apache-2.0 */
/* test_store.c - the local object store: layout, modes, put/get/del/exists/list/sweep, key
 * validation, atomic put under failure, limits and out of memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "store/store.h"

#include "common/banned.h"

#define K1 "0123456789abcdef0123456789abcdef"
#define K2 "0123ffffffffffffffffffffffffffff"
#define K3 "abcdef00000000000000000000000001"

typedef struct fixture {
    char dir[64];
    store *s;
} fixture;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    dv_errinfo ei;
    char root[32];

    if (!f)
        return -1;
    (void)snprintf(root, sizeof(root), "/tmp/dv_test_store_XXXXXX");
    if (!mkdtemp(root))
        return -1;
    (void)snprintf(f->dir, sizeof(f->dir), "%s/s", root);
    if (store_open_local(f->dir, 1, &f->s, &ei) != DV_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char *slash;

    store_close(f->s);
    slash = strrchr(f->dir, '/');
    *slash = '\0';
    (void)nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void path_of(const fixture *f, const char *key, char *out, size_t n)
{
    (void)snprintf(out, n, "%s/objects/%.2s/%.2s/%s", f->dir, key, key + 2, key);
}

/* number of entries (other than . and ..) in dir/sub */
static int count_in(const fixture *f, const char *sub)
{
    char p[256];
    DIR *d;
    struct dirent *de;
    int n = 0;

    (void)snprintf(p, sizeof(p), "%s/%s", f->dir, sub);
    d = opendir(p);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    assert_int_equal(closedir(d), 0);
    return n;
}

static void put_ok(store *s, const char *key, const char *text)
{
    dv_errinfo ei;

    assert_int_equal(store_put(s, key, (const uint8_t *)text, strlen(text), &ei), DV_OK);
}

static void test_key_valid(void **state)
{
    (void)state;
    assert_true(store_key_valid(K1));
    assert_false(store_key_valid(NULL));
    assert_false(store_key_valid(""));
    assert_false(store_key_valid("0123456789abcdef0123456789abcde"));
    assert_false(store_key_valid(K1 "0"));
    assert_false(store_key_valid("0123456789ABCDEF0123456789abcdef"));
    assert_false(store_key_valid("../x"));
    assert_false(store_key_valid("../3456789abcdef0123456789abcdef"));
    assert_false(store_key_valid("0123456789abcdef0123456789abcdeg"));
    assert_false(store_key_valid("0123456789abcdef/123456789abcdef"));
}

static void test_open(void **state)
{
    fixture *f = *state;
    char p[256];
    struct stat st;
    store *s = NULL;
    dv_errinfo ei;
    int fd;

    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    (void)snprintf(p, sizeof(p), "%s/objects", f->dir);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    (void)snprintf(p, sizeof(p), "%s/tmp", f->dir);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(store_open_local(f->dir, 0, &s, &ei), DV_OK); /* reopen */
    store_close(s);
    (void)snprintf(p, sizeof(p), "%s/missing", f->dir);
    assert_int_equal(store_open_local(p, 0, &s, &ei), DV_ENOTFOUND);
    assert_null(s);
    assert_int_equal(mkdir(p, 0700), 0); /* a folder that is not a store */
    assert_int_equal(store_open_local(p, 0, &s, &ei), DV_ENOTFOUND);
    (void)snprintf(p, sizeof(p), "%s/file", f->dir);
    fd = open(p, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(close(fd), 0);
    assert_int_not_equal(store_open_local(p, 1, &s, &ei), DV_OK);
    assert_int_equal(store_open_local(NULL, 1, &s, &ei), DV_EINVAL);
    store_close(NULL);
}

static void test_put_get_del(void **state)
{
    fixture *f = *state;
    char p[256];
    struct stat st;
    dv_buf out;
    dv_errinfo ei;
    int yes = 7;

    put_ok(f->s, K1, "sealed bytes");
    path_of(f, K1, p, sizeof(p));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 12);
    assert_int_equal(store_exists(f->s, K1, &yes, &ei), DV_OK);
    assert_int_equal(yes, 1);
    assert_int_equal(store_exists(f->s, K2, &yes, &ei), DV_OK);
    assert_int_equal(yes, 0);
    dv_buf_init(&out, 1 << 20);
    assert_int_equal(dv_buf_add(&out, "pre:", 4), DV_OK);
    assert_int_equal(store_get(f->s, K1, &out, &ei), DV_OK);
    assert_int_equal(out.len, 16);
    assert_memory_equal(out.p, "pre:sealed bytes", 16);
    put_ok(f->s, K1, "replaced");
    dv_buf_reset(&out);
    assert_int_equal(store_get(f->s, K1, &out, &ei), DV_OK);
    assert_int_equal(out.len, 8);
    assert_memory_equal(out.p, "replaced", 8);
    put_ok(f->s, K2, ""); /* empty object */
    dv_buf_reset(&out);
    assert_int_equal(store_get(f->s, K2, &out, &ei), DV_OK);
    assert_int_equal(out.len, 0);
    assert_int_equal(store_get(f->s, K3, &out, &ei), DV_ENOTFOUND);
    assert_int_equal(count_in(f, "tmp"), 0);
    assert_int_equal(store_del(f->s, K1, &ei), DV_OK);
    assert_int_equal(stat(p, &st), -1);
    assert_int_equal(store_exists(f->s, K1, &yes, &ei), DV_OK);
    assert_int_equal(yes, 0);
    assert_int_equal(store_get(f->s, K1, &out, &ei), DV_ENOTFOUND);
    assert_int_equal(store_del(f->s, K1, &ei), DV_ENOTFOUND);
    assert_int_equal(store_del(f->s, K3, &ei), DV_ENOTFOUND);
    assert_int_equal(store_put(f->s, K3, NULL, 5, &ei), DV_EINVAL);
    dv_buf_release(&out);
}

static void test_invalid_keys(void **state)
{
    static const char *bad[] = {"../x", "0123456789ABCDEF0123456789ABCDEF",  "abcd",
                                "",     "../../../../../../../../../../tmp", K1 "00"};
    fixture *f = *state;
    dv_buf out;
    dv_errinfo ei;
    size_t i;
    int yes = 1;

    dv_buf_init(&out, 1 << 20);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(store_put(f->s, bad[i], (const uint8_t *)"x", 1, &ei), DV_EINVAL);
        assert_int_equal(store_get(f->s, bad[i], &out, &ei), DV_EINVAL);
        assert_int_equal(store_del(f->s, bad[i], &ei), DV_EINVAL);
        assert_int_equal(store_exists(f->s, bad[i], &yes, &ei), DV_EINVAL);
        assert_int_equal(yes, 0);
    }
    assert_int_equal(store_put(f->s, NULL, (const uint8_t *)"x", 1, &ei), DV_EINVAL);
    assert_int_equal(count_in(f, "objects"), 0);
    assert_int_equal(count_in(f, "tmp"), 0);
    dv_buf_release(&out);
}

typedef struct seen {
    char keys[64][STORE_KEY_LEN + 1];
    uint64_t sizes[64];
    int n;
    int stop_after;
} seen;

static dv_err collect(void *ctx, const char *key, uint64_t size)
{
    seen *sn = ctx;

    assert_true(sn->n < 64);
    assert_true(store_key_valid(key));
    memcpy(sn->keys[sn->n], key, STORE_KEY_LEN + 1);
    sn->sizes[sn->n] = size;
    sn->n++;
    return sn->stop_after && sn->n >= sn->stop_after ? DV_EEXIST : DV_OK;
}

static int find_key(const seen *sn, const char *key)
{
    int i;

    for (i = 0; i < sn->n; i++)
        if (strcmp(sn->keys[i], key) == 0)
            return i;
    return -1;
}

static void test_list(void **state)
{
    fixture *f = *state;
    char keys[20][STORE_KEY_LEN + 1], p[256];
    uint8_t data[64] = {0};
    seen *sn = calloc(1, sizeof(*sn));
    dv_errinfo ei;
    int i, j, fd;

    assert_non_null(sn);
    for (i = 0; i < 20; i++) {
        for (j = 0; j < STORE_KEY_LEN; j++)
            keys[i][j] = "0123456789abcdef"[(i * 7 + j * (i + 3)) % 16];
        keys[i][STORE_KEY_LEN] = '\0';
        keys[i][0] = "0123456789abcdef"[i % 16]; /* keys are distinct */
        keys[i][1] = "0123456789abcdef"[i / 16];
        assert_int_equal(store_put(f->s, keys[i], data, (size_t)i, &ei), DV_OK);
    }
    /* junk that list must skip: a stray file in objects/, a non-key, a key in the wrong folder */
    (void)snprintf(p, sizeof(p), "%s/objects/zz", f->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    (void)snprintf(p, sizeof(p), "%s/objects/%.2s/%.2s/notakey", f->dir, keys[0], keys[0] + 2);
    fd = open(p, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(close(fd), 0);
    (void)snprintf(p, sizeof(p), "%s/objects/%.2s/%.2s/" K3, f->dir, keys[0], keys[0] + 2);
    fd = open(p, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(close(fd), 0);
    assert_int_equal(store_list(f->s, collect, sn, &ei), DV_OK);
    assert_int_equal(sn->n, 20);
    for (i = 0; i < 20; i++) {
        j = find_key(sn, keys[i]);
        assert_true(j >= 0);
        assert_int_equal(sn->sizes[j], (uint64_t)i);
    }
    memset(sn, 0, sizeof(*sn));
    sn->stop_after = 3;
    assert_int_equal(store_list(f->s, collect, sn, &ei), DV_EEXIST);
    assert_int_equal(sn->n, 3);
    assert_int_equal(store_list(f->s, NULL, sn, &ei), DV_EINVAL);
    free(sn);
}

static void test_sweep(void **state)
{
    fixture *f = *state;
    char p[256];
    unsigned removed = 99;
    dv_errinfo ei;
    int i, fd, yes = 0;

    put_ok(f->s, K1, "keep me");
    assert_int_equal(store_sweep_tmp(f->s, &removed, &ei), DV_OK);
    assert_int_equal(removed, 0);
    for (i = 0; i < 3; i++) { /* leftovers of a crash */
        (void)snprintf(p, sizeof(p), "%s/tmp/%s.abc%03d", f->dir, K2, i);
        fd = open(p, O_WRONLY | O_CREAT, 0600);
        assert_true(fd >= 0);
        assert_int_equal(close(fd), 0);
    }
    assert_int_equal(store_sweep_tmp(f->s, &removed, &ei), DV_OK);
    assert_int_equal(removed, 3);
    assert_int_equal(count_in(f, "tmp"), 0);
    assert_int_equal(store_exists(f->s, K1, &yes, &ei), DV_OK);
    assert_int_equal(yes, 1);
    assert_int_equal(store_sweep_tmp(f->s, NULL, &ei), DV_OK);
}

/* put fails: nothing half-written is visible, nothing is left in tmp/ */
static void expect_put_fails(fixture *f, const char *key, size_t len)
{
    uint8_t *data = calloc(1, len);
    dv_errinfo ei;
    int yes = 1;

    assert_non_null(data);
    assert_int_not_equal(store_put(f->s, key, data, len, &ei), DV_OK);
    assert_int_equal(store_exists(f->s, key, &yes, &ei), DV_OK);
    assert_int_equal(yes, 0);
    assert_int_equal(count_in(f, "tmp"), 0);
    free(data);
}

static void test_put_atomic(void **state)
{
    fixture *f = *state;
    struct rlimit old, lim;
    char p[256];
    int fd;

    /* the fan-out folder is blocked by a file */
    (void)snprintf(p, sizeof(p), "%s/objects/%.2s", f->dir, K3);
    fd = open(p, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(close(fd), 0);
    expect_put_fails(f, K3, 10);
    /* the disk "fills" mid-write (RLIMIT_FSIZE binds root too) */
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 4096;
    assert_true(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    expect_put_fails(f, K1, 100000);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    /* read-only folders (permission bits do not bind root) */
    if (geteuid() != 0) {
        (void)snprintf(p, sizeof(p), "%s/tmp", f->dir);
        assert_int_equal(chmod(p, 0500), 0);
        expect_put_fails(f, K2, 10);
        assert_int_equal(chmod(p, 0700), 0);
        (void)snprintf(p, sizeof(p), "%s/objects", f->dir);
        assert_int_equal(chmod(p, 0500), 0);
        expect_put_fails(f, K2, 10);
        assert_int_equal(chmod(p, 0700), 0);
    } else {
        print_message("# running as root: read-only-folder case skipped (fsize case ran)\n");
    }
    put_ok(f->s, K1, "now it fits");
}

static void test_get_limits_links(void **state)
{
    fixture *f = *state;
    char p[256], q[256];
    dv_buf out;
    dv_errinfo ei;
    int yes = 1;

    put_ok(f->s, K1, "0123456789");
    dv_buf_init(&out, 12);
    assert_int_equal(dv_buf_add(&out, "ab", 2), DV_OK);
    assert_int_equal(store_get(f->s, K1, &out, &ei), DV_OK);
    assert_int_equal(store_get(f->s, K1, &out, &ei), DV_ELIMIT);
    assert_int_equal(out.len, 12);
    dv_buf_release(&out);
    /* an object replaced by a symbolic link is not followed */
    path_of(f, K1, p, sizeof(p));
    (void)snprintf(q, sizeof(q), "%s/elsewhere", f->dir);
    put_ok(f->s, K2, "x");
    assert_int_equal(rename(p, q), 0);
    assert_int_equal(symlink(q, p), 0);
    dv_buf_init(&out, 1 << 20);
    assert_int_not_equal(store_get(f->s, K1, &out, &ei), DV_OK);
    assert_int_equal(out.len, 0);
    assert_int_equal(store_exists(f->s, K1, &yes, &ei), DV_OK);
    assert_int_equal(yes, 0);
    dv_buf_release(&out);
}

static void test_oom(void **state)
{
    fixture *f = *state;
    store *s = NULL;
    dv_buf out;
    dv_errinfo ei;
    dv_err e;

    dv_fault_countdown = 1;
    e = store_open_local(f->dir, 0, &s, &ei);
    dv_fault_countdown = 0;
    assert_int_equal(e, DV_ENOMEM);
    assert_null(s);
    put_ok(f->s, K1, "some sealed bytes");
    dv_buf_init(&out, 1 << 20);
    dv_fault_countdown = 1;
    e = store_get(f->s, K1, &out, &ei);
    dv_fault_countdown = 0;
    assert_int_equal(e, DV_ENOMEM);
    assert_int_equal(out.len, 0);
    assert_int_equal(store_get(f->s, K1, &out, &ei), DV_OK);
    assert_int_equal(out.len, 17);
    dv_buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_valid),
        cmocka_unit_test_setup_teardown(test_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_get_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_limits_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
