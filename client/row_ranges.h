/*
 * row_ranges.h - lists of source row ranges, as a fetch received them
 * (ReadHeader.row_ranges) and as an erasure names them.
 *
 * A range is half-open, [begin, end) with begin < end. A list is
 * "normal" when its ranges are sorted, disjoint and not adjacent; the
 * functions that return lists return normal ones. Lists are malloc'd and
 * the caller's (free()).
 */
#ifndef ECLUSE_CLIENT_ROW_RANGES_H
#define ECLUSE_CLIENT_ROW_RANGES_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct ecl_row_range {
    uint64_t begin, end; /* source rows [begin, end) */
} ecl_row_range;

/* Parse "A:B,C,D:E" (A:B is rows A to B-1, C is row C alone) into a normal
 * list. Errors: ECL_E_USAGE naming the element and `what` (e.g. "--rows")
 * for an empty list, a malformed element or B <= A; ECL_E_INTERNAL. */
int ecl_row_ranges_parse(const char *text, const char *what, ecl_row_range **out, size_t *n,
                         ecl_err *err) ECL_WUR;

/* Sort and merge `n` ranges in place (begin < end each); returns the new
 * count. */
size_t ecl_row_ranges_normalise(ecl_row_range *r, size_t n);

/* Number of rows of a list (any list whose ranges do not overlap). */
uint64_t ecl_row_ranges_rows(const ecl_row_range *r, size_t n);

/* Rows of normal list `a` that are also in normal list `b`. */
uint64_t ecl_row_ranges_common(const ecl_row_range *a, size_t na, const ecl_row_range *b,
                               size_t nb);

/* *out = `a` without the rows of `b` (both normal), a new normal list.
 * Errors: ECL_E_INTERNAL (out of memory). */
int ecl_row_ranges_subtract(const ecl_row_range *a, size_t na, const ecl_row_range *b, size_t nb,
                            ecl_row_range **out, size_t *n, ecl_err *err) ECL_WUR;

/* *out = the union of normal lists `a` and `b`, a new normal list.
 * Errors: ECL_E_INTERNAL (out of memory). */
int ecl_row_ranges_union(const ecl_row_range *a, size_t na, const ecl_row_range *b, size_t nb,
                         ecl_row_range **out, size_t *n, ecl_err *err) ECL_WUR;

/* Write "A:B,C:D" into `out` (truncated with "..." if it does not fit). */
void ecl_row_ranges_format(const ecl_row_range *r, size_t n, char *out, size_t cap);

#endif
