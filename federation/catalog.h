/*
 * catalog.h - a site's signed dataset catalog.
 *
 * A catalog is a signed header plus an ordered list of entries. The header
 * (CatalogHeader in proto/ecluse.proto) names the site, a version that only
 * grows, issue and expiry times, the number of entries, a BLAKE2b-256 digest
 * over the entries, and the public key that signed it. Each entry is the
 * protobuf encoding of a DatasetEntry, entries sorted by id (bytewise) with no
 * duplicates. docs/catalog-signing.md gives the exact bytes, so that any
 * program with an Ed25519 and a BLAKE2b implementation can verify a catalog.
 *
 * Only the header is signed (Ed25519 over "ecluse-catalog-v1" 0x00 header),
 * so a catalog of 100 000 entries costs one signature plus one hash pass,
 * and its entries can travel in pages.
 *
 * A peer's catalog is accepted only after catalog_verify has checked, in
 * order: the signature with the pinned key (before parsing anything), the
 * site it names, the key it names, its expiry (freeze), its version against
 * the one held (rollback, and equivocation: a held version with other
 * content), the entry count and digest, then each entry (decodes, belongs to
 * the site, sorted). Any failure leaves nothing accepted.
 */
#ifndef ECLUSE_FEDERATION_CATALOG_H
#define ECLUSE_FEDERATION_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/ecluse.pb-c.h"
#include "site/signer.h"
#include "site/sitekey.h"

#define CATALOG_DIGEST_BYTES 32

typedef struct catalog catalog;

/* What a verifier expects of a peer's catalog. */
typedef struct catalog_expect {
    const char *site;                 /* the site it must name */
    const unsigned char *pinned_key;  /* 32 bytes: the key it must be signed with */
    uint64_t held_version;            /* version held now; 0 if none */
    const unsigned char *held_digest; /* its entries digest; NULL if none */
    int64_t now_unix;                 /* 0: do not check expiry (reloading what was held) */
} catalog_expect;

/* Sign a catalog of `count` encoded DatasetEntry messages, which must be
 * sorted by id without duplicates (ECL_E_INPUT otherwise). The catalog keeps
 * its own copy of everything. */
int catalog_sign(const char *site, const char *country, uint64_t version, int64_t issued_unix,
                 int64_t expires_unix, const ProtobufCBinaryData *entries, size_t count,
                 signer *key, catalog **out, ecl_err *err) ECL_WUR;

/* Verify a catalog as received (see above). On success *out is a new
 * catalog that owns copies of the bytes. Errors: ECL_E_CRYPTO (signature,
 * key, digest), ECL_E_PRECONDITION (expired, rollback, equivocation),
 * ECL_E_INPUT (does not decode, wrong site, entries out of order). */
int catalog_verify(const void *header, size_t header_len, const void *signature,
                   size_t signature_len, const ProtobufCBinaryData *entries, size_t count,
                   const catalog_expect *expect, catalog **out, ecl_err *err) ECL_WUR;

void catalog_free(catalog *c);

/* The decoded header; valid while `c` lives. */
const Ecluse__V1__CatalogHeader *catalog_header(const catalog *c);

/* The signed bytes and signature, as they go on the wire. */
ProtobufCBinaryData catalog_header_bytes(const catalog *c);
ProtobufCBinaryData catalog_signature(const catalog *c);

size_t catalog_entry_count(const catalog *c);

/* Entry i's encoding; valid while `c` lives. */
ProtobufCBinaryData catalog_entry_bytes(const catalog *c, size_t i);

/* The digest over `count` encoded entries, as the header carries it. */
void catalog_entries_digest(const ProtobufCBinaryData *entries, size_t count,
                            unsigned char out[CATALOG_DIGEST_BYTES]);

/* One self-contained blob (header, signature, entries) for local storage, and
 * back. catalog_from_blob re-verifies with `expect` (pass held_version 0). */
int catalog_to_blob(const catalog *c, unsigned char **blob, size_t *len, ecl_err *err) ECL_WUR;
int catalog_from_blob(const unsigned char *blob, size_t len, const catalog_expect *expect,
                      catalog **out, ecl_err *err) ECL_WUR;

#endif
