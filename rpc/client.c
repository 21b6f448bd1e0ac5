/* rpc/client.c - blocking gRPC calls from C (see client.h). */
#include "rpc/client.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <limits.h>
#include <openssl/pem.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc/rpc.h"
#include "site/pki.h"

struct rpc_channel {
    grpc_channel *channel;
    size_t max_message_bytes;
    const _Atomic int64_t *give_up_at_ms;
};

struct rpc_stream {
    grpc_call *call;
    grpc_completion_queue *cq;
    grpc_metadata_array initial_md;
    grpc_metadata_array trailing_md;
    grpc_status_code status;
    grpc_slice details;
    int finished;                         /* status received */
    int idle_ms;                          /* 0: wait for each message as long as it takes */
    const _Atomic int64_t *give_up_at_ms; /* the channel's; NULL: never */
    char tag_start, tag_recv, tag_status, tag_drain;
};

/* Runs inside gRPC's handshake: 0 accepts the server, non-zero refuses. */
static int check_server_identity(const char *target, const char *peer_pem, void *userdata)
{
    (void)target;
    const char *expect = userdata;
    if (expect == NULL)
        return 1; /* no identity to check against: refuse, never accept */
    X509 *cert = NULL;
    if (pki_cert_from_pem(peer_pem, strlen(peer_pem), &cert, NULL) != 0)
        return 1;
    char spiffe[ECL_SPIFFE_MAX];
    int ok =
        pki_cert_spiffe(cert, spiffe, sizeof(spiffe), NULL) == 0 && strcmp(spiffe, expect) == 0;
    X509_free(cert);
    return ok ? 0 : 1;
}

static void free_expect(void *userdata)
{
    free(userdata);
}

static int open_channel(const rpc_channel_options *opts, size_t window_bytes, rpc_channel **out,
                        ecl_err *err)
{
    rpc_channel *ch = calloc(1, sizeof(*ch));
    if (ch == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    ch->max_message_bytes = opts->max_message_bytes ? opts->max_message_bytes : 16u << 20;
    grpc_ssl_pem_key_cert_pair pair = {opts->key_pem, opts->cert_pem};
    grpc_ssl_verify_peer_options verify = {0};
    if (opts->expect_spiffe != NULL) {
        verify.verify_peer_callback = check_server_identity;
        verify.verify_peer_callback_userdata = strdup(opts->expect_spiffe);
        verify.verify_peer_destruct = free_expect;
        if (verify.verify_peer_callback_userdata == NULL) {
            free(ch);
            return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        }
    }
    grpc_channel_credentials *creds = grpc_ssl_credentials_create_ex(
        opts->ca_pem, opts->cert_pem != NULL ? &pair : NULL, &verify, NULL);
    grpc_arg args[4];
    memset(args, 0, sizeof(args));
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = (int)ch->max_message_bytes;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[1].value.integer = (int)ch->max_message_bytes;
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = GRPC_ARG_HTTP2_BDP_PROBE;
    args[2].value.integer = 0;
    args[3].type = GRPC_ARG_INTEGER;
    args[3].key = GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES;
    args[3].value.integer = window_bytes > INT_MAX ? INT_MAX : (int)window_bytes;
    grpc_channel_args channel_args = {window_bytes > 0 ? 4 : 2, args};
    ch->channel = grpc_channel_create(opts->target, creds, &channel_args);
    grpc_channel_credentials_release(creds);
    if (ch->channel == NULL) {
        free(ch);
        return ecl_fail(err, ECL_E_USAGE, "cannot make a channel to '%s'", opts->target);
    }
    *out = ch;
    return 0;
}

int rpc_channel_open(const rpc_channel_options *opts, rpc_channel **out, ecl_err *err)
{
    return open_channel(opts, 0, out, err);
}

int rpc_channel_open_window(const rpc_channel_options *opts, size_t window_bytes, rpc_channel **out,
                            ecl_err *err)
{
    if (window_bytes == 0)
        return ecl_fail(err, ECL_E_USAGE, "a channel to '%s' with a receive window of 0 bytes",
                        opts->target);
    return open_channel(opts, window_bytes, out, err);
}

void rpc_channel_close(rpc_channel *ch)
{
    if (ch == NULL)
        return;
    grpc_channel_destroy(ch->channel);
    free(ch);
}

void rpc_channel_give_up_at(rpc_channel *ch, const _Atomic int64_t *at_ms)
{
    ch->give_up_at_ms = at_ms;
}

static gpr_timespec deadline_in(int timeout_ms)
{
    if (timeout_ms <= 0)
        return gpr_inf_future(GPR_CLOCK_REALTIME);
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                        gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

static int wait_tag(rpc_stream *st, void *tag)
{
    grpc_event ev =
        grpc_completion_queue_pluck(st->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success ? 0 : -1;
}

/* The call's status as an error (or 0 if OK). */
static int status_error(rpc_stream *st, ecl_err *err)
{
    if (st->status == GRPC_STATUS_OK)
        return 0;
    char *text = grpc_slice_to_c_string(st->details);
    ecl_code code = rpc_code_from_status(st->status);
    /* Transport failures come from gRPC itself, not from the gateway: say so. */
    int transport =
        st->status == GRPC_STATUS_UNAVAILABLE &&
        (text[0] == '\0' || strstr(text, "connect") != NULL || strstr(text, "andshake") != NULL ||
         strstr(text, "Socket closed") != NULL || strstr(text, "SSL") != NULL);
    if (transport)
        ecl_fail(err, code, "the gateway cannot be reached or refused the TLS connection%s%s",
                 text[0] ? ": " : "", text);
    else
        ecl_fail(err, code, "%s (%s)", text[0] ? text : "no detail", rpc_status_name(st->status));
    gpr_free(text);
    if (err != NULL)
        err->remote_status = (int)st->status;
    return -1;
}

int rpc_stream_status(const rpc_stream *st)
{
    return st->finished ? (int)st->status : -1;
}

static grpc_byte_buffer *pack(const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    grpc_slice slice = grpc_slice_malloc(n);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

int64_t rpc_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 once the channel's owner wants its calls to give up. */
static int given_up(const _Atomic int64_t *give_up_at_ms)
{
    if (give_up_at_ms == NULL)
        return 0;
    int64_t at = atomic_load(give_up_at_ms);
    return at != 0 && rpc_monotonic_ms() >= at;
}

static int wait_start(rpc_stream *st);

static int open_with_buffer(rpc_channel *ch, const char *path, grpc_byte_buffer *bb, int timeout_ms,
                            int idle_ms, rpc_stream **out, ecl_err *err)
{
    if (given_up(ch->give_up_at_ms)) {
        grpc_byte_buffer_destroy(bb);
        return ecl_fail(err, ECL_E_UNAVAILABLE, "%s not called: the caller is stopping", path);
    }
    rpc_stream *st = calloc(1, sizeof(*st));
    if (st != NULL) {
        st->idle_ms = idle_ms;
        st->give_up_at_ms = ch->give_up_at_ms;
    }
    if (st == NULL) {
        grpc_byte_buffer_destroy(bb);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    st->cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice method = grpc_slice_from_copied_string(path);
    st->call = grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, st->cq, method,
                                        NULL, deadline_in(timeout_ms), NULL);
    grpc_slice_unref(method);
    grpc_metadata_array_init(&st->initial_md);
    grpc_metadata_array_init(&st->trailing_md);
    st->details = grpc_empty_slice();

    grpc_op ops[4];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &st->initial_md;
    grpc_call_error e = grpc_call_start_batch(st->call, ops, 4, &st->tag_start, NULL);
    /* The status batch goes in at once: it completes when the call ends, for
     * whatever reason, and is what tells us why. */
    grpc_op status_op;
    memset(&status_op, 0, sizeof(status_op));
    status_op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    status_op.data.recv_status_on_client.trailing_metadata = &st->trailing_md;
    status_op.data.recv_status_on_client.status = &st->status;
    status_op.data.recv_status_on_client.status_details = &st->details;
    if (e == GRPC_CALL_OK)
        e = grpc_call_start_batch(st->call, &status_op, 1, &st->tag_status, NULL);
    int started = e == GRPC_CALL_OK && wait_start(st) == 0;
    grpc_byte_buffer_destroy(bb);
    if (!started) {
        wait_tag(st, &st->tag_status);
        st->finished = 1;
        if (status_error(st, err) == 0)
            ecl_fail(err, ECL_E_UNAVAILABLE, "the call to %s could not start", path);
        rpc_stream_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

int rpc_stream_open(rpc_channel *ch, const char *path, const ProtobufCMessage *req, int timeout_ms,
                    rpc_stream **out, ecl_err *err)
{
    return open_with_buffer(ch, path, pack(req), timeout_ms, 0, out, err);
}

int rpc_stream_open_raw(rpc_channel *ch, const char *path, const void *req, size_t req_len,
                        int timeout_ms, rpc_stream **out, ecl_err *err)
{
    grpc_slice slice = grpc_slice_from_copied_buffer(req, req_len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return open_with_buffer(ch, path, bb, timeout_ms, 0, out, err);
}

/* Cancel the call and let the batch behind `tag` complete as failed (the
 * status then says why). */
static int cancel_and_wait(rpc_stream *st, void *tag, grpc_status_code code, const char *why)
{
    grpc_call_cancel_with_status(st->call, code, why, NULL);
    wait_tag(st, tag);
    return -1;
}

/* Wait for `tag`. Past the idle timeout the call is cancelled as stalled;
 * once the channel's give-up moment has come, as cancelled. The latter is
 * looked at every RPC_CANCEL_POLL_MS: gRPC has no wake-up for it. */
static int wait_idle(rpc_stream *st, void *tag)
{
    if (st->idle_ms == 0 && st->give_up_at_ms == NULL)
        return wait_tag(st, tag);
    gpr_timespec idle_end = deadline_in(st->idle_ms);
    for (;;) {
        gpr_timespec until = idle_end;
        if (st->give_up_at_ms != NULL) {
            gpr_timespec poll = deadline_in(RPC_CANCEL_POLL_MS);
            if (gpr_time_cmp(poll, until) < 0)
                until = poll;
        }
        grpc_event ev = grpc_completion_queue_pluck(st->cq, tag, until, NULL);
        if (ev.type != GRPC_QUEUE_TIMEOUT)
            return ev.type == GRPC_OP_COMPLETE && ev.success ? 0 : -1;
        if (given_up(st->give_up_at_ms))
            return cancel_and_wait(st, tag, GRPC_STATUS_CANCELLED,
                                   "cancelled: the caller is stopping");
        if (st->idle_ms != 0 && gpr_time_cmp(gpr_now(GPR_CLOCK_REALTIME), idle_end) >= 0) {
            char why[96];
            snprintf(why, sizeof(why), "no message for %d ms: the sender stalled", st->idle_ms);
            return cancel_and_wait(st, tag, GRPC_STATUS_DEADLINE_EXCEEDED, why);
        }
    }
}

static int wait_start(rpc_stream *st)
{
    return wait_idle(st, &st->tag_start);
}

static int wait_message(rpc_stream *st)
{
    return wait_idle(st, &st->tag_recv);
}

int rpc_stream_open_idle(rpc_channel *ch, const char *path, const ProtobufCMessage *req,
                         int idle_ms, rpc_stream **out, ecl_err *err)
{
    return open_with_buffer(ch, path, pack(req), 0, idle_ms, out, err);
}

static int recv_buffer(rpc_stream *st, grpc_byte_buffer **bb, ecl_err *err)
{
    *bb = NULL;
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = bb;
    if (grpc_call_start_batch(st->call, &op, 1, &st->tag_recv, NULL) != GRPC_CALL_OK ||
        wait_message(st) != 0 || *bb == NULL) {
        if (*bb != NULL)
            grpc_byte_buffer_destroy(*bb);
        /* No message: the stream is over; its status says how. */
        wait_tag(st, &st->tag_status);
        st->finished = 1;
        return status_error(st, err) == 0 ? 0 : -1;
    }
    return 1;
}

static grpc_slice join_buffer(grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader reader;
    grpc_byte_buffer_reader_init(&reader, bb);
    grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    grpc_byte_buffer_destroy(bb);
    return all;
}

int rpc_stream_next(rpc_stream *st, const ProtobufCMessageDescriptor *type, ProtobufCMessage **msg,
                    ecl_err *err)
{
    if (st->finished)
        return status_error(st, err) == 0 ? 0 : -1;
    grpc_byte_buffer *bb = NULL;
    int rc = recv_buffer(st, &bb, err);
    if (rc != 1)
        return rc;
    grpc_slice all = join_buffer(bb);
    *msg = protobuf_c_message_unpack(type, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    if (*msg == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the gateway sent a message that is not a valid %s",
                        type->name);
    return 1;
}

/* The message's bytes in one malloc'd block: each slice is copied once,
 * straight into it (joining first would copy every byte twice). */
static int copy_out(grpc_byte_buffer *bb, unsigned char **data, size_t *len)
{
    grpc_byte_buffer_reader reader;
    size_t cap = grpc_byte_buffer_length(bb);
    unsigned char *p = malloc(cap ? cap : 1);
    if (p == NULL || !grpc_byte_buffer_reader_init(&reader, bb)) {
        free(p);
        grpc_byte_buffer_destroy(bb);
        return -1;
    }
    size_t at = 0;
    int ok = 1;
    grpc_slice s;
    while (ok && grpc_byte_buffer_reader_next(&reader, &s)) {
        size_t n = GRPC_SLICE_LENGTH(s);
        /* A compressed buffer reads longer than it is long: grow to fit. */
        if (n > cap - at) {
            size_t grown = (at + n) * 2;
            unsigned char *q = realloc(p, grown);
            ok = q != NULL;
            if (ok) {
                p = q;
                cap = grown;
            }
        }
        if (ok)
            memcpy(p + at, GRPC_SLICE_START_PTR(s), n);
        at += ok ? n : 0;
        grpc_slice_unref(s);
    }
    grpc_byte_buffer_reader_destroy(&reader);
    grpc_byte_buffer_destroy(bb);
    if (!ok) {
        free(p);
        return -1;
    }
    *data = p;
    *len = at;
    return 0;
}

int rpc_stream_next_raw(rpc_stream *st, unsigned char **data, size_t *len, ecl_err *err)
{
    if (st->finished)
        return status_error(st, err) == 0 ? 0 : -1;
    grpc_byte_buffer *bb = NULL;
    int rc = recv_buffer(st, &bb, err);
    if (rc != 1)
        return rc;
    if (copy_out(bb, data, len) != 0)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    return 1;
}

struct rpc_message {
    grpc_slice *slices;
    size_t n;
    size_t len;
};

void rpc_message_free(rpc_message *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        grpc_slice_unref(m->slices[i]);
    free(m->slices);
    free(m);
}

/* Take the (decompressed) slices of `bb` with a reference each. */
static rpc_message *take_slices(grpc_byte_buffer *bb)
{
    rpc_message *m = calloc(1, sizeof(*m));
    grpc_byte_buffer_reader reader;
    if (m == NULL || !grpc_byte_buffer_reader_init(&reader, bb)) {
        free(m);
        grpc_byte_buffer_destroy(bb);
        return NULL;
    }
    size_t cap = 0;
    int ok = 1;
    grpc_slice s;
    while (grpc_byte_buffer_reader_next(&reader, &s)) {
        if (ok && m->n == cap) {
            size_t grown = cap ? cap * 2 : 64;
            grpc_slice *q = realloc(m->slices, grown * sizeof(*q));
            ok = q != NULL;
            if (ok) {
                m->slices = q;
                cap = grown;
            }
        }
        if (!ok) {
            grpc_slice_unref(s);
            continue;
        }
        m->slices[m->n++] = s;
        m->len += GRPC_SLICE_LENGTH(s);
    }
    grpc_byte_buffer_reader_destroy(&reader);
    grpc_byte_buffer_destroy(bb);
    if (!ok) {
        rpc_message_free(m);
        return NULL;
    }
    return m;
}

int rpc_stream_next_message(rpc_stream *st, rpc_message **out, ecl_err *err)
{
    if (st->finished)
        return status_error(st, err) == 0 ? 0 : -1;
    grpc_byte_buffer *bb = NULL;
    int rc = recv_buffer(st, &bb, err);
    if (rc != 1)
        return rc;
    if ((*out = take_slices(bb)) == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    return 1;
}

size_t rpc_message_length(const rpc_message *m)
{
    return m->len;
}

void rpc_message_each(const rpc_message *m, size_t at, size_t len,
                      void (*fn)(const unsigned char *p, size_t n, void *arg), void *arg)
{
    size_t base = 0;
    for (size_t i = 0; i < m->n && len > 0; i++) {
        size_t n = GRPC_SLICE_LENGTH(m->slices[i]);
        if (at < base + n) {
            size_t from = at - base, take = n - from < len ? n - from : len;
            fn(GRPC_SLICE_START_PTR(m->slices[i]) + from, take, arg);
            at += take;
            len -= take;
        }
        base += n;
    }
}

typedef struct copy_ctx {
    unsigned char *dst;
    size_t done;
} copy_ctx;

static void copy_piece(const unsigned char *p, size_t n, void *arg)
{
    copy_ctx *c = arg;
    memcpy(c->dst + c->done, p, n);
    c->done += n;
}

size_t rpc_message_copy(const rpc_message *m, size_t at, void *dst, size_t len)
{
    copy_ctx c = {dst, 0};
    rpc_message_each(m, at, len, copy_piece, &c);
    return c.done;
}

ProtobufCMessage *rpc_message_unpack(const rpc_message *m, const ProtobufCMessageDescriptor *type)
{
    if (m->n == 1)
        return protobuf_c_message_unpack(type, NULL, m->len, GRPC_SLICE_START_PTR(m->slices[0]));
    unsigned char *all = malloc(m->len ? m->len : 1);
    if (all == NULL)
        return NULL;
    rpc_message_copy(m, 0, all, m->len);
    ProtobufCMessage *msg = protobuf_c_message_unpack(type, NULL, m->len, all);
    free(all);
    return msg;
}

void rpc_stream_close(rpc_stream *st)
{
    if (st == NULL)
        return;
    if (!st->finished) {
        grpc_call_cancel(st->call, NULL);
        wait_tag(st, &st->tag_status);
    }
    grpc_metadata_array_destroy(&st->initial_md);
    grpc_metadata_array_destroy(&st->trailing_md);
    grpc_slice_unref(st->details);
    grpc_call_unref(st->call);
    grpc_completion_queue_shutdown(st->cq);
    grpc_completion_queue_pluck(st->cq, &st->tag_drain, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_completion_queue_destroy(st->cq);
    free(st);
}

int rpc_unary(rpc_channel *ch, const char *path, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *resp_type, ProtobufCMessage **resp, int timeout_ms,
              ecl_err *err)
{
    rpc_stream *st = NULL;
    if (rpc_stream_open(ch, path, req, timeout_ms, &st, err) != 0)
        return -1;
    ProtobufCMessage *msg = NULL;
    int rc = rpc_stream_next(st, resp_type, &msg, err);
    if (rc == 1) {
        /* Read to the end so the status is known: OK is what makes it a reply. */
        ProtobufCMessage *extra = NULL;
        int end = rpc_stream_next(st, resp_type, &extra, err);
        if (end != 0) {
            if (end == 1) {
                protobuf_c_message_free_unpacked(extra, NULL);
                ecl_fail(err, ECL_E_INPUT, "%s answered with more than one message", path);
            }
            protobuf_c_message_free_unpacked(msg, NULL);
            rpc_stream_close(st);
            return -1;
        }
        *resp = msg;
    } else if (rc == 0) {
        ecl_fail(err, ECL_E_INPUT, "%s answered OK without a message", path);
        rc = -1;
    }
    rpc_stream_close(st);
    return rc == 1 ? 0 : -1;
}
