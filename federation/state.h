/*
 * state.h - what a site knows about itself and its peers, in LMDB.
 *
 * One LMDB environment, <data_dir>/state, written only by the gateway
 * process (people change it through the Admin RPCs). Sub-databases:
 *   datasets       "<site>/<name>" -> DatasetEntry encoding (this site's)
 *   peers          site -> PeerBundle encoding, as the admin added it
 *   peer_keys      site -> the 32-byte key pinned now (follows rotations)
 *   peer_catalogs  site -> u64le fetched_unix || catalog blob (catalog.h)
 *   peer_status    site -> u64le attempt_unix || last refusal text ("" if OK)
 *   peer_contact   site -> last good contact, last error in words, key
 *                  generations (federation/contact.h; absent in a state
 *                  written before it: read as "nothing known yet")
 *   rotations      u64be sequence -> KeyRotation encoding (this site's keys)
 *   meta           "catalog_version" -> u64le; "trust_generation" -> u64le
 * The catalog version grows with every change to `datasets`; the trust
 * generation with every change to `peers`, so the TLS layer knows to reload.
 *
 * Ownership. Every argument is borrowed for the call only: what is stored
 * is copied into LMDB, nothing is kept. Every result is a copy the caller
 * owns, freed with the function named at its declaration (never pointers
 * into the map). On failure nothing is allocated and the out-arguments are
 * to be ignored: there is nothing to free.
 *
 * Threads. Every function but fed_state_open and fed_state_close may be
 * called at the same time from any number of threads on one fed_state (each
 * gateway handler thread does so): there is no lock of ecluse's here, each
 * call is one LMDB transaction of its own, begun and ended inside it.
 * Readers see the last committed snapshot and never wait; writers (put,
 * remove, add, set, note) wait for each other on LMDB's writer lock. The
 * environment is opened with MDB_NOTLS, so a read is not tied to its
 * thread, but no more than LMDB's default 126 transactions can be open at
 * once: one more fails with ECL_E_IO ("MDB_READERS_FULL"). What is atomic
 * is one call, never a sequence of calls: see fed_state_put_peer_catalog
 * and fed_state_get_peer_catalog. fed_state_close must come after every
 * other call has returned, and no call may follow it. Open one fed_state
 * per directory in a process (LMDB's rule), and do not use it after fork().
 */
#ifndef ECLUSE_FEDERATION_STATE_H
#define ECLUSE_FEDERATION_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "federation/bundle.h"
#include "federation/catalog.h"
#include "federation/contact.h"

typedef struct fed_state fed_state;

typedef struct fed_peer {
    peer_info info; /* from the bundle as added (info.ca_pem malloc'd) */
    unsigned char pinned_key[crypto_sign_PUBLICKEYBYTES];
    uint64_t catalog_version; /* 0 if none held */
    int64_t fetched_unix;     /* when the held catalog was verified */
    int64_t attempt_unix;     /* last fetch attempt */
    char last_error[512];     /* why the last fetch was refused; "" if it was not */
    fed_peer_contact contact; /* zeroed when nothing is known yet */
} fed_peer;

/* Free what `p` holds (info.ca_pem) and zero it; a zeroed fed_peer is fine. */
void fed_peer_clear(fed_peer *p);

/* Open (creating) the environment in `dir`. *out is the caller's, closed
 * with fed_state_close (NULL is allowed there). */
int fed_state_open(const char *dir, fed_state **out, ecl_err *err) ECL_WUR;

/* The same environment opened to read only (an auditor's offline check):
 * nothing is created; the get and list functions work, the others fail. */
int fed_state_open_readonly(const char *dir, fed_state **out, ecl_err *err) ECL_WUR;
void fed_state_close(fed_state *st);

/* The counters in `meta`; 0 when never bumped, and also when LMDB cannot
 * begin a read (the failure is not reported otherwise). */
uint64_t fed_state_trust_generation(fed_state *st);
uint64_t fed_state_catalog_version(fed_state *st);

/* This site's datasets. put/remove bump the catalog version (returned), in
 * the same transaction as the change. get: *entry is malloc'd (free()). */
int fed_state_put_dataset(fed_state *st, const char *id, const void *entry, size_t len,
                          int must_be_new, uint64_t *version, ecl_err *err) ECL_WUR;
int fed_state_remove_dataset(fed_state *st, const char *id, uint64_t *version,
                             ecl_err *err) ECL_WUR;
int fed_state_get_dataset(fed_state *st, const char *id, unsigned char **entry, size_t *len,
                          ecl_err *err) ECL_WUR;

/* Every dataset, sorted by id, with the catalog version of that snapshot
 * (one read transaction). Free the array and its entries with
 * fed_state_free_list(*entries, *count). */
int fed_state_list_datasets(fed_state *st, ProtobufCBinaryData **entries, size_t *count,
                            uint64_t *version, ecl_err *err) ECL_WUR;
void fed_state_free_list(ProtobufCBinaryData *entries, size_t count);

/* Peers. add verifies the bundle and refuses `own_site` and a site already
 * added (ECL_E_EXISTS: remove it first); `added` may be NULL, else it is
 * filled on success only. get fills *out, list a malloc'd array: release
 * with fed_peer_clear(out) and fed_state_free_peers(*peers, *count). */
int fed_state_add_peer(fed_state *st, const unsigned char *bundle, size_t len, const char *own_site,
                       fed_peer *added, ecl_err *err) ECL_WUR;
int fed_state_remove_peer(fed_state *st, const char *site, ecl_err *err) ECL_WUR;
int fed_state_get_peer(fed_state *st, const char *site, fed_peer *out, ecl_err *err) ECL_WUR;
int fed_state_list_peers(fed_state *st, fed_peer **peers, size_t *count, ecl_err *err) ECL_WUR;
void fed_state_free_peers(fed_peer *peers, size_t count);

/* After a verified rotation chain: pin the peer's new key. */
int fed_state_set_peer_key(fed_state *st, const char *site, const unsigned char *key,
                           ecl_err *err) ECL_WUR;

/* A verified catalog of a peer becomes the one held; or a refusal is noted
 * (the held catalog stays). Both refuse a site that is no longer a peer
 * (ECL_E_NOT_FOUND), so a removal wins over a late fetch. put stores the
 * catalog and then the peer's status in two transactions, and does not
 * compare versions with the catalog held: rollback is the caller's check
 * (catalog_expect), made against a catalog it read earlier, so two threads
 * refreshing the same peer can store the older of two catalogs last. */
int fed_state_put_peer_catalog(fed_state *st, const char *site, const catalog *c,
                               int64_t fetched_unix, ecl_err *err) ECL_WUR;
int fed_state_note_fetch_error(fed_state *st, const char *site, int64_t attempt_unix,
                               const char *error, ecl_err *err) ECL_WUR;

/* The contact record of a peer (contact.h; read with the peer by get and
 * list). Each is one transaction, and each refuses a site that is no
 * longer a peer (ECL_E_NOT_FOUND).
 * ok: a contact succeeded at now_unix; an error held of kind <= `clears`
 * is cleared, and a recheck may be asked again.
 * failed: the error in words (the phrase, short and stable) and its detail.
 * generations: the key generation held and the newest the peer showed.
 * recheck: *first is 1 if an error of `kind` is held and no recheck was
 * asked since it happened (the flag is then set), else 0. */
int fed_state_contact_ok(fed_state *st, const char *site, int64_t now_unix, fed_contact_kind clears,
                         ecl_err *err) ECL_WUR;
int fed_state_contact_failed(fed_state *st, const char *site, int64_t now_unix,
                             fed_contact_kind kind, const char *phrase, const char *detail,
                             ecl_err *err) ECL_WUR;
int fed_state_contact_generations(fed_state *st, const char *site, uint64_t held, uint64_t newest,
                                  ecl_err *err) ECL_WUR;
int fed_state_contact_recheck(fed_state *st, const char *site, fed_contact_kind kind, int *first,
                              ecl_err *err) ECL_WUR;

/* The held catalog of a peer (re-verified against the pinned key; expiry is
 * not checked here, callers show it). ECL_E_NOT_FOUND if none. *out is the
 * caller's (catalog_free). The peer and its catalog are read in two
 * transactions: a key pinned in between makes it fail (ECL_E_CRYPTO). */
int fed_state_get_peer_catalog(fed_state *st, const char *site, catalog **out,
                               int64_t *fetched_unix, ecl_err *err) ECL_WUR;

/* This site's key rotations, oldest first. add refuses a sequence already
 * stored (ECL_E_IO, "MDB_KEYEXIST"). list: free with fed_state_free_list. */
int fed_state_add_rotation(fed_state *st, uint64_t sequence, const unsigned char *rotation,
                           size_t len, ecl_err *err) ECL_WUR;
int fed_state_list_rotations(fed_state *st, ProtobufCBinaryData **rotations, size_t *count,
                             ecl_err *err) ECL_WUR;

/* Site `site`'s key history, oldest first: the key its first rotation
 * started from and every key the rotation chain led to, the chain verified
 * link by link (key_history.c); then `current` (may be NULL) if it is not
 * the last. ECL_E_CRYPTO or ECL_E_INPUT for a chain that does not verify;
 * ECL_E_NOT_FOUND if there is no rotation and no `current`. *keys is
 * malloc'd (the caller frees it). */
int fed_site_key_history(fed_state *st, const char *site, const unsigned char *current,
                         unsigned char (**keys)[crypto_sign_PUBLICKEYBYTES], size_t *count,
                         ecl_err *err) ECL_WUR;

#endif
