/*
 * leaves.h - the leaf digests of a published dataset, computed once so that
 * reads need not hash what they send (common/read_digest.h, docs/storage.md).
 *
 * `<data_dir>/datasets/<name>.leaves` (digest version 2, SHA-256) and
 * `<name>.leaves-v3` (version 3, BLAKE3) hold, for every tensor of
 * `<name>.safetensors` in file order, the digest of each leaf of the fixed
 * READ_LEAF_BYTES grid of its bytes, one file per digest version. The file is bound to the exact
 * version of the dataset file it was computed from (its store_stamp): an index of another version
 * is stale and is rebuilt, never used. File layout, all integers unsigned 64-bit little-endian:
 *
 *   magic                            16 bytes: "ECLUSE-LEAVES-V1" (version 2
 *                                    leaves), "ECLUSE-LEAVES-V3" (version 3)
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

#define STORE_LEAVES_MAGIC    "ECLUSE-LEAVES-V1" /* version 2 leaves */
#define STORE_LEAVES_MAGIC_V3 "ECLUSE-LEAVES-V3"

/* The file name suffix of the index of digest version `version` (".leaves",
 * ".leaves-v3"); NULL for a version not known. */
const char *store_leaves_suffix(uint32_t version);

typedef struct store_leaves store_leaves;

/* Compute the index of `ds` in digest version `version` and write it to
 * `path` (atomically: a reader sees the old file or the new one, so a crash
 * leaves no half index). One hash pass over the data.
 * Errors: ECL_E_IO (cannot write), ECL_E_USAGE (version), ECL_E_INTERNAL. */
int store_leaves_build(const store_dataset *ds, const char *path, uint32_t version,
                       ecl_err *err) ECL_WUR;

/* Open the index at `path` for `ds`, of digest version `version`.
 * Errors: ECL_E_NOT_FOUND (no index), ECL_E_PRECONDITION (stale: computed
 * from another version of the dataset file), ECL_E_INPUT (not an index, one
 * of another digest version, or its sizes do not fit the dataset; the
 * message says which), ECL_E_IO. */
int store_leaves_open(const char *path, const store_dataset *ds, uint32_t version,
                      store_leaves **out, ecl_err *err) ECL_WUR;

/* Open the index, building it first when it is missing, stale or damaged
 * (a dataset published before this digest version had an index gets one on
 * first use); *built says whether it was. Errors: those of build and open. */
int store_leaves_load(const char *path, const store_dataset *ds, uint32_t version,
                      store_leaves **out, int *built, ecl_err *err) ECL_WUR;

/* The leaves of tensor `i` of the dataset (store_tensor_at order). */
const read_leaf_table *store_leaves_tensor(const store_leaves *l, size_t i);

void store_leaves_free(store_leaves *l);

#endif
