/* SPDX-License-Identifier: Apache-2.0 */
/* bench_crypto.c - driver for bench/bench_crypto.sh: sealed-object throughput of
 * crypto_obj_seal / crypto_obj_open against the raw AEAD of the same algorithm run on the
 * same buffer in one call (the peer).  Built by the script against build/libdcmvault.a.
 *
 *   bench_crypto MIB REPS
 * Prints one line per algorithm and direction:
 *   <alg> <seal|open> <dcmvault MB/s> <raw MB/s>
 * MB = 10^6 bytes; each figure is the median of REPS timed runs after one warm-up run, the
 * dcmvault and raw runs alternating so that both see the same machine load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include "common/buf.h"
#include "crypto/crypto.h"

#include "common/banned.h"

#define MAXREPS 31

typedef int (*op_fn)(void *ctx);

typedef struct job {
    crypto_alg alg;
    crypto_key key;
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
    uint8_t *pt;   /* plaintext, len bytes */
    uint8_t *raw;  /* raw AEAD output: len + 16 bytes */
    uint8_t *back; /* raw AEAD decryption target: len bytes */
    size_t len;
    dv_buf sealed; /* crypto_obj_seal output (kept between runs) */
    dv_buf opened; /* crypto_obj_open output */
} job;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof(t[0]), cmp_double);
    return t[(n - 1) / 2];
}

static double time_once(op_fn fn, void *ctx)
{
    double t0 = now();

    if (fn(ctx) != 0)
        return -1;
    return now() - t0;
}

/* times a and b alternately (so both see the same machine load), reps runs each after a
 * warm-up of each; the medians in *ta and *tb.  -1 when an operation fails. */
static int timed_pair(op_fn a, op_fn b, void *ctx, int reps, double *ta, double *tb)
{
    double x[MAXREPS], y[MAXREPS];
    int i;

    if (a(ctx) != 0 || b(ctx) != 0)
        return -1;
    for (i = 0; i < reps; i++) {
        x[i] = time_once(a, ctx);
        y[i] = time_once(b, ctx);
        if (x[i] < 0 || y[i] < 0)
            return -1;
    }
    *ta = median(x, reps);
    *tb = median(y, reps);
    return 0;
}

static int dv_seal(void *ctx)
{
    job *j = ctx;
    dv_errinfo ei;

    dv_buf_reset(&j->sealed);
    return crypto_obj_seal(j->alg, &j->key, j->id, 0, j->pt, j->len, &j->sealed, &ei) != DV_OK;
}

static int dv_open(void *ctx)
{
    job *j = ctx;
    dv_errinfo ei;

    dv_buf_reset(&j->opened);
    return crypto_obj_open(&j->key, j->id, j->sealed.p, j->sealed.len, &j->opened, &ei) != DV_OK;
}

/* ---- the peers: one AEAD call over the whole buffer -------------------------------------- */

static const uint8_t nonce[24];

static int raw_seal(void *ctx)
{
    job *j = ctx;
    unsigned long long ml = 0;

    if (j->alg == CRYPTO_ALG_AES256GCM)
        return crypto_aead_aes256gcm_encrypt_detached(j->raw, j->raw + j->len, &ml, j->pt, j->len,
                                                      NULL, 0, NULL, nonce, j->key.k);
    return crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
        j->raw, j->raw + j->len, &ml, j->pt, j->len, NULL, 0, NULL, nonce, j->key.k);
}

static int raw_open(void *ctx)
{
    job *j = ctx;

    if (j->alg == CRYPTO_ALG_AES256GCM)
        return crypto_aead_aes256gcm_decrypt_detached(j->back, NULL, j->raw, j->len,
                                                      j->raw + j->len, NULL, 0, nonce, j->key.k);
    return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
        j->back, NULL, j->raw, j->len, j->raw + j->len, NULL, 0, nonce, j->key.k);
}

/* SM4 peer: SM4-CTR over the buffer, then HMAC-SM3 over the ciphertext (open: the reverse) */
static int sm4_pass(job *j, const uint8_t *in, uint8_t *out, const uint8_t *mac_over)
{
    static char sm3[] = "SM3";
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sm3, 0),
                            OSSL_PARAM_construct_end()};
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "SM4-CTR", NULL);
    EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *mc = m ? EVP_MAC_CTX_new(m) : NULL;
    uint8_t tag[32];
    size_t tl = 0;
    int ol = 0, ok;

    ok = c && cc && mc && EVP_EncryptInit_ex2(cc, c, j->key.k, nonce, NULL) == 1 &&
         EVP_MAC_init(mc, j->key.k, 32, params) == 1;
    if (ok && mac_over != in) /* seal: encrypt first, then MAC the ciphertext */
        ok = EVP_EncryptUpdate(cc, out, &ol, in, (int)j->len) == 1;
    if (ok)
        ok = EVP_MAC_update(mc, mac_over, j->len) == 1 &&
             EVP_MAC_final(mc, tag, &tl, sizeof(tag)) == 1;
    if (ok && mac_over == in) /* open: MAC the ciphertext, then decrypt */
        ok = EVP_EncryptUpdate(cc, out, &ol, in, (int)j->len) == 1;
    EVP_MAC_CTX_free(mc);
    EVP_MAC_free(m);
    EVP_CIPHER_CTX_free(cc);
    EVP_CIPHER_free(c);
    return !ok;
}

static int sm4_seal(void *ctx)
{
    job *j = ctx;

    return sm4_pass(j, j->pt, j->raw, j->raw);
}

static int sm4_open(void *ctx)
{
    job *j = ctx;

    return sm4_pass(j, j->raw, j->back, j->raw);
}

static double mbs(size_t len, double secs)
{
    return secs > 0 ? (double)len / secs / 1e6 : 0;
}

static void run(job *j, int reps)
{
    int sm4 = j->alg == CRYPTO_ALG_SM4CTR_HMACSM3;
    double s = 0, rs = 0, o = 0, ro = 0;

    if (timed_pair(dv_seal, sm4 ? sm4_seal : raw_seal, j, reps, &s, &rs) != 0 ||
        timed_pair(dv_open, sm4 ? sm4_open : raw_open, j, reps, &o, &ro) != 0 ||
        j->opened.len != j->len || memcmp(j->opened.p, j->pt, j->len) != 0) {
        printf("%s failed\n", crypto_alg_name(j->alg));
        return;
    }
    printf("%s seal %.1f %.1f\n", crypto_alg_name(j->alg), mbs(j->len, s), mbs(j->len, rs));
    printf("%s open %.1f %.1f\n", crypto_alg_name(j->alg), mbs(j->len, o), mbs(j->len, ro));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static const crypto_alg algs[] = {CRYPTO_ALG_AES256GCM, CRYPTO_ALG_XCHACHA20POLY1305,
                                      CRYPTO_ALG_SM4CTR_HMACSM3};
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 64;
    long reps = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
    job j;
    size_t a;

    if (mib < 1 || mib > 4096 || reps < 1 || reps > MAXREPS || crypto_init() != DV_OK)
        return 2;
    memset(&j, 0, sizeof(j));
    j.len = (size_t)mib << 20;
    j.pt = malloc(j.len);
    j.raw = malloc(j.len + 16);
    j.back = malloc(j.len);
    if (!j.pt || !j.raw || !j.back)
        return 2;
    crypto_random(j.pt, j.len);
    memset(j.raw, 0, j.len + 16);
    memset(j.back, 0, j.len);
    crypto_key_random(&j.key);
    crypto_random(j.id, sizeof(j.id));
    dv_buf_init(&j.sealed, SIZE_MAX - 1);
    dv_buf_init(&j.opened, SIZE_MAX - 1);
    for (a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
        j.alg = algs[a];
        if (crypto_alg_from_name(crypto_alg_name(j.alg)) != j.alg) {
            printf("%s unavailable\n", crypto_alg_name(j.alg));
            continue;
        }
        run(&j, j.alg == CRYPTO_ALG_SM4CTR_HMACSM3 && reps > 3 ? 3 : (int)reps);
    }
    dv_buf_release(&j.sealed);
    dv_buf_release(&j.opened);
    free(j.pt);
    free(j.raw);
    free(j.back);
    return 0;
}
