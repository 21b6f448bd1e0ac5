/* tls_baseline.c - a plain OpenSSL TLS 1.3 stream on loopback, and a probe of
 * the cipher suite a client picks (see tls_baseline.h). */
#include "bench/stream/tls_baseline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ssl_fail(ecl_err *err, const char *what)
{
    char reason[256] = "no OpenSSL reason";
    unsigned long e = ERR_get_error();
    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    return ecl_fail(err, ECL_E_CRYPTO, "%s: %s", what, reason);
}

/* A listening socket on 127.0.0.1 on a port the kernel picks. */
static int listen_loopback(int *port, ecl_err *err)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return ecl_fail(err, ECL_E_IO, "listen on 127.0.0.1: %s", strerror(e));
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* A stalled peer must not hang the bench. */
static void set_timeouts(int fd, int seconds)
{
    struct timeval tv = {seconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static SSL_CTX *make_ctx(int server, const tls_files *f, const char *suites, ecl_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx == NULL) {
        ssl_fail(err, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_num_tickets(ctx, 0);
    const char *what = NULL;
    if (suites != NULL && SSL_CTX_set_ciphersuites(ctx, suites) != 1) {
        SSL_CTX_free(ctx);
        ERR_clear_error();
        ecl_fail(err, ECL_E_USAGE, "cipher suite '%s' is not a TLS 1.3 suite OpenSSL knows",
                 suites);
        return NULL;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1)
        what = f->cert;
    else if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1)
        what = f->key;
    else if (f->ca != NULL && SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1)
        what = f->ca;
    if (what != NULL) {
        char msg[64 + 4096];
        snprintf(msg, sizeof(msg), "loading %s", what);
        ssl_fail(err, msg);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (f->ca != NULL)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return ctx;
}

/* ---- the transfer ----------------------------------------------------------- */

typedef struct side {
    const tls_baseline_opts *o;
    SSL_CTX *ctx;
    int fd; /* listening (server) or unused (client) */
    int port;
    int conn;
    double start, end;
    int rc;
    ecl_err err;
    char cipher[64], version[16];
} side;

static void *receiver(void *arg)
{
    side *s = arg;
    s->rc = -1;
    s->conn = accept(s->fd, NULL, NULL);
    if (s->conn < 0) {
        ecl_fail(&s->err, ECL_E_IO, "accept: %s", strerror(errno));
        return NULL;
    }
    set_timeouts(s->conn, 60);
    SSL *ssl = SSL_new(s->ctx);
    SSL_set_fd(ssl, s->conn);
    if (SSL_accept(ssl) != 1) {
        ssl_fail(&s->err, "baseline server handshake");
        goto out;
    }
    size_t got = 0;
    while (got < s->o->len) {
        size_t want = s->o->len - got;
        int n = SSL_read(ssl, s->o->dst + got, want > (1u << 30) ? (1 << 30) : (int)want);
        if (n <= 0) {
            ssl_fail(&s->err, "baseline SSL_read");
            ecl_err_prefix(&s->err, "after %zu of %zu bytes", got, s->o->len);
            goto out;
        }
        got += (size_t)n;
    }
    s->end = now_s();
    s->rc = 0;
out:
    SSL_free(ssl);
    /* Unblocks the sender if this side failed. */
    shutdown(s->conn, SHUT_RDWR);
    return NULL;
}

static void *sender(void *arg)
{
    side *s = arg;
    s->rc = -1;
    s->conn = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)s->port);
    if (s->conn < 0 || connect(s->conn, (struct sockaddr *)&a, sizeof(a)) != 0) {
        ecl_fail(&s->err, ECL_E_IO, "connect to 127.0.0.1:%d: %s", s->port, strerror(errno));
        return NULL;
    }
    set_timeouts(s->conn, 60);
    SSL *ssl = SSL_new(s->ctx);
    SSL_set_fd(ssl, s->conn);
    if (SSL_connect(ssl) != 1) {
        ssl_fail(&s->err, "baseline client handshake");
        goto out;
    }
    snprintf(s->cipher, sizeof(s->cipher), "%s", SSL_get_cipher_name(ssl));
    snprintf(s->version, sizeof(s->version), "%s", SSL_get_version(ssl));
    s->start = now_s();
    size_t sent = 0;
    while (sent < s->o->len) {
        size_t n = s->o->len - sent;
        if (n > s->o->write_bytes)
            n = s->o->write_bytes;
        size_t wrote = 0;
        if (SSL_write_ex(ssl, s->o->data + sent, n, &wrote) != 1) {
            ssl_fail(&s->err, "baseline SSL_write");
            ecl_err_prefix(&s->err, "after %zu of %zu bytes", sent, s->o->len);
            goto out;
        }
        sent += wrote;
    }
    s->rc = 0;
out:
    SSL_free(ssl);
    return NULL;
}

int tls_baseline_run(const tls_baseline_opts *o, tls_baseline_result *out, ecl_err *err)
{
    side rx, tx;
    memset(&rx, 0, sizeof(rx));
    memset(&tx, 0, sizeof(tx));
    rx.o = tx.o = o;
    rx.conn = tx.conn = -1;
    rx.ctx = make_ctx(1, &o->server, o->ciphersuite, err);
    tx.ctx = rx.ctx != NULL ? make_ctx(0, &o->client, o->ciphersuite, err) : NULL;
    rx.fd = tx.ctx != NULL ? listen_loopback(&tx.port, err) : -1;
    int rc = -1;
    pthread_t trx, ttx;
    if (rx.fd >= 0 && pthread_create(&trx, NULL, receiver, &rx) == 0) {
        if (pthread_create(&ttx, NULL, sender, &tx) == 0)
            pthread_join(ttx, NULL);
        else
            ecl_fail(&tx.err, ECL_E_INTERNAL, "cannot start the sending thread");
        if (tx.rc != 0 && tx.conn >= 0)
            shutdown(tx.conn, SHUT_RDWR);
        if (tx.conn < 0)
            shutdown(rx.fd, SHUT_RDWR); /* the receiver is still in accept() */
        pthread_join(trx, NULL);
        if (tx.rc != 0)
            *err = tx.err;
        else if (rx.rc != 0)
            *err = rx.err;
        else if (memcmp(o->data, o->dst, o->len) != 0)
            ecl_fail(err, ECL_E_INPUT, "the baseline received other bytes than it sent");
        else
            rc = 0;
    } else if (rx.fd >= 0)
        ecl_fail(err, ECL_E_INTERNAL, "cannot start the receiving thread");
    if (rc == 0) {
        out->seconds = rx.end - tx.start;
        snprintf(out->cipher, sizeof(out->cipher), "%s", tx.cipher);
        snprintf(out->version, sizeof(out->version), "%s", tx.version);
    }
    if (rx.conn >= 0)
        close(rx.conn);
    if (tx.conn >= 0)
        close(tx.conn);
    if (rx.fd >= 0)
        close(rx.fd);
    SSL_CTX_free(rx.ctx);
    SSL_CTX_free(tx.ctx);
    return rc;
}

/* ---- the cipher probe --------------------------------------------------------- */

static int select_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                     const unsigned char *in, unsigned inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char h2[] = {2, 'h', '2'};
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, h2, sizeof(h2), in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

typedef struct probe {
    SSL_CTX *ctx;
    int fd;
    char cipher[64];
} probe;

/* Accept until one handshake completes or no client comes for 10 s. */
static void *probe_server(void *arg)
{
    probe *p = arg;
    set_timeouts(p->fd, 10);
    for (int tries = 0; tries < 8 && p->cipher[0] == '\0'; tries++) {
        int c = accept(p->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        set_timeouts(c, 10);
        SSL *ssl = SSL_new(p->ctx);
        SSL_set_fd(ssl, c);
        if (SSL_accept(ssl) == 1)
            snprintf(p->cipher, sizeof(p->cipher), "%s", SSL_get_cipher_name(ssl));
        ERR_clear_error();
        SSL_free(ssl);
        close(c);
    }
    return NULL;
}

int tls_probe_cipher(const tls_files *server, tls_probe_connect_fn connect_fn, void *arg,
                     char *cipher, size_t cap, ecl_err *err)
{
    tls_files f = {server->cert, server->key, NULL};
    probe p;
    memset(&p, 0, sizeof(p));
    /* Every TLS 1.3 suite, and OpenSSL's default: the client's order wins. */
    p.ctx = make_ctx(
        1, &f, "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256", err);
    if (p.ctx == NULL)
        return -1;
    SSL_CTX_set_alpn_select_cb(p.ctx, select_h2, NULL);
    int port = 0;
    p.fd = listen_loopback(&port, err);
    if (p.fd < 0) {
        SSL_CTX_free(p.ctx);
        return -1;
    }
    pthread_t t;
    int rc = -1;
    if (pthread_create(&t, NULL, probe_server, &p) != 0) {
        ecl_fail(err, ECL_E_INTERNAL, "cannot start the probe thread");
    } else {
        connect_fn(port, arg);
        shutdown(p.fd, SHUT_RDWR); /* ends a pending accept() */
        pthread_join(t, NULL);
        if (p.cipher[0] == '\0')
            ecl_fail(err, ECL_E_UNAVAILABLE, "no TLS handshake completed with the probe");
        else {
            snprintf(cipher, cap, "%s", p.cipher);
            rc = 0;
        }
    }
    close(p.fd);
    SSL_CTX_free(p.ctx);
    return rc;
}
