/*
 * sitekey.h - the site's Ed25519 signing key.
 *
 * Everything a site asserts is signed with it: its catalog, its peering
 * bundle, the attestations of its researchers, the grants it issues, its
 * audit checkpoints. The secret key file is text, mode 0600:
 *
 *   ecluse-ed25519-secret-key-v1
 *   <base64 of libsodium's 64-byte secret key (seed || public key)>
 *
 * and the public key file (".pub") is the same with "public" and 32 bytes.
 *
 * The gateway never loads the secret key: its signer process does
 * (signer.h), and signs through site_key_sign. These functions are the
 * key's file format and the signature scheme, for the signer, site init
 * and tools.
 */
#ifndef ECLUSE_SITE_SITEKEY_H
#define ECLUSE_SITE_SITEKEY_H

#include <sodium.h>
#include <stddef.h>

#include "common/err.h"

typedef struct site_key {
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
    unsigned char secret_key[crypto_sign_SECRETKEYBYTES];
} site_key;

/* A new random key. */
int site_key_generate(site_key *key, ecl_err *err) ECL_WUR;

/* Write the secret key to `path` (0600, refuses to overwrite) and the public
 * key to `path`.pub (0644). */
int site_key_save(const site_key *key, const char *path, ecl_err *err) ECL_WUR;

/* Load a secret key file; checks that its public half matches its seed.
 * ECL_E_INPUT if the file is not a key, naming what is wrong, or if group
 * or others can reach it (site/keyfile.h). The file's text is read into
 * guarded memory and wiped; the key goes only to `key`, which a holder
 * keeps in sodium_malloc memory (the signer does: signer_keys.h). */
int site_key_load(const char *path, site_key *key, ecl_err *err) ECL_WUR;

/* Load a public key file (`<key>.pub`: "ecluse-ed25519-public-key-v1" and
 * the base64 of 32 bytes). ECL_E_INPUT naming what is wrong. */
int site_key_load_public(const char *path, unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                         ecl_err *err) ECL_WUR;

/* Wipe the secret from memory. */
void site_key_wipe(site_key *key);

/* Ed25519 detached signature over `context` || 0x00 || msg: the context
 * string separates what is signed ("ecluse-catalog-v1", "ecluse-grant-v1",
 * ...), so a signature made for one kind of document is never valid for
 * another. */
int site_key_sign(const site_key *key, const char *context, const void *msg, size_t len,
                  unsigned char sig[crypto_sign_BYTES], ecl_err *err) ECL_WUR;

/* Verify such a signature with a public key; ECL_E_CRYPTO if it does not. */
int site_key_verify(const unsigned char public_key[crypto_sign_PUBLICKEYBYTES], const char *context,
                    const void *msg, size_t len, const unsigned char *sig, size_t sig_len,
                    ecl_err *err) ECL_WUR;

/* Short fingerprint of a public key for people to compare out of band:
 * the first 16 bytes of BLAKE2b-256(key), hex, in groups of 4
 * ("3f2a-91c0-..."). `out` holds at least 40 bytes. */
void site_key_fingerprint(const unsigned char *public_key, size_t len, char *out, size_t cap);

#endif
