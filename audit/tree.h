/*
 * tree.h - the RFC 6962 Merkle tree over the audit entries, kept in the
 * LMDB sub-database `tree` (docs/audit-format.md, "The tree").
 *
 * Only complete (perfect) subtrees are stored, keyed by their post-order
 * position as a u64be: the node at level L (leaves are level 0) with index j
 * within its level sits at
 *
 *   pos(L, j) = N(j * 2^L) + 2^(L+1) - 2,   N(m) = 2m - popcount(m),
 *
 * so a tree of n leaves stores exactly the keys 0 .. N(n)-1, and appending a
 * leaf adds keys in increasing order. Leaf i is the hash of the stored value
 * of entry seq = i + 1. Internal to audit/.
 */
#ifndef ECLUSE_AUDIT_TREE_H
#define ECLUSE_AUDIT_TREE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "common/merkle.h"

/* The peaks of a tree of `size` leaves: for every bit L set in size, h[L] is
 * the root of the perfect subtree of 2^L leaves it covers (the highest bit
 * covers the leftmost leaves). Enough to append and to give the root. */
typedef struct tree_peaks {
    uint64_t size;
    uint8_t h[64][MERKLE_HASH_BYTES];
} tree_peaks;

/* N(m): how many nodes the perfect subtrees over the first m leaves have. */
uint64_t tree_nodes(uint64_t m);

/* pos(L, j) as above. */
uint64_t tree_pos(unsigned level, uint64_t index);

/* The inverse: the level and index of the node at post-order position pos. */
void tree_pos_split(uint64_t pos, unsigned *level, uint64_t *index);

/* Add one leaf, given its hash (merkle_leaf_hash of the entry's stored
 * bytes), to `pk`, writing the leaf and every node it completes in `txn`.
 * Returns an LMDB code. */
int tree_append(MDB_txn *txn, MDB_dbi dbi, tree_peaks *pk, const uint8_t leaf[MERKLE_HASH_BYTES]);

/* Add the leaf hash `leaf` to `pk` without writing anything. out[0] is the
 * leaf, out[1..] the parents it completes, bottom up; returns how many
 * hashes were put in out. They belong at the consecutive positions
 * N(old size), N(old size)+1, ... */
unsigned tree_peaks_push(tree_peaks *pk, const uint8_t leaf[MERKLE_HASH_BYTES],
                         uint8_t out[65][MERKLE_HASH_BYTES]);

/* The root of the tree the peaks describe (SHA-256("") when empty). */
void tree_peaks_root(const tree_peaks *pk, uint8_t root[MERKLE_HASH_BYTES]);

/* Read the peaks of the stored tree of `size` leaves. ECL_E_INPUT naming the
 * node when one is missing or not 32 bytes, ECL_E_IO when LMDB fails. */
int tree_load_peaks(MDB_txn *txn, MDB_dbi dbi, uint64_t size, tree_peaks *pk, ecl_err *err) ECL_WUR;

/* The root of the first `size` leaves of the stored tree. */
int tree_root(MDB_txn *txn, MDB_dbi dbi, uint64_t size, uint8_t root[MERKLE_HASH_BYTES],
              ecl_err *err) ECL_WUR;

/* The stored hash of leaf `index`. */
int tree_leaf(MDB_txn *txn, MDB_dbi dbi, uint64_t index, uint8_t out[MERKLE_HASH_BYTES],
              ecl_err *err) ECL_WUR;

/* RFC 9162 2.1.3.1 PATH(index, D[size]) and 2.1.4.1 PROOF(old, D[new]) from
 * the stored subtrees; the caller has checked index < size and
 * 0 < old <= new, both within the stored tree. */
int tree_prove_inclusion(MDB_txn *txn, MDB_dbi dbi, uint64_t index, uint64_t size, audit_proof *out,
                         ecl_err *err) ECL_WUR;
int tree_prove_consistency(MDB_txn *txn, MDB_dbi dbi, uint64_t old_size, uint64_t new_size,
                           audit_proof *out, ecl_err *err) ECL_WUR;

#endif
