/*
 * key_history.h - the keys a peer has signed with, from its rotation chain.
 *
 * A site's own history is fed_site_key_history (state.h), from the
 * rotations it stored. A peer's is followed from a key this site trusts
 * (the one in the bundle the admin added) through the rotations the peer
 * sends: each link signed by the key before it (rotation_follow), so every
 * key returned was vouched for, link by link, by the trusted one.
 */
#ifndef ECLUSE_FEDERATION_KEY_HISTORY_H
#define ECLUSE_FEDERATION_KEY_HISTORY_H

#include <stddef.h>

#include "common/err.h"
#include "proto/ecluse.pb-c.h"
#include "site/sitekey.h"

/* `root` and every key the chain (oldest first; links from before `root`
 * are skipped, as rotation_follow does) leads to from it, oldest first.
 * ECL_E_CRYPTO or ECL_E_INPUT for a chain that does not verify. *keys is
 * malloc'd (the caller frees it); nothing is allocated on failure. */
int fed_rotation_keys(const char *site, const unsigned char root[crypto_sign_PUBLICKEYBYTES],
                      Ecluse__V1__KeyRotation *const *chain, size_t count,
                      unsigned char (**keys)[crypto_sign_PUBLICKEYBYTES], size_t *n_keys,
                      ecl_err *err) ECL_WUR;

#endif
