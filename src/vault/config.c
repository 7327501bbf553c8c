/* SPDX-License-Identifier: Apache-2.0 */
/* config.c - DIR/dcmvault.conf: parse (inih, strict: unknown sections and keys are errors),
 * format and save.  The config holds no secret: the KEK's mode and path or salt, the cipher
 * and the retention rules.
 *
 * Invariants of a parsed vault_config: alg is a known algorithm; 4096 <= chunk_size <= 16 MiB;
 * kek_mode is set; a passphrase config has its salt; rules have distinct modalities.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/vault_int.h"

#include "common/banned.h"

#define CONF_LINE_MAX  199 /* inih's INI_MAX_LINE is 200 with the newline */
#define CONF_CHUNK_MIN 4096u
#define CONF_CHUNK_MAX (16u << 20)
#define CONF_YEARS_MAX 200u
#define CONF_TEXT_MAX  65536u

typedef struct conf_parse {
    vault_config *cfg;
    int have_cipher, have_mode, have_salt;
    char err[160]; /* the first problem, without its line (inih gives that) */
} conf_parse;

static int conf_error(conf_parse *p, const char *msg, const char *section, const char *name)
{
    if (!p->err[0])
        (void)snprintf(p->err, sizeof(p->err), "%s (key '%.40s' in [%.20s])", msg, name, section);
    return 0;
}

/* Parses a decimal unsigned integer in [lo, hi]; -1 when it is not one. */
static long conf_uint(const char *s, unsigned long lo, unsigned long hi)
{
    char *end = NULL;
    unsigned long v;

    if (!s[0] || !isdigit((unsigned char)s[0]) || strlen(s) > 10)
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    return (long)v;
}

static int conf_vault(conf_parse *p, const char *name, const char *value)
{
    long n;

    if (!strcmp(name, "cipher")) {
        p->cfg->alg = crypto_alg_from_name(value);
        if (p->cfg->alg == CRYPTO_ALG_NONE)
            return conf_error(p, "unknown or unavailable cipher", "vault", name);
        p->have_cipher = 1;
        return 1;
    }
    if (!strcmp(name, "chunk_size")) {
        n = conf_uint(value, CONF_CHUNK_MIN, CONF_CHUNK_MAX);
        if (n < 0)
            return conf_error(p, "chunk_size must be 4096..16777216", "vault", name);
        p->cfg->chunk_size = (uint32_t)n;
        return 1;
    }
    return conf_error(p, "unknown key", "vault", name);
}

static int conf_kek(conf_parse *p, const char *name, const char *value)
{
    if (!strcmp(name, "mode")) {
        if (!strcmp(value, "keyfile"))
            p->cfg->kek_mode = VAULT_KEK_KEYFILE;
        else if (!strcmp(value, "passphrase"))
            p->cfg->kek_mode = VAULT_KEK_PASSPHRASE;
        else
            return conf_error(p, "mode must be keyfile or passphrase", "kek", name);
        p->have_mode = 1;
        return 1;
    }
    if (!strcmp(name, "path")) {
        if (!value[0] || strlen(value) >= sizeof(p->cfg->kek_path))
            return conf_error(p, "path must be 1..4095 bytes", "kek", name);
        memcpy(p->cfg->kek_path, value, strlen(value) + 1);
        return 1;
    }
    if (!strcmp(name, "salt")) {
        if (vault_unhex(value, p->cfg->salt, CRYPTO_SALT_BYTES))
            return conf_error(p, "salt must be 32 hex digits", "kek", name);
        p->have_salt = 1;
        return 1;
    }
    return conf_error(p, "unknown key", "kek", name);
}

static int conf_modality_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (!n || n > INDEX_MODALITY_MAX)
        return 0;
    if (!strcmp(s, "default"))
        return 1;
    for (i = 0; i < n; i++)
        if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

static int conf_retention(conf_parse *p, const char *name, const char *value)
{
    vault_config *c = p->cfg;
    long years;
    unsigned i;

    if (!conf_modality_ok(name))
        return conf_error(p, "a retention key is a modality code (CR, CT ...) or default",
                          "retention", name);
    years = conf_uint(value, 1, CONF_YEARS_MAX);
    if (years < 0)
        return conf_error(p, "retention must be 1..200 years", "retention", name);
    for (i = 0; i < c->nrules; i++)
        if (!strcmp(c->rules[i].modality, name))
            return conf_error(p, "duplicate retention rule", "retention", name);
    if (c->nrules >= VAULT_RETENTION_MAX)
        return conf_error(p, "more than 32 retention rules", "retention", name);
    memcpy(c->rules[c->nrules].modality, name, strlen(name) + 1);
    c->rules[c->nrules].years = (unsigned)years;
    c->nrules++;
    return 1;
}

static int conf_str(conf_parse *p, char *dst, size_t cap, const char *name, const char *value)
{
    if (!value[0] || strlen(value) >= cap)
        return conf_error(p, "value is empty or too long", "audit", name);
    memcpy(dst, value, strlen(value) + 1);
    return 1;
}

static int conf_audit(conf_parse *p, const char *name, const char *value)
{
    vault_config *c = p->cfg;

    if (!strcmp(name, "syslog")) {
        if (strncmp(value, "tls://", 6) != 0 || !strchr(value + 6, ':'))
            return conf_error(p, "syslog must be tls://HOST:PORT (plaintext is not offered)",
                              "audit", name);
        return conf_str(p, c->syslog_url, sizeof(c->syslog_url), name, value);
    }
    if (!strcmp(name, "ca"))
        return conf_str(p, c->syslog_ca, sizeof(c->syslog_ca), name, value);
    if (!strcmp(name, "cert"))
        return conf_str(p, c->syslog_cert, sizeof(c->syslog_cert), name, value);
    if (!strcmp(name, "key"))
        return conf_str(p, c->syslog_key, sizeof(c->syslog_key), name, value);
    return conf_error(p, "unknown key", "audit", name);
}

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
    conf_parse *p = user;

    if (!strcmp(section, "vault"))
        return conf_vault(p, name, value);
    if (!strcmp(section, "kek"))
        return conf_kek(p, name, value);
    if (!strcmp(section, "retention"))
        return conf_retention(p, name, value);
    if (!strcmp(section, "audit"))
        return conf_audit(p, name, value);
    return conf_error(p, "unknown section", section, name);
}

/* inih silently splits lines longer than its buffer: refuse them first. */
static dv_err conf_check_lines(const char *text, dv_errinfo *ei)
{
    unsigned line = 1;
    size_t run = 0;
    const char *s;

    for (s = text; *s; s++) {
        if (*s == '\n') {
            line++;
            run = 0;
        } else if (++run > CONF_LINE_MAX) {
            return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                           "dcmvault.conf line %u: longer than %d characters", line, CONF_LINE_MAX);
        }
    }
    return DV_OK;
}

static dv_err conf_finish(conf_parse *p, dv_errinfo *ei)
{
    if (!p->have_cipher)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                       "dcmvault.conf: [vault] cipher is missing");
    if (!p->have_mode)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                       "dcmvault.conf: [kek] mode is missing");
    if (p->cfg->kek_mode == VAULT_KEK_PASSPHRASE && !p->have_salt)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                       "dcmvault.conf: [kek] salt is missing for mode = passphrase");
    if (p->cfg->kek_mode == VAULT_KEK_KEYFILE && p->have_salt)
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                       "dcmvault.conf: [kek] salt is only for mode = passphrase");
    if (p->cfg->syslog_url[0] && !p->cfg->syslog_ca[0])
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                       "dcmvault.conf: [audit] syslog needs ca (the collector is verified)");
    if (!p->cfg->syslog_cert[0] != !p->cfg->syslog_key[0])
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                       "dcmvault.conf: [audit] cert and key go together");
    return DV_OK;
}

dv_err vault_config_parse_string(const char *text, vault_config *cfg, dv_errinfo *ei)
{
    conf_parse p;
    dv_err e;
    int rc;

    if (!text || !cfg)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "no config text");
    if (crypto_init() != DV_OK) /* cipher availability needs libsodium initialised */
        return dv_fail(ei, DV_ECRYPTO, DV_NO_OFFSET, DV_NO_TAG, "cannot initialise libsodium");
    memset(cfg, 0, sizeof(*cfg));
    cfg->chunk_size = CRYPTO_CHUNK_DEFAULT;
    memset(&p, 0, sizeof(p));
    p.cfg = cfg;
    e = conf_check_lines(text, ei);
    if (e)
        return e;
    rc = ini_parse_string(text, conf_handler, &p);
    if (rc < 0)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "config parser out of memory");
    if (rc > 0) {
        if (!p.err[0])
            return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG,
                           "dcmvault.conf line %d: not a [section] or key = value line", rc);
        return dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG, "dcmvault.conf line %d: %s", rc,
                       p.err);
    }
    return conf_finish(&p, ei);
}

dv_err vault_config_load(const char *dir, vault_config *cfg, dv_errinfo *ei)
{
    char path[VAULT_PATH_MAX];
    dv_buf text;
    dv_err e;

    e = vault_path(path, sizeof(path), dir, VAULT_CONF_NAME);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "vault folder path too long");
    dv_buf_init(&text, CONF_TEXT_MAX);
    e = vault_read_file(path, CONF_TEXT_MAX, &text, ei);
    if (!e && memchr(text.p ? (const void *)text.p : "", 0, text.len))
        e = dv_fail(ei, DV_EMALFORMED, DV_NO_OFFSET, DV_NO_TAG, "dcmvault.conf holds a NUL byte");
    if (!e)
        e = vault_config_parse_string(text.p ? (const char *)text.p : "", cfg, ei);
    dv_buf_release(&text);
    return e;
}

dv_err vault_config_format(const vault_config *cfg, dv_buf *out)
{
    char salt[2 * CRYPTO_SALT_BYTES + 1];
    dv_err e;
    unsigned i;

    e = dv_buf_printf(out,
                      "# dcmvault configuration.  No secret lives here: the key-encryption key is\n"
                      "# a key file outside this folder or a passphrase.\n"
                      "[vault]\ncipher = %s\nchunk_size = %u\n\n[kek]\n",
                      crypto_alg_name(cfg->alg), (unsigned)cfg->chunk_size);
    if (!e && cfg->kek_mode == VAULT_KEK_PASSPHRASE) {
        vault_hex(cfg->salt, CRYPTO_SALT_BYTES, salt);
        e = dv_buf_printf(out, "mode = passphrase\nsalt = %s\n", salt);
    } else if (!e) {
        e = dv_buf_adds(out, "mode = keyfile\n");
        if (!e && cfg->kek_path[0])
            e = dv_buf_printf(out, "path = %s\n", cfg->kek_path);
    }
    if (!e)
        e = dv_buf_adds(out, "\n# Minimum years a study is kept, by modality (none: forever).\n"
                             "# 'dcmvault retention run' shreds what has expired.\n[retention]\n");
    for (i = 0; !e && i < cfg->nrules; i++)
        e = dv_buf_printf(out, "%s = %u\n", cfg->rules[i].modality, cfg->rules[i].years);
    if (!e && cfg->syslog_url[0])
        e = dv_buf_printf(
            out,
            "\n# Every audit event is forwarded to this collector (RFC 5424 over TLS).\n"
            "[audit]\nsyslog = %s\nca = %s\n",
            cfg->syslog_url, cfg->syslog_ca);
    if (!e && cfg->syslog_url[0] && cfg->syslog_cert[0])
        e = dv_buf_printf(out, "cert = %s\nkey = %s\n", cfg->syslog_cert, cfg->syslog_key);
    return e;
}

dv_err vault_config_save(const char *dir, const vault_config *cfg, dv_errinfo *ei)
{
    char path[VAULT_PATH_MAX];
    vault_config back;
    dv_buf text;
    dv_err e;

    dv_buf_init(&text, CONF_TEXT_MAX);
    e = vault_config_format(cfg, &text);
    if (e) {
        dv_buf_release(&text);
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "cannot format the config");
    }
    /* what is written must read back the same (e.g. a key path too long for one line) */
    e = vault_config_parse_string((const char *)text.p, &back, ei);
    if (!e && (back.kek_mode != cfg->kek_mode || strcmp(back.kek_path, cfg->kek_path) != 0))
        e = dv_fail(ei, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "config does not read back");
    if (!e)
        e = vault_path(path, sizeof(path), dir, VAULT_CONF_NAME);
    if (!e)
        e = vault_write_atomic(path, text.p, text.len, 0600, ei);
    dv_buf_release(&text);
    return e;
}

/* Years for one modality code: its rule, else the default rule, else 0 (forever). */
static unsigned conf_years_for(const vault_config *cfg, const char *m, size_t len)
{
    unsigned i, dflt = 0;

    for (i = 0; i < cfg->nrules; i++) {
        const char *r = cfg->rules[i].modality;

        if (!strcmp(r, "default"))
            dflt = cfg->rules[i].years;
        else if (strlen(r) == len && !memcmp(r, m, len))
            return cfg->rules[i].years;
    }
    return dflt;
}

/* A study is kept as long as its longest-kept modality says; one modality without any rule
 * (and no default) keeps it forever. */
unsigned vault_config_retention_years(const vault_config *cfg, const char *modalities)
{
    const char *s = modalities;
    unsigned best = 0, y;
    int any = 0;

    while (s && *s) {
        const char *end = strchr(s, '\\');
        size_t len = end ? (size_t)(end - s) : strlen(s);

        if (len) {
            y = conf_years_for(cfg, s, len);
            if (!y)
                return 0;
            any = 1;
            if (y > best)
                best = y;
        }
        s = end ? end + 1 : NULL;
    }
    return any ? best : conf_years_for(cfg, "", 0);
}
