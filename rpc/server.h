/*
 * rpc/server.h - serving gRPC calls, over the gRPC C core.
 *
 * Every call into gRPC core for serving lives in rpc_server.c (and for
 * calling, in rpc_client.c): the core API is a surface for language
 * wrappers that changes between minor versions, and Debian 12's 1.51 is what
 * ecluse is built against. An upgrade touches these files only.
 *
 * Model. The server owns a few acceptor threads that poll one completion
 * queue for new calls. Each accepted call runs its handler on a thread of its
 * own, with a completion queue of its own, in plain blocking style: a
 * handler's rpc_call_send() returns when gRPC's flow control has accepted the
 * message, so a slow reader slows the sender and a stream's memory stays
 * bounded. Before a handler runs, the server has
 *   - authenticated the caller from its client certificate (the
 *     `authenticate` callback turns the certificate into an ecl_identity),
 *   - checked the caller's role against the method's allowed roles,
 *   - decoded the request message (INVALID_ARGUMENT if it does not decode).
 * A handler returns 0 (status OK) or -1 with an ecl_err, whose category
 * becomes the gRPC status (rpc_status.c) and whose message the status text.
 *
 * Threads: handlers of different calls run concurrently; one call's handler
 * runs on one thread. Shutdown (rpc_server_stop) stops accepting calls, lets
 * in-flight calls finish for the grace period, cancels the rest, and returns
 * when every handler has returned.
 */
#ifndef ECLUSE_RPC_SERVER_H
#define ECLUSE_RPC_SERVER_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "rpc/rpc.h"
#include "site/identity.h"

typedef struct rpc_server rpc_server;
typedef struct rpc_call rpc_call;

/* A method handler. `request` is the decoded request (owned by the server,
 * valid until the handler returns); `ctx` is rpc_server_options.handler_ctx. */
typedef int (*rpc_handler_fn)(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                              ecl_err *err);

typedef enum {
    RPC_UNARY = 0,
    RPC_SERVER_STREAMING = 1,
    /* The client streams too: the handler gets request NULL and reads each
     * client message with rpc_call_recv (as request_type). */
    RPC_BIDI_STREAMING = 2,
} rpc_method_kind;

typedef struct rpc_method {
    const char *path; /* "/ecluse.v1.Health/Check" */
    rpc_method_kind kind;
    const ProtobufCMessageDescriptor *request_type;
    unsigned roles; /* ecl_role bits allowed to call */
    rpc_handler_fn handler;
} rpc_method;

/* Turns the TLS peer into an identity, or refuses it. `spiffe` is the single
 * spiffe:// URI SAN of the leaf certificate, `leaf_pem` that certificate.
 * Return -1 with ECL_E_AUTH / ECL_E_DENIED to refuse; a refusal may leave
 * in `out` the identity the certificate did prove (a verified caller who is
 * not served here), which the call's log line then names; otherwise `out`
 * must be left all zero, and the caller is logged as "unauthenticated".
 * Called on the call's own thread, once per call. */
typedef int (*rpc_authenticate_fn)(void *ctx, const char *leaf_pem, size_t leaf_len,
                                   ecl_identity *out, ecl_err *err);

/* The CA certificates (PEM, concatenated) whose clients may connect at all,
 * with a generation number that changes when the set changes. Called at each
 * TLS handshake: a changed generation makes new connections use the new set
 * without a restart. *pem is malloc'd; the server frees it. */
typedef int (*rpc_trust_fn)(void *ctx, char **pem, uint64_t *generation);

/* The server's own certificate and key (PEM), with a generation number that
 * changes when they change. Called at each TLS handshake, like the trust
 * callback: a renewed certificate is presented to new connections without a
 * restart, while connections already made keep theirs. Both strings are
 * malloc'd; the server frees them (and wipes the key). */
typedef int (*rpc_identity_fn)(void *ctx, char **cert_pem, char **key_pem, uint64_t *generation);

typedef struct rpc_server_options {
    const char *listen;   /* host:port; port 0 picks a free one */
    const char *cert_pem; /* the certificate and key when `identity` is NULL */
    const char *key_pem;
    unsigned threads;              /* acceptor threads, >= 1 */
    unsigned max_concurrent_calls; /* more are answered RESOURCE_EXHAUSTED */
    unsigned shutdown_grace_ms;
    size_t max_message_bytes; /* receive and send limit */
    const rpc_method *methods;
    size_t method_count;
    void *handler_ctx;
    rpc_authenticate_fn authenticate;
    void *auth_ctx;
    rpc_trust_fn trust;
    void *trust_ctx;
    rpc_identity_fn identity; /* NULL: cert_pem and key_pem, for good */
    void *identity_ctx;
} rpc_server_options;

/* Bind, register every method, start the acceptor threads. ECL_E_UNAVAILABLE
 * if the address cannot be bound (in use, not local). The options (and the
 * methods array) must outlive the server. */
int rpc_server_start(const rpc_server_options *opts, rpc_server **out, ecl_err *err) ECL_WUR;

/* The port actually bound. */
int rpc_server_port(const rpc_server *srv);

/* Graceful stop: no new calls; in-flight calls have the grace period, then
 * are cancelled; returns when all handlers have returned; frees `srv`. */
void rpc_server_stop(rpc_server *srv);

/* Calls currently being handled. */
unsigned rpc_server_active_calls(rpc_server *srv);

/* --- inside a handler ----------------------------------------------------- */

const ecl_identity *rpc_call_identity(const rpc_call *call);
const char *rpc_call_method(const rpc_call *call);

/* The unary response. Call exactly once in a RPC_UNARY handler that returns 0. */
int rpc_call_reply(rpc_call *call, const ProtobufCMessage *msg, ecl_err *err) ECL_WUR;

/* Send one message of a server stream; blocks until flow control accepts it.
 * ECL_E_UNAVAILABLE if the client went away or the call was cancelled. */
int rpc_call_send(rpc_call *call, const ProtobufCMessage *msg, ecl_err *err) ECL_WUR;

/* Send one message made of `head` (copied) followed by `body`, which is NOT
 * copied: gRPC references it until it calls release(release_ctx), which may
 * be after this returns. The bytes must stay unchanged until then. Used to
 * send chunks straight out of an mmap'd file: the caller encodes in `head`
 * every field before the bytes field plus that field's tag and length. */
int rpc_call_send_zero_copy(rpc_call *call, const void *head, size_t head_len, const void *body,
                            size_t body_len, void (*release)(void *), void *release_ctx,
                            ecl_err *err) ECL_WUR;

/* The next message of the client's stream (RPC_BIDI_STREAMING only),
 * decoded as the method's request_type: 1 with *out set (free it with
 * protobuf_c_message_free_unpacked), 0 once the client has sent its last
 * message or gone away, -1 with ECL_E_INPUT naming the method when a
 * message does not decode. Blocks until one of these happens. */
int rpc_call_recv(rpc_call *call, ProtobufCMessage **out, ecl_err *err) ECL_WUR;

/* Send one message made of `n` pieces, none copied: gRPC references each
 * until it is done with all of them and then calls release(release_ctx)
 * once (it may be after this returns; also when the send fails). Used by a
 * relay to pass on a message in the pieces it was received in (client.h's
 * rpc_message_each hands them out). */
typedef struct rpc_piece {
    const void *data;
    size_t len;
} rpc_piece;
int rpc_call_send_pieces(rpc_call *call, const rpc_piece *pieces, size_t n, void (*release)(void *),
                         void *release_ctx, ecl_err *err) ECL_WUR;

/* 1 once the client has gone or the server is stopping. */
int rpc_call_cancelled(rpc_call *call);

#endif
