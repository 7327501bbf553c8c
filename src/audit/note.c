/* SPDX-License-Identifier: Apache-2.0 */
/* note.c - Ed25519 keys in the C2SP signed-note formats, signed notes and tlog-checkpoints.
 *
 * Formats (docs/audit.md "Checkpoints"):
 *   checkpoint body  "<origin>\n<size>\n<base64 root>\n" [extension lines]
 *   signed note      body "\n" then lines "— <key name> <base64(key hash(4) | signature(64))>\n"
 *   key hash         SHA-256(name | 0x0A | 0x01 | public key)[0:4]
 *   vkey             "<name>+<8 hex key hash>+<base64(0x01 | public key)>"
 *   secret key file  "PRIVATE+KEY+<name>+<8 hex key hash>+<base64(0x01 | seed)>"
 * Key names and origins here: 1..128 bytes of printable ASCII without space and '+'.
 * Every parser checks lengths before copying and accepts only the canonical form.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/audit_int.h"

#include "common/banned.h"

#define SIG_ALG_ED25519 1
#define SIG_PREFIX      "\xE2\x80\x94 " /* U+2014 EM DASH and a space */
#define NOTE_MAX_SIGS   16
#define NOTE_LINE_MAX   512
#define B64_TEXT_MAX    8192 /* longest base64 text decoded here (an entry in a proof) */

/* ---- base64, key names and hashes ---------------------------------------------------------- */

void audit_b64_encode(const uint8_t *p, size_t n, char *out, size_t outlen)
{
    if (outlen < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL)) {
        if (outlen)
            out[0] = 0;
        return;
    }
    (void)sodium_bin2base64(out, outlen, p, n, sodium_base64_VARIANT_ORIGINAL);
}

dv_err audit_b64_decode(const char *s, size_t n, uint8_t *out, size_t outmax, size_t *outlen)
{
    char again[B64_TEXT_MAX + 8];
    const char *end = NULL;

    *outlen = 0;
    if (n == 0 || n % 4 || n > B64_TEXT_MAX || (n / 4) * 3 > outmax + 2)
        return DV_EMALFORMED;
    if (sodium_base642bin(out, outmax, s, n, NULL, outlen, &end, sodium_base64_VARIANT_ORIGINAL) !=
            0 ||
        end != s + n)
        return DV_EMALFORMED;
    /* canonical: re-encoding gives the same text (no stray bits in the padding) */
    audit_b64_encode(out, *outlen, again, sizeof(again));
    if (strlen(again) != n || memcmp(again, s, n) != 0)
        return DV_EMALFORMED;
    return DV_OK;
}

int audit_key_name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > AUDIT_ORIGIN_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7F || s[i] == '+')
            return 0;
    return 1;
}

void audit_key_hash(const char *name, const uint8_t pk[AUDIT_PUBKEY_BYTES], uint8_t out[4])
{
    crypto_hash_sha256_state st;
    uint8_t h[crypto_hash_sha256_BYTES];
    const uint8_t sep[2] = {'\n', SIG_ALG_ED25519};

    (void)crypto_hash_sha256_init(&st);
    (void)crypto_hash_sha256_update(&st, (const uint8_t *)name, strlen(name));
    (void)crypto_hash_sha256_update(&st, sep, 2);
    (void)crypto_hash_sha256_update(&st, pk, AUDIT_PUBKEY_BYTES);
    (void)crypto_hash_sha256_final(&st, h);
    memcpy(out, h, 4);
}

dv_err audit_vkey_make(const char *name, const uint8_t pk[AUDIT_PUBKEY_BYTES], audit_vkey *vk,
                       dv_errinfo *ei)
{
    size_t n = name ? strnlen(name, AUDIT_ORIGIN_MAX + 1) : 0;

    if (!name || !audit_key_name_ok(name, n))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "key name: 1..%d printable ASCII characters without space or '+'",
                       AUDIT_ORIGIN_MAX);
    memset(vk, 0, sizeof(*vk));
    memcpy(vk->name, name, n);
    memcpy(vk->pk, pk, AUDIT_PUBKEY_BYTES);
    audit_key_hash(vk->name, pk, vk->hash);
    return DV_OK;
}

/* "<name>+<hash hex>+<base64(0x01 | key)>" with key = pk or seed. */
static dv_err key_line(const char *prefix, const char *name, const uint8_t hash[4],
                       const uint8_t key[32], char *out, size_t outlen)
{
    uint8_t raw[33];
    char b64[64];
    int w;

    raw[0] = SIG_ALG_ED25519;
    memcpy(raw + 1, key, 32);
    audit_b64_encode(raw, sizeof(raw), b64, sizeof(b64));
    sodium_memzero(raw, sizeof(raw));
    w = snprintf(out, outlen, "%s%s+%02x%02x%02x%02x+%s", prefix, name, hash[0], hash[1], hash[2],
                 hash[3], b64);
    sodium_memzero(b64, sizeof(b64));
    return (w < 0 || (size_t)w >= outlen) ? DV_ELIMIT : DV_OK;
}

dv_err audit_vkey_format(const audit_vkey *vk, char *out, size_t outlen)
{
    return key_line("", vk->name, vk->hash, vk->pk, out, outlen);
}

/* Parses "<name>+<hex8>+<base64(0x01 | key)>" (after any prefix); fills name, hash, key. */
static dv_err key_parse(const char *s, size_t n, char name[AUDIT_ORIGIN_MAX + 1], uint8_t hash[4],
                        uint8_t key[32], dv_errinfo *ei)
{
    const char *p1 = memchr(s, '+', n), *p2;
    uint8_t raw[40];
    size_t rawlen, hl;

    if (n && s[n - 1] == '\n')
        n--;
    p2 = p1 ? memchr(p1 + 1, '+', n - (size_t)(p1 + 1 - s)) : NULL;
    if (!p1 || !p2)
        return dv_fail(ei, DV_EMALFORMED, 0, DV_NO_TAG, "key: expected name+hash+key");
    if (!audit_key_name_ok(s, (size_t)(p1 - s)))
        return dv_fail(ei, DV_EMALFORMED, 0, DV_NO_TAG, "key: bad key name");
    if (p2 - p1 - 1 != 8 || sodium_hex2bin(hash, 4, p1 + 1, 8, NULL, &hl, NULL) != 0 || hl != 4)
        return dv_fail(ei, DV_EMALFORMED, (uint64_t)(p1 + 1 - s), DV_NO_TAG,
                       "key: the key hash must be 8 hex digits");
    if (audit_b64_decode(p2 + 1, n - (size_t)(p2 + 1 - s), raw, sizeof(raw), &rawlen) ||
        rawlen != 33 || raw[0] != SIG_ALG_ED25519) {
        sodium_memzero(raw, sizeof(raw));
        return dv_fail(ei, DV_EMALFORMED, (uint64_t)(p2 + 1 - s), DV_NO_TAG,
                       "key: expected base64 of 0x01 and 32 key bytes");
    }
    memcpy(name, s, (size_t)(p1 - s));
    name[p1 - s] = 0;
    memcpy(key, raw + 1, 32);
    sodium_memzero(raw, sizeof(raw));
    return DV_OK;
}

dv_err audit_vkey_parse(const char *s, size_t n, audit_vkey *vk, dv_errinfo *ei)
{
    uint8_t h[4];
    dv_err e;

    memset(vk, 0, sizeof(*vk));
    if (n > 512)
        return dv_fail(ei, DV_ELIMIT, 512, DV_NO_TAG, "key: longer than 512 bytes");
    e = key_parse(s, n, vk->name, vk->hash, vk->pk, ei);
    if (e)
        return e;
    audit_key_hash(vk->name, vk->pk, h);
    if (memcmp(h, vk->hash, 4) != 0)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                       "key: the key hash does not match the name and key");
    return DV_OK;
}

/* ---- key files ------------------------------------------------------------------------------ */

static dv_err write_new(const char *path, const char *text, unsigned mode, dv_errinfo *ei)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    dv_err e;

    if (fd < 0)
        return dv_fail(ei, errno == EEXIST ? DV_EEXIST : DV_EIO, DV_NO_OFFSET, DV_NO_TAG,
                       "create %s: %s", path, strerror(errno));
    e = audit_write_all(fd, text, strlen(text));
    if (!e && fsync(fd) != 0)
        e = DV_EIO;
    if (close(fd) != 0)
        e = DV_EIO;
    if (e) {
        (void)unlink(path);
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "writing %s", path);
    }
    return DV_OK;
}

dv_err audit_keygen(const char *name, const char *secret_path, const char *pubkey_path,
                    dv_errinfo *ei)
{
    uint8_t seed[32], pk[32], sk[64];
    char line[400];
    audit_vkey vk;
    dv_err e;

    randombytes_buf(seed, sizeof(seed));
    (void)crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(sk, sizeof(sk));
    e = audit_vkey_make(name, pk, &vk, ei);
    if (!e)
        e = key_line("PRIVATE+KEY+", vk.name, vk.hash, seed, line, sizeof(line) - 1);
    sodium_memzero(seed, sizeof(seed));
    if (!e) {
        size_t n = strlen(line);

        line[n] = '\n';
        line[n + 1] = 0;
        e = write_new(secret_path, line, 0600, ei);
    }
    sodium_memzero(line, sizeof(line));
    if (!e)
        e = audit_vkey_format(&vk, line, sizeof(line) - 1);
    if (!e) {
        size_t n = strlen(line);

        line[n] = '\n';
        line[n + 1] = 0;
        e = write_new(pubkey_path, line, 0644, ei);
    }
    return e;
}

dv_err audit_secret_load(const char *path, char name[AUDIT_ORIGIN_MAX + 1],
                         uint8_t seed[AUDIT_SIGN_SEED_BYTES], dv_errinfo *ei)
{
    static const char pre[] = "PRIVATE+KEY+";
    uint8_t pk[32], sk[64], h[4], want[4];
    struct stat st;
    dv_buf b;
    dv_err e;

    if (stat(path, &st) != 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode) || (st.st_mode & 0077))
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                       "%s: a secret key file must be a regular file with mode 0600", path);
    dv_buf_init(&b, 1024);
    e = audit_file_read(path, 1024, &b, ei);
    if (!e && (b.len < sizeof(pre) || memcmp(b.p, pre, sizeof(pre) - 1) != 0))
        e = dv_fail(ei, DV_EMALFORMED, 0, DV_NO_TAG, "%s: not a PRIVATE+KEY line", path);
    if (!e)
        e = key_parse((const char *)b.p + sizeof(pre) - 1, b.len - (sizeof(pre) - 1), name, want,
                      seed, ei);
    if (b.p)
        sodium_memzero(b.p, b.cap);
    dv_buf_release(&b);
    if (e)
        return e;
    (void)crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(sk, sizeof(sk));
    audit_key_hash(name, pk, h);
    if (memcmp(h, want, 4) != 0) {
        sodium_memzero(seed, AUDIT_SIGN_SEED_BYTES);
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                       "%s: the key hash does not match the key", path);
    }
    return DV_OK;
}

dv_err audit_vkey_load(const char *path, audit_vkey *vk, dv_errinfo *ei)
{
    dv_buf b;
    dv_err e;

    dv_buf_init(&b, 1024);
    e = audit_file_read(path, 1024, &b, ei);
    if (!e)
        e = audit_vkey_parse((const char *)b.p, b.len, vk, ei);
    dv_buf_release(&b);
    return e;
}

/* ---- checkpoints and notes ------------------------------------------------------------------ */

/* Next line of [p, p + n) from *pos: sets *line and *len (without the newline); 0 at the end
 * or when the rest has no newline. */
static int next_line(const uint8_t *p, size_t n, size_t *pos, const uint8_t **line, size_t *len)
{
    const uint8_t *nl;

    if (*pos >= n)
        return 0;
    nl = memchr(p + *pos, '\n', n - *pos);
    if (!nl)
        return 0;
    *line = p + *pos;
    *len = (size_t)(nl - (p + *pos));
    *pos += *len + 1;
    return 1;
}

static int parse_size(const uint8_t *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 1;
}

dv_err audit_checkpoint_parse(const uint8_t *p, size_t n, audit_checkpoint *cp, dv_errinfo *ei)
{
    const uint8_t *l = p;
    size_t pos = 0, len, rl, lines = 0;

    memset(cp, 0, sizeof(*cp));
    if (n > AUDIT_NOTE_MAX)
        return dv_fail(ei, DV_ELIMIT, AUDIT_NOTE_MAX, DV_NO_TAG, "checkpoint: too long");
    if (!n || p[n - 1] != '\n')
        return dv_fail(ei, DV_EMALFORMED, n, DV_NO_TAG, "checkpoint: must end with a newline");
    if (!next_line(p, n, &pos, &l, &len) || !audit_key_name_ok((const char *)l, len))
        return dv_fail(ei, DV_EMALFORMED, 0, DV_NO_TAG, "checkpoint: bad origin line");
    memcpy(cp->origin, l, len);
    if (!next_line(p, n, &pos, &l, &len) || !parse_size(l, len, &cp->size))
        return dv_fail(ei, DV_EMALFORMED, (uint64_t)(l - p), DV_NO_TAG,
                       "checkpoint: bad tree size line");
    if (!next_line(p, n, &pos, &l, &len) ||
        audit_b64_decode((const char *)l, len, cp->root, sizeof(cp->root), &rl) ||
        rl != AUDIT_HASH_BYTES)
        return dv_fail(ei, DV_EMALFORMED, (uint64_t)(l - p), DV_NO_TAG,
                       "checkpoint: bad root hash line");
    while (next_line(p, n, &pos, &l, &len)) {
        if (++lines > 16)
            return dv_fail(ei, DV_ELIMIT, (uint64_t)(l - p), DV_NO_TAG,
                           "checkpoint: more than 16 extension lines");
        if (!len || len > NOTE_LINE_MAX || audit_detail_bad(l, len))
            return dv_fail(ei, DV_EMALFORMED, (uint64_t)(l - p), DV_NO_TAG,
                           "checkpoint: bad extension line");
    }
    return DV_OK;
}

static dv_err checkpoint_body(const audit_checkpoint *cp, dv_buf *out)
{
    char root[64];

    audit_b64_encode(cp->root, AUDIT_HASH_BYTES, root, sizeof(root));
    return dv_buf_printf(out, "%s\n%llu\n%s\n", cp->origin, (unsigned long long)cp->size, root);
}

dv_err audit_note_sign(const audit_checkpoint *cp, const char *key_name,
                       const uint8_t seed[AUDIT_SIGN_SEED_BYTES], dv_buf *out, dv_errinfo *ei)
{
    uint8_t pk[32], sk[64], sig[4 + crypto_sign_BYTES];
    char b64[128];
    audit_vkey vk;
    size_t start = out->len;
    dv_err e;

    if (!audit_key_name_ok(cp->origin, strnlen(cp->origin, sizeof(cp->origin))))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "checkpoint: bad origin");
    (void)crypto_sign_seed_keypair(pk, sk, seed);
    e = audit_vkey_make(key_name, pk, &vk, ei);
    if (!e)
        e = checkpoint_body(cp, out);
    if (!e) {
        memcpy(sig, vk.hash, 4);
        (void)crypto_sign_detached(sig + 4, NULL, out->p + start, out->len - start, sk);
        audit_b64_encode(sig, sizeof(sig), b64, sizeof(b64));
        e = dv_buf_printf(out, "\n" SIG_PREFIX "%s %s\n", vk.name, b64);
    }
    sodium_memzero(sk, sizeof(sk));
    if (e && e != DV_EINVAL)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "checkpoint: note buffer");
    return e;
}

/* Checks one signature line; *match = 1 when it is by vk and verifies, -1 when it is by vk
 * and does not, 0 when it is another key's. */
static dv_err sig_line(const uint8_t *l, size_t len, const uint8_t *text, size_t tlen,
                       const audit_vkey *vk, int *match, uint64_t off, dv_errinfo *ei)
{
    const size_t pl = sizeof(SIG_PREFIX) - 1;
    const uint8_t *sp;
    uint8_t sig[128];
    size_t nl, sl;

    *match = 0;
    if (len < pl || memcmp(l, SIG_PREFIX, pl) != 0)
        return dv_fail(ei, DV_EMALFORMED, off, DV_NO_TAG,
                       "note: a signature line must start "
                       "with an em dash and a space");
    sp = memchr(l + pl, ' ', len - pl);
    nl = sp ? (size_t)(sp - (l + pl)) : 0;
    if (!sp || !audit_key_name_ok((const char *)l + pl, nl) ||
        audit_b64_decode((const char *)sp + 1, len - pl - nl - 1, sig, sizeof(sig), &sl) || sl < 5)
        return dv_fail(ei, DV_EMALFORMED, off, DV_NO_TAG,
                       "note: a signature line must be '<name> <base64 signature>'");
    if (!vk || nl != strlen(vk->name) || memcmp(l + pl, vk->name, nl) != 0 ||
        memcmp(sig, vk->hash, 4) != 0)
        return DV_OK;
    *match = (sl == 4 + crypto_sign_BYTES &&
              crypto_sign_verify_detached(sig + 4, text, tlen, vk->pk) == 0)
                 ? 1
                 : -1;
    return DV_OK;
}

dv_err audit_note_open(const uint8_t *p, size_t n, const audit_vkey *vk, audit_checkpoint *cp,
                       dv_errinfo *ei)
{
    size_t split = 0, i, pos, len, nsig = 0;
    const uint8_t *l;
    int match, good = 0, bad = 0;
    dv_err e;

    memset(cp, 0, sizeof(*cp));
    if (n > AUDIT_NOTE_MAX)
        return dv_fail(ei, DV_ELIMIT, AUDIT_NOTE_MAX, DV_NO_TAG, "note: longer than %d bytes",
                       AUDIT_NOTE_MAX);
    for (i = 0; i + 1 < n; i++)
        if (p[i] == '\n' && p[i + 1] == '\n')
            split = i + 1;
    if (!split || p[n - 1] != '\n')
        return dv_fail(ei, DV_EMALFORMED, n, DV_NO_TAG,
                       "note: expected text, a blank line and signature lines");
    e = audit_checkpoint_parse(p, split, cp, ei);
    pos = split + 1;
    while (!e && next_line(p, n, &pos, &l, &len)) {
        if (++nsig > NOTE_MAX_SIGS)
            return dv_fail(ei, DV_ELIMIT, (uint64_t)(l - p), DV_NO_TAG,
                           "note: more than %d signatures", NOTE_MAX_SIGS);
        e = sig_line(l, len, p, split, vk, &match, (uint64_t)(l - p), ei);
        good += match > 0;
        bad += match < 0;
    }
    if (!e && !nsig)
        e = dv_fail(ei, DV_EMALFORMED, split, DV_NO_TAG, "note: no signature line");
    if (!e && vk && (bad || !good))
        e = dv_fail(ei, DV_ECRYPTO, DV_NO_OFFSET, DV_NO_TAG,
                    bad ? "note: the signature by key %s does not verify"
                        : "note: no signature by key %s",
                    vk->name);
    if (e)
        memset(cp, 0, sizeof(*cp));
    return e;
}
