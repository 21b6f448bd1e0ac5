/*
 * leaves.h - the leaf digests of a published dataset, computed once so that
 * reads need not hash what they send (common/read_digest.h, docs/storage.md).
 *
 * `<data_dir>/datasets/<name>.leaves` holds, for every tensor of
 * `<name>.safetensors` in file order, the digest of each leaf of the fixed
 * READ_LEAF_BYTES grid of its bytes. The file is bound to the exact version
 * of the dataset file it was computed from (its store_stamp): an index of
 * another version is stale and is rebuilt, never used. File layout, all
 * integers unsigned 64-bit little-endian:
 *
 *   "ECLUSE-LEAVES-V1"               16 bytes
 *   leaf_bytes                       READ_LEAF_BYTES
 *   dev, ino, size, mtime_ns         the stamp of the dataset file
 *   n                                number of tensors
 *   count[0..n)                      leaves per tensor: ceil(byte_size / leaf_bytes)
 *   digests                          32 bytes per leaf, tensor after tensor
 *
 * Lifetime: an index is mmap'd read-only; the tables it hands out stay
 * valid until store_leaves_free(). Safe to share between threads.
 */
#ifndef ECLUSE_STORE_LEAVES_H
#define ECLUSE_STORE_LEAVES_H

#include "common/err.h"
#include "common/read_digest.h"
#include "store/dataset.h"

#define STORE_LEAVES_MAGIC "ECLUSE-LEAVES-V1"

typedef struct store_leaves store_leaves;

/* Compute the index of `ds` and write it to `path` (atomically: a reader
 * sees the old file or the new one). One SHA-256 pass over the data.
 * Errors: ECL_E_IO (cannot write), ECL_E_INTERNAL. */
int store_leaves_build(const store_dataset *ds, const char *path, ecl_err *err) ECL_WUR;

/* Open the index at `path` for `ds`.
 * Errors: ECL_E_NOT_FOUND (no index), ECL_E_PRECONDITION (stale: computed
 * from another version of the dataset file), ECL_E_INPUT (not an index, or
 * its sizes do not fit the dataset; the message says which), ECL_E_IO. */
int store_leaves_open(const char *path, const store_dataset *ds, store_leaves **out,
                      ecl_err *err) ECL_WUR;

/* Open the index, building it first when it is missing or stale; *built
 * says whether it was. Errors: those of build and open. */
int store_leaves_load(const char *path, const store_dataset *ds, store_leaves **out, int *built,
                      ecl_err *err) ECL_WUR;

/* The leaves of tensor `i` of the dataset (store_tensor_at order). */
const read_leaf_table *store_leaves_tensor(const store_leaves *l, size_t i);

void store_leaves_free(store_leaves *l);

#endif
