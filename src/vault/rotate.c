/* SPDX-License-Identifier: Apache-2.0 */
/* rotate.c - key rotation: a new KEK, every data key and keys.sealed re-wrapped under it, the
 * old key file destroyed.
 *
 * Order of the steps (K = the key file in use, N = K.new by default):
 *   1. create N (0600, O_EXCL) with a random KEK;
 *   2. write keys.sealed.new (the same secrets sealed under N), atomically;
 *   3. one index transaction: re-wrap every study's data key under N and store N's check value;
 *      commit (from here on N is the current KEK);
 *   4. rename keys.sealed.new over keys.sealed;
 *   5. overwrite K with random bytes, fsync, unlink; rename N over K (or, with an explicit new
 *      key file, first point the config at it, then destroy K).
 * A crash before 3 leaves K current (N and keys.sealed.new are unused leftovers, removed by the
 * next rotation or open); after 3, the index names N current and vault_open, finding K stale
 * or gone, loads K.new and finishes steps 4-5 (vault_rotate_recover).
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/access.h"
#include "vault/vault_int.h"

#include "common/banned.h"

typedef struct rewrap_ctx {
    const crypto_key *old_kek, *new_kek;
} rewrap_ctx;

static dv_err rewrap_one(void *cb, int64_t study_id, const uint8_t *uid_bi, const uint8_t *old,
                         size_t old_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    rewrap_ctx *r = cb;
    crypto_key dek;
    dv_err e;

    (void)study_id;
    if (out_cap < CRYPTO_WRAPPED_BYTES)
        return DV_ELIMIT;
    e = crypto_unwrap(r->old_kek, old, old_len, uid_bi, INDEX_BI_BYTES, &dek, NULL);
    if (!e)
        e = crypto_wrap(r->new_kek, &dek, uid_bi, INDEX_BI_BYTES, out);
    crypto_key_wipe(&dek);
    *out_len = CRYPTO_WRAPPED_BYTES;
    return e;
}

static dv_err paths_new(const char *cur, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s.new", cur);

    return (n < 0 || (size_t)n >= outlen) ? DV_ELIMIT : DV_OK;
}

static dv_err finish_rename(const char *newp, const char *cur, dv_errinfo *ei)
{
    if (access(cur, F_OK) == 0) {
        dv_err e = vault_destroy_file(cur, ei);

        if (e)
            return e;
    }
    if (rename(newp, cur) != 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot rename the new key file: %s",
                       strerror(errno));
    return vault_fsync_parent(cur, ei);
}

dv_err vault_rotate_recover(vault *v, dv_errinfo *ei)
{
    char newp[VAULT_PATH_MAX];
    crypto_key nk;
    dv_err e;

    if (paths_new(v->kek_path, newp, sizeof(newp)) || access(newp, F_OK) != 0)
        return DV_ENOTFOUND;
    e = vault_load_keyfile(newp, &nk, NULL);
    if (e || !vault_kek_current(v, &nk)) {
        crypto_key_wipe(&nk);
        return DV_ENOTFOUND;
    }
    /* keys.sealed.new is renamed by open_secrets(); here the key files */
    e = finish_rename(newp, v->kek_path, ei);
    if (!e) {
        crypto_key_wipe(&v->kek);
        v->kek = nk;
    }
    sodium_memzero(&nk, sizeof(nk));
    return e;
}

/* Steps 2-4.  secrets: the vault's secrets, re-read from keys.sealed. */
static dv_err rotate_commit(vault *v, const crypto_key *nk, uint64_t *n, dv_errinfo *ei)
{
    char path[VAULT_PATH_MAX], newp[VAULT_PATH_MAX];
    uint8_t secrets[VAULT_SECRETS_BYTES];
    rewrap_ctx rc = {&v->kek, nk};
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
    if (!e)
        e = vault_keys_seal(nk, secrets, &b);
    sodium_memzero(secrets, sizeof(secrets));
    if (!e)
        e = vault_write_atomic(newp, b.p, b.len, 0600, ei);
    dv_buf_release(&b);
    if (e)
        return e;
    e = index_begin(v->db, ei);
    if (!e) {
        e = index_study_rewrap(v->db, rewrap_one, &rc, n, ei);
        if (!e)
            e = vault_store_kek_check(v, nk, ei);
        if (!e)
            e = index_commit(v->db, ei);
        else
            vault_rollback(v);
    }
    if (e) {
        (void)unlink(newp);
        return e;
    }
    e = index_checkpoint(v->db, NULL, NULL); /* no old wrapped key left in the -wal */
    (void)e; /* best effort: readers may hold it back; the next checkpoint completes it */
    if (rename(newp, path) != 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot rename keys.sealed.new: %s",
                       strerror(errno));
    return vault_fsync_parent(path, ei);
}

static dv_err rotate_finish(vault *v, const char *newp, int explicit_new, dv_errinfo *ei)
{
    dv_err e;

    if (!explicit_new)
        return finish_rename(newp, v->kek_path, ei);
    e = vault_abs_path(newp, v->cfg.kek_path, sizeof(v->cfg.kek_path));
    if (!e)
        e = vault_config_save(v->dir, &v->cfg, ei);
    if (!e)
        e = vault_destroy_file(v->kek_path, ei);
    if (!e)
        memcpy(v->kek_path, v->cfg.kek_path, strlen(v->cfg.kek_path) + 1);
    return e;
}

dv_err vault_key_rotate(vault *v, const vault_ctx *ctx, const char *new_key_file, uint64_t *n,
                        char *new_path, dv_errinfo *ei)
{
    char newp[VAULT_PATH_MAX];
    crypto_key nk;
    dv_err e;

    e = vault_door(v, ctx, ACCESS_CONFIG, NULL, "key-rotate", NULL, ei);
    if (e)
        return e;
    if (v->cfg.kek_mode != VAULT_KEK_KEYFILE)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "key rotate: passphrase vaults are not supported in this build");
    if (new_key_file) {
        if (strlen(new_key_file) >= sizeof(newp) || !strcmp(new_key_file, v->kek_path))
            return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                           "the new key file must be another path");
        memcpy(newp, new_key_file, strlen(new_key_file) + 1);
    } else if (paths_new(v->kek_path, newp, sizeof(newp))) {
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "key file path too long");
    } else if (access(newp, F_OK) == 0) {
        /* the current key opened the vault, so this is a leftover of a rotation that did not
         * commit: its key never wrapped anything */
        e = vault_destroy_file(newp, ei);
        if (e)
            return e;
    }
    e = crypto_keyfile_create(newp, &nk, ei);
    if (e)
        return e;
    e = rotate_commit(v, &nk, n, ei);
    if (e) {
        vault_drop_file(newp);
        crypto_key_wipe(&nk);
        return e;
    }
    crypto_key_wipe(&v->kek);
    v->kek = nk;
    sodium_memzero(&nk, sizeof(nk));
    crypto_key_lock(&v->kek);
    e = rotate_finish(v, newp, new_key_file != NULL, ei);
    if (!e && new_path)
        (void)snprintf(new_path, VAULT_PATH_MAX, "%s", v->kek_path);
    return e;
}

/* ---- passphrase vaults -------------------------------------------------------------------
 * The new salt is written to dcmvault.conf.new before the index commit and renamed over
 * dcmvault.conf after it.  A crash in between leaves the index naming the new KEK while the
 * config still holds the old salt: vault_open then tries the salt of dcmvault.conf.new with the
 * passphrase it was given and finishes the rename (vault_rotate_recover_pass). */

static dv_err conf_paths(const vault *v, char *cur, char *newp, dv_errinfo *ei)
{
    if (vault_path(cur, VAULT_PATH_MAX, v->dir, VAULT_CONF_NAME) ||
        vault_path(newp, VAULT_PATH_MAX, v->dir, VAULT_CONF_NAME ".new"))
        return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "vault path too long");
    return DV_OK;
}

static dv_err conf_rename(const char *newp, const char *cur, dv_errinfo *ei)
{
    if (rename(newp, cur) != 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot rename dcmvault.conf.new: %s",
                       strerror(errno));
    return vault_fsync_parent(cur, ei);
}

dv_err vault_rotate_recover_pass(vault *v, const char *pass_env, dv_errinfo *ei)
{
    char cur[VAULT_PATH_MAX], newp[VAULT_PATH_MAX];
    vault_config nc;
    crypto_key nk;
    dv_buf b;
    dv_err e;

    if (conf_paths(v, cur, newp, ei) || access(newp, F_OK) != 0)
        return DV_ENOTFOUND;
    dv_buf_init(&b, 65536);
    e = vault_read_file(newp, 65536, &b, NULL);
    if (!e)
        e = vault_config_parse_string((const char *)b.p, &nc, NULL);
    dv_buf_release(&b);
    if (!e && nc.kek_mode != VAULT_KEK_PASSPHRASE)
        e = DV_EMALFORMED;
    if (!e)
        e = vault_passphrase(pass_env, nc.salt, &nk, NULL);
    if (e)
        return DV_ENOTFOUND;
    if (!vault_kek_current(v, &nk)) {
        crypto_key_wipe(&nk);
        return DV_ENOTFOUND;
    }
    e = conf_rename(newp, cur, ei);
    if (!e) {
        crypto_key_wipe(&v->kek);
        v->kek = nk;
        v->cfg = nc;
    }
    sodium_memzero(&nk, sizeof(nk));
    return e;
}

dv_err vault_key_rotate_passphrase(vault *v, const vault_ctx *ctx, const char *new_pass_env,
                                   uint64_t *n, dv_errinfo *ei)
{
    char cur[VAULT_PATH_MAX], newp[VAULT_PATH_MAX];
    vault_config nc;
    crypto_key nk;
    dv_buf b;
    dv_err e;

    e = vault_door(v, ctx, ACCESS_CONFIG, NULL, "key-rotate", NULL, ei);
    if (e)
        return e;
    if (v->cfg.kek_mode != VAULT_KEK_PASSPHRASE)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "this vault's key is a key file: use --new-key-file or no option");
    e = conf_paths(v, cur, newp, ei);
    if (e)
        return e;
    nc = v->cfg;
    crypto_random(nc.salt, sizeof(nc.salt));
    e = vault_passphrase(new_pass_env, nc.salt, &nk, ei);
    if (e)
        return e;
    dv_buf_init(&b, 65536);
    e = vault_config_format(&nc, &b);
    if (!e)
        e = vault_write_atomic(newp, b.p, b.len, 0600, ei);
    dv_buf_release(&b);
    if (!e) {
        e = rotate_commit(v, &nk, n, ei);
        if (e)
            (void)unlink(newp); /* not committed: the old salt and passphrase stay current */
    }
    if (!e)
        e = conf_rename(newp, cur, ei); /* on failure the .new stays: vault_open finishes */
    if (e) {
        crypto_key_wipe(&nk);
        return e;
    }
    crypto_key_wipe(&v->kek);
    v->kek = nk;
    v->cfg = nc;
    sodium_memzero(&nk, sizeof(nk));
    crypto_key_lock(&v->kek);
    return DV_OK;
}
