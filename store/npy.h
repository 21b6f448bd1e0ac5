/*
 * npy.h - NumPy .npy files: read and validate, import into a dataset.
 *
 * Format (numpy.lib.format, versions 1.0, 2.0 and 3.0): the magic
 * "\x93NUMPY", a major and minor version byte, the header length (u16 LE
 * for 1.x, u32 LE for 2.x and 3.x), a header that is a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (569, 30), } ending in
 * '\n', then the raw elements.
 *
 * Accepted: little-endian or byte-order-free numeric dtypes b1, i1/u1,
 * i2/u2, f2, i4/u4, f4, i8/u8, f8 in C order. Refused with ECL_E_INPUT and a
 * message that names the problem: bad magic, unsupported version, a header
 * that is not a dict with exactly the keys descr/fortran_order/shape,
 * big-endian dtypes, object, string, complex and structured dtypes,
 * fortran_order True (convert with numpy.ascontiguousarray first), and data
 * that is shorter or longer than the shape says.
 */
#ifndef ECLUSE_STORE_NPY_H
#define ECLUSE_STORE_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/dataset.h"

/* What a .npy file holds. */
typedef struct store_npy_info {
    store_dtype dtype;
    size_t ndim;
    uint64_t shape[STORE_MAX_DIMS];
    uint64_t data_offset; /* where the elements start in the file */
    uint64_t byte_size;
} store_npy_info;

/* Validate the `len` bytes at `buf` as a .npy file; `what` names it in
 * messages. Errors: ECL_E_INPUT (see above), ECL_E_LIMIT (too many dims). */
int store_npy_parse(const unsigned char *buf, uint64_t len, const char *what, store_npy_info *out,
                    ecl_err *err) ECL_WUR;

/* Import n .npy files as tensors named names[i] (in that order) into a new
 * safetensors file at `dst` (atomically, store/writer.h). If `out` is not
 * NULL the written file is opened into *out (one reference).
 * Errors: those of store_npy_parse (prefixed with the file), ECL_E_NOT_FOUND
 * and ECL_E_IO for the files, ECL_E_USAGE (duplicate names), those of
 * store_writer_write and store_open. */
int store_import_npy(size_t n, const char *const *paths, const char *const *names, const char *dst,
                     store_dataset **out, ecl_err *err) ECL_WUR;

#endif
