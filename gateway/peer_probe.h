/*
 * peer_probe.h - why a peer's gateway cannot be talked to, asked of TLS.
 *
 * gRPC reports a failed connection as UNAVAILABLE with a few words ("Socket
 * closed"), whether the peer is down, its certificate expired, or it no
 * longer accepts ours. After such a failure the gateway opens one plain TLS
 * connection itself, as its channels do (the peer's CA, this gateway's
 * certificate, ALPN h2), and reads what happened: connect refused, the
 * verify error of the peer's certificate, or the alert the peer sent about
 * ours. The probe is diagnosis only: nothing is sent over it, and nothing
 * it finds is trusted.
 */
#ifndef ECLUSE_GATEWAY_PEER_PROBE_H
#define ECLUSE_GATEWAY_PEER_PROBE_H

#include "federation/state.h"

typedef enum peer_probe_verdict {
    PEER_PROBE_UNKNOWN = 0, /* could not tell (out of memory, bad endpoint) */
    PEER_PROBE_UNREACHABLE, /* no TCP connection, or no answer in time */
    PEER_PROBE_BAD_CERT,    /* the peer's certificate did not verify */
    PEER_PROBE_REFUSED_US,  /* the peer's TLS refused our certificate */
    PEER_PROBE_ACCEPTED,    /* the handshake went through both ways */
} peer_probe_verdict;

typedef struct peer_probe {
    peer_probe_verdict verdict;
    long verify_error; /* X509_V_ERR_* for PEER_PROBE_BAD_CERT, else 0 */
    char detail[256];  /* what was seen, in words */
} peer_probe;

struct gateway;

/* Probe `peer`'s endpoint, waiting at most timeout_ms in all. */
void peer_probe_tls(struct gateway *gw, const fed_peer *peer, int timeout_ms, peer_probe *out);

#endif
