/*
 * gateway.h - the ecluse gateway daemon: the table of contents.
 *
 * One process per site. It loads its configuration (config.h), checks its
 * identity files, serves ecluse.v1 over mutual TLS (rpc.h) and stops cleanly
 * on SIGTERM or SIGINT. What each service does lives in its own svc_*.c;
 * which roles may call which method is in methods.c, in one table.
 */
#ifndef ECLUSE_GATEWAY_GATEWAY_H
#define ECLUSE_GATEWAY_GATEWAY_H

#include <openssl/x509.h>
#include <stddef.h>
#include <time.h>

#include "common/err.h"
#include "gateway/config.h"
#include "gateway/rpc.h"

/* Everything a running gateway holds; handlers receive it as their ctx. */
typedef struct gateway {
    gateway_config cfg;
    X509 *ca;     /* this site's CA: issuer of its people and its gateway */
    char *ca_pem; /* the same, as PEM, for the TLS trust set */
    char *cert_pem;
    char *key_pem;
    struct timespec started; /* CLOCK_MONOTONIC */
    rpc_server_options rpc_options;
    rpc_server *server;
} gateway;

/* Load the configuration and every file it names; nothing is served yet.
 * Errors name the file or field and the problem. */
int gateway_open(gateway *gw, const char *config_path, ecl_err *err);

/* Serve until SIGTERM or SIGINT, then stop gracefully. Blocks those signals
 * in the calling thread (call it from the main thread, before any other
 * thread is started). ECL_E_UNAVAILABLE if the address cannot be bound. */
int gateway_serve(gateway *gw, ecl_err *err);

void gateway_close(gateway *gw);

/* The method table (methods.c): every method of ecluse.v1 with its roles. */
const rpc_method *gateway_methods(size_t *count);

/* Authentication callback (auth.c): people of this site, issued by its CA. */
int gateway_authenticate(void *ctx, const char *leaf_pem, size_t leaf_len, ecl_identity *out,
                         ecl_err *err);

/* The TLS trust set callback (auth.c): this site's CA. */
int gateway_trust(void *ctx, char **pem, uint64_t *generation);

/* Handlers, one file per service. */
int svc_health_check(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err);

#endif
