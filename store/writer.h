/*
 * writer.h - write tensors as a safetensors file, atomically and durably.
 *
 * Collect tensors (borrowed bytes) and "__metadata__" strings, then
 * store_writer_write() produces the file: a compact JSON header (tensors in
 * the order added, data_offsets contiguous from 0, header padded with spaces
 * to a multiple of 8 bytes so the data section is 8-byte aligned), then the
 * data. It is written to a temporary file in the same directory, fsync'd,
 * renamed over `path` and the directory fsync'd: a crash or an error leaves
 * the old file or the new one, never half a file. While writing, the
 * BLAKE2b-256 digest of each tensor is computed for the catalog.
 *
 * Ownership: names, keys and values are copied; tensor bytes are borrowed and
 * must stay valid and unchanged until store_writer_write() returns.
 */
#ifndef ECLUSE_STORE_WRITER_H
#define ECLUSE_STORE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/dataset.h"

typedef struct store_writer store_writer;

/* A new empty writer. Errors: ECL_E_INTERNAL (out of memory). */
int store_writer_new(store_writer **out, ecl_err *err) ECL_WUR;

/* Free the writer (NULL is ignored). Borrowed tensor bytes are untouched. */
void store_writer_free(store_writer *w);

/* Add a tensor: `ndim` dims (<= STORE_MAX_DIMS) in `shape`, `byte_size`
 * bytes of little-endian elements at `data` (may be NULL if byte_size is 0).
 * Errors: ECL_E_USAGE (unknown dtype, empty or duplicate name, the name
 * "__metadata__", byte_size not equal to elements x dtype size),
 * ECL_E_LIMIT (too many dims), ECL_E_INTERNAL (out of memory). */
int store_writer_add(store_writer *w, const char *name, store_dtype dtype, size_t ndim,
                     const uint64_t *shape, const void *data, uint64_t byte_size,
                     ecl_err *err) ECL_WUR;

/* Set one "__metadata__" entry (a later call with the same key replaces it).
 * Errors: ECL_E_INTERNAL (out of memory or not UTF-8). */
int store_writer_meta(store_writer *w, const char *key, const char *value, ecl_err *err) ECL_WUR;

/* Write the file (see above) with mode 0640.
 * Errors: ECL_E_IO (cannot create, write, sync or rename; the temporary file
 * is removed), ECL_E_INTERNAL. */
int store_writer_write(store_writer *w, const char *path, ecl_err *err) ECL_WUR;

#define STORE_SHA256_BYTES 32

/* The size and SHA-256 of the file store_writer_write() would write now,
 * without writing it: the same header and bytes, so a catalog can state the
 * checksum of the file a reader gets. Errors: ECL_E_INTERNAL. */
int store_writer_measure(store_writer *w, uint64_t *bytes, unsigned char sha256[STORE_SHA256_BYTES],
                         ecl_err *err) ECL_WUR;

/* Number of tensors added. */
size_t store_writer_count(const store_writer *w);

/* The digest of tensor i (in the order added), valid after a successful
 * store_writer_write(). Errors: ECL_E_USAGE (bad index or not written yet). */
int store_writer_digest(const store_writer *w, size_t i, unsigned char out[STORE_DIGEST_BYTES],
                        ecl_err *err) ECL_WUR;

/* Add every tensor (file order) and every "__metadata__" entry of `ds`; the
 * bytes are borrowed from its map, so keep `ds` referenced until written.
 * Errors: those of store_writer_add and store_writer_meta. */
int store_writer_add_dataset(store_writer *w, const store_dataset *ds, ecl_err *err) ECL_WUR;

/* Import the safetensors file `src`: validate it (store_open) and write its
 * tensors and metadata to `dst` atomically, in file order with offsets and
 * padding as this writer makes them. If `out` is not NULL the written file
 * is opened into *out. Errors: those of store_open (for src and dst) and
 * store_writer_write. */
int store_import_safetensors(const char *src, const char *dst, store_dataset **out,
                             ecl_err *err) ECL_WUR;

/* The "__metadata__" key under which `ecluse fetch` names the dataset a file
 * holds ("<site>/<name>"). */
#define STORE_META_DATASET "ecluse_dataset"

/* The size and SHA-256 of the file `ecluse fetch` writes for the whole of
 * `ds` (every tensor in file order, every row) as dataset `id`: the tensors
 * and the one metadata entry STORE_META_DATASET, as this writer lays them
 * out. Errors: those of store_writer_add, _meta and _measure. */
int store_whole_fetch_measure(const store_dataset *ds, const char *id, uint64_t *bytes,
                              unsigned char sha256[STORE_SHA256_BYTES], ecl_err *err) ECL_WUR;

#endif
