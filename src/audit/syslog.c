/* SPDX-License-Identifier: Apache-2.0 */
/* syslog.c - forwarding entries as RFC 5424 messages over TLS with RFC 5425 framing.
 *
 * The log itself is the spool: DIR/forward-HOST-PORT.state ("dcmvault-forward 1\nnext N\n",
 * replaced atomically) says which sequence number goes next.  A pass sends entries from there
 * in batches of BATCH on a fresh TLS session each; a batch is delivered when the collector,
 * after our close_notify, closes the session too (it has read every byte before it), and only
 * then does the state move.  So a collector that is down gets everything once it is back, and
 * nothing twice unless the connection breaks inside a batch (then that batch goes again;
 * every message carries seq= for de-duplication).  The background thread (audit_fwd_start)
 * runs passes when the log kicks it and retries every RETRY_MS while the collector is down.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit_int.h"

#include "common/banned.h"

#define BATCH     500
#define RETRY_MS  1000
#define STATE_MAX 256
#define SD_ID     "dcmvault@32473" /* 32473: the documentation enterprise number (RFC 5612) */
#define FACILITY  13               /* log audit */
#define FRAME_MAX ((size_t)64 * 1024)

/* ---- one message -------------------------------------------------------------------------- */

/* Appends an SD-PARAM name="value" with '"', '\' and ']' escaped (RFC 5424 6.3.3). */
static dv_err sd_param(dv_buf *out, const char *name, const char *v)
{
    dv_err e;

    if (!v || !v[0])
        return DV_OK;
    e = dv_buf_printf(out, " %s=\"", name);
    for (; !e && *v; v++) {
        if (*v == '"' || *v == '\\' || *v == ']')
            e = dv_buf_addc(out, '\\');
        if (!e)
            e = dv_buf_addc(out, (uint8_t)*v);
    }
    return e ? e : dv_buf_addc(out, '"');
}

static void host_field(const audit_syslog_cfg *cfg, char out[256])
{
    size_t i, n = 0;

    if (cfg->hostname)
        (void)snprintf(out, 256, "%s", cfg->hostname);
    else if (gethostname(out, 255) != 0)
        out[0] = 0;
    out[255] = 0;
    for (i = 0; out[i]; i++)
        if (out[i] > 32 && out[i] < 127)
            out[n++] = out[i];
    out[n] = 0;
    if (!n)
        (void)snprintf(out, 256, "-");
}

static dv_err sd_element(const audit_record *r, const audit_action_info *ai, const char *origin,
                         dv_buf *out)
{
    char num[32], hex[70], obj[96];
    size_t i;
    dv_err e;

    (void)snprintf(num, sizeof(num), "%llu", (unsigned long long)r->seq);
    e = dv_buf_adds(out, "[" SD_ID);
    if (!e)
        e = sd_param(out, "seq", num);
    if (!e)
        e = sd_param(out, "origin", origin);
    if (!e)
        e = sd_param(out, "action", ai->name);
    if (!e)
        e = sd_param(out, "eventID", ai->event_id);
    (void)snprintf(num, sizeof(num), "%d", (int)r->outcome);
    if (!e)
        e = sd_param(out, "outcome", num);
    if (!e)
        e = sd_param(out, "actor", r->actor);
    if (!e)
        e = sd_param(out, "role", r->role);
    if (!e)
        e = sd_param(out, "purpose", r->purpose);
    if (!e)
        e = sd_param(out, "client", r->client);
    if (!e)
        e = sd_param(out, "session", r->session);
    for (i = 0; !e && i < r->nobjects; i++) {
        for (size_t k = 0; k < AUDIT_PSEUDONYM_BYTES; k++)
            (void)snprintf(hex + 2 * k, 3, "%02x", r->objects[i].pseudonym[k]);
        (void)snprintf(obj, sizeof(obj), "%s:%s", audit_obj_type_name(r->objects[i].type), hex);
        e = sd_param(out, "obj", obj);
    }
    if (!e)
        e = sd_param(out, "detail", r->detail);
    return e ? e : dv_buf_addc(out, ']');
}

dv_err audit_syslog_frame(const audit_record *r, const audit_syslog_cfg *cfg, const char *origin,
                          dv_buf *out, dv_errinfo *ei)
{
    const audit_action_info *ai = audit_action_get(r->action);
    char t[AUDIT_TIME_LEN], host[256], len[32];
    dv_buf msg;
    dv_err e;

    if (!ai)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "syslog: unknown action");
    audit_time_format(r->time_ms, t);
    host_field(cfg, host);
    dv_buf_init(&msg, FRAME_MAX);
    e = dv_buf_printf(&msg, "<%d>1 %s %s dcmvault - %s ",
                      FACILITY * 8 + (r->outcome == AUDIT_OUT_SUCCESS ? 5 : 4), t, host, ai->name);
    if (!e)
        e = sd_element(r, ai, origin && origin[0] ? origin : "-", &msg);
    if (!e)
        e = dv_buf_adds(&msg, " \xEF\xBB\xBF");
    if (!e)
        e = audit_format_dicom_xml(r, cfg->source_id, &msg);
    (void)snprintf(len, sizeof(len), "%zu ", msg.len);
    if (!e)
        e = dv_buf_adds(out, len);
    if (!e)
        e = dv_buf_add(out, msg.p, msg.len);
    dv_buf_release(&msg);
    if (e)
        return dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "syslog: message too long");
    return DV_OK;
}

/* ---- destination and state ------------------------------------------------------------------ */

typedef struct dest {
    char host[256], port[8];
    char state[AUDIT_FILE_MAX + 300];
} dest;

static dv_err dest_parse(const char *dir, const char *url, dest *d, dv_errinfo *ei)
{
    const char *h, *colon, *end;
    size_t hn, pn, i;
    char safe[256];

    if (!url || strncmp(url, "tls://", 6) != 0)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "syslog: expected tls://HOST:PORT");
    h = url + 6;
    if (*h == '[') {
        end = strchr(h, ']');
        colon = end && end[1] == ':' ? end + 1 : NULL;
        h++;
        hn = end ? (size_t)(end - h) : 0;
    } else {
        colon = strrchr(h, ':');
        hn = colon ? (size_t)(colon - h) : 0;
    }
    pn = colon ? strlen(colon + 1) : 0;
    if (!hn || hn >= sizeof(d->host) || !pn || pn >= sizeof(d->port) ||
        strspn(colon + 1, "0123456789") != pn)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "syslog: expected tls://HOST:PORT");
    memcpy(d->host, h, hn);
    d->host[hn] = 0;
    memcpy(d->port, colon + 1, pn + 1);
    for (i = 0; i <= hn; i++)
        safe[i] = (i < hn && !strchr("0123456789abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-",
                                     h[i]))
                      ? '_'
                      : (i < hn ? h[i] : 0);
    (void)snprintf(d->state, sizeof(d->state), "%s/forward-%s-%s.state", dir, safe, d->port);
    return DV_OK;
}

static dv_err state_load(const dest *d, uint64_t *next, dv_errinfo *ei)
{
    static const char pre[] = "dcmvault-forward 1\nnext ";
    unsigned long long v = 0;
    char *end = NULL;
    dv_buf b;
    dv_err e;

    *next = 0;
    dv_buf_init(&b, STATE_MAX);
    e = audit_file_read(d->state, STATE_MAX, &b, ei);
    if (e == DV_ENOTFOUND) {
        dv_buf_release(&b);
        return DV_OK;
    }
    if (!e && (b.len <= sizeof(pre) || b.len - sizeof(pre) > 20 ||
               memcmp(b.p, pre, sizeof(pre) - 1) != 0 || b.p[b.len - 1] != '\n' ||
               strspn((const char *)b.p + sizeof(pre) - 1, "0123456789") != b.len - sizeof(pre)))
        e = dv_fail(ei, DV_EMALFORMED, 0, DV_NO_TAG, "syslog: the forward state file is broken");
    if (!e) {
        errno = 0;
        v = strtoull((const char *)b.p + sizeof(pre) - 1, &end, 10);
        if (errno || end != (char *)b.p + b.len - 1)
            e = dv_fail(ei, DV_EMALFORMED, 0, DV_NO_TAG, "syslog: the forward state is too large");
    }
    dv_buf_release(&b);
    *next = v;
    return e;
}

static dv_err state_save(const dest *d, uint64_t next, dv_errinfo *ei)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "dcmvault-forward 1\nnext %llu\n", (unsigned long long)next);

    return audit_file_replace(d->state, buf, (size_t)n, 0600, ei);
}

dv_err audit_forward_state(const char *dir, const audit_syslog_cfg *cfg, uint64_t *next,
                           dv_errinfo *ei)
{
    dest d;
    dv_err e = dest_parse(dir, cfg->url, &d, ei);

    return e ? e : state_load(&d, next, ei);
}

/* ---- a pass -----------------------------------------------------------------------------------
 */

static void origin_of(audit_reader *r, char out[AUDIT_ORIGIN_MAX + 1])
{
    audit_checkpoint cp;
    dv_buf b;

    out[0] = 0;
    dv_buf_init(&b, AUDIT_NOTE_MAX);
    if (!audit_reader_checkpoint(r, &b, NULL) && !audit_note_open(b.p, b.len, NULL, &cp, NULL))
        memcpy(out, cp.origin, AUDIT_ORIGIN_MAX + 1);
    dv_buf_release(&b);
}

/* Sends entries [from, to) on one TLS session and waits for the collector to confirm. */
static dv_err send_batch(audit_reader *r, const dest *d, const audit_syslog_cfg *cfg,
                         const char *origin, uint64_t from, uint64_t to, dv_errinfo *ei)
{
    audit_record *rec = malloc(sizeof(*rec));
    audit_tls *t = NULL;
    dv_buf frames;
    uint64_t s;
    dv_err e = rec ? DV_OK : DV_ENOMEM;

    dv_buf_init(&frames, (size_t)BATCH * FRAME_MAX);
    for (s = from; !e && s < to; s++) {
        e = audit_reader_get(r, s, rec, ei);
        if (!e)
            e = audit_syslog_frame(rec, cfg, origin, &frames, ei);
    }
    if (!e)
        e = audit_tls_connect(d->host, d->port, cfg, &t, ei);
    if (!e)
        e = audit_tls_write(t, frames.p, frames.len, ei);
    if (!e)
        e = audit_tls_close_confirm(t, ei);
    audit_tls_free(t);
    dv_buf_release(&frames);
    free(rec);
    return e == DV_ENOMEM ? dv_fail(ei, e, DV_NO_OFFSET, DV_NO_TAG, "syslog batch") : e;
}

/* A pass that sends no entry at or after limit. */
static dv_err forward_upto(const char *dir, const audit_syslog_cfg *cfg, uint64_t limit,
                           uint64_t *sent, dv_errinfo *ei)
{
    char origin[AUDIT_ORIGIN_MAX + 1];
    audit_reader *r = NULL;
    uint64_t next, size, to;
    dest d;
    dv_err e;

    if (sent)
        *sent = 0;
    e = dest_parse(dir, cfg->url, &d, ei);
    if (!e)
        e = state_load(&d, &next, ei);
    if (!e)
        e = audit_reader_open(dir, &r, ei);
    if (e)
        return e;
    size = audit_reader_size(r);
    if (size > limit)
        size = limit;
    origin_of(r, origin);
    if (next > size)
        e = dv_fail(ei, DV_ETAMPER, DV_NO_OFFSET, DV_NO_TAG,
                    "syslog: %llu entries were forwarded but the log holds %llu",
                    (unsigned long long)next, (unsigned long long)size);
    while (!e && next < size) {
        to = next + BATCH < size ? next + BATCH : size;
        e = send_batch(r, &d, cfg, origin, next, to, ei);
        if (!e)
            e = state_save(&d, to, ei);
        if (!e && sent)
            *sent += to - next;
        if (!e)
            next = to;
    }
    audit_reader_close(r);
    return e;
}

dv_err audit_forward_pass(const char *dir, const audit_syslog_cfg *cfg, uint64_t *sent,
                          dv_errinfo *ei)
{
    return forward_upto(dir, cfg, UINT64_MAX, sent, ei);
}

/* ---- the background thread ------------------------------------------------------------------ */

struct audit_fwd_thread {
    char dir[AUDIT_PATH_MAX];
    audit_syslog_cfg cfg;
    const _Atomic uint64_t *durable;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int kicked, stop;
};

static void *fwd_main(void *arg)
{
    audit_fwd_thread *f = arg;
    struct timespec ts;
    int failing = 0, stop;

    (void)pthread_mutex_lock(&f->mu);
    for (;;) {
        if (!f->kicked && !f->stop) {
            (void)clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += failing ? RETRY_MS / 1000 : 5;
            (void)pthread_cond_timedwait(&f->cv, &f->mu, &ts);
        }
        stop = f->stop;
        f->kicked = 0;
        (void)pthread_mutex_unlock(&f->mu);
        failing = forward_upto(f->dir, &f->cfg, atomic_load(f->durable), NULL, NULL) != DV_OK;
        (void)pthread_mutex_lock(&f->mu);
        if (stop)
            break;
    }
    (void)pthread_mutex_unlock(&f->mu);
    return NULL;
}

dv_err audit_fwd_start(const char *dir, const audit_syslog_cfg *cfg,
                       const _Atomic uint64_t *durable, audit_fwd_thread **out, dv_errinfo *ei)
{
    audit_fwd_thread *f;
    dest d;
    dv_err e;

    *out = NULL;
    e = dest_parse(dir, cfg->url, &d, ei);
    if (e)
        return e;
    f = calloc(1, sizeof(*f));
    if (!f)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "forwarder");
    (void)snprintf(f->dir, sizeof(f->dir), "%s", dir);
    f->cfg = *cfg;
    f->durable = durable;
    f->kicked = 1;
    (void)pthread_mutex_init(&f->mu, NULL);
    (void)pthread_cond_init(&f->cv, NULL);
    if (pthread_create(&f->th, NULL, fwd_main, f) != 0) {
        (void)pthread_mutex_destroy(&f->mu);
        (void)pthread_cond_destroy(&f->cv);
        free(f);
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "forwarder thread");
    }
    *out = f;
    return DV_OK;
}

void audit_fwd_kick(audit_fwd_thread *f)
{
    (void)pthread_mutex_lock(&f->mu);
    f->kicked = 1;
    (void)pthread_cond_signal(&f->cv);
    (void)pthread_mutex_unlock(&f->mu);
}

void audit_fwd_stop(audit_fwd_thread *f)
{
    if (!f)
        return;
    (void)pthread_mutex_lock(&f->mu);
    f->stop = 1;
    (void)pthread_cond_signal(&f->cv);
    (void)pthread_mutex_unlock(&f->mu);
    (void)pthread_join(f->th, NULL);
    (void)pthread_mutex_destroy(&f->mu);
    (void)pthread_cond_destroy(&f->cv);
    free(f);
}
