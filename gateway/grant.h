/*
 * grant.h - access grants: what exactly a requester may read, until when,
 * of which published dataset.
 *
 * A grant is issued by the site that holds the dataset when its policy
 * permits a request (Access.Request). It is a GrantBody (proto/ecluse.proto)
 * signed with that site's key, context "ecluse-grant-v1":
 *     signature = Ed25519(sk, "ecluse-grant-v1" || 0x00 || body)
 * It names the dataset entry the decision was taken on (grant_dataset). The
 * requester presents it back with each Data.Read; the holding site checks,
 * in this order (docs/protocol.md, "Checking a grant"): the signature, by a
 * key of its verified key history (so a key rotation ends no grant); the
 * dataset is one of its own; the expiry; that the caller is the requester
 * (or that requester's home gateway, relaying); and that the dataset held
 * now is the one decided on.
 */
#ifndef ECLUSE_GATEWAY_GRANT_H
#define ECLUSE_GATEWAY_GRANT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/ecluse.pb-c.h"
#include "site/signer.h"

#define GRANT_DIGEST_BYTES 32

/* The published dataset a decision was taken on. */
typedef struct grant_dataset {
    int64_t published_unix;                           /* DatasetEntry.issued_unix */
    unsigned char entry_digest[GRANT_DIGEST_BYTES];   /* of the entry's encoding */
    unsigned char content_digest[GRANT_DIGEST_BYTES]; /* over its tensors */
} grant_dataset;

/* Describe a dataset entry as its site stores it (the DatasetEntry encoding
 * its catalog carries): entry_digest = BLAKE2b-256 of those bytes;
 * content_digest = BLAKE2b-256 of "ecluse-dataset-content-v1" || 0x00 ||
 * u64be rows, then per tensor in entry order: u32be length || name,
 * u32be length || dtype, u32be ndim, u64be each dimension, u64be byte_size,
 * u32be length || digest. Errors: ECL_E_INPUT (the entry does not decode). */
int grant_dataset_of(const unsigned char *entry, size_t len, grant_dataset *out,
                     ecl_err *err) ECL_WUR;

/* Point body's dataset_* fields at `d` (which must outlive the signing). */
void grant_bind_dataset(Ecluse__V1__GrantBody *body, const grant_dataset *d);

/* Sign `body` (its signing_key is set to the key's public half). On success
 * out->body and out->signature are malloc'd: free with grant_clear. */
int grant_sign(signer *key, Ecluse__V1__GrantBody *body, Ecluse__V1__Grant *out,
               ecl_err *err) ECL_WUR;

void grant_clear(Ecluse__V1__Grant *g);

/* Check a presented grant against the holding site: signed by one of
 * `n_keys` keys of `holder_site` (its verified key history, any order;
 * the signature is checked before the body is trusted), for a dataset of
 * `holder_site`, not expired at `now`. *out is protobuf-c's (free with
 * ecluse__v1__grant_body__free_unpacked).
 * Errors: ECL_E_INPUT (missing, does not decode); ECL_E_CRYPTO ("signature
 * does not verify": changed or damaged); ECL_E_DENIED ("signed by another
 * site": it verifies under the key it names, which is none of these, or it
 * is for another site's dataset); ECL_E_PRECONDITION (expired). */
int grant_open_keys(const Ecluse__V1__Grant *grant,
                    const unsigned char (*keys)[crypto_sign_PUBLICKEYBYTES], size_t n_keys,
                    const char *holder_site, int64_t now, Ecluse__V1__GrantBody **out,
                    ecl_err *err) ECL_WUR;

/* grant_open_keys with the one key `holder_key`. */
int grant_open(const Ecluse__V1__Grant *grant, const unsigned char *holder_key,
               const char *holder_site, int64_t now, Ecluse__V1__GrantBody **out,
               ecl_err *err) ECL_WUR;

/* The dataset held now (`held`) is the one the grant was decided on.
 * ECL_E_PRECONDITION "dataset ... changed since the grant", naming the
 * published times and digest prefixes of both, also for a grant that names
 * no dataset version (issued by an ecluse before grants were bound). */
int grant_check_dataset(const Ecluse__V1__GrantBody *g, const grant_dataset *held,
                        ecl_err *err) ECL_WUR;

/* 1 if the grant was issued to `spiffe` (spiffe://site/role/name). */
int grant_is_for(const Ecluse__V1__GrantBody *body, const char *spiffe);

#endif
