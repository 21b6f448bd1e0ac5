/*
 * signer_keys.h - internal to site/: the key material a signer holds and
 * what it does with it. Both backends of signer.h run this code: the
 * signer process (signer_main.c) and the in-process signer_local.
 */
#ifndef ECLUSE_SITE_SIGNER_KEYS_H
#define ECLUSE_SITE_SIGNER_KEYS_H

#include <stdint.h>

#include "common/err.h"
#include "common/note.h"
#include "site/signer.h"
#include "site/sitekey.h"

/* Requests on the socketpair besides the signer_kind values. */
#define SIGNER_OP_ROTATE_PREPARE 100u
#define SIGNER_OP_ROTATE_COMMIT  101u

typedef struct signer_keys {
    site_key *current; /* sodium_malloc'd: locked, guarded, read-only between uses */
    site_key *staged;  /* the next key once a rotation is prepared, else NULL */
    char *key_path;    /* where the key lives; NULL for a local signer (no files) */
    char origin[ECL_CHECKPOINT_ORIGIN_MAX + 1]; /* the site's log's origin; "" if not told */
} signer_keys;

/* Load the key file into locked memory. */
int signer_keys_load(signer_keys *k, const char *key_path, ecl_err *err) ECL_WUR;

/* Copy an in-memory key into locked memory (signer_local). */
int signer_keys_copy(signer_keys *k, const site_key *key, ecl_err *err) ECL_WUR;

/* The site whose checkpoint notes it signs (ecl_audit_origin). */
int signer_keys_set_site(signer_keys *k, const char *site, ecl_err *err) ECL_WUR;

/* Wipe and free everything. */
void signer_keys_wipe(signer_keys *k);

/* Check that `msg` is the document `kind` names, then sign it under the
 * kind's context with the current key (the note kinds: raw, see signer.h). */
int signer_keys_sign(signer_keys *k, uint32_t kind, const void *msg, size_t len,
                     unsigned char sig[crypto_sign_BYTES], ecl_err *err) ECL_WUR;

/* Stage a given key as the next one (signer_local_stage). */
int signer_keys_stage(signer_keys *k, const site_key *next, ecl_err *err) ECL_WUR;

/* See signer_rotate_prepare / signer_rotate_commit in signer.h. */
int signer_keys_rotate_prepare(signer_keys *k, unsigned char new_pk[crypto_sign_PUBLICKEYBYTES],
                               ecl_err *err) ECL_WUR;
int signer_keys_rotate_commit(signer_keys *k, uint64_t retired_sequence, ecl_err *err) ECL_WUR;

#endif
