/*
 * rpc/server.c - serving ecluse.v1 with the gRPC C core (see server.h).
 *
 * Lifetimes, which are the whole difficulty here:
 *   - A request_slot is a standing request for one more call of one method
 *     (or, for the generic slot, of any unregistered method). When gRPC fills
 *     it, the acceptor moves what it got into a fresh rpc_call and posts the
 *     slot again.
 *   - An rpc_call belongs to the thread that runs it, from accept to the last
 *     pluck on its private completion queue; only then is it freed, and only
 *     then is the server's active count decremented, so rpc_server_stop can
 *     wait for that count to reach zero before it destroys anything shared.
 */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <openssl/crypto.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "rpc/server.h"

#define SLOTS_PER_METHOD  4
#define GENERIC_SLOTS     2
#define CALL_THREAD_STACK (512 * 1024)

typedef struct request_slot {
    rpc_server *srv;
    const rpc_method *method; /* NULL: the generic slot */
    void *registered;         /* gRPC's handle for the method */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array metadata;
    grpc_byte_buffer *payload;
    grpc_call_details details;
    grpc_completion_queue *call_cq;
} request_slot;

struct rpc_server {
    const rpc_server_options *opts;
    grpc_server *server;
    grpc_completion_queue *cq;
    int port;
    pthread_t *acceptors;
    unsigned acceptor_count;
    request_slot *slots;
    size_t slot_count;
    void **registered;

    pthread_mutex_t lock;
    pthread_cond_t changed; /* active, shutdown_seen */
    unsigned active;
    int stopping;
    int shutdown_seen;
    char shutdown_tag;

    pthread_mutex_t trust_lock;
    int trust_loaded;
    uint64_t trust_generation;
    uint64_t identity_generation; /* of the certificate and key last handed to gRPC */
};

struct rpc_call {
    rpc_server *srv;
    const rpc_method *method; /* NULL for an unregistered method */
    grpc_call *call;
    grpc_completion_queue *cq;
    grpc_metadata_array metadata;
    grpc_byte_buffer *payload;
    grpc_call_details details;
    int has_details;
    char path[256];
    ecl_identity identity;
    int authenticated;
    int initial_metadata_sent;
    int close_done;
    int client_cancelled;
    int send_failed; /* a send failed: the client is gone or the call was cancelled */
    grpc_byte_buffer *reply;
    struct timespec started;
    /* distinct addresses used as completion tags */
    char tag_close, tag_send, tag_status, tag_drain, tag_recv;
};

static gpr_timespec forever(void)
{
    return gpr_inf_future(GPR_CLOCK_REALTIME);
}

/* ---- sending ------------------------------------------------------------ */

/* Start one batch and wait for its completion on the call's own queue. */
static int run_batch(rpc_call *c, const grpc_op *ops, size_t n, void *tag)
{
    if (grpc_call_start_batch(c->call, ops, n, tag, NULL) != GRPC_CALL_OK)
        return -1;
    grpc_event ev = grpc_completion_queue_pluck(c->cq, tag, forever(), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success ? 0 : -1;
}

static grpc_byte_buffer *pack_message(const ProtobufCMessage *msg, size_t limit, ecl_err *err)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (n > limit) {
        ecl_fail(err, ECL_E_LIMIT, "a %s message of %zu bytes exceeds the %zu-byte limit",
                 msg->descriptor->short_name, n, limit);
        return NULL;
    }
    grpc_slice slice = grpc_slice_malloc(n);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

static int send_buffer(rpc_call *c, grpc_byte_buffer *bb, ecl_err *err)
{
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    if (!c->initial_metadata_sent) {
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        n++;
    }
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = bb;
    n++;
    int rc = run_batch(c, ops, n, &c->tag_send);
    c->initial_metadata_sent = 1;
    grpc_byte_buffer_destroy(bb);
    if (rc != 0) {
        c->send_failed = 1;
        return ecl_fail(err, ECL_E_UNAVAILABLE, "the client went away or the call was cancelled");
    }
    return 0;
}

int rpc_call_send(rpc_call *c, const ProtobufCMessage *msg, ecl_err *err)
{
    grpc_byte_buffer *bb = pack_message(msg, c->srv->opts->max_message_bytes, err);
    if (bb == NULL)
        return -1;
    return send_buffer(c, bb, err);
}

int rpc_call_send_zero_copy(rpc_call *c, const void *head, size_t head_len, const void *body,
                            size_t body_len, void (*release)(void *), void *release_ctx,
                            ecl_err *err)
{
    if (head_len + body_len > c->srv->opts->max_message_bytes) {
        if (release != NULL)
            release(release_ctx);
        return ecl_fail(err, ECL_E_LIMIT, "a message of %zu bytes exceeds the %zu-byte limit",
                        head_len + body_len, c->srv->opts->max_message_bytes);
    }
    grpc_slice slices[2];
    size_t n = 0;
    slices[n++] = grpc_slice_from_copied_buffer(head, head_len);
    if (body_len > 0)
        slices[n++] = grpc_slice_new_with_user_data((void *)body, body_len, release, release_ctx);
    else if (release != NULL)
        release(release_ctx);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(slices, n);
    for (size_t i = 0; i < n; i++)
        grpc_slice_unref(slices[i]);
    return send_buffer(c, bb, err);
}

/* The release of a message sent in pieces: when gRPC dropped the last. */
typedef struct pieces_owner {
    atomic_size_t left;
    void (*release)(void *);
    void *ctx;
} pieces_owner;

static void piece_done(void *p)
{
    pieces_owner *o = p;
    if (atomic_fetch_sub(&o->left, 1) == 1) {
        if (o->release != NULL)
            o->release(o->ctx);
        free(o);
    }
}

int rpc_call_send_pieces(rpc_call *c, const rpc_piece *pieces, size_t n, void (*release)(void *),
                         void *release_ctx, ecl_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += pieces[i].len;
    grpc_slice *slices = calloc(n ? n : 1, sizeof(*slices));
    pieces_owner *o = malloc(sizeof(*o));
    if (total > c->srv->opts->max_message_bytes || slices == NULL || o == NULL) {
        free(slices);
        free(o);
        if (release != NULL)
            release(release_ctx);
        return total > c->srv->opts->max_message_bytes
                   ? ecl_fail(err, ECL_E_LIMIT, "a message of %zu bytes exceeds the %zu-byte limit",
                              total, c->srv->opts->max_message_bytes)
                   : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    /* One count for this function, dropped after the buffer holds its own. */
    atomic_init(&o->left, n + 1);
    o->release = release;
    o->ctx = release_ctx;
    for (size_t i = 0; i < n; i++)
        slices[i] =
            grpc_slice_new_with_user_data((void *)pieces[i].data, pieces[i].len, piece_done, o);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(slices, n);
    for (size_t i = 0; i < n; i++)
        grpc_slice_unref(slices[i]);
    free(slices);
    piece_done(o);
    return send_buffer(c, bb, err);
}

int rpc_call_reply(rpc_call *c, const ProtobufCMessage *msg, ecl_err *err)
{
    if (c->reply != NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "%s: reply given twice", c->path);
    c->reply = pack_message(msg, c->srv->opts->max_message_bytes, err);
    return c->reply == NULL ? -1 : 0;
}

int rpc_call_cancelled(rpc_call *c)
{
    /* A failed send already says so; the close event may not be polled yet. */
    if (c->send_failed)
        return 1;
    if (!c->close_done) {
        grpc_event ev =
            grpc_completion_queue_pluck(c->cq, &c->tag_close, gpr_time_0(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_OP_COMPLETE)
            c->close_done = 1;
    }
    return c->close_done;
}

const ecl_identity *rpc_call_identity(const rpc_call *c)
{
    return &c->identity;
}

const char *rpc_call_method(const rpc_call *c)
{
    return c->path;
}

/* ---- one call, start to end --------------------------------------------- */

static int authenticate(rpc_call *c, ecl_err *err)
{
    grpc_auth_context *actx = grpc_call_auth_context(c->call);
    if (actx == NULL)
        return ecl_fail(err, ECL_E_AUTH, "the connection carries no TLS identity");
    grpc_auth_property_iterator it =
        grpc_auth_context_find_properties_by_name(actx, GRPC_X509_PEM_CERT_PROPERTY_NAME);
    const grpc_auth_property *prop = grpc_auth_property_iterator_next(&it);
    int rc;
    memset(&c->identity, 0, sizeof(c->identity));
    if (prop == NULL || prop->value_length == 0)
        rc = ecl_fail(err, ECL_E_AUTH, "the client presented no certificate");
    else
        rc = c->srv->opts->authenticate(c->srv->opts->auth_ctx, prop->value, prop->value_length,
                                        &c->identity, err);
    grpc_auth_context_release(actx);
    c->authenticated = rc == 0;
    return rc;
}

static int authorise(rpc_call *c, ecl_err *err)
{
    if (c->method->roles & c->identity.role)
        return 0;
    char allowed[96];
    roles_describe(c->method->roles, allowed, sizeof(allowed));
    return ecl_fail(err, ECL_E_DENIED, "%s is for the role(s) %s; %s is a %s", c->path, allowed,
                    c->identity.spiffe, role_name(c->identity.role));
}

static ProtobufCMessage *decode_buffer(rpc_call *c, grpc_byte_buffer *bb, ecl_err *err)
{
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, bb)) {
        ecl_fail(err, ECL_E_INPUT, "%s: the request message cannot be read", c->path);
        return NULL;
    }
    grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    ProtobufCMessage *req = protobuf_c_message_unpack(
        c->method->request_type, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    if (req == NULL)
        ecl_fail(err, ECL_E_INPUT, "%s: malformed request: not a valid %s message", c->path,
                 c->method->request_type->name);
    return req;
}

static ProtobufCMessage *decode_request(rpc_call *c, ecl_err *err)
{
    if (c->payload == NULL) {
        ecl_fail(err, ECL_E_INPUT, "%s: the request message is missing", c->path);
        return NULL;
    }
    return decode_buffer(c, c->payload, err);
}

int rpc_call_recv(rpc_call *c, ProtobufCMessage **out, ecl_err *err)
{
    *out = NULL;
    if (c->method == NULL || c->method->kind != RPC_BIDI_STREAMING)
        return ecl_fail(err, ECL_E_INTERNAL, "%s: not a client-streaming method", c->path);
    grpc_byte_buffer *bb = NULL;
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &bb;
    /* A failed batch or no message: the client closed its side or is gone. */
    if (run_batch(c, &op, 1, &c->tag_recv) != 0 || bb == NULL) {
        if (bb != NULL)
            grpc_byte_buffer_destroy(bb);
        return 0;
    }
    *out = decode_buffer(c, bb, err);
    grpc_byte_buffer_destroy(bb);
    return *out == NULL ? -1 : 1;
}

static int serve(rpc_call *c, ecl_err *err)
{
    if (c->method == NULL) {
        /* Answer at once: a call nobody requested would hang until its deadline. */
        return ecl_fail(err, ECL_E_UNIMPLEMENTED,
                        "unimplemented: %s is not a method this gateway serves", c->path);
    }
    if (authenticate(c, err) != 0 || authorise(c, err) != 0)
        return -1;
    if (c->method->handler == NULL)
        return ecl_fail(err, ECL_E_UNIMPLEMENTED,
                        "unimplemented: %s is part of ecluse.v1 but not served by this gateway",
                        c->path);
    /* A client stream's messages are the handler's to read (rpc_call_recv). */
    ProtobufCMessage *req = NULL;
    if (c->method->kind != RPC_BIDI_STREAMING && (req = decode_request(c, err)) == NULL)
        return -1;
    int rc = c->method->handler(c, req, c->srv->opts->handler_ctx, err);
    if (req != NULL)
        protobuf_c_message_free_unpacked(req, NULL);
    if (rc == 0 && c->method->kind == RPC_UNARY && c->reply == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "%s: the handler gave no reply", c->path);
    return rc;
}

/* Send the status (with the unary reply, if any), then wait for the close. */
static void finish(rpc_call *c, int rc, const ecl_err *err)
{
    grpc_status_code status = GRPC_STATUS_OK;
    const char *text = "";
    char outside[ECL_ERR_MSG_MAX];
    if (rc != 0) {
        status = (grpc_status_code)rpc_status_from_code(err->code);
        text = err->msg;
        /* Paths of this site's files are for its admins and its log only. */
        if (!c->authenticated || c->identity.role != ECL_ROLE_ADMIN) {
            rpc_status_strip_paths(err->msg, outside, sizeof(outside));
            text = outside;
        }
    }
    grpc_slice details = grpc_slice_from_copied_string(text);
    grpc_op ops[3];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    if (!c->initial_metadata_sent)
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (rc == 0 && c->reply != NULL) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = c->reply;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = status;
    ops[n].data.send_status_from_server.status_details = &details;
    n++;
    run_batch(c, ops, n, &c->tag_status); /* fails only if the client is gone */
    c->initial_metadata_sent = 1;
    grpc_slice_unref(details);
    if (!c->close_done) {
        grpc_completion_queue_pluck(c->cq, &c->tag_close, forever(), NULL);
        c->close_done = 1;
    }
}

static double ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 +
           (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

static void log_call(rpc_call *c, int rc, const ecl_err *err)
{
    char ms[32];
    snprintf(ms, sizeof(ms), "%.2f", ms_since(&c->started));
    char *peer = grpc_call_get_peer(c->call);
    const char *status = "OK";
    if (rc != 0)
        status = rpc_status_name(rpc_status_from_code(err->code));
    /* A refused caller whose certificate proved who it is goes by that name. */
    const char *caller =
        c->authenticated || c->identity.spiffe[0] != '\0' ? c->identity.spiffe : "unauthenticated";
    ecl_log(rc == 0 ? ECL_LOG_INFO : ECL_LOG_WARN, "rpc", "method", c->path, "caller", caller,
            "status", status, "ms", ms, "peer", peer, rc == 0 ? NULL : "error",
            rc == 0 ? NULL : err->msg, NULL);
    gpr_free(peer);
}

static void free_call(rpc_call *c)
{
    if (c->reply != NULL)
        grpc_byte_buffer_destroy(c->reply);
    if (c->payload != NULL)
        grpc_byte_buffer_destroy(c->payload);
    grpc_metadata_array_destroy(&c->metadata);
    if (c->has_details)
        grpc_call_details_destroy(&c->details);
    grpc_call_unref(c->call);
    grpc_completion_queue_shutdown(c->cq);
    grpc_completion_queue_pluck(c->cq, &c->tag_drain, forever(), NULL);
    grpc_completion_queue_destroy(c->cq);
    free(c);
}

/* Run a call to its end on the current thread. */
static void run_call(rpc_call *c)
{
    grpc_op close_op;
    memset(&close_op, 0, sizeof(close_op));
    close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    close_op.data.recv_close_on_server.cancelled = &c->client_cancelled;
    if (grpc_call_start_batch(c->call, &close_op, 1, &c->tag_close, NULL) != GRPC_CALL_OK)
        c->close_done = 1;

    ecl_err err;
    ecl_err_clear(&err);
    int rc = serve(c, &err);
    finish(c, rc, &err);
    log_call(c, rc, &err);
}

static void *call_thread(void *arg)
{
    rpc_call *c = arg;
    rpc_server *srv = c->srv;
    run_call(c);
    free_call(c);
    pthread_mutex_lock(&srv->lock);
    srv->active--;
    pthread_cond_broadcast(&srv->changed);
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

/* ---- accepting ---------------------------------------------------------- */

static int post_slot(request_slot *slot)
{
    rpc_server *srv = slot->srv;
    slot->call = NULL;
    slot->payload = NULL;
    slot->call_cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_metadata_array_init(&slot->metadata);
    grpc_call_error e;
    if (slot->method != NULL) {
        /* gRPC refuses a payload pointer for a method that reads none. */
        grpc_byte_buffer **payload =
            slot->method->kind == RPC_BIDI_STREAMING ? NULL : &slot->payload;
        e = grpc_server_request_registered_call(srv->server, slot->registered, &slot->call,
                                                &slot->deadline, &slot->metadata, payload,
                                                slot->call_cq, srv->cq, slot);
    } else {
        grpc_call_details_init(&slot->details);
        e = grpc_server_request_call(srv->server, &slot->call, &slot->details, &slot->metadata,
                                     slot->call_cq, srv->cq, slot);
    }
    return e == GRPC_CALL_OK ? 0 : -1;
}

static void release_slot(request_slot *slot)
{
    grpc_metadata_array_destroy(&slot->metadata);
    if (slot->method == NULL)
        grpc_call_details_destroy(&slot->details);
    if (slot->payload != NULL)
        grpc_byte_buffer_destroy(slot->payload);
    char drain;
    grpc_completion_queue_shutdown(slot->call_cq);
    grpc_completion_queue_pluck(slot->call_cq, &drain, forever(), NULL);
    grpc_completion_queue_destroy(slot->call_cq);
    slot->call_cq = NULL;
}

static rpc_call *take_call(request_slot *slot)
{
    rpc_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort(); /* no memory to even refuse the call: nothing sensible left */
    c->srv = slot->srv;
    c->method = slot->method;
    c->call = slot->call;
    c->cq = slot->call_cq;
    c->metadata = slot->metadata;
    c->payload = slot->payload;
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    if (slot->method != NULL) {
        snprintf(c->path, sizeof(c->path), "%s", slot->method->path);
    } else {
        c->details = slot->details;
        c->has_details = 1;
        char *method = grpc_slice_to_c_string(slot->details.method);
        snprintf(c->path, sizeof(c->path), "%s", method);
        gpr_free(method);
    }
    slot->call_cq = NULL;
    slot->payload = NULL;
    memset(&slot->metadata, 0, sizeof(slot->metadata));
    memset(&slot->details, 0, sizeof(slot->details));
    return c;
}

/* Refuse a call on the acceptor thread, when no call thread may be started. */
static void refuse_now(rpc_call *c, const char *why)
{
    ecl_err err;
    ecl_fail(&err, ECL_E_LIMIT, "%s", why);
    grpc_op close_op;
    memset(&close_op, 0, sizeof(close_op));
    close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    close_op.data.recv_close_on_server.cancelled = &c->client_cancelled;
    if (grpc_call_start_batch(c->call, &close_op, 1, &c->tag_close, NULL) != GRPC_CALL_OK)
        c->close_done = 1;
    finish(c, -1, &err);
    log_call(c, -1, &err);
    free_call(c);
}

static void dispatch(rpc_server *srv, rpc_call *c)
{
    pthread_mutex_lock(&srv->lock);
    int full = srv->active >= srv->opts->max_concurrent_calls;
    if (!full)
        srv->active++;
    pthread_mutex_unlock(&srv->lock);
    if (full) {
        refuse_now(c, "the gateway is handling as many calls as it is configured for; retry later");
        return;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, CALL_THREAD_STACK);
    pthread_t tid;
    int rc = pthread_create(&tid, &attr, call_thread, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&srv->lock);
        srv->active--;
        pthread_cond_broadcast(&srv->changed);
        pthread_mutex_unlock(&srv->lock);
        refuse_now(c, "the gateway cannot start a thread for this call; retry later");
    }
}

static void *acceptor_thread(void *arg)
{
    rpc_server *srv = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(srv->cq, forever(), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        if (ev.tag == &srv->shutdown_tag) {
            pthread_mutex_lock(&srv->lock);
            srv->shutdown_seen = 1;
            pthread_cond_broadcast(&srv->changed);
            pthread_mutex_unlock(&srv->lock);
            continue;
        }
        request_slot *slot = ev.tag;
        if (!ev.success) {
            release_slot(slot); /* the server is shutting down: no call came */
            continue;
        }
        rpc_call *c = take_call(slot); /* the slot now holds nothing */
        /* Re-post under the lock that rpc_server_stop takes to set `stopping`,
         * so no request is posted once shutdown has begun. */
        pthread_mutex_lock(&srv->lock);
        if (!srv->stopping && post_slot(slot) != 0)
            release_slot(slot);
        pthread_mutex_unlock(&srv->lock);
        dispatch(srv, c);
    }
    return NULL;
}

/* ---- trust and identity: which CAs may connect, what the server shows -- */

/* The server's certificate and key as they are now, and their generation;
 * *cert and *key are malloc'd (free with free_identity). */
static int fetch_identity(rpc_server *srv, char **cert, char **key, uint64_t *generation)
{
    const rpc_server_options *o = srv->opts;
    if (o->identity != NULL)
        return o->identity(o->identity_ctx, cert, key, generation);
    *cert = strdup(o->cert_pem);
    *key = strdup(o->key_pem);
    *generation = 0;
    return *cert != NULL && *key != NULL ? 0 : -1;
}

static void free_identity(char *cert, char *key)
{
    free(cert);
    if (key != NULL) {
        OPENSSL_cleanse(key, strlen(key));
        free(key);
    }
}

/* gRPC asks at each handshake; a new config is made only when the trusted
 * CA set or the server's own pair has moved on. A failure keeps what the
 * server already has (fail closed before the first load: no handshake). */
static grpc_ssl_certificate_config_reload_status
fetch_certificates(void *user, grpc_ssl_server_certificate_config **config)
{
    rpc_server *srv = user;
    char *pem = NULL, *cert = NULL, *key = NULL;
    uint64_t generation = 0, identity_generation = 0;
    grpc_ssl_certificate_config_reload_status status = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
    pthread_mutex_lock(&srv->trust_lock);
    if (srv->opts->trust(srv->opts->trust_ctx, &pem, &generation) != 0) {
        ecl_log(ECL_LOG_ERROR, "tls.trust", "error", "cannot read the trusted CA set", NULL);
        if (!srv->trust_loaded)
            status = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
    } else if (fetch_identity(srv, &cert, &key, &identity_generation) != 0) {
        ecl_log(ECL_LOG_ERROR, "tls.identity", "error",
                "cannot copy the server's certificate and key", NULL);
        if (!srv->trust_loaded)
            status = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
    } else if (!srv->trust_loaded || generation != srv->trust_generation ||
               identity_generation != srv->identity_generation) {
        grpc_ssl_pem_key_cert_pair pair = {key, cert};
        *config = grpc_ssl_server_certificate_config_create(pem, &pair, 1);
        srv->trust_generation = generation;
        srv->identity_generation = identity_generation;
        srv->trust_loaded = 1;
        status = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
    }
    pthread_mutex_unlock(&srv->trust_lock);
    free(pem);
    free_identity(cert, key);
    return status;
}

/* ---- start and stop ----------------------------------------------------- */

static grpc_server *create_core_server(const rpc_server_options *opts)
{
    grpc_arg args[4];
    memset(args, 0, sizeof(args));
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = (int)opts->max_message_bytes;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[1].value.integer = (int)opts->max_message_bytes;
    /* SO_REUSEPORT would let a second gateway bind a port in use, silently. */
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = GRPC_ARG_ALLOW_REUSEPORT;
    args[2].value.integer = 0;
    args[3].type = GRPC_ARG_INTEGER;
    args[3].key = GRPC_ARG_HTTP2_MAX_FRAME_SIZE;
    args[3].value.integer = 1 << 20;
    grpc_channel_args channel_args = {sizeof(args) / sizeof(args[0]), args};
    return grpc_server_create(&channel_args, NULL);
}

/* Try the bind ourselves first: the OS's reason ("Address already in use")
 * is what a person needs, and gRPC would only log it in its own words. */
static int probe_listen_address(const char *listen, ecl_err *err)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
        return ecl_fail(err, ECL_E_USAGE, "cannot listen on '%s': not host:port", listen);
    size_t n = (size_t)(colon - listen);
    memcpy(host, listen, n);
    host[n] = '\0';
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int gai = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
    if (gai != 0)
        return ecl_fail(err, ECL_E_UNAVAILABLE, "cannot listen on %s: %s", listen,
                        gai_strerror(gai));
    int rc = 0;
    for (struct addrinfo *ai = res; ai != NULL && rc == 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
            rc = ecl_fail(err, ECL_E_UNAVAILABLE, "cannot listen on %s: %s", listen,
                          strerror(errno));
        close(fd);
    }
    freeaddrinfo(res);
    return rc;
}

static int bind_port(rpc_server *srv, ecl_err *err)
{
    if (probe_listen_address(srv->opts->listen, err) != 0)
        return -1;
    grpc_ssl_server_credentials_options *options =
        grpc_ssl_server_credentials_create_options_using_config_fetcher(
            GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, fetch_certificates, srv);
    grpc_server_credentials *creds = grpc_ssl_server_credentials_create_with_options(options);
    if (creds == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the TLS certificate, key or CA set is not usable");
    srv->port = grpc_server_add_http2_port(srv->server, srv->opts->listen, creds);
    grpc_server_credentials_release(creds);
    if (srv->port == 0)
        return ecl_fail(err, ECL_E_UNAVAILABLE,
                        "cannot listen on %s: the address is in use, not local, or malformed",
                        srv->opts->listen);
    return 0;
}

static int setup_slots(rpc_server *srv)
{
    const rpc_server_options *o = srv->opts;
    srv->registered = calloc(o->method_count, sizeof(void *));
    srv->slot_count = o->method_count * SLOTS_PER_METHOD + GENERIC_SLOTS;
    srv->slots = calloc(srv->slot_count, sizeof(request_slot));
    if (srv->registered == NULL || srv->slots == NULL)
        return -1;
    for (size_t m = 0; m < o->method_count; m++) {
        grpc_server_register_method_payload_handling payload =
            o->methods[m].kind == RPC_BIDI_STREAMING ? GRPC_SRM_PAYLOAD_NONE
                                                     : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER;
        srv->registered[m] =
            grpc_server_register_method(srv->server, o->methods[m].path, NULL, payload, 0);
        if (srv->registered[m] == NULL)
            return -1;
        for (size_t k = 0; k < SLOTS_PER_METHOD; k++) {
            request_slot *slot = &srv->slots[m * SLOTS_PER_METHOD + k];
            slot->method = &o->methods[m];
            slot->registered = srv->registered[m];
        }
    }
    for (size_t i = 0; i < srv->slot_count; i++)
        srv->slots[i].srv = srv;
    return 0;
}

static void destroy_server(rpc_server *srv)
{
    free(srv->acceptors);
    free(srv->slots);
    free(srv->registered);
    pthread_mutex_destroy(&srv->lock);
    pthread_mutex_destroy(&srv->trust_lock);
    pthread_cond_destroy(&srv->changed);
    free(srv);
}

int rpc_server_start(const rpc_server_options *opts, rpc_server **out, ecl_err *err)
{
    rpc_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    srv->opts = opts;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_mutex_init(&srv->trust_lock, NULL);
    pthread_condattr_t cattr;
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->changed, &cattr);
    pthread_condattr_destroy(&cattr);

    srv->server = create_core_server(opts);
    srv->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
    if (setup_slots(srv) != 0) {
        ecl_fail(err, ECL_E_INTERNAL, "cannot register the methods");
        goto fail;
    }
    if (bind_port(srv, err) != 0)
        goto fail;
    grpc_server_start(srv->server);
    for (size_t i = 0; i < srv->slot_count; i++)
        if (post_slot(&srv->slots[i]) != 0)
            release_slot(&srv->slots[i]);
    srv->acceptor_count = opts->threads > 0 ? opts->threads : 1;
    srv->acceptors = calloc(srv->acceptor_count, sizeof(pthread_t));
    for (unsigned i = 0; i < srv->acceptor_count; i++)
        if (srv->acceptors == NULL ||
            pthread_create(&srv->acceptors[i], NULL, acceptor_thread, srv) != 0)
            abort(); /* at start-up, with nothing served yet: fail loudly */
    *out = srv;
    return 0;
fail:
    /* Not started: no call can exist, so the core objects go straight away. */
    grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->shutdown_tag);
    grpc_server_cancel_all_calls(srv->server);
    grpc_completion_queue_shutdown(srv->cq);
    while (grpc_completion_queue_next(srv->cq, forever(), NULL).type != GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_server_destroy(srv->server);
    grpc_completion_queue_destroy(srv->cq);
    destroy_server(srv);
    return -1;
}

int rpc_server_port(const rpc_server *srv)
{
    return srv->port;
}

unsigned rpc_server_active_calls(rpc_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    unsigned n = srv->active;
    pthread_mutex_unlock(&srv->lock);
    return n;
}

static void wait_active_until(rpc_server *srv, const struct timespec *deadline)
{
    pthread_mutex_lock(&srv->lock);
    while (srv->active > 0) {
        if (deadline == NULL)
            pthread_cond_wait(&srv->changed, &srv->lock);
        else if (pthread_cond_timedwait(&srv->changed, &srv->lock, deadline) != 0)
            break;
    }
    pthread_mutex_unlock(&srv->lock);
}

void rpc_server_stop(rpc_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    srv->stopping = 1;
    pthread_mutex_unlock(&srv->lock);
    grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->shutdown_tag);

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += srv->opts->shutdown_grace_ms / 1000;
    deadline.tv_nsec += (long)(srv->opts->shutdown_grace_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    wait_active_until(srv, &deadline);
    grpc_server_cancel_all_calls(srv->server);

    pthread_mutex_lock(&srv->lock);
    while (!srv->shutdown_seen)
        pthread_cond_wait(&srv->changed, &srv->lock);
    pthread_mutex_unlock(&srv->lock);

    /* No server event can come any more: let the acceptors drain and exit,
     * so none can dispatch a call after the wait below. */
    grpc_completion_queue_shutdown(srv->cq);
    for (unsigned i = 0; i < srv->acceptor_count; i++)
        pthread_join(srv->acceptors[i], NULL);
    wait_active_until(srv, NULL);

    grpc_server_destroy(srv->server);
    grpc_completion_queue_destroy(srv->cq);
    destroy_server(srv);
}
