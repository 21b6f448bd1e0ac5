/*
 * plan.h - the read plan: which bytes of an opened dataset a read sends, in
 * which order and in which chunks.
 *
 * The logical stream of a read is, for each selected tensor in the order
 * asked (or file order when none are named), the selected rows of that
 * tensor in ascending row order, each row being the tensor's row-major
 * bytes for that index of dimension 0. Rows are chosen in three steps:
 *
 *   1. the base selection: all rows, a half-open range [begin, end), or
 *      shard k of n (n contiguous disjoint blocks that together cover all
 *      rows; block k is [k*q + min(k, r), (k+1)*q + min(k+1, r)) with
 *      q = rows / n, r = rows % n, so blocks differ by at most one row and
 *      some are empty when n > rows);
 *   2. minus the withdrawn rows (GDPR Art. 17): never sent;
 *   3. at most max_rows of what remains, the first ones.
 *
 * Shards are cut before withdrawn rows are removed, so a row stays in the
 * same shard whatever is withdrawn later.
 *
 * A plan is an iterator: store_plan_next() yields chunks of at most
 * chunk_bytes, each inside one tensor and one contiguous run of rows, each
 * pointing straight into the dataset's map (zero copy). It holds memory for
 * the selected tensors and the withdrawn ranges inside the selection only,
 * never for the chunks or the rows: a plan over a terabyte costs the same as
 * one over a kilobyte. Starting at resume_offset yields exactly the bytes of
 * the stream from that offset on, in chunks cut from there.
 *
 * Lifetime: the plan holds a reference on the dataset (store_ref) until
 * store_plan_free(); a chunk's `data` stays valid while the plan lives, or
 * longer if the caller takes its own reference on the dataset. The plan
 * copies what it needs from the options (names, withdrawn set) so these may
 * be freed after store_plan_new(). A plan is used by one thread at a time.
 */
#ifndef ECLUSE_STORE_PLAN_H
#define ECLUSE_STORE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/dataset.h"
#include "store/rowset.h"

typedef enum {
    STORE_ROWS_ALL = 0,
    STORE_ROWS_RANGE, /* [row_begin, row_end); row_end 0 = to the last row */
    STORE_ROWS_SHARD, /* shard_index of shard_count */
} store_rows_kind;

typedef struct store_plan_opts {
    const char *const *tensors; /* names, in stream order; n_tensors 0 = all in file order */
    size_t n_tensors;
    store_rows_kind rows;
    uint64_t row_begin, row_end;
    uint32_t shard_index, shard_count;
    const store_rowset *withdrawn; /* NULL = none */
    uint64_t max_rows;             /* 0 = no limit */
    size_t chunk_bytes;            /* > 0 */
    uint64_t resume_offset;        /* bytes of the stream to skip, <= total */
} store_plan_opts;

/* What a plan sends of one tensor. */
typedef struct store_plan_tensor {
    const char *name; /* owned by the dataset */
    size_t source;    /* index in the dataset (store_tensor_at) */
    store_dtype dtype;
    size_t ndim;
    uint64_t shape[STORE_MAX_DIMS]; /* selected shape: [selected rows, ...] */
    uint64_t byte_size;             /* selected bytes */
    uint64_t stream_offset;         /* where this tensor starts in the stream */
} store_plan_tensor;

typedef struct store_chunk {
    uint32_t tensor;           /* index in the plan's tensors */
    uint64_t offset;           /* byte offset within that tensor's selected bytes */
    uint64_t stream_offset;    /* byte offset within the whole stream */
    uint64_t source_offset;    /* where data starts in the tensor as stored */
    const unsigned char *data; /* into the dataset's map */
    size_t len;                /* 1 <= len <= chunk_bytes */
} store_chunk;

typedef struct store_plan store_plan;

/* Make a plan over `ds` (which gains a reference).
 * A row selection (range, shard, a non-empty withdrawn set or max_rows) needs
 * every selected tensor to have at least one dimension and the same shape[0];
 * with none, tensors of different row counts are sent whole.
 * Errors: ECL_E_NOT_FOUND (a tensor name; named), ECL_E_USAGE (a name given
 * twice, chunk_bytes 0, range outside the rows, shard index >= count or count
 * 0, resume_offset beyond the stream, tensors of different row counts under a
 * row selection; each named in the message), ECL_E_INTERNAL (out of memory). */
int store_plan_new(store_dataset *ds, const store_plan_opts *opts, store_plan **out,
                   ecl_err *err) ECL_WUR;

/* Free the plan and drop its dataset reference. NULL is ignored. */
void store_plan_free(store_plan *p);

/* The selection: tensors (in stream order), total bytes of the stream (from
 * offset 0, whatever resume_offset), and whether rows apply (0 when tensors
 * of different row counts are sent whole) with the number of rows selected. */
size_t store_plan_tensor_count(const store_plan *p);
const store_plan_tensor *store_plan_tensor_at(const store_plan *p, size_t i);
uint64_t store_plan_total_bytes(const store_plan *p);
int store_plan_has_rows(const store_plan *p);
uint64_t store_plan_rows(const store_plan *p);

/* The next chunk into *c: returns 1, or 0 at the end of the stream. */
int store_plan_next(store_plan *p, store_chunk *c);

/* The source rows sent, as ascending disjoint ranges [begin, end) (for the
 * read header): iterate with a cursor set to 0 first; returns 1 per range
 * and 0 after the last. Yields nothing when store_plan_has_rows() is 0. */
int store_plan_row_range(const store_plan *p, size_t *cursor, uint64_t *begin, uint64_t *end);

#endif
