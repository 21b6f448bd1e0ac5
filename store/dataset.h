/*
 * dataset.h - an opened safetensors file: mmap'd, validated, read-only,
 * reference-counted.
 *
 * A dataset is stored as one safetensors file (docs/storage.md):
 *
 *   u64 little-endian N | N bytes of UTF-8 JSON header | data section
 *
 * The header maps tensor names to {"dtype", "shape", "data_offsets":[begin,end]}
 * with offsets relative to the start of the data section, plus an optional
 * "__metadata__" map of strings to strings. store_open() checks every rule of
 * the format before it hands out a handle: the header length fits in the file
 * and is at most STORE_MAX_HEADER bytes, the header is a JSON object, each
 * dtype is known, each shape's element count times the dtype size equals the
 * tensor's byte size, the tensors sorted by offset cover the data section
 * exactly (no hole, no overlap) and the data section ends where the last
 * tensor ends. Afterwards every pointer the handle gives is inside the map.
 *
 * Lifetime: store_open() returns a handle with one reference. store_ref()
 * adds one, store_unref() drops one; the last drop unmaps the file and frees
 * the handle. Every pointer obtained from a handle (names, metadata, tensor
 * data) stays valid while the caller holds a reference, so a server can pass
 * zero-copy slices of the map to its transport and drop its reference when
 * the transport releases the slice. Reference counting is atomic; everything
 * else on a handle is read-only and safe from any number of threads.
 *
 * Caveats: the map is of the file as it was opened. ecluse replaces dataset
 * files by rename (store/writer.h), which leaves open maps intact; a file
 * truncated in place by another program would make reads of the map fault
 * (SIGBUS), as with any mmap. Do not modify published files in place.
 */
#ifndef ECLUSE_STORE_DATASET_H
#define ECLUSE_STORE_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/dtype.h"

/* Most dimensions a tensor may have; a file with more is refused. */
#define STORE_MAX_DIMS 16
/* Largest header accepted, as the reference safetensors implementation. */
#define STORE_MAX_HEADER 100000000u
/* BLAKE2b-256 (libsodium crypto_generichash with a 32-byte output). */
#define STORE_DIGEST_BYTES 32

typedef struct store_dataset store_dataset;

/* Which version of a file a handle mapped: a file replaced by rename, or
 * rewritten, has another stamp. Derived data (store/leaves.h) records it. */
typedef struct store_stamp {
    uint64_t dev, ino, size;
    int64_t mtime_ns;
} store_stamp;

/* One tensor of an opened dataset. Everything points into the handle. */
typedef struct store_tensor {
    const char *name;
    store_dtype dtype;
    size_t ndim; /* 0 for a scalar */
    uint64_t shape[STORE_MAX_DIMS];
    uint64_t byte_size;
    uint64_t data_offset;      /* begin offset within the data section */
    const unsigned char *data; /* byte_size bytes inside the map */
} store_tensor;

/* Open and validate the safetensors file at `path`.
 * On success *out holds one reference (see store_unref).
 * Errors: ECL_E_NOT_FOUND (no such file), ECL_E_IO (cannot read or map it),
 * ECL_E_INPUT (not valid safetensors; the message names the rule broken, the
 * tensor and the offsets), ECL_E_LIMIT (more than STORE_MAX_DIMS dims). */
int store_open(const char *path, store_dataset **out, ecl_err *err) ECL_WUR;

/* Add a reference; returns `ds` for convenience. */
store_dataset *store_ref(store_dataset *ds);

/* Drop a reference; the last one unmaps and frees. NULL is ignored. */
void store_unref(store_dataset *ds);

/* The path given to store_open (owned by the handle). */
const char *store_path(const store_dataset *ds);

/* The stamp of the file as it was opened. */
const store_stamp *store_file_stamp(const store_dataset *ds);

/* Size of the whole file in bytes, and of its JSON header. */
uint64_t store_file_size(const store_dataset *ds);
uint64_t store_header_size(const store_dataset *ds);

/* Number of tensors, and tensor i (0 <= i < count) in file order, that is
 * in order of data offset (the order of keys in the JSON is not meaningful
 * to safetensors). The pointer lives as long as the handle. */
size_t store_tensor_count(const store_dataset *ds);
const store_tensor *store_tensor_at(const store_dataset *ds, size_t i);

/* The index of the tensor named `name` into *index.
 * Errors: ECL_E_NOT_FOUND (message names the tensor). */
int store_tensor_find(const store_dataset *ds, const char *name, size_t *index,
                      ecl_err *err) ECL_WUR;

/* BLAKE2b-256 of tensor i's bytes into out. Reads the whole tensor from the
 * map (about 1 GB/s): callers that need it often keep the result.
 * Errors: ECL_E_USAGE (i out of range), ECL_E_INTERNAL (libsodium failed). */
int store_tensor_digest(const store_dataset *ds, size_t i, unsigned char out[STORE_DIGEST_BYTES],
                        ecl_err *err) ECL_WUR;

/* The "__metadata__" entries: count, the i-th key/value (in header order),
 * or the value of `key` (NULL if absent). Strings are owned by the handle. */
size_t store_metadata_count(const store_dataset *ds);
void store_metadata_at(const store_dataset *ds, size_t i, const char **key, const char **value);
const char *store_metadata_get(const store_dataset *ds, const char *key);

#endif
