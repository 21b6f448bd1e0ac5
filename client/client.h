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
 *   if (ecl_client_health(c, &h, &err) == 0) { ...; protobuf_c_message_free_unpacked(&h->base,
 * NULL); } ecl_client_close(c);
 *
 * The library initialises gRPC core on the first open and shuts it down on
 * the last close. A client may be used from several threads.
 */
#ifndef ECLUSE_CLIENT_CLIENT_H
#define ECLUSE_CLIENT_CLIENT_H

#include "common/err.h"
#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "site/identity.h"

typedef struct ecl_client ecl_client;

/* The default identity directory: $ECLUSE_IDENTITY, or NULL if unset. */
const char *ecl_client_default_identity(void);

/* Open a client for the identity in `identity_dir`. `gateway` overrides the
 * endpoint in identity.json (NULL: use it). Fails with ECL_E_INPUT naming the
 * file if the identity is incomplete or inconsistent (key does not match the
 * certificate, certificate not from the CA, expired). */
int ecl_client_open(const char *identity_dir, const char *gateway, ecl_client **out,
                    ecl_err *err) ECL_WUR;

void ecl_client_close(ecl_client *c);

/* Who this client is, as its certificate says. */
const ecl_identity *ecl_client_identity(const ecl_client *c);

/* The gateway endpoint it talks to. */
const char *ecl_client_gateway(const ecl_client *c);

/* The channel, for the calls of the other client modules. */
rpc_channel *ecl_client_channel(ecl_client *c);

/* Per-call timeout for unary calls, ms (default 15000). */
void ecl_client_set_timeout(ecl_client *c, int timeout_ms);
int ecl_client_timeout(const ecl_client *c);

/* Health.Check. */
int ecl_client_health(ecl_client *c, Ecluse__V1__HealthCheckResponse **out, ecl_err *err) ECL_WUR;

#endif
