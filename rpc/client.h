/*
 * rpc/client.h - calling an ecluse gateway, over the gRPC C core.
 *
 * Used by the CLI, the C client library and by gateways calling their peers.
 * Calls block the calling thread; a channel may be shared by threads.
 * The server must present a certificate issued by `ca_pem` whose SPIFFE id
 * is `expect_spiffe` (e.g. "spiffe://lu/gateway"): talking to the wrong
 * gateway is an error before any request is sent.
 */
#ifndef ECLUSE_RPC_CLIENT_H
#define ECLUSE_RPC_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct rpc_channel rpc_channel;
typedef struct rpc_stream rpc_stream;

typedef struct rpc_channel_options {
    const char *target;        /* host:port */
    const char *ca_pem;        /* CA(s) that may have issued the server's certificate */
    const char *cert_pem;      /* our certificate and key */
    const char *key_pem;       /* NULL cert/key: connect with no client certificate */
    const char *expect_spiffe; /* the server's identity; NULL: any from ca_pem */
    size_t max_message_bytes;  /* 0: 16 MiB */
} rpc_channel_options;

/* Make a channel (connection is lazy: errors show on the first call). */
int rpc_channel_open(const rpc_channel_options *opts, rpc_channel **out, ecl_err *err) ECL_WUR;

/* The same, with each stream's HTTP/2 receive window held at `window_bytes`
 * (> 0): gRPC's BDP probing, which otherwise grows the window to what the
 * link carries in flight (tens of MiB on loopback), is off. What a stream
 * holds unread is then that window plus the message being read (gRPC opens
 * the window far enough for a whole message). For relays, whose memory per
 * stream is what they hold unread. */
int rpc_channel_open_window(const rpc_channel_options *opts, size_t window_bytes, rpc_channel **out,
                            ecl_err *err) ECL_WUR;
void rpc_channel_close(rpc_channel *ch);

/* `*at_ms` is the moment (CLOCK_MONOTONIC ms, rpc_monotonic_ms) past which
 * calls on this channel give up: one in progress is cancelled within
 * RPC_CANCEL_POLL_MS (status CANCELLED, "cancelled: the caller is stopping")
 * and a new one fails at once. It is read at every wait, so its owner may
 * move it while calls run: setting it to now cancels them all. A value of 0:
 * never. `at_ms` must outlive the channel. For a gateway that stops while
 * calls to its peers are in flight. */
void rpc_channel_give_up_at(rpc_channel *ch, const _Atomic int64_t *at_ms);

#define RPC_CANCEL_POLL_MS 50

/* CLOCK_MONOTONIC in milliseconds: the clock of rpc_channel_give_up_at. */
int64_t rpc_monotonic_ms(void);

/* One request, one response. *resp is protobuf-c's, freed with
 * protobuf_c_message_free_unpacked. The error carries the server's status
 * message; ECL_E_UNAVAILABLE if the server cannot be reached. */
int rpc_unary(rpc_channel *ch, const char *path, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *resp_type, ProtobufCMessage **resp, int timeout_ms,
              ecl_err *err) ECL_WUR;

/* rpc_stream_open with the request given as raw bytes (tests of malformed
 * input, fuzzing, relays that pass bytes on unparsed). */
int rpc_stream_open_raw(rpc_channel *ch, const char *path, const void *req, size_t req_len,
                        int timeout_ms, rpc_stream **out, ecl_err *err) ECL_WUR;

/* A server stream: open, then next until it returns 0 (clean end) or -1. */
int rpc_stream_open(rpc_channel *ch, const char *path, const ProtobufCMessage *req, int timeout_ms,
                    rpc_stream **out, ecl_err *err) ECL_WUR;

/* 1 with *msg set, 0 at the end of a stream that ended OK, -1 on error
 * (the stream's status). */
int rpc_stream_next(rpc_stream *st, const ProtobufCMessageDescriptor *type, ProtobufCMessage **msg,
                    ecl_err *err) ECL_WUR;

/* The next message's raw bytes, joined into one malloc'd buffer (*data,
 * *len); same returns as rpc_stream_next. */
int rpc_stream_next_raw(rpc_stream *st, unsigned char **data, size_t *len, ecl_err *err) ECL_WUR;

/* The next message left in the pieces gRPC received it in, so that a reader
 * can parse its head and copy its body straight to where it belongs (one
 * copy instead of three). Same returns as rpc_stream_next. */
typedef struct rpc_message rpc_message;
int rpc_stream_next_message(rpc_stream *st, rpc_message **out, ecl_err *err) ECL_WUR;
size_t rpc_message_length(const rpc_message *m);
/* Copy bytes [at, at + len) of the message (clamped to its end) to `dst`;
 * returns how many were copied. */
size_t rpc_message_copy(const rpc_message *m, size_t at, void *dst, size_t len);
/* Hand bytes [at, at + len) to `fn` piece by piece, in order. */
void rpc_message_each(const rpc_message *m, size_t at, size_t len,
                      void (*fn)(const unsigned char *p, size_t n, void *arg), void *arg);
/* Decode the whole message with protobuf-c (joins the pieces); NULL if it
 * is not a valid `type`. */
ProtobufCMessage *rpc_message_unpack(const rpc_message *m,
                                     const ProtobufCMessageDescriptor *type) ECL_WUR;
void rpc_message_free(rpc_message *m);

/* A stream with no overall deadline that still never hangs: opening it, and
 * every next/next_raw, waits at most `idle_ms` for the server; past that the
 * stream is cancelled (DEADLINE_EXCEEDED, "no message for N ms: the sender
 * stalled"). For long reads relayed from a peer. */
int rpc_stream_open_idle(rpc_channel *ch, const char *path, const ProtobufCMessage *req,
                         int idle_ms, rpc_stream **out, ecl_err *err) ECL_WUR;

/* Cancel if still running, and free. */
void rpc_stream_close(rpc_stream *st);

/* The gRPC status of a finished stream (-1 while it runs). A failed call also
 * leaves its exact status in err->remote_status (e.g. 12, UNIMPLEMENTED). */
int rpc_stream_status(const rpc_stream *st);

#endif
