/* SPDX-License-Identifier: Apache-2.0 */
/* keys.c - the vault's key hierarchy: the KEK (key file or passphrase), keys.sealed (the
 * vault's own secrets sealed under the KEK), the KEK check value in the index, and the keys
 * derived from the secrets.  Also vault_open/vault_close.
 *
 *   KEK --seals--> keys.sealed = index root key | pseudonym key | audit signing seed | spare
 *   KEK --wraps--> each study's data key (AD = the study's blind index), in the index
 *   index root key --derive--> blind-index key, field-seal key
 *
 * The index's meta "vault.kek-check" (HMAC of a constant under the KEK) says which KEK is the
 * current one, so a key rotation interrupted by a crash is finished by the next open (see
 * rotate.c for the order of its steps).
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault/vault_int.h"

#include "common/banned.h"

#define KEYS_MAGIC     "DVKEYS1\n"
#define KEYS_MAGIC_LEN 8
#define KEYS_AD        "dcmvault keys.sealed v1"
#define META_KEK_CHECK "vault.kek-check"

dv_err vault_keys_seal(const crypto_key *kek, const uint8_t *secrets, dv_buf *out)
{
    dv_err e = dv_buf_add(out, KEYS_MAGIC, KEYS_MAGIC_LEN);

    if (!e)
        e = crypto_field_seal(kek, secrets, VAULT_SECRETS_BYTES, (const uint8_t *)KEYS_AD,
                              strlen(KEYS_AD), out);
    return e;
}

dv_err vault_keys_open(const crypto_key *kek, const uint8_t *p, size_t len, uint8_t *secrets,
                       dv_errinfo *ei)
{
    dv_buf pt;
    dv_err e;

    if (len < KEYS_MAGIC_LEN || memcmp(p, KEYS_MAGIC, KEYS_MAGIC_LEN) != 0)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG, "keys.sealed: bad magic");
    dv_buf_init(&pt, 4096);
    e = crypto_field_open(kek, p + KEYS_MAGIC_LEN, len - KEYS_MAGIC_LEN, (const uint8_t *)KEYS_AD,
                          strlen(KEYS_AD), &pt, NULL);
    if (!e && pt.len != VAULT_SECRETS_BYTES)
        e = DV_ECRYPTO;
    if (!e)
        memcpy(secrets, pt.p, VAULT_SECRETS_BYTES);
    if (pt.p)
        sodium_memzero(pt.p, pt.cap);
    dv_buf_release(&pt);
    if (e)
        return dv_fail(ei, DV_ECRYPTO, DV_NO_OFFSET, DV_NO_TAG, "the key does not open this vault");
    return DV_OK;
}

void vault_kek_check(const crypto_key *kek, uint8_t out[CRYPTO_BLIND_BYTES])
{
    crypto_blind(kek, "kek-check", (const uint8_t *)"dcmvault", 8, out);
}

dv_err vault_load_keyfile(const char *path, crypto_key *kek, dv_errinfo *ei)
{
    dv_err e = crypto_keyfile_load(path, kek, ei);

    if (e == DV_EPERM)
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                       "key file is accessible to group or others, or not a regular file: "
                       "refusing it (fix: chmod 600 the key file)");
    return e;
}

dv_err vault_passphrase(const char *env, const uint8_t salt[CRYPTO_SALT_BYTES], crypto_key *kek,
                        dv_errinfo *ei)
{
    const char *pass = env ? getenv(env) : NULL;

    if (!pass || !pass[0])
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "the passphrase variable is not set or empty");
    return crypto_kek_from_passphrase(pass, strlen(pass), salt, kek, ei);
}

void vault_set_secrets(vault *v, const uint8_t *secrets)
{
    crypto_key root;

    memcpy(root.k, secrets, CRYPTO_KEY_BYTES);
    if (crypto_key_derive(&root, "blind-index", &v->bi_key) ||
        crypto_key_derive(&root, "field-seal", &v->seal_key))
        crypto_key_random(&v->bi_key); /* cannot happen with a valid root; fail closed */
    crypto_key_wipe(&root);
    memcpy(v->pseud_key.k, secrets + CRYPTO_KEY_BYTES, CRYPTO_KEY_BYTES);
    memcpy(v->sign_seed, secrets + (size_t)2 * CRYPTO_KEY_BYTES, sizeof(v->sign_seed));
    (void)crypto_sign_seed_keypair(v->sign_pk, v->sign_sk, v->sign_seed);
    crypto_key_lock(&v->bi_key);
    crypto_key_lock(&v->seal_key);
    crypto_key_lock(&v->pseud_key);
}

/* ---- helpers for the other files ------------------------------------------------------------ */

void vault_blind(const vault *v, const char *domain, const char *s, uint8_t out[INDEX_BI_BYTES])
{
    crypto_blind(&v->bi_key, domain, (const uint8_t *)s, strlen(s), out);
}

static dv_err rec_ad(const char *kind, const uint8_t *bi, uint8_t *ad, size_t *adlen)
{
    size_t n = strlen(kind);

    if (n > 16)
        return DV_EINVAL;
    memcpy(ad, kind, n);
    ad[n] = 0;
    memcpy(ad + n + 1, bi, INDEX_BI_BYTES);
    *adlen = n + 1 + INDEX_BI_BYTES;
    return DV_OK;
}

dv_err vault_seal_rec(const vault *v, const char *kind, const uint8_t *bi, const vault_rec *r,
                      dv_buf *out)
{
    uint8_t ad[17 + INDEX_BI_BYTES];
    size_t adlen;
    dv_buf pt;
    dv_err e;

    e = rec_ad(kind, bi, ad, &adlen);
    if (e)
        return e;
    dv_buf_init(&pt, INDEX_SEAL_MAX - 64);
    e = vault_rec_encode(r, &pt);
    if (!e)
        e = crypto_field_seal(&v->seal_key, pt.p, pt.len, ad, adlen, out);
    if (pt.p)
        sodium_memzero(pt.p, pt.cap);
    dv_buf_release(&pt);
    return e;
}

dv_err vault_open_rec(const vault *v, const char *kind, const uint8_t *bi, const uint8_t *p,
                      size_t len, vault_rec *r, dv_errinfo *ei)
{
    uint8_t ad[17 + INDEX_BI_BYTES];
    size_t adlen;
    dv_buf pt;
    dv_err e;

    memset(r, 0, sizeof(*r));
    e = rec_ad(kind, bi, ad, &adlen);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "bad record kind");
    dv_buf_init(&pt, INDEX_SEAL_MAX);
    e = crypto_field_open(&v->seal_key, p, len, ad, adlen, &pt, ei);
    if (!e)
        e = vault_rec_decode(pt.p, pt.len, r, ei);
    else
        e = dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG, "a sealed %s record does not open",
                    kind);
    if (pt.p)
        sodium_memzero(pt.p, pt.cap);
    dv_buf_release(&pt);
    return e;
}

dv_err vault_study_dek(const vault *v, const index_row *row, crypto_key *dek, dv_errinfo *ei)
{
    dv_err e = crypto_unwrap(&v->kek, row->dek_wrapped, row->dek_len, row->study_bi, INDEX_BI_BYTES,
                             dek, NULL);

    if (e)
        return dv_fail(ei, DV_ECRYPTO, DV_NO_OFFSET, DV_NO_TAG,
                       "study %lld: its data key does not unwrap", (long long)row->study_id);
    return DV_OK;
}

dv_err vault_object_open(vault *v, const crypto_key *dek, int64_t instance_id, const char *key,
                         dv_buf *out, dv_errinfo *ei)
{
    uint8_t id[CRYPTO_OBJ_ID_BYTES];
    dv_buf ct;
    dv_err e;

    if (vault_unhex(key, id, sizeof(id)))
        return dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                       "instance %lld: bad object key in the index", (long long)instance_id);
    dv_buf_init(&ct, VAULT_IMPORT_MAX + ((size_t)1 << 24));
    e = store_get(v->st, key, &ct, ei);
    if (e == DV_ENOTFOUND)
        e = dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG, "instance %lld: object %s is missing",
                    (long long)instance_id, key);
    else if (e)
        e = dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "instance %lld: object %s cannot be read",
                    (long long)instance_id, key);
    if (!e && crypto_obj_open(dek, id, ct.p, ct.len, out, NULL))
        e = dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                    "instance %lld: object %s does not authenticate (changed or damaged)",
                    (long long)instance_id, key);
    dv_buf_release(&ct);
    return e;
}

void vault_drop_object(vault *v, const char *key)
{
    dv_err e = store_del(v->st, key, NULL);

    (void)e;
}

void vault_rollback(vault *v)
{
    dv_err e = index_rollback(v->db, NULL);

    (void)e;
}

void vault_drop_file(const char *path)
{
    dv_err e = vault_destroy_file(path, NULL);

    (void)e;
}

/* ---- open / close ------------------------------------------------------------------------- */

/* 1 when kek is the current KEK according to the index. */
int vault_kek_current(vault *v, const crypto_key *kek)
{
    uint8_t want[CRYPTO_BLIND_BYTES];
    dv_buf got;
    int ok;

    dv_buf_init(&got, 256);
    vault_kek_check(kek, want);
    ok = index_meta_get(v->db, META_KEK_CHECK, &got, NULL) == DV_OK && got.len == sizeof(want) &&
         sodium_memcmp(got.p, want, sizeof(want)) == 0;
    dv_buf_release(&got);
    return ok;
}

dv_err vault_store_kek_check(vault *v, const crypto_key *kek, dv_errinfo *ei)
{
    uint8_t c[CRYPTO_BLIND_BYTES];

    vault_kek_check(kek, c);
    return index_meta_set(v->db, META_KEK_CHECK, c, sizeof(c), ei);
}

/* Opens keys.sealed (or, after a crash between a rotation's commit and its rename,
 * keys.sealed.new, which is then renamed into place). */
static dv_err open_secrets(vault *v, uint8_t *secrets, dv_errinfo *ei)
{
    char path[VAULT_PATH_MAX], newp[VAULT_PATH_MAX];
    dv_buf b;
    dv_err e;

    if (vault_path(path, sizeof(path), v->dir, VAULT_KEYS_NAME) ||
        vault_path(newp, sizeof(newp), v->dir, VAULT_KEYS_NAME ".new"))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "vault path too long");
    dv_buf_init(&b, 4096);
    e = vault_read_file(path, 4096, &b, ei);
    if (!e)
        e = vault_keys_open(&v->kek, b.p, b.len, secrets, ei);
    dv_buf_reset(&b);
    if (e && vault_read_file(newp, 4096, &b, NULL) == DV_OK &&
        vault_keys_open(&v->kek, b.p, b.len, secrets, NULL) == DV_OK) {
        e = rename(newp, path) ? dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG,
                                         "cannot finish a key rotation: rename keys.sealed")
                               : vault_fsync_parent(path, ei);
    } else if (!e) {
        (void)unlink(newp); /* left by a rotation that did not commit */
    }
    dv_buf_release(&b);
    return e;
}

/* The key file path in use: the caller's, else the config's, else DIR.kek. */
static dv_err kek_path(vault *v, const vault_kek_src *src, dv_errinfo *ei)
{
    const char *p = src->key_file ? src->key_file : v->cfg.kek_path;

    if (p && p[0]) {
        if (strlen(p) >= sizeof(v->kek_path))
            return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "key file path too long");
        memcpy(v->kek_path, p, strlen(p) + 1);
        return DV_OK;
    }
    if (vault_default_keyfile(v->dir, v->kek_path, sizeof(v->kek_path)))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no default key file for this path");
    return DV_OK;
}

static dv_err load_kek(vault *v, const vault_kek_src *src, dv_errinfo *ei)
{
    dv_err e;

    if (v->cfg.kek_mode == VAULT_KEK_PASSPHRASE) {
        if (src->key_file)
            return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                           "this vault's key comes from a passphrase: use --passphrase-env");
        v->kek_path[0] = 0;
        return vault_passphrase(src->pass_env, v->cfg.salt, &v->kek, ei);
    }
    if (src->pass_env)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "this vault's key is a key file: use --key-file");
    e = kek_path(v, src, ei);
    if (!e)
        e = vault_load_keyfile(v->kek_path, &v->kek, ei);
    return e;
}

static dv_err open_parts(vault *v, const vault_kek_src *src, dv_errinfo *ei)
{
    char path[VAULT_PATH_MAX];
    uint8_t secrets[VAULT_SECRETS_BYTES];
    dv_err e, ke;

    e = vault_config_load(v->dir, &v->cfg, ei);
    if (e == DV_ENOTFOUND)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "not a vault (no dcmvault.conf)");
    if (e)
        return e;
    if (vault_path(path, sizeof(path), v->dir, VAULT_INDEX_NAME))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "vault path too long");
    e = index_open_sqlite(path, 0, &v->db, ei);
    if (e)
        return e;
    ke = load_kek(v, src, ei);
    if (ke && ke != DV_ENOTFOUND && ke != DV_EMALFORMED && ke != DV_ECRYPTO)
        return ke; /* e.g. DV_EPERM: never fall back to another key on a refused file */
    if ((ke || !vault_kek_current(v, &v->kek)) && !src->key_file &&
        v->cfg.kek_mode == VAULT_KEK_KEYFILE) {
        e = vault_rotate_recover(v, ei); /* an interrupted rotation left <key>.new */
        if (e == DV_OK)
            ke = DV_OK;
    }
    if (!ke && v->cfg.kek_mode == VAULT_KEK_PASSPHRASE && !vault_kek_current(v, &v->kek) &&
        vault_rotate_recover_pass(v, src->pass_env, ei) == DV_OK)
        ke = DV_OK; /* an interrupted passphrase rotation left dcmvault.conf.new */
    if (ke)
        return ke;
    if (!vault_kek_current(v, &v->kek))
        return dv_fail(ei, DV_ECRYPTO, DV_NO_OFFSET, DV_NO_TAG, "the key does not open this vault");
    crypto_key_lock(&v->kek);
    e = open_secrets(v, secrets, ei);
    if (!e)
        vault_set_secrets(v, secrets);
    sodium_memzero(secrets, sizeof(secrets));
    if (!e)
        e = store_open_local(v->dir, 0, &v->st, ei);
    if (!e)
        e = vault_audit_open(v, ei); /* no log, no vault: every operation is audited first */
    if (!e)
        e = vault_config_watch(v, 1, ei);
    return e;
}

dv_err vault_open(const char *dir, const vault_kek_src *kek, vault **out, dv_errinfo *ei)
{
    vault *v;
    dv_err e;

    *out = NULL;
    e = crypto_init();
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "cannot initialise libsodium");
    if (strlen(dir) >= VAULT_PATH_MAX - 64)
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "vault path too long");
    v = calloc(1, sizeof(*v));
    if (!v)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    memcpy(v->dir, dir, strlen(dir) + 1);
    e = open_parts(v, kek, ei);
    if (e) {
        vault_close(v);
        return e;
    }
    *out = v;
    return DV_OK;
}

void vault_close(vault *v)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < v->npend; i++)
        free(v->pend[i].path);
    free(v->pend);
    vault_access_free(v->acc);
    vault_audit_close(v);
    store_close(v->st);
    index_close(v->db);
    crypto_key_wipe(&v->kek);
    crypto_key_wipe(&v->bi_key);
    crypto_key_wipe(&v->seal_key);
    crypto_key_wipe(&v->pseud_key);
    sodium_memzero(v->sign_seed, sizeof(v->sign_seed));
    sodium_memzero(v->sign_sk, sizeof(v->sign_sk));
    free(v);
}

const char *vault_dir(const vault *v)
{
    return v->dir;
}

void vault_sign_public_key(const vault *v, uint8_t pk[32])
{
    memcpy(pk, v->sign_pk, 32);
}
