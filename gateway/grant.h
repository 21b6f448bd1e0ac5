/*
 * grant.h - access grants: what exactly a requester may read, until when.
 *
 * A grant is issued by the site that holds the dataset when its policy
 * permits a request (Access.Request). It is a GrantBody (proto/ecluse.proto)
 * signed with that site's key, context "ecluse-grant-v1":
 *     signature = Ed25519(sk, "ecluse-grant-v1" || 0x00 || body)
 * The requester presents it back with each Data.Read; the holding site
 * checks its own signature, the dataset, the expiry and that the caller is
 * the requester it was issued to (or that requester's home gateway, relaying).
 */
#ifndef ECLUSE_GATEWAY_GRANT_H
#define ECLUSE_GATEWAY_GRANT_H

#include <stdint.h>

#include "common/err.h"
#include "proto/ecluse.pb-c.h"
#include "site/signer.h"

/* Sign `body` (its signing_key is set to the key's public half). On success
 * out->body and out->signature are malloc'd: free with grant_clear. */
int grant_sign(signer *key, Ecluse__V1__GrantBody *body, Ecluse__V1__Grant *out,
               ecl_err *err) ECL_WUR;

void grant_clear(Ecluse__V1__Grant *g);

/* Check a presented grant against the holding site: signed by `holder_key`
 * (signature checked before anything is parsed), for a dataset of
 * `holder_site`, not expired at `now`. *out is protobuf-c's (free with
 * ecluse__v1__grant_body__free_unpacked).
 * Errors: ECL_E_INPUT (missing, does not decode), ECL_E_CRYPTO (signature),
 * ECL_E_DENIED (another site's dataset), ECL_E_PRECONDITION (expired). */
int grant_open(const Ecluse__V1__Grant *grant, const unsigned char *holder_key,
               const char *holder_site, int64_t now, Ecluse__V1__GrantBody **out,
               ecl_err *err) ECL_WUR;

/* 1 if the grant was issued to `spiffe` (spiffe://site/role/name). */
int grant_is_for(const Ecluse__V1__GrantBody *body, const char *spiffe);

#endif
