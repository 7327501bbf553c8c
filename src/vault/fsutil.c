/* SPDX-License-Identifier: Apache-2.0 */
/* fsutil.c - the vault's file helpers: atomic writes with a chosen mode, whole-file reads,
 * folder fsync, destroying a key file, paths and hex.
 *
 * Atomic write: a temporary file beside the target (O_EXCL, the final mode from the start),
 * written, fsynced, renamed over the target, then the folder fsynced: the target is either the
 * old or the new content, never a mix, and a crash leaves at most a *.tmp.* file behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vault/vault_int.h"

#include "common/banned.h"

static dv_err fs_io(dv_errinfo *ei, const char *what)
{
    int err = errno;

    return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "%s: %s", what, strerror(err));
}

static dv_err fs_write_all(int fd, const uint8_t *p, size_t len, dv_errinfo *ei)
{
    while (len) {
        ssize_t w = write(fd, p, len > ((size_t)1 << 30) ? ((size_t)1 << 30) : len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return fs_io(ei, "write failed");
        p += w;
        len -= (size_t)w;
    }
    return DV_OK;
}

dv_err vault_fsync_parent(const char *path, dv_errinfo *ei)
{
    char copy[VAULT_PATH_MAX];
    size_t n = strlen(path);
    int fd;
    dv_err e = DV_OK;

    if (n >= sizeof(copy))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "path too long");
    memcpy(copy, path, n + 1);
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fs_io(ei, "cannot open the folder to sync it");
    if (fsync(fd) != 0)
        e = fs_io(ei, "fsync of a folder failed");
    (void)close(fd);
    return e;
}

dv_err vault_write_atomic(const char *path, const uint8_t *p, size_t len, unsigned mode,
                          dv_errinfo *ei)
{
    char tmp[VAULT_PATH_MAX];
    uint8_t rnd[6];
    char hex[13];
    int fd, n;
    dv_err e;

    crypto_random(rnd, sizeof(rnd));
    vault_hex(rnd, sizeof(rnd), hex);
    n = snprintf(tmp, sizeof(tmp), "%s.tmp.%s", path, hex);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "path too long");
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
    if (fd < 0)
        return fs_io(ei, "cannot create a temporary file");
    e = fs_write_all(fd, p, len, ei);
    if (!e && fchmod(fd, (mode_t)mode) != 0)
        e = fs_io(ei, "chmod failed");
    if (!e && fsync(fd) != 0)
        e = fs_io(ei, "fsync failed");
    if (close(fd) != 0 && !e)
        e = fs_io(ei, "close failed");
    if (!e && rename(tmp, path) != 0)
        e = fs_io(ei, "rename failed");
    if (e) {
        (void)unlink(tmp);
        return e;
    }
    return vault_fsync_parent(path, ei);
}

dv_err vault_read_file(const char *path, size_t max, dv_buf *out, dv_errinfo *ei)
{
    struct stat st;
    int fd;
    dv_err e = DV_OK;
    size_t got = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "no such file");
        return fs_io(ei, "cannot open");
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        (void)close(fd);
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "not a regular file");
    }
    if ((uint64_t)st.st_size > max) {
        (void)close(fd);
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "file larger than %zu bytes", max);
    }
    e = dv_buf_reserve(out, (size_t)st.st_size);
    if (e) {
        (void)close(fd);
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "cannot hold the file");
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, out->p + out->len + got, (size_t)st.st_size - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = fs_io(ei, "read failed");
            break;
        }
        if (r == 0)
            break; /* the file shrank: keep what was read */
        got += (size_t)r;
    }
    (void)close(fd);
    if (!e) {
        out->len += got;
        out->p[out->len] = 0;
    }
    return e;
}

dv_err vault_destroy_file(const char *path, dv_errinfo *ei)
{
    uint8_t junk[4096];
    struct stat st;
    size_t left;
    int fd;
    dv_err e = DV_OK;

    fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return fs_io(ei, "cannot open the old key file to destroy it");
    if (fstat(fd, &st) != 0) {
        (void)close(fd);
        return fs_io(ei, "stat failed");
    }
    left = st.st_size > 64 ? (size_t)st.st_size : 64;
    while (!e && left) {
        size_t n = left < sizeof(junk) ? left : sizeof(junk);

        crypto_random(junk, n);
        e = fs_write_all(fd, junk, n, ei);
        left -= n;
    }
    if (!e && fsync(fd) != 0)
        e = fs_io(ei, "fsync failed");
    (void)close(fd);
    if (!e && unlink(path) != 0)
        e = fs_io(ei, "unlink failed");
    if (!e)
        e = vault_fsync_parent(path, ei);
    return e;
}

dv_err vault_path(char *out, size_t outlen, const char *dir, const char *name)
{
    int n = snprintf(out, outlen, "%s/%s", dir, name);

    return (n < 0 || (size_t)n >= outlen) ? DV_ELIMIT : DV_OK;
}

dv_err vault_default_keyfile(const char *dir, char *out, size_t outlen)
{
    size_t n = strlen(dir);
    int w;

    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 0 || (n == 1 && dir[0] == '/'))
        return DV_EINVAL;
    w = snprintf(out, outlen, "%.*s.kek", (int)n, dir);
    return (w < 0 || (size_t)w >= outlen) ? DV_ELIMIT : DV_OK;
}

dv_err vault_abs_path(const char *path, char *out, size_t outlen)
{
    char cwd[VAULT_PATH_MAX];
    int n;

    if (path[0] == '/')
        n = snprintf(out, outlen, "%s", path);
    else if (getcwd(cwd, sizeof(cwd)))
        n = snprintf(out, outlen, "%s/%s", cwd, path);
    else
        return DV_EIO;
    return (n < 0 || (size_t)n >= outlen) ? DV_ELIMIT : DV_OK;
}

void vault_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int vault_unhex(const char *s, uint8_t *out, size_t n)
{
    size_t i;

    if (strlen(s) != 2 * n)
        return -1;
    for (i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

struct dirent *vault_readdir(DIR *d)
{
    /* cppcheck-suppress readdirCalled ; readdir_r is deprecated in glibc, and every DIR
     * stream here belongs to one call on one thread */
    return readdir(d);
}

double vault_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
