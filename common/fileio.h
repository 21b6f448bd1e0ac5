/*
 * fileio.h - reading and writing whole files without surprises.
 *
 * Writes go to a temporary file in the same directory, are fsync'd, then
 * renamed into place, so a crash leaves the old file or the new one, never a
 * half-written one. Secrets are written with mode 0600 and, with
 * ECL_WRITE_EXCLUSIVE, never replace an existing file.
 */
#ifndef ECLUSE_COMMON_FILEIO_H
#define ECLUSE_COMMON_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* Read all of `path`, at most `max_bytes` (a larger file is ECL_E_LIMIT).
 * On success *out is malloc'd, NUL-terminated (not counted in *len), and
 * owned by the caller. */
int ecl_read_file(const char *path, size_t max_bytes, char **out, size_t *len,
                  ecl_err *err) ECL_WUR;

enum {
    ECL_WRITE_REPLACE = 0,   /* replace an existing file atomically */
    ECL_WRITE_EXCLUSIVE = 1, /* fail with ECL_E_EXISTS if `path` exists */
};

/* Write `len` bytes to `path` with permission `mode`, durably (see above). */
int ecl_write_file(const char *path, const void *data, size_t len, mode_t mode, int flags,
                   ecl_err *err) ECL_WUR;

/* mkdir -p with `mode` for the directories it creates. */
int ecl_mkdirs(const char *path, mode_t mode, ecl_err *err) ECL_WUR;

/* 1 if `path` exists (any type), else 0. */
int ecl_path_exists(const char *path);

/* out = dir + "/" + name; ECL_E_LIMIT if it does not fit in `cap`.
 * An absolute `name` is copied as it is. */
int ecl_path_join(char *out, size_t cap, const char *dir, const char *name, ecl_err *err) ECL_WUR;

/* The directory part of `path` ("." if none), into `out`. */
int ecl_path_dirname(char *out, size_t cap, const char *path, ecl_err *err) ECL_WUR;

#endif
