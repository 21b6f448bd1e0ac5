/*
 * text.h - (internal) read a whole text file, gzip or not. Its prefix is
 * store_text_; st_ belongs to the safetensors header (st_header.h).
 */
#ifndef ECLUSE_STORE_TEXT_H
#define ECLUSE_STORE_TEXT_H

#include <stddef.h>

#include "common/err.h"

/* Largest decompressed text read: bigger datasets belong in .npy/safetensors. */
#define STORE_TEXT_MAX ((size_t)1 << 31)

/* Read all of `path` into *out (malloc'd, NUL-terminated, *len bytes without
 * the NUL; the caller frees it). A gzip file (magic 1f 8b) is decompressed
 * with zlib; other files are read as they are.
 * Errors: ECL_E_NOT_FOUND, ECL_E_IO, ECL_E_INPUT (corrupt or truncated gzip
 * stream, a NUL byte in the text; with the offset), ECL_E_LIMIT (more than
 * STORE_TEXT_MAX bytes), ECL_E_INTERNAL. */
int store_text_read(const char *path, char **out, size_t *len, ecl_err *err) ECL_WUR;

#endif
