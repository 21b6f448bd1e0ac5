/*
 * erase_rows.h - remove source rows from a fetched safetensors file, in
 * place and safely, and keep its fetch record true (client/fetch_record.h).
 *
 * File row i of a fetched file is the i-th source row of the record's
 * "rows". ecl_erase_rows keeps every other row of every tensor and writes
 * the file as `ecluse fetch` would have written a fetch of the rows that
 * remain: the same bytes (store/writer.h: tensors in file order, offsets
 * from 0, the header padded to 8 bytes, the file's "__metadata__" kept).
 *
 * Order of work, so that a crash at any point loses nothing and a second
 * run finishes the job:
 *   1. the file is checked: valid safetensors, its SHA-256 the record's,
 *      every tensor with the record's row count as its first dimension;
 *   2. the new file is written as FILE.erasing (fsync'd) and hashed;
 *   3. the record is saved with "pending" naming that hash and the rows;
 *   4. FILE.erasing is renamed over FILE and the directory fsync'd;
 *   5. the record is saved with the new hash, rows and "erased".
 * A record found with "pending" is first settled: if FILE has the pending
 * hash, step 5 is done; if it still has the old one, FILE.erasing is
 * removed and the pending step forgotten.
 */
#ifndef ECLUSE_CLIENT_ERASE_ROWS_H
#define ECLUSE_CLIENT_ERASE_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "client/fetch_record.h"
#include "client/row_ranges.h"
#include "common/err.h"

typedef struct ecl_erase_result {
    uint64_t removed; /* rows of the request that were in the file, now gone */
    uint64_t absent;  /* rows of the request the file did not hold: nothing to do */
    uint64_t left;    /* rows the file holds now */
} ecl_erase_result;

/* Remove the source rows `erase` (n ranges, any order) from the file of
 * `rec`, whose record lives in `records_dir`, and update `rec` and its
 * record file. Rows the file does not hold are counted in res->absent; if
 * none of them is in the file, nothing is written.
 * Errors, the file left as it was: ECL_E_USAGE (no ranges, or an empty
 * one), ECL_E_NOT_FOUND (the file is gone), ECL_E_INPUT (not valid
 * safetensors, or a tensor whose first dimension is not the record's row
 * count), ECL_E_CRYPTO (the file changed since the fetch: its SHA-256 is
 * not the record's), ECL_E_IO (cannot write, sync or rename; the message
 * names the file), ECL_E_INTERNAL. */
int ecl_erase_rows(const char *records_dir, ecl_fetch_record *rec, const ecl_row_range *erase,
                   size_t n, ecl_erase_result *res, ecl_err *err) ECL_WUR;

#endif
