/* SPDX-License-Identifier: Apache-2.0 */
/* store.c - the log folder: tlog-tiles paths, bundle splitting, bounded and durable file I/O,
 * and the checkpoint history file.
 *
 * Bundle invariant: a bundle is a run of records "uint16 BE length | entry", 1 <= length <=
 * AUDIT_ENTRY_MAX, at most 256 of them; only the newest bundle may hold fewer than 256.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_int.h"

#include "common/banned.h"

void audit_tile_name(int level, uint64_t n, char *out, size_t outlen)
{
    char num[64];
    size_t len = 0;
    int groups = 1, g;
    uint64_t t = n;

    while (t >= 1000) {
        t /= 1000;
        groups++;
    }
    for (g = groups - 1; g >= 0; g--) {
        uint64_t div = 1, part;
        int k;

        for (k = 0; k < g; k++)
            div *= 1000;
        part = (n / div) % 1000;
        len += (size_t)snprintf(num + len, sizeof(num) - len, "%s%03u%s", g ? "x" : "",
                                (unsigned)part, g ? "/" : "");
    }
    if (level < 0)
        (void)snprintf(out, outlen, "tile/entries/%s", num);
    else
        (void)snprintf(out, outlen, "tile/%d/%s", level, num);
}

dv_err audit_tile_path(const char *dir, int level, uint64_t n, char *out, size_t outlen)
{
    char name[128];
    int w;

    audit_tile_name(level, n, name, sizeof(name));
    w = snprintf(out, outlen, "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= outlen)
        return DV_ELIMIT;
    return DV_OK;
}

void audit_bundle_split(const uint8_t *p, size_t n, size_t off[AUDIT_TILE_WIDTH],
                        size_t len[AUDIT_TILE_WIDTH], size_t *count, size_t *used)
{
    size_t pos = 0, c = 0, l;

    while (c < AUDIT_TILE_WIDTH && n - pos >= 2) {
        l = dv_be16(p + pos);
        if (l == 0 || l > AUDIT_ENTRY_MAX || l > n - pos - 2)
            break;
        off[c] = pos + 2;
        len[c] = l;
        c++;
        pos += 2 + l;
    }
    *count = c;
    *used = pos;
}

dv_err audit_file_read(const char *path, size_t max, dv_buf *out, dv_errinfo *ei)
{
    struct stat st;
    size_t got = 0;
    ssize_t r;
    dv_err e;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    dv_buf_reset(out);
    if (fd < 0)
        return errno == ENOENT
                   ? dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "absent")
                   : dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "open: %s", strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        (void)close(fd);
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "not a regular file");
    }
    if ((uint64_t)st.st_size > max) {
        (void)close(fd);
        return dv_fail(ei, DV_ELIMIT, (uint64_t)st.st_size, DV_NO_TAG, "file larger than %zu bytes",
                       max);
    }
    e = dv_buf_reserve(out, (size_t)st.st_size + 1);
    while (!e) {
        r = read(fd, out->p + got, out->cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            e = dv_fail(ei, DV_EIO, got, DV_NO_TAG, "read: %s", strerror(errno));
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got > max)
            e = dv_fail(ei, DV_ELIMIT, got, DV_NO_TAG, "file grew past %zu bytes", max);
        else if (got == out->cap)
            e = dv_buf_reserve(out, 4096);
    }
    (void)close(fd);
    if (e) {
        dv_buf_release(out);
        return e == DV_ENOMEM ? dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "reading a file") : e;
    }
    out->len = got;
    out->p[got] = 0;
    return DV_OK;
}

dv_err audit_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    ssize_t w;

    while (n) {
        w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return DV_EIO;
        b += w;
        n -= (size_t)w;
    }
    return DV_OK;
}

dv_err audit_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r;

    if (fd < 0)
        return DV_EIO;
    r = fsync(fd);
    (void)close(fd);
    return r ? DV_EIO : DV_OK;
}

static void parent_of(const char *path, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;

    if (!slash) {
        (void)snprintf(out, outlen, ".");
        return;
    }
    if (n == 0)
        n = 1;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, path, n);
    out[n] = 0;
}

dv_err audit_file_replace(const char *path, const void *p, size_t n, unsigned mode, dv_errinfo *ei)
{
    char tmp[AUDIT_PATH_MAX], dir[AUDIT_PATH_MAX];
    int fd, w;
    dv_err e;

    w = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (w < 0 || (size_t)w >= sizeof(tmp))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "path too long");
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "create %s: %s", tmp, strerror(errno));
    e = audit_write_all(fd, p, n);
    if (!e && fsync(fd) != 0)
        e = DV_EIO;
    if (close(fd) != 0)
        e = DV_EIO;
    if (!e && rename(tmp, path) != 0)
        e = DV_EIO;
    parent_of(path, dir, sizeof(dir));
    if (!e)
        e = audit_fsync_dir(dir);
    if (e) {
        (void)unlink(tmp);
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "writing %s: %s", path,
                       strerror(errno));
    }
    return DV_OK;
}

dv_err audit_mkdirs_for(const char *path, dv_errinfo *ei)
{
    char buf[AUDIT_PATH_MAX], parent[AUDIT_PATH_MAX];
    size_t n = strnlen(path, sizeof(buf)), i;

    if (n >= sizeof(buf))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "path too long");
    memcpy(buf, path, n + 1);
    for (i = 1; i < n; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = 0;
        if (mkdir(buf, 0700) == 0) {
            parent_of(buf, parent, sizeof(parent));
            if (audit_fsync_dir(parent))
                return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "fsync %s", parent);
        } else if (errno != EEXIST) {
            return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "mkdir %s: %s", buf,
                           strerror(errno));
        }
        buf[i] = '/';
    }
    return DV_OK;
}

static int bundle_exists(const char *dir, uint64_t k)
{
    char path[AUDIT_PATH_MAX];
    struct stat st;

    if (audit_tile_path(dir, -1, k, path, sizeof(path)))
        return 0;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

dv_err audit_bundle_count(const char *dir, uint64_t *n, dv_errinfo *ei)
{
    uint64_t lo, hi, mid;

    (void)ei;
    if (!bundle_exists(dir, 0)) {
        *n = 0;
        return DV_OK;
    }
    /* galloping search for the first absent bundle, then bisection: bundles form a run */
    lo = 0;
    hi = 1;
    while (bundle_exists(dir, hi)) {
        lo = hi;
        hi = hi * 2;
    }
    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;
        if (bundle_exists(dir, mid))
            lo = mid;
        else
            hi = mid;
    }
    *n = lo + 1;
    return DV_OK;
}

/* ---- checkpoint history ---------------------------------------------------------------------- */

static size_t read_full(FILE *f, uint8_t *p, size_t n)
{
    return fread(p, 1, n, f);
}

dv_err audit_history_read(const char *dir, audit_note_cb fn, void *ctx, uint64_t *torn,
                          uint64_t *valid_bytes, dv_errinfo *ei)
{
    char path[AUDIT_PATH_MAX];
    uint8_t hdr[4], note[AUDIT_NOTE_MAX];
    uint64_t idx = 0, pos = 0;
    size_t got, len;
    dv_err e = DV_OK;
    FILE *f;

    *torn = 0;
    *valid_bytes = 0;
    (void)snprintf(path, sizeof(path), "%s/checkpoints", dir);
    f = fopen(path, "rbe");
    if (!f)
        return errno == ENOENT ? DV_OK
                               : dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "open checkpoints");
    for (;;) {
        got = read_full(f, hdr, 4);
        if (got < 4) {
            *torn = got;
            break;
        }
        len = dv_be32(hdr);
        if (len == 0 || len > AUDIT_NOTE_MAX) {
            e = dv_fail(ei, DV_EMALFORMED, pos, DV_NO_TAG,
                        "checkpoints: record %llu has length %zu (1..%d)", (unsigned long long)idx,
                        len, AUDIT_NOTE_MAX);
            break;
        }
        got = read_full(f, note, len);
        if (got < len) {
            *torn = 4 + got;
            break;
        }
        e = fn(ctx, idx, note, len);
        if (e)
            break;
        idx++;
        pos += 4 + len;
        *valid_bytes = pos;
    }
    if (ferror(f) && !e)
        e = dv_fail(ei, DV_EIO, pos, DV_NO_TAG, "reading checkpoints");
    (void)fclose(f);
    return e;
}
