/*
 * testutil.h - small helpers for the store tests: temporary directories,
 * writing raw files, and asserting an error's category and message.
 */
#ifndef ECLUSE_TESTS_STORE_TESTUTIL_H
#define ECLUSE_TESTS_STORE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* A new empty directory under $TEST_TMPDIR (or /tmp) into out (PATH_MAX). */
void tu_tmpdir(char *out, size_t cap);

/* out = dir/name (asserts it fits). Returns out. */
char *tu_path(char *out, size_t cap, const char *dir, const char *name);

/* Write len bytes to path (asserts success). */
void tu_write(const char *path, const void *data, size_t len);

/* A safetensors file with this header text (length prefix computed) and
 * data section. */
void tu_write_st(const char *path, const char *header, const void *data, size_t len);

/* Assert rc == -1, err->code == code and strstr(err->msg, needle). */
#define TU_ASSERT_ERR(rc, err, want, needle)                                                       \
    tu_assert_err((rc), (err), (want), (needle), __FILE__, __LINE__)
void tu_assert_err(int rc, const ecl_err *err, ecl_code want, const char *needle, const char *file,
                   int line);

/* Assert rc == 0, printing the error message if not. */
#define TU_OK(rc, err) tu_ok((rc), (err), __FILE__, __LINE__)
void tu_ok(int rc, const ecl_err *err, const char *file, int line);

/* Number of entries in dir (without . and ..). */
size_t tu_count_entries(const char *dir);

#endif
