/* SPDX-License-Identifier: Apache-2.0 */
/* local.c - the local-folder object store backend: DIR/objects/ab/cd/<key>, DIR/tmp/.
 *
 * Invariants: the store holds open descriptors of DIR, DIR/objects and DIR/tmp and reaches
 * every file relative to them, one folder level at a time with O_NOFOLLOW, so no symbolic
 * link inside the store is followed; folders are made with mode 0700 and files with 0600; an
 * object appears only by rename() of a complete, fsynced temporary file, and every folder
 * whose entries change is fsynced before the call returns.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/dv.h"
#include "store/store.h"

#include "common/banned.h"

#define DIR_MODE    (S_IRWXU)
#define FILE_MODE   (S_IRUSR | S_IWUSR)
#define TMP_SUFFIX  6
#define TMP_NAME    (STORE_KEY_LEN + 1 + TMP_SUFFIX + 1)
#define TMP_TRIES   16
#define DIR_FLAGS   (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define CHUNK_WRITE ((size_t)1 << 30)

typedef struct local_store {
    store base; /* base.impl points back here */
    int root_fd;
    int obj_fd;
    int tmp_fd;
} local_store;

static local_store *impl_of(store *s)
{
    return (local_store *)s->impl;
}

static dv_err io_fail(dv_errinfo *ei, const char *what, int err)
{
    return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "%s: %s", what, strerror(err));
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n < CHUNK_WRITE ? n : CHUNK_WRITE);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* makes (when create is set) and opens the sub-folder name of dfd; fsyncs dfd after making */
static int subdir(int dfd, const char *name, int create)
{
    if (create) {
        if (mkdirat(dfd, name, DIR_MODE) == 0) {
            if (fsync(dfd) != 0)
                return -1;
        } else if (errno != EEXIST) {
            return -1;
        }
    }
    return openat(dfd, name, DIR_FLAGS);
}

/* opens objects/ab/cd for key, making the folders when create is set; -1 with errno */
static int fanout_open(local_store *ls, const char *key, int create)
{
    char a[3] = {key[0], key[1], '\0'}, b[3] = {key[2], key[3], '\0'};
    int fa, fb, err;

    fa = subdir(ls->obj_fd, a, create);
    if (fa < 0)
        return -1;
    fb = subdir(fa, b, create);
    err = errno;
    (void)close(fa); /* a folder opened read-only: close cannot lose data */
    errno = err;
    return fb;
}

/* ---- put ---------------------------------------------------------------------------------- */

/* creates tmp/<key>.XXXXXX exclusively; the fd, or -1 with errno */
static int tmp_create(local_store *ls, const char *key, char name[TMP_NAME])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t rnd[TMP_SUFFIX];
    int i, j, fd = -1;

    memcpy(name, key, STORE_KEY_LEN);
    name[STORE_KEY_LEN] = '.';
    name[TMP_NAME - 1] = '\0';
    for (i = 0; i < TMP_TRIES && fd < 0; i++) {
        randombytes_buf(rnd, sizeof(rnd));
        for (j = 0; j < TMP_SUFFIX; j++)
            name[STORE_KEY_LEN + 1 + j] = alphabet[rnd[j] % (sizeof(alphabet) - 1)];
        fd = openat(ls->tmp_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    FILE_MODE);
        if (fd < 0 && errno != EEXIST)
            return -1;
    }
    return fd;
}

/* writes p into a new temporary file, fsyncs and closes it */
static dv_err tmp_write(local_store *ls, const char *key, const uint8_t *p, size_t len,
                        char name[TMP_NAME], dv_errinfo *ei)
{
    int fd, err = 0;

    fd = tmp_create(ls, key, name);
    if (fd < 0)
        return io_fail(ei, "cannot create a temporary file in the store", errno);
    if (write_all(fd, p, len) != 0 || fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (err) {
        (void)unlinkat(ls->tmp_fd, name, 0);
        return io_fail(ei, "cannot write the object", err);
    }
    return DV_OK;
}

static dv_err local_put(store *s, const char *key, const uint8_t *p, size_t len, dv_errinfo *ei)
{
    local_store *ls = impl_of(s);
    char name[TMP_NAME];
    int dfd, err = 0;
    dv_err e;

    e = tmp_write(ls, key, p, len, name, ei);
    if (e)
        return e;
    dfd = fanout_open(ls, key, 1);
    if (dfd < 0) {
        err = errno;
        (void)unlinkat(ls->tmp_fd, name, 0);
        return io_fail(ei, "cannot make the object's folder", err);
    }
    if (renameat(ls->tmp_fd, name, dfd, key) != 0) {
        err = errno;
        (void)unlinkat(ls->tmp_fd, name, 0);
    } else if (fsync(dfd) != 0 || fsync(ls->tmp_fd) != 0) {
        err = errno;
    }
    (void)close(dfd);
    return err ? io_fail(ei, "cannot move the object into place", err) : DV_OK;
}

/* ---- get, exists, del --------------------------------------------------------------------- */

static dv_err read_exact(int fd, dv_buf *out, size_t n, dv_errinfo *ei)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = read(fd, out->p + out->len + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return io_fail(ei, "cannot read the object", errno);
        if (r == 0)
            return dv_fail(ei, DV_EIO, got, DV_NO_TAG, "object shrank while it was read");
        got += (size_t)r;
    }
    out->len += n;
    out->p[out->len] = 0;
    return DV_OK;
}

static dv_err open_object(local_store *ls, const char *key, int *fdp, dv_errinfo *ei)
{
    int dfd, fd, err;

    dfd = fanout_open(ls, key, 0);
    if (dfd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "no such object");
    if (dfd < 0)
        return io_fail(ei, "cannot open the object's folder", errno);
    fd = openat(dfd, key, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    err = errno;
    (void)close(dfd);
    if (fd < 0 && err == ENOENT)
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "no such object");
    if (fd < 0)
        return io_fail(ei, "cannot open the object", err);
    *fdp = fd;
    return DV_OK;
}

static dv_err local_get(store *s, const char *key, dv_buf *out, dv_errinfo *ei)
{
    struct stat st;
    int fd = -1;
    dv_err e;

    e = open_object(impl_of(s), key, &fd, ei);
    if (e)
        return e;
    if (fstat(fd, &st) != 0)
        e = io_fail(ei, "cannot stat the object", errno);
    else if (!S_ISREG(st.st_mode) || st.st_size < 0)
        e = dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "object is not a regular file");
    else if ((uint64_t)st.st_size > SIZE_MAX - 1)
        e = dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "object is too large for memory");
    if (!e) {
        size_t start = out->len;
        e = dv_buf_reserve(out, (size_t)st.st_size);
        if (e)
            e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "no room for a %lld-byte object",
                        (long long)st.st_size);
        else
            e = read_exact(fd, out, (size_t)st.st_size, ei);
        if (e && out->p) {
            out->len = start;
            out->p[start] = 0;
        }
    }
    (void)close(fd); /* read-only */
    return e;
}

static dv_err local_exists(store *s, const char *key, int *yes, dv_errinfo *ei)
{
    struct stat st;
    int dfd, rc, err;

    *yes = 0;
    dfd = fanout_open(impl_of(s), key, 0);
    if (dfd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return DV_OK;
    if (dfd < 0)
        return io_fail(ei, "cannot open the object's folder", errno);
    rc = fstatat(dfd, key, &st, AT_SYMLINK_NOFOLLOW);
    err = errno;
    (void)close(dfd);
    if (rc != 0 && err != ENOENT)
        return io_fail(ei, "cannot stat the object", err);
    *yes = rc == 0 && S_ISREG(st.st_mode);
    return DV_OK;
}

static dv_err local_del(store *s, const char *key, dv_errinfo *ei)
{
    int dfd, err = 0;

    dfd = fanout_open(impl_of(s), key, 0);
    if (dfd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "no such object");
    if (dfd < 0)
        return io_fail(ei, "cannot open the object's folder", errno);
    if (unlinkat(dfd, key, 0) != 0 || fsync(dfd) != 0)
        err = errno;
    (void)close(dfd);
    if (err == ENOENT)
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "no such object");
    return err ? io_fail(ei, "cannot remove the object", err) : DV_OK;
}

/* ---- list and sweep ----------------------------------------------------------------------- */

typedef dv_err (*list_fn)(void *ctx, const char *key, uint64_t size);

static int is_hex2(const char *n)
{
    return n[0] && n[1] && !n[2] && strchr("0123456789abcdef", n[0]) &&
           strchr("0123456789abcdef", n[1]);
}

/* opens sub-folder name of dfd (or dfd itself for ".") as a DIR stream */
static DIR *dir_at(int dfd, const char *name)
{
    int fd = openat(dfd, name, DIR_FLAGS);
    DIR *d;

    if (fd < 0)
        return NULL;
    d = fdopendir(fd);
    if (!d)
        (void)close(fd);
    return d;
}

/* reads the next entry; NULL at the end (*err 0) or on an error (*err set) */
static struct dirent *next_entry(DIR *d, int *err)
{
    struct dirent *de;

    errno = 0;
    /* cppcheck-suppress readdirCalled ; readdir_r is deprecated in glibc, and every DIR
     * stream here belongs to one call on one thread */
    de = readdir(d);
    *err = de ? 0 : errno;
    return de;
}

/* calls fn for every object in one objects/ab/cd folder */
static dv_err list_leaf(DIR *d, const char *a, const char *b, list_fn fn, void *ctx, dv_errinfo *ei)
{
    struct dirent *de;
    struct stat st;
    int err = 0;
    dv_err e = DV_OK;

    for (de = next_entry(d, &err); !e && de; de = next_entry(d, &err)) {
        const char *k = de->d_name;
        if (!store_key_valid(k) || memcmp(k, a, 2) != 0 || memcmp(k + 2, b, 2) != 0)
            continue;
        if (fstatat(dirfd(d), k, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT) /* removed meanwhile: not listed */
                e = io_fail(ei, "cannot stat an object", errno);
            continue;
        }
        if (S_ISREG(st.st_mode))
            e = fn(ctx, k, (uint64_t)st.st_size);
    }
    if (!e && err)
        e = io_fail(ei, "cannot read an object folder", err);
    return e;
}

static dv_err list_mid(DIR *d, const char *a, list_fn fn, void *ctx, dv_errinfo *ei)
{
    struct dirent *de;
    int err = 0;
    dv_err e = DV_OK;

    for (de = next_entry(d, &err); !e && de; de = next_entry(d, &err)) {
        DIR *leaf;
        if (!is_hex2(de->d_name))
            continue;
        leaf = dir_at(dirfd(d), de->d_name);
        if (!leaf) {
            if (errno != ENOENT && errno != ENOTDIR)
                e = io_fail(ei, "cannot open an object folder", errno);
            continue;
        }
        e = list_leaf(leaf, a, de->d_name, fn, ctx, ei);
        (void)closedir(leaf);
    }
    if (!e && err)
        e = io_fail(ei, "cannot read an object folder", err);
    return e;
}

static dv_err local_list(store *s, list_fn fn, void *ctx, dv_errinfo *ei)
{
    DIR *top = dir_at(impl_of(s)->obj_fd, "."), *mid;
    struct dirent *de;
    int err = 0;
    dv_err e = DV_OK;

    if (!top)
        return io_fail(ei, "cannot open the objects folder", errno);
    for (de = next_entry(top, &err); !e && de; de = next_entry(top, &err)) {
        if (!is_hex2(de->d_name))
            continue;
        mid = dir_at(dirfd(top), de->d_name);
        if (!mid) {
            if (errno != ENOENT && errno != ENOTDIR)
                e = io_fail(ei, "cannot open an object folder", errno);
            continue;
        }
        e = list_mid(mid, de->d_name, fn, ctx, ei);
        (void)closedir(mid);
    }
    if (!e && err)
        e = io_fail(ei, "cannot read the objects folder", err);
    (void)closedir(top);
    return e;
}

static dv_err local_sweep_tmp(store *s, unsigned *removed, dv_errinfo *ei)
{
    local_store *ls = impl_of(s);
    DIR *d = dir_at(ls->tmp_fd, ".");
    struct dirent *de;
    struct stat st;
    int err = 0;
    dv_err e = DV_OK;

    *removed = 0;
    if (!d)
        return io_fail(ei, "cannot open the tmp folder", errno);
    for (de = next_entry(d, &err); !e && de; de = next_entry(d, &err)) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fstatat(ls->tmp_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode))
            continue; /* gone meanwhile, or a folder we did not make: left alone */
        if (unlinkat(ls->tmp_fd, de->d_name, 0) == 0)
            (*removed)++;
        else if (errno != ENOENT)
            e = io_fail(ei, "cannot remove a temporary file", errno);
    }
    if (!e && err)
        e = io_fail(ei, "cannot read the tmp folder", err);
    (void)closedir(d);
    if (!e && *removed && fsync(ls->tmp_fd) != 0)
        e = io_fail(ei, "cannot sync the tmp folder", errno);
    return e;
}

/* ---- open and close ----------------------------------------------------------------------- */

static void local_close(store *s)
{
    local_store *ls = impl_of(s);

    if (ls->tmp_fd >= 0)
        (void)close(ls->tmp_fd);
    if (ls->obj_fd >= 0)
        (void)close(ls->obj_fd);
    if (ls->root_fd >= 0)
        (void)close(ls->root_fd);
    free(ls);
}

static const store_ops local_ops = {
    local_put, local_get, local_del, local_exists, local_list, local_sweep_tmp, local_close,
};

/* fsyncs the folder holding dir (so a newly made store folder survives a crash) */
static int fsync_parent(const char *dir)
{
    char parent[PATH_MAX];
    size_t n = strlen(dir);
    int fd, rc;

    while (n > 1 && dir[n - 1] == '/')
        n--;
    while (n > 0 && dir[n - 1] != '/')
        n--;
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n >= sizeof(parent))
        return -1;
    if (n == 0) {
        parent[0] = '.';
        n = 1;
    } else {
        memcpy(parent, dir, n);
    }
    parent[n] = '\0';
    fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    (void)close(fd);
    return rc;
}

static dv_err open_root(const char *dir, int create, int *fdp, dv_errinfo *ei)
{
    int made = 0;

    if (create) {
        if (mkdir(dir, DIR_MODE) == 0)
            made = 1;
        else if (errno != EEXIST)
            return io_fail(ei, "cannot make the store folder", errno);
    }
    if (made && fsync_parent(dir) != 0)
        return io_fail(ei, "cannot sync the folder above the store", errno);
    *fdp = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fdp < 0 && errno == ENOENT)
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "store folder does not exist");
    if (*fdp < 0)
        return io_fail(ei, "cannot open the store folder", errno);
    return DV_OK;
}

dv_err store_open_local(const char *dir, int create, store **out, dv_errinfo *ei)
{
    local_store *ls;
    dv_err e;

    if (!dir || !dir[0] || !out)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no store folder given");
    *out = NULL;
    ls = dv_fault_hit() ? NULL : calloc(1, sizeof(*ls));
    if (!ls)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory opening the store");
    ls->base.ops = &local_ops;
    ls->base.impl = ls;
    ls->obj_fd = ls->tmp_fd = -1;
    e = open_root(dir, create, &ls->root_fd, ei);
    if (e) {
        ls->root_fd = -1;
        local_close(&ls->base);
        return e;
    }
    ls->obj_fd = subdir(ls->root_fd, "objects", create);
    if (ls->obj_fd >= 0)
        ls->tmp_fd = subdir(ls->root_fd, "tmp", create);
    if (ls->tmp_fd < 0) {
        e = errno == ENOENT ? dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG,
                                      "folder is not a dcmvault store (no objects/ or tmp/)")
                            : io_fail(ei, "cannot open the store's folders", errno);
        local_close(&ls->base);
        return e;
    }
    *out = &ls->base;
    return DV_OK;
}
