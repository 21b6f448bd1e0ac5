/*
 * attestation.h - a home site's word on who its researcher is, as the
 * holding site reads it.
 *
 * When a researcher asks for a peer's dataset, the home gateway signs an
 * AttestationBody (proto/ecluse.proto) with its site key, context
 * ATTESTATION_SIGNING_CONTEXT: the requester's identity, affiliation and
 * organisation type, a five-minute validity and the BLAKE2b-256 digest of the
 * exact AccessRequest it forwards. The holding site believes it only as far
 * as it goes: signed by the caller's pinned key, about one of the caller's
 * own people, valid now, for this very request, and about a researcher.
 */
#ifndef ECLUSE_GATEWAY_ATTESTATION_H
#define ECLUSE_GATEWAY_ATTESTATION_H

#include <sodium.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/ecluse.pb-c.h"
#include "site/identity.h"

#define ATTESTATION_TTL_S  300 /* how long an attestation is valid */
#define ATTESTATION_SKEW_S 60  /* how far in the future its issue time may be */

/* BLAKE2b-256 of the request's protobuf encoding, into out.
 * Errors: ECL_E_INTERNAL (out of memory). */
int attestation_request_digest(const Ecluse__V1__AccessRequest *req, unsigned char out[32],
                               ecl_err *err) ECL_WUR;

/* Check a forwarded request's attestation, made by the site `caller_site`
 * whose pinned key is `caller_key`, at time `now`. The signature is checked
 * before the body is parsed. On success *requester is the attested
 * researcher and *out the body (free with
 * ecluse__v1__attestation_body__free_unpacked).
 * Errors: ECL_E_INPUT (request or attestation missing, does not decode),
 * ECL_E_CRYPTO (signature, or for another request), ECL_E_DENIED (a person of
 * another site, or not a researcher), ECL_E_PRECONDITION (not valid now),
 * ECL_E_INTERNAL (out of memory). */
int attestation_open(const unsigned char caller_key[crypto_sign_PUBLICKEYBYTES],
                     const char *caller_site, const Ecluse__V1__ForwardedAccessRequest *fwd,
                     int64_t now, ecl_identity *requester, Ecluse__V1__AttestationBody **out,
                     ecl_err *err) ECL_WUR;

#endif
