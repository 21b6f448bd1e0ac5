/*
 * bundle.h - peering bundles and signing-key rotations.
 *
 * A peering bundle is how one site introduces itself to another: its id,
 * country, gateway endpoint, CA certificate and Ed25519 public key, with an
 * issue time, signed by that key (PeerBundle in proto/ecluse.proto, context
 * "ecluse-peer-v1"). An admin exports it (`ecluse peer export`), sends it,
 * and the other admin adds it after comparing its fingerprint out of band.
 *
 * On disk and in mail a bundle is text:
 *   ecluse-peer-bundle-v1
 *   <base64 of the PeerBundle encoding>
 *
 * A site rolls its signing key by signing a KeyRotation (old key signs the
 * new one, context "ecluse-key-rotation-v1"); peers follow the chain from the
 * key they pinned without re-peering.
 *
 * Ownership. Inputs are borrowed for the call only. A byte or text result
 * (*out of bundle_make and rotation_make, *text, *bundle) is malloc'd for
 * the caller, who free()s it; a peer_info's ca_pem is released with
 * peer_info_clear. On failure nothing is allocated.
 *
 * Threads. Every function may run on any number of threads at once: none
 * keeps state between calls (no statics, no locks); each works on its own
 * arguments, with libsodium, OpenSSL and protobuf-c, which are thread-safe
 * for that. libsodium must be initialised before bundle_fingerprint runs
 * on its own (sodium_init(), which site_key_load and site_key_verify call,
 * so bundle_verify and rotation_follow see to it). A peer_info or an output
 * buffer is not to be shared with a call that writes it.
 */
#ifndef ECLUSE_FEDERATION_BUNDLE_H
#define ECLUSE_FEDERATION_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/ecluse.pb-c.h"
#include "site/identity.h"
#include "site/signer.h"
#include "site/sitekey.h"

#define BUNDLE_FINGERPRINT_MAX 48

/* What a verified bundle says. */
typedef struct peer_info {
    char site[ECL_SITE_ID_MAX];
    char country[3];
    char endpoint[256];
    char *ca_pem; /* malloc'd */
    unsigned char signing_key[crypto_sign_PUBLICKEYBYTES];
    int64_t issued_unix;
    char fingerprint[BUNDLE_FINGERPRINT_MAX];
} peer_info;

/* Free ca_pem and zero `p`; a zeroed peer_info is fine. */
void peer_info_clear(peer_info *p);

/* Make and sign this site's bundle; *out is a malloc'd PeerBundle encoding. */
int bundle_make(const char *site, const char *country, const char *endpoint, const char *ca_pem,
                signer *key, int64_t issued_unix, unsigned char **out, size_t *len,
                ecl_err *err) ECL_WUR;

/* Verify a PeerBundle encoding: signed by the key it carries, a valid site id
 * and country, an endpoint host:port, a CA certificate that is a CA whose URI
 * SAN is spiffe://<site>. ECL_E_CRYPTO or ECL_E_INPUT naming the problem.
 * *out is zeroed first, filled on success (peer_info_clear it after). */
int bundle_verify(const unsigned char *bundle, size_t len, peer_info *out, ecl_err *err) ECL_WUR;

/* The stable fingerprint people compare: BLAKE2b-256 over
 * site || 0x00 || signing key || CA certificate DER; first 16 bytes, hex,
 * grouped by 4 with '-'. Re-exporting a bundle does not change it. */
int bundle_fingerprint(const char *site, const unsigned char *signing_key, const char *ca_pem,
                       char out[BUNDLE_FINGERPRINT_MAX], ecl_err *err) ECL_WUR;

/* Text form <-> PeerBundle encoding. */
int bundle_to_text(const unsigned char *bundle, size_t len, char **text, ecl_err *err) ECL_WUR;
int bundle_from_text(const char *text, size_t len, unsigned char **bundle, size_t *out_len,
                     ecl_err *err) ECL_WUR;

/* Sign a rotation from `old_key` to `new_public`; *out is a KeyRotation encoding. */
int rotation_make(const char *site, signer *old_key, const unsigned char *new_public,
                  uint64_t sequence, int64_t issued_unix, unsigned char **out, size_t *len,
                  ecl_err *err) ECL_WUR;

/* Follow a chain of rotations (oldest first) from `pinned`: each must be for
 * `site`, signed by the key before it, with sequences counting up by one.
 * On success `current` holds the last new key (or `pinned` if the chain is
 * empty or entirely before `pinned`). On failure `current` holds the key
 * reached before the bad link: not to be pinned. */
int rotation_follow(const char *site, const unsigned char *pinned,
                    Ecluse__V1__KeyRotation *const *chain, size_t count,
                    unsigned char current[crypto_sign_PUBLICKEYBYTES], ecl_err *err) ECL_WUR;

#endif
