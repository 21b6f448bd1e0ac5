/*
 * rowlist.h - a list of rows as a person writes it on a command line:
 *
 *   A:B[,C[,D:E ...]]
 *
 * "A:B" is rows A to B-1 (half-open, as `ecluse fetch --rows`), "C" is row C.
 * Numbers are decimal without sign or spaces. Items must not be empty, a
 * range must not be empty (A < B), and no two items may share a row: a list
 * that says something twice is more likely a typo than a wish. The erasure
 * of rows (Admin.EraseRows) and the search for their recipients
 * (Audit.Recipients) read their rows with this one parser.
 */
#ifndef ECLUSE_STORE_ROWLIST_H
#define ECLUSE_STORE_ROWLIST_H

#include <stddef.h>

#include "common/err.h"
#include "store/rowset.h"

/* Longest list accepted, in bytes, and most items. */
#define STORE_ROWLIST_MAX_TEXT  8192u
#define STORE_ROWLIST_MAX_ITEMS 1024u

/* Parse `text` into a new set (*out, the caller's). Errors: ECL_E_INPUT
 * naming the list and the item at fault ("rows '5:3': item 1 '5:3': begin
 * 5 is not below end 3"), an empty list ("no rows given"), a list too long
 * (ECL_E_LIMIT); ECL_E_INTERNAL (out of memory). */
int store_rowlist_parse(const char *text, store_rowset **out, ecl_err *err) ECL_WUR;

/* Write the set as a list in the same form ("3:5,9"), NUL-terminated,
 * shortened with "..." when it does not fit in `cap` bytes. */
void store_rowlist_format(const store_rowset *rs, char *out, size_t cap);

#endif
