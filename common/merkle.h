/*
 * merkle.h - RFC 6962 / RFC 9162 Merkle tree hashing and proof verification
 * (SHA-256), as pure functions.
 *
 *   leaf hash  = SHA-256(0x00 || data)
 *   node hash  = SHA-256(0x01 || left || right)
 *   empty tree = SHA-256("")
 *
 * The tree over n leaves splits at k, the largest power of two below n: the
 * left part holds leaves [0, k), the right part [k, n) (RFC 9162 2.1.1).
 * Proofs are ordered lists of 32-byte hashes in the RFC 9162 order (2.1.3.1,
 * 2.1.4.1); leaf indexes are 0-based.
 *
 * Verification functions return 0 when the proof holds and -1 otherwise,
 * including for arguments that cannot describe a proof (an index at or
 * beyond the size, a proof of the wrong length, an old size above the new).
 * They keep no state and may be called from any thread.
 */
#ifndef ECLUSE_COMMON_MERKLE_H
#define ECLUSE_COMMON_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define MERKLE_HASH_BYTES 32u
#define MERKLE_PROOF_MAX  64u /* hashes in a proof, at most (a tree of 2^64 leaves) */

/* SHA-256(0x00 || data[0..len)). */
/* Plain SHA-256 of `data` (the hash every function here is built on). */
void merkle_sha256(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_BYTES]);

void merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_BYTES]);

/* SHA-256(0x01 || left || right). `out` may alias `left` or `right`. */
void merkle_node_hash(const uint8_t left[MERKLE_HASH_BYTES], const uint8_t right[MERKLE_HASH_BYTES],
                      uint8_t out[MERKLE_HASH_BYTES]);

/* The root of the empty tree, SHA-256 of no bytes. */
void merkle_empty_root(uint8_t out[MERKLE_HASH_BYTES]);

/* RFC 9162 2.1.3.2: does the audit path `proof` (n hashes) lead from the
 * leaf hash `leaf` at 0-based `index` to `root` in a tree of `size` leaves?
 * 0 when it does, -1 otherwise (also for index >= size or a proof of the
 * wrong length). */
int merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[MERKLE_HASH_BYTES],
                            const uint8_t (*proof)[MERKLE_HASH_BYTES], size_t n,
                            const uint8_t root[MERKLE_HASH_BYTES]) ECL_WUR;

/* RFC 9162 2.1.4.2: is the tree of `new_size` leaves with `new_root` an
 * extension of the tree of `old_size` leaves with `old_root`? 0 when the
 * proof shows it, -1 otherwise. The special cases take an empty proof:
 * old_size == new_size (the roots must be equal) and old_size == 0 (every
 * tree extends the empty one; old_root is not read). old_size > new_size is
 * -1. */
int merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                              const uint8_t old_root[MERKLE_HASH_BYTES],
                              const uint8_t new_root[MERKLE_HASH_BYTES],
                              const uint8_t (*proof)[MERKLE_HASH_BYTES], size_t n) ECL_WUR;

#endif
