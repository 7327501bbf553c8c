/* SPDX-License-Identifier: Apache-2.0 */
/* sha256.c - SHA-256 for the Merkle tree: OpenSSL's EVP (SHA-NI / AVX2 code chosen by OpenSSL
 * at run time), with one reusable digest context per thread.
 *
 * The tree hashes short inputs (65-byte nodes, ~100-byte entries) millions of times; creating
 * an EVP context or fetching the algorithm per hash would cost more than the hash itself.  So
 * the algorithm is fetched once per process and each thread keeps its own context, freed when
 * the thread exits (a pthread key destructor).  When OpenSSL cannot provide SHA-256 (a provider
 * configuration without it) or a context cannot be allocated, libsodium's portable SHA-256 gives
 * the same bytes.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>

#include "audit/audit_int.h"

#include "common/banned.h"

static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha_md; /* NULL: use libsodium */
static pthread_key_t sha_key;

static void ctx_free(void *p)
{
    EVP_MD_CTX_free(p);
}

static void sha_init(void)
{
    if (pthread_key_create(&sha_key, ctx_free) != 0)
        return;
    sha_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* This thread's context, or NULL (then the caller uses libsodium). */
static EVP_MD_CTX *ctx_get(void)
{
    EVP_MD_CTX *c;

    (void)pthread_once(&sha_once, sha_init);
    if (!sha_md)
        return NULL;
    c = pthread_getspecific(sha_key);
    if (c)
        return c;
    c = EVP_MD_CTX_new();
    if (c && pthread_setspecific(sha_key, c) != 0) {
        EVP_MD_CTX_free(c);
        c = NULL;
    }
    return c;
}

static void sodium_prefixed(uint8_t prefix, const uint8_t *p, size_t n,
                            uint8_t out[AUDIT_HASH_BYTES])
{
    crypto_hash_sha256_state st;

    (void)crypto_hash_sha256_init(&st);
    (void)crypto_hash_sha256_update(&st, &prefix, 1);
    (void)crypto_hash_sha256_update(&st, p, n);
    (void)crypto_hash_sha256_final(&st, out);
}

void audit_sha256_prefixed(uint8_t prefix, const uint8_t *p, size_t n,
                           uint8_t out[AUDIT_HASH_BYTES])
{
    EVP_MD_CTX *c = ctx_get();
    unsigned int len = 0;

    if (c && EVP_DigestInit_ex2(c, sha_md, NULL) == 1 && EVP_DigestUpdate(c, &prefix, 1) == 1 &&
        (n == 0 || EVP_DigestUpdate(c, p, n) == 1) && EVP_DigestFinal_ex(c, out, &len) == 1 &&
        len == AUDIT_HASH_BYTES)
        return;
    sodium_prefixed(prefix, p, n, out);
}

void audit_sha256_empty(uint8_t out[AUDIT_HASH_BYTES])
{
    (void)crypto_hash_sha256(out, (const uint8_t *)"", 0);
}
