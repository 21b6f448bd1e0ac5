/*
 * fetch_record.h - what `ecluse fetch` wrote, kept so that the rows can be
 * found and removed later (an erasure notice, GDPR Art. 17(2)).
 *
 * One JSON file per read, named READ_ID.json, in the person's records
 * directory (ecl_fetch_records_dir), written atomically with mode 0600 in a
 * directory of mode 0700. docs/cli.md ("Fetch records") gives the format:
 *
 *   {"ecluse_fetch_record": 1, "read_id": "...", "grant_id": "...",
 *    "grant_digest": "<BLAKE2b-256 of the grant body, hex>",
 *    "dataset": "lu/d", "dataset_published_unix": N,
 *    "dataset_entry_digest": "<hex>", "rows": [[0, 3], [5, 10]],
 *    "tensors": ["features", "labels"], "file": "/abs/path.safetensors",
 *    "sha256": "<SHA-256 of the file, hex>", "fetched_unix": N,
 *    "erased": [[3, 5]], "updated_unix": N}
 *
 * "rows" are the source rows the file holds, in file order (file row i is
 * the i-th source row of the list). "erased" lists the source rows removed
 * from the file since (ecluse fetches erase-rows). While a removal is being
 * applied, "pending": {"sha256": ..., "erase": [[...]]} names the file it
 * is about to rename into place (client/erase_rows.h).
 *
 * Ownership: a loaded record's lists are its own; ecl_fetch_record_clear
 * frees them.
 */
#ifndef ECLUSE_CLIENT_FETCH_RECORD_H
#define ECLUSE_CLIENT_FETCH_RECORD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "client/row_ranges.h"
#include "common/err.h"
#include "proto/ecluse.pb-c.h"

#define ECL_HEX_DIGEST 65 /* 64 hex digits and a NUL */

typedef struct ecl_fetch_record {
    char read_id[ECL_HEX_DIGEST];
    char grant_id[ECL_HEX_DIGEST];
    char grant_digest[ECL_HEX_DIGEST];
    char dataset[256];
    int64_t dataset_published_unix;
    char dataset_entry_digest[ECL_HEX_DIGEST];
    char file[PATH_MAX];         /* absolute */
    char sha256[ECL_HEX_DIGEST]; /* of the file as it is meant to be */
    int64_t fetched_unix, updated_unix;
    ecl_row_range *rows; /* source rows in the file, normal list */
    size_t n_rows;
    ecl_row_range *erased; /* source rows removed since, normal list */
    size_t n_erased;
    char **tensors;
    size_t n_tensors;
    char pending_sha256[ECL_HEX_DIGEST]; /* "" unless a removal is under way */
    ecl_row_range *pending_erase;
    size_t n_pending_erase;
} ecl_fetch_record;

/* The record of a read just written to `file`: from the grant `g` it was
 * made under and the read's header `h` (its read id, rows and tensors),
 * the file's absolute path and SHA-256, the time now. *out is zeroed
 * first; clear it with ecl_fetch_record_clear. Errors: ECL_E_INPUT (the
 * grant body does not decode, a field too long, rows out of order),
 * ECL_E_IO / ECL_E_NOT_FOUND (the file), ECL_E_INTERNAL. */
int ecl_fetch_record_of_read(const Ecluse__V1__Grant *g, const Ecluse__V1__ReadHeader *h,
                             const char *file, ecl_fetch_record *out, ecl_err *err) ECL_WUR;

/* The person's records directory: $XDG_STATE_HOME/ecluse/fetches, else
 * $HOME/.local/state/ecluse/fetches. Errors: ECL_E_USAGE (neither variable
 * set), ECL_E_LIMIT (path too long). */
int ecl_fetch_records_dir(char *out, size_t cap, ecl_err *err) ECL_WUR;

/* 1 if `id` can be a read id (1 to 64 letters, digits, '-' or '_'): what
 * names a record file, never a path. */
int ecl_fetch_read_id_valid(const char *id);

/* Write `r` as DIR/READ_ID.json (creating DIR with mode 0700).
 * Errors: ECL_E_USAGE (bad read id), ECL_E_IO naming the file,
 * ECL_E_INTERNAL. */
int ecl_fetch_record_save(const char *dir, const ecl_fetch_record *r, ecl_err *err) ECL_WUR;

/* Load DIR/READ_ID.json into *out (zeroed first). Errors: ECL_E_USAGE (bad
 * read id), ECL_E_NOT_FOUND (no record of that read), ECL_E_INPUT (not a
 * record: the message names the file and the field). */
int ecl_fetch_record_load(const char *dir, const char *read_id, ecl_fetch_record *out,
                          ecl_err *err) ECL_WUR;

/* Load the record file at `path` (as ecl_fetch_record_load). */
int ecl_fetch_record_load_file(const char *path, ecl_fetch_record *out, ecl_err *err) ECL_WUR;

/* Free what `r` owns and zero it. */
void ecl_fetch_record_clear(ecl_fetch_record *r);

/* Call fn for each DIR/<id>.json in name order: with the record, or with
 * NULL and the reason it cannot be read (the listing goes on). A directory
 * that does not exist holds no records. fn returns 0 to go on.
 * Errors: ECL_E_IO (the directory cannot be read). */
typedef int (*ecl_fetch_record_fn)(const char *path, const ecl_fetch_record *r, const ecl_err *bad,
                                   void *arg);
int ecl_fetch_records_each(const char *dir, ecl_fetch_record_fn fn, void *arg,
                           ecl_err *err) ECL_WUR;

/* SHA-256 of the file at `path`, as 64 lowercase hex digits. If `fd_out`
 * is not NULL the file stays open there (the caller closes it), so that
 * what was hashed can be compared with what was mapped. Errors:
 * ECL_E_NOT_FOUND, ECL_E_IO naming the file. */
int ecl_file_sha256(const char *path, char hex[ECL_HEX_DIGEST], int *fd_out, ecl_err *err) ECL_WUR;

#endif
