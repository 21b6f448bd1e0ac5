/*
 * read_digest.h - the digests of a Data.Read stream (docs/streaming.md).
 *
 * A chunk carries bytes [s, s + len) of one tensor's source bytes (s is the
 * chunk's source offset: where its first byte sits in the tensor as stored,
 * before rows were selected). Those bytes are cut into pieces at every
 * multiple of READ_LEAF_BYTES of the tensor, and, H being the version's hash,
 *
 *   leaf(piece)   = H(0x00 || piece)
 *   Chunk.digest  = H(0x01 || leaf(piece_1) || ... || leaf(piece_k))
 *   trailer       = H(domain || 0x00 || d_1 || ... || d_n)
 *
 * d_i being the Chunk.digest of every chunk of the whole selection in stream
 * order. Version 2: H = SHA-256, domain "ecluse-read-digest-v2". Version 3:
 * H = BLAKE3 in its plain hash mode with 32 bytes of output, domain
 * "ecluse-read-digest-v3" (BLAKE3 runs 2-3 times faster than SHA-256 with
 * the SHA extensions, from Debian's reference C code, third_party/blake3).
 * The leaf grid is fixed in the tensor, not in the read, so a holding site
 * can compute every whole leaf once, when the dataset is published
 * (store/leaves.h), and serve any selection without hashing more than the
 * partial leaves at the ends of a chunk.
 *
 * A read_hasher is used by one thread at a time; it holds the trailer state
 * of one read and scratch state for chunks.
 */
#ifndef ECLUSE_COMMON_READ_DIGEST_H
#define ECLUSE_COMMON_READ_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define READ_DIGEST_BYTES      32
#define READ_LEAF_BYTES        65536u
#define READ_TRAILER_DOMAIN    "ecluse-read-digest-v2" /* version 2's */
#define READ_TRAILER_DOMAIN_V3 "ecluse-read-digest-v3"

/* The versions of the definition above. ReadRequest.digest_version 0 is
 * version 2 (what a client from before version 3 asks for). */
#define READ_DIGEST_V2     2
#define READ_DIGEST_V3     3
#define READ_DIGEST_NEWEST READ_DIGEST_V3
#define READ_LEAF_PREFIX   0x00
#define READ_CHUNK_PREFIX  0x01

/* The leaves of one tensor already computed (store/leaves.h): leaf j covers
 * source bytes [j * READ_LEAF_BYTES, min((j + 1) * READ_LEAF_BYTES, tensor_bytes)). */
typedef struct read_leaf_table {
    const unsigned char *digests; /* count * READ_DIGEST_BYTES */
    uint64_t count;
    uint64_t tensor_bytes;
} read_leaf_table;

typedef struct read_hasher read_hasher;

/* 1 when `version` is one this code computes (READ_DIGEST_V2 or _V3). */
int read_digest_known(uint32_t version);

/* A hasher of digest version `version` whose trailer state has taken in
 * the domain string. Errors: ECL_E_USAGE (a version not known here: the
 * message names it), ECL_E_INTERNAL (out of memory, no SHA-256 in OpenSSL). */
int read_hasher_new(read_hasher **out, uint32_t version, ecl_err *err) ECL_WUR;
uint32_t read_hasher_version(const read_hasher *h);
void read_hasher_free(read_hasher *h);

/* The Chunk.digest of `len` (> 0) bytes at source offset `source_offset` of
 * their tensor. Whole leaves are taken from `known` when given (NULL: all
 * are hashed). */
void read_hasher_chunk(read_hasher *h, const unsigned char *data, size_t len,
                       uint64_t source_offset, const read_leaf_table *known,
                       unsigned char out[READ_DIGEST_BYTES]);

/* The same digest from bytes that arrive in pieces of any size: begin with
 * the chunk's source offset, update in order, end. One chunk at a time. */
void read_hasher_chunk_begin(read_hasher *h, uint64_t source_offset);
void read_hasher_chunk_update(read_hasher *h, const unsigned char *data, size_t len);
void read_hasher_chunk_end(read_hasher *h, unsigned char out[READ_DIGEST_BYTES]);

/* leaf(piece), as above. */
void read_hasher_leaf(read_hasher *h, const unsigned char *piece, size_t len,
                      unsigned char out[READ_DIGEST_BYTES]);

/* Add the next chunk digest to the trailer; finish the trailer digest (the
 * hasher's trailer state starts over afterwards). */
void read_hasher_add(read_hasher *h, const unsigned char digest[READ_DIGEST_BYTES]);
void read_hasher_final(read_hasher *h, unsigned char out[READ_DIGEST_BYTES]);

#endif
