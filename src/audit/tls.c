/* SPDX-License-Identifier: Apache-2.0 */
/* tls.c - a TLS client for the syslog forwarder, on OpenSSL's libssl.
 *
 * Verification: the peer certificate must chain to cfg->ca_file and name the host (DNS name
 * or IP address); TLS 1.2 or later.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <sys/time.h>
#include <unistd.h>

#include "audit/audit_int.h"

#include "common/banned.h"

struct audit_tls {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
    unsigned timeout_ms;
};

void audit_tls_free(audit_tls *t)
{
    if (!t)
        return;
    if (t->ssl)
        SSL_free(t->ssl);
    if (t->ctx)
        SSL_CTX_free(t->ctx);
    if (t->fd >= 0)
        (void)close(t->fd);
    free(t);
}

static int try_connect(const struct addrinfo *ai, unsigned timeout_ms)
{
    struct pollfd pfd;
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    int err = 0;
    socklen_t el = sizeof(err);

    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (errno != EINPROGRESS || poll(&pfd, 1, (int)timeout_ms) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err) {
            (void)close(fd);
            return -1;
        }
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
        (void)close(fd);
        return -1;
    }
    return fd;
}

static int tcp_connect(const char *host, const char *port, unsigned timeout_ms)
{
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    for (ai = res; ai && fd < 0; ai = ai->ai_next)
        fd = try_connect(ai, timeout_ms);
    freeaddrinfo(res);
    return fd;
}

static dv_err ctx_setup(audit_tls *t, const char *host, const audit_syslog_cfg *cfg, dv_errinfo *ei)
{
    uint8_t addr[16];
    X509_VERIFY_PARAM *vp;
    int ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;

    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "TLS context");
    (void)SSL_CTX_ctrl(t->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
    /* a collector that closes TCP without close_notify has still read everything before */
    (void)SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(t->ctx, cfg->ca_file, NULL) != 1)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot load the CA file");
    if (cfg->cert_file &&
        (SSL_CTX_use_certificate_chain_file(t->ctx, cfg->cert_file) != 1 ||
         SSL_CTX_use_PrivateKey_file(t->ctx, cfg->key_file ? cfg->key_file : cfg->cert_file,
                                     SSL_FILETYPE_PEM) != 1 ||
         SSL_CTX_check_private_key(t->ctx) != 1))
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG,
                       "cannot load the client certificate and key");
    t->ssl = SSL_new(t->ctx);
    if (!t->ssl)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "TLS session");
    vp = SSL_get0_param(t->ssl);
    if (ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1
           : (X509_VERIFY_PARAM_set1_host(vp, host, 0) != 1 ||
              SSL_ctrl(t->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                       (void *)(uintptr_t)host) != 1))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "cannot set the peer name");
    return DV_OK;
}

dv_err audit_tls_connect(const char *host, const char *port, const audit_syslog_cfg *cfg,
                         audit_tls **out, dv_errinfo *ei)
{
    audit_tls *t;
    dv_err e;

    *out = NULL;
    if (!cfg->ca_file)
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "syslog over TLS needs a CA file");
    t = calloc(1, sizeof(*t));
    if (!t)
        return dv_fail(ei, DV_ENOMEM, DV_NO_OFFSET, DV_NO_TAG, "TLS");
    t->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 5000;
    t->fd = tcp_connect(host, port, t->timeout_ms);
    e = t->fd < 0
            ? dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "cannot connect to the syslog collector")
            : ctx_setup(t, host, cfg, ei);
    if (!e && (SSL_set_fd(t->ssl, t->fd) != 1 || SSL_connect(t->ssl) != 1))
        e = dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG,
                    "TLS handshake with the syslog collector failed (certificate or name?)");
    if (e) {
        audit_tls_free(t);
        return e;
    }
    *out = t;
    return DV_OK;
}

dv_err audit_tls_write(audit_tls *t, const uint8_t *p, size_t n, dv_errinfo *ei)
{
    int w;

    while (n) {
        w = SSL_write(t->ssl, p, n > 65536 ? 65536 : (int)n);
        if (w <= 0)
            return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "TLS write failed");
        p += w;
        n -= (size_t)w;
    }
    return DV_OK;
}

dv_err audit_tls_close_confirm(audit_tls *t, dv_errinfo *ei)
{
    uint8_t buf[512];
    int r, err, rounds;

    if (SSL_shutdown(t->ssl) < 0)
        return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG, "TLS close failed");
    (void)shutdown(t->fd, SHUT_WR);
    for (rounds = 0; rounds < 1024; rounds++) {
        errno = 0;
        r = SSL_read(t->ssl, buf, sizeof(buf));
        if (r > 0)
            continue; /* a collector has nothing to say; drain it */
        err = SSL_get_error(t->ssl, r);
        if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0))
            return DV_OK; /* the peer read up to our close and closed too */
        break;
    }
    return dv_fail(ei, DV_EIO, DV_NO_OFFSET, DV_NO_TAG,
                   "the syslog collector did not confirm the end of the batch");
}
