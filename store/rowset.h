/*
 * rowset.h - a set of row indices kept as sorted, disjoint, non-adjacent
 * half-open ranges [begin, end). Used for rows withdrawn under GDPR Art. 17
 * (erasure): the read plan (store/plan.h) never sends them.
 *
 * File format (JSON, docs/storage.md):
 *
 *   {"withdrawn_rows": [[3, 4], [10, 20], 42]}
 *
 * Each element is either [begin, end] with 0 <= begin < end, a half-open
 * range of row indices, or a single row index. Elements may come in any order
 * and may overlap; the set is their union. No other top-level key is
 * accepted (a typo must not silently withdraw nothing). Saving writes the
 * normalised ranges, sorted and merged, always as [begin, end] pairs.
 *
 * Memory is proportional to the number of ranges, not rows.
 */
#ifndef ECLUSE_STORE_ROWSET_H
#define ECLUSE_STORE_ROWSET_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/dataset.h"

typedef struct store_rowset store_rowset;

/* Largest JSON file store_rowset_load() reads. */
#define STORE_ROWSET_MAX_FILE (256u << 20)

/* An empty set. Errors: ECL_E_INTERNAL (out of memory). */
int store_rowset_new(store_rowset **out, ecl_err *err) ECL_WUR;

/* Free the set (NULL is ignored). */
void store_rowset_free(store_rowset *rs);

/* Add rows [begin, end); merged with what is there.
 * Errors: ECL_E_USAGE (begin >= end), ECL_E_INTERNAL (out of memory). */
int store_rowset_add(store_rowset *rs, uint64_t begin, uint64_t end, ecl_err *err) ECL_WUR;

/* 1 if `row` is in the set, else 0. O(log ranges). */
int store_rowset_contains(const store_rowset *rs, uint64_t row);

/* Number of rows in the set; number of rows of the set inside [begin, end). */
uint64_t store_rowset_rows(const store_rowset *rs);
uint64_t store_rowset_rows_in(const store_rowset *rs, uint64_t begin, uint64_t end);

/* Number of ranges, and range i in ascending order (i < count). */
size_t store_rowset_range_count(const store_rowset *rs);
void store_rowset_range(const store_rowset *rs, size_t i, uint64_t *begin, uint64_t *end);

/* Index of the first range whose end is > row (== count if none). */
size_t store_rowset_lower_bound(const store_rowset *rs, uint64_t row);

/* Load from the JSON file at `path` (format above) into a new set.
 * Errors: ECL_E_NOT_FOUND, ECL_E_IO, ECL_E_LIMIT (file too large),
 * ECL_E_INPUT (not JSON, wrong shape; the message names the element,
 * e.g. "withdrawn_rows[2]: begin 9 is not below end 9"). */
int store_rowset_load(const char *path, store_rowset **out, ecl_err *err) ECL_WUR;

/* Parse the same format from a string; `what` names it in messages. */
int store_rowset_parse(const char *json, size_t len, const char *what, store_rowset **out,
                       ecl_err *err) ECL_WUR;

/* Save to `path` atomically (temporary file, fsync, rename), mode 0640.
 * Errors: ECL_E_IO, ECL_E_INTERNAL. */
int store_rowset_save(const store_rowset *rs, const char *path, ecl_err *err) ECL_WUR;

#endif
