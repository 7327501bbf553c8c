/* SPDX-License-Identifier: Apache-2.0 */
/* init.c - `dcmvault init`: a new vault folder, its KEK, its secrets and one administrator with
 * a random one-time password.  No default account, password or key exists anywhere: each is
 * made here from crypto_random.  On any failure everything created is removed again.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vault/vault_int.h"

#include "common/banned.h"

#define PASS_MIN 12

typedef struct init_state {
    const vault_init_opts *o;
    const vault_ctx *ctx; /* who runs init: the first entries of the audit log name them */
    int made_dir, made_keyfile;
    int dir_ok; /* the folder was created or found empty: what is in it is init's */
    char keyfile[VAULT_PATH_MAX];
} init_state;

static int dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int empty = 1;

    if (!d)
        return 0;
    for (de = vault_readdir(d); de; de = vault_readdir(d))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            empty = 0;
    (void)closedir(d);
    return empty;
}

static dv_err make_dir(init_state *s, dv_errinfo *ei)
{
    struct stat st;

    if (mkdir(s->o->dir, 0700) == 0) {
        s->made_dir = 1;
        return vault_fsync_parent(s->o->dir, ei);
    }
    if (errno == EEXIST && stat(s->o->dir, &st) == 0 && S_ISDIR(st.st_mode) && dir_empty(s->o->dir))
        return chmod(s->o->dir, 0700) == 0
                   ? DV_OK
                   : dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot chmod the vault folder");
    if (errno == EEXIST)
        return dv_fail(ei, DV_EEXIST, DV_NO_OFFSET, DV_NO_TAG,
                       "the vault folder exists and is not empty");
    return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot create the vault folder: %s",
                   strerror(errno));
}

static dv_err make_kek(init_state *s, vault *v, dv_errinfo *ei)
{
    const vault_kek_src *k = &s->o->kek;
    dv_err e;

    if (k->pass_env) {
        const char *pass = getenv(k->pass_env);

        if (!pass || strlen(pass) < PASS_MIN)
            return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                           "the passphrase must have at least %d characters", PASS_MIN);
        v->cfg.kek_mode = VAULT_KEK_PASSPHRASE;
        crypto_random(v->cfg.salt, sizeof(v->cfg.salt));
        return vault_passphrase(k->pass_env, v->cfg.salt, &v->kek, ei);
    }
    v->cfg.kek_mode = VAULT_KEK_KEYFILE;
    if (!k->key_file) {
        if (vault_default_keyfile(s->o->dir, s->keyfile, sizeof(s->keyfile)))
            return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no key file path for DIR");
        if (access(s->keyfile, F_OK) == 0)
            return dv_fail(ei, DV_EEXIST, DV_NO_OFFSET, DV_NO_TAG,
                           "the key file beside the folder exists: pass --key-file to use it");
    } else {
        if (vault_abs_path(k->key_file, s->keyfile, sizeof(s->keyfile)))
            return dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "key file path too long");
        memcpy(v->cfg.kek_path, s->keyfile, strlen(s->keyfile) + 1);
        if (access(s->keyfile, F_OK) == 0)
            return vault_load_keyfile(s->keyfile, &v->kek, ei);
    }
    e = crypto_keyfile_create(s->keyfile, &v->kek, ei);
    s->made_keyfile = e == DV_OK;
    return e;
}

static dv_err write_secrets(vault *v, dv_errinfo *ei)
{
    uint8_t secrets[VAULT_SECRETS_BYTES];
    char path[VAULT_PATH_MAX];
    dv_buf b;
    dv_err e;

    crypto_random(secrets, sizeof(secrets));
    dv_buf_init(&b, 4096);
    e = vault_keys_seal(&v->kek, secrets, &b);
    if (!e)
        vault_set_secrets(v, secrets);
    sodium_memzero(secrets, sizeof(secrets));
    if (!e)
        e = vault_path(path, sizeof(path), v->dir, VAULT_KEYS_NAME);
    if (!e)
        e = vault_write_atomic(path, b.p, b.len, 0600, ei);
    dv_buf_release(&b);
    return e;
}

/* 20 characters from a 64-symbol alphabet: 120 bits. */
static void make_password(char *out)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t r[VAULT_PASSWORD_LEN];
    size_t i;

    crypto_random(r, sizeof(r));
    for (i = 0; i < VAULT_PASSWORD_LEN; i++)
        out[i] = alpha[r[i] & 63];
    out[VAULT_PASSWORD_LEN] = 0;
    sodium_memzero(r, sizeof(r));
}

static dv_err make_admin(vault *v, const char *name, vault_init_result *res, dv_errinfo *ei)
{
    index_user u;
    size_t n = strlen(name);
    dv_err e;

    if (!n || n > INDEX_USER_NAME_MAX)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "bad administrator name");
    memset(&u, 0, sizeof(u));
    memcpy(u.name, name, n);
    memcpy(u.role, "administrator", sizeof("administrator"));
    make_password(res->admin_password);
    if (crypto_pwhash_str(u.pwhash, res->admin_password, VAULT_PASSWORD_LEN,
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "password hashing failed");
    u.must_change = 1;
    e = index_user_insert(v->db, &u, ei);
    if (!e)
        memcpy(res->admin, name, n + 1);
    return e;
}

/* The audit log is born with the vault: its first entries say that recording started (DCM
 * 110134) and that a vault was configured (DCM 110131), with the cipher and key source. */
static dv_err start_log(init_state *s, vault *v, dv_errinfo *ei)
{
    char detail[96];
    dv_err e = vault_audit_open(v, ei);

    (void)snprintf(detail, sizeof(detail), "vault created: cipher %s, key-encryption key from %s",
                   crypto_alg_name(v->cfg.alg), s->o->kek.pass_env ? "a passphrase" : "a key file");
    if (!e)
        e = vault_audit_detail(v, s->ctx, "log-start", "audit recording started", ei);
    if (!e)
        e = vault_audit_detail(v, s->ctx, "init", detail, ei);
    if (!e) /* the digests of the configuration as created: later edits are changes */
        e = vault_config_watch(v, 0, ei);
    return e;
}

static dv_err make_parts(init_state *s, vault *v, vault_init_result *res, dv_errinfo *ei)
{
    char path[VAULT_PATH_MAX];
    dv_err e;

    e = make_kek(s, v, ei);
    if (!e)
        e = vault_config_save(v->dir, &v->cfg, ei);
    if (!e)
        e = write_secrets(v, ei);
    if (!e)
        e = store_open_local(v->dir, 1, &v->st, ei);
    if (!e)
        e = vault_path(path, sizeof(path), v->dir, VAULT_INDEX_NAME);
    if (!e)
        e = index_open_sqlite(path, INDEX_OPEN_CREATE, &v->db, ei);
    if (!e)
        e = index_meta_set(v->db, "vault.format", (const uint8_t *)"1", 1, ei);
    if (!e)
        e = vault_store_kek_check(v, &v->kek, ei);
    if (!e)
        e = make_admin(v, s->o->admin ? s->o->admin : "admin", res, ei);
    if (!e)
        e = start_log(s, v, ei);
    return e;
}

static void remove_rel(const char *dir, const char *name)
{
    char p[VAULT_PATH_MAX];

    if (!vault_path(p, sizeof(p), dir, name))
        (void)unlink(p);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) == 0 ? 0 : -1;
    return unlink(path) == 0 ? 0 : -1;
}

/* Undoes a failed init: only what init itself created. */
static void undo(init_state *s)
{
    static const char *const files[] = {VAULT_CONF_NAME,         VAULT_KEYS_NAME,
                                        VAULT_INDEX_NAME,        VAULT_INDEX_NAME "-wal",
                                        VAULT_INDEX_NAME "-shm", VAULT_INDEX_NAME "-journal"};
    char p[VAULT_PATH_MAX];
    size_t i;

    if (s->made_keyfile)
        vault_drop_file(s->keyfile);
    if (!s->dir_ok)
        return; /* never touch a folder that was not init's */
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        remove_rel(s->o->dir, files[i]);
    if (!vault_path(p, sizeof(p), s->o->dir, "audit"))
        (void)nftw(p, rm_entry, 8, FTW_DEPTH | FTW_PHYS); /* a log that never held an operation */
    remove_rel(s->o->dir, "audit.vkey");
    if (!vault_path(p, sizeof(p), s->o->dir, "objects"))
        (void)rmdir(p);
    if (!vault_path(p, sizeof(p), s->o->dir, "tmp"))
        (void)rmdir(p);
    if (s->made_dir)
        (void)rmdir(s->o->dir);
}

static dv_err init_check(const vault_init_opts *o, vault *v, dv_errinfo *ei)
{
    if (o->pkcs11)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "PKCS#11 keys are not supported in this build");
    if (o->kek.key_file && o->kek.pass_env)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "give --key-file or --passphrase-env, not both");
    if (!o->dir || !o->dir[0] || strlen(o->dir) >= VAULT_PATH_MAX - 64)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "bad vault folder path");
    v->cfg.alg = o->cipher ? crypto_alg_from_name(o->cipher) : crypto_default_alg();
    if (v->cfg.alg == CRYPTO_ALG_NONE)
        return dv_fail(ei, DV_EUNSUPPORTED, DV_NO_OFFSET, DV_NO_TAG,
                       "unknown cipher or not available on this machine");
    v->cfg.chunk_size = CRYPTO_CHUNK_DEFAULT;
    memcpy(v->dir, o->dir, strlen(o->dir) + 1);
    return DV_OK;
}

dv_err vault_init(const vault_ctx *ctx, const vault_init_opts *o, vault_init_result *res,
                  dv_errinfo *ei)
{
    init_state s;
    vault *v;
    dv_err e;

    memset(res, 0, sizeof(*res));
    memset(&s, 0, sizeof(s));
    s.o = o;
    s.ctx = ctx;
    if (!vault_ctx_valid(ctx))
        return dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG, "init: no valid request context");
    e = crypto_init();
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "cannot initialise libsodium");
    v = calloc(1, sizeof(*v));
    if (!v)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "out of memory");
    e = init_check(o, v, ei);
    if (!e)
        e = make_dir(&s, ei);
    s.dir_ok = e == DV_OK;
    if (!e)
        e = make_parts(&s, v, res, ei);
    vault_close(v);
    if (e) {
        undo(&s);
        sodium_memzero(res, sizeof(*res));
        return e;
    }
    if (o->kek.pass_env == NULL)
        (void)snprintf(res->key_file, sizeof(res->key_file), "%s", s.keyfile);
    res->key_file_created = s.made_keyfile;
    return DV_OK;
}
