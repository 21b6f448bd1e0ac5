/*
 * client.h - the ecluse C client library: talk to your home gateway.
 *
 * A person's identity is a directory made by `ecluse pki issue` (gateway/site.h
 * describes it): certificate, key, their site's CA and identity.json, which
 * names the gateway. The client connects over mutual TLS and refuses any
 * server that is not spiffe://<site>/gateway of the person's own site.
 *
 *   ecl_client *c;
 *   if (ecl_client_open("/home/alice/.ecluse", NULL, &c, &err) != 0) ...
 *   Ecluse__V1__HealthCheckResponse *h;
 *   if (ecl_client_health(c, &h, &err) == 0) {
 *       ...; protobuf_c_message_free_unpacked(&h->base, NULL);
 *   }
 *   ecl_client_close(c);
 *
 * Ownership. Arguments are borrowed for the call (ecl_client_open copies
 * what it keeps). The client is the caller's, freed with ecl_client_close;
 * what its accessors return points into it and lives as long as it does.
 * A message it returns is protobuf-c's, freed with
 * protobuf_c_message_free_unpacked. On failure nothing is allocated.
 *
 * Threads. The library initialises gRPC core on the first open and shuts it
 * down on the last close (counted under a mutex: clients may be opened and
 * closed on several threads at once). One client may serve calls from
 * several threads at once (ecl_client_health, ecl_stream_open in read.h,
 * and the accessors): it holds no lock, its calls only read it, and the
 * gRPC channel is shared safely. ecl_client_set_timeout writes it: set the
 * timeout before sharing the client. ecl_client_close comes after every
 * call on the client has returned and every ecl_stream opened on it has
 * been closed (the last close shuts gRPC down under them). An ecl_stream
 * itself belongs to one thread at a time.
 */
#ifndef ECLUSE_CLIENT_CLIENT_H
#define ECLUSE_CLIENT_CLIENT_H

#include "common/err.h"
#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "site/identity.h"

typedef struct ecl_client ecl_client;

/* The default identity directory: $ECLUSE_IDENTITY, or NULL if unset. The
 * string is the environment's (getenv): not to be freed, and not to be
 * relied on across a setenv, nor read while another thread calls setenv. */
const char *ecl_client_default_identity(void);

/* Open a client for the identity in `identity_dir`. `gateway` overrides the
 * endpoint in identity.json (NULL: use it). Fails with ECL_E_INPUT naming the
 * file if the identity is incomplete or inconsistent (key does not match the
 * certificate, certificate not from the CA, expired). */
int ecl_client_open(const char *identity_dir, const char *gateway, ecl_client **out,
                    ecl_err *err) ECL_WUR;

/* Close the channel, wipe the key, free `c`. NULL is allowed. */
void ecl_client_close(ecl_client *c);

/* Who this client is, as its certificate says. */
const ecl_identity *ecl_client_identity(const ecl_client *c);

/* The gateway endpoint it talks to. */
const char *ecl_client_gateway(const ecl_client *c);

/* The channel, for the calls of the other client modules; the client's:
 * never to be closed by the caller. */
rpc_channel *ecl_client_channel(ecl_client *c);

/* Per-call timeout for unary calls, ms (default 15000). Not synchronised:
 * set it while no other thread uses the client. */
void ecl_client_set_timeout(ecl_client *c, int timeout_ms);
int ecl_client_timeout(const ecl_client *c);

/* Health.Check. *out is the caller's (protobuf_c_message_free_unpacked). */
int ecl_client_health(ecl_client *c, Ecluse__V1__HealthCheckResponse **out, ecl_err *err) ECL_WUR;

#endif
