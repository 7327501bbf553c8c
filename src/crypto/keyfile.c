/* SPDX-License-Identifier: Apache-2.0 */
/* keyfile.c - key-encryption keys from a key file (hex, one line, mode 0600) or a passphrase.
 *
 * Invariants: a key file is created with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600, written,
 * fsynced, and its folder fsynced, or it is removed again; a key file is loaded only when it
 * is a regular file (not a symbolic link) that neither group nor other may read or write, and
 * holds exactly 64 hex digits and an optional newline.  Hex text and keys on the stack are
 * wiped before return.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/dv.h"
#include "crypto/crypto.h"

#include "common/banned.h"

#define HEX_CHARS  64              /* two per key byte */
#define FILE_MAX   (HEX_CHARS + 1) /* hex digits and one newline */
#define PWHASH_OPS crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE
#define PWHASH_MEM crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE
#define PWHASH_ALG crypto_pwhash_ALG_ARGON2ID13
#define OWASP_MEM  (19u * 1024u * 1024u)
#define OWASP_OPS  2u

_Static_assert(HEX_CHARS == 2 * CRYPTO_KEY_BYTES, "two hex digits per key byte");
_Static_assert(PWHASH_MEM >= OWASP_MEM, "Argon2id memory at least OWASP's 19 MiB");
_Static_assert(PWHASH_OPS >= OWASP_OPS, "Argon2id at least two passes");

static dv_err io_fail(dv_errinfo *ei, const char *what, int err)
{
    return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "%s: %s", what, strerror(err));
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsyncs the folder that holds path, so that the new name is durable */
static int fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n;
    int fd, rc, err;

    if (!slash) {
        dir[0] = '.';
        n = 1;
    } else {
        n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof(dir)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(dir, path, n);
    }
    dir[n] = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    err = errno;
    if (close(fd) != 0 && rc == 0)
        return -1;
    errno = err;
    return rc;
}

/* writes the key as one hex line to a fresh file; 0, or -1 with errno set */
static int write_keyfile(int fd, const crypto_key *k)
{
    char hex[HEX_CHARS + 1];
    int rc, err;

    (void)sodium_bin2hex(hex, sizeof(hex), k->k, sizeof(k->k));
    hex[HEX_CHARS] = '\n';
    rc = fchmod(fd, S_IRUSR | S_IWUSR);
    if (rc == 0)
        rc = write_all(fd, (const uint8_t *)hex, sizeof(hex));
    err = errno;
    sodium_memzero(hex, sizeof(hex));
    if (rc == 0)
        rc = fsync(fd);
    else
        errno = err;
    return rc;
}

dv_err crypto_keyfile_create(const char *path, crypto_key *out, dv_errinfo *ei)
{
    crypto_key k;
    int fd, rc, err;

    if (!path || !path[0])
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no key file path");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, S_IRUSR | S_IWUSR);
    if (fd < 0 && errno == EEXIST)
        return dv_fail(ei, DV_EEXIST, DV_NO_OFFSET, DV_NO_TAG,
                       "key file already exists; refusing to overwrite it");
    if (fd < 0)
        return io_fail(ei, "cannot create the key file", errno);
    crypto_key_random(&k);
    rc = write_keyfile(fd, &k);
    err = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        err = errno;
    }
    if (rc == 0 && fsync_parent(path) != 0) {
        rc = -1;
        err = errno;
    }
    if (rc != 0) {
        (void)unlink(path);
        sodium_memzero(&k, sizeof(k));
        return io_fail(ei, "cannot write the key file", err);
    }
    *out = k;
    sodium_memzero(&k, sizeof(k));
    return DV_OK;
}

/* opens path for reading and checks what it is; the fd on success */
static dv_err open_checked(const char *path, int *fdp, dv_errinfo *ei)
{
    struct stat st;
    int fd;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ELOOP)
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                       "key file is a symbolic link; give the real path");
    if (fd < 0 && errno == ENOENT)
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "key file does not exist");
    if (fd < 0)
        return io_fail(ei, "cannot open the key file", errno);
    if (fstat(fd, &st) != 0) {
        int err = errno;
        (void)close(fd);
        return io_fail(ei, "cannot stat the key file", err);
    }
    if (!S_ISREG(st.st_mode)) {
        (void)close(fd);
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG, "key file is not a regular file");
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        (void)close(fd);
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                       "key file is readable by others; chmod 600");
    }
    *fdp = fd;
    return DV_OK;
}

/* reads at most cap bytes (stops at end of file); -1 on a read error */
static ssize_t read_upto(int fd, uint8_t *p, size_t cap)
{
    size_t n = 0;

    while (n < cap) {
        ssize_t r = read(fd, p + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    return (ssize_t)n;
}

static int all_hex(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
              (p[i] >= 'A' && p[i] <= 'F')))
            return 0;
    return 1;
}

static dv_err parse_hex(const uint8_t *txt, ssize_t n, crypto_key *out, dv_errinfo *ei)
{
    size_t binlen = 0;
    const char *end = NULL;

    if ((n != HEX_CHARS && !(n == FILE_MAX && txt[HEX_CHARS] == '\n')) ||
        !all_hex(txt, HEX_CHARS) ||
        sodium_hex2bin(out->k, sizeof(out->k), (const char *)txt, HEX_CHARS, NULL, &binlen, &end) !=
            0 ||
        binlen != sizeof(out->k) || end != (const char *)txt + HEX_CHARS) {
        sodium_memzero(out, sizeof(*out));
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                       "key file is not one line of %d hex digits", HEX_CHARS);
    }
    return DV_OK;
}

dv_err crypto_keyfile_load(const char *path, crypto_key *out, dv_errinfo *ei)
{
    uint8_t txt[FILE_MAX + 1];
    ssize_t n;
    int fd = -1;
    dv_err e;

    if (!path || !path[0])
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no key file path");
    e = open_checked(path, &fd, ei);
    if (e)
        return e;
    n = read_upto(fd, txt, sizeof(txt));
    if (n < 0) {
        int err = errno;
        (void)close(fd);
        return io_fail(ei, "cannot read the key file", err);
    }
    (void)close(fd); /* read-only: nothing to lose on close */
    e = parse_hex(txt, n, out, ei);
    sodium_memzero(txt, sizeof(txt));
    return e;
}

dv_err crypto_kek_from_passphrase(const char *pass, size_t len,
                                  const uint8_t salt[CRYPTO_SALT_BYTES], crypto_key *out,
                                  dv_errinfo *ei)
{
    _Static_assert(CRYPTO_SALT_BYTES == crypto_pwhash_SALTBYTES, "Argon2id salt size");

    if (!pass || !len || !salt)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "empty passphrase or no salt");
    if (len > crypto_pwhash_PASSWD_MAX)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "passphrase is too long");
    if (crypto_pwhash(out->k, sizeof(out->k), pass, len, salt, PWHASH_OPS, PWHASH_MEM,
                      PWHASH_ALG) != 0) {
        sodium_memzero(out, sizeof(*out));
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG,
                       "Argon2id could not get its %u MiB of memory", (unsigned)(PWHASH_MEM >> 20));
    }
    return DV_OK;
}
