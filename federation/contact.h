/*
 * contact.h - what a site knows of its last contacts with one peer: when
 * one last succeeded, the last error in words, and the key generation held.
 *
 * Kept in the state's `peer_contact` database (state.h), one record per
 * peer, in the byte layout below (docs/storage.md, "peer_contact"):
 *   u8     format (1)
 *   u64le  ok_unix             last successful contact; 0: never
 *   u64le  error_unix          when the last error happened; 0: none
 *   u64le  key_generation      rotations followed from the bundle's key
 *   u64le  newest_generation   the peer's newest, as of the last contact
 *   u8     error_kind          fed_contact_kind
 *   u8     flags               bit 0: a recheck was asked since the error
 *   u64le  phrase length, then the phrase, then the detail (the rest)
 * A record that does not decode (another format, a damaged one) reads as
 * an empty one: it is status, not trust, and the next contact rewrites it.
 */
#ifndef ECLUSE_FEDERATION_CONTACT_H
#define ECLUSE_FEDERATION_CONTACT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* What kind of error is held, which decides what a later success clears:
 * any success clears REACH and REFUSED_US; only an accepted catalog clears
 * CONTENT (a cosigned checkpoint does not make a rolled-back catalog good). */
typedef enum fed_contact_kind {
    FED_CONTACT_NONE = 0,
    FED_CONTACT_REACH = 1,      /* unreachable, TLS, timeouts */
    FED_CONTACT_REFUSED_US = 2, /* the peer does not know us (any more) */
    FED_CONTACT_CONTENT = 3,    /* we reached it, and refused what it sent */
} fed_contact_kind;

#define FED_CONTACT_PHRASE_MAX 64
#define FED_CONTACT_DETAIL_MAX 512

typedef struct fed_peer_contact {
    int64_t ok_unix;
    int64_t error_unix;
    uint64_t key_generation;
    uint64_t newest_generation;
    fed_contact_kind error_kind;
    int recheck_asked;
    char error_phrase[FED_CONTACT_PHRASE_MAX]; /* "" when no error is held */
    char error_detail[FED_CONTACT_DETAIL_MAX];
} fed_peer_contact;

/* The record's bytes: *out is malloc'd (free()). Phrase and detail longer
 * than their fields are cut. */
int fed_contact_encode(const fed_peer_contact *c, unsigned char **out, size_t *len,
                       ecl_err *err) ECL_WUR;

/* Read a record; 0, or -1 (and *c empty) for one that does not decode. */
int fed_contact_decode(const void *data, size_t len, fed_peer_contact *c);

#endif
