/*
 * tls_baseline.h - the least a TLS stream on loopback costs: the baseline
 * every ecluse stream is measured against, in the same run.
 *
 * tls_baseline_run() sends `len` bytes over one TLS 1.3 connection on
 * 127.0.0.1 between two threads of this process, with mutual TLS (both sides
 * present a certificate and verify the other's against `ca`), one cipher
 * suite, `write_bytes` per SSL_write; the receiving thread reads straight
 * into `dst`. The time runs from the end of the handshake to the last byte
 * received, so it is the cost of encrypting, moving and decrypting the bytes.
 *
 * tls_probe_cipher() finds out which TLS 1.3 cipher suite a client picks:
 * it listens on 127.0.0.1 as an OpenSSL server that offers every TLS 1.3
 * suite and honours the client's order (OpenSSL's default), selects ALPN
 * "h2" (so a gRPC client completes its handshake), calls `connect` with the
 * port, and reports the suite of the first handshake that completed.
 *
 * All paths are PEM files. Nothing here outlives the call.
 */
#ifndef ECLUSE_BENCH_STREAM_TLS_BASELINE_H
#define ECLUSE_BENCH_STREAM_TLS_BASELINE_H

#include <stddef.h>

#include "common/err.h"

typedef struct tls_files {
    const char *cert, *key, *ca;
} tls_files;

typedef struct tls_baseline_opts {
    tls_files server, client;
    const char *ciphersuite; /* a TLS 1.3 suite, e.g. "TLS_AES_128_GCM_SHA256" */
    const unsigned char *data;
    size_t len;
    size_t write_bytes; /* bytes per SSL_write (e.g. 4 MiB) */
    unsigned char *dst; /* at least `len` bytes: where the receiver reads to */
} tls_baseline_opts;

typedef struct tls_baseline_result {
    double seconds; /* end of handshake to last byte received */
    char cipher[64];
    char version[16];
} tls_baseline_result;

/* Run the transfer (see above) and check that dst equals data.
 * Errors: ECL_E_IO (socket), ECL_E_CRYPTO (certificates, handshake, TLS
 * I/O; the message carries OpenSSL's reason), ECL_E_INPUT (the bytes
 * received differ from those sent), ECL_E_USAGE (unknown cipher suite). */
int tls_baseline_run(const tls_baseline_opts *o, tls_baseline_result *out, ecl_err *err) ECL_WUR;

/* Called by tls_probe_cipher with the probe server's port: connect there
 * with the client under test (its own success does not matter). */
typedef void (*tls_probe_connect_fn)(int port, void *arg);

/* See the top of this file. `server` needs cert and key (ca unused).
 * Errors: ECL_E_IO, ECL_E_CRYPTO (certificate files), ECL_E_UNAVAILABLE
 * (no handshake completed within 10 s). */
int tls_probe_cipher(const tls_files *server, tls_probe_connect_fn connect, void *arg, char *cipher,
                     size_t cap, ecl_err *err) ECL_WUR;

#endif
