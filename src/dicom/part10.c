/* SPDX-License-Identifier: Apache-2.0 */
/* part10.c - Part 10 framing: preamble, file meta group, transfer syntax, deflate; file I/O.
 *
 * The meta group is always explicit VR little endian (PS3.10 7.1); files in the wild that
 * wrote it in implicit VR are read with a warning.  A deflated dataset is inflated into a
 * heap buffer bounded by limits.max_total and owned by the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dicom/dicom.h"
#include "dicom/parse_int.h"

#include "common/banned.h"

#define META_MAX (1u << 20) /* a meta group larger than 1 MiB is hostile */

static int known_vr_at(const uint8_t *p)
{
    return dcm_vr_known(DCM_VR(p[0], p[1]));
}

/* Finds the end of the group 0002 elements starting at start; sets *implicit when the meta
 * group is not in explicit VR. */
static dv_err meta_extent(const uint8_t *p, size_t len, size_t start, size_t *end, int *implicit,
                          dv_errinfo *ei)
{
    size_t pos = start;
    uint64_t vlen;

    *implicit = 0;
    while (len - pos >= 8 && dv_le16(p + pos) == 0x0002) {
        if (known_vr_at(p + pos + 4)) {
            dcm_vr vr = DCM_VR(p[pos + 4], p[pos + 5]);

            if (dcm_vr_long_length(vr)) {
                if (len - pos < 12)
                    return dv_fail(ei, DV_ETRUNC, pos, DV_NO_TAG, "meta element header cut");
                vlen = 12 + (uint64_t)dv_le32(p + pos + 8);
            } else {
                vlen = 8 + (uint64_t)dv_le16(p + pos + 6);
            }
        } else {
            *implicit = 1;
            vlen = 8 + (uint64_t)dv_le32(p + pos + 4);
        }
        if (vlen > len - pos)
            return dv_fail(ei, DV_ETRUNC, pos, DCM_TAG(2, dv_le16(p + pos + 2)),
                           "meta element length passes the %zu bytes left", len - pos);
        pos += (size_t)vlen;
        if (pos - start > META_MAX)
            return dv_fail(ei, DV_ELIMIT, pos, DV_NO_TAG, "file meta group larger than %u bytes",
                           META_MAX);
    }
    *end = pos;
    return DV_OK;
}

/* Guesses the encoding of a dataset with no transfer syntax from its first element. */
static const dcm_ts *guess_ts(const uint8_t *p, size_t len)
{
    uint16_t g_le, g_be;

    if (len < 8)
        return &dcm_ts_implicit_le;
    g_le = dv_le16(p);
    g_be = dv_be16(p);
    if (known_vr_at(p + 4))
        return g_be < g_le ? &dcm_ts_explicit_be : &dcm_ts_explicit_le;
    return &dcm_ts_implicit_le;
}

static dv_err inflate_all(dcm_file *f, const uint8_t *p, size_t len, const dcm_limits *lim,
                          dv_buf *out, dv_errinfo *ei)
{
    z_stream z;
    int zr = Z_OK;
    dv_err e = DV_OK;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "zlib init failed");
    dv_buf_init(out, lim->max_total > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)lim->max_total);
    z.next_in = (Bytef *)(uintptr_t)p;
    while (zr != Z_STREAM_END) {
        size_t chunk = 1u << 20;

        e = dv_buf_reserve(out, chunk);
        if (e != DV_OK) {
            if (e == DV_ELIMIT && out->len < out->max) {
                chunk = out->max - out->len;
                e = dv_buf_reserve(out, chunk);
            }
            if (e) {
                e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG,
                            "inflated dataset passes the limit of %zu bytes", out->max);
                break;
            }
        }
        /* feed at most 1 GiB at a time: avail_in is 32-bit */
        if (z.avail_in == 0 && (size_t)(z.next_in - p) < len) {
            size_t rest = len - (size_t)(z.next_in - p);

            z.avail_in = rest > (1u << 30) ? (1u << 30) : (uInt)rest;
        }
        z.next_out = out->p + out->len;
        z.avail_out = (uInt)chunk;
        zr = inflate(&z, Z_NO_FLUSH);
        out->len += chunk - z.avail_out;
        if (zr == Z_BUF_ERROR && z.avail_in == 0) {
            dcm_warn(f, (uint64_t)(z.next_in - p), DV_NO_TAG, "deflate stream ends early");
            break;
        }
        if (zr != Z_OK && zr != Z_STREAM_END) {
            e = dv_fail(ei, DV_EMALFORMED, (uint64_t)(z.next_in - p), DV_NO_TAG,
                        "deflate stream is corrupt (zlib %d)", zr);
            break;
        }
    }
    (void)inflateEnd(&z);
    if (e)
        dv_buf_release(out);
    return e;
}

/* PS3.10 7.1: the meta elements every file must carry. */
static void check_meta(dcm_file *f, size_t start)
{
    static const uint32_t required[] = {DCM_TAG(2, 1), DCM_TAG(2, 2), DCM_TAG(2, 3),
                                        DCM_TAG(2, 0x10), DCM_TAG(2, 0x12)};
    size_t i;

    for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!dcm_ds_find(&f->meta, required[i]))
            dcm_warn(f, start, required[i], "file meta group lacks a required element");
}

static dv_err parse_meta(dcm_file *f, const uint8_t *buf, size_t len, size_t start,
                         const dcm_limits *lim, size_t *ds_start, dv_errinfo *ei)
{
    size_t end = start;
    int implicit;
    dv_err e;

    e = meta_extent(buf, len, start, &end, &implicit, ei);
    if (e)
        return e;
    if (implicit)
        dcm_warn(f, start, DV_NO_TAG, "file meta group is not in explicit VR");
    e = dcm_parse_range(f, buf + start, end - start, start, !implicit, 0, 0, lim, &f->meta, ei);
    *ds_start = end;
    if (!e)
        check_meta(f, start);
    return e;
}

static dv_err choose_ts(dcm_file *f, const uint8_t *p, size_t len, size_t start, dv_errinfo *ei)
{
    const dcm_elem *ts = dcm_ds_find(&f->meta, DCM_TAG_TRANSFER_SYNTAX);

    if (!ts || !ts->len) {
        f->ts = guess_ts(p + start, len - start);
        if (f->meta.n)
            dcm_warn(f, start, DCM_TAG_TRANSFER_SYNTAX, "no transfer syntax, guessed %s",
                     f->ts->name);
        return DV_OK;
    }
    f->ts = dcm_ts_find((const char *)ts->val, ts->len);
    if (!f->ts)
        return dv_fail(ei, DV_EUNSUPPORTED, ts->offset, DCM_TAG_TRANSFER_SYNTAX,
                       "unknown transfer syntax UID");
    return DV_OK;
}

static dv_err parse_body(dcm_file *f, const uint8_t *buf, size_t len, size_t start, unsigned flags,
                         const dcm_limits *lim, dv_errinfo *ei)
{
    dv_buf inflated = {0};
    dv_err e;

    if (!f->ts->deflated)
        return dcm_parse_range(f, buf + start, len - start, start, f->ts->explicit_vr,
                               f->ts->big_endian, flags, lim, &f->ds, ei);
    e = inflate_all(f, buf + start, len - start, lim, &inflated, ei);
    if (e)
        return e;
    f->owned_heap = inflated.p;
    /* offsets in messages are offsets in the inflated dataset */
    return dcm_parse_range(f, inflated.p, inflated.len, 0, 1, 0, flags, lim, &f->ds, ei);
}

dv_err dcm_parse(const uint8_t *buf, size_t len, unsigned flags, const dcm_limits *limits,
                 dcm_file **out, dv_errinfo *ei)
{
    dcm_limits def;
    dcm_file *f;
    size_t start = 0;
    dv_err e;

    *out = NULL;
    dv_errinfo_clear(ei);
    if (!limits) {
        dcm_limits_default(&def);
        limits = &def;
    }
    if (!buf || len < 8)
        return dv_fail(ei, DV_ETRUNC, 0, DV_NO_TAG, "%zu bytes is too short for DICOM", len);
    e = dcm_file_new(&f);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    f->arena.max = limits->max_total > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)limits->max_total;
    if (len >= 132 && !memcmp(buf + 128, "DICM", 4)) {
        f->has_preamble = 1;
        memcpy(f->preamble, buf, 128);
        start = 132;
    }
    if (len - start >= 8 && dv_le16(buf + start) == 0x0002)
        e = parse_meta(f, buf, len, start, limits, &start, ei);
    else if (f->has_preamble)
        dcm_warn(f, start, DV_NO_TAG, "no file meta group after the preamble");
    if (!e)
        e = choose_ts(f, buf, len, start, ei);
    if (!e && start < len)
        e = parse_body(f, buf, len, start, flags, limits, ei);
    if (!e && !f->meta.n && !f->ds.n)
        e = dv_fail(ei, DV_EMALFORMED, 0, DV_NO_TAG, "no DICOM elements found");
    if (e) {
        dcm_file_free(f);
        return e;
    }
    *out = f;
    return DV_OK;
}

dv_err dcm_read_file(const char *path, unsigned flags, const dcm_limits *limits, dcm_file **out,
                     dv_errinfo *ei)
{
    struct stat st;
    void *map;
    int fd;
    dv_err e;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot open: %s", strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        (void)close(fd);
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "not a regular file");
    }
    if (st.st_size < 8) {
        (void)close(fd);
        return dv_fail(ei, DV_ETRUNC, 0, DV_NO_TAG, "%lld bytes is too short for DICOM",
                       (long long)st.st_size);
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    (void)close(fd);
    if (map == MAP_FAILED)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot map: %s", strerror(errno));
    (void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
    e = dcm_parse(map, (size_t)st.st_size, flags, limits, out, ei);
    if (!e && !*out)
        e = DV_EINVAL;
    if (e) {
        (void)munmap(map, (size_t)st.st_size);
        return e;
    }
    (*out)->owned_map = map;
    (*out)->owned_map_len = (size_t)st.st_size;
    return DV_OK;
}

dv_err dcm_write_file_atomic(const char *path, const uint8_t *p, size_t len, dv_errinfo *ei)
{
    return dcm_write_file_atomic_ex(path, p, len, 0, ei);
}

dv_err dcm_sync_folder(const char *dir, dv_errinfo *ei)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

    if (fd < 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot open the output folder: %s",
                       strerror(errno));
    rc = syncfs(fd);
    if (rc == 0)
        rc = fsync(fd);
    if (close(fd) != 0)
        rc = -1;
    if (rc != 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot sync the output folder");
    return DV_OK;
}

dv_err dcm_write_file_atomic_ex(const char *path, const uint8_t *p, size_t len, unsigned flags,
                                dv_errinfo *ei)
{
    char tmp[4096], dir[4096];
    const char *slash = strrchr(path, '/');
    size_t off = 0;
    int fd, dfd, n;

    n = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "output path too long");
    fd = mkstemp(tmp);
    if (fd < 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot create temporary file: %s",
                       strerror(errno));
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        off += (size_t)w;
    }
    if (!(flags & DCM_WRITE_NO_SYNC) && fsync(fd) != 0) /* mode 0600 from mkstemp: PHI */
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    if (flags & DCM_WRITE_NO_SYNC)
        return DV_OK;
    n = slash ? snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path + 1), path)
              : snprintf(dir, sizeof(dir), ".");
    if (n > 0 && (size_t)n < sizeof(dir)) {
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            n = fsync(dfd);
            (void)close(dfd);
            if (n != 0)
                return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "fsync of folder failed");
        }
    }
    return DV_OK;
fail : {
    int saved = errno;

    if (fd >= 0)
        (void)close(fd);
    (void)unlink(tmp);
    return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot write output: %s", strerror(saved));
}
}
