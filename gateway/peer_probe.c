/* peer_probe.c - one TLS handshake with a peer, to say why calls fail. */
#include "gateway/peer_probe.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gateway/gateway.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(int64_t deadline)
{
    int64_t left = deadline - now_ms();
    return left > 0 ? (int)left : 0;
}

/* Wait for `events` on fd until the deadline, in short slices so that a
 * stop (gw->stopping) ends the wait at once: 1 ready, 0 not. */
static int wait_fd(gateway *gw, int fd, short events, int64_t deadline)
{
    for (;;) {
        int left = left_ms(deadline);
        if (left <= 0 || atomic_load(&gw->stopping))
            return 0;
        struct pollfd p = {fd, events, 0};
        int rc = poll(&p, 1, left < 50 ? left : 50);
        if (rc == 1)
            return 1;
        if (rc < 0 && errno != EINTR)
            return 0;
    }
}

/* A TCP connection to host:port (the last ':' splits), or -1 with why. */
static int connect_to(gateway *gw, const char *endpoint, int64_t deadline, peer_probe *out)
{
    char host[256];
    const char *colon = strrchr(endpoint, ':');
    if (colon == NULL || (size_t)(colon - endpoint) >= sizeof(host)) {
        snprintf(out->detail, sizeof(out->detail), "endpoint '%s' is not HOST:PORT", endpoint);
        return -1;
    }
    memcpy(host, endpoint, (size_t)(colon - endpoint));
    host[colon - endpoint] = '\0';
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, colon + 1, &hints, &ai);
    if (gai != 0) {
        out->verdict = PEER_PROBE_UNREACHABLE;
        snprintf(out->detail, sizeof(out->detail), "%.160s: %.80s", host, gai_strerror(gai));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc != 0 && fd >= 0 && errno == EINPROGRESS) {
        int e = 0;
        socklen_t n = sizeof(e);
        if (wait_fd(gw, fd, POLLOUT, deadline) == 1 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &n) == 0 && e == 0)
            rc = 0;
        else
            errno = e != 0 ? e : ETIMEDOUT;
    }
    if (rc != 0) {
        out->verdict = PEER_PROBE_UNREACHABLE;
        snprintf(out->detail, sizeof(out->detail), "connect to %.160s: %.80s", endpoint,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Trust the peer's CA only, and present this gateway's pair. */
static SSL_CTX *probe_context(gateway *gw, const fed_peer *peer)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    gateway_tls *tls = gateway_tls_acquire(gw);
    BIO *ca = BIO_new_mem_buf(peer->info.ca_pem, -1), *cert = BIO_new_mem_buf(tls->cert_pem, -1),
        *key = BIO_new_mem_buf(tls->key_pem, -1);
    X509 *ca_cert = ca ? PEM_read_bio_X509(ca, NULL, NULL, NULL) : NULL;
    X509 *own = cert ? PEM_read_bio_X509(cert, NULL, NULL, NULL) : NULL;
    EVP_PKEY *pkey = key ? PEM_read_bio_PrivateKey(key, NULL, NULL, NULL) : NULL;
    static const unsigned char alpn[] = "\x02h2";
    int ok = ctx != NULL && ca_cert != NULL && own != NULL && pkey != NULL &&
             X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca_cert) == 1 &&
             SSL_CTX_use_certificate(ctx, own) == 1 && SSL_CTX_use_PrivateKey(ctx, pkey) == 1 &&
             SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) == 0;
    X509_free(ca_cert);
    X509_free(own);
    EVP_PKEY_free(pkey);
    BIO_free(ca);
    BIO_free(cert);
    BIO_free(key);
    gateway_tls_release(gw, tls);
    if (!ok) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

/* Drive one SSL step (connect or read) on a non-blocking socket until it
 * is done or the time is up: 1 done, 0 failed (see the SSL error), -1 no
 * answer in time. */
static int step(gateway *gw, SSL *ssl, int fd, int reading, int64_t deadline)
{
    for (;;) {
        char byte;
        int rc = reading ? SSL_read(ssl, &byte, 1) : SSL_connect(ssl);
        if (rc > 0)
            return 1;
        int e = SSL_get_error(ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return 0;
        if (wait_fd(gw, fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) != 1)
            return -1;
    }
}

/* After a failed step: what the TLS layer said. `shook` is 1 if our side
 * of the handshake was done (the failure came on the first read). */
static void judge_failure(SSL *ssl, int shook, peer_probe *out)
{
    long verify = SSL_get_verify_result(ssl);
    unsigned long e = ERR_peek_last_error();
    int reason = ERR_GET_REASON(e);
    if (verify != X509_V_OK) {
        out->verdict = PEER_PROBE_BAD_CERT;
        out->verify_error = verify;
        snprintf(out->detail, sizeof(out->detail), "its certificate: %s",
                 X509_verify_cert_error_string(verify));
    } else if (reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
               reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
               reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
               reason == SSL_R_TLSV1_ALERT_ACCESS_DENIED ||
               reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN) {
        out->verdict = PEER_PROBE_REFUSED_US;
        snprintf(out->detail, sizeof(out->detail), "its TLS refused our certificate (%s)",
                 ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "alert");
    } else if (shook && (e == 0 || reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
        /* gRPC's TLS ends a handshake it refuses by closing the connection,
         * often before the alert is out; a server that accepted us would
         * have spoken first. */
        out->verdict = PEER_PROBE_REFUSED_US;
        snprintf(out->detail, sizeof(out->detail),
                 "its TLS closed the connection once it had our certificate, without a word: "
                 "it does not accept our certificate");
    } else {
        out->verdict = PEER_PROBE_UNKNOWN;
        snprintf(out->detail, sizeof(out->detail), "TLS: %s",
                 e != 0 && ERR_reason_error_string(e) ? ERR_reason_error_string(e)
                                                      : "the connection was closed");
    }
}

void peer_probe_tls(gateway *gw, const fed_peer *peer, int timeout_ms, peer_probe *out)
{
    memset(out, 0, sizeof(*out));
    int64_t deadline = now_ms() + timeout_ms;
    int fd = connect_to(gw, peer->info.endpoint, deadline, out);
    if (fd < 0)
        return;
    SSL_CTX *ctx = probe_context(gw, peer);
    SSL *ssl = ctx != NULL ? SSL_new(ctx) : NULL;
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        snprintf(out->detail, sizeof(out->detail), "cannot set up a TLS probe");
    } else {
        ERR_clear_error();
        /* TLS 1.3: our certificate is judged after our side is done, so the
         * peer's verdict on it comes as an alert on the first read. Waiting
         * for a first byte is enough: a gRPC server speaks first (SETTINGS). */
        int rc = step(gw, ssl, fd, 0, deadline), shook = rc == 1;
        if (shook)
            rc = step(gw, ssl, fd, 1, deadline);
        if (rc == 1) {
            out->verdict = PEER_PROBE_ACCEPTED;
            snprintf(out->detail, sizeof(out->detail), "a TLS connection to %.200s works now",
                     peer->info.endpoint);
        } else if (rc == 0) {
            judge_failure(ssl, shook, out);
        } else {
            out->verdict = PEER_PROBE_UNREACHABLE;
            snprintf(out->detail, sizeof(out->detail), "%.200s did not answer within %d ms",
                     peer->info.endpoint, timeout_ms);
        }
    }
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
}
