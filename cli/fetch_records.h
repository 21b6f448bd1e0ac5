/*
 * fetch_records.h - the person's fetch records (client/fetch_record.h) as
 * the commands use them: `ecluse fetches erase-rows`, and `ecluse notices
 * apply`, which removes the rows an erasure notice names.
 */
#ifndef ECLUSE_CLI_FETCH_RECORDS_H
#define ECLUSE_CLI_FETCH_RECORDS_H

#include <stddef.h>

#include "client/erase_rows.h"
#include "client/row_ranges.h"
#include "common/err.h"

/* Remove the source rows `ranges` (n of them) from the file that read
 * `read_id` wrote, found by its record in the person's records directory
 * (ecl_fetch_records_dir), and update the record (client/erase_rows.h).
 * What was done goes to *res (may be NULL). Errors: ECL_E_NOT_FOUND (no
 * record of that read, or its file is gone), those of ecl_erase_rows
 * (the file left untouched), each message prefixed with the read id. */
int fetch_records_apply_erasure(const char *read_id, const ecl_row_range *ranges, size_t n,
                                ecl_erase_result *res, ecl_err *err) ECL_WUR;

#endif
