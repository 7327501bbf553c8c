/* SPDX-License-Identifier: Apache-2.0 */
/* event.c - audit events: the action table (DICOM coding), checks, the canonical entry encoding.
 *
 * Entry, version 1 (all integers big endian; docs/audit.md):
 *   version (1) = 1 | seq (8) | time_ms (8) | action (1) | outcome (1) | nobjects (1)
 *   | actor, role, purpose, client, session: each length (1) + bytes
 *   | nobjects x (type (1) + pseudonym (32)) | detail: length (2) + bytes
 * Invariant: audit_entry_decode accepts exactly the byte strings audit_entry_encode produces,
 * so every entry has one encoding and decode followed by encode gives the same bytes.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "audit/audit_int.h"

#include "common/banned.h"

#define ENTRY_VERSION 1
#define ENTRY_FIXED   20
#define TIME_MAX_MS   253402300799999LL /* 9999-12-31T23:59:59.999Z */

/* clang-format off */
static const audit_action_info actions[AUDIT_ACT_COUNT] = {
    [AUDIT_ACT_IMPORT] = {AUDIT_ACT_IMPORT, "import", "110107", "Import", 'C', NULL, NULL, NULL, 2},
    [AUDIT_ACT_VIEW] = {AUDIT_ACT_VIEW, "view", "110103", "DICOM Instances Accessed", 'R', NULL,
                        NULL, NULL, 6},
    [AUDIT_ACT_QUERY] = {AUDIT_ACT_QUERY, "query", "110112", "Query", 'E', NULL, NULL, NULL, 0},
    [AUDIT_ACT_EXPORT] = {AUDIT_ACT_EXPORT, "export", "110106", "Export", 'R', NULL, NULL, NULL,
                          10},
    [AUDIT_ACT_PRINT] = {AUDIT_ACT_PRINT, "print", "110106", "Export", 'R', "PRINT", "99DCMVAULT",
                         "Print", 10},
    [AUDIT_ACT_DEIDENTIFY] = {AUDIT_ACT_DEIDENTIFY, "deidentify", "110103",
                              "DICOM Instances Accessed", 'C', "DEID", "99DCMVAULT",
                              "De-identification", 7},
    [AUDIT_ACT_SHARE] = {AUDIT_ACT_SHARE, "share", "110106", "Export", 'R', "SHARE", "99DCMVAULT",
                         "Share", 11},
    [AUDIT_ACT_WATERMARK] = {AUDIT_ACT_WATERMARK, "watermark", "110103",
                             "DICOM Instances Accessed", 'U', "WATERMARK", "99DCMVAULT",
                             "Watermark embedded", 8},
    [AUDIT_ACT_GRANT] = {AUDIT_ACT_GRANT, "grant", "110113", "Security Alert", 'U', "110135", "DCM",
                         "Object Security Attributes Changed", 0},
    [AUDIT_ACT_REVOKE] = {AUDIT_ACT_REVOKE, "revoke", "110113", "Security Alert", 'U', "110135",
                          "DCM", "Object Security Attributes Changed", 0},
    [AUDIT_ACT_LOGIN] = {AUDIT_ACT_LOGIN, "login", "110114", "User Authentication", 'E', "110122",
                         "DCM", "Login", 0},
    [AUDIT_ACT_LOGOUT] = {AUDIT_ACT_LOGOUT, "logout", "110114", "User Authentication", 'E',
                          "110123", "DCM", "Logout", 0},
    [AUDIT_ACT_LOGIN_FAILED] = {AUDIT_ACT_LOGIN_FAILED, "login-failed", "110114",
                                "User Authentication", 'E', "110122", "DCM", "Login", 0},
    [AUDIT_ACT_LOCKOUT] = {AUDIT_ACT_LOCKOUT, "lockout", "110113", "Security Alert", 'E', "110137",
                           "DCM", "User security Attributes Changed", 0},
    [AUDIT_ACT_DENIED] = {AUDIT_ACT_DENIED, "denied", "110113", "Security Alert", 'E', "110132",
                          "DCM", "Use of Restricted Function", 0},
    [AUDIT_ACT_BREAKGLASS_START] = {AUDIT_ACT_BREAKGLASS_START, "breakglass-start", "110113",
                                    "Security Alert", 'E', "110127", "DCM",
                                    "Emergency Override Started", 0},
    [AUDIT_ACT_BREAKGLASS_STOP] = {AUDIT_ACT_BREAKGLASS_STOP, "breakglass-stop", "110113",
                                   "Security Alert", 'E', "110138", "DCM",
                                   "Emergency Override Stopped", 0},
    [AUDIT_ACT_APPROVAL] = {AUDIT_ACT_APPROVAL, "approval", "110113", "Security Alert", 'E',
                            "APPROVAL", "99DCMVAULT", "Four-eyes approval", 0},
    [AUDIT_ACT_KEY_ROTATION] = {AUDIT_ACT_KEY_ROTATION, "key-rotation", "110113",
                                "Security Alert", 'U', "110129", "DCM", "Security Configuration",
                                0},
    [AUDIT_ACT_RETENTION] = {AUDIT_ACT_RETENTION, "retention", "110100", "Application Activity",
                             'E', "RETENTION", "99DCMVAULT", "Retention run", 0},
    [AUDIT_ACT_SHRED] = {AUDIT_ACT_SHRED, "shred", "110105", "DICOM Study Deleted", 'D', NULL,
                         NULL, NULL, 15},
    [AUDIT_ACT_CONFIG] = {AUDIT_ACT_CONFIG, "config", "110113", "Security Alert", 'U', "110131",
                          "DCM", "Software Configuration", 0},
    [AUDIT_ACT_AUDIT_READ] = {AUDIT_ACT_AUDIT_READ, "audit-read", "110101", "Audit Log Used", 'R',
                              NULL, NULL, NULL, 0},
    [AUDIT_ACT_LOG_START] = {AUDIT_ACT_LOG_START, "log-start", "110113", "Security Alert", 'E',
                             "110134", "DCM", "Audit Recording Started", 0},
    [AUDIT_ACT_LOG_STOP] = {AUDIT_ACT_LOG_STOP, "log-stop", "110113", "Security Alert", 'E',
                            "110133", "DCM", "Audit Recording Stopped", 0},
    [AUDIT_ACT_FILM_DESTROY] = {AUDIT_ACT_FILM_DESTROY, "film-destroy", "110100",
                                "Application Activity", 'D', "FILMDESTROY", "99DCMVAULT",
                                "Printed film destroyed", 15},
};
/* clang-format on */

const audit_action_info *audit_action_get(audit_action a)
{
    if ((int)a <= 0 || a >= AUDIT_ACT_COUNT)
        return NULL;
    return &actions[a];
}

audit_action audit_action_from_name(const char *name)
{
    int a;

    if (!name)
        return AUDIT_ACT_NONE;
    for (a = 1; a < AUDIT_ACT_COUNT; a++)
        if (!strcmp(actions[a].name, name))
            return (audit_action)a;
    return AUDIT_ACT_NONE;
}

const char *audit_obj_type_name(audit_obj_type t)
{
    switch (t) {
    case AUDIT_OBJ_PATIENT:
        return "patient";
    case AUDIT_OBJ_STUDY:
        return "study";
    case AUDIT_OBJ_SERIES:
        return "series";
    case AUDIT_OBJ_INSTANCE:
        return "instance";
    }
    return NULL;
}

audit_obj_type audit_obj_type_from_name(const char *name)
{
    int t;

    for (t = AUDIT_OBJ_PATIENT; t <= AUDIT_OBJ_INSTANCE; t++)
        if (name && !strcmp(audit_obj_type_name((audit_obj_type)t), name))
            return (audit_obj_type)t;
    return (audit_obj_type)0;
}

static int outcome_valid(unsigned o)
{
    return o == 0 || o == 4 || o == 8 || o == 12;
}

/* ---- character classes of the fixed fields ------------------------------------------------ */

enum field_class { FC_ACTOR, FC_CODE, FC_CLIENT, FC_SESSION };

static int char_ok(enum field_class fc, unsigned char c)
{
    int alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');

    switch (fc) {
    case FC_ACTOR:
        return c >= 0x20 && c <= 0x7E;
    case FC_CODE:
    case FC_SESSION:
        return alnum || c == '.' || c == '_' || c == '-';
    case FC_CLIENT:
        return alnum || (c && strchr(".:_%[]-", c) != NULL);
    }
    return 0;
}

static const struct field_def {
    const char *name;
    enum field_class fc;
    size_t max;
    int required;
} fields[5] = {
    {"actor", FC_ACTOR, AUDIT_ACTOR_MAX, 1},       {"role", FC_CODE, AUDIT_CODE_MAX, 0},
    {"purpose", FC_CODE, AUDIT_CODE_MAX, 0},       {"client", FC_CLIENT, AUDIT_CLIENT_MAX, 0},
    {"session", FC_SESSION, AUDIT_SESSION_MAX, 0},
};

/* 0 when s (n bytes) fits field f, else the offset of the first bad byte + 1 (or n + 1 when
 * too long, 1 when empty and required). */
static size_t field_bad(const struct field_def *f, const uint8_t *s, size_t n)
{
    size_t i;

    if (n > f->max)
        return f->max + 1;
    if (!n)
        return f->required ? 1 : 0;
    for (i = 0; i < n; i++)
        if (!char_ok(f->fc, s[i]))
            return i + 1;
    return 0;
}

/* Length of a valid UTF-8 sequence without control characters at p (n bytes left), 0 if
 * invalid.  Rejects overlongs, surrogates and values past U+10FFFF. */
static size_t utf8_char(const uint8_t *p, size_t n)
{
    uint32_t c = p[0];
    size_t len, i;

    if (c < 0x80)
        return (c >= 0x20 && c != 0x7F) ? 1 : 0;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (n < len)
        return 0;
    c &= (uint32_t)(0x7F >> len);
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3Fu);
    }
    if ((len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) || (len == 4 && c < 0x10000) ||
        c > 0x10FFFF || (c >= 0x80 && c < 0xA0))
        return 0;
    return len;
}

/* 0 when the detail text is valid, else the offset of the first bad byte + 1. */
size_t audit_detail_bad(const uint8_t *p, size_t n)
{
    size_t i = 0, k;

    if (n > AUDIT_DETAIL_MAX)
        return AUDIT_DETAIL_MAX + 1;
    while (i < n) {
        k = utf8_char(p + i, n - i);
        if (!k)
            return i + 1;
        i += k;
    }
    return 0;
}

static const char *event_str(const audit_event *ev, int i)
{
    const char *v[5] = {ev->actor, ev->role, ev->purpose, ev->client, ev->session};

    return v[i] ? v[i] : "";
}

dv_err audit_event_check(const audit_event *ev, dv_errinfo *ei)
{
    size_t i, bad, n;

    if (!ev || !audit_action_get(ev->action))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "event: unknown action");
    if (!outcome_valid((unsigned)ev->outcome))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "event: outcome must be 0, 4, 8 or 12");
    for (i = 0; i < 5; i++) {
        const char *s = event_str(ev, (int)i);

        n = strnlen(s, fields[i].max + 1);
        bad = field_bad(&fields[i], (const uint8_t *)s, n);
        if (bad)
            return dv_fail(ei, DV_EINVAL, bad - 1, DV_NO_TAG,
                           "event: %s must be %s%zu bytes of its character set", fields[i].name,
                           fields[i].required ? "1 to " : "at most ", fields[i].max);
    }
    if (ev->nobjects > AUDIT_MAX_OBJECTS || (ev->nobjects && !ev->objects))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "event: at most %d objects",
                       AUDIT_MAX_OBJECTS);
    for (i = 0; i < ev->nobjects; i++)
        if (!audit_obj_type_name(ev->objects[i].type))
            return dv_fail(ei, DV_EINVAL, i, DV_NO_TAG, "event: object %zu has an unknown type", i);
    n = ev->detail ? strnlen(ev->detail, AUDIT_DETAIL_MAX + 1) : 0;
    bad = audit_detail_bad((const uint8_t *)ev->detail, n);
    if (bad)
        return dv_fail(ei, DV_EINVAL, bad - 1, DV_NO_TAG,
                       "event: detail must be at most %d bytes of UTF-8 without control "
                       "characters",
                       AUDIT_DETAIL_MAX);
    return DV_OK;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t audit_be64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

dv_err audit_entry_encode(const audit_event *ev, uint64_t seq, int64_t time_ms, dv_buf *out,
                          dv_errinfo *ei)
{
    uint8_t hdr[ENTRY_FIXED];
    size_t i, n;
    dv_err e;

    e = audit_event_check(ev, ei);
    if (e)
        return e;
    if (time_ms < 0 || time_ms > TIME_MAX_MS)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "event: time out of range");
    hdr[0] = ENTRY_VERSION;
    put_be64(hdr + 1, seq);
    put_be64(hdr + 9, (uint64_t)time_ms);
    hdr[17] = (uint8_t)ev->action;
    hdr[18] = (uint8_t)ev->outcome;
    hdr[19] = (uint8_t)ev->nobjects;
    e = dv_buf_add(out, hdr, sizeof(hdr));
    for (i = 0; !e && i < 5; i++) {
        const char *s = event_str(ev, (int)i);

        n = strlen(s);
        e = dv_buf_addc(out, (uint8_t)n);
        if (!e)
            e = dv_buf_add(out, s, n);
    }
    for (i = 0; !e && i < ev->nobjects; i++) {
        e = dv_buf_addc(out, (uint8_t)ev->objects[i].type);
        if (!e)
            e = dv_buf_add(out, ev->objects[i].pseudonym, AUDIT_PSEUDONYM_BYTES);
    }
    n = ev->detail ? strlen(ev->detail) : 0;
    if (!e)
        e = dv_buf_add_u16be(out, (uint16_t)n);
    if (!e && n)
        e = dv_buf_add(out, ev->detail, n);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "event: encoding buffer");
    return DV_OK;
}

/* ---- decoding ------------------------------------------------------------------------------ */

static dv_err dec_fixed(const uint8_t *p, size_t n, audit_record *r, dv_errinfo *ei)
{
    uint64_t t;

    if (n < ENTRY_FIXED)
        return dv_fail(ei, DV_ETRUNC, n, DV_NO_TAG, "entry: %zu bytes, the header needs %d", n,
                       ENTRY_FIXED);
    if (n > AUDIT_ENTRY_MAX)
        return dv_fail(ei, DV_ELIMIT, AUDIT_ENTRY_MAX, DV_NO_TAG, "entry: longer than %d bytes",
                       AUDIT_ENTRY_MAX);
    if (p[0] != ENTRY_VERSION)
        return dv_fail(ei, DV_EMALFORMED, 0, DV_NO_TAG, "entry: unknown version %u",
                       (unsigned)p[0]);
    r->seq = audit_be64(p + 1);
    t = audit_be64(p + 9);
    if (t > (uint64_t)TIME_MAX_MS)
        return dv_fail(ei, DV_EMALFORMED, 9, DV_NO_TAG, "entry: time out of range");
    r->time_ms = (int64_t)t;
    if (!audit_action_get((audit_action)p[17]))
        return dv_fail(ei, DV_EMALFORMED, 17, DV_NO_TAG, "entry: unknown action %u",
                       (unsigned)p[17]);
    r->action = (audit_action)p[17];
    if (!outcome_valid(p[18]))
        return dv_fail(ei, DV_EMALFORMED, 18, DV_NO_TAG, "entry: outcome %u is not 0/4/8/12",
                       (unsigned)p[18]);
    r->outcome = (audit_outcome)p[18];
    if (p[19] > AUDIT_MAX_OBJECTS)
        return dv_fail(ei, DV_ELIMIT, 19, DV_NO_TAG, "entry: %u objects, the limit is %d",
                       (unsigned)p[19], AUDIT_MAX_OBJECTS);
    r->nobjects = p[19];
    return DV_OK;
}

static dv_err dec_strings(const uint8_t *p, size_t n, size_t *off, audit_record *r, dv_errinfo *ei)
{
    char *dst[5] = {r->actor, r->role, r->purpose, r->client, r->session};
    size_t i, len, bad;

    for (i = 0; i < 5; i++) {
        if (*off >= n)
            return dv_fail(ei, DV_ETRUNC, *off, DV_NO_TAG, "entry: %s length missing",
                           fields[i].name);
        len = p[*off];
        (*off)++;
        if (len > n - *off)
            return dv_fail(ei, DV_ETRUNC, *off, DV_NO_TAG, "entry: %s (%zu bytes) past the end",
                           fields[i].name, len);
        bad = field_bad(&fields[i], p + *off, len);
        if (bad)
            return dv_fail(ei, len > fields[i].max ? DV_ELIMIT : DV_EMALFORMED,
                           *off + (bad - 1 < len ? bad - 1 : 0), DV_NO_TAG,
                           "entry: %s breaks its length or character set", fields[i].name);
        memcpy(dst[i], p + *off, len);
        dst[i][len] = '\0';
        *off += len;
    }
    return DV_OK;
}

static dv_err dec_tail(const uint8_t *p, size_t n, size_t off, audit_record *r, dv_errinfo *ei)
{
    size_t i, len, bad;

    for (i = 0; i < r->nobjects; i++) {
        if (n - off < 1 + AUDIT_PSEUDONYM_BYTES)
            return dv_fail(ei, DV_ETRUNC, off, DV_NO_TAG, "entry: object %zu past the end", i);
        if (!audit_obj_type_name((audit_obj_type)p[off]))
            return dv_fail(ei, DV_EMALFORMED, off, DV_NO_TAG, "entry: object %zu: unknown type", i);
        r->objects[i].type = (audit_obj_type)p[off];
        memcpy(r->objects[i].pseudonym, p + off + 1, AUDIT_PSEUDONYM_BYTES);
        off += 1 + AUDIT_PSEUDONYM_BYTES;
    }
    if (n - off < 2)
        return dv_fail(ei, DV_ETRUNC, off, DV_NO_TAG, "entry: detail length missing");
    len = dv_be16(p + off);
    off += 2;
    if (len > AUDIT_DETAIL_MAX)
        return dv_fail(ei, DV_ELIMIT, off - 2, DV_NO_TAG, "entry: detail of %zu bytes, limit %d",
                       len, AUDIT_DETAIL_MAX);
    if (len > n - off)
        return dv_fail(ei, DV_ETRUNC, off, DV_NO_TAG, "entry: detail past the end");
    bad = audit_detail_bad(p + off, len);
    if (bad)
        return dv_fail(ei, DV_EMALFORMED, off + bad - 1, DV_NO_TAG,
                       "entry: detail is not UTF-8 text without control characters");
    memcpy(r->detail, p + off, len);
    r->detail[len] = '\0';
    off += len;
    if (off != n)
        return dv_fail(ei, DV_EMALFORMED, off, DV_NO_TAG, "entry: %zu bytes after the detail",
                       n - off);
    return DV_OK;
}

dv_err audit_entry_decode(const uint8_t *p, size_t n, audit_record *r, dv_errinfo *ei)
{
    size_t off = ENTRY_FIXED;
    dv_err e;

    memset(r, 0, sizeof(*r));
    e = dec_fixed(p, n, r, ei);
    if (!e)
        e = dec_strings(p, n, &off, r, ei);
    if (!e)
        e = dec_tail(p, n, off, r, ei);
    if (e)
        memset(r, 0, sizeof(*r));
    return e;
}

void audit_record_event(const audit_record *r, audit_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->action = r->action;
    ev->outcome = r->outcome;
    ev->actor = r->actor;
    ev->role = r->role;
    ev->purpose = r->purpose;
    ev->client = r->client;
    ev->session = r->session;
    ev->objects = r->objects;
    ev->nobjects = r->nobjects;
    ev->detail = r->detail;
}

/* ---- time ---------------------------------------------------------------------------------- */

void audit_time_format(int64_t ms, char out[AUDIT_TIME_LEN])
{
    time_t s = (time_t)(ms / 1000);
    char tmp[96];
    struct tm tm;

    if (ms < 0 || !gmtime_r(&s, &tm)) {
        memcpy(out, "1970-01-01T00:00:00.000Z", AUDIT_TIME_LEN);
        return;
    }
    (void)snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    memcpy(out, tmp, AUDIT_TIME_LEN - 1);
    out[AUDIT_TIME_LEN - 1] = 0;
}

/* Reads exactly n decimal digits at s; -1 when one is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int64_t days_from_civil(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static dv_err time_clock(const char *s, int64_t *secs, int *ms)
{
    int hh = digits(s, 2), mi = digits(s + 3, 2), ss = digits(s + 6, 2);
    size_t i;

    if (s[2] != ':' || s[5] != ':' || hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 60)
        return DV_EINVAL;
    *secs = hh * 3600 + mi * 60 + ss;
    *ms = 0;
    s += 8;
    if (*s == '.') {
        for (i = 1; s[i] >= '0' && s[i] <= '9'; i++)
            if (i <= 3)
                *ms = *ms * 10 + (s[i] - '0');
        if (i == 1 || i > 10)
            return DV_EINVAL;
        for (; i <= 3; i++)
            *ms *= 10;
    }
    return DV_OK;
}

/* Seconds to add for the zone designator at z ("Z", "+hh:mm", "-hh:mm"); -1 when bad. */
static int zone_ok(const char *z, int64_t *adj)
{
    int oh, om;

    if ((*z == 'Z' || *z == 'z') && !z[1]) {
        *adj = 0;
        return 1;
    }
    if ((*z != '+' && *z != '-') || strlen(z) != 6 || z[3] != ':')
        return 0;
    oh = digits(z + 1, 2);
    om = digits(z + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59)
        return 0;
    *adj = (*z == '+' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
    return 1;
}

dv_err audit_time_parse(const char *s, int64_t *out, dv_errinfo *ei)
{
    int y, mo, d, ms = 0;
    int64_t secs = 0, adj = 0;
    const char *z;
    size_t n = s ? strnlen(s, 64) : 0;

    y = n >= 10 ? digits(s, 4) : -1;
    mo = n >= 10 ? digits(s + 5, 2) : -1;
    d = n >= 10 ? digits(s + 8, 2) : -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || s[4] != '-' || s[7] != '-')
        return dv_fail(ei, DV_EINVAL, 0, DV_NO_TAG, "time: expected YYYY-MM-DD[Thh:mm:ss[.fff]Z]");
    if (n > 10) {
        if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || n < 19 ||
            time_clock(s + 11, &secs, &ms))
            return dv_fail(ei, DV_EINVAL, 10, DV_NO_TAG, "time: bad clock part");
        z = s + 19;
        if (*z == '.')
            z += strspn(z + 1, "0123456789") + 1;
        if (!zone_ok(z, &adj))
            return dv_fail(ei, DV_EINVAL, (uint64_t)(z - s), DV_NO_TAG,
                           "time: needs a zone, Z or +hh:mm");
    }
    *out = (days_from_civil(y, mo, d) * 86400 + secs + adj) * 1000 + ms;
    return DV_OK;
}
